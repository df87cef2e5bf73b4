"""Losses for one example, as Values, and ``softmax`` for reading probabilities.

Average over a batch with ``engine.sum(losses) / len(losses)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import engine
from engine import Value


def _values(xs: Sequence[Value | float], what: str) -> list[Value]:
    if isinstance(xs, (str, bytes)) or not hasattr(xs, "__len__") or len(xs) == 0:
        raise TypeError(f"{what} must be a non-empty list of Values or numbers, got {xs!r}")
    out = []
    for i, x in enumerate(xs):
        if isinstance(x, Value):
            out.append(x)
        elif isinstance(x, numbers.Real):
            out.append(engine.const(x))
        else:
            raise TypeError(f"{what}[{i}] must be a Value or a number, got {type(x).__name__}")
    return out


def _class_index(target: object, n: int) -> int:
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(f"target must be a class index (int), got {type(target).__name__}")
    index = int(target)
    if not 0 <= index < n:
        raise ValueError(f"target {target} is out of range for {n} classes")
    return index


def mse(predictions: Sequence[Value | float], targets: Sequence[Value | float]) -> Value:
    """Mean squared error (1/n) Σᵢ (predᵢ − targetᵢ)²."""
    preds = _values(predictions, "predictions")
    if not hasattr(targets, "__len__") or len(targets) != len(preds):
        raise ValueError(f"mse: {len(preds)} predictions but targets {targets!r}")
    return engine.sum([(p - t) ** 2 for p, t in zip(preds, targets, strict=True)]) / len(preds)


def log_sum_exp(logits: Sequence[Value | float]) -> Value:
    """log Σᵢ e^{zᵢ} computed as m + log Σᵢ e^{zᵢ − m} with m = max zᵢ, so it never overflows.

    m is part of the graph (a ``max`` node), so the same graph serves every input, as a
    compiled trace needs; the result does not depend on m, and neither does the gradient:
    through m it is 1 − Σ softmax(z) = 0 (to rounding), so ∂/∂zᵢ = softmax(z)ᵢ.
    """
    zs = _values(logits, "logits")
    m = engine.max(zs)
    total = engine.sum([(z - m).exp() for z in zs])
    logged = total.log()
    result = logged + m
    # Named, so that a step-through says which part of the loss a node is.
    m.label, total.label, logged.label, result.label = "zmax", "Σexp", "logΣexp", "logsumexp"
    return result


def cross_entropy(logits: Sequence[Value | float], target: int) -> Value:
    """Softmax cross-entropy −log softmax(z)_target = log Σᵢ e^{zᵢ} − z_target.

    ∂/∂zᵢ = softmax(z)ᵢ − [i = target]. Safe for any logits (1000 or −1000 included).
    """
    zs = _values(logits, "logits")
    loss = log_sum_exp(zs) - zs[_class_index(target, len(zs))]
    loss.label = "loss"
    return loss


def hinge(logits: Sequence[Value | float], target: int, margin: float = 1.0) -> Value:
    """Multiclass hinge (1/n) Σ_{j ≠ target} max(0, margin + z_j − z_target) over n classes,
    as PyTorch's ``multi_margin_loss``."""
    zs = _values(logits, "logits")
    y = _class_index(target, len(zs))
    if len(zs) == 1:
        return engine.const(0.0)
    total = engine.sum([(margin + z - zs[y]).relu() for j, z in enumerate(zs) if j != y])
    return total / len(zs)


def softmax(logits: Sequence[Value | float]) -> list[float]:
    """Probabilities e^{zᵢ} / Σⱼ e^{zⱼ} as plain floats (the max is subtracted first)."""
    zs = [z.data if isinstance(z, Value) else float(z) for z in _values(logits, "logits")]
    m = max(zs)
    exps = [math.exp(z - m) for z in zs]
    total = math.fsum(exps)
    return [e / total for e in exps]
