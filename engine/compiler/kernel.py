"""The kernels a tape runs, behind one protocol (:class:`Kernel`), and the op-group kernel
(:class:`OpGroup`: the nodes with one op at one depth, as one numpy call). The neuron-layer
kernel is :class:`engine.compiler.layer.NeuronLayer`."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from engine.compiler.exactness import exactness, float_rule
from engine.compiler.rows import Rows
from engine.ops import OPS


class Kernel(Protocol):
    """What a tape asks of a kernel, whatever it computes: the rows it reads and writes, a
    forward and a backward pass over a batch, and what exactness
    (``engine.compiler.exactness``) needs to know: whether its results are inexact, whether it
    checks its decisions against bounds, and its results' bounds.

    ``forward`` returns what it gathered (``saved``), which ``backward`` and ``bound`` reuse
    (None: gather again).
    """

    out: slice  # the rows of its results, side by side
    makes_inexact: bool  # its results are inexact even from exact inputs (BLAS, libm)
    can_bound: bool  # it has a rule for its results' bounds

    @property
    def input_rows(self) -> np.ndarray:
        """The rows it reads."""

    def grad_rows(self) -> np.ndarray:
        """The rows whose grads its backward pass may add into, when only the parameters'
        grads are wanted."""

    def param_indices(self) -> np.ndarray:
        """Where the parameters it reads straight from the parameter vector are in it."""

    def claim_grads(self, writers: np.ndarray) -> None:
        """Told how many writers add into each parameter's grad, before the first pass."""

    def forward(self, values: np.ndarray, theta: np.ndarray, exact: bool = False):
        """Its results into ``values[out]``; ``exact``: eager's floats, bit for bit."""

    def backward(self, values, grads, param_grads, theta, saved, params_only: bool,
                 check_nonfinite: bool = True) -> None:
        """Its inputs' and parameters' grads from ``grads[out]``, by the chain rule."""

    def watch(self, inexact_rows: np.ndarray, inexact_inputs: bool) -> tuple[bool, bool]:
        """Given which rows are inexact: (whether it checks its decisions, whether that check
        needs its own results' bound)."""

    def reads_input_bounds(self, inexact_inputs: bool) -> bool:
        """Whether :meth:`bound` reads its inputs' bounds."""

    def bound(self, values, errors, theta, saved, input_errors) -> None:
        """``errors[out]``: a bound on |ours − eager's| for each of its results."""

    def unsure(self, values, errors, saved) -> np.ndarray:
        """Per example, whether one of its decisions could differ from eager's."""


class GroupInputs:
    """The rows an op group reads, input j's in ``ins[j]``: all of them as one block of rows
    (one gather, one scatter), or input by input when those are consecutive rows each
    (views) and the block is not."""

    def __init__(self, ins: np.ndarray) -> None:
        self.arity, self.nodes = ins.shape
        self.block = Rows(ins)
        self.each = None
        if not self.block.consecutive:
            each = [Rows(r) for r in ins]
            if all(r.consecutive for r in each) or self.arity <= 2:
                self.each = each

    def read(self, values: np.ndarray):
        """The inputs' rows of ``values``: an (arity, nodes, batch) array, or one per input."""
        if self.each is None:
            return values[self.block.index].reshape(self.arity, self.nodes, -1)
        return [values[r.index] for r in self.each]

    def grad_rows(self, feeds_params: list[bool]) -> np.ndarray:
        """The rows whose grads a parameters-only backward pass may add into."""
        if self.each is None:
            return self.block.rows
        return np.concatenate([r.rows for r, feeds in zip(self.each, feeds_params, strict=True)
                               if feeds] or [np.empty(0, dtype=np.intp)])

    def add_grads(self, grads, locals_, upstream, finite: bool, feeds_params: list[bool],
                  params_only: bool) -> None:
        """``grads[input j] += upstream · locals_[j]``, an exact-0 local derivative giving
        exactly 0 unless every upstream grad is ``finite``."""
        def times(local):
            product = upstream * local
            return product if finite or not isinstance(local, np.ndarray) else \
                np.where(local == 0, 0.0, product)

        if self.each is not None:
            for rows, local, feeds in zip(self.each, locals_, feeds_params, strict=True):
                if feeds or not params_only:
                    rows.add(grads, times(local))
            return
        if all(isinstance(d, float) for d in locals_):  # add, sub, neg, sum: constants
            contribution = np.multiply.outer(locals_, upstream)
        elif finite and all(isinstance(d, np.ndarray) and d.shape == upstream.shape
                            for d in locals_):
            contribution = np.array(locals_) * upstream  # max: one indicator per input
        else:
            contribution = np.empty((self.arity, *upstream.shape))
            for j, local in enumerate(locals_):
                contribution[j] = times(local)
        self.block.add(grads, contribution.reshape(-1, upstream.shape[1]))


class OpGroup:
    """Nodes with the same op, arity and depth: one numpy call forward, one backward (the op
    table's row on arrays). Their results are consecutive rows ``out``, so reading and writing
    them makes no copy.

    ``ins[j]`` are the rows of every node's input j; ``arg`` each node's arg (None for an op
    without one); ``feeds_params[j]`` whether input j leads to a parameter (if not, its grads
    can be skipped when only the parameters' are wanted).
    """

    arg: np.ndarray | float | None  # one number when every node's arg is the same

    def __init__(self, op: str, out: slice, ins: np.ndarray, arg: np.ndarray | None,
                 feeds_params: list[bool]) -> None:
        self.row, self.rule, self.out, self.arg = OPS[op], exactness(op), out, arg
        self.feeds_params = feeds_params
        if (arg is not None and len(arg) and float(arg[0, 0]).is_integer()
                and np.all(arg.view(np.int64) == arg.view(np.int64)[0])):
            # One whole-number arg for all (x² everywhere): numpy's fast path, which gives
            # C pow's results. (Not for x**0.5: numpy takes a sqrt, and sqrt(-0.0) = -0.0,
            # sqrt(-inf) = nan, where pow gives 0.0 and inf.)
            self.arg = float(arg[0, 0])
        self.inputs = GroupInputs(ins)
        args = [None] if arg is None else np.unique(np.asarray(arg, dtype=float)).tolist()
        # The rows of the inputs near which the op has a pole (for any node's arg).
        poles = sorted({j for a in args for j in self.rule.poles_for(a)})
        self.pole_rows = ins[poles].ravel() if poles else np.empty(0, dtype=np.intp)
        self.checks_poles = False  # whether an input with a pole is inexact (see watch)
        self.makes_inexact = self.rule.library
        self.can_bound = self.rule.carry is not None

    @property
    def input_rows(self) -> np.ndarray:
        return self.inputs.block.rows

    def grad_rows(self) -> np.ndarray:
        return self.inputs.grad_rows(self.feeds_params)

    def param_indices(self) -> np.ndarray:
        return np.empty(0, dtype=np.intp)  # a group reads parameters from rows

    def claim_grads(self, writers: np.ndarray) -> None:
        """A group adds into rows only, never into the parameter vector."""

    def forward(self, values: np.ndarray, theta: np.ndarray, exact: bool = False):
        args = self.inputs.read(values)
        if exact and self.rule.library:  # Python's math, number by number: eager's floats
            values[self.out] = float_rule(self.row, args, self.arg)
        else:
            values[self.out] = self.row.compute(args, self.arg)
        return args

    def backward(self, values, grads, param_grads, theta, saved, params_only: bool,
                 check_nonfinite: bool = True) -> None:
        if saved is None:
            saved = self.inputs.read(values)
        locals_ = self.row.derivatives(values[self.out], saved, self.arg)
        upstream = grads[self.out]
        # An exact-0 local derivative contributes exactly 0, not 0·∞ (as the eager engine's
        # contribution()): only a non-finite upstream grad can tell the difference.
        finite = not check_nonfinite or bool(np.isfinite(upstream).all())
        self.inputs.add_grads(grads, locals_, upstream, finite, self.feeds_params,
                              params_only)

    def watch(self, inexact_rows: np.ndarray, inexact_inputs: bool) -> tuple[bool, bool]:
        self.checks_poles = bool(inexact_rows[self.pole_rows].any())
        checks = inexact_inputs and (self.rule.kink is not None or self.checks_poles)
        return checks, checks and self.checks_poles

    def reads_input_bounds(self, inexact_inputs: bool) -> bool:
        return True  # the op's carry rule reads them (0 for exact inputs)

    def bound(self, values, errors, theta, saved, input_errors) -> None:
        errors[self.out] = self.rule.bound(values[self.out], saved,
                                           self.inputs.read(input_errors), self.arg,
                                           self.row.takes_arg)

    def unsure(self, values, errors, saved) -> np.ndarray:
        """The columns where one of these nodes could decide otherwise than eager: a kink
        within reach, or (an input with a pole inexact) a result whose bound reaches ∞."""
        out = values[self.out]
        if self.rule.kink is not None:
            found = self.rule.kink(out, saved, self.inputs.read(errors))
        else:
            found = np.zeros(out.shape, dtype=bool)
        if self.checks_poles:
            found |= ~np.isfinite(np.abs(out) + errors[self.out])
        return found.any(axis=0)
