"""Compile a scalar graph once and run it over whole batches with numpy.

A training step builds the same graph for every example; only the input numbers differ. So
trace the graph once, lower it to a tape in topological order, and run that tape over a batch:
each node holds a numpy vector with one number per example. Nodes with the same op at the same
depth run as one numpy call (gather their inputs, apply the op, scatter the results), so the
number of numpy calls grows with the depth of the graph, not with its size.

Forward values and local derivatives come from the same op table as the eager engine (its
rules are written to work on arrays too), so compiled and eager results agree to rounding.

The rule: the graph must not depend on the data. A Python ``if`` on a value, or a number
computed from a value and written into the graph as a constant, would make another example's
graph different. :func:`compile` traces two different examples and refuses (``TraceError``,
naming the first node that differs) when their graphs are not the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.autodiff import topological_order
from engine.ops import OPS
from engine.value import Value, enable_grad


class TraceError(ValueError):
    """The traced graph depends on the data, so one trace cannot stand for every example."""


@dataclass
class _Group:
    """Nodes with the same op, arity and depth: one numpy call forward, one backward."""

    op: str
    out: np.ndarray  # slots of the nodes' results
    ins: list[np.ndarray]  # ins[j]: slots of each node's j-th input
    arg: np.ndarray | None  # (k, 1) column of constant args, for ops that take one
    # How to scatter grads into ins[j]: None when its slots are distinct (a plain +=), else
    # (order, starts, targets): sort by slot, sum each run with np.add.reduceat, add once.
    scatter: list[tuple | None]


def _scatter_plan(slots: np.ndarray):
    if len(np.unique(slots)) == len(slots):
        return None
    order = np.argsort(slots, kind="stable")
    sorted_slots = slots[order]
    starts = np.flatnonzero(np.r_[True, sorted_slots[1:] != sorted_slots[:-1]])
    return order, starts, sorted_slots[starts]


def _structure(order: list[Value], slots: dict, inputs: set) -> list[tuple]:
    """What must be identical between two traces: ops, wiring, args, and the value of every
    leaf that is not an input (constants, and any Value made from a number of the data).
    Values are compared by their bits, so a nan equals a nan."""
    return [(n.op, tuple(slots[p] for p in n.parents),
             None if n.arg is None else float(n.arg).hex(),
             None if n.parents or n in inputs else float(n.data).hex()) for n in order]


class Tape:
    """A traced graph, ready to run on batches.

    ``inputs`` are the leaves whose values change per example (a column per example);
    ``params`` are leaves whose values are shared by the batch (read from their ``.data`` at
    every run, so an optimizer's updates are seen). Every other leaf and constant keeps the
    value it had when traced.
    """

    def __init__(self, output: Value, inputs: list[Value], params: list[Value]):
        self.order = topological_order(output)
        self.slot = {node: i for i, node in enumerate(self.order)}
        missing = [i for i, x in enumerate(inputs) if x not in self.slot]
        if missing:
            raise TraceError(f"inputs {missing} do not reach the output")
        self.input_slots = np.array([self.slot[x] for x in inputs], dtype=np.intp)
        self.params = [p for p in params if p in self.slot]
        self.param_slots = np.array([self.slot[p] for p in self.params], dtype=np.intp)
        self.output_slot = self.slot[output]
        self.fixed = np.array([n.data for n in self.order])  # leaves and constants as traced
        self.groups = self._schedule()

    def _schedule(self) -> list[_Group]:
        depth = np.zeros(len(self.order), dtype=np.intp)
        buckets: dict[tuple, list[Value]] = {}
        for i, node in enumerate(self.order):
            if node.parents:
                depth[i] = 1 + max(depth[self.slot[p]] for p in node.parents)
                buckets.setdefault((depth[i], node.op, len(node.parents)), []).append(node)
        groups = []
        for (_, op, arity), nodes in sorted(buckets.items(), key=lambda kv: kv[0][0]):
            ins = [np.array([self.slot[n.parents[j]] for n in nodes], dtype=np.intp)
                   for j in range(arity)]
            arg = np.array([[n.arg] for n in nodes], dtype=float) if OPS[op].takes_arg \
                else None
            groups.append(_Group(op, np.array([self.slot[n] for n in nodes], dtype=np.intp),
                                 ins, arg, [_scatter_plan(s) for s in ins]))
        return groups

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        """Values of every node for a batch: ``inputs`` is (number of inputs, batch size)."""
        inputs = np.asarray(inputs, dtype=float)
        if inputs.ndim != 2 or len(inputs) != len(self.input_slots):
            raise ValueError(f"inputs must have shape ({len(self.input_slots)}, batch), "
                             f"got {inputs.shape}")
        batch = inputs.shape[1]
        values = np.empty((len(self.order), batch))
        values[:] = self.fixed[:, None]
        values[self.input_slots] = inputs
        if len(self.params):
            values[self.param_slots] = np.array([p.data for p in self.params])[:, None]
        with np.errstate(all="ignore"):  # IEEE 754, as the eager engine
            for g in self.groups:
                row = OPS[g.op]
                args = [values[s] for s in g.ins]
                values[g.out] = row.forward(*args, g.arg) if row.takes_arg \
                    else row.forward(*args)
        return values

    def backward(self, values: np.ndarray, seed: np.ndarray) -> np.ndarray:
        """∂(Σ_b seed_b · output_b)/∂node for every node and example."""
        grads = np.zeros_like(values)
        grads[self.output_slot] = seed
        with np.errstate(all="ignore"):
            for g in reversed(self.groups):
                row = OPS[g.op]
                args = [values[s] for s in g.ins]
                out = values[g.out]
                locals_ = row.local_grads(out, *args, g.arg) if row.takes_arg \
                    else row.local_grads(out, *args)
                upstream = grads[g.out]
                for slots, local, plan in zip(g.ins, locals_, g.scatter, strict=True):
                    contribution = upstream * local
                    if plan is None:
                        grads[slots] += contribution
                    else:  # the same node is an input of several nodes of this group
                        order, starts, targets = plan
                        full = np.broadcast_to(contribution, upstream.shape)
                        grads[targets] += np.add.reduceat(full[order], starts, axis=0)
        return grads

    @property
    def numpy_calls(self) -> int:
        """How many fused groups run per pass (a proxy for the numpy calls made)."""
        return len(self.groups)


def compile(output_fn, example_inputs: list, params: list[Value], check_with=None) -> Tape:  # noqa: A001
    """Trace ``output_fn(input_values) -> Value`` once and return a :class:`Tape`.

    ``example_inputs`` are numbers for one example. If ``check_with`` (numbers for another
    example) is given, the function is traced again on it and the two graphs must be the same,
    or :class:`TraceError` names the first node that differs.
    """
    def trace(numbers):
        leaves = [Value(float(x), label=f"in{i}") for i, x in enumerate(numbers)]
        out = output_fn(leaves)
        if not isinstance(out, Value):
            raise TypeError(f"compile: the function must return a Value, got "
                            f"{type(out).__name__}")
        return out, leaves

    with enable_grad():  # a trace must record, even inside no_grad()
        out, leaves = trace(example_inputs)
    tape = Tape(out, leaves, params)
    if check_with is not None:
        with enable_grad():
            other, other_leaves = trace(check_with)
        other_order = topological_order(other)
        other_slots = {n: i for i, n in enumerate(other_order)}
        a = _structure(tape.order, tape.slot, set(leaves))
        b = _structure(other_order, other_slots, set(other_leaves))
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
    return tape


def _describe(entry: tuple) -> str:
    op, parents, arg, bits = entry
    if bits is not None:
        return f"{'the constant' if op == 'const' else 'a leaf holding'} {float.fromhex(bits)!r}"
    arg = None if arg is None else float.fromhex(arg)
    return f"op {op or 'leaf'!r}" + (f" with arg {arg!r}" if arg is not None else "") + (
        f" reading nodes {list(parents)}" if parents else "")
