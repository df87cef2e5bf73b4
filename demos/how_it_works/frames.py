"""One moment of a training run as the network figure draws it: a *frame*. The studio streams
frames while it trains (live training) and the explorer's film holds a few dozen of its
training run; both have this one shape, which one script (figure.js) draws.

A frame names each line's look by a code (:func:`line_codes`), not by its style, so that a
frame of 1,440 lines is a few KB: code ``c ≥ 0`` is a positive weight of strength ``c``
hundredths of its layer's largest |w|, and ``c < 0`` a weight ≤ 0 of strength ``−1 − c``
(:func:`line_looks` gives each code's style, the one rule of ``picture.line_style``).
"""

from __future__ import annotations

import numpy as np

from demos.how_it_works import picture as pic
from engine.viz import style
from engine.viz.style import probability


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
    white on them, and the outputs' texts."""
    levels = []
    for a in activations:
        top = float(np.max(a))
        levels.append(np.asarray(a) / top if top > 0 else np.zeros(len(a)))
    levels.append(np.asarray(probabilities))
    return {"fills": [[style.grey(v) for v in layer] for layer in levels],
            "dark": [[style.dark(v) for v in layer] for layer in levels],
            "p": [f"P {probability(v)}" for v in probabilities]}


def frame(step: int, epoch: int, loss: float | None, accuracy: float | None,
          weights: list[np.ndarray], digits: dict[str, dict]) -> dict:
    """One frame: after ``step`` batches (``epoch`` whole passes over the training images
    done), the last batch's ``loss`` and, when it was measured at this step, the held-out
    ``accuracy`` (a fraction), each line's code, and each digit's :func:`shading`."""
    return {"step": step, "epoch": epoch,
            "loss": None if loss is None else float(f"{loss:.7g}"),
            "accuracy": None if accuracy is None else float(f"{accuracy:.7g}"),
            "lines": line_codes(weights), "digits": digits}
