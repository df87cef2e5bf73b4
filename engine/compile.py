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
as one :class:`engine.neuron.NeuronLayer`, the batched ``wsum`` row (forward in the eager
order, so the values are the eager engine's to the last bit; backward two matrix products).
Their product nodes get no rows: ``fuse=False`` keeps every node.

The rule: the graph must not depend on the data. A Python ``if`` on a value, or a number
computed from a value and written into the graph as a constant, would make another example's
graph different. :func:`trace` traces two different examples and refuses (``TraceError``,
naming the first node that differs) when their graphs are not the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.autodiff import topological_order
from engine.mode import enable_grad
from engine.neuron import LayerBias, NeuronLayer, NeuronParts, neuron_parts, readers
from engine.node import Node
from engine.ops import OPS
from engine.rows import Rows
from engine.value import Value


class TraceError(ValueError):
    """The traced graph depends on the data, so one trace cannot stand for every example."""


class _Group:
    """Nodes with the same op, arity and depth: one numpy call forward, one backward.
    Their results are consecutive rows, so reading and writing them makes no copy.

    ``ins[j]`` are the rows of every node's input j; ``needed[j]`` whether input j leads to
    a parameter (if not, its grads can be skipped when only the parameters' are wanted).
    """

    def __init__(self, op: str, out: slice, ins: np.ndarray, arg: np.ndarray | None,
                 needed: list[bool]):
        self.row, self.out, self.arg, self.needed = OPS[op], out, arg, needed
        if (arg is not None and len(arg) and float(arg[0, 0]).is_integer()
                and np.all(arg.view(np.int64) == arg.view(np.int64)[0])):
            # One whole-number arg for all (x² everywhere): numpy's fast path, which gives
            # C pow's results. (Not for x**0.5: numpy takes a sqrt, and sqrt(-0.0) = -0.0,
            # sqrt(-inf) = nan, where pow gives 0.0 and inf.)
            self.arg = float(arg[0, 0])
        self.arity, self.nodes = ins.shape
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

    def forward(self, values: np.ndarray, theta: np.ndarray):
        args = self._inputs(values)
        values[self.out] = self.row.compute(args, self.arg)
        return args

    def backward(self, values, grads, param_grads, theta, args, params_only) -> None:
        if args is None:
            args = self._inputs(values)
        locals_ = self.row.derivatives(values[self.out], args, self.arg)
        upstream = grads[self.out]
        # An exact-0 local derivative contributes exactly 0, not 0·∞ (as the eager engine's
        # contribution()): only a non-finite upstream grad can tell the difference.
        finite = bool(np.isfinite(upstream).all())

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

    def __init__(self, output: Node, inputs: list[Node], params: list[Node],
                 fuse: bool = True):
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

    def _assign_rows(self, output: Node, inputs: list[Node], index: dict,
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
                           inputs_need_grads=any(xk in leads for xk in neurons[0].inputs))

    def parameter_vector(self) -> np.ndarray:
        """The parameters' current ``.data``, in :attr:`params` order."""
        return np.fromiter((p.data for p in self.params), float, len(self.params))

    def _theta(self, params) -> np.ndarray:
        if params is None:
            return self.parameter_vector()
        theta = np.asarray(params, dtype=float)
        if theta.shape != (len(self.params),):
            raise ValueError(f"params must be a vector of {len(self.params)} numbers, "
                             f"got shape {theta.shape}")
        return theta

    def _start(self, inputs, params) -> tuple[np.ndarray, np.ndarray]:
        inputs = np.asarray(inputs, dtype=float)
        if inputs.ndim != 2 or len(inputs) != len(self.input_slots):
            raise ValueError(f"inputs must have shape ({len(self.input_slots)}, batch), "
                             f"got {inputs.shape}")
        theta = self._theta(params)
        values = np.empty((len(self.slot), inputs.shape[1]))
        if len(self.fixed_slots):
            values[self.fixed_slots] = self.fixed_values[:, None]
        if len(self.param_slots):
            values[self.param_slots] = theta[self.param_index][:, None]
        values[self._input_rows.index] = inputs  # the first rows: a slice
        return values, theta

    def forward(self, inputs: np.ndarray, params=None) -> np.ndarray:
        """Values of every row for a batch: ``inputs`` is (number of inputs, batch size);
        ``params`` the parameter vector (default: the parameters' ``.data``)."""
        values, theta = self._start(inputs, params)
        with np.errstate(all="ignore"):  # IEEE 754, as the eager engine
            for kernel in self.kernels:
                kernel.forward(values, theta)
        return values

    def backward(self, values: np.ndarray, seed: np.ndarray, params=None, saved=None,
                 params_only: bool = False):
        """``(grads, param_grads)`` of Σ_b seed_b · output_b: ``grads`` per row and example,
        ``param_grads`` per parameter, summed over the batch. ``params`` as for forward.
        ``params_only`` skips grads that no parameter's grad needs (the inputs', say): the
        row grads are then incomplete, the parameters' the same."""
        theta = self._theta(params)
        grads = np.zeros_like(values)
        grads[self.output_slot] = seed
        param_grads = np.zeros(len(self.params))
        saved = saved or [None] * len(self.kernels)
        with np.errstate(all="ignore"):
            for kernel, inputs in zip(reversed(self.kernels), reversed(saved), strict=True):
                kernel.backward(values, grads, param_grads, theta, inputs, params_only)
        if len(self.param_slots):
            param_grads[self.param_index] += grads[self.param_slots].sum(axis=1)
        return grads, param_grads

    def run(self, inputs: np.ndarray, seed: np.ndarray, params=None,
            params_only: bool = False):
        """:meth:`forward` then :meth:`backward` in one go (the backward pass reuses the
        inputs the forward pass gathered): ``(values, grads, param_grads)``."""
        values, theta = self._start(inputs, params)
        with np.errstate(all="ignore"):
            saved = [kernel.forward(values, theta) for kernel in self.kernels]
            return (values, *self.backward(values, seed, theta, saved, params_only))

    @property
    def numpy_calls(self) -> int:
        """How many fused groups run per pass (a proxy for the numpy calls made)."""
        return len(self.kernels)


def trace(output_fn, example_inputs: list, params: list[Node], check_with=None,
          fuse: bool = True) -> Tape:
    """Trace ``output_fn(input_values) -> Value`` once and return a :class:`Tape`.

    ``example_inputs`` are numbers for one example. If ``check_with`` (numbers for another
    example) is given, the function is traced again on it and the two graphs must be the same,
    or :class:`TraceError` names the first node that differs. ``fuse=False`` runs neurons node
    by node instead of as layer kernels (slower; every node then has a row).
    """
    with enable_grad():  # a trace must record, even inside no_grad()
        out, leaves = _trace_once(output_fn, example_inputs)
    tape = Tape(out, leaves, params, fuse=fuse)
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
