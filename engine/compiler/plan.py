"""Planning a tape: which kernels run, in what order (the nodes with one op at one depth; the
layers of neurons whose weights are parameters), which row of the batch array holds each node,
and the kernels built from that plan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.compiler.kernel import Kernel, OpGroup
from engine.compiler.layer import LayerBias, NeuronLayer
from engine.compiler.rows import Rows
from engine.neuron import NeuronParts, neuron_parts, readers
from engine.node import Node
from engine.ops import OPS


@dataclass
class KernelPlan:
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


def plan_kernels(order: list[Node], index: dict, fuse: bool) -> list[KernelPlan]:
    """The kernels, in an order that runs every node after its inputs (by depth)."""
    depth = _depths(order)
    layers = _layers(order, index, depth) if fuse else {}
    neurons = [n for layer in layers.values() for n in layer]
    skipped = {m for n in neurons for m in n.products} | {n.total for n in neurons}
    groups: dict[tuple, list[Node]] = {}
    for node in order:
        if node.parents and node not in skipped:
            groups.setdefault((depth[node], node.op, len(node.parents)), []).append(node)
    plans = [KernelPlan(level, nodes) for (level, _, _), nodes in groups.items()]
    plans += [KernelPlan(level, [n.total for n in layer], layer)
              for (level, _, _), layer in layers.items()]
    return sorted(plans, key=lambda plan: plan.depth)  # stable: ties keep their order


def computed_from_params(order: list[Node], index: dict) -> set[Node]:
    """The parameters and every node computed from one: only their grads are needed for the
    parameters' grads (not a first layer's inputs', say)."""
    found = set(index)
    for node in order:
        if any(p in found for p in node.parents):
            found.add(node)
    return found


@dataclass(frozen=True)
class RowLayout:
    """Which row of a tape's batch array holds each node (``slot``): the inputs, then the
    parameters read per example (``param_slots``, holding ``param_index`` of the parameter
    vector), then the constants (``const_slots``, holding ``const_values``), then each
    kernel's results side by side, so that most reads and writes are slices."""

    slot: dict[Node, int]
    input_slots: np.ndarray
    input_rows: Rows  # the input slots, a slice when consecutive
    output_slot: int
    param_slots: np.ndarray
    param_index: np.ndarray
    const_slots: np.ndarray
    const_values: np.ndarray

    @classmethod
    def of(cls, order: list[Node], output: Node, inputs: Sequence[Node], index: dict,
           plans: list[KernelPlan]) -> RowLayout:
        """The layout of a graph (``order``) planned as ``plans``; ``index``: each
        parameter's place in the parameter vector."""
        inputs_set = set(inputs)
        read = {output}
        for plan in plans:
            if plan.neurons is None:
                read.update(p for n in plan.nodes for p in n.parents)
            else:
                read.update(plan.neurons[0].inputs)
        row_params = [p for p in index if p in read and p not in inputs_set]
        constants = [n for n in order
                     if not n.parents and n not in index and n not in inputs_set]
        rows = [*dict.fromkeys(inputs), *row_params, *constants]
        for plan in plans:
            rows += plan.nodes
        slot = {node: row for row, node in enumerate(rows)}
        input_slots = np.array([slot[x] for x in inputs], dtype=np.intp)
        return cls(slot, input_slots, Rows(input_slots), slot[output],
                   np.array([slot[p] for p in row_params], dtype=np.intp),
                   np.array([index[p] for p in row_params], dtype=np.intp),
                   np.array([slot[n] for n in constants], dtype=np.intp),
                   np.array([n.data for n in constants], dtype=float))

    def batch_parts(self, inputs) -> list[np.ndarray]:
        """``inputs`` as float arrays, checked: one (number of inputs, batch) array, or a
        tuple of arrays whose rows follow each other (pixels, then targets: no stacking
        copy)."""
        parts = [np.asarray(part, dtype=float)
                 for part in (inputs if isinstance(inputs, tuple) else (inputs,))]
        if (any(part.ndim != 2 for part in parts) or len({p.shape[1] for p in parts}) != 1
                or sum(len(part) for part in parts) != len(self.input_slots)):
            got = " + ".join(str(part.shape) for part in parts)
            raise ValueError(f"inputs must have shape ({len(self.input_slots)}, batch), "
                             f"got {got}")
        return parts

    def fill(self, values: np.ndarray, parts: list[np.ndarray], theta: np.ndarray) -> None:
        """The parameters read per example and the inputs (``parts``) into their rows."""
        if len(self.param_slots):
            values[self.param_slots] = theta[self.param_index][:, None]
        if self.input_rows.consecutive and self.input_rows.index.start == 0:
            row = 0  # the first rows: each part a slice
            for part in parts:
                values[row:row + len(part)] = part
                row += len(part)
        else:
            values[self.input_rows.index] = np.vstack(parts)

    def fill_constants(self, values: np.ndarray) -> np.ndarray:
        """``values`` with the constants' rows filled in (they never change)."""
        if len(self.const_slots):
            values[self.const_slots] = self.const_values[:, None]
        return values


def build_kernel(plan: KernelPlan, layout: RowLayout, index: dict, from_params: set,
                 n_params: int) -> Kernel:
    """The kernel that runs ``plan``: an :class:`OpGroup` or a :class:`NeuronLayer`;
    ``from_params``: the nodes computed from a parameter."""
    slot = layout.slot
    first = slot[plan.nodes[0]]
    out = slice(first, first + len(plan.nodes))
    if plan.neurons is None:
        nodes = plan.nodes
        op, arity = nodes[0].op, len(nodes[0].parents)
        ins = np.array([[slot[n.parents[j]] for n in nodes] for j in range(arity)],
                       dtype=np.intp).reshape(arity, len(nodes))
        arg = np.array([[n.arg] for n in nodes], dtype=float) if OPS[op].takes_arg else None
        feeds = [any(n.parents[j] in from_params for n in nodes) for j in range(arity)]
        return OpGroup(op, out, ins, arg, feeds)
    neurons = plan.neurons
    x = Rows([slot[xk] for xk in neurons[0].inputs])
    w = np.array([[index[wk] for wk in n.weights] for n in neurons], dtype=np.intp)
    bias = LayerBias()
    if neurons[0].bias is not None and neurons[0].bias in index:
        bias = LayerBias(params=Rows([index[n.bias] for n in neurons]))
    elif neurons[0].bias is not None:
        bias = LayerBias(rows=Rows([slot[n.bias] for n in neurons]))
    return NeuronLayer(out, x, w, bias,
                       inputs_need_grads=any(xk in from_params for xk in neurons[0].inputs),
                       n_params=n_params)
