"""The look of every picture and page, in one place: the palette, the grey scale of
activations, the number formats and the thresholds.

The Python pictures (``engine.viz.dot``, ``nn.viz``, the how-it-works figures and explorer)
import these names; a page is given the same values when it is written, as data
(:func:`page_style`) or as CSS custom properties (:func:`css_variables`), instead of writing
its own copy. Standard library only: the engine's core must not need more.

>>> POSITIVE, NEGATIVE                      # a weight: blue positive, red negative
('#2166ac', '#b2182b')
>>> grey(0.0), grey(1.0), grey(float("nan"))
('#ffffff', '#1e1e1e', '#ffffff')
>>> signed_number(-0.8849), signed_number(0.00042), panel_number(-0.88491), probability(0.1234)
('−0.885', '+4.2e−04', '-0.8849', '0.123')
"""

from __future__ import annotations

import math

# Weights and grads: blue positive, red negative (ColorBrewer RdBu's ends).
POSITIVE, NEGATIVE = "#2166ac", "#b2182b"
# The explainer's four steps, named by hue as the captions name them: the output followed
# (purple), a hidden neuron of Step 3 (green) and of Step 4 (orange); black: a weight's change.
PURPLE, GREEN, ORANGE, BLACK = "#7b3294", "#1b7837", "#e08214", "#111111"
# Greys for text and lines, darkest first.
TEXT = "#222222"  # a figure's words
STRONG_LINE = "#333333"  # the outline of a drawn neuron's Σ and output, a curve
NOTE = "#444444"  # a boxed note's words and frame
MUTED = "#555555"  # secondary words and lines: an ordinary neuron's ring, a graph's edges
QUIET = "#666666"  # a notebook's one-line note (no drawing: why)
RULE = "#999999"  # axes, a swatch's edge, a dashed "the rest" line
FAINT_LINE = "#bbbbbb"  # a pixel's edge, a graph cluster's frame
PANEL_EDGE = "#dddddd"  # the frame of a legend or a box
FAINT_FILL = "#eeeeee"  # a stand-in neuron ("… more inputs")
PANEL = "#fafafa"  # the fill of a legend or a box
# A graph drawing's kinds of value (engine.viz.dot): told apart by border, fill and shape.
LEAF_FILL, LEAF_EDGE = "#e3f0ff", "#3c78b4"  # a leaf you made
PARAM_FILL, PARAM_EDGE = "#fff3c4", "#c49000"  # a parameter
CONST_FILL, CONST_EDGE = "#f2f2f2", "#9a9a9a"  # a constant (its words in MUTED)
OP_FILL = "#ededed"  # an op's small circle
# Marks of state: the node being stepped, one just changed, a picked line.
CURRENT, CHANGED, SELECTED = "#ff7f0e", "#2ca02c", "#00a3a3"
# A number that is not finite: a neuron's ring (nn.viz), a value's fill (a graph drawing), a
# weight's line (black, dashed).
NOT_FINITE, NOT_FINITE_FILL, NOT_FINITE_LINE = "#d62728", "#ffd6e0", "#000000"

PALETTE = {
    "positive": POSITIVE, "negative": NEGATIVE, "purple": PURPLE, "green": GREEN,
    "orange": ORANGE, "black": BLACK, "text": TEXT, "strong-line": STRONG_LINE, "note": NOTE,
    "muted": MUTED, "quiet": QUIET, "rule": RULE, "faint-line": FAINT_LINE,
    "panel-edge": PANEL_EDGE, "faint-fill": FAINT_FILL, "panel": PANEL,
    "leaf-fill": LEAF_FILL, "leaf-edge": LEAF_EDGE, "param-fill": PARAM_FILL,
    "param-edge": PARAM_EDGE, "const-fill": CONST_FILL, "const-edge": CONST_EDGE,
    "op-fill": OP_FILL, "current": CURRENT, "changed": CHANGED, "selected": SELECTED,
    "not-finite": NOT_FINITE, "not-finite-fill": NOT_FINITE_FILL,
    "not-finite-line": NOT_FINITE_LINE,
}

# The grey scale of activations: level 0 is white (255), level 1 near-black (30: a black
# label still shows where a white one would not).
GREY_WHITE, GREY_DARKEST = 255, 30
DARK = 0.55  # above this level a shade is dark: its label is written in white
# A straight-line (first-order) estimate of the loss's change is far off when it misses the
# change read again by more than this × the estimate.
FAR_OFF = 0.5
LEAST_AMOUNT = 1e-6  # smaller amounts are written "less than 0.000001" (amount)
FIGURE_DIGITS = 3  # decimals (or significant digits) of a number drawn in a figure or caption
PANEL_DIGITS = 4  # of a number in a panel, read up close: one more
GRAPH_SMALL, GRAPH_LARGE = 1e-3, 1e4  # a graph drawing's number outside these, in e-notation


def grey(level: float) -> str:
    """An activation's shade: white at level 0 (and below) to near-black (``#1e1e1e``) at 1
    (and above). Total: nan is white (there is nothing to shade; ``nn.viz`` rings such a
    neuron in :data:`NOT_FINITE`), +inf is near-black and −inf white, as their clamps."""
    level = float(level)
    v = round(GREY_WHITE - (GREY_WHITE - GREY_DARKEST) * _unit(level))
    return f"#{v:02x}{v:02x}{v:02x}"


def dark(level: float) -> bool:
    """Whether :func:`grey` of ``level`` is dark enough that its label is written in white
    (nan: no, as its shade is white)."""
    return _unit(float(level)) > DARK


def _unit(level: float) -> float:
    """``level`` clamped to [0, 1], nan as 0."""
    return 0.0 if math.isnan(level) else min(max(level, 0.0), 1.0)


def rgb(colour: str) -> tuple[int, int, int]:
    """A ``#rrggbb`` colour's red, green and blue, 0 to 255 (to mix shades of it)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def graph_number(x: float, scale: float = 0.0) -> str:
    """A value's data or grad (or a local grad) in a graph drawing or the stepper: 4
    decimals, or 4 significant digits in e-notation if tiny or huge (``0.7864``, ``1.234e-05``).
    Within 1e-12 of 0 relative to ``scale`` (the numbers beside it) it is rounding, written
    0; never "-0"."""
    x = 0.0 if abs(x) <= 1e-12 * abs(scale) else x + 0.0
    if abs(x) < GRAPH_LARGE and (x == 0 or abs(x) >= GRAPH_SMALL):
        return f"{x:.4f}"
    return f"{x:.3e}"


def signed_number(x: float, digits: int = FIGURE_DIGITS) -> str:
    """A signed number as the figures print it (w, Δw, −∂loss/∂z): ``+0.885``, ``−0.012``,
    and a small one to two significant digits, ``+4.2e−04``, never ``+0.000`` (a real minus
    sign)."""
    x = float(x) + 0.0  # no −0
    if x != 0 and abs(x) < 0.5 * 10 ** -digits:
        return f"{x:+.1e}".replace("-", "−")
    return f"{x:+.{digits}f}".replace("-", "−")


def panel_number(x: float) -> str:
    """A number as a panel prints it: 4 significant digits (``-0.8849``, ``0.0123``,
    ``1.234e-05``; never ``-0``)."""
    return f"{float(x) + 0.0:.{PANEL_DIGITS}g}"


def probability(p: float, digits: int = FIGURE_DIGITS) -> str:
    """A probability: ``0.123`` in a figure or caption, ``0.1234`` in a panel
    (``digits=PANEL_DIGITS``)."""
    return f"{float(p) + 0.0:.{digits}f}"


def loss_number(x: float, digits: int = FIGURE_DIGITS) -> str:
    """A loss (or a loss an estimate predicts): 3 significant digits in a figure or caption
    (``2.18``), 4 in a panel (``digits=PANEL_DIGITS``)."""
    return f"{float(x) + 0.0:.{digits}g}"


def percent(p: float, decimals: int = 0) -> str:
    """A probability in words, as a percentage: whole percents (``11%``) or ``decimals``,
    with more (up to 2) when it takes them not to read 0% or 100% when it is not
    (``99.6%``, ``0.04%``); beyond those, ``under 0.01%`` and ``over 99.99%``. Never
    e-notation."""
    v = 100 * float(p) + 0.0
    if v in (0.0, 100.0):
        return f"{v:.0f}%"
    for digits in range(decimals, 3):
        text = f"{v:.{digits}f}"
        if 0 < float(text) < 100:
            return text + "%"
    return "under 0.01%" if v < 50 else "over 99.99%"


def amount(x: float, digits: int = FIGURE_DIGITS) -> str:
    """How much, in words (the size of a change, a loss): ``digits`` significant digits
    written out in decimals, never e-notation (``0.922``, ``0.000742``, ``2.16``); below a
    millionth, ``less than 0.000001``."""
    x = abs(float(x))
    if x < LEAST_AMOUNT:
        return "0" if x == 0 else "less than 0.000001"
    x = float(f"{x:.{digits}g}")  # rounded first: 9.9996 has 1 digit before the point, 10.0 2
    return f"{x:.{max(0, digits - 1 - math.floor(math.log10(x)))}f}"


def page_style() -> dict:
    """Everything above as JSON-ready data, for a page to be given when it is written: the
    palette by name, the grey scale's ends, the digits and the thresholds."""
    return {"colours": dict(PALETTE), "grey": {"white": GREY_WHITE, "darkest": GREY_DARKEST},
            "digits": {"figure": FIGURE_DIGITS, "panel": PANEL_DIGITS},
            "thresholds": {"dark": DARK, "farOff": FAR_OFF, "graphSmall": GRAPH_SMALL,
                           "graphLarge": GRAPH_LARGE}}


def css_variables() -> str:
    """The palette as CSS custom properties on ``:root`` (``--positive: #2166ac;``), for a
    page's stylesheet to use as ``var(--positive)``."""
    lines = [f"  --{name}: {colour};" for name, colour in PALETTE.items()]
    return ":root {\n" + "\n".join(lines) + "\n}\n"
