"""Numerical checks: central differences and ``gradcheck``."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from engine.autodiff import grad
from engine.mode import no_grad
from engine.value import Value, as_real


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients disagree."""


def _call(f: Callable[..., Value | float], xs: list[float]) -> float:
    with no_grad():
        out = f(*[Value(x) for x in xs])
    if isinstance(out, Value):
        return out.data
    return as_real(out, "gradcheck: f's result")


def numerical_grad(f: Callable[..., Value | float], inputs: Iterable[Value | float],
                   eps: float = 1e-6) -> list[float]:
    """Central differences (f(x + h) − f(x − h)) / 2h for each input, in float64.

    ``f`` takes one Value per input and returns a Value (or a number).
    """
    xs = [x.data if isinstance(x, Value) else as_real(x, "gradcheck input") for x in inputs]
    result = []
    for i, x in enumerate(xs):
        up, down = list(xs), list(xs)
        up[i], down[i] = x + eps, x - eps
        result.append((_call(f, up) - _call(f, down)) / (2 * eps))
    return result


def gradcheck(f: Callable[..., Value], inputs: Iterable[Value | float], *, eps: float = 1e-6,
              atol: float = 1e-6, rtol: float = 1e-4) -> bool:
    """Check the engine's gradients of ``f`` at ``inputs`` against central differences.

    ``f`` takes one Value per input and returns a Value. Passes when, for every input,
    |analytic − numerical| ≤ atol + rtol·|numerical|; otherwise raises :class:`GradcheckError`
    listing every input that disagrees. Returns True.

    >>> gradcheck(lambda x, y: (x * y).tanh(), [0.5, -1.2])
    True
    """
    xs = [x.data if isinstance(x, Value) else as_real(x, "gradcheck input") for x in inputs]
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}: {out!r}")
    analytic = grad(out, leaves)
    numeric = numerical_grad(f, xs, eps)
    bad = [
        f"  input {i} (= {x:.8g}): engine {a:.8g}, central difference {n:.8g}, "
        f"|diff| {abs(a - n):.3g}"
        for i, (x, a, n) in enumerate(zip(xs, analytic, numeric, strict=True))
        if not (abs(a - n) <= atol + rtol * abs(n)) or math.isnan(a) != math.isnan(n)
    ]
    if bad:
        raise GradcheckError(
            f"gradcheck failed for {len(bad)} of {len(xs)} inputs "
            f"(eps={eps}, atol={atol}, rtol={rtol}):\n" + "\n".join(bad))
    return True
