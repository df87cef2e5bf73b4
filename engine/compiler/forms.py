"""Array forms of the op table's rules, for the executor's lines: a rule is recognised by
asking it (on probes that include ±0, ±∞, nan and subnormals) and comparing its numbers, bit
for bit, with a form that takes fewer numpy calls. The table stays the one source of each op's
maths: a form is used only where the table's rule gives its very numbers.

- the ordered sum: ``x₁ + x₂ + …`` added in order (``engine.ops.ordered_sum``: one reduce),
- the rectifier: max(x, 0) with −0 made +0 (``np.maximum`` into place, then ``+= 0.0``),
- the step slope: 1 where x > 0, 0 elsewhere, for inputs without a nan (a mask).
"""

from __future__ import annotations

import numpy as np

from engine.ops import Op, ordered_sum

PROBES = np.array([-2.5, -1.0, -0.0, 0.0, 1e-310, -1e-310, 0.75, 3.0, np.inf, -np.inf, np.nan,
                   1e300, -7.0, 2.0**-1074])


def same_bits(a, b) -> bool:
    """Whether two float arrays hold the same numbers bit for bit (any nan equal to any)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | (a.view(np.int64) == b.view(np.int64))))


def _asked(rule):
    """The rule's answer, or None where it raises."""
    try:
        with np.errstate(all="ignore"):
            return rule()
    except (TypeError, ValueError, ArithmeticError):
        return None


def is_ordered_sum(row: Op, arity: int, arg) -> bool:
    """Whether ``row`` on ``arity`` inputs is their sum added in order."""
    if arity < 2 or row.takes_arg:
        return False
    rng = np.random.default_rng(0)
    xs = rng.choice(PROBES, size=(arity, 2, 8)) * rng.uniform(0.5, 2.0, size=(arity, 2, 8))
    got = _asked(lambda: row.compute(list(xs), arg))
    return got is not None and same_bits(got, _asked(lambda: ordered_sum(xs)))


def is_rectifier(row: Op, arity: int, arg) -> bool:
    """Whether ``row`` is max(x, 0), with −0 made +0 and nan passed on."""
    if arity != 1:
        return False
    x = PROBES[None, :]
    got = _asked(lambda: row.compute([x], arg))
    return got is not None and same_bits(got, np.maximum(x, 0.0) + 0.0)


def has_step_slope(row: Op, arity: int, arg) -> bool:
    """Whether ``row``'s local derivative is 1 where x > 0 and 0 elsewhere (nan aside: a
    caller uses this form only on inputs it has checked for nan)."""
    if arity != 1:
        return False
    x = PROBES[None, ~np.isnan(PROBES)]
    got = _asked(lambda: row.derivatives(row.compute([x], arg), [x], arg))
    return got is not None and len(got) == 1 and same_bits(
        np.broadcast_to(got[0], x.shape), (x > 0).astype(float))


UFUNCS = (np.add, np.subtract, np.multiply, np.divide, np.power, np.negative, np.exp,
          np.log, np.tanh, np.absolute)


def ufunc_of(row: Op, arity: int, arg) -> np.ufunc | None:
    """The numpy ufunc that gives ``row``'s numbers (its inputs, then its arg if it takes
    one), so that a line can write them into place (``out=``); None if there is none."""
    rng = np.random.default_rng(1)
    shape = (1 if arg is None or np.ndim(arg) == 0 else len(arg), 24)
    xs = [rng.choice(PROBES, size=shape) * rng.uniform(0.5, 2.0, size=shape)
          for _ in range(arity)]
    want = _asked(lambda: row.compute(xs, arg))
    if want is None or np.shape(want) != shape:
        return None
    operands = [*xs, arg] if row.takes_arg else xs
    for ufunc in UFUNCS:
        if ufunc.nin == len(operands) and same_bits(_asked(lambda u=ufunc: u(*operands)), want):
            return ufunc
    return None


def slope_scale(row: Op, arity: int, arg) -> float | None:
    """c where ``row``'s local derivative is c·x bit for bit (x² at c = 2: its rule
    2·x¹), else None."""
    if arity != 1 or not isinstance(arg, float):
        return None
    x = PROBES[None, :]
    got = _asked(lambda: row.derivatives(row.compute([x], arg), [x], arg))
    if got is None or len(got) != 1 or np.shape(got[0]) != x.shape:
        return None
    finite = np.isfinite(x) & (x != 0)
    scale = float(got[0][finite][0] / x[finite][0])
    with np.errstate(all="ignore"):  # c·∞ and c·nan, among the probes
        return scale if same_bits(got[0], scale * x) else None
