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
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from engine.bounds import SAFETY, TINY, gamma
from engine.node import Node
from engine.ops import OPS, Op, Teach, Written, ordered_sum, register
from engine.rows import Block, Rows
from engine.value import Value, as_values, record

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


def _wsum_formula(names: Written) -> str:
    ws, xs, rest = split_wsum(names.inputs)
    return " + ".join([f"{w}·{x}" for w, x in zip(ws, xs, strict=True)] + list(rest))


def _wsum_grad_formula(names: Written, i: int) -> str:
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
    mul = OPS["mul"].forward
    terms = [record("mul", mul(w.data, x.data), (w, x)) for w, x in zip(ws, xs, strict=True)]
    parents = (*terms, *b)
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
class Neuron:
    """A neuron as drawn: its :class:`NeuronParts`, its number among the neurons of the graph
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


def find_neurons(order: Sequence[Node]) -> list[Neuron]:
    """Every neuron of the graph ``order`` (a topological order), in that order."""
    readers_of = readers(order)
    neurons: list[Neuron] = []
    layer_of: dict[Node, int] = {}  # a neuron's output: its layer
    # The deepest layer each node reads, through any nodes: a neuron reading g + h, where g
    # comes from layer 2 and h from layer 1 (a skip connection), is in layer 3.
    depth: dict[Node, int] = {}
    for node in order:
        parts = neuron_parts(node, readers_of)
        if parts is not None:
            layer = 1 + max((depth.get(x, 0) for x in parts.inputs), default=0)
            layer_of[parts.out] = layer
            neurons.append(Neuron(len(neurons), layer, parts))
        # (.get: an order may leave out the leaves, which read no layer)
        depth[node] = layer_of.get(node, max((depth.get(p, 0) for p in node.parents),
                                             default=0))
    return neurons


# ---------------------------------------------------------------------------------------------
# The batched kernel: a layer of neurons over a batch.
# ---------------------------------------------------------------------------------------------

_TERMS_BUDGET = 2**17  # numbers (1 MB) of products a layer holds at once


@dataclass(frozen=True)
class LayerBias:
    """Where a layer's biases come from: ``params`` indices into the parameter vector, or
    ``rows`` of the batch values (a bias that is a node of the graph); neither for none."""

    params: Rows | None = None
    rows: Rows | None = None


class NeuronLayer:
    """J neurons z_j = Σₖ W_jk·X_k + B_j reading the same inputs X_1…X_K, over a batch.

    This is the ``wsum`` row batched. Forward, one matrix product (BLAS) and the bias; with
    ``exact=True``, the products are added in the order the neuron lists them, then the bias,
    as the eager engine adds (a matrix product adds in its own order, with fused
    multiply-adds, so its last bits differ: :meth:`bound` says by how much at most, and the
    compiler recomputes the eager way every example where that could move a kink; see
    ``engine.bounds``). Backward, the row's local derivatives (∂z/∂wₖ = xₖ, ∂z/∂xₖ = wₖ,
    ∂z/∂b = 1) through the chain rule, summed over the neurons and the batch, are, with G
    the neurons' upstream grads, ∂W = G Xᵀ, ∂X = Wᵀ G and ∂B = G: two matrix products (tests
    check them against the row).

    ``out``: the rows of the J results; ``x``: the rows of the K inputs; ``w``: (J, K)
    indices of the weights in the parameter vector, which has ``n_params`` numbers;
    ``inputs_need_grads``: whether some input leads to a parameter (a first layer's inputs
    do not).
    """

    def __init__(self, out: slice, x: Rows, w: np.ndarray, bias: LayerBias,
                 inputs_need_grads: bool = True, n_params: int | None = None):
        self.out, self.x, self.bias = out, x, bias
        self.w_index = np.asarray(w, dtype=np.intp)
        self.w_rows = Rows(self.w_index)
        # A layer's weights sit in the parameter vector neuron after neuron (each row then
        # its bias, as nn lists them): read them as a view, not gathered every batch.
        length = int(self.w_index.max()) + 1 if n_params is None else n_params
        self.w_block = Block.of(self.w_index, length)
        self.b_block = None if bias.params is None else Block.of(bias.params.rows, length)
        self.inputs_need_grads = inputs_need_grads
        # Whether no other kernel adds into this layer's parameter grads (the tape says):
        # the backward pass then writes them instead of adding.
        self.owns_grads = False
        self._scratch = threading.local()

    @property
    def input_rows(self) -> np.ndarray:
        """The rows the layer reads: its inputs, and its biases when they are rows."""
        if self.bias.rows is None:
            return self.x.rows
        return np.concatenate([self.x.rows, self.bias.rows.rows])

    def grad_rows(self) -> np.ndarray:
        """The rows whose grads the backward pass may add into, when only the parameters'
        grads are wanted."""
        bias = self.bias.rows.rows if self.bias.rows is not None else np.empty(0, np.intp)
        return np.concatenate([self.x.rows, bias]) if self.inputs_need_grads else bias

    def param_indices(self) -> np.ndarray:
        """Where the layer's weights and biases are in the parameter vector."""
        bias = self.bias.params.rows if self.bias.params is not None else np.empty(0, np.intp)
        return np.concatenate([self.w_index.ravel(), bias])

    def weights(self, theta: np.ndarray) -> np.ndarray:
        """W, (J, K): a view of ``theta`` where the layout allows."""
        return self.w_block.view(theta) if self.w_block else theta[self.w_index]

    def _bias(self, values, theta):
        """B: (J, 1) from the parameters (the same for every column), (J, batch) from rows
        of the batch, or None."""
        if self.bias.params is not None:
            b = self.b_block.view(theta) if self.b_block else theta[self.bias.params.index]
            return b[:, None]
        if self.bias.rows is not None:
            return values[self.bias.rows.index]
        return None

    def forward(self, values: np.ndarray, theta: np.ndarray, exact: bool = False):
        x = values[self.x.index]  # (K, batch)
        if exact or x.shape[1] == 0:
            self._ordered(values, theta, x)
            return x
        out = values[self.out]  # a view: the product is written in place
        np.matmul(self.weights(theta), x, out=out)
        bias = self._bias(values, theta)
        if bias is not None:
            out += bias
        return x

    def bound(self, values, errors, theta, x, x_errors=None) -> None:
        """``errors[out]`` = a bound on |z − eager's z| for every entry of the last forward
        (``engine.bounds``): ‖W_j‖·(2γ‖x‖ + (1+2γ)‖e‖) + 2γ|B_j| (+ B's own bound), with
        γ = γ_{K+1} and ‖x‖, ‖e‖ the column norms of the inputs and of their bounds
        (``x_errors``: None for exact inputs), each norm √(Σ x² + K·TINY) so that squares
        lost to underflow cannot shrink it, widened by SAFETY."""
        w = self.weights(theta)
        n = w.shape[1] + 1
        g = gamma(n)
        lost = (n - 1) * TINY  # what the squares of tiny numbers lose to underflow, at most
        column = np.sqrt(np.einsum("kb,kb->b", x, x) + lost)
        column *= 2 * g * SAFETY
        if x_errors is not None:
            e = x_errors[self.x.index]
            column += np.sqrt(np.einsum("kb,kb->b", e, e) + lost) * ((1 + 2 * g) * SAFETY)
        out = errors[self.out]
        np.multiply.outer(np.sqrt(np.einsum("jk,jk->j", w, w) + lost), column, out=out)
        bias = self._bias(values, theta)
        if bias is None:
            out += 2 * n * TINY * SAFETY
            return
        out += np.abs(bias) * (2 * g * SAFETY) + 2 * n * TINY * SAFETY
        if self.bias.rows is not None and x_errors is not None:
            out += x_errors[self.bias.rows.index] * SAFETY

    def _ordered(self, values, theta, x) -> None:
        """The eager order: Σ_k W_jk·X_k, term after term, then B_j."""
        wt = self.weights(theta).T  # (K, J)
        k, j = wt.shape
        batch = x.shape[1]
        bias = self._bias(values, theta)
        n = k if bias is None else k + 1
        if batch == 0:  # nothing to add up (and no columns to step through)
            return
        # Every product at once would take n·J·batch numbers (gigabytes for a big test set):
        # a few columns at a time fit a 1 MB scratch array, one per thread, reused (a fresh
        # one per call would cost page faults on every batch).
        width = min(batch, max(1, _TERMS_BUDGET // (n * j)))
        scratch = getattr(self._scratch, "array", None)
        if scratch is None or len(scratch) < n * j * width:
            scratch = self._scratch.array = np.empty(n * j * width)
        out = values[self.out]  # a view: the sums are written in place
        for c in range(0, batch, width):
            cols = slice(c, min(c + width, batch))
            terms = scratch[:n * j * (cols.stop - c)].reshape(n, j, -1)
            np.multiply(wt[:, :, None], x[:, None, cols], out=terms[:k])
            if bias is not None:
                terms[k] = bias if bias.shape[1] == 1 else bias[:, cols]
            out[:, cols] = ordered_sum(terms)

    def backward(self, values, grads, param_grads, theta, x, params_only,
                 careful=True) -> None:
        """The grads of the weights, biases and inputs; ``careful``: check the upstream grads
        for a nan or ∞ (which an exact-0 local derivative must not turn into nan)."""
        if x is None:
            x = values[self.x.index]
        upstream = grads[self.out]
        w = self.weights(theta)  # (J, K)
        if careful and not np.isfinite(upstream).all():  # exact-0 locals: 0, not 0·∞
            self._masked_backward(values, grads, param_grads, w.T, x, upstream, params_only)
            return
        if self.inputs_need_grads or not params_only:
            self.x.add(grads, w.T @ upstream)
        if self.owns_grads and self.w_block:  # the product goes straight into place
            np.matmul(upstream, x.T, out=self.w_block.view(param_grads))
        else:
            self._add_weight_grads(param_grads, upstream @ x.T)
        self._bias_backward(grads, param_grads, upstream)

    def _add_weight_grads(self, param_grads, dw) -> None:
        if self.w_block:
            self.w_block.view(param_grads)[...] += dw
        else:
            self.w_rows.add(param_grads, dw.ravel())

    def _bias_backward(self, grads, param_grads, upstream) -> None:
        if self.bias.params is not None:
            if self.b_block and self.owns_grads:
                np.sum(upstream, axis=1, out=self.b_block.view(param_grads))
            elif self.b_block:
                self.b_block.view(param_grads)[...] += upstream.sum(axis=1)
            else:
                self.bias.params.add(param_grads, upstream.sum(axis=1))
        elif self.bias.rows is not None:
            self.bias.rows.add(grads, upstream)

    def _masked_backward(self, values, grads, param_grads, wt, x, upstream, params_only):
        """The chain rule term by term, each exact-0 local derivative (a weight or an input
        that is 0) giving exactly 0: (K, J, batch) products, for the rare non-finite grads."""
        with np.errstate(all="ignore"):
            if self.inputs_need_grads or not params_only:
                terms = wt[:, :, None] * upstream[None, :, :]
                self.x.add(grads, np.where(wt[:, :, None] == 0, 0.0, terms).sum(axis=1))
            terms = upstream[:, None, :] * x[None, :, :]  # (J, K, batch)
            dw = np.where(x[None, :, :] == 0, 0.0, terms).sum(axis=2)
        self._add_weight_grads(param_grads, dw)
        self._bias_backward(grads, param_grads, upstream)
