"""Rendering drawings to files with Graphviz's ``dot`` program, and backward-pass frames."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.autodiff import backward_steps, copy_graph, topological_order
from engine.node import Node
from engine.system.files import atomic_write
from engine.viz.dot import GraphvizMissingError, draw_dot, pipe  # noqa: F401 - the error, here too

if TYPE_CHECKING:  # imported when something is drawn: the engine itself needs numpy only
    import graphviz

FORMATS = ("svg", "png", "pdf", "dot")
MAX_FRAMES = 400


def _format(path: Path, fmt: str | None) -> str:
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot render to {path.name!r}: use a .svg, .png, .pdf or .dot file "
                         f"(or format=...), got {fmt or 'no suffix'!r}")
    return fmt


def render(dot: graphviz.Digraph, path: str | os.PathLike[str],
           format: str | None = None) -> Path:  # noqa: A002
    """Write ``dot`` to ``path`` as SVG, PNG, PDF or DOT (from the suffix, or ``format``)."""
    path = Path(path)
    fmt = _format(path, format)
    if not path.parent.is_dir():  # before running dot: say so at once
        raise FileNotFoundError(f"cannot write picture to {path}: directory {path.parent} "
                                "does not exist")
    if fmt == "dot":
        return atomic_write(path, dot.source, "picture")
    return atomic_write(path, pipe(dot, fmt), "picture")


def backward_frames(root: Node, directory: str | os.PathLike[str],
                    format: str = "svg", **draw_options: Any) -> list[Path]:  # noqa: A002
    """One picture per step of ``backward_steps(root)``: ``step_001.svg``, ``step_002.svg``, …

    In each, the node whose grad is being passed on is highlighted, the grads known so far
    are filled in and the others are blank. Leaf grads start from zero, so the pictures show
    this pass alone; the pass runs on a copy of the graph, so no ``.data`` or ``.grad`` of
    ``root``'s graph changes. ``draw_options`` go to :func:`draw_dot` (``rankdir``,
    ``local_derivatives``, ``color_grads``, ...).
    """
    directory = Path(directory)
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    order = topological_order(root)
    steps = sum(1 for node in order if node.parents)
    if steps > MAX_FRAMES:
        raise ValueError(f"{steps} backward steps would make {steps} pictures (the limit is "
                         f"{MAX_FRAMES}): draw frames of a smaller expression")
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"cannot write frames to {directory}: it is a file, not a "
                                 "directory")
    directory.mkdir(parents=True, exist_ok=True)
    work, twin = copy_graph(root)
    for node in twin.values():
        if not node.parents:
            node.grad = 0.0
    known = {work}
    paths = []
    for step in backward_steps(work):
        known.update(step.parents)
        dot = draw_dot(work, highlight=[step.node], known_grads=known, collapse=False,
                       title=f"backward step {step.index} of {step.total}: "
                             f"{step.names(step.node)} passes its grad on",
                       **draw_options)
        path = directory / f"step_{step.index:03d}.{format}"
        paths.append(render(dot, path))
    return paths
