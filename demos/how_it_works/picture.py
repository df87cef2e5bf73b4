"""How the explainer's network is drawn, as SVG: one drawing for the figures and the explorer.

The vocabulary is the article's: the input is the 8×8 image itself, one square per pixel;
neurons are circles in columns, hidden ones numbered, outputs labelled by their digit; lines
are weights, blue solid positive and red dashed negative, wider and stronger for larger |w|
(the sign read without colour too; rings of different stages differ in dash too); shading is
activation, dark high. Arrows beside a neuron are the negative gradient of the loss for its
output (which way it should move), black arrows on a line the change of that weight in one
step of gradient descent, Δw = −η·∂loss/∂w. Every figure carries a legend saying so, with the
scales it uses. Every element has an id (``n2-15`` is neuron 15 of layer 2, ``w3-3-15`` the
weight from it into output 3), which the explorer uses to show the numbers behind it.

Why not ``nn.viz.draw_network`` (Graphviz, for any MLP): the explorer's and the studio's
scripts need those ids, the arrows and legends at places they know, and pages that need no
Graphviz to be written; this draws the explainer's one shape of network by hand instead.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

import numpy as np

from engine.viz import style
from engine.viz.style import BLACK, PURPLE, amount, grey, probability
from engine.viz.style import signed_number as number  # noqa: F401 (the tests read it here)

WIDTH, HEIGHT = 1100, 720
FONT = "Helvetica, Arial, sans-serif"
CELL = 26  # px per input pixel
COLUMNS = (140, 400, 610, 810)  # x of the input image's centre, hidden 1, hidden 2, outputs
MIDDLE = 330  # y of the network's middle
SPACING = {1: 30, 2: 30, 3: 46}  # px between neurons of a column
RADIUS = {1: 13, 2: 13, 3: 15}
# The smallest text of a figure, in its units: the explorer shows a figure at least 0.94 of
# its size on a 1280-px screen, so that every word there is at least 14 px on a projector.
SMALL = 15
LEGEND_ROW = 22  # px between the rows of a legend
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Layout:
    """Where each neuron of a 64 → 16 → 16 → 10 network sits (px)."""

    sizes: tuple[int, ...]

    def position(self, layer: int, j: int) -> tuple[float, float]:
        if layer == 0:  # pixel j of the 8×8 image
            side = int(round(self.sizes[0] ** 0.5))
            row, col = divmod(j, side)
            left, top = COLUMNS[0] - side * CELL / 2, MIDDLE - side * CELL / 2
            return left + (col + 0.5) * CELL, top + (row + 0.5) * CELL
        n, step = self.sizes[layer], SPACING[layer]
        return COLUMNS[layer], MIDDLE + (j - (n - 1) / 2) * step

    def radius(self, layer: int) -> float:
        return CELL / 2 if layer == 0 else RADIUS[layer]


@dataclass(frozen=True)
class LineStyle:
    colour: str
    width: float
    opacity: float
    dash: str = ""  # an SVG stroke-dasharray ("": solid)

    def attributes(self) -> str:
        """The SVG stroke attributes that draw this line."""
        dash = f' stroke-dasharray="{self.dash}"' if self.dash else ""
        return (f'stroke="{self.colour}" stroke-width="{self.width:g}" '
                f'stroke-opacity="{self.opacity:g}"{dash}')


NEGATIVE_DASH = "6,4"  # a negative weight's line is dashed: its sign is read without colour


RING_WIDTH = 6  # px: thick enough that a ring's dashes or dots read round a dark neuron


@dataclass(frozen=True)
class Ring:
    """A ring around a neuron: its colour and dash pattern ("": solid), so that rings of
    different stages differ by more than hue (under deuteranopia green and orange look
    alike). A pattern of zero-length dashes ("0,9") is drawn as round dots."""

    colour: str
    dash: str = ""
    name: str = "ring"  # what the legend calls it: "dashed green ring"

    @property
    def cap(self) -> str:
        """The stroke's line cap: round for dots (a zero-length dash is then a dot)."""
        return "round" if self.dash.startswith("0,") else "butt"

    def attributes(self, width: float = RING_WIDTH) -> str:
        dash = f' stroke-dasharray="{self.dash}"' if self.dash else ""
        return (f'stroke="{self.colour}" stroke-width="{width:g}"{dash}'
                f' stroke-linecap="{self.cap}"')


LEVELS = 100  # a line's strength, |w| ÷ its layer's largest, in hundredths


def line_style(w: float, scale: float, focused: bool = False) -> LineStyle:
    """A weight's line: its sign's colour and dash (blue solid positive, red dashed
    negative), width and strength ∝ |w| / the layer's largest (the few lines into one neuron
    are all drawn visibly, however small their w). The strength is kept to hundredths
    (:data:`LEVELS`), so that a training's frames can name a line's look by one small number
    (``frames.line_codes``)."""
    strength = round(abs(w) / scale * LEVELS) / LEVELS if scale else 0.0
    return LineStyle(style.POSITIVE if w > 0 else style.NEGATIVE,
                     round((1.0 if focused else 0.5) + 3.5 * strength, 2),
                     round((0.5 if focused else 0.12) + 0.5 * strength, 2),
                     "" if w > 0 else NEGATIVE_DASH)


def text(x, y, words: str, size: int = 13, anchor: str = "middle", colour: str = style.TEXT,
         weight: str = "normal", halo: bool = False, **attrs) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    outline = ' stroke="white" stroke-width="3" paint-order="stroke"' if halo else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{colour}" font-weight="{weight}"{outline}{extra}>{html.escape(words)}</text>')


def arrow(x1, y1, x2, y2, colour: str, width: float = 3.0, outline: bool = False,
          **attrs) -> str:
    """An arrow from (x1, y1) to its head at (x2, y2), as one closed path (shaft and head);
    ``outline`` edges it in white, to stand out on a dark pixel. Shorter than half a pixel,
    it is a dot: "about zero"."""
    dx, dy = x2 - x1, y2 - y1
    length = (dx * dx + dy * dy) ** 0.5
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    edge = ' stroke="white" stroke-width="1.3"' if outline else ""
    if length < 0.5:
        return (f'<circle cx="{x2:.1f}" cy="{y2:.1f}" r="{width * 0.8:.1f}" fill="{colour}"'
                f'{edge}{extra}/>')
    ux, uy = dx / length, dy / length
    nx, ny = -uy, ux  # across the arrow
    head = min(2.6 * width + 4, length * 0.7)
    half, wing = width / 2, width / 2 + head * 0.42
    bx, by = x2 - ux * head, y2 - uy * head
    points = [(x1 + nx * half, y1 + ny * half), (bx + nx * half, by + ny * half),
              (bx + nx * wing, by + ny * wing), (x2, y2), (bx - nx * wing, by - ny * wing),
              (bx - nx * half, by - ny * half), (x1 - nx * half, y1 - ny * half)]
    d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points) + " Z"
    return f'<path d="{d}" fill="{colour}"{edge}{extra}/>'


SHORTEST = 12.0  # px: an arrow shorter than this (and not 0) is drawn this long, tagged ×N


def readable(length: float, shortest: float = SHORTEST) -> tuple[float, float]:
    """An arrow's length as drawn, and how many times longer than true that is (1: true):
    one too short to see (0 < |length| < ``shortest``) is drawn ``shortest`` long, its sign
    kept, rather than as a dot (a dot is 0: no change)."""
    if length == 0 or abs(length) >= shortest:
        return length, 1.0
    return (shortest if length > 0 else -shortest), shortest / abs(length)


def times(factor: float) -> str:
    """The tag of a lengthened arrow, its factor in two significant digits (one decimal
    below 10): ×1.2, ×37, ×1,200 (never e-notation)."""
    rounded = float(f"{factor:.2g}")
    return f"×{factor:.1f}" if rounded < 10 else f"×{rounded:,.0f}"



@dataclass(frozen=True)
class Box:
    """A rectangle of the drawing (its units) that a label must not cover."""

    left: float
    top: float
    right: float
    bottom: float

    def meets(self, other: Box) -> bool:
        """Whether the two overlap by more than a touch (1 unit)."""
        return (min(self.right, other.right) - max(self.left, other.left) > 1
                and min(self.bottom, other.bottom) - max(self.top, other.top) > 1)


def text_box(x: float, y: float, words: str, size: int = SMALL, anchor: str = "start") -> Box:
    """Where a text drawn by :func:`text` lands, from a generous estimate of Helvetica's
    widths (0.6 of the size per character) and its ascent and descent, as a browser measures
    a text's box (the whole em, not the ink)."""
    width = 0.6 * size * len(words)
    left = x - {"start": 0, "middle": width / 2, "end": width}[anchor]
    return Box(left, y - 0.95 * size, left + width, y + 0.3 * size)


def drawn_boxes(layout: Layout) -> list[Box]:
    """What every stage draws and a label must leave clear: the hidden and output neurons
    (their circles and numbers), the outputs' P labels and the columns' names."""
    boxes = []
    for layer in range(1, len(layout.sizes)):
        r = layout.radius(layer)
        for j in range(layout.sizes[layer]):
            x, y = layout.position(layer, j)
            boxes.append(Box(x - r, y - r, x + r, y + r))
            if layer == len(layout.sizes) - 1:  # "P 0.123 → 0.456" after the step
                boxes.append(text_box(x + 24, y + 5, "P 0.000 → 0.000"))
        x, y = layout.position(layer, 0)
        boxes.append(text_box(x, y - (30 if layer == len(layout.sizes) - 1 else 24),
                              "outputs: one per digit", anchor="middle"))
    half = int(round(layout.sizes[0] ** 0.5)) * CELL / 2  # the image and its name
    return [*boxes, Box(COLUMNS[0] - half, MIDDLE - half - 30, COLUMNS[0] + half, MIDDLE + half)]


def plain(x: float) -> str:
    """A signed number as a figure's label says it, never in e-notation: +0.885, −0.0340,
    0, "about 0" (smaller than a millionth)."""
    if x == 0:
        return "0"
    size = amount(x)
    return "about 0" if size.startswith("less") else ("+" if x > 0 else "−") + size


def place(words: str, spots: list[tuple[float, float, str]], taken: list[Box],
          size: int = SMALL) -> tuple[float, float, str]:
    """The first of ``spots`` (x, y, anchor) where ``words`` covers nothing ``taken``, which
    then takes its box too (the first spot, if none is clear): labels never overlap."""
    for x, y, anchor in spots:
        box = text_box(x, y, words, size, anchor)
        if not any(box.meets(other) for other in taken):
            break
    else:
        x, y, anchor = spots[0]
        box = text_box(x, y, words, size, anchor)
    taken.append(box)
    return x, y, anchor


def shades(bp) -> list[np.ndarray]:
    """Each neuron's shading in [0, 1]: inputs by their ink, hidden neurons by a ÷ the largest
    a of their layer, outputs by probability (the legend states these scales)."""
    levels = [bp.pixels]
    for layer in bp.layers[:-1]:
        top = layer.a.max()
        levels.append(layer.a / top if top > 0 else np.zeros_like(layer.a))
    levels.append(bp.probabilities)
    return levels


@dataclass(frozen=True)
class Into:
    """Show only the lines into neuron ``j`` (from the inputs ``only``, if given)."""

    j: int
    only: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Strongest:
    """Show, into every neuron, only the lines of its ``count`` largest |w|."""

    count: int


def shown(visible: dict, layer: int, j: int, k: int, weights: np.ndarray) -> bool:
    """Whether the line from input k into neuron j of ``layer`` is drawn: ``visible[layer]``
    is "all", None (no lines), an :class:`Into` or a :class:`Strongest`."""
    show = visible.get(layer)
    if show == "all":
        return True
    if isinstance(show, Strongest):
        return k in np.argsort(-np.abs(weights[j]), kind="stable")[:show.count]
    return isinstance(show, Into) and show.j == j and (show.only is None or k in show.only)


def connections(bp, layout: Layout, visible: dict, ids: bool = False) -> str:
    """The weights as lines, as ``visible`` says (see :func:`shown`); with ``ids`` every line,
    with an id and no style: the explorer styles and shows them."""
    parts = []
    for layer, numbers in enumerate(bp.layers, start=1):
        scale = float(np.abs(numbers.w).max())
        for j, row in enumerate(numbers.w):
            x2, y2 = layout.position(layer, j)
            for k, w in enumerate(row):
                into = shown(visible, layer, j, k, numbers.w)
                if not into and not ids:
                    continue
                x1, y1 = layout.position(layer - 1, k)
                ends = f'x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}"'
                if ids:  # the explorer styles and shows each line itself
                    parts.append(f'<line id="w{layer}-{j}-{k}" class="w" {ends}/>')
                    continue
                line = line_style(w, scale, focused=isinstance(visible.get(layer), Into))
                parts.append(f'<line {ends} {line.attributes()}/>')
    return "\n".join(parts)


def neurons(bp, layout: Layout, rings: dict | None = None, after: bool = False) -> str:
    """Pixels, circles and their labels; ``rings`` maps (layer, j) to a :class:`Ring`;
    ``after``: the outputs as the engine reads the image again after the SGD step."""
    rings, parts = rings or {}, []
    levels = shades(bp)
    probabilities = bp.probabilities_after if after else bp.probabilities
    if after:
        levels[-1] = probabilities
    side = int(round(bp.sizes[0] ** 0.5))
    for i, level in enumerate(levels[0]):
        x, y = layout.position(0, i)
        parts.append(f'<rect id="n0-{i}" class="n" x="{x - CELL / 2:.1f}" y="{y - CELL / 2:.1f}" '
                     f'width="{CELL}" height="{CELL}" fill="{grey(level)}" '
                     f'stroke="{style.FAINT_LINE}" stroke-width="0.6"/>')
    for layer in range(1, len(bp.sizes)):
        last = layer == len(bp.sizes) - 1
        for j, level in enumerate(levels[layer]):
            x, y = layout.position(layer, j)
            ring = rings.get((layer, j))
            stroke = ring.attributes() if ring else \
                f'stroke="{style.MUTED}" stroke-width="1"'
            parts.append(f'<circle id="n{layer}-{j}" class="n" cx="{x:.1f}" cy="{y:.1f}" '
                         f'r="{layout.radius(layer)}" fill="{grey(level)}" {stroke}/>')
            colour = "white" if style.dark(level) else style.TEXT
            label = str(j)
            parts.append(text(x, y + 5, label, size=SMALL,
                              colour=colour, weight="bold" if last else "normal",
                              pointer_events="none", id=f"t{layer}-{j}"))
            if last:
                words = f"P {probability(probabilities[j])}"
                if after and j == bp.target:
                    words = (f"P {probability(bp.probabilities[j])} → "
                             f"{probability(probabilities[j])}")
                parts.append(text(x + 24, y + 5, words, size=SMALL, anchor="start", id=f"p{j}",
                                  weight="bold" if after and j == bp.target else "normal"))
    top = MIDDLE - side * CELL / 2 - 14
    captions = [(COLUMNS[0], top, "input: the 8×8 image"),
                (COLUMNS[1], layout.position(1, 0)[1] - 24, "hidden layer 1"),
                (COLUMNS[2], layout.position(2, 0)[1] - 24, "hidden layer 2"),
                (COLUMNS[3], layout.position(3, 0)[1] - 30, "outputs: one per digit")]
    parts += [text(x, y, words, size=SMALL, weight="bold", halo=True)
              for x, y, words in captions]
    return "\n".join(parts)


@dataclass(frozen=True)
class LegendItem:
    """One entry of a figure's legend: a small sample drawing and what it means."""

    sample: str  # "weights", "shading", "arrow" (along a line), "up" (beside a neuron), "ring"
    words: str
    colour: str = BLACK
    dash: str = ""  # a ring's dash pattern


def legend(items: list[LegendItem], top: float = HEIGHT - 112) -> str:
    """The key, under the network: one row per item."""
    parts = [f'<rect x="20" y="{top:.0f}" width="{WIDTH - 40}" '
             f'height="{12 + LEGEND_ROW * len(items)}" '
             f'fill="{style.PANEL}" stroke="{style.PANEL_EDGE}"/>']
    for row, item in enumerate(items):
        y = top + 21 + row * LEGEND_ROW
        x = 36
        if item.sample == "weights":
            parts.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 30}" y2="{y - 4}" '
                         f'stroke="{style.POSITIVE}" stroke-width="3"/><line x1="{x + 36}" '
                         f'y1="{y - 4}" x2="{x + 66}" y2="{y - 4}" stroke="{style.NEGATIVE}" '
                         f'stroke-width="2" stroke-dasharray="{NEGATIVE_DASH}"/>')
        elif item.sample == "shading":
            for k in range(6):
                parts.append(f'<rect x="{x + 11 * k}" y="{y - 11}" width="11" height="12" '
                             f'fill="{grey(k / 5)}" stroke="{style.RULE}" stroke-width="0.4"/>')
        elif item.sample == "up":
            parts.append(arrow(x + 33, y + 3, x + 33, y - 13, item.colour, width=3))
        elif item.sample == "ring":
            parts.append(f'<circle cx="{x + 33}" cy="{y - 4}" r="7" fill="white" '
                         f'{Ring(item.colour, item.dash).attributes(3)}/>')
        else:
            parts.append(arrow(x + 4, y - 4, x + 62, y - 4, item.colour, width=2.5))
        parts.append(text(x + 80, y, item.words, size=SMALL, anchor="start"))
    return "\n".join(parts)


# What the explorer's figure says to a screen reader, and the keys it answers.
KEYS_DESCRIPTION = (
    "The network as columns, left to right: the 8×8 input image, the lines (weights) into "
    "hidden layer 1, hidden layer 1, the lines into hidden layer 2, hidden layer 2, the lines "
    "into the outputs, the outputs; black arrows sit with their lines. Tab into the figure, "
    "then the left and right arrow keys move between columns, up and down within one, Home "
    "and End to a column's first and last; Enter or Space shows the numbers in the panel. "
    "Page Up and Page Down change the stage.")


def svg(title: str, body: str, interactive: bool = False) -> str:
    """A whole figure: a title (drawn, and as its <title> for screen readers), the drawing,
    white background; ``interactive``: the explorer's figure, with the id its script looks
    for, a group a screen reader passes keys to, and a <desc> saying which keys move in it."""
    if interactive:  # its <title> is the stage's, written by the explorer's script
        head = ('<svg xmlns="http://www.w3.org/2000/svg" id="net" role="application" '
                'aria-labelledby="net-title" aria-describedby="net-desc"'
                f'>\n<title id="net-title">{html.escape(title or "The network")}</title>\n'
                f'<desc id="net-desc">{html.escape(KEYS_DESCRIPTION)}</desc>\n')
    else:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg">\n'
                f'<title>{html.escape(title)}</title>\n')
    head = head.replace(">", f' viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
                        f'height="{HEIGHT}" font-family="{FONT}">', 1)
    return (head + f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>\n'
            + text(WIDTH / 2, 30, title, size=19, weight="bold", id="title") + "\n"
            + body + "\n</svg>\n")


@dataclass(frozen=True)
class NeuronInput:
    """One input of the neuron drawn by :func:`neuron_schematic`."""

    name: str  # "hidden layer 1, neuron 8" (engine.text.neuron_name)
    a: float
    w: float


def neuron_schematic(title: str, inputs: list[NeuronInput], rest: tuple[int, float],
                     bias: float, z: float, a: float, activation: str, words: str) -> str:
    """One neuron: its strongest inputs with their weights and products, the rest summed,
    the bias, Σ, and its activation curve with the operating point (z, a) marked."""
    height = 590
    parts = [f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
             text(WIDTH / 2, 30, title, size=19, weight="bold")]
    sx, sy = 540, 250  # Σ
    cx = 252  # the inputs' circles; their names and weights end left of them, at cx - 28
    scale = max(abs(i.w) for i in inputs)
    for row, item in enumerate(inputs):
        parts += _schematic_input(item, cx, 90 + row * 70, (sx, sy), scale)
    parts += _schematic_rest(rest, cx, 90 + len(inputs) * 70, (sx, sy))
    parts.append(arrow(sx, sy + 150, sx, sy + 38, style.MUTED, width=2))
    parts.append(text(sx + 10, sy + 140, f"bias b = {plain(bias)}", size=14, anchor="start"))
    parts.append(f'<circle cx="{sx}" cy="{sy}" r="34" fill="white" stroke="{style.STRONG_LINE}" '
                 f'stroke-width="2"/>')
    parts.append(text(sx, sy + 9, "Σ", size=26))
    # Plain words first, the formula after: the sum, then how it is made.
    parts.append(text(sx, sy - 62, f"the sum: {plain(z)}", size=14, weight="bold", halo=True))
    parts.append(text(sx, sy - 44, "z = Σ w·a + b", size=14, colour=style.MUTED, halo=True))
    parts.append(arrow(sx + 36, sy, sx + 88, sy, style.MUTED, width=2))
    parts += _activation_plot(sx + 100, sy, z, a, activation)
    ox = 1030
    parts.append(arrow(sx + 368, sy, ox - 26, sy, style.MUTED, width=2))
    parts.append(f'<circle cx="{ox}" cy="{sy}" r="24" fill="{grey(min(a, 1.0))}" '
                 f'stroke="{style.STRONG_LINE}" stroke-width="2"/>')
    parts.append(text(ox, sy + 44, f"output a = {a:.3f}", size=14, weight="bold"))
    parts.append(text(WIDTH / 2, 470, words, size=14))
    parts.append(legend([
        LegendItem("weights", "line: a weight, blue solid = positive, red dashed = negative; "
                              "wider = larger (its four strongest inputs)"),
        LegendItem("shading", "shading: activation a, white = 0, dark = high (1 and above)")],
        top=500))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" font-family="{FONT}">\n' + "\n".join(parts)
            + "\n</svg>\n")


def _schematic_input(item: NeuronInput, cx: float, y: float, sigma: tuple[float, float],
                     scale: float) -> list[str]:
    """One input's row of the neuron schematic: its line into Σ (at ``sigma``), its circle
    shaded by its activation, its name and, under it, its weight and product."""
    line = line_style(item.w, scale, focused=True)
    line = replace(line, width=line.width + 1, opacity=1)  # a few lines: all plain to see
    weighed = f"w = {plain(item.w)}, w·a = {plain(item.w * item.a)}"
    return [f'<line x1="{cx + 20}" y1="{y}" x2="{sigma[0] - 34}" y2="{sigma[1]}" '
            f'{line.attributes()}/>',
            f'<circle cx="{cx}" cy="{y}" r="20" fill="{grey(min(item.a, 1.0))}" '
            f'stroke="{style.MUTED}"/>',
            text(cx, y + 5, f"{item.a:.2f}", size=14,
                 colour="white" if style.dark(item.a) else style.TEXT),
            text(cx - 28, y + 5, item.name, size=14, anchor="end"),
            # Under the input's name, left of its circle, where no line runs (beside the
            # lines, the ones converging on Σ crossed it).
            text(cx - 28, y + 23, weighed, size=14, anchor="end")]


def _schematic_rest(rest: tuple[int, float], cx: float, y: float,
                    sigma: tuple[float, float]) -> list[str]:
    """The schematic's last row: the other inputs, counted, with their w·a summed."""
    count, total = rest
    return [f'<line x1="{cx + 20}" y1="{y}" x2="{sigma[0] - 34}" y2="{sigma[1]}" '
            f'stroke="{style.RULE}" '
            f'stroke-width="1.5" stroke-dasharray="5,4"/>',
            f'<circle cx="{cx}" cy="{y}" r="20" fill="{style.FAINT_FILL}" '
            f'stroke="{style.RULE}"/>',
            text(cx, y + 5, "…", size=15),
            text(cx - 28, y + 5, f"{count} more inputs", size=14, anchor="end"),
            text(cx - 28, y + 23, f"w·a in all: {plain(total)}", size=14, anchor="end")]


def _activation_plot(left: float, middle: float, z: float, a: float,
                     activation: str) -> list[str]:
    """relu (or tanh, sigmoid) over −3…3 in a box, with the point (z, a) marked."""
    import math

    curves = {"relu": lambda v: max(v, 0.0), "tanh": math.tanh,
              "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
              "softplus": lambda v: math.log1p(math.exp(v))}
    f = curves.get(activation, curves["relu"])
    width, height, span = 250, 170, 3.0
    top = middle - height / 2
    low, high = min(f(-span), -0.2), max(f(span), 1.0)

    def at(u, v):
        return (left + (u + span) / (2 * span) * width,
                top + height - (v - low) / (high - low) * height)

    x0, y0 = at(-span, 0)
    x1, _ = at(span, 0)
    ux, uy = at(0, low)
    _, vy = at(0, high)
    points = " ".join("{:.1f},{:.1f}".format(*at(-span + 2 * span * i / 60,
                                                 f(-span + 2 * span * i / 60)))
                      for i in range(61))
    px, py = at(max(min(z, span), -span), a)
    return [f'<rect x="{left - 10}" y="{top - 28}" width="{width + 20}" height="{height + 52}" '
            f'fill="{style.PANEL}" stroke="{style.PANEL_EDGE}" rx="6"/>',
            text(left + width / 2, top - 10, f"what it passes on: {activation}(sum)", size=14,
                 weight="bold"),
            f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y0:.1f}" '
            f'stroke="{style.RULE}"/>',
            f'<line x1="{ux:.1f}" y1="{uy:.1f}" x2="{ux:.1f}" y2="{vy:.1f}" '
            f'stroke="{style.RULE}"/>',
            text(x1 - 4, y0 + 16, "z", size=14, anchor="end"),
            f'<polyline points="{points}" fill="none" stroke="{style.STRONG_LINE}" '
            f'stroke-width="2.5"/>',
            f'<line x1="{px:.1f}" y1="{y0:.1f}" x2="{px:.1f}" y2="{py:.1f}" stroke="{PURPLE}" '
            f'stroke-dasharray="4,3"/>',
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="6" fill="{PURPLE}"/>',
            text(px, y0 + 16, f"z = {plain(z)}", size=14, colour=PURPLE)]
