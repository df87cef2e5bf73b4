"""Exactness: how far a compiled number can be from the eager engine's, and what the compiler
does where that distance could change a decision. The kinks story is told here, once.

The compiler runs a layer of neurons as one matrix product (BLAS), which adds the products in
its own order, with fused multiply-adds, where the eager engine adds them one after another.
The two results differ in the last bits, and that is harmless everywhere except at a *kink*:
a pre-activation that eager finds exactly 0 may come out as 3e-17 and flip relu's slope; two
logits that eager finds equal may swap, and max would pass its grad to the other one.

So the compiler carries, next to every number a matrix product touched, a bound e on how far
it can be from eager's number (``|ours − eager's| ≤ e``, entry by entry), and an op with a
kink checks whether its decision could differ: relu and abs where ``|x| ≤ e``, max where the
top two are within their bounds. Those examples (columns of the batch) are computed again the
eager way (every layer's products added in the eager order, library functions by Python's
``math``), so every decision is eager's and those examples' numbers are eager's bit for bit;
the others are provably on the same side of every kink, and differ from eager's by rounding
only (``Tape.recomputed`` counts the examples computed again; ``exact=True`` computes every
example the eager way). The rules, with u = 2⁻⁵³ (the unit roundoff of float64):

- a sum of n terms, in any order, with or without fused multiply-adds, is within
  γₙ·Σ|terms| of the exact sum, γₙ = n·u / (1 − n·u) (Higham, *Accuracy and Stability of
  Numerical Algorithms*, §3.1). A neuron's z = Σₖ wₖ·xₖ + b computed by BLAS from inputs x̂
  (each within eₖ of eager's xₖ), against eager's ordered sum:

      |ẑ − z_eager| ≤ Σₖ|wₖ|·eₖ·(1 + 2γ) + 2γ·(Σₖ|wₖ|·|x̂ₖ| + |b|) + e_b + 2n·TINY

  with γ = γ_{K+1} and e_b the bias's own bound (0 for a parameter), and, by Cauchy–Schwarz,
  Σₖ|wₖ|·|x̂ₖ| ≤ ‖w‖·‖x̂‖ and Σₖ|wₖ|·eₖ ≤ ‖w‖·‖e‖: vectors of norms and an outer product,
  far cheaper than the matrix product itself. TINY = 2⁻¹⁰⁷⁴ is the most a product that
  underflows can lose; a norm is taken as √(Σ x² + K·TINY), since squares of numbers below
  1e-162 underflow (each losing at most TINY).
- an op applied to inexact inputs passes on a bound: its ``carry`` rule in :data:`EXACTNESS`
  (below :func:`rounded`) from how much its exact result can move (1 for relu, |y| and |x|
  for x·y, …) plus both sides' rounding. An op without a rule cannot carry one: a graph where
  such an op stands between a matrix product and a kink is compiled the eager way throughout.
- an op computed by a math-library function (exp, log, tanh, pow…; ``library``) is a source
  of inexact numbers itself: numpy's functions and Python's ``math`` differ in the last bit
  now and then, so its results carry a bound of a few ulps even from exact inputs. Where the
  very floats of eager are needed, the float rule is run number by number.
- an op with a pole or a nan edge (``poles``: div's divisor, log, a fractional or negative
  power…) checks its own result when such an input is inexact: where its bound reaches ∞
  (the input within reach of the pole), eager's result could be ±∞ or nan where ours is
  finite, so the example is computed again.

Adding an op to the table needs a rule here only if it has a kink or a pole
(``tests/test_exactness.py`` finds them from the op's own maths and requires the rule).

Not covered: a sum or product that overflows on one side only (beyond 1e308), where the
bounds above no longer hold; such an example's output is not finite on our side, or it is
caught only if it reaches a kink.

The bound assumes a BLAS that forms each entry as some sum of the products (every BLAS
numpy ships does; a Strassen-type product would not). It is computed in floating point
itself, so it is widened by ``SAFETY`` (a relative 2⁻²⁰, far above the rounding of n ≤ 10⁹
terms).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from engine.compiler.kernel import Kernel

U = 2.0**-53  # the unit roundoff of float64: a correctly rounded result is within u·|x|
TINY = 2.0**-1074  # the smallest subnormal: the most one rounding near underflow can lose
SAFETY = 1.0 + 2.0**-20
LIBRARY_ERROR = 8 * U  # exp, log, tanh…: numpy's and libm's are each within a few ulps


def gamma(n: int) -> float:
    """γₙ = n·u / (1 − n·u): a sum of n terms is within γₙ·Σ|terms| of the exact sum."""
    return n * U / (1.0 - n * U)


def rounded(gap, out, rel: float = U):
    """A bound on |ours − eager's| for one op, when the exact results from our inputs and
    from eager's differ by at most ``gap`` and each side's result is within ``rel`` (relative)
    of its exact result: gap·(1 + 2rel) + 2·rel·|out| (widened a little) + TINY·rel/u (a
    result near underflow is within so many subnormal steps)."""
    return gap * (1.0 + 2 * rel) + (2.001 * rel) * np.abs(out) + TINY * (rel / U)


def lipschitz(slope: float, rel: float = LIBRARY_ERROR):
    """The ``carry`` rule of a one-input op whose slope is at most ``slope`` everywhere
    (relu, tanh: 1; σ: 1/4): the bound of its input times ``slope``, plus rounding."""
    if rel == 0:  # relu, abs, neg: computed exactly, on both sides
        return lambda out, xs, es: es[0] * slope
    return lambda out, xs, es: rounded(es[0] * slope, out, rel)


def near_zero(out, xs, es):
    """The ``kink`` rule of an op with a kink at 0 (relu, abs): the entries whose input
    could be on the other side of 0, or at it (nan counts as unsure)."""
    return ~(np.abs(xs[0]) > es[0])


def nan_to_inf(bound):
    """A bound that came out nan (0·∞ in a rule) says nothing: make it ∞."""
    return np.where(np.isnan(bound), np.inf, bound)


# ---------------------------------------------------------------------------------------------
# The ops' rules: how far an op's result can move when its inputs are within their bounds of
# eager's, plus the rounding of both sides. Arrays only.
# ---------------------------------------------------------------------------------------------



def _add_carry(out, xs, es):
    return rounded(es[0] + es[1], out)


def _mul_carry(out, xs, es):
    (x, y), (ex, ey) = xs, es
    return rounded(np.abs(x) * ey + np.abs(y) * ex + ex * ey, out)


def _div_carry(out, xs, es):
    # x_e/y_e − x̂/ŷ = (x_e − x̂ + (x̂/ŷ)(ŷ − y_e)) / y_e, and |y_e| ≥ |ŷ| − e_y.
    y, (ex, ey) = xs[1], es
    with np.errstate(all="ignore"):
        room = np.abs(y) - ey
        gap = np.where(room > 0, (ex + np.abs(out) * ey) / room, np.inf)
    return rounded(gap, out)


def _pow_carry(out, xs, es, c):
    # |d(x^c)/dx| = |c|·|x|^(c−1): largest farthest from 0 for c ≥ 1, nearest 0 below 1.
    # Within reach of 0, a power below 1 has a pole and a fractional one turns nan below 0:
    # no bound there.
    x, e = np.abs(xs[0]), es[0]
    c = np.asarray(c, dtype=float)
    with np.errstate(all="ignore"):
        far = np.power(x + e, c - 1.0)
        near = np.power(x - e, c - 1.0)
        gap = np.abs(c) * np.where(c >= 1.0, far, near) * e
        treacherous = (c < 1.0) | (c != np.floor(c))
        gap = np.where(treacherous & ~(x > e), np.inf, nan_to_inf(gap))
        gap = np.where((e == 0) | (c == 0.0), 0.0, gap)
    return rounded(gap, out, LIBRARY_ERROR)


def _rpow_carry(out, xs, es, c):
    # c^x moves by a factor e^(|ln c|·e) at most; a base c ≤ 0 has no bound.
    with np.errstate(all="ignore"):
        spread = np.abs(np.log(c)) * es[0]
        gap = np.where(np.greater(c, 0.0), np.abs(out) * np.expm1(spread), np.inf)
    return rounded(nan_to_inf(gap), out, LIBRARY_ERROR)


def _exp_carry(out, xs, es):
    return rounded(np.abs(out) * (1.0 + 2 * LIBRARY_ERROR) * np.expm1(es[0]), out, LIBRARY_ERROR)


def _log_carry(out, xs, es):
    # |ln x̂ − ln x_e| ≤ −ln(1 − e/x̂) while x̂ > e; none nearer 0.
    x, e = xs[0], es[0]
    with np.errstate(all="ignore"):
        gap = np.where(x > e, -np.log1p(-e / x), np.inf)
    return rounded(np.where(e == 0, 0.0, gap), out, LIBRARY_ERROR)


def _sum_carry(out, xs, es):
    g = gamma(len(xs))
    return (np.sum(es, axis=0) * (1.0 + g) + 2.0 * g * np.sum(np.abs(xs), axis=0)
            + len(xs) * TINY)


def _max_carry(out, xs, es):
    return np.max(es, axis=0)  # max moves no more than its inputs do, and rounds nothing


def _max_kink(out, xs, es):
    # Unsure where a second input is within reach of the max: the gap between them is no
    # more than both their bounds (a nan anywhere: unsure).
    xs, es = np.asarray(xs), np.asarray(es)
    close = ~((out - xs) > (es + es.max(axis=0)))
    return close.sum(axis=0) >= 2


@dataclass(frozen=True)
class Exactness:
    """What the compiler must know of one op of the table to match the eager engine's
    decisions (see the module docstring), on arrays only.

    ``carry(out, inputs, errors[, arg])`` bounds |ours − eager's| for the op's result, given
    the inputs' bounds; an op without it cannot pass a bound on (the compiler then adds the
    eager way wherever it would need one). ``kink(out, inputs, errors)`` marks the entries
    where the op's decision (relu's slope, max's choice) could differ from eager's.
    ``library``: computed by a math-library function (exp, log, pow…), where numpy's and
    Python's ``math`` may differ in the last bit, so its results are inexact too (and are
    computed with the float rule where they must match eager's bits). ``poles``: the inputs
    near which the result can jump to ±∞ or nan (a pole, a negative base; a function of the
    arg for ops that take one): where such an input is inexact and the result's bound reaches
    ∞, the example is computed the eager way.
    """

    carry: Callable | None = None
    kink: Callable | None = None
    library: bool = False
    poles: tuple[int, ...] | Callable[[float], tuple[int, ...]] = ()

    def poles_for(self, arg=None) -> tuple[int, ...]:
        """The inputs with a pole or a nan edge (for this arg)."""
        return self.poles(arg) if callable(self.poles) else self.poles

    def bound(self, out, inputs, errors, arg=None, takes_arg: bool = False):
        """The bound ``carry`` gives for the result ``out`` of ``inputs`` within ``errors``."""
        if takes_arg:
            return self.carry(out, inputs, errors, arg)
        return self.carry(out, inputs, errors)


# relu, abs, neg: slope at most 1, computed exactly (an executor passes a bound on as it is)
EXACT = lipschitz(1.0, rel=0)

# The rules, keyed by the op's name. An op of the table that is not here has no rule: no
# carry, no kink, no pole, computed exactly (``wsum`` runs as a layer's matrix product).
EXACTNESS: dict[str, Exactness] = {
    "add": Exactness(carry=_add_carry),
    "sub": Exactness(carry=_add_carry),
    "mul": Exactness(carry=_mul_carry),
    "div": Exactness(carry=_div_carry, poles=(1,)),
    "neg": Exactness(carry=EXACT),
    # x^c: a pole at 0 for c < 1, and nan below 0 for a fractional c
    "pow": Exactness(carry=_pow_carry, library=True,
                     poles=lambda c: (0,) if c < 1 or c != math.floor(c) else ()),
    "rpow": Exactness(carry=_rpow_carry, library=True, poles=lambda c: (0,) if c <= 0 else ()),
    "vpow": Exactness(library=True, poles=(0, 1)),
    "exp": Exactness(carry=_exp_carry, library=True),
    "log": Exactness(carry=_log_carry, library=True, poles=(0,)),
    "tanh": Exactness(carry=lipschitz(1.0), library=True),
    "sigmoid": Exactness(carry=lipschitz(0.25), library=True),
    "relu": Exactness(carry=EXACT, kink=near_zero),
    "softplus": Exactness(carry=lipschitz(1.0), library=True),
    "abs": Exactness(carry=EXACT, kink=near_zero),
    "max": Exactness(carry=_max_carry, kink=_max_kink),
    "sum": Exactness(carry=_sum_carry),
}

NO_RULE = Exactness()


def exactness(op: str) -> Exactness:
    """The exactness rule of the op named ``op`` (:data:`NO_RULE` for an op without one)."""
    return EXACTNESS.get(op, NO_RULE)


def float_rule(row, args, arg) -> np.ndarray:
    """``row``'s forward on every number, as Python floats: the eager engine's results, where
    numpy's vectorised function may round differently (exp, tanh, pow…)."""
    def one(*numbers):
        return row.compute([float(x) for x in numbers[:len(args)]],
                           float(numbers[-1]) if row.takes_arg else None)
    inputs = [*args, arg] if row.takes_arg else list(args)
    return np.frompyfunc(one, len(inputs), 1)(*inputs).astype(float)


def layer_bound(w, x, x_errors, bias, bias_errors, out) -> None:
    """``out`` = a bound on |z − eager's z| for a layer's z = W·x + B computed by a matrix
    product: ‖W_j‖·(2γ‖x‖ + (1+2γ)‖e‖) + 2γ|B_j| (+ B's own bound), with γ = γ_{K+1} and ‖x‖,
    ‖e‖ the column norms of the inputs and of their bounds (``x_errors``: None for exact
    inputs), each norm √(Σ x² + K·TINY) so that squares lost to underflow cannot shrink it,
    widened by SAFETY. ``bias``: (J, 1) or (J, batch) or None; ``bias_errors``: the bias rows'
    bounds, or None."""
    n = w.shape[1] + 1
    g = gamma(n)
    lost = (n - 1) * TINY  # what the squares of tiny numbers lose to underflow, at most
    column = np.sqrt(np.einsum("kb,kb->b", x, x) + lost)
    column *= 2 * g * SAFETY
    if x_errors is not None:
        column += np.sqrt(np.einsum("kb,kb->b", x_errors, x_errors) + lost) * (
            (1 + 2 * g) * SAFETY)
    np.multiply.outer(np.sqrt(np.einsum("jk,jk->j", w, w) + lost), column, out=out)
    if bias is None:
        out += 2 * n * TINY * SAFETY
        return
    out += np.abs(bias) * (2 * g * SAFETY) + 2 * n * TINY * SAFETY
    if bias_errors is not None:
        out += bias_errors * SAFETY


def batch_bound(norm2, count: int, x: np.ndarray, k: int, inputs_bound: float = 0.0) -> float:
    """One bound on |z − eager's z| for every entry of a layer's z = W·x + B over a batch, at
    least :func:`layer_bound`'s for each: ``norm2`` ≥ Σ W² + Σ B² (``count`` numbers), ``x``
    the (K, batch) inputs, each within ``inputs_bound`` of eager's.

    Each neuron j and example b: ‖w_j‖·‖x_b‖ + |b_j| ≤ ‖(w_j, b_j)‖·‖(x_b, 1)‖ (Cauchy–Schwarz)
    ≤ ‖(W, B)‖_F·√(‖X‖_F² + 1), and ‖e_b‖ ≤ √K·inputs_bound, so the bound is
    S²·‖(W, B)‖_F·(2γ·√(‖X‖_F² + 1) + (1 + 2γ)·√K·inputs_bound) + 2n·TINY·S², γ = γ_{K+1}:
    two dot products instead of per-entry norms and their outer product. (Squares lost to
    underflow are added back as in :func:`layer_bound`; nan or ∞ anywhere gives nan or ∞.)"""
    n = k + 1
    g, s2 = gamma(n), SAFETY * SAFETY
    lost = 3 * count * TINY  # what the squares can lose to underflow, and more
    spread = 2 * g * math.sqrt(float(np.vdot(x, x)) + 1.0)
    if inputs_bound:
        spread += (1 + 2 * g) * (math.sqrt(k) * inputs_bound + math.sqrt(n * TINY))
    return s2 * math.sqrt(float(norm2) + lost) * spread + 2 * n * TINY * s2


# ---------------------------------------------------------------------------------------------
# A tape's exactness: where it carries bounds and checks decisions, found once; the fast
# forward pass that does so, and the eager way for the examples it is unsure of.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundsPlan:
    """Where a tape carries error bounds and checks kinks, found once.

    ``bounded[k]``: kernel k writes a bound for each of its results (it is a matrix product,
    or reads one, and a kink further on needs to know); ``checks[k]``: kernel k has a kink
    (or a pole) and reads numbers a matrix product touched, so it checks its decisions;
    ``input_bounds[k]``: kernel k's bound reads its inputs' bounds; ``zero_rows``: the exact
    rows that such kernels read (their bound is 0). ``exact``: a bound is needed where no rule
    can give one, so the tape adds every layer the eager way.
    """

    bounded: list[bool]
    checks: list[bool]
    input_bounds: list[bool]
    zero_rows: np.ndarray
    exact: bool


def plan_bounds(kernels: list[Kernel], rows: int, exact: bool = False) -> BoundsPlan:
    """The :class:`BoundsPlan` of ``kernels`` (in the order they run) over ``rows`` rows."""
    producer = np.full(rows, -1, dtype=np.intp)  # the kernel that computes each row
    for k, kernel in enumerate(kernels):
        producer[kernel.out] = k
    reads = [set(producer[kernel.input_rows].tolist()) - {-1} for kernel in kernels]
    inexact_rows = np.zeros(rows, dtype=bool)
    inexact_inputs: list[bool] = []
    inexact: list[bool] = []
    for k, kernel in enumerate(kernels):
        inexact_inputs.append(bool(inexact_rows[kernel.input_rows].any()))
        # A matrix product, a math-library function, or anything computed from either.
        inexact.append(kernel.makes_inexact or inexact_inputs[k])
        inexact_rows[kernel.out] = inexact[k]
    watched = [kernel.watch(inexact_rows, inexact_inputs[k]) for k, kernel in enumerate(kernels)]
    checks = [check for check, _ in watched]
    bounded = [own for _, own in watched]  # a pole's check reads its own bound
    input_bounds = [kernel.reads_input_bounds(inexact_inputs[k])
                    for k, kernel in enumerate(kernels)]
    needs_inputs = list(checks)
    for k in reversed(range(len(kernels))):  # readers come after what they read
        needs_inputs[k] = needs_inputs[k] or (bounded[k] and input_bounds[k])
        if needs_inputs[k]:
            for r in reads[k]:
                bounded[r] = bounded[r] or inexact[r]
    exact = exact or any(bounded[k] and not kernel.can_bound for k, kernel in enumerate(kernels))
    zero = [r for k, kernel in enumerate(kernels) if needs_inputs[k]
            for r in kernel.input_rows.tolist() if producer[r] < 0 or not bounded[producer[r]]]
    return BoundsPlan(bounded, checks, input_bounds, np.unique(np.array(zero, dtype=np.intp)),
                      exact)


@dataclass(frozen=True)
class FastForward:
    """The result of one fast forward pass (matrix products, numpy's library functions):
    ``saved``, what each kernel gathered; ``errors``, the bound of every row that carries
    one (other rows hold garbage); ``unsure``, per example, whether some kink could decide
    otherwise than eager, or the output is not finite."""

    saved: list
    errors: np.ndarray | None
    unsure: np.ndarray


def fast_forward(kernels: list[Kernel], plan: BoundsPlan, values: np.ndarray,
                 theta: np.ndarray, output_slot: int, errors=None) -> FastForward:
    """Run ``kernels`` on ``values`` the fast way, carrying bounds where a kink needs them
    (``errors``: an array like ``values`` for them, or None for a new one if needed)."""
    if errors is None and any(plan.bounded):
        errors = np.empty_like(values)
    if len(plan.zero_rows):
        errors[plan.zero_rows] = 0.0
    unsure = None
    saved = []
    for k, kernel in enumerate(kernels):
        args = kernel.forward(values, theta)
        saved.append(args)
        if plan.bounded[k]:
            kernel.bound(values, errors, theta, args, errors if plan.input_bounds[k] else None)
        if plan.checks[k]:
            found = kernel.unsure(values, errors, args)
            unsure = found if unsure is None else unsure | found
    bad = ~np.isfinite(values[output_slot])
    return FastForward(saved, errors, bad if unsure is None else unsure | bad)


def recompute(kernels: list[Kernel], values: np.ndarray, theta: np.ndarray,
              columns: np.ndarray) -> None:
    """The eager way, for the examples ``columns`` only: the very numbers eager finds."""
    some = values[:, columns]  # a copy holding their inputs, parameters and constants
    for kernel in kernels:
        kernel.forward(some, theta, exact=True)
    values[:, columns] = some
