"""What the studio computes, with the engine only: a learner's drawing read by the network,
the four steps of backprop for the label they pick, and teaching (SGD steps on their digit).

No web library here: :mod:`demos.studio.app` turns requests into these calls. Every number a
page shows comes from :func:`read` or :func:`teach`; the page draws.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import engine
from demos.digits.data import BITMAP_SIDE, counts
from demos.how_it_works import explorer
from demos.how_it_works.readings import Backprop, backprop
from demos.how_it_works.words import estimate, joint_decimals, moved, percents
from engine import Value
from engine.viz import style
from nn import MLP, SGD, cross_entropy, softmax

# η of a teaching step. Smaller than the explorer's 0.1: a learner's ink often falls on pixels
# that are blank in nearly every training image, whose standardised inputs are large (up to
# 1/STD_FLOOR), and one step of 0.1 there flips the network's answer for other digits too.
LR = 0.02
TEACH_STEPS = (1, 10)  # "teach" and "teach ×10"
SIZES = (64, 16, 16, 10)  # the network the explorer draws
NETWORK = "trained"  # the loaded model (the explorer tells its stages for a trained network so)
HALF_TRAINED = 12  # batches: the run's first 12 steps read about half the test digits right


class RequestError(ValueError):
    """A request the studio cannot take: ``status`` is the HTTP status, the text says why."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Digit:
    """What the network reads: the 8×8 counts (0..16) and, standardised, its 64 inputs."""

    counts: np.ndarray  # (8, 8) int64
    x: np.ndarray  # (64,) float: (count/16 − mean) / std

    @property
    def ink(self) -> np.ndarray:
        return self.counts.ravel() / 16.0


@dataclass(frozen=True)
class Normalisation:
    """How the model's inputs were standardised when it was trained."""

    mean: np.ndarray
    std: np.ndarray

    def digit(self, image: np.ndarray) -> Digit:
        return Digit(image, (image.ravel() / 16.0 - self.mean) / self.std)


def check_model(model, digits: str = "python -m demos.digits") -> None:
    """The studio draws the explorer's network: 64 inputs, two hidden layers of 16, 10
    outputs (a model of another shape is refused with what it is, and how to train one with
    the ``digits`` command)."""
    sizes = (getattr(model, "nin", None), *getattr(model, "nouts", ()))
    if not isinstance(model, MLP) or sizes != SIZES:
        shape = (f"MLP({sizes[0]}, {list(sizes[1:])})" if isinstance(model, MLP)
                 else type(model).__name__)
        raise ValueError(f"the studio draws MLP(64, [16, 16, 10]), the explorer's network; "
                         f"this model is {shape} (train one it can use with {digits} --hidden "
                         "16,16 --out DIR, then give --model DIR/model.json)")


def parse_digit(body: dict, norm: Normalisation) -> Digit:
    """The drawing in a request: ``pixels`` (64 counts 0..16) or ``bitmap`` (32×32 of 0/1,
    counted in 4×4 blocks as the UCI digits were made), exactly one of them."""
    has_pixels, has_bitmap = "pixels" in body, "bitmap" in body
    if has_pixels == has_bitmap:
        raise RequestError("send exactly one of 'pixels' (64 counts 0..16) and 'bitmap' "
                           "(32 rows of 32 zeros and ones)")
    if has_bitmap:
        bitmap = body["bitmap"]
        if not (isinstance(bitmap, list) and len(bitmap) == BITMAP_SIDE and all(
                isinstance(row, list) and len(row) == BITMAP_SIDE
                and all(type(v) is int and v in (0, 1) for v in row)
                for row in bitmap)):
            raise RequestError("'bitmap' must be 32 rows of 32 numbers, each 0 or 1")
        return norm.digit(counts(np.array(bitmap, dtype=np.int64)))
    pixels = body["pixels"]
    if not (isinstance(pixels, list) and len(pixels) == 64 and all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 16 for v in pixels)):
        raise RequestError("'pixels' must be 64 whole numbers from 0 to 16")
    return norm.digit(np.array(pixels, dtype=np.int64).reshape(8, 8))


def parse_label(body: dict, required: bool) -> int | None:
    label = body.get("label")
    if label is None and not required:
        return None
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise RequestError("'label' must be a digit from 0 to 9")
    return label


def parse_steps(body: dict) -> int:
    steps = body.get("steps", 1)
    if type(steps) is not int or steps not in TEACH_STEPS:
        raise RequestError(f"'steps' must be one of {', '.join(map(str, TEACH_STEPS))}")
    return steps


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


RESERVED = ("model", "checkpoint", "metrics")  # the run's own files (the loaded model's too)


def save_path(run_dir: Path, name) -> Path:
    """Where ``name`` is saved: ``run_dir/name.json``, a plain name only (no folders), never
    one of the files the digits demo writes there."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise RequestError("'name' must be 1 to 64 letters, digits, '-' or '_', starting with a "
                           "letter or digit (it is saved as NAME.json in the run directory)")
    if name.lower() in RESERVED:
        raise RequestError(f"the 'name' {name}.json is the run's own file: choose another name")
    return run_dir / f"{name}.json"


# How engine.system.files.atomic_write names its temporary file for NAME.json: "." + the first 32
# characters of the file's name, "." + 8 random characters (tempfile's) + ".tmp".
UNFINISHED = re.compile(r"\.(?P<start>[^/]{1,32})\.[a-z0-9_]{8}\.tmp")


UNFINISHED_AFTER = 60.0  # seconds: a save takes milliseconds, so an older temporary file is dead


def remove_unfinished_saves(run_dir: Path) -> list[Path]:
    """Remove the temporary files of saves that were killed half-way in ``run_dir`` (only
    those of names a save can have: never another program's, nor the run's own files, which
    a training run may be writing now; and only those older than UNFINISHED_AFTER, since
    another studio on the same run directory may be saving now); returns them."""
    removed = []
    old = time.time() - UNFINISHED_AFTER
    for path in sorted(run_dir.glob(".*.tmp")) if run_dir.is_dir() else []:
        match = UNFINISHED.fullmatch(path.name)
        start = match["start"] if match else ""
        stem = start.partition(".")[0]
        could_be_a_save = (bool(NAME.fullmatch(stem)) and stem.lower() not in RESERVED
                           and f"{stem}.json"[:32] == start)
        if (could_be_a_save and path.is_file() and not path.is_symlink()
                and path.stat().st_mtime < old):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def probabilities(model: MLP, digit: Digit) -> np.ndarray:
    with engine.no_grad():
        return np.array(softmax(model(list(digit.x))))


def starting_points(model: MLP, norm: Normalisation) -> dict[str, MLP]:
    """The networks a learner may start from, all of the loaded model's run: "untrained",
    the run's first weights (made from the seed in its metadata, 0 if none, as the digits
    demo makes them); "half-trained", those after the run's first HALF_TRAINED batches (the
    demo's recipe: Adam at lr 0.02 on batches of 32 of the digits, in the run's shuffle,
    standardised as the model's inputs are); and "trained", ``model`` itself."""
    from demos.digits.train import TrainConfig, build, prepare
    from nn.compiled import compile_step

    seed = (getattr(model, "metadata", None) or {}).get("seed", 0)
    config = TrainConfig(hidden=list(model.nouts[:-1]), seed=seed, activation=model.activation)
    start, optimizer, _ = build(config, model.nin)
    untrained = copy_model(start)
    data = prepare(config)
    x = (data.train.inputs - norm.mean) / norm.std
    order = np.random.default_rng([seed, 0]).permutation(len(x))  # the run's first epoch
    step = compile_step(start)
    with step.training(optimizer) as train_step:
        for batch in range(HALF_TRAINED):
            rows = order[batch * config.batch_size:(batch + 1) * config.batch_size]
            train_step(x[rows], data.train.labels[rows])
    return {"untrained": untrained, "half-trained": start, NETWORK: model}


def read(model: MLP, digit: Digit, label: int | None, network: str = NETWORK) -> dict:
    """The network's answer for the digit and the engine's numbers of one pass toward
    ``label`` (default: the network's own guess), in the explorer's form; ``network`` names
    it there ("untrained", "half-trained" or "trained": what the learner started from)."""
    return reading(model, digit, label, network)[0]


def reading(model: MLP, digit: Digit, label: int | None, network: str = NETWORK,
            tables: bool = True) -> tuple[dict, Backprop]:
    """:func:`read`'s answer, and the pass it drew (its step is the next one teaching takes);
    ``tables=False``: without each weight's printed numbers (``explorer.data``'s). The
    answer's probabilities are the pass's own: the digit is read once, not again for them, at
    every stroke."""
    run = explorer_run(model, digit, label, network)
    p = run.bp.probabilities
    return {"counts": digit.counts.tolist(), "probabilities": [float(v) for v in p],
            "guess": int(np.argmax(p)), "label": run.bp.target,
            "data": explorer.data([run], tables)}, run.bp


def explorer_run(model: MLP, digit: Digit, target: int | None,
                 network: str = NETWORK) -> explorer.Run:
    """The engine's numbers of one pass on the digit toward ``target`` (None: the network's
    guess), for the explorer."""
    bp = backprop(model, digit.x, digit.ink, target, lr=LR)
    return explorer.Run(network, bp.target, bp, "Teach it your handwriting: each press of "
                        "'teach' is one such step on your digit.",
                        ("Each 'teach' is one step on your digit;",
                         "training repeats it over thousands of images."))


def samples_right(digits: Watched, p: np.ndarray) -> int:
    """How many of the sample digits (one of each, the first of ``digits``) the
    probabilities ``p`` (:func:`answers`) read right."""
    n = digits.samples
    return int((p[:n].argmax(axis=1) == digits.labels[:n]).sum())


def teach(model: MLP, digit: Digit, label: int, steps: int, network: str = NETWORK) -> dict:
    """``steps`` SGD steps (η = LR) on this one digit and label, changing ``model``: P(label)
    before and after, the loss before and after, and for the first step the first-order
    prediction of the loss's change, Σ ∂loss/∂w·Δw, beside the change itself, with the
    reading after it (``network`` names the model, as in :func:`read`). A RequestError if a
    number came out not finite (``model`` is then changed: the caller undoes it)."""
    before = probabilities(model, digit)
    optimizer = SGD(model.parameters(), lr=LR)
    losses, predicted = [], None
    for _ in range(steps):
        loss = cross_entropy(model([Value(float(v)) for v in digit.x]), label)
        optimizer.zero_grad()
        loss.backward()
        if predicted is None:  # Δw = −η·∂loss/∂w, so Σ ∂loss/∂w·Δw = −η·Σ (∂loss/∂w)²
            predicted = -LR * sum(p.grad * p.grad for p in model.parameters())
        losses.append(loss.data)
        optimizer.step()
    after = probabilities(model, digit)
    with engine.no_grad():
        losses.append(cross_entropy(model(list(digit.x)), label).data)
    numbers = [*after, *losses, predicted, *(p.data for p in model.parameters())]
    if not all(math.isfinite(v) for v in numbers):  # nothing to draw, nothing to save
        raise RequestError("teaching made the network's numbers too large to be numbers (not "
                           "finite)")
    answer, bp = reading(model, digit, label, network)
    # The two boxes stand side by side: their percents are written with the same decimals.
    t = bp.target
    least = joint_decimals((before[label], after[label]),
                           (bp.probabilities[t], bp.probabilities_after[t]))
    return {"label": label, "steps": steps, "before": float(before[label]),
            "after": float(after[label]), "loss": losses[0], "lossAfter": losses[-1],
            "predictedChange": float(predicted), "firstChange": losses[1] - losses[0],
            **taught_words(label, steps, before[label], after[label], losses, predicted,
                           least),
            "preview": preview_words(bp, least), **answer}


def preview_words(bp: Backprop, least: int = 0) -> str:
    """What the next step on this digit would do (the pass ``bp``'s own step, read again by
    the engine but not taken), in plain words for the page's preview; its percents with at
    least ``least`` decimals (as the box beside it)."""
    t = bp.target
    went = moved(bp.probabilities[t], bp.probabilities_after[t], "would go", "would stay",
                 least)
    return (f"Press 'teach' again and the probability of '{t}' {went},"
            f" and the loss from {style.amount(bp.loss)} to {style.amount(bp.loss_after)}. "
            "The figure's stages show this step.")


def taught_words(label: int, steps: int, before: float, after: float, losses: list[float],
                 predicted: float, least: int = 0) -> dict[str, str]:
    """What a teach did, for the page to show as text: a title, plain words with the
    engine's numbers (P as percentages with at least ``least`` decimals, the estimate as a
    fall or a rise) and the maths."""
    first = losses[1] - losses[0]
    when = "" if steps == 1 else " on the first step"
    return {
        "title": f"{'One step' if steps == 1 else f'{steps} steps'} (learning rate {LR:g}) "
                 f"on your '{label}'",
        "words": f"The probability the network gives '{label}' "
                 f"{moved(before, after, least=least)}, and the loss from "
                 f"{style.amount(losses[0])} to {style.amount(losses[-1])}. "
                 f"{estimate(predicted, first, when)}",
        "maths": f"Each step moves every weight by Δw = −η·∂loss/∂w, η = {LR:g}, for this "
                 f"one image. The first step's first-order estimate of the loss's change, "
                 f"Σ ∂loss/∂w·Δw = −η·Σ (∂loss/∂w)², was {style.signed_number(predicted)}; "
                 f"read again, the change was {style.signed_number(first)}."}


def copy_model(model: MLP) -> MLP:
    """A model of the same shape with the same numbers (each learner teaches their own)."""
    twin = MLP(model.nin, list(model.nouts), activation=model.activation)
    twin.load_state_dict(model.state_dict())
    twin.metadata = dict(getattr(model, "metadata", {}) or {})
    return twin


SHOWN = 12  # digits the ripple shows as images: those whose answer flipped first


@dataclass(frozen=True)
class Watched:
    """The digits whose answers a teach is checked against: the ten sample digits, then the
    held-out test digits of the model's run (never trained on). ``names`` say which is which
    ("sample 3", "test digit 17": its place in the UCI digits file)."""

    names: list[str]
    counts: np.ndarray  # (N, 64) int: the ink as the page draws it
    labels: np.ndarray  # (N,) int: the right answers
    x: np.ndarray  # (N, 64) float: standardised, as the network reads them

    @property
    def samples(self) -> int:
        """How many of them are sample digits (they come first)."""
        return sum(name.startswith("sample") for name in self.names)


def held_out(model: MLP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The test split of the model's run (made from the seed in its metadata, 0 if none, as
    the digits demo splits the digits): ``(counts (N, 64), labels, indices in the file)``."""
    from demos.digits.train import TrainConfig, prepare

    seed = (getattr(model, "metadata", None) or {}).get("seed", 0)
    data = prepare(TrainConfig(seed=seed))
    ink = (data.test.images.reshape(len(data.test.labels), -1) * 16).round().astype(np.int64)
    return ink, data.test.labels.astype(np.int64), data.test_index


def watched(norm: Normalisation, samples: dict[int, list[int]],
            test: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Watched:
    """The samples and the held-out digits ``test`` (:func:`held_out`'s; those that are
    samples left out), standardised by ``norm``."""
    ink, labels, index = test
    # A sample (the first of its kind in the file) may be in the test split too: once only.
    seen = {(d, tuple(image)) for d, image in samples.items()}
    new = [(int(d), tuple(row)) not in seen for d, row in zip(labels, ink, strict=True)]
    ink, labels, index = ink[new], labels[new], index[new]
    names = [f"sample {d}" for d in samples] + [f"test digit {i}" for i in index]
    counts_ = np.array([*samples.values(), *ink], dtype=np.int64).reshape(-1, 64)
    every = np.array([*samples, *labels], dtype=np.int64)
    return Watched(names, counts_, every, (counts_ / 16.0 - norm.mean) / norm.std)


def answers(step, digits: Watched) -> np.ndarray:
    """Each digit's probabilities (N, 10) from the engine's compiled forward pass of the
    model (``step``: ``compile_step(model, exact=True)``, whose every number is the very float
    the model's own forward pass computes, at a fraction of the eager passes' time), as
    nn.softmax."""
    return np.array([softmax(row) for row in step.logits(digits.x)])


def ripple(digits: Watched, before: np.ndarray, after: np.ndarray) -> dict:
    """Which digits a teach changed, from their probabilities before and after it: every
    digit whose answer flipped ("flipped", by name), and the first SHOWN of them all in order
    ("shown"): those that flipped first, then those whose probability of their right answer
    fell most, each with its ink and "before → after" in words."""
    rows = np.arange(len(digits.labels))
    right = digits.labels
    was, now = before.argmax(axis=1), after.argmax(axis=1)
    fall = before[rows, right] - after[rows, right]
    flipped = was != now
    order = sorted(rows, key=lambda i: (not flipped[i], -fall[i], i))
    shown = [{"name": digits.names[i], "label": int(right[i]),
              "counts": digits.counts[i].tolist(), "before": int(was[i]), "after": int(now[i]),
              "pBefore": float(before[i, right[i]]), "pAfter": float(after[i, right[i]]),
              "words": f"a '{right[i]}', read '{was[i]}' → '{now[i]}', P('{right[i]}') "
                       + " → ".join(percents(before[i, right[i]], after[i, right[i]]))}
             for i in order[:SHOWN]]
    samples = digits.samples
    changed = int(flipped.sum())
    fell = int((fall > 0).sum())
    return {"flipped": [digits.names[i] for i in order[:changed]], "shown": shown,
            "samples": samples, "heldOut": len(rows) - samples,
            "words": f"Of the {samples} sample digits and {len(rows) - samples} test digits "
                     f"it never trained on, {changed} changed their answer and the "
                     f"probability of the right answer fell for {fell}. First those that "
                     "changed, then those that fell most:"}
