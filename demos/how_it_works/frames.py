"""One moment of a training run as the network figure draws it: a *frame*. The studio streams
frames while it trains (live training) and the explorer's film holds a few dozen of its
training run; both have this one shape, which one script (figure.js) draws.

A frame names each line's look by a code (:func:`line_codes`), not by its style, so that a
frame of 1,440 lines is a few KB: code ``c ≥ 0`` is a positive weight of strength ``c``
hundredths of its layer's largest |w|, and ``c < 0`` a weight ≤ 0 of strength ``−1 − c``
(:func:`line_looks` gives each code's style, the one rule of ``picture.line_style``).
"""

from __future__ import annotations

import itertools

import numpy as np

from demos.how_it_works import picture as pic
from demos.how_it_works.readings import forward_backward
from engine.viz import style
from engine.viz.style import probability
from nn import compile_step


def line_codes(weights: list[np.ndarray]) -> list[int]:
    """Each line's code, in the drawing's id order (layer by layer, then j, then k), for the
    weight matrices ``weights`` ((J, K) per layer): as ``picture.line_style`` draws them."""
    codes = []
    for w in weights:
        w = np.asarray(w, dtype=float)
        scale = float(np.abs(w).max())
        # The very expression of picture.line_style, elementwise (np.rint rounds half to
        # even, as round does).
        level = np.rint(np.abs(w) / scale * pic.LEVELS) if scale else np.zeros_like(w)
        codes.append(np.where(w > 0, level, -1 - level).astype(int).ravel())
    return np.concatenate(codes).tolist()


def line_looks() -> dict[str, list[str]]:
    """Each code's look as the explorer's lines are written (``"<colour> <width> <opacity>
    <dash>"``): ``positive[c]`` for code c ≥ 0, ``negative[−1 − c]`` for c < 0."""
    def look(w: float) -> str:
        s = pic.line_style(w, 1.0)
        return f"{s.colour} {s.width} {s.opacity} {s.dash}".rstrip()

    levels = [level / pic.LEVELS for level in range(pic.LEVELS + 1)]
    return {"positive": [look(v) if v > 0 else look(1e-300) for v in levels],
            "negative": [look(-v) for v in levels]}


def shading(activations: list[np.ndarray], probabilities: np.ndarray) -> dict:
    """How the figure shades the neurons for one digit (``picture.shades``' rule): each hidden
    layer's a ÷ its largest, the outputs by probability; per layer from the first hidden one
    (the pixels never change while the network trains): fills, whether a label is written in
    white on them, the outputs' texts, and which output is largest (the answer)."""
    levels = []
    for a in activations:
        top = float(np.max(a))
        levels.append(np.asarray(a) / top if top > 0 else np.zeros(len(a)))
    levels.append(np.asarray(probabilities))
    return {"fills": [[style.grey(v) for v in layer] for layer in levels],
            "dark": [[style.dark(v) for v in layer] for layer in levels],
            "p": [f"P {probability(v)}" for v in probabilities],
            # The network's answer, from the exact probabilities: two printed alike ("P 0.111"
            # for '5' and '8') would leave a page to guess.
            "read": int(np.argmax(probabilities))}


def frame(step: int, epoch: int, loss: float | None, accuracy: float | None,
          weights: list[np.ndarray], digits: dict[str, dict]) -> dict:
    """One frame: after ``step`` batches (``epoch`` whole passes over the training images
    done), the last batch's ``loss`` and, when it was measured at this step, the held-out
    ``accuracy`` (a fraction), each line's code, and each digit's :func:`shading`."""
    return {"step": step, "epoch": epoch,
            "loss": None if loss is None else float(f"{loss:.7g}"),
            "accuracy": None if accuracy is None else float(f"{accuracy:.7g}"),
            "lines": line_codes(weights), "digits": digits}


FILM_FRAMES = 30  # at least this many frames in a film (fewer only if it has fewer steps)


def film_steps(last: int, count: int = FILM_FRAMES) -> list[int]:
    """The steps a film records, from 0 (untrained) to ``last``: 0, ``last`` and the rounded
    points of a geometric spacing from 1 to ``last`` (``np.geomspace``), as few points as give
    ``count`` different steps (every step when there are no more than ``count``). Geometric,
    because the network changes fastest in its first batches: of 90 steps, the film holds
    every one of the first 10 and about one in six of the last 30."""
    if last + 1 <= count:
        return list(range(last + 1))
    for n in itertools.count(count - 1):
        steps = {0, last, *np.rint(np.geomspace(1, last, n)).astype(int).tolist()}
        if len(steps) >= count:
            return sorted(steps)
    raise AssertionError("unreachable")  # (geomspace hits every step as n grows)


def _printed(values: np.ndarray, digits: int) -> list:
    """``values`` (nested) as floats printed to ``digits`` significant digits."""
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"), otypes=[object])(values).tolist()


class Film:
    """A training run recorded while it trains, for the explorer's film (``DATA.film``): at
    each of :func:`film_steps` the network's weights and biases, its held-out accuracy (the
    engine's compiled exact logits over the test split: the eager floats) and, for each
    watched digit, its activations, δ = ∂loss/∂z toward its label and probabilities
    (:func:`numbers.forward_backward`); and every batch's loss."""

    # Significant digits of the weights and biases the page is given: 3, not the contract's 4,
    # which made the film of the command's page 327 KB (the budget is 300; 3 digits: 296).
    W_DIGITS = 3

    def __init__(self, model, x_test: np.ndarray, y_test: np.ndarray,
                 watched: dict[int, tuple[np.ndarray, int]], epoch_steps: int, epochs: int,
                 lr: float, batch: int, optimizer: str = "Adam"):
        self.model, self.x_test, self.y_test = model, np.asarray(x_test), np.asarray(y_test)
        self.watched, self.epoch_steps = watched, epoch_steps
        self.steps = film_steps(epoch_steps * epochs)
        self.about = {"lr": f"{lr:g}", "optimizer": optimizer, "batch": batch}
        self.compiled = compile_step(model, exact=True)
        self.frames: list[dict] = []
        self.losses: list[float] = []
        self.accuracy: list[float] = []
        self.w: list[list[np.ndarray]] = []
        self.b: list[list[np.ndarray]] = []
        self.a: dict[int, list] = {d: [] for d in watched}
        self.delta: dict[int, list] = {d: [] for d in watched}

    def after(self, step: int, loss: float | None) -> None:
        """Called at step 0 and after every step (``loss``: that batch's): records the
        batch's loss and, at a film step, a frame."""
        if loss is not None:
            self.losses.append(loss)
        if step not in self.steps[len(self.frames):len(self.frames) + 1]:
            return
        arrays = [layer.arrays() for layer in self.model.layers]
        weights = [w for w, _ in arrays]
        logits = self.compiled.logits(self.x_test)
        # (printed to 7 digits, as frame() prints it: one number in the frame and the curve)
        accuracy = float(f"{np.mean(np.argmax(logits, axis=1) == self.y_test):.7g}")
        digits = {}
        for d, (x, target) in self.watched.items():
            seen = forward_backward(self.model, x, target)
            self.a[d].append(seen.a)
            self.delta[d].append(seen.delta)
            digits[str(d)] = shading(seen.a[:-1], seen.probabilities)
        self.w.append(weights)
        self.b.append([b for _, b in arrays])
        self.accuracy.append(accuracy)
        self.frames.append(frame(step, step // self.epoch_steps, loss, accuracy, weights,
                                 digits))

    def data(self) -> dict:
        """``DATA.film`` (issue 23's contract): the frames, the curves, the printed weights
        and biases, each watched digit's inputs and exact a and δ per frame."""
        def per_frame(values):
            return [[layer.tolist() for layer in at] for at in values]

        return {"frames": self.frames, "epochSteps": self.epoch_steps,
                "steps": len(self.losses),
                "losses": [float(f"{v:.7g}") for v in self.losses],
                "accuracy": self.accuracy,
                "w": [[_printed(w, self.W_DIGITS) for w in at] for at in self.w],
                "b": [[_printed(b, self.W_DIGITS) for b in at] for at in self.b],
                "x": {str(d): np.asarray(x, float).tolist() for d, (x, _) in self.watched.items()},
                "a": {str(d): per_frame(v) for d, v in self.a.items()},
                "delta": {str(d): per_frame(v) for d, v in self.delta.items()},
                **self.about}
