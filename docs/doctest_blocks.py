"""A Griffe extension for the API pages: a docstring's doctest lines become a code block.

The docstrings hold their examples as doctests (``>>>`` lines and the output under them), which
Markdown would read as prose: an output such as ``[-0.1015, -0.3278]`` after a line ending in
``]`` reads as a link. mkdocstrings loads this file (mkdocs.yml); the docstrings stay as they
are, and the doctests still run.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    """The text with each doctest (a ``>>>`` line up to the next blank line) in a pycon fence."""
    out: list[str] = []
    in_example = False
    for line in text.splitlines():
        if not in_example and line.lstrip().startswith(">>>"):
            out.append("```pycon")
            in_example = True
        elif in_example and not line.strip():
            out.append("```")
            in_example = False
        out.append(line)
    if in_example:
        out.append("```")
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Fences the doctests of every docstring mkdocstrings reads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
