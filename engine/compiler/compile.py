"""Compile a scalar graph once and run it over whole batches with numpy.

A training step builds the same graph for every example; only the input numbers differ. So
trace the graph once, lower it to a tape in topological order, and run that tape over a batch:
each node holds a numpy vector with one number per example. Nodes with the same op at the same
depth run as one numpy call (gather their inputs, apply the op, scatter the results), so the
number of numpy calls grows with the depth of the graph, not with its size.

Forward values and local derivatives come from the same op table as the eager engine (its
rules are written to work on arrays too), so compiled and eager results agree to rounding.

Neurons (as ``engine.neuron`` defines them) whose weights are parameters of the tape are fused
further: all such neurons at one depth that read the same inputs x_1…x_K form a layer, and run
as one :class:`engine.neuron.NeuronLayer`, the batched ``wsum`` row: forward one matrix
product, backward two. Their product nodes get no rows: ``fuse=False`` keeps every node.

Kinks are decided exactly as the eager engine decides them: every number a matrix product
touched carries a bound on its distance from eager's, and an example where a kink (or a pole)
is within reach is computed again the eager way; ``engine.compiler.exactness`` tells how, and
why the other examples differ from eager's by rounding only.

The rule: the graph must not depend on the data. A Python ``if`` on a value, or a number
computed from a value and written into the graph as a constant, would make another example's
graph different. :func:`trace` traces two different examples and refuses (``TraceError``,
naming the first node that differs) when their graphs are not the same.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from engine.autodiff import topological_order
from engine.compiler.exactness import exactness
from engine.compiler.layer import LayerBias, NeuronLayer
from engine.compiler.rows import Rows
from engine.mode import enable_grad
from engine.neuron import NeuronParts, neuron_parts, readers
from engine.node import Node, gather
from engine.ops import OPS
from engine.value import Value

# A batch's inputs: one (number of inputs, batch) array, or a tuple of arrays whose rows
# follow each other (pixels, then targets: no stacking copy).
Batch: TypeAlias = np.ndarray | tuple[np.ndarray, ...]


class TraceError(ValueError):
    """The traced graph depends on the data, so one trace cannot stand for every example."""


class _Group:
    """Nodes with the same op, arity and depth: one numpy call forward, one backward.
    Their results are consecutive rows, so reading and writing them makes no copy.

    ``ins[j]`` are the rows of every node's input j; ``needed[j]`` whether input j leads to
    a parameter (if not, its grads can be skipped when only the parameters' are wanted).
    """

    arg: np.ndarray | float | None  # one number when every node's arg is the same

    def __init__(self, op: str, out: slice, ins: np.ndarray, arg: np.ndarray | None,
                 needed: list[bool]) -> None:
        self.row, self.out, self.arg, self.needed = OPS[op], out, arg, needed
        self.rule = exactness(op)
        if (arg is not None and len(arg) and float(arg[0, 0]).is_integer()
                and np.all(arg.view(np.int64) == arg.view(np.int64)[0])):
            # One whole-number arg for all (x² everywhere): numpy's fast path, which gives
            # C pow's results. (Not for x**0.5: numpy takes a sqrt, and sqrt(-0.0) = -0.0,
            # sqrt(-inf) = nan, where pow gives 0.0 and inf.)
            self.arg = float(arg[0, 0])
        self.arity, self.nodes = ins.shape
        args = [None] if arg is None else np.unique(np.asarray(arg, dtype=float)).tolist()
        # The rows of the inputs near which the op has a pole (for any node's arg).
        poles = sorted({j for a in args for j in self.rule.poles_for(a)})
        self.pole_rows = ins[poles].ravel() if poles else np.empty(0, dtype=np.intp)
        self.singular = False  # set by the tape: whether an input with a pole is inexact
        # All inputs as one block of rows (one gather, one scatter), or input by input when
        # those are consecutive rows each (views) and the block is not.
        self.block = Rows(ins)
        self.each = None
        if not self.block.consecutive:
            each = [Rows(r) for r in ins]
            if all(r.consecutive for r in each) or self.arity <= 2:
                self.each = each

    def _inputs(self, values: np.ndarray):
        if self.each is None:
            return values[self.block.index].reshape(self.arity, self.nodes, -1)
        return [values[r.index] for r in self.each]

    @property
    def input_rows(self) -> np.ndarray:
        return self.block.rows

    def grad_rows(self) -> np.ndarray:
        """The rows whose grads the backward pass may add into, when only the parameters'
        grads are wanted."""
        if self.each is None:
            return self.block.rows
        return np.concatenate([r.rows for r, needed in zip(self.each, self.needed, strict=True)
                               if needed] or [np.empty(0, dtype=np.intp)])

    def forward(self, values: np.ndarray, theta: np.ndarray, exact: bool = False):
        args = self._inputs(values)
        if exact and self.rule.library:  # Python's math, number by number: eager's floats
            values[self.out] = _float_rule(self.row, args, self.arg)
        else:
            values[self.out] = self.row.compute(args, self.arg)
        return args

    def carry(self, values, errors, args) -> None:
        """``errors[out]``: the op's bound for its results, from its inputs' bounds."""
        errors[self.out] = self.rule.bound(values[self.out], args, self._inputs(errors),
                                           self.arg, self.row.takes_arg)

    def unsure(self, values, errors, args) -> np.ndarray:
        """The columns where one of these nodes could decide otherwise than eager: a kink
        within reach, or (a singular op) a result whose bound reaches ∞."""
        out = values[self.out]
        if self.rule.kink is not None:
            found = self.rule.kink(out, args, self._inputs(errors))
        else:
            found = np.zeros(out.shape, dtype=bool)
        if self.singular:
            found |= ~np.isfinite(np.abs(out) + errors[self.out])
        return found.any(axis=0)

    def backward(self, values, grads, param_grads, theta, args, params_only,
                 careful=True) -> None:
        if args is None:
            args = self._inputs(values)
        locals_ = self.row.derivatives(values[self.out], args, self.arg)
        upstream = grads[self.out]
        # An exact-0 local derivative contributes exactly 0, not 0·∞ (as the eager engine's
        # contribution()): only a non-finite upstream grad can tell the difference.
        finite = not careful or bool(np.isfinite(upstream).all())

        def times(local):
            product = upstream * local
            return product if finite or not isinstance(local, np.ndarray) else \
                np.where(local == 0, 0.0, product)

        if self.each is not None:
            for rows, local, needed in zip(self.each, locals_, self.needed, strict=True):
                if needed or not params_only:
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


def _float_rule(row, args, arg) -> np.ndarray:
    """``row``'s forward on every number, as Python floats: the eager engine's results, where
    numpy's vectorised function may round differently (exp, tanh, pow…)."""
    def one(*numbers):
        return row.compute([float(x) for x in numbers[:len(args)]],
                           float(numbers[-1]) if row.takes_arg else None)
    inputs = [*args, arg] if row.takes_arg else list(args)
    return np.frompyfunc(one, len(inputs), 1)(*inputs).astype(float)


@dataclass(frozen=True)
class _Bounds:
    """Where a tape carries error bounds and checks kinks (``engine.compiler.exactness``), found once.

    ``carry[k]``: kernel k writes a bound for each of its results (it is a matrix product, or
    reads one, and a kink further on needs to know); ``check[k]``: kernel k has a kink and
    reads numbers a matrix product touched, so it checks its decisions; ``inexact_inputs[k]``:
    some input of kernel k carries a bound; ``zero_rows``: the exact rows that such kernels
    read (their bound is 0). ``exact``: a bound is needed where no rule of the op table can
    give one, so the tape adds every layer the eager way.
    """

    carry: list[bool]
    check: list[bool]
    inexact_inputs: list[bool]
    zero_rows: np.ndarray
    exact: bool


def _find_bounds(kernels: list, rows: int, exact: bool = False) -> _Bounds:
    producer = np.full(rows, -1, dtype=np.intp)  # the kernel that computes each row
    for k, kernel in enumerate(kernels):
        producer[kernel.out] = k
    reads = [set(producer[kernel.input_rows].tolist()) - {-1} for kernel in kernels]
    groups = [isinstance(kernel, _Group) for kernel in kernels]
    inexact: list[bool] = []
    inexact_inputs: list[bool] = []
    for k, kernel in enumerate(kernels):
        inexact_inputs.append(any(inexact[r] for r in reads[k]))
        # A matrix product, a math-library function, or anything computed from either.
        inexact.append(not groups[k] or kernel.rule.library or inexact_inputs[k])
    for k, kernel in enumerate(kernels):
        if groups[k]:
            kernel.singular = any(inexact[r] for r in set(producer[kernel.pole_rows].tolist())
                                  - {-1})
    check = [groups[k] and inexact_inputs[k] and (kernel.rule.kink is not None
                                                  or kernel.singular)
             for k, kernel in enumerate(kernels)]
    carry = [check[k] and kernel.singular for k, kernel in enumerate(kernels)]  # (its own)
    needs_inputs = list(check)
    for k in reversed(range(len(kernels))):  # readers come after what they read
        # (a group's rule reads its inputs' bounds; a layer reads them only if inexact)
        needs_inputs[k] = needs_inputs[k] or (carry[k] and (groups[k] or inexact_inputs[k]))
        if needs_inputs[k]:
            for r in reads[k]:
                carry[r] = carry[r] or inexact[r]
    exact = exact or any(carry[k] and isinstance(kernel, _Group) and kernel.rule.carry is None
                         for k, kernel in enumerate(kernels))
    zero = [r for k, kernel in enumerate(kernels) if needs_inputs[k]
            for r in kernel.input_rows.tolist() if producer[r] < 0 or not carry[producer[r]]]
    return _Bounds(carry, check, inexact_inputs, np.unique(np.array(zero, dtype=np.intp)),
                   exact)


@dataclass
class _Workspace:
    """A tape's arrays for one batch size (``values`` made with the constants' rows filled
    in: they never change)."""

    values: np.ndarray
    grads: np.ndarray
    param_grads: np.ndarray
    errors: np.ndarray


@dataclass(frozen=True)
class Fast:
    """One fast forward pass: ``saved``, what each kernel gathered; ``errors``, the bound of
    every row that carries one (``engine.compiler.exactness``; other rows hold garbage); ``unsure``,
    per example, whether some kink could decide otherwise than eager, or the output is not
    finite."""

    saved: list
    errors: np.ndarray | None
    unsure: np.ndarray


def _mark_owned_grads(kernels: list, loose: np.ndarray, n_params: int) -> None:
    """Tell each layer whether it is the only one to add into its parameters' grads."""
    writers = np.bincount(loose, minlength=n_params)
    layers = [k for k in kernels if isinstance(k, NeuronLayer)]
    for layer in layers:
        writers += np.bincount(layer.param_indices(), minlength=n_params)
    for layer in layers:
        layer.owns_grads = bool(np.all(writers[layer.param_indices()] == 1))


@dataclass
class _Plan:
    """One kernel to build, at a depth of the graph: a group of nodes with one op, or (with
    ``neurons``) a layer of neurons; ``nodes`` are the nodes whose values it computes."""

    depth: int
    nodes: list[Node]
    neurons: list[NeuronParts] | None = None


def _depths(order: list[Node]) -> dict[Node, int]:
    """1 + the deepest input's depth (0 for leaves): nodes of one depth are independent."""
    depth: dict[Node, int] = {}
    for node in order:
        depth[node] = 1 + max((depth[p] for p in node.parents), default=-1)
    return depth


def _layers(order: list[Node], index: dict, depth: dict) -> dict[tuple, list[NeuronParts]]:
    """The neurons whose weights are parameters, grouped into layers by (depth, the inputs
    in order, where the bias comes from)."""
    readers_of = readers(order)
    layers: dict[tuple, list[NeuronParts]] = {}
    for node in order:
        parts = neuron_parts(node, readers_of)
        if parts is None or not all(w in index for w in parts.weights):
            continue
        bias = parts.bias
        source = None if bias is None else "params" if bias in index else "rows"
        layers.setdefault((depth[node], parts.inputs, source), []).append(parts)
    return layers


def _plan(order: list[Node], index: dict, fuse: bool) -> list[_Plan]:
    """The kernels, in an order that runs every node after its inputs (by depth)."""
    depth = _depths(order)
    layers = _layers(order, index, depth) if fuse else {}
    neurons = [n for layer in layers.values() for n in layer]
    skipped = {m for n in neurons for m in n.products} | {n.total for n in neurons}
    groups: dict[tuple, list[Node]] = {}
    for node in order:
        if node.parents and node not in skipped:
            groups.setdefault((depth[node], node.op, len(node.parents)), []).append(node)
    plans = [_Plan(level, nodes) for (level, _, _), nodes in groups.items()]
    plans += [_Plan(level, [n.total for n in layer], layer)
              for (level, _, _), layer in layers.items()]
    return sorted(plans, key=lambda plan: plan.depth)  # stable: ties keep their order


def _leads_to_params(order: list[Node], index: dict) -> set[Node]:
    """The parameters and every node computed from one: only their grads are needed for the
    parameters' grads (not a first layer's inputs', say)."""
    leads = set(index)
    for node in order:
        if any(p in leads for p in node.parents):
            leads.add(node)
    return leads


def _structure(order: list[Node], slots: dict, inputs: set) -> list[tuple]:
    """What must be identical between two traces: ops, wiring, args, and the value of every
    leaf that is not an input (constants, and any Value made from a number of the data).
    Values are compared by their bits, so a nan equals a nan."""
    return [(n.op, tuple(slots[p] for p in n.parents),
             None if n.arg is None else float(n.arg).hex(),
             None if n.parents or n in inputs else float(n.data).hex()) for n in order]


class Tape:
    """A traced graph, ready to run on batches.

    ``inputs`` are the leaves whose values change per example (a column per example);
    ``params`` are leaves whose values are shared by the batch: a vector of them is passed to
    :meth:`forward` and :meth:`backward` (by default read from their ``.data``, so an
    optimizer's updates are seen). Every other leaf and constant keeps its traced value.

    ``values`` has a row per node that is computed or read (``slot[node]`` is its row); the
    products fused into a layer, and parameters read only by layers, have none.
    """

    def __init__(self, output: Node, inputs: Sequence[Node], params: Sequence[Node],
                 fuse: bool = True, exact: bool = False) -> None:
        self.order = topological_order(output)
        position = {node: i for i, node in enumerate(self.order)}
        missing = [i for i, x in enumerate(inputs) if x not in position]
        if missing:
            raise TraceError(f"inputs {missing} do not reach the output")
        both = set(inputs) & set(params)
        if both:
            raise ValueError(f"{len(both)} leaves are both inputs and params (one per "
                             "example or one for the batch: not both)")
        self.params = [p for p in dict.fromkeys(params) if p in position]
        index = {p: i for i, p in enumerate(self.params)}
        plans = _plan(self.order, index, fuse)
        self._assign_rows(output, inputs, index, plans)
        leads = _leads_to_params(self.order, index)
        self.kernels = [self._kernel(plan, index, leads) for plan in plans]
        self.bounds = _find_bounds(self.kernels, len(self.slot), exact)
        _mark_owned_grads(self.kernels, self.param_index, len(self.params))
        # With params_only, no kernel adds into a row below this one.
        self._first_written = min([self.output_slot, *self.param_slots.tolist(), *(
            int(k.grad_rows().min()) for k in self.kernels if len(k.grad_rows()))])
        self._local = threading.local()
        self.recomputed = 0  # examples computed again the eager way (a kink was too near)

    def _assign_rows(self, output: Node, inputs: Sequence[Node], index: dict,
                     plans: list[_Plan]) -> None:
        """Rows: inputs, then parameters read per example, then constants, then each kernel's
        results side by side, so that most reads and writes are slices of ``values``."""
        inputs_set = set(inputs)
        read = {output}
        for plan in plans:
            if plan.neurons is None:
                read.update(p for n in plan.nodes for p in n.parents)
            else:
                read.update(plan.neurons[0].inputs)
        loose = [p for p in self.params if p in read and p not in inputs_set]
        fixed = [n for n in self.order
                 if not n.parents and n not in index and n not in inputs_set]
        rows = [*dict.fromkeys(inputs), *loose, *fixed]
        for plan in plans:
            rows += plan.nodes
        self.slot = {node: row for row, node in enumerate(rows)}
        self.input_slots = np.array([self.slot[x] for x in inputs], dtype=np.intp)
        self._input_rows = Rows(self.input_slots)
        self.output_slot = self.slot[output]
        self.param_slots = np.array([self.slot[p] for p in loose], dtype=np.intp)
        self.param_index = np.array([index[p] for p in loose], dtype=np.intp)
        self.fixed_slots = np.array([self.slot[n] for n in fixed], dtype=np.intp)
        self.fixed_values = np.array([n.data for n in fixed], dtype=float)

    def _kernel(self, plan: _Plan, index: dict, leads: set):
        first = self.slot[plan.nodes[0]]
        out = slice(first, first + len(plan.nodes))
        if plan.neurons is None:
            nodes = plan.nodes
            op, arity = nodes[0].op, len(nodes[0].parents)
            ins = np.array([[self.slot[n.parents[j]] for n in nodes] for j in range(arity)],
                           dtype=np.intp).reshape(arity, len(nodes))
            arg = np.array([[n.arg] for n in nodes], dtype=float) if OPS[op].takes_arg \
                else None
            needed = [any(n.parents[j] in leads for n in nodes) for j in range(arity)]
            return _Group(op, out, ins, arg, needed)
        neurons = plan.neurons
        x = Rows([self.slot[xk] for xk in neurons[0].inputs])
        w = np.array([[index[wk] for wk in n.weights] for n in neurons], dtype=np.intp)
        bias = LayerBias()
        if neurons[0].bias is not None and neurons[0].bias in index:
            bias = LayerBias(params=Rows([index[n.bias] for n in neurons]))
        elif neurons[0].bias is not None:
            bias = LayerBias(rows=Rows([self.slot[n.bias] for n in neurons]))
        return NeuronLayer(out, x, w, bias,
                           inputs_need_grads=any(xk in leads for xk in neurons[0].inputs),
                           n_params=len(self.params))

    def parameter_vector(self) -> np.ndarray:
        """The parameters' current ``.data``, in :attr:`params` order."""
        return gather(self.params, "data")

    def _theta(self, params) -> np.ndarray:
        if params is None:
            return self.parameter_vector()
        theta = np.ascontiguousarray(params, dtype=float)  # layers read views of it
        if theta.shape != (len(self.params),):
            raise ValueError(f"params must be a vector of {len(self.params)} numbers, "
                             f"got shape {theta.shape}")
        return theta

    def _start(self, inputs, params, reuse: bool = False):
        """``(values, theta, work)``: the batch array with the inputs, parameters and
        constants in their rows, the parameter vector, and (with ``reuse``) the workspace
        ``values`` belongs to. ``inputs``: one (number of inputs, batch) array, or a tuple of
        arrays whose rows follow each other (pixels, then targets: no stacking copy)."""
        parts = [np.asarray(part, dtype=float)
                 for part in (inputs if isinstance(inputs, tuple) else (inputs,))]
        if (any(part.ndim != 2 for part in parts) or len({p.shape[1] for p in parts}) != 1
                or sum(len(part) for part in parts) != len(self.input_slots)):
            got = " + ".join(str(part.shape) for part in parts)
            raise ValueError(f"inputs must have shape ({len(self.input_slots)}, batch), "
                             f"got {got}")
        batch = parts[0].shape[1]
        theta = self._theta(params)
        work = self._workspace(batch) if reuse else None
        values = self._fill_fixed(np.empty((len(self.slot), batch))) if work is None else \
            work.values
        if len(self.param_slots):
            values[self.param_slots] = theta[self.param_index][:, None]
        if self._input_rows.consecutive and self._input_rows.index.start == 0:
            row = 0  # the first rows: each part a slice
            for part in parts:
                values[row:row + len(part)] = part
                row += len(part)
        else:
            values[self._input_rows.index] = np.vstack(parts)
        return values, theta, work

    def _fill_fixed(self, values: np.ndarray) -> np.ndarray:
        if len(self.fixed_slots):
            values[self.fixed_slots] = self.fixed_values[:, None]
        return values

    def _workspace(self, batch: int) -> _Workspace:
        """This thread's arrays for batches of ``batch`` (a few sizes kept: an epoch's last
        batch is often shorter), so that a training loop allocates nothing per batch."""
        spaces = self._local.__dict__.setdefault("spaces", {})
        work = spaces.get(batch)
        if work is None:
            if len(spaces) >= 4:
                spaces.clear()
            shape = (len(self.slot), batch)
            work = spaces[batch] = _Workspace(self._fill_fixed(np.empty(shape)),
                                              np.empty(shape), np.empty(len(self.params)),
                                              np.empty(shape))
        return work

    def forward(self, inputs: Batch, params=None) -> np.ndarray:
        """Values of every row for a batch: ``inputs`` is (number of inputs, batch size);
        ``params`` the parameter vector (default: the parameters' ``.data``)."""
        values, theta, _ = self._start(inputs, params)
        self._forward(values, theta)
        return values

    def _forward(self, values: np.ndarray, theta: np.ndarray, errors=None) -> list:
        """Run the kernels on ``values``; returns what each gathered, for the backward pass.
        Layers are matrix products; the examples where a kink could decide otherwise than
        eager's (``engine.compiler.exactness``), or whose output is not finite, run again the
        eager way.
        ``errors``: an array like ``values`` for the bounds (default: a new one if needed)."""
        with np.errstate(all="ignore"):  # IEEE 754, as the eager engine
            if self.bounds.exact:
                return [kernel.forward(values, theta, exact=True) for kernel in self.kernels]
            fast = self._fast(values, theta, errors)
            if fast.unsure.any():
                self._recompute(values, theta, np.flatnonzero(fast.unsure))
                return [None] * len(self.kernels)  # what they gathered is stale there
            return fast.saved

    def _fast(self, values: np.ndarray, theta: np.ndarray, errors=None) -> Fast:
        """The kernels with matrix products, carrying bounds where a kink needs them."""
        bounds = self.bounds
        if errors is None and any(bounds.carry):
            errors = np.empty_like(values)
        if len(bounds.zero_rows):
            errors[bounds.zero_rows] = 0.0
        unsure = None
        saved = []
        for k, kernel in enumerate(self.kernels):
            args = kernel.forward(values, theta)
            saved.append(args)
            if bounds.carry[k]:
                if isinstance(kernel, NeuronLayer):
                    kernel.bound(values, errors, theta, args,
                                 errors if bounds.inexact_inputs[k] else None)
                else:
                    kernel.carry(values, errors, args)
            if bounds.check[k]:
                found = kernel.unsure(values, errors, args)
                unsure = found if unsure is None else unsure | found
        bad = ~np.isfinite(values[self.output_slot])
        return Fast(saved, errors, bad if unsure is None else unsure | bad)

    def _recompute(self, values: np.ndarray, theta: np.ndarray, columns: np.ndarray) -> None:
        """The eager way, for the examples ``columns`` only: the very numbers eager finds."""
        some = values[:, columns]  # a copy holding their inputs, parameters and constants
        for kernel in self.kernels:
            kernel.forward(some, theta, exact=True)
        values[:, columns] = some
        self.recomputed += len(columns)

    def backward(self, values: np.ndarray, seed: np.ndarray, params=None, saved=None,
                 params_only: bool = False):
        """``(grads, param_grads)`` of Σ_b seed_b · output_b: ``grads`` per row and example,
        ``param_grads`` per parameter, summed over the batch. ``params`` as for forward.
        ``params_only`` skips grads that no parameter's grad needs (the inputs', say): the
        row grads are then incomplete, the parameters' the same."""
        theta = self._theta(params)
        return self._backward(values, seed, theta, saved, params_only, np.zeros_like(values),
                              np.empty(len(self.params)))

    def _backward(self, values, seed, theta, saved, params_only, grads, param_grads):
        # An exact-0 local derivative must contribute 0, not 0·∞ = nan, which takes a check
        # of each kernel's upstream grads. For the parameters' grads alone the pass can skip
        # them: a nan or ∞ never turns finite on its way (x·0 and x + y keep it), so if every
        # parameter's grad comes out finite no upstream grad on their paths was otherwise, and
        # the checked pass would give the same numbers; if not, it runs again, checked.
        careful = not params_only
        while True:
            self._pass(values, seed, theta, saved, params_only, grads, param_grads, careful)
            if careful or np.isfinite(param_grads).all():
                return grads, param_grads
            careful = True

    def _pass(self, values, seed, theta, saved, params_only, grads, param_grads,
              careful) -> None:
        if params_only:  # the rows below are never written: no need to clear them
            grads[self._first_written:] = 0.0
        else:
            grads[:] = 0.0
        grads[self.output_slot] = seed
        param_grads[:] = 0.0
        saved = saved or [None] * len(self.kernels)
        with np.errstate(all="ignore"):
            for kernel, inputs in zip(reversed(self.kernels), reversed(saved), strict=True):
                kernel.backward(values, grads, param_grads, theta, inputs, params_only,
                                careful)
        if len(self.param_slots):
            param_grads[self.param_index] += grads[self.param_slots].sum(axis=1)

    def run(self, inputs: Batch, seed: np.ndarray, params=None,
            params_only: bool = False, reuse: bool = False):
        """:meth:`forward` then :meth:`backward` in one go (the backward pass reuses the
        inputs the forward pass gathered): ``(values, grads, param_grads)``. ``reuse=True``
        runs in arrays this tape keeps per batch size and thread: the returned arrays are
        overwritten by the next such call (a training loop's case), and with ``params_only``
        the rows of ``grads`` no kernel writes hold garbage rather than 0."""
        values, theta, work = self._start(inputs, params, reuse)
        saved = self._forward(values, theta, None if work is None else work.errors)
        if work is not None:
            grads, param_grads = work.grads, work.param_grads
        else:
            grads, param_grads = np.zeros_like(values), np.empty(len(self.params))
        return (values, *self._backward(values, seed, theta, saved, params_only, grads,
                                        param_grads))

    @property
    def numpy_calls(self) -> int:
        """How many fused groups run per pass (a proxy for the numpy calls made)."""
        return len(self.kernels)


def trace(output_fn, example_inputs: list, params: Sequence[Node], check_with=None,
          fuse: bool = True, exact: bool = False) -> Tape:
    """Trace ``output_fn(input_values) -> Value`` once and return a :class:`Tape`.

    ``example_inputs`` are numbers for one example. If ``check_with`` (numbers for another
    example) is given, the function is traced again on it and the two graphs must be the same,
    or :class:`TraceError` names the first node that differs. ``fuse=False`` runs neurons node
    by node instead of as layer kernels (slower; every node then has a row). ``exact=True``
    adds every layer's products in the eager order instead of a matrix product, and computes
    exp, tanh, pow… with Python's ``math``: every value is then the very float the eager
    engine computes (2-20× slower, far more with library functions; by default only the
    examples that sit at a kink are computed that way, see the module docstring).
    """
    with enable_grad():  # a trace must record, even inside no_grad()
        out, leaves = _trace_once(output_fn, example_inputs)
    tape = Tape(out, leaves, params, fuse=fuse, exact=exact)
    if check_with is not None:
        with enable_grad():
            other, other_leaves = _trace_once(output_fn, check_with)
        _check_same_graph(tape.order, leaves, topological_order(other), other_leaves)
    return tape


compile = trace  # noqa: A001 - the name this function had first; prefer ``trace``


def _trace_once(output_fn, numbers) -> tuple[Node, list[Value]]:
    leaves = [Value(float(x), label=f"in{i}") for i, x in enumerate(numbers)]
    out = output_fn(leaves)
    if not isinstance(out, Value):
        raise TypeError(f"compile: the function must return a Value, got "
                        f"{type(out).__name__}")
    return out, leaves


def _check_same_graph(order: list[Node], leaves: list, other_order: list[Node],
                      other_leaves: list) -> None:
    a = _structure(order, {n: i for i, n in enumerate(order)}, set(leaves))
    b = _structure(other_order, {n: i for i, n in enumerate(other_order)}, set(other_leaves))
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            raise TraceError(
                f"the graph depends on the data, so it cannot be compiled: node {i} is "
                f"{_describe(x)} for one example and {_describe(y)} for another. Write the "
                "function without Python `if`s on values or numbers taken from "
                "`.data` (use ops such as relu and max instead)")
    if len(a) != len(b):
        raise TraceError(f"the graph depends on the data, so it cannot be compiled: "
                         f"{len(a)} nodes for one example, {len(b)} for another")


def _describe(entry: tuple) -> str:
    op, parents, arg, bits = entry
    if bits is not None:
        return f"{'the constant' if op == 'const' else 'a leaf holding'} {float.fromhex(bits)!r}"
    arg = None if arg is None else float.fromhex(arg)
    return f"op {op or 'leaf'!r}" + (f" with arg {arg!r}" if arg is not None else "") + (
        f" reading nodes {list(parents)}" if parents else "")
