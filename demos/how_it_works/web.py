"""The files a how-it-works page is assembled from: one stylesheet every page shares
(``page.css``), the network figure's stylesheet and script (``figure.css``, ``figure.js``: the
explorer's and so the studio's), all given the palette of :mod:`engine.viz.style` as CSS
custom properties. A page is written as one offline file, so these are inlined, not linked."""

from __future__ import annotations

from pathlib import Path

from engine.viz.style import css_variables

HERE = Path(__file__).parent


def asset(name: str) -> str:
    """The text of the template file ``name`` beside this module."""
    return (HERE / name).read_text(encoding="utf-8")


def stylesheet(*names: str) -> str:
    """The palette's variables, the shared ``page.css``, then the stylesheets ``names``."""
    return "\n".join([css_variables(), asset("page.css"), *map(asset, names)])
