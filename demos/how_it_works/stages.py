"""The article's story, stage by stage, for one real pass: what each stage draws and says.

Forward pass → Step 1 (the '3' output should go up: purple arrow) → Step 2 (the weights into
it: black arrows) → Step 3 (one layer back: a green arrow, and where that neuron's gradient
comes from) → Step 4 (the first hidden layer: orange arrow, weights from the pixels) → apply
the update (the image read again) → repeat. A :class:`Stage` is plain data (which lines are
shown, which neurons ringed, an SVG overlay of arrows and notes, a legend, a caption): the
static figures draw it, the explorer switches between the stages of every network and digit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from demos.how_it_works import picture as pic
from demos.how_it_works.numbers import Backprop, most_influential
from demos.how_it_works.picture import BLACK, GREEN, ORANGE, PURPLE, LegendItem, number

NEURON_ARROW = 90.0  # px for the largest −∂loss/∂(output) drawn, over every figure
WEIGHT_ARROW = 60.0  # px for the largest |Δw| into the neuron a figure follows
LABELLED = {2: 4, 3: 4}  # how many of the weight changes into a neuron get a label
STRONGEST = 8  # lines drawn from the pixels in Step 4


@dataclass(frozen=True)
class Scales:
    """px per unit of the arrows beside neurons: one scale for every figure and both
    networks, so that a longer arrow is a larger −∂loss/∂(output) wherever it is. (Weight
    changes differ by orders of magnitude between layers and networks, so each figure scales
    its black arrows to its own largest change, and its legend says how many px are 0.01.)"""

    neuron: float

    @staticmethod
    def of(passes: list[Backprop]) -> Scales:
        grads = []
        for bp in passes:
            focus = focus_neurons(bp)
            grads.append(abs(bp.layers[-1].delta[bp.target]))
            grads += [abs(bp.layers[layer - 1].grad_a[j]) for layer, j in focus.items()
                      if layer < len(bp.layers)]
        return Scales(NEURON_ARROW / max(max(grads), 1e-12))


def weight_scale(bp: Backprop, layer: int, j: int) -> float:
    """px per unit of Δw for the black arrows into neuron j: its largest change gets
    :data:`WEIGHT_ARROW` px (a pixel's square, for the weights from the pixels)."""
    largest = float(np.abs(_changes(bp, layer, j)).max())
    return (WEIGHT_ARROW if layer > 1 else pic.CELL - 4) / max(largest, 1e-12)


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    caption: str
    visible: dict  # layer → "all", None, or the one neuron whose incoming lines are shown
    rings: dict = field(default_factory=dict)  # (layer, j) → colour
    overlay: str = ""  # SVG: arrows, labels, notes
    legend: tuple[LegendItem, ...] = ()


def focus_neurons(bp: Backprop) -> dict[int, int]:
    """The neuron the article follows in each layer: the target output, then in each hidden
    layer the active neuron whose output matters most for the loss."""
    last = len(bp.layers)
    return {last: bp.target, **{layer: most_influential(bp, layer)
                                for layer in range(last - 1, 0, -1)}}


def _changes(bp: Backprop, layer: int, j: int) -> np.ndarray:
    """Δw of the weights into neuron j of ``layer``: the SGD step's, w after − w before."""
    numbers = bp.layers[layer - 1]
    return numbers.w_after[j] - numbers.w[j]


def neuron_arrow(bp: Backprop, layer: int, j: int, value: float, scales: Scales, colour: str,
                 name: str) -> str:
    """An arrow beside neuron j: up if its output should increase (value > 0), length ∝
    value, and the value written beside it."""
    layout = pic.Layout(tuple(bp.sizes))
    x, y = layout.position(layer, j)
    last = layer == len(bp.layers)
    ax = x + (118 if last else 24)
    half = scales.neuron * value / 2
    words = [f"−∂loss/∂{name} = {number(value)}",
             "should increase" if value > 0 else "should decrease"]
    return "\n".join([pic.arrow(ax, y + half, ax, y - half, colour, width=4)] + [
        pic.text(ax + 12, y + 4 + 16 * (i - 0.5), w, size=13, anchor="start", colour=colour,
                 weight="bold", halo=True) for i, w in enumerate(words)])


def weight_arrows(bp: Backprop, layer: int, j: int) -> str:
    """Black arrows on the lines into neuron j: toward j if the weight grows (Δw > 0), back
    toward its input if it shrinks, length ∝ Δw (a dot: no change); the largest few
    labelled at the start of their line."""
    layout = pic.Layout(tuple(bp.sizes))
    changes = _changes(bp, layer, j)
    x2, y2 = layout.position(layer, j)
    labelled = set(np.argsort(-np.abs(changes), kind="stable")[:LABELLED[layer]].tolist())
    parts = []
    for k, change in enumerate(changes):
        x1, y1 = layout.position(layer - 1, k)
        dx, dy = x2 - x1, y2 - y1
        length = (dx * dx + dy * dy) ** 0.5
        ux, uy = dx / length, dy / length
        tx, ty = x1 + 0.3 * dx, y1 + 0.3 * dy  # near the inputs, where the lines are apart
        size = weight_scale(bp, layer, j) * change
        # A wide transparent edge makes the thin arrow easy to click in the explorer.
        parts.append(pic.arrow(tx, ty, tx + ux * size, ty + uy * size, BLACK, width=2.2,
                               id=f"dw{layer}-{j}-{k}", stroke="transparent",
                               stroke_width="9"))
        if k in labelled:
            parts.append(pic.text(x1 + 16, y1 - 7, f"Δw {number(change)}", size=12,
                                  anchor="start", colour=BLACK, halo=True))
    return "\n".join(parts)


def strongest_changes(bp: Backprop, layer: int, j: int, count: int) -> tuple[int, ...]:
    """The inputs whose weights into neuron j change most, largest first."""
    changes = _changes(bp, layer, j)
    return tuple(np.argsort(-np.abs(changes), kind="stable")[:count].tolist())


def pixel_arrows(bp: Backprop, j: int) -> str:
    """For the weights from the pixels into neuron j of hidden layer 1: an arrow in each
    pixel, up if its weight grows, length ∝ Δw (on the pixel scale of the legend); the four
    largest listed with what the pixel reads."""
    layout = pic.Layout(tuple(bp.sizes))
    changes = _changes(bp, 1, j)
    parts = []
    for k, change in enumerate(changes):
        x, y = layout.position(0, k)
        half = weight_scale(bp, 1, j) * change / 2
        parts.append(pic.arrow(x, y + half, x, y - half, BLACK, width=2.0, outline=True,
                               id=f"dw1-{j}-{k}"))
    side = int(round(bp.sizes[0] ** 0.5))
    for row, k in enumerate(strongest_changes(bp, 1, j, 4)):
        r, c = divmod(k, side)
        parts.append(pic.text(30, 470 + 17 * row, f"pixel (row {r}, col {c}) reads "
                              f"{number(bp.x[k], 2)}: Δw {number(changes[k])}", size=12.5,
                              anchor="start"))
    return "\n".join(parts)


def note(lines: list[str], colour: str = "#444444", top: float = 452) -> str:
    """A boxed note under the input image."""
    height = 14 + 17 * len(lines)
    parts = [f'<rect x="28" y="{top}" width="262" height="{height}" fill="white" '
             f'stroke="{colour}" rx="6"/>']
    parts += [pic.text(38, top + 19 + 17 * i, line, size=12.5, anchor="start", colour=colour)
              for i, line in enumerate(lines)]
    return "\n".join(parts)


def breakdown(bp: Backprop, layer: int, k: int, main: int, main_name: str,
              colour: str) -> str:
    """Where hidden neuron k's −∂loss/∂a comes from: each neuron it feeds passes back
    −δⱼ·wⱼₖ (the engine's own chain-rule contributions, which add up to it); one bar for the
    neuron the story follows, one for all the others."""
    sent = -bp.layers[layer].sent[:, k]  # layer + 1's neurons, as passed back to k
    total = float(-bp.layers[layer - 1].grad_a[k])
    mine = float(sent[main])
    others = float(np.sum(np.delete(sent, main)))
    left, top = 28, 58
    scale = 50 / max(abs(mine), abs(others), 1e-12)  # bars of |value|; the text has the sign
    parts = [f'<rect x="{left}" y="{top}" width="262" height="108" fill="white" '
             f'stroke="{colour}" rx="6"/>',
             pic.text(left + 10, top + 19, f"Why neuron {k} should "
                      f"{'increase' if total > 0 else 'decrease'}:", size=12.5,
                      anchor="start", colour=colour, weight="bold"),
             pic.text(left + 10, top + 36, f"−∂loss/∂a = {number(total)} is the sum of",
                      size=12.5, anchor="start"),
             pic.text(left + 10, top + 52, f"what the {len(sent)} neurons it feeds pass",
                      size=12.5, anchor="start"),
             pic.text(left + 10, top + 68, "back to it (each −δ·w):", size=12.5,
                      anchor="start")]
    for row, (words, value) in enumerate(((f"from {main_name}", mine),
                                          (f"from the other {len(sent) - 1}", others))):
        yy = top + 86 + row * 16
        parts.append(f'<rect x="{left + 200}" y="{yy - 10}" '
                     f'width="{max(scale * abs(value), 1):.1f}" height="11" fill="{colour}"/>')
        parts.append(pic.text(left + 10, yy, f"{words}: {number(value)}", size=12.5,
                              anchor="start"))
    return "\n".join(parts)


WEIGHTS = LegendItem("weights", "line: a weight, blue positive, red negative; "
                                "wider and stronger for larger |w|")
WEIGHTS_FORWARD = LegendItem("weights", "line: a weight, blue positive, red negative; wider "
                                        "for larger |w| (from the pixels: each neuron's 3 "
                                        "largest)")


def shading_item(bp: Backprop) -> LegendItem:
    tops = ", ".join(f"{bp.layers[i].a.max():.2f}" for i in range(len(bp.layers) - 1))
    return LegendItem("shading", f"shading: activation, dark = high. Pixels: ink; hidden: a ÷ "
                                 f"the largest a of its layer ({tops}); outputs: probability")


def _per_hundredth(px: float) -> str:
    return f"{px * 0.01:.1f}" if px * 0.01 < 10 else f"{px * 0.01:.0f}"


def change_item(bp: Backprop, layer: int, j: int) -> LegendItem:
    px = _per_hundredth(weight_scale(bp, layer, j))
    return LegendItem("arrow", f"black arrow on a line: Δw = −η·∂loss/∂w with η = {bp.lr:g}; "
                               f"toward the neuron = w grows; {px} px per 0.01; a dot: no "
                               f"change", BLACK)


def pixel_item(bp: Backprop, j: int) -> LegendItem:
    px = _per_hundredth(weight_scale(bp, 1, j))
    return LegendItem("arrow", f"black arrow in a pixel: the change Δw of its weight into the "
                               f"ringed neuron, up = grows; {px} px per 0.01 (η = {bp.lr:g})",
                      BLACK)


def neuron_item(colour: str, name: str, scales: Scales) -> LegendItem:
    return LegendItem("arrow", f"arrow by a neuron: −∂loss/∂{name}, up = should increase; "
                               f"{scales.neuron * 0.1:.0f} px per 0.1", colour)


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

    def wants(self, layer: int, j: int) -> float:
        """−∂loss/∂(output of neuron j): which way it should move."""
        numbers = self.bp.layers[layer - 1]
        return float(-(numbers.delta if layer == self.last else numbers.grad_a)[j])


def _verb(change: float) -> str:
    return "increase" if change > 0 else "decrease"


def _forward(s: _Story) -> Stage:
    bp, t = s.bp, s.t
    top = int(np.argmax(bp.probabilities))
    return Stage(
        "forward", f"The forward pass: the {s.state} network reads a {t}",
        f"Each neuron adds up its inputs times their weights, plus a bias, and passes the sum "
        f"through relu. The {s.state} network gives '{t}' a probability of "
        f"{bp.probabilities[t]:.3f}; its top answer is '{top}' ({bp.probabilities[top]:.3f}). "
        f"The loss, −log P('{t}'), is {bp.loss:.3f}.",
        {1: pic.Strongest(3), 2: "all", 3: "all"},
        overlay=note([f"P('{t}') = {bp.probabilities[t]:.3f}, loss = {bp.loss:.3f}",
                      f"top answer: '{top}' ({bp.probabilities[top]:.3f})"]),
        legend=(WEIGHTS_FORWARD, shading_item(bp)))


def _step1(s: _Story) -> Stage:
    t, dz = s.t, s.wants(s.last, s.t)
    return Stage(
        "step1", f"Step 1: the '{t}' output should go {'up' if dz > 0 else 'down'}",
        f"We want the '{t}' output high and the others low. The loss falls fastest if the "
        f"'{t}' output's logit {s.zt} moves by −∂loss/∂{s.zt} = {number(dz)} (purple arrow): "
        f"1 − P('{t}'), since the loss is −log P('{t}').",
        {}, rings={(s.last, t): PURPLE},
        overlay=neuron_arrow(s.bp, s.last, t, dz, s.scales, PURPLE, s.zt),
        legend=(shading_item(s.bp), neuron_item(PURPLE, s.zt, s.scales)))


def _step2(s: _Story) -> Stage:
    bp, t, last, dz = s.bp, s.t, s.last, s.wants(s.last, s.t)
    out, h2 = bp.layers[-1], bp.layers[-2]
    changes = _changes(bp, last, t)
    big = int(np.argmax(np.abs(changes)))
    return Stage(
        "step2", f"Step 2: change the weights into the '{t}' output",
        f"Each weight w from hidden neuron k into '{t}' changes by Δw = −η·∂loss/∂w = "
        f"−η·δ·a_k, with δ = ∂loss/∂{s.zt} = {number(-dz)} the same for all of them: so each "
        f"change is proportional to the activation a_k it comes from, and neurons that are "
        f"off (a = 0) change nothing. The largest: from neuron {big} (a = {h2.a[big]:.3f}), "
        f"w {number(out.w[t, big])} → {number(out.w_after[t, big])} (Δw "
        f"{number(changes[big])}, η = {bp.lr:g}).",
        {last: pic.Into(t)}, rings={(last, t): PURPLE},
        overlay=neuron_arrow(bp, last, t, dz, s.scales, PURPLE, s.zt) + "\n"
        + weight_arrows(bp, last, t),
        legend=(WEIGHTS, change_item(bp, last, t), neuron_item(PURPLE, s.zt, s.scales)))


def _step3(s: _Story) -> Stage:
    bp, t, layer, j2 = s.bp, s.t, s.last - 1, s.j2
    c2 = s.wants(layer, j2)
    return Stage(
        "step3", "Step 3: the same, one layer back",
        f"In hidden layer 2, neuron {j2} (the active one whose output matters most) should "
        f"{_verb(c2)}: −∂loss/∂a = {number(c2)} (green arrow). That number is the sum of "
        f"what all ten outputs pass back to it, not only '{t}' (the box). It is done by "
        f"changing its weights from hidden layer 1 (black arrows).",
        {layer: pic.Into(j2)}, rings={(s.last, t): PURPLE, (layer, j2): GREEN},
        overlay="\n".join([neuron_arrow(bp, layer, j2, c2, s.scales, GREEN, "a"),
                           weight_arrows(bp, layer, j2),
                           breakdown(bp, layer, j2, t, f"'{t}'", GREEN)]),
        legend=(WEIGHTS, change_item(bp, layer, j2), neuron_item(GREEN, "a", s.scales)))


def _step4(s: _Story) -> Stage:
    bp, layer, j1, j2 = s.bp, s.last - 2, s.j1, s.j2
    c1 = s.wants(layer, j1)
    blank_low = float(bp.x[bp.pixels == 0].min()) if (bp.pixels == 0).any() else 0.0
    return Stage(
        "step4", "Step 4: and for the first hidden layer",
        f"Neuron {j1} of hidden layer 1 should {_verb(c1)} (−∂loss/∂a = {number(c1)}, "
        f"orange arrow), through its weights from the 64 pixels. The network reads each pixel "
        f"standardised, (ink − mean) ÷ std over the training images, so a blank pixel of this "
        f"image reads as low as {number(blank_low, 2)}, not 0: its weight changes too "
        f"(Δw = −η·δ·x). The arrow in each pixel is the change of its weight; the lines of "
        f"the {STRONGEST} largest are drawn.",
        {layer: pic.Into(j1, strongest_changes(bp, 1, j1, STRONGEST))},
        rings={(layer + 1, j2): GREEN, (layer, j1): ORANGE},
        overlay="\n".join([neuron_arrow(bp, layer, j1, c1, s.scales, ORANGE, "a"),
                           pixel_arrows(bp, j1),
                           breakdown(bp, layer, j1, j2, f"neuron {j2}", ORANGE),
                           note(["Pixels show ink (white = blank), but the",
                                 "network reads them standardised: a blank",
                                 "pixel reads below 0, so its weight moves."],
                                ORANGE, top=532)]),
        legend=(WEIGHTS, pixel_item(bp, j1), neuron_item(ORANGE, "a", s.scales)))


def _apply(s: _Story) -> Stage:
    bp, t = s.bp, s.t
    after, predicted = bp.probabilities_after, bp.loss + bp.predicted_change
    return Stage(
        "apply", "Apply the update: every weight takes its step",
        f"One step of gradient descent (η = {bp.lr:g}) moves every weight and bias by its Δw. "
        f"Read again by the engine, the same image gives P('{t}') {bp.probabilities[t]:.3f} → "
        f"{after[t]:.3f} and a loss of {bp.loss:.3f} → {bp.loss_after:.3f}; the first-order "
        f"prediction Σ ∂loss/∂w·Δw said {bp.loss:.3f} {number(bp.predicted_change)} = "
        f"{predicted:.3f}.",
        {1: pic.Strongest(3), 2: "all", 3: "all"},
        overlay=note([f"after one step (η = {bp.lr:g}):",
                      f"P('{t}') {bp.probabilities[t]:.3f} → {after[t]:.3f}",
                      f"loss {bp.loss:.3f} → {bp.loss_after:.3f}",
                      f"predicted: {predicted:.3f}"], PURPLE),
        legend=(WEIGHTS_FORWARD, shading_item(bp)))


def stages(bp: Backprop, scales: Scales, trained: bool) -> list[Stage]:
    """The article's stages for this pass, in order."""
    story = _Story(bp, scales, "trained" if trained else "untrained")
    return [make(story) for make in (_forward, _step1, _step2, _step3, _step4, _apply)]


def figure(bp: Backprop, stage: Stage) -> str:
    """One stage as a standalone SVG figure."""
    layout = pic.Layout(tuple(bp.sizes))
    body = "\n".join([pic.connections(bp, layout, stage.visible),
                      pic.neurons(bp, layout, stage.rings), stage.overlay,
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
    inputs = [pic.NeuronInput(f"hidden 1, neuron {k}", float(before[k]), float(numbers.w[j, k]))
              for k in strongest]
    z, a = float(numbers.z[j]), float(numbers.a[j])
    act = bp.model.activation
    if z < 0 and a == 0:  # what relu does to a negative sum
        words = (f"Neuron {j} of hidden layer 2: the sum z = {number(z)} is negative, so relu "
                 f"passes 0 on: for this image the neuron is off.")
    else:
        words = f"Neuron {j} of hidden layer 2: z = {number(z)}, and {act}(z) = {a:.3f}."
    return pic.neuron_schematic(title, inputs, (len(rest), float(terms[rest].sum())),
                                float(numbers.b[j]), z, a, act, words)
