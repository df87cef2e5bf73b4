"""The article's story, stage by stage, for one real pass: what each stage draws and says.

Forward pass → Step 1 (the '3' output should go up: purple arrow) → Step 2 (the weights into
it: black arrows) → Step 3 (one layer back: a green arrow, and where that neuron's gradient
comes from) → Step 4 (the first hidden layer: orange arrow, weights from the pixels) → apply
the update (the image read again) → repeat. A :class:`Stage` is plain data (which lines are
shown, which neurons ringed, an SVG overlay of arrows and notes, a legend, a caption): the
static figures draw it, the explorer switches between the stages of every network and digit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from demos.how_it_works import picture as pic
from demos.how_it_works.picture import LegendItem
from demos.how_it_works.readings import Backprop, most_influential
from demos.how_it_works.words import estimate, moved, would
from engine.text import neuron_name
from engine.viz import style
from engine.viz.style import BLACK, GREEN, ORANGE, PURPLE, amount, loss_number, percent, probability
from engine.viz.style import signed_number as number

NEURON_ARROW = 90.0  # px for the largest −∂loss/∂(output) drawn, over every figure
WEIGHT_ARROW = 60.0  # px for the largest |Δw| into the neuron a figure follows
STRONGEST = 8  # lines drawn from the pixels in Step 4
LISTED = 3  # Step 4's largest changes said in words, under the image
LONGER = 3 * pic.SHORTEST  # px: a too-short set of black arrows' largest, drawn longer
TINIEST = 4.0  # px: a change drawn shorter would read as a dot, which says "no change"
# y of Step 4's list of changes (up to 5 lines: it ends at 551), and of its one-line note on
# blank pixels (it ends at 595): a gap between them and above the legend (at HEIGHT - 112)
LIST_TOP, INK_TOP = 442, 562
NOTE_WIDTH = 310  # px: a note's box, wide enough for its text, clear of hidden layer 1's
BREAKDOWN_AT, BREAKDOWN = (28, 58), 131  # where Steps 3 and 4's box starts, and its height


@dataclass(frozen=True)
class Scales:
    """px per unit of the arrows. Beside neurons: one scale for every figure of both
    networks, so that a longer arrow is a larger −∂loss/∂(output) wherever it is. Black
    arrows: one scale per network for the lines into Steps 2 and 3's neurons (``weight``) and
    one for the pixels' weights of Step 4 (``pixel``, whose arrows sit inside a pixel), since
    a trained network's changes are orders of magnitude smaller; a legend says "longer = a
    larger change" in words (px per unit mean nothing to a student). A scale is 0 when there
    is nothing to draw."""

    neuron: float
    weight: float
    pixel: float

    @staticmethod
    def of(everything: list[Backprop], network: list[Backprop]) -> Scales:
        """The neuron scale over ``everything``, the weight scales over one ``network``'s
        passes."""
        grads, changes, pixels = [0.0], [0.0], [0.0]
        for bp in everything:
            grads += [abs(s) for s in _followed_grads(bp)]
        for bp in network:
            focus = focus_neurons(bp)
            changes += [float(np.abs(_changes(bp, layer, j)).max())
                        for layer, j in focus.items() if layer > 1 and j is not None]
            if focus[1] is not None:
                pixels.append(float(np.abs(_changes(bp, 1, focus[1])).max()))
        # A floor under each largest value, so that a network that is already right (a
        # gradient of 1e-18) draws no full-length arrow for it.
        return Scales(*(top / max(max(values), floor) if max(values) > 0 else 0.0
                        for top, values, floor in ((NEURON_ARROW, grads, 1e-3),
                                                   (WEIGHT_ARROW, changes, 1e-6),
                                                   (pic.CELL - 4, pixels, 1e-6))))


def scales_by_network(passes: dict[str, list[Backprop]]) -> dict[str, Scales]:
    """Each network's scales (see :class:`Scales`), with one neuron scale for all."""
    everything = [bp for group in passes.values() for bp in group]
    return {name: Scales.of(everything, group) for name, group in passes.items()}


def _followed_grads(bp: Backprop) -> list[float]:
    """−∂loss/∂(output) of the neurons the story follows, one per layer."""
    return [float(-(bp.layers[layer - 1].delta if layer == len(bp.layers)
                    else bp.layers[layer - 1].grad_a)[j])
            for layer, j in focus_neurons(bp).items() if j is not None]


def weight_scale(scales: Scales, layer: int) -> float:
    """px per unit of Δw for the black arrows into a neuron of ``layer``."""
    return scales.weight if layer > 1 else scales.pixel


@dataclass(frozen=True)
class Stage:
    """What one stage draws and says: ``caption``, plain words in the explainer's vocabulary
    with the engine's numbers (no ∂, δ, η, logit or e-notation), and ``maths``, the same in
    symbols, which pages fold under "show the maths"."""

    key: str
    title: str
    caption: str
    visible: dict  # layer → "all", None, or the one neuron whose incoming lines are shown
    rings: dict = field(default_factory=dict)  # (layer, j) → pic.Ring
    overlay: str = ""  # SVG: arrows, labels, notes
    legend: tuple[LegendItem, ...] = ()
    maths: str = ""


def focus_neurons(bp: Backprop) -> dict[int, int | None]:
    """The neuron the article follows in each layer: the target output, then in each hidden
    layer the active neuron whose output matters most for the loss (None if none is on)."""
    last = len(bp.layers)
    return {last: bp.target, **{layer: most_influential(bp, layer)
                                for layer in range(last - 1, 0, -1)}}


def name(bp: Backprop, layer: int, j: int) -> str:
    """Neuron j of ``layer`` (1: the first hidden layer) by its one name on every page:
    "hidden layer 2, neuron 5", "output '3'" (engine.text.neuron_name)."""
    return neuron_name(layer, j, len(bp.layers), str(j))


def _changes(bp: Backprop, layer: int, j: int) -> np.ndarray:
    """Δw of the weights into neuron j of ``layer``: the SGD step's, w after − w before."""
    numbers = bp.layers[layer - 1]
    return numbers.w_after[j] - numbers.w[j]


def neuron_arrow(bp: Backprop, layer: int, j: int, value: float, scales: Scales,
                 colour: str) -> str:
    """An arrow beside neuron j: up if its output should increase (value > 0), length ∝
    value (one too short to see drawn longer, tagged ×N), and beside it, in words, which way
    and how strongly ("should go up: 0.885"; the symbols are in the panel)."""
    layout = pic.Layout(tuple(bp.sizes))
    x, y = layout.position(layer, j)
    last = layer == len(bp.layers)
    ax = x + (118 if last else 24)
    length, factor = pic.readable(scales.neuron * value, 2 * pic.SHORTEST)  # (a wide one)
    half = length / 2
    # Two short lines (beside hidden layer 1 a long one would reach hidden layer 2's numbers),
    # and if the arrow is drawn longer than true, a third saying how much.
    words = [f"should {_way(value)}", amount(value)] + (
        [] if factor == 1 else [f"arrow {pic.times(factor)}"])
    return "\n".join([pic.arrow(ax, y + half, ax, y - half, colour, width=4,
                                **({} if factor == 1 else {"data_times": pic.times(factor)}))]
                     + [pic.text(ax + 12, y - 4 + 18 * i, line, size=pic.SMALL, anchor="start",
                                 colour=colour, weight="bold", halo=True,
                                 **({"data_tag": pic.times(factor)} if i == 2 else {}))
                        for i, line in enumerate(words)])


def _taken(bp: Backprop, box: bool = False) -> list[pic.Box]:
    """What a stage's labels must leave clear: the network as drawn, and the box of Steps 3
    and 4 (``box``)."""
    (left, top), taken = BREAKDOWN_AT, list(_drawn_boxes(tuple(bp.sizes)))
    return taken + ([pic.Box(left, top, left + NOTE_WIDTH, top + BREAKDOWN)] if box else [])


@functools.lru_cache(maxsize=8)
def _drawn_boxes(sizes: tuple[int, ...]) -> tuple[pic.Box, ...]:
    """The network's boxes as drawn, by its sizes (they depend on nothing else), kept: each
    studio read asks for them twice."""
    return tuple(pic.drawn_boxes(pic.Layout(sizes)))


def arrow_lengths(bp: Backprop, layer: int, j: int, scales: Scales) -> tuple[np.ndarray,
                                                                              float]:
    """The black arrows' lengths on the lines into neuron j (px, signed as Δw), and the one
    factor they are drawn longer by (1: true to the legend's scale). If the largest would be
    too short to see (under 2·SHORTEST), all are drawn longer by one factor that makes it
    LONGER: they stay in proportion (each Δw is in proportion to an activation, the point
    of Step 2), and one tag says so. A change that would still be drawn under TINIEST px is
    drawn that long, not as a dot (a dot is no change)."""
    lengths = weight_scale(scales, layer) * _changes(bp, layer, j)
    largest = float(np.abs(lengths).max())
    factor = LONGER / largest if 0 < largest < 2 * pic.SHORTEST else 1.0
    lengths = lengths * factor
    small = (lengths != 0) & (np.abs(lengths) < TINIEST)
    return np.where(small, np.sign(lengths) * TINIEST, lengths), factor


def weight_arrows(bp: Backprop, layer: int, j: int, scales: Scales,
                  taken: list[pic.Box]) -> str:
    """Black arrows on the lines into neuron j: toward j if the weight grows (Δw > 0), back
    toward its input if it shrinks, length ∝ Δw (a dot: no change; a set too short to see
    drawn longer by one factor, see :func:`arrow_lengths`, tagged once at the largest's
    head); the largest change said in words beside the neuron it comes from. Every label is
    put where it covers none in ``taken`` (and joins them)."""
    layout = pic.Layout(tuple(bp.sizes))
    changes = _changes(bp, layer, j)
    lengths, factor = arrow_lengths(bp, layer, j, scales)
    scaled = {} if factor == 1 else {"data_times": pic.times(factor)}
    x2, y2 = layout.position(layer, j)
    biggest = int(np.argmax(np.abs(changes)))
    parts = []
    for k, (change, size) in enumerate(zip(changes, lengths, strict=True)):
        x1, y1 = layout.position(layer - 1, k)
        dx, dy = x2 - x1, y2 - y1
        length = (dx * dx + dy * dy) ** 0.5
        ux, uy = dx / length, dy / length
        tx, ty = x1 + 0.3 * dx, y1 + 0.3 * dy  # near the inputs, where the lines are apart
        # A wide transparent edge makes the thin arrow easy to click in the explorer.
        parts.append(pic.arrow(tx, ty, tx + ux * size, ty + uy * size, BLACK, width=2.2,
                               id=f"dw{layer}-{j}-{k}", stroke="transparent",
                               stroke_width="9", **(scaled if change else {})))
        if k == biggest and change:  # in words; every number of every weight: in the panel
            words = _grows_by(change)
            x, y, anchor = pic.place(words, [(x1 - 18, y1 + 5, "end"), (x1 + 16, y1 - 9, "start"),
                                             (x1 + 16, y1 + 22, "start")], taken)
            parts.append(pic.text(x, y, words, size=pic.SMALL, anchor=anchor, colour=BLACK,
                                  weight="bold", halo=True))
        if scaled and k == biggest:  # one tag for all, at the largest's head, moved along its
            # column just enough to clear the others (lines converge: their heads are close)
            hx, hy, tag = tx + ux * max(size, 0) + 6, ty + uy * max(size, 0) + 5, pic.times(factor)
            spots = [(hx, hy + d, "start") for d in (0, 4, -4, 8, -8, 12, -12, 16, -16, 20, 24)]
            x, y, _ = pic.place(tag, spots, taken)
            parts.append(pic.text(x, y, tag, size=pic.SMALL, anchor="start", colour=BLACK,
                                  halo=True, data_tag=tag))
    return "\n".join(parts)


def strongest_changes(bp: Backprop, layer: int, j: int, count: int) -> tuple[int, ...]:
    """The inputs whose weights into neuron j change most, largest first."""
    changes = _changes(bp, layer, j)
    return tuple(np.argsort(-np.abs(changes), kind="stable")[:count].tolist())


def pixel_arrows(bp: Backprop, j: int, scales: Scales) -> str:
    """For the weights from the pixels into neuron j of hidden layer 1: the lines of the
    largest changes, drawn over the image so that one sees which pixel each leaves; an arrow
    in each pixel, up if its weight grows, length ∝ Δw (on the pixel scale of the legend);
    the three largest listed in words. If this image's largest arrow would be too short to
    see, every arrow of the image is drawn longer by one factor, said once over the list
    ("arrows in the pixels ×47"): within the image they stay to one scale."""
    layout = pic.Layout(tuple(bp.sizes))
    changes = _changes(bp, 1, j)
    largest = scales.pixel * float(np.abs(changes).max())
    factor = (pic.CELL - 4) / largest if 0 < largest < pic.SHORTEST else 1.0
    scaled = {} if factor == 1 else {"data_times": pic.times(factor)}
    scale = float(np.abs(bp.layers[0].w).max())
    x2, y2 = layout.position(1, j)
    parts = []
    for k in strongest_changes(bp, 1, j, STRONGEST):
        x1, y1 = layout.position(0, k)
        line = pic.line_style(bp.layers[0].w[j, k], scale, focused=True)
        parts.append(f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" '
                     f'{line.attributes()}/>')
    for k, change in enumerate(changes):
        x, y = layout.position(0, k)
        half = scales.pixel * factor * change / 2
        parts.append(pic.arrow(x, y + half, x, y - half, BLACK, width=2.0, outline=True,
                               id=f"dw1-{j}-{k}", **(scaled if change else {})))
    # The list in a box of its own under the image, over no line: rows and columns counted
    # as a reader counts them, from 1 (the explorer's pixels are named so too).
    side = int(round(bp.sizes[0] ** 0.5))
    said = [f"row {k // side + 1}, col {k % side + 1}: {_grows_by(changes[k])}"
            for k in strongest_changes(bp, 1, j, LISTED)]
    tag = pic.times(factor) if scaled else ""
    parts.append(note(([f"arrows in the pixels drawn {tag}"] if tag else [])
                      + ["Largest changes (row 1 = top row):", *said], top=LIST_TOP, tag=tag))
    return "\n".join(parts)


def _grows_by(change: float) -> str:
    """A weight's change as a figure says it: "grows by 0.0310", "shrinks by 0.0190"."""
    if not change:
        return "does not change"
    return f"{'grows' if change > 0 else 'shrinks'} by {amount(change)}"


def note(lines: list[str], colour: str = style.NOTE, top: float = 452, tag: str = "") -> str:
    """A boxed note under the input image; a line ending in ``tag`` (a ×N) is marked so."""
    height = 14 + 19 * len(lines)
    parts = [f'<rect x="28" y="{top}" width="{NOTE_WIDTH}" height="{height}" fill="white" '
             f'stroke="{colour}" rx="6"/>']
    parts += [pic.text(38, top + 21 + 19 * i, line, size=pic.SMALL, anchor="start",
                       colour=colour, **({"data_tag": tag} if tag and line.endswith(tag) else {}))
              for i, line in enumerate(lines)]
    return "\n".join(parts)


def breakdown(bp: Backprop, layer: int, k: int, main: int, colour: str) -> str:
    """Where hidden neuron k's −∂loss/∂a comes from: each neuron it feeds passes back
    −δⱼ·wⱼₖ (the engine's own chain-rule contributions, which add up to it); one bar for the
    neuron the story follows (``main``, of the next layer), one for all the others."""
    sent = -bp.layers[layer].sent[:, k]  # layer + 1's neurons, as passed back to k
    total = float(-bp.layers[layer - 1].grad_a[k])
    mine = float(sent[main])
    others = float(np.sum(np.delete(sent, main)))
    left, top = BREAKDOWN_AT
    scale = 50 / max(abs(mine), abs(others), 1e-12)  # bars of |value|; the text has the sign
    source = f"from {name(bp, layer + 1, main)}"
    long = len(source) > 18  # a hidden neuron's long name: on a line of its own
    parts = [f'<rect x="{left}" y="{top}" width="{NOTE_WIDTH}" '
             f'height="{BREAKDOWN - (0 if long else 19)}" fill="white" stroke="{colour}" '
             f'rx="6"/>',
             pic.text(left + 10, top + 21, f"Why {name(bp, layer, k)}",
                      size=pic.SMALL, anchor="start", colour=colour, weight="bold"),
             pic.text(left + 10, top + 40, f"should {_way(total)}: the {len(sent)} neurons "
                      f"it feeds", size=pic.SMALL, anchor="start"),
             pic.text(left + 10, top + 59, f"pass back a share; together {pic.plain(total)}:",
                      size=pic.SMALL, anchor="start")]
    if long:
        parts.append(pic.text(left + 10, top + 80, source + ":", size=pic.SMALL,
                              anchor="start"))
        source = ""
    rows = ((source, mine), (f"from the other {len(sent) - 1}", others))
    for row, (words, value) in enumerate(rows):
        yy = top + 80 + (row + (not source)) * 19
        parts.append(f'<rect x="{left + 225}" y="{yy - 11}" '
                     f'width="{max(scale * abs(value), 1):.1f}" height="12" fill="{colour}"/>')
        said = f"{words}: {pic.plain(value)}" if words else pic.plain(value)
        parts.append(pic.text(left + 10, yy, said, size=pic.SMALL, anchor="start"))
    return "\n".join(parts)


WEIGHTS = LegendItem("weights", "line: a weight, blue solid = positive, red dashed = "
                                "negative; wider and stronger for a larger weight")
WEIGHTS_FORWARD = LegendItem("weights", "line: a weight, blue solid = positive, red dashed = "
                                        "negative; wider for a larger weight (from the "
                                        "pixels: each neuron's 3 largest)")
# Each stage's ring differs from the others by its dash as well as its hue.
OUTPUT_RING = pic.Ring(PURPLE, "", "solid purple ring")
STEP3_RING = pic.Ring(GREEN, "12,5", "dashed green ring")  # long dashes, short gaps
STEP4_RING = pic.Ring(ORANGE, "0,9", "dotted orange ring")  # round dots, wide gaps


def shading_item(bp: Backprop) -> LegendItem:
    tops = ", ".join(f"{bp.layers[i].a.max():.2f}" for i in range(len(bp.layers) - 1))
    return LegendItem("shading", f"shading: activation, dark = high. Pixels: ink; hidden: as "
                                 f"a share of its layer's largest ({tops}); outputs: "
                                 f"probability")


def change_item(bp: Backprop, scales: Scales) -> LegendItem:
    if scales.weight == 0:
        return LegendItem("arrow", "black dot on a line: its weight does not change", BLACK)
    # In words, not px per 0.01 (meaningless to a student); a ×N tag says when arrows are
    # drawn longer. One row of the legend: at most about 145 characters.
    return LegendItem("arrow", "black arrow on a line: how its weight changes, toward the "
                               "neuron = grows, longer = more; a dot: no change (the neuron it "
                               "comes from is off)", BLACK)


def pixel_item(bp: Backprop, scales: Scales) -> LegendItem:
    return LegendItem("arrow", "black arrow in a pixel: how its weight into the ringed neuron "
                               "changes, up = grows, longer = more; a dot: no change (blank in "
                               "all training images)", BLACK)


def neuron_item(colour: str, scales: Scales) -> LegendItem:
    return LegendItem("up", "arrow by a neuron: which way its output should go to lower the "
                            "loss, longer = more (one scale in every figure)", colour)


def ring_item(ring: pic.Ring, words: str) -> LegendItem:
    return LegendItem("ring", f"{ring.name}: {words}", ring.colour, ring.dash)


def percent_decimals(bp: Backprop) -> int:
    """The decimals of a pass's captions' percents: whole, or one if the right digit's and
    the top answer's would read the same (11.5% and 12.2%). Every caption about this image
    writes its percents so, the "repeat" stage's too."""
    ps = bp.probabilities
    top = int(np.argmax(ps))
    return int(top != bp.target and percent(ps[top]) == percent(ps[bp.target]))


@dataclass(frozen=True)
class _Story:
    """What every stage of one pass refers to: the pass, the arrow scale, the digit t and the
    neurons followed in hidden layers 2 (j2) and 1 (j1)."""

    bp: Backprop
    scales: Scales
    state: str  # "untrained" or "trained"

    @property
    def t(self) -> int:
        return self.bp.target

    @property
    def last(self) -> int:
        return len(self.bp.layers)

    @property
    def j2(self) -> int:
        return focus_neurons(self.bp)[self.last - 1]

    @property
    def j1(self) -> int:
        return focus_neurons(self.bp)[self.last - 2]

    @property
    def zt(self) -> str:
        """The target output's logit, as the figures write it: z₃."""
        return f"z{str(self.t).translate(pic.SUBSCRIPTS)}"

    @property
    def decimals(self) -> int:
        """This pass's captions' percents (see :func:`percent_decimals`)."""
        return percent_decimals(self.bp)

    def percent(self, p: float) -> str:
        """A probability as this pass's captions say it (see :attr:`decimals`)."""
        return percent(p, self.decimals)

    def wants(self, layer: int, j: int) -> float:
        """−∂loss/∂(output of neuron j): which way it should move."""
        numbers = self.bp.layers[layer - 1]
        return float(-(numbers.delta if layer == self.last else numbers.grad_a)[j])


def _way(change: float) -> str:
    """Which way a neuron's output should go, in words."""
    return "go up" if change > 0 else "go down" if change < 0 else "stay as it is"


def _active(change: float) -> str:
    """Which way a neuron's activation should go, in the explainer's words."""
    return ("become more active" if change > 0 else "become less active" if change < 0
            else "stay as it is")


def _forward(s: _Story) -> Stage:
    bp, t = s.bp, s.t
    top = int(np.argmax(bp.probabilities))
    pt, ptop = s.percent(bp.probabilities[t]), s.percent(bp.probabilities[top])
    answer = (f"it gives '{t}' {pt}, its top answer" if top == t else
              f"it gives '{t}' only {pt}; its top answer is '{top}' ({ptop})")
    return Stage(
        "forward", f"The forward pass: the {s.state} network reads a {t}",
        f"The {s.state} network reads a {t}: {answer}. Its loss, how far that is from the "
        f"right answer, is {amount(bp.loss)}.",
        {1: pic.Strongest(3), 2: "all", 3: "all"},
        overlay=note([f"P('{t}') = {probability(bp.probabilities[t])}, "
                      f"loss = {amount(bp.loss)}",
                      f"top answer: '{top}' ({probability(bp.probabilities[top])})"]),
        legend=(WEIGHTS_FORWARD, shading_item(bp)),
        maths=f"Each neuron adds up its inputs times their weights, plus a bias, z = Σ w·a + "
              f"b, and passes relu(z) on. The outputs' sums (the logits z) go through softmax "
              f"to give the probabilities: P('{t}') = {probability(bp.probabilities[t])}. The "
              f"loss is −log P('{t}') = {loss_number(bp.loss)}.")


def _step1(s: _Story) -> Stage:
    t, dz = s.t, s.wants(s.last, s.t)
    p = s.bp.probabilities[t]
    asks = (f"The network gives '{t}' only {s.percent(p)}: the '{t}' answer should go up"
            if p < 0.5 else f"The network already gives '{t}' {s.percent(p)}: the '{t}' answer "
                            f"should still go up, a little")
    return Stage(
        "step1", f"Step 1: the '{t}' output should go {'up' if dz > 0 else 'down'}",
        f"We want the '{t}' output dark (high) and the others light (low). {asks} (purple "
        f"arrow).",
        {}, rings={(s.last, t): OUTPUT_RING},
        overlay=neuron_arrow(s.bp, s.last, t, dz, s.scales, PURPLE),
        legend=(shading_item(s.bp), neuron_item(PURPLE, s.scales),
                ring_item(OUTPUT_RING, f"the '{t}' output, the one we want high")),
        maths=f"The loss is −log P('{t}'). It falls fastest if the '{t}' output's logit {s.zt} "
              f"moves by −∂loss/∂{s.zt} = 1 − P('{t}') = {number(dz)}: the purple arrow.")


def _grows(change: float) -> str:
    """A weight's change in words: more positive or more negative, by how much."""
    return (f"becomes more {'positive' if change > 0 else 'negative'} by {amount(change)}"
            if change else "does not change")


def _step2(s: _Story) -> Stage:
    bp, t, last, dz = s.bp, s.t, s.last, s.wants(s.last, s.t)
    out, h2 = bp.layers[-1], bp.layers[-2]
    changes = _changes(bp, last, t)
    big = int(np.argmax(np.abs(changes)))
    largest = (f"The largest change: the weight from {name(bp, last - 1, big)} (activation "
               f"{amount(h2.a[big])}) {_grows(changes[big])}." if changes[big] != 0 else
               "No weight changes: every neuron it reads is off for this image.")
    return Stage(
        "step2", f"Step 2: change the weights into the '{t}' output",
        f"To do that, the weights from hidden layer 2 into the '{t}' output change (black "
        f"arrows), each in proportion to the activation of the neuron it comes from: a "
        f"neuron that is off changes nothing. {largest}",
        {last: pic.Into(t)}, rings={(last, t): OUTPUT_RING},
        overlay=neuron_arrow(bp, last, t, dz, s.scales, PURPLE) + "\n"
        + weight_arrows(bp, last, t, s.scales, _taken(bp)),
        legend=(WEIGHTS, change_item(bp, s.scales), neuron_item(PURPLE, s.scales),
                ring_item(OUTPUT_RING, f"the '{t}' output")),
        maths=f"Each weight w from hidden neuron k into '{t}' changes by Δw = −η·∂loss/∂w = "
              f"−η·δ·a_k, with η = {bp.lr:g} and δ = ∂loss/∂{s.zt} = {number(-dz)} the same "
              f"for all of them: so each change is proportional to a_k, and neurons that are "
              f"off (a = 0) change nothing. The largest: from {name(bp, last - 1, big)} (a = "
              f"{h2.a[big]:.3f}), w {number(out.w[t, big])} → {number(out.w_after[t, big])} "
              f"(Δw {number(changes[big])}).")


def _nothing_on(s: _Story, key: str, title: str, layer: int) -> Stage:
    """Steps 3 and 4 when no neuron of ``layer`` is on: relu passes nothing back."""
    words = (f"No neuron of hidden layer {layer} is on for this image (every activation is "
             f"0), so nothing passes back through it: nothing before it changes.")
    return Stage(key, title, words, {}, overlay=note([f"hidden layer {layer}: no neuron is on,",
                                                      "so nothing passes back"]),
                 legend=(shading_item(s.bp),),
                 maths=f"relu passes the gradient on only where z > 0; here every z of hidden "
                       f"layer {layer} is ≤ 0, so each of its δ = ∂loss/∂z is 0.")


def _step3(s: _Story) -> Stage:
    bp, t, layer, j2 = s.bp, s.t, s.last - 1, s.j2
    title = "Step 3: the same, one layer back"
    if j2 is None:
        return _nothing_on(s, "step3", title, layer)
    c2 = s.wants(layer, j2)
    outputs = bp.sizes[-1]
    return Stage(
        "step3", title,
        f"One layer back: {name(bp, layer, j2)} (activation "
        f"{amount(bp.layers[layer - 1].a[j2])}) should {_active(c2)} (green arrow). That is "
        f"what all {outputs} outputs together ask of it, not only '{t}' (the box). Its "
        f"weights from hidden layer 1 change to do it (black arrows).",
        {layer: pic.Into(j2)}, rings={(s.last, t): OUTPUT_RING, (layer, j2): STEP3_RING},
        overlay="\n".join([neuron_arrow(bp, layer, j2, c2, s.scales, GREEN),
                           weight_arrows(bp, layer, j2, s.scales, _taken(bp, box=True)),
                           breakdown(bp, layer, j2, t, GREEN)]),
        legend=(WEIGHTS, change_item(bp, s.scales), neuron_item(GREEN, s.scales),
                ring_item(STEP3_RING, f"the hidden neuron this step follows (solid purple: "
                                       f"'{t}')")),
        maths=f"{name(bp, layer, j2).capitalize()} is the one, among those clearly on, whose "
              f"output matters most: "
              f"−∂loss/∂a = {number(c2)}, the sum of what the {outputs} outputs pass back to "
              f"it, each −δ·w (the box: from '{t}' and from the other {outputs - 1}). Its "
              f"weights from hidden layer 1 change by Δw = −η·δ·a, with its own δ = ∂loss/∂z "
              f"(relu passes the gradient on only where z > 0).")


def _step4(s: _Story) -> Stage:
    bp, layer, j1, j2 = s.bp, s.last - 2, s.j1, s.j2
    title = "Step 4: and for the first hidden layer"
    if j1 is None or j2 is None:
        return _nothing_on(s, "step4", title, layer if j1 is None else layer + 1)
    c1 = s.wants(layer, j1)
    blank = bp.x[bp.pixels == 0]
    below = len(blank) and blank.min() < 0
    plain = (f" Blank pixels' weights change too: the network reads a blank pixel as below "
             f"the average image (here down to {number(blank.min(), 2)}), not as 0."
             if below else "")
    reads = (f" The network reads each pixel standardised, (ink − mean) ÷ std over the "
             f"training images, so most blank pixels read below 0 (here down to "
             f"{number(blank.min(), 2)}), not 0: their weights change too (Δw = −η·δ·x)."
             if below else "")
    notes = [note(["Blank pixels read below the average image."], ORANGE, top=INK_TOP)
             ] if reads else []
    return Stage(
        "step4", title,
        f"And once more: {name(bp, layer, j1)} (activation "
        f"{amount(bp.layers[layer - 1].a[j1])}) should {_active(c1)} (orange arrow), through "
        f"its weights from the {bp.sizes[0]} pixels. The arrow in each pixel shows how its "
        f"weight changes; the lines of the {STRONGEST} largest changes are drawn.{plain}",
        {layer: pic.Into(j1, strongest_changes(bp, 1, j1, STRONGEST))},
        rings={(layer + 1, j2): STEP3_RING, (layer, j1): STEP4_RING},
        overlay="\n".join([neuron_arrow(bp, layer, j1, c1, s.scales, ORANGE),
                           pixel_arrows(bp, j1, s.scales),
                           breakdown(bp, layer, j1, j2, ORANGE), *notes]),
        legend=(WEIGHTS, pixel_item(bp, s.scales), neuron_item(ORANGE, s.scales),
                ring_item(STEP4_RING, "the neuron this step follows (dashed green: Step 3's)")),
        maths=f"{name(bp, layer, j1).capitalize()}: −∂loss/∂a = {number(c1)}, the sum of what the "
              f"neurons of hidden layer 2 pass back to it (the box). Each weight from pixel k "
              f"changes by Δw = −η·δ·x_k.{reads} The {LISTED} largest changes are listed "
              f"under the image.")


def _apply(s: _Story) -> Stage:
    bp, t = s.bp, s.t
    after, actual = bp.probabilities_after, bp.loss_after - bp.loss
    return Stage(
        "apply", "Apply the update: every weight takes its step",
        f"One step changes every weight a little. Read again, the same image's probability "
        f"of '{t}' {moved(bp.probabilities[t], after[t], least=s.decimals)}, and the loss "
        f"went from "
        f"{amount(bp.loss)} to {amount(bp.loss_after)}. "
        f"{estimate(bp.predicted_change, actual)} The outputs are drawn as read after "
        f"the step; the hidden neurons and lines as before it.",
        {1: pic.Strongest(3), 2: "all", 3: "all"}, rings={(s.last, t): OUTPUT_RING},
        overlay=note([f"after one step (learning rate {bp.lr:g}):",
                      f"P('{t}') {probability(bp.probabilities[t])} → {probability(after[t])}",
                      f"loss {amount(bp.loss)} → {amount(bp.loss_after)}",
                      f"straight-line estimate: {would(bp.predicted_change)}"], PURPLE),
        legend=(WEIGHTS_FORWARD, shading_item(bp), ring_item(OUTPUT_RING, f"the '{t}' output")),
        maths=f"One step of gradient descent, η = {bp.lr:g}: every weight and bias moves by "
              f"Δw = −η·∂loss/∂w. The first-order (straight-line) estimate of the loss's "
              f"change is Σ ∂loss/∂w·Δw = −η·Σ (∂loss/∂w)² = {number(bp.predicted_change)}; "
              f"read again by the engine, the change is {number(actual)}.")


def stages(bp: Backprop, scales: Scales, trained: bool, state: str | None = None) -> list[Stage]:
    """The article's stages for this pass, in order; ``state`` names the network in them
    (default: "trained" or "untrained", as ``trained`` says; the studio's "half-trained")."""
    story = _Story(bp, scales, state or ("trained" if trained else "untrained"))
    return [make(story) for make in (_forward, _step1, _step2, _step3, _step4, _apply)]


def figure(bp: Backprop, stage: Stage) -> str:
    """One stage as a standalone SVG figure."""
    layout = pic.Layout(tuple(bp.sizes))
    body = "\n".join([pic.connections(bp, layout, stage.visible),
                      pic.neurons(bp, layout, stage.rings, after=stage.key == "apply"),
                      stage.overlay,
                      pic.legend(list(stage.legend))])
    return pic.svg(stage.title, body)


def neuron_figure(bp: Backprop, title: str) -> str:
    """One neuron of hidden layer 2, chosen so that its activation visibly acts (a negative
    sum that relu turns into 0, if there is one), with its four strongest inputs."""
    layer = len(bp.layers) - 1
    numbers = bp.layers[layer - 1]
    negative = np.flatnonzero((numbers.z < 0) & (numbers.z > -3))
    j = int(negative[np.argmin(numbers.z[negative])]) if len(negative) else 0
    before = bp.activations(layer - 1)
    terms = numbers.w[j] * before
    strongest = np.argsort(-np.abs(terms), kind="stable")[:4]
    rest = [k for k in range(len(terms)) if k not in set(strongest.tolist())]
    inputs = [pic.NeuronInput(name(bp, layer - 1, k), float(before[k]), float(numbers.w[j, k]))
              for k in strongest]
    z, a = float(numbers.z[j]), float(numbers.a[j])
    act = bp.activation
    if z < 0 and a == 0:  # what relu does to a negative sum
        words = (f"{name(bp, layer, j).capitalize()}: its sum, {pic.plain(z)}, is negative, "
                 f"so it passes on 0: for this image the neuron is off.")
    else:
        words = (f"{name(bp, layer, j).capitalize()}: its sum is {pic.plain(z)}, and it passes "
                 f"on {act}(sum) = {a:.3f}.")
    return pic.neuron_schematic(title, inputs, (len(rest), float(terms[rest].sum())),
                                float(numbers.b[j]), z, a, act, words)
