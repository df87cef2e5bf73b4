"""How far a compiled number can be from the eager engine's: rigorous bounds, per entry.

The compiler runs a layer of neurons as one matrix product (BLAS), which adds the products in
its own order, with fused multiply-adds, where the eager engine adds them one after another.
The two results differ in the last bits, and that is harmless everywhere except at a *kink*:
a pre-activation that eager finds exactly 0 may come out as 3e-17 and flip relu's slope; two
logits that eager finds equal may swap, and max would pass its grad to the other one.

So the compiler carries, next to every number a matrix product touched, a bound e on how far
it can be from eager's number (``|ours − eager's| ≤ e``, entry by entry), and an op with a
kink checks whether its decision could differ: relu and abs where ``|x| ≤ e``, max where the
top two are within their bounds. Those examples (columns of the batch) are computed again the
eager way, so every decision is eager's; the others are provably on the same side of every
kink. The rules, with u = 2⁻⁵³ (the unit roundoff of float64):

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
- an op applied to inexact inputs passes on a bound: its own rule in the op table (``carry``,
  below :func:`rounded`) from how much its exact result can move (1 for relu, |y| and |x| for
  x·y, …) plus both sides' rounding. An op without a rule cannot carry one: a graph where such
  an op stands between a matrix product and a kink is compiled the eager way throughout.
- an op computed by a math-library function (exp, log, tanh, pow…; ``library`` in the table)
  is a source of inexact numbers itself: numpy's functions and Python's ``math`` differ in
  the last bit now and then, so its results carry a bound of a few ulps even from exact
  inputs. Where the very floats of eager are needed, the float rule is run number by number.
- an op with a pole or a nan edge (``poles`` in the table: div's divisor, log, a fractional
  or negative power…) checks its own result when such an input is inexact: where its bound
  reaches ∞ (the input within reach of the pole), eager's result could be ±∞ or nan where
  ours is finite, so the example is computed again.

Not covered: a sum or product that overflows on one side only (beyond 1e308), where the
bounds above no longer hold; such an example's output is not finite on our side, or it is
caught only if it reaches a kink.

The bound assumes a BLAS that forms each entry as some sum of the products (every BLAS
numpy ships does; a Strassen-type product would not). It is computed in floating point
itself, so it is widened by ``SAFETY`` (a relative 2⁻²⁰, far above the rounding of n ≤ 10⁹
terms).
"""

from __future__ import annotations

import numpy as np

U = 2.0**-53  # the unit roundoff of float64: a correctly rounded result is within u·|x|
TINY = 2.0**-1074  # the smallest subnormal: the most one rounding near underflow can lose
SAFETY = 1.0 + 2.0**-20
LIBRARY = 8 * U  # exp, log, tanh…: numpy's and libm's are each within a few ulps


def gamma(n: int) -> float:
    """γₙ = n·u / (1 − n·u): a sum of n terms is within γₙ·Σ|terms| of the exact sum."""
    return n * U / (1.0 - n * U)


def rounded(gap, out, rel: float = U):
    """A bound on |ours − eager's| for one op, when the exact results from our inputs and
    from eager's differ by at most ``gap`` and each side's result is within ``rel`` (relative)
    of its exact result: gap·(1 + 2rel) + 2·rel·|out| (widened a little) + TINY·rel/u (a
    result near underflow is within so many subnormal steps)."""
    return gap * (1.0 + 2 * rel) + (2.001 * rel) * np.abs(out) + TINY * (rel / U)


def lipschitz(slope: float, rel: float = LIBRARY):
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
