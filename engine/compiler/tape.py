"""The tape: a traced graph's kernels run over whole batches, forward and backward (the fast
path; where its numbers could decide otherwise than eager, ``engine.compiler.exactness``)."""

from __future__ import annotations

import contextvars
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

from engine.autodiff import topological_order
from engine.compiler.exactness import BoundsPlan, fast_forward, plan_bounds, recompute
from engine.compiler.executor import Program, write_program
from engine.compiler.kernel import Kernel
from engine.compiler.plan import RowLayout, build_kernel, computed_from_params, plan_kernels
from engine.node import Node, gather

# A batch's inputs: one (number of inputs, batch) array, or a tuple of arrays whose rows
# follow each other (pixels, then targets: no stacking copy).
Batch: TypeAlias = np.ndarray | tuple[np.ndarray, ...]


class TraceError(ValueError):
    """The traced graph depends on the data, so one trace cannot stand for every example."""


class Tape:
    """A traced graph, ready to run on batches.

    ``inputs`` are the leaves whose values change per example (a column per example);
    ``params`` are leaves whose values are shared by the batch: a vector of them is passed to
    :meth:`forward` and :meth:`backward` (by default read from their ``.data``, so an
    optimizer's updates are seen). Every other leaf and constant keeps its traced value.

    ``values`` has a row per node that is computed or read (``slot[node]`` is its row, laid
    out by ``layout``); the products fused into a layer, and parameters read only by layers,
    have none.
    """

    def __init__(self, output: Node, inputs: Sequence[Node], params: Sequence[Node],
                 fuse: bool = True, exact: bool = False) -> None:
        self.order = topological_order(output)
        self.params = _checked_params(self.order, inputs, params)
        index = {p: i for i, p in enumerate(self.params)}
        plans = plan_kernels(self.order, index, fuse)
        self.layout = layout = RowLayout.of(self.order, output, inputs, index, plans)
        self.slot, self.input_slots, self.output_slot = (layout.slot, layout.input_slots,
                                                         layout.output_slot)
        from_params = computed_from_params(self.order, index)
        self.kernels: list[Kernel] = [build_kernel(plan, layout, index, from_params,
                                                   len(self.params)) for plan in plans]
        self.bounds = plan_bounds(self.kernels, len(self.slot), exact)
        _claim_grads(self.kernels, layout.param_index, len(self.params))
        self._forward_pass = ForwardPass(self.kernels, self.bounds, layout.output_slot)
        self._backward_pass = BackwardPass.of(self.kernels, layout)
        # The training pass as lines (``program.source``; none if every example goes eager).
        self.program = None if self.bounds.exact else write_program(
            self.kernels, self.bounds, layout, self._backward_pass.first_written, len(index))
        self._workspaces, self.program_runs = Workspaces(layout, len(index), self.program), 0

    @property
    def recomputed(self) -> int:
        """How many examples were computed again the eager way (a kink was too near)."""
        return self._forward_pass.recomputed

    def parameter_vector(self) -> np.ndarray:
        """The parameters' current ``.data``, in :attr:`params` order."""
        return gather(self.params, "data")

    def _theta(self, params) -> np.ndarray:
        return self.parameter_vector() if params is None else _as_theta(params, len(self.params))

    def forward(self, inputs: Batch, params=None) -> np.ndarray:
        """Values of every row for a batch: ``inputs`` is (number of inputs, batch size);
        ``params`` the parameter vector (default: the parameters' ``.data``)."""
        theta = self._theta(params)
        values, _ = _start(self, self.layout.batch_parts(inputs), theta)
        self._forward_pass.run(values, theta)
        return values

    def backward(self, values: np.ndarray, seed: np.ndarray, params=None, saved=None,
                 params_only: bool = False):
        """``(grads, param_grads)`` of Σ_b seed_b · output_b: ``grads`` per row and example,
        ``param_grads`` per parameter, summed over the batch. ``params`` as for forward.
        ``params_only`` skips grads that no parameter's grad needs (the inputs', say): the
        row grads are then incomplete, the parameters' the same."""
        theta = self._theta(params)
        return self._backward_pass.run(values, seed, theta, saved, params_only,
                                       np.zeros_like(values), np.empty(len(self.params)))

    def run(self, inputs: Batch, seed: np.ndarray, params=None,
            params_only: bool = False, reuse: bool = False):
        """:meth:`forward` then :meth:`backward` in one go (the backward pass reuses the
        inputs the forward pass gathered): ``(values, grads, param_grads)``. ``reuse=True``
        runs in arrays this tape keeps per batch size and thread: the returned arrays are
        overwritten by the next such call (a training loop's case), and with ``params_only``
        the rows of ``grads`` no kernel writes hold garbage rather than 0."""
        return self.run_checked(self.layout.batch_parts(inputs), seed, self._theta(params),
                                params_only, reuse)

    def run_checked(self, parts: list[np.ndarray], seed: np.ndarray, theta: np.ndarray,
                    params_only: bool = False, reuse: bool = False):
        """:meth:`run` on arguments its caller has checked (a training loop's case, with no
        check per batch): ``parts`` float arrays of one batch whose rows are the inputs, in
        order; ``theta`` the contiguous float parameter vector."""
        values, work = _start(self, parts, theta, reuse)
        if work is not None and params_only and _program_ran(work, theta, seed):
            self.program_runs += 1
            return values, work.grads, work.param_grads
        # Else (and where the program met a kink within reach, or a nan or ∞): the kernels.
        saved = self._forward_pass.run(values, theta, None if work is None else work.errors)
        if work is not None:
            grads, param_grads = work.grads, work.param_grads
        else:
            grads, param_grads = np.zeros_like(values), np.empty(len(self.params))
        return (values, *self._backward_pass.run(values, seed, theta, saved, params_only,
                                                 grads, param_grads))

    @property
    def numpy_calls(self) -> int:
        """How many fused groups run per pass (a proxy; the program's: ``program.calls``)."""
        return len(self.kernels)


def _start(tape: Tape, parts: list[np.ndarray], theta: np.ndarray, reuse: bool = False):
    """``(values, work)``: the batch array with the inputs (``parts``), parameters and
    constants in their rows, and (with ``reuse``) the tape's workspace ``values`` belongs to."""
    batch = parts[0].shape[1]
    work = tape._workspaces.get(batch) if reuse else None
    values = tape.layout.fill_constants(np.empty((len(tape.slot), batch))) \
        if work is None else work.values
    tape.layout.fill(values, parts, theta)
    return values, work


def _program_ran(work: Workspace, theta: np.ndarray, seed) -> bool:
    """Run the program bound to ``work`` (if any, on a batch of at least one): True if it ran
    to the end and every parameter's grad is finite (else the kernels must run)."""
    if work.step is None or not work.values.shape[1]:
        return False
    if not work.quiet.run(work.step, theta, seed):
        return False
    # One pass looks for a nan or ∞ (a sum of finite numbers can overflow, rarely: then each
    # number is looked at).
    return math.isfinite(np.add.reduce(work.param_grads)) or bool(
        np.isfinite(work.param_grads).all())


def _checked_params(order: list[Node], inputs: Sequence[Node],
                    params: Sequence[Node]) -> list[Node]:
    """The parameters that reach the output, once each, after checking that every input
    reaches it and that no leaf is both an input and a parameter."""
    position = set(order)
    missing = [i for i, x in enumerate(inputs) if x not in position]
    if missing:
        raise TraceError(f"inputs {missing} do not reach the output")
    both = set(inputs) & set(params)
    if both:
        raise ValueError(f"{len(both)} leaves are both inputs and params (one per "
                         "example or one for the batch: not both)")
    return [p for p in dict.fromkeys(params) if p in position]


def _as_theta(params, n_params: int) -> np.ndarray:
    """``params`` as the contiguous parameter vector of ``n_params`` numbers (checked)."""
    theta = np.ascontiguousarray(params, dtype=float)  # layers read views of it
    if theta.shape != (n_params,):
        raise ValueError(f"params must be a vector of {n_params} numbers, "
                         f"got shape {theta.shape}")
    return theta


@dataclass
class ForwardPass:
    """The kernels first to last over a batch: the fast way (matrix products), with the
    examples where a kink could decide otherwise than eager, or whose output is not finite,
    run again the eager way (``engine.compiler.exactness``); every example the eager way when
    ``bounds.exact``. ``recomputed`` counts the examples run again."""

    kernels: list[Kernel]
    bounds: BoundsPlan
    output_slot: int
    recomputed: int = 0

    def run(self, values: np.ndarray, theta: np.ndarray, errors=None) -> list:
        """Run the kernels on ``values``; returns what each gathered, for the backward pass.
        ``errors``: an array like ``values`` for the bounds (default: a new one if needed)."""
        with np.errstate(all="ignore"):  # IEEE 754, as the eager engine
            if self.bounds.exact:
                return [kernel.forward(values, theta, exact=True) for kernel in self.kernels]
            fast = fast_forward(self.kernels, self.bounds, values, theta, self.output_slot,
                                errors)
            if fast.unsure.any():
                columns = np.flatnonzero(fast.unsure)
                recompute(self.kernels, values, theta, columns)
                self.recomputed += len(columns)
                return [None] * len(self.kernels)  # what they gathered is stale there
            return fast.saved


def _claim_grads(kernels: list[Kernel], row_params: np.ndarray, n_params: int) -> None:
    """Tell each kernel how many writers add into each parameter's grad (the parameters
    read per example, ``row_params``, are added once more at the end of a pass)."""
    writers = np.bincount(row_params, minlength=n_params)
    for kernel in kernels:
        writers += np.bincount(kernel.param_indices(), minlength=n_params)
    for kernel in kernels:
        kernel.claim_grads(writers)


@dataclass(frozen=True)
class BackwardPass:
    """The chain rule over a tape's kernels, last to first, over a batch.

    ``first_written``: with ``params_only``, no kernel adds into a row below this one.
    """

    kernels: list[Kernel]
    layout: RowLayout
    first_written: int

    @classmethod
    def of(cls, kernels: list[Kernel], layout: RowLayout) -> BackwardPass:
        first = min([layout.output_slot, *layout.param_slots.tolist(), *(
            int(k.grad_rows().min()) for k in kernels if len(k.grad_rows()))])
        return cls(kernels, layout, first)

    def run(self, values, seed, theta, saved, params_only, grads, param_grads):
        """``(grads, param_grads)``, in the arrays given (see :meth:`Tape.backward`)."""
        # An exact-0 local derivative must contribute 0, not 0·∞ = nan, which takes a check
        # of each kernel's upstream grads. For the parameters' grads alone the pass can skip
        # them: a nan or ∞ never turns finite on its way (x·0 and x + y keep it), so if every
        # parameter's grad comes out finite no upstream grad on their paths was otherwise, and
        # the checked pass would give the same numbers; if not, it runs again, checked.
        check_nonfinite = not params_only
        while True:
            self._pass(values, seed, theta, saved, params_only, grads, param_grads,
                       check_nonfinite)
            if check_nonfinite or np.isfinite(param_grads).all():
                return grads, param_grads
            check_nonfinite = True

    def _pass(self, values, seed, theta, saved, params_only, grads, param_grads,
              check_nonfinite) -> None:
        layout = self.layout
        if params_only:  # the rows below are never written: no need to clear them
            grads[self.first_written:] = 0.0
        else:
            grads[:] = 0.0
        grads[layout.output_slot] = seed
        param_grads[:] = 0.0
        saved = saved or [None] * len(self.kernels)
        with np.errstate(all="ignore"):
            for kernel, inputs in zip(reversed(self.kernels), reversed(saved), strict=True):
                kernel.backward(values, grads, param_grads, theta, inputs, params_only,
                                check_nonfinite)
        if len(layout.param_slots):
            param_grads[layout.param_index] += grads[layout.param_slots].sum(axis=1)


@dataclass
class Workspace:
    """A tape's arrays for one batch size (``values`` made with the constants' rows filled
    in: they never change)."""

    values: np.ndarray
    grads: np.ndarray
    param_grads: np.ndarray
    errors: np.ndarray
    step: Callable[[np.ndarray, np.ndarray], bool] | None = None  # the program, bound here
    quiet: contextvars.Context = field(default_factory=lambda: _quiet_context())


def _quiet_context() -> contextvars.Context:
    """A context in which numpy ignores floating-point errors (IEEE 754, as the eager engine),
    made once per workspace: the step runs in it (``quiet.run(step, ...)``) because entering
    ``np.errstate`` at each step, with a new error state each time, slows every numpy call
    of the step after it a little (a tenth of the step for a small network)."""
    context = contextvars.Context()
    context.run(np.errstate(all="ignore").__enter__)  # never left: the context is the scope
    return context


class Workspaces:
    """A tape's :class:`Workspace` per batch size and thread (a few sizes kept: an epoch's
    last batch is often shorter), so that a training loop allocates nothing per batch."""

    def __init__(self, layout: RowLayout, n_params: int, program: Program | None = None) -> None:
        self.layout, self.n_params, self.program = layout, n_params, program
        self._local = threading.local()

    def get(self, batch: int) -> Workspace:
        """This thread's arrays for batches of ``batch``."""
        spaces = self._local.__dict__.setdefault("spaces", {})
        work = spaces.get(batch)
        if work is None:
            if len(spaces) >= 4:
                spaces.clear()
            shape = (len(self.layout.slot), batch)
            work = spaces[batch] = Workspace(self.layout.fill_constants(np.empty(shape)),
                                             np.empty(shape), np.empty(self.n_params),
                                             np.empty(shape))
            if self.program is not None:
                work.step = self.program.bind(work.values, work.grads, work.param_grads,
                                              work.errors)
        return work
