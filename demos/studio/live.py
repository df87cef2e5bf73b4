"""A session's live training in the studio: the session's own model trained by the digits
demo's recipe, one batch at a time, and each moment of it as a frame (``frames.frame``).

The recipe (``python -m demos.digits``'s): Adam (lr 0.02) on batches of 32 training images,
in the order ``rng([seed, epoch]).permutation(N)``, each image standardised by the model's
normalisation, x = (count/16 − mean) / std. One batch of B images is one step on the mean
loss, L = (1/B) Σ_i −log softmax(z(x_i))[y_i], through the compiled training step
(``nn.compiled``, exact: the very floats the eager engine computes).

While it plays, the parameters live in the training block's vector (``step.training``);
each frame writes them back into the model's Values (``sync``), so that the drawing's
activations and probabilities are the eager engine's own (a forward pass of Values, under
``no_grad``). Pausing ends the block: the Values then hold the exact state, and the four
steps, the panels and "teach" work on it; playing again opens a new block, and Adam's
moments and step count carry on.

No web library here: :mod:`demos.studio.app` streams the frames.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import engine
from demos.how_it_works import explorer, frames
from demos.studio import teaching
from engine import Value
from engine.viz.style import panel_number as show
from nn import MLP, Adam, cross_entropy, softmax
from nn.compiled import CompiledStep, TrainingBlock, compile_step

LR = 0.02  # the digits demo's Adam learning rate
BATCH = 32  # images a step
SPEEDS = (5, 30, 300)  # batches a second: slow, normal, fast
PERIOD = 1 / 30  # the shortest time between two frames of the stream, in seconds
ACCURACY_EVERY = 10  # batches between two readings of the held-out digits
# Recorded moments kept for a story (evenly spread over the run, by a stride that doubles):
# a story's first telling runs the eager engine once per kept moment, ~8 ms each (240 of them
# took 1.9 s).
HISTORY = 60


def pace(speed: int) -> tuple[int, float]:
    """A speed's (batches a frame, seconds between two frames): one batch a frame up to 1/PERIOD
    batches a second, beyond that a frame every PERIOD of ``speed · PERIOD`` batches.

    Why: an untrained network changes most in its first few dozen batches (from 10% to about
    90% of the test digits right in 60 of them, 2 s at 30 a second); at 5 a second (slow) a
    learner follows each of them, every frame a new batch. Normal, 30 a second, is the moving
    picture (at least 20 frames a second, issue 23); fast, 300 a second, keeps that picture
    and trains 10 batches a frame."""
    batches = max(1, round(speed * PERIOD))
    return batches, batches / speed


@dataclass(frozen=True)
class TrainingSet:
    """The run's training images as the network reads them (prepared once per studio):
    ``x`` (N, 64) standardised, ``labels`` (N,), and the run's ``seed`` for its shuffles."""

    x: np.ndarray
    labels: np.ndarray
    seed: int

    @property
    def per_epoch(self) -> int:
        """Batches in one pass: ⌈N / BATCH⌉ (the last one may be smaller)."""
        return -(-len(self.x) // BATCH)

    def rows(self, step: int) -> np.ndarray:
        """The rows of batch ``step`` (counted from the start): batch ``step mod per_epoch``
        of epoch ``step div per_epoch``'s permutation, as the digits demo takes them."""
        epoch, batch = divmod(step, self.per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.x))
        return order[batch * BATCH:(batch + 1) * BATCH]


def training_set(model: MLP, norm: teaching.Normalisation) -> TrainingSet:
    """The training split of the model's run (the seed in its metadata, 0 if none),
    standardised by ``norm``."""
    from demos.digits.train import TrainConfig, prepare

    seed = (getattr(model, "metadata", None) or {}).get("seed", 0)
    data = prepare(TrainConfig(seed=seed))
    return TrainingSet((data.train.inputs - norm.mean) / norm.std,
                       data.train.labels.astype(np.int64), seed)


@dataclass(frozen=True, eq=False)
class Recorded:
    """One recorded frame of the history: after ``step`` batches, the parameters ``theta``
    (a copy, in ``model.parameters()`` order) and the last batch's ``loss``."""

    step: int
    epoch: int
    loss: float | None
    theta: np.ndarray


class Passes:
    """The eager passes stories read, by recorded moment, for one drawing and label (a new
    one empties it); ``lock``: one story of a Live is told at a time, so that stories asked
    at once compute each pass once, the first filling it for the others."""

    def __init__(self):
        self.lock = threading.Lock()
        self.on: tuple[bytes, int] | None = None  # the drawing and label the passes are on
        self.by: dict[Recorded, Pass] = {}


@dataclass
class Live:
    """One session's training: its model (the session's own, ``studio.taught``), Adam's
    state, the counters, the digit whose activations each frame shows, and the history."""

    model: MLP
    data: TrainingSet
    test: tuple[np.ndarray, np.ndarray]  # held-out (x standardised, labels)
    digit: teaching.Digit
    label: int | None = None
    playing: bool = False
    speed: int = 30  # batches a second (SPEEDS)
    steps: int = 0
    loss: float | None = None

    def __post_init__(self):
        self.optimizer = Adam(self.model.parameters(), lr=LR)
        self.step: CompiledStep = compile_step(self.model, exact=True)
        self.block: TrainingBlock | None = None
        self.passes = Passes()
        self.history = History([self._moment()])

    @property
    def epoch(self) -> int:
        """Whole passes over the training images done."""
        return self.steps // self.data.per_epoch

    def theta(self) -> np.ndarray:
        """The parameters now, in ``model.parameters()`` order."""
        return (self.block.theta if self.block is not None
                else np.array([p.data for p in self.model.parameters()]))

    def advance(self, batches: int) -> dict:
        """Train ``batches`` batches (opening a training block if none is open) and return
        the frame after them; the held-out accuracy is read when a multiple of
        ACCURACY_EVERY batches was reached in them."""
        if self.block is None:
            self.block = self.step.training(self.optimizer).__enter__()
        before = self.steps
        for _ in range(batches):
            rows = self.data.rows(self.steps)
            self.loss = self.block(self.data.x[rows], self.data.labels[rows])
            self.steps += 1
        accuracy = None
        if self.steps // ACCURACY_EVERY > before // ACCURACY_EVERY:
            x, labels = self.test
            accuracy = float((self.block.logits(x).argmax(axis=1) == labels).mean())
        self.block.sync()  # the Values hold the state the frame shows
        self._record()
        return self.frame(accuracy)

    def pause(self) -> None:
        """End the training block: the model's Values hold the exact state (and ``.grad``
        the last batch's gradient); Adam keeps its moments for the next block."""
        if self.block is not None:
            block, self.block = self.block, None
            block.__exit__(None, None, None)

    def frame(self, accuracy: float | None = None) -> dict:
        """The frame of the model's Values now (``frames.frame``), the drawing's
        ``digits["drawing"]``; it adds the drawing's exact ``probabilities``."""
        weights = [layer.arrays()[0] for layer in self.model.layers]
        activations, p = self.activations()
        shown = frames.shading(activations, p)
        return {**frames.frame(self.steps, self.epoch, self.loss, accuracy, weights,
                               {"drawing": shown}),
                "probabilities": [float(v) for v in p]}

    def activations(self, x: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        """The drawing (``x``, standardised; default: the one followed) read by the eager
        engine (no graph kept): each hidden layer's a, and the probabilities softmax(z) of
        the outputs."""
        x = list(self.digit.x if x is None else x)
        hidden = []
        with engine.no_grad():
            for layer in self.model.layers:
                x = layer(x)
                hidden.append(np.array([v.data for v in x]))
            p = np.array(softmax(x))
        return hidden[:-1], p

    def _moment(self) -> Recorded:
        return Recorded(self.steps, self.epoch, self.loss, self.theta().copy())

    def _record(self) -> None:
        self.history.keep(self.steps, self._moment)

    def moments(self) -> list[Recorded]:
        """The kept moments and the state now, which a story ends on (:meth:`History.told`)."""
        return self.history.told(self.steps, self.theta(), self._moment)


@dataclass
class History:
    """The moments of one training kept for stories: ``kept``, the first moment of each
    stride of ``stride`` batches (doubled when HISTORY are kept), and ``now``, the state now
    if a story asked it between strides."""

    kept: list[Recorded]
    stride: int = 1
    now: Recorded | None = None

    def keep(self, steps: int, moment: Callable[[], Recorded]) -> None:
        """Keep this moment (``moment()``, after ``steps`` batches) for stories if it is the
        first in a new stride of batches (a frame may train 10); beyond HISTORY kept, the
        stride doubles and only the first moment of each doubled stride stays. So the kept
        moments stay evenly spread over the whole run (at most about 2 · steps / HISTORY
        apart), the first one always kept; the state now is added when a story is asked
        (:meth:`told`)."""
        if steps // self.stride <= self.kept[-1].step // self.stride:
            return
        self.kept.append(moment())
        if len(self.kept) > HISTORY:
            self.stride *= 2
            kept = self.kept
            self.kept = [r for i, r in enumerate(kept)  # the first of each stride
                         if i == 0 or r.step // self.stride > kept[i - 1].step // self.stride]

    def told(self, steps: int, theta: np.ndarray,
             moment: Callable[[], Recorded]) -> list[Recorded]:
        """The kept moments and the state now (``theta`` after ``steps`` batches, recorded
        by ``moment()``), which a story ends on: a moment of its own between two strides, or
        the last kept one replaced when its step has not changed (a teach while paused: the
        taught state is the state at that step now)."""
        last = self.kept[-1]
        if np.array_equal(theta, last.theta):
            return list(self.kept)
        if steps == last.step:
            self.kept[-1] = moment()
            return list(self.kept)
        if self.now is None or self.now.step != steps or not np.array_equal(theta,
                                                                           self.now.theta):
            self.now = moment()
        return [*self.kept, self.now]


@dataclass(frozen=True)
class Pass:
    """The eager engine's pass on the drawing toward ``label`` at one recorded moment: each
    parameter's grad (``model.parameters()`` order) and each layer's activations."""

    grads: np.ndarray
    a: list[np.ndarray]  # per layer 1..L (the last: the logits)


@dataclass(frozen=True)
class Story:
    """What a story reads, taken under the studio's lock (the history's moments, the model's
    shape, the digit and label) so that the engine's passes run without it."""

    model: MLP
    history: list[Recorded]
    x: np.ndarray
    label: int
    layer: int
    j: int
    k: int | None
    passes: Passes  # the live training's


def plan(live: Live, layer: int, j: int, k: int | None, digit: teaching.Digit | None = None,
         label: int | None = None) -> Story:
    """A weight's (``k`` given) or a neuron's story to tell over the recorded moments and
    the state now, on ``digit`` toward ``label`` (a page's drawing and label; default: the
    ones the training follows), toward the network's answer now if no label."""
    if digit is None:
        digit, label = live.digit, live.label if label is None else label
    if label is None:
        label = int(np.argmax(live.activations(digit.x)[1]))
    return Story(teaching.copy_model(live.model), live.moments(), digit.x.copy(), label,
                 layer, j, k, live.passes)


def tell(story: Story) -> dict:
    """The story's numbers. For a weight w_jk of ``layer``: its value and ∂loss/∂w_jk at each
    recorded step, with ∂loss/∂w_jk = δ_j · a_k now; for a neuron: its a_j and
    δ_j = ∂loss/∂z_j (which is ∂loss/∂b_j: z_j = Σ_k w_jk a_k + b_j). Every grad is the eager
    engine's backward() on this one digit, loss = −log softmax(z)_label."""
    model, layer, j, k = story.model, story.layer, story.j, story.k
    sizes = [model.nin, *model.nouts]
    # Where the neuron's bias and the weight are in model.parameters(): its grads' and the
    # recorded theta's order.
    at = {id(p): i for i, p in enumerate(model.parameters())}
    neuron = model.layers[layer - 1].neurons[j]
    b_at = at[id(neuron.b)]
    w_at = b_at if k is None else at[id(neuron.w[k])]
    passes = _passes(story)
    steps = [kept.step for kept in story.history]
    delta = [float(p.grads[b_at]) for p in passes]
    names = explorer.neuron_names(sizes)  # the panel's names, one per neuron
    into = names[layer][j]
    where = {"deltaFrom": f"δ = ∂loss/∂z of {into}, sent back from "
                          + ("the loss: its probability minus 1 for the right answer, minus 0 "
                             "for the others" if layer == len(sizes) - 1
                             else "the neurons it feeds, through their weights (and relu)")}
    if k is None:
        a = [float(p.a[layer - 1][j]) for p in passes]
        return {"steps": steps, "a": a, "delta": delta, "label": story.label,
                "now": {"delta": show(delta[-1]), "a": show(a[-1]), **where,
                        "aFrom": f"{into}, reading the drawing"},
                "words": f"{_capital(into)} over {steps[-1]} batches of training: what it "
                         f"sends on the drawing (a), and how much the loss toward "
                         f"'{story.label}' wants its sum to change (δ)."}
    a_k = story.x[k] if layer == 1 else passes[-1].a[layer - 2][k]
    grad = [float(p.grads[w_at]) for p in passes]
    source = names[layer - 1][k]
    return {"steps": steps, "value": [float(kept.theta[w_at]) for kept in story.history],
            "grad": grad, "label": story.label,
            "now": {"delta": show(delta[-1]), "a": show(a_k), "grad": show(grad[-1]), **where,
                    "aFrom": (f"{source} of the drawing, as the network reads it (standardised)"
                              if layer == 1 else f"{source}, reading the drawing")},
            "words": f"The weight from {source} into {into} over {steps[-1]} batches of "
                     f"training: its value, and its gradient on the drawing toward "
                     f"'{story.label}', ∂loss/∂w = δ·a ({show(delta[-1])} × {show(a_k)} = "
                     f"{show(grad[-1])} now)."}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _passes(story: Story) -> list[Pass]:
    """The eager pass at each of the story's moments, kept for the next story on the same
    drawing and label (asked again, or at once: one computes, the others wait and read);
    only the story's moments are kept, so at most HISTORY + 1 passes."""
    cache = story.passes
    with cache.lock:
        if cache.on != (story.x.tobytes(), story.label):
            cache.on, cache.by = (story.x.tobytes(), story.label), {}
        cache.by = {kept: cache.by.get(kept) or _pass(story, kept) for kept in story.history}
        return list(cache.by.values())


def _pass(story: Story, kept: Recorded) -> Pass:
    """The eager engine's pass on the story's drawing toward its label at one moment."""
    for p, v in zip(story.model.parameters(), kept.theta.tolist(), strict=True):
        p.data, p.grad = v, 0.0
    x: list = [Value(float(v)) for v in story.x]
    a = []
    for layer in story.model.layers:
        x = layer(x)
        a.append(np.array([v.data for v in x]))
    cross_entropy(x, story.label).backward()
    return Pass(np.array([p.grad for p in story.model.parameters()]), a)
