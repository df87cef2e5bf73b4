"""The neuron: z = Σₖ wₖ·xₖ + b and its activation a = f(z), defined once.

Everything that needs to know what a neuron is asks this module: the ``wsum`` op (a neuron's
pre-activation as one node) and its input layout, ``weighted_sum`` (how ``nn.Neuron`` records
one), :func:`neuron_parts` (whether a node of any graph is a neuron's pre-activation, and its
weights, inputs, bias and activation), and :class:`NeuronLayer`, the batched kernel the
compiler runs for a layer of them. Drawings collapse, the HTML stepper highlights, the
how-it-works figures read the neurons found here, and the compiler fuses those of them whose
weights are parameters of its tape (the others run node by node, with the same numbers).

A node z is a neuron's pre-activation when it is

- a ``wsum`` node reading (w₁, x₁, …, w_K, x_K[, b]), K ≥ 1; or
- a ``sum`` node whose terms are K ≥ 1 products wₖ × xₖ (``mul`` nodes whose only reader is
  this sum), then at most one more term, the bias b;

where every weight wₖ is a leaf other than a constant (a Value you made: a parameter), and it
comes first in its product, as ``weighted_sum`` and ``nn`` write it (in ``x * w`` with both
leaves, x would be taken for the weight, so such a Σ is read as written). Its activation is
z's reader when z has exactly one and that reader's op is an activation of the op table
(relu, tanh, sigmoid, softplus); otherwise the neuron is linear. :attr:`NeuronParts.wsum_inputs`
is any neuron rewritten in the ``wsum`` form, which the batched kernel computes.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

from engine.node import Node
from engine.ops import OPS, FormulaNames, Op, Teach, register
from engine.value import Value, as_values, products, record

# ---------------------------------------------------------------------------------------------
# The wsum op: inputs (w₁, x₁, w₂, x₂, …[, b]).
# ---------------------------------------------------------------------------------------------


def split_wsum(xs: Sequence):
    """A ``wsum`` node's inputs (w₁, x₁, w₂, x₂, …[, b]) as (weights, inputs, rest), where
    rest is (b,) or (): the one place that knows how the inputs are laid out."""
    end = len(xs) - len(xs) % 2
    return xs[0:end:2], xs[1:end:2], xs[end:]


def interleave(weights: Sequence, inputs: Sequence, rest: Sequence = ()) -> list:
    """The inverse of :func:`split_wsum`: (w₁, x₁, w₂, x₂, …, *rest)."""
    parents = [None] * (2 * len(weights))
    parents[0::2], parents[1::2] = weights, inputs
    return parents + list(rest)


def _wsum(*xs):
    # w₁·x₁ + w₂·x₂ + … (+ b), added in that order, product by product, exactly as a Σ node
    # of mul nodes would (reduce is a left fold; the built-in sum may compensate, and would
    # differ).
    ws, vs, rest = split_wsum(xs)
    if not ws:
        return rest[0]
    total = functools.reduce(operator.add, map(operator.mul, ws, vs))
    return total + rest[0] if rest else total


def _wsum_grads(out, *xs):
    """∂(Σ wᵢ·xᵢ + b)/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ (each input's partner), ∂/∂b = 1."""
    ws, vs, rest = split_wsum(xs)
    grads = interleave(vs, ws, rest)
    if rest:
        grads[-1] = 1.0
    return tuple(grads)


def _wsum_formula(names: FormulaNames) -> str:
    ws, xs, rest = split_wsum(names.inputs)
    return " + ".join([f"{w}·{x}" for w, x in zip(ws, xs, strict=True)] + list(rest))


def _wsum_grad_formula(names: FormulaNames, i: int) -> str:
    # The partner: ∂/∂wᵢ is xᵢ and ∂/∂xᵢ is wᵢ; ∂/∂b is 1.
    pairs = 2 * len(split_wsum(names.inputs)[0])
    return names.inputs[i ^ 1] if i < pairs else "1"


WSUM: Op = Op(
    "wsum", "Σw·x", -1,
    forward=_wsum,
    local_grads=_wsum_grads,
    formula=_wsum_formula,
    grad_formulas=_wsum_grad_formula,
    teach=Teach(noun="a neuron's weighted sum"),
)
register(WSUM)


def weighted_sum(weights: Iterable[Value | float], inputs: Iterable[Value | float],
                 bias: Value | float | None = None, fused: bool = False) -> Value:
    """Σᵢ wᵢ·xᵢ (+ b): what a neuron computes, recorded as one product node per pair and one
    n-ary Σ node (exactly the graph ``sum([w * x for …] + [b])`` records, built faster: this
    runs once per neuron per example, so it skips the per-operator dispatch).

    ``fused=True`` records one ``wsum`` node instead, with inputs (w₁, x₁, w₂, x₂, …, b) and
    local derivatives ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1: the same number, added in the same
    order, and the same grads (bit for bit when each Value appears once; one read by several
    products gets its contributions summed in another order), with n fewer nodes.
    """
    ws, xs = _values(weights, "weights"), _values(inputs, "inputs")
    if len(ws) != len(xs):
        raise ValueError(f"engine.weighted_sum: {len(ws)} weights for {len(xs)} inputs")
    b = [] if bias is None else as_values("engine.weighted_sum bias", [bias])
    if not ws and not b:
        raise ValueError("engine.weighted_sum: needs at least one weight or a bias")
    if fused:
        parents = tuple(interleave(ws, xs, b))
        return record("wsum", _wsum(*[p.data for p in parents]), parents)
    parents = (*products(ws, xs), *b)
    return record("sum", OPS["sum"].forward(*[p.data for p in parents]), parents)


def _values(items, what: str) -> list[Value]:
    # The common case is a list of Values; anything else goes through the checked conversion.
    who = f"engine.weighted_sum {what}"
    if isinstance(items, (Value, str, bytes)) or not hasattr(items, "__iter__"):
        return as_values(who, items)  # raises: not an iterable of Values
    items = list(items)  # empty is fine (the bias alone)
    # (map, not a generator: this runs twice per neuron per example)
    return items if all(map(isinstance, items, repeat(Value))) else as_values(who, items)


# ---------------------------------------------------------------------------------------------
# Finding neurons in a graph.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeuronParts:
    """A neuron found in a graph: z = Σₖ wₖ·xₖ (+ b) and a = f(z).

    ``total`` is z (a ``wsum`` node, or a Σ of the ``products``); ``bias`` is b or None;
    ``activation`` is the node a = f(z), or None for a linear neuron.
    """

    total: Node
    weights: tuple[Node, ...]
    inputs: tuple[Node, ...]
    bias: Node | None
    products: tuple[Node, ...]
    activation: Node | None

    @property
    def out(self) -> Node:
        """What the neuron passes on: a, or z for a linear neuron."""
        return self.activation or self.total

    @property
    def activation_name(self) -> str:
        """The activation's op name, ``"linear"`` for none."""
        return self.activation.op if self.activation is not None else "linear"

    @property
    def wsum_inputs(self) -> tuple[Node, ...]:
        """The neuron in the ``wsum`` form, whatever its form in the graph: the inputs
        (w₁, x₁, …, w_K, x_K[, b]) of the one node that computes z, in z's order."""
        return tuple(interleave(self.weights, self.inputs,
                                () if self.bias is None else (self.bias,)))


def readers(order: Sequence[Node]) -> dict[Node, list[Node]]:
    """For each node of ``order``, the nodes that read it (once per edge: ``a * a`` twice)."""
    found: dict[Node, list[Node]] = {}
    for node in order:
        for parent in node.parents:
            found.setdefault(parent, []).append(node)
    return found


def neuron_parts(node: Node, readers_of: Mapping[Node, Sequence[Node]]) -> NeuronParts | None:
    """``node``'s neuron if it is a neuron's pre-activation (see the module docstring), else
    None. ``readers_of`` is :func:`readers` of a graph holding ``node``."""
    parents = node.parents
    if node.op == "wsum":
        weights, inputs, rest = split_wsum(parents)
        if not weights or not all(_is_weight(w) for w in weights):
            return None
        products: tuple[Node, ...] = ()
    elif node.op == "sum":
        k = 0
        while k < len(parents) and _is_product(parents[k], node, readers_of):
            k += 1
        if k == 0 or len(parents) - k > 1:
            return None
        products, rest = parents[:k], parents[k:]
        weights = tuple(m.parents[0] for m in products)
        inputs = tuple(m.parents[1] for m in products)
    else:
        return None
    users = readers_of.get(node, ())
    act = users[0] if len(users) == 1 and OPS[users[0].op].activation else None
    return NeuronParts(node, tuple(weights), tuple(inputs), rest[0] if rest else None,
                       tuple(products), act)


def _is_weight(node: Node) -> bool:
    """A leaf that is not a constant: a number that can learn."""
    return not node.parents and node.op != "const"


def _is_product(term: Node, total: Node, readers_of) -> bool:
    """A term wₖ × xₖ of ``total``: a ``mul`` node with a weight first, read only there."""
    return (term.op == "mul" and _is_weight(term.parents[0])
            and readers_of.get(term, ()) == [total])


@dataclass(frozen=True)
class FoundNeuron:
    """A neuron found in a graph by :func:`find_neurons` (``nn.Neuron`` is the module that
    records one): its :class:`NeuronParts`, its number among the neurons of the graph
    (``index``) and its ``layer``, one more than the deepest layer among the neurons it
    reads (1 for a neuron that reads none)."""

    index: int
    layer: int
    parts: NeuronParts

    @property
    def total(self) -> Node:
        return self.parts.total

    @property
    def out(self) -> Node:
        return self.parts.out

    @property
    def inputs(self) -> list[Node]:
        return list(self.parts.inputs)

    @property
    def params(self) -> list[Node]:
        """Its weights and, if it is a leaf, its bias."""
        bias = self.parts.bias
        return [*self.parts.weights] + ([bias] if bias is not None and not bias.parents else [])

    @property
    def members(self) -> list[Node]:
        """The nodes the neuron stands for in a collapsed drawing."""
        act = self.parts.activation
        return [*self.parts.products, *self.params, self.total] + ([act] if act else [])


def find_neurons(order: Sequence[Node]) -> list[FoundNeuron]:
    """Every neuron of the graph ``order`` (a topological order), in that order."""
    readers_of = readers(order)
    neurons: list[FoundNeuron] = []
    layer_of: dict[Node, int] = {}  # a neuron's output: its layer
    # The deepest layer each node reads, through any nodes: a neuron reading g + h, where g
    # comes from layer 2 and h from layer 1 (a skip connection), is in layer 3.
    depth: dict[Node, int] = {}
    for node in order:
        parts = neuron_parts(node, readers_of)
        if parts is not None:
            layer = 1 + max((depth.get(x, 0) for x in parts.inputs), default=0)
            layer_of[parts.out] = layer
            neurons.append(FoundNeuron(len(neurons), layer, parts))
        # (.get: an order may leave out the leaves, which read no layer)
        depth[node] = layer_of.get(node, max((depth.get(p, 0) for p in node.parents),
                                             default=0))
    return neurons
