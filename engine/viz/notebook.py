"""How Values, backward steps and the backward-steps object show in a notebook: the numbers
and a drawing of the graph (collapsed above 250 nodes, as ``draw_dot`` draws it), scaled down
to the cell's width. ``engine.display`` imports this module on the first display, which
registers the bundles below; plain ``repr`` stays the text the REPL shows."""

from __future__ import annotations

import html
import re

from engine import display
from engine.autodiff import BackwardSteps, Step, topological_order
from engine.node import Node
from engine.text import NodeNames
from engine.viz import style
from engine.viz.dot import GraphTooLargeError, GraphvizMissingError, draw_dot, pipe

MAX_SVG = 400_000  # bytes: a larger drawing is left out, so that a notebook stays small


def _note(words: str) -> str:
    return f'<p style="color: {style.QUIET}">{html.escape(words)}</p>'


def drawing(root: Node, **options) -> str:
    """The graph of ``root`` as inline SVG that shrinks to the cell's width, or a one-line
    note saying why there is no drawing (too large, or no Graphviz)."""
    try:
        svg = pipe(draw_dot(root, **options), "svg").decode("utf-8")
    except (GraphTooLargeError, GraphvizMissingError) as e:
        return _note(f"(no drawing: {e})")
    svg = svg[svg.index("<svg"):]
    if len(svg) > MAX_SVG:
        return _note(f"(no drawing: it would be {len(svg):,} bytes; draw it with draw_dot and "
                     f"render it to a file)")
    # Keep the size Graphviz gives, but never wider than the cell: max-width, height auto.
    svg = re.sub(r"<svg ", '<svg style="max-width: 100%; height: auto" ', svg, count=1)
    return f'<div style="overflow-x: auto">{svg}</div>'


def value_bundle(v: Node) -> dict:
    name = NodeNames(topological_order(v))(v)
    head = (f"<p><b>{html.escape(name)}</b> = {v.data:.6g} &nbsp; (grad {v.grad:.6g}"
            f"{'; op ' + html.escape(repr(v.op)) if v.op else ''})</p>")
    return {"text/plain": repr(v), "text/html": head + drawing(v)}


def step_bundle(step: Step) -> dict:
    root = step.names.order[-1]
    return {"text/plain": repr(step),
            "text/html": drawing(root, highlight=[step.node], local_derivatives=True)
            + f"<pre>{html.escape(repr(step))}</pre>"}


def steps_bundle(steps: BackwardSteps) -> dict:
    return {"text/plain": repr(steps),
            "text/html": f"<p>{html.escape(repr(steps))}</p>" + drawing(steps.output)}


display.register(Node, value_bundle)
display.register(Step, step_bundle)
display.register(BackwardSteps, steps_bundle)
