"""The neuron-layer kernel: a layer of neurons (the ``wsum`` op, see ``engine.neuron``) over a
batch, as one matrix product."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from engine.compiler.exactness import layer_bound
from engine.compiler.rows import Block, Rows
from engine.ops import ordered_sum

_TERMS_BUDGET = 2**17  # numbers (1 MB) of products a layer holds at once


@dataclass(frozen=True)
class LayerBias:
    """Where a layer's biases come from: ``params`` indices into the parameter vector, or
    ``rows`` of the batch values (a bias that is a node of the graph); neither for none."""

    params: Rows | None = None
    rows: Rows | None = None


class LayerParams:
    """Where a layer's weights and biases live in the parameter vector (``w``: (J, K)
    indices of the weights; ``bias``: where the biases come from; the vector has ``length``
    numbers), read as views where the layout allows, and how their grads go back into it."""

    def __init__(self, w: np.ndarray, bias: LayerBias, length: int | None = None) -> None:
        self.bias = bias
        self.w_index = np.asarray(w, dtype=np.intp)
        self.w_rows = Rows(self.w_index)
        # A layer's weights sit in the parameter vector neuron after neuron (each row then
        # its bias, as nn lists them): read them as a view, not gathered every batch.
        length = int(self.w_index.max()) + 1 if length is None else length
        self.w_block = Block.of(self.w_index, length)
        self.b_block = None if bias.params is None else Block.of(bias.params.rows, length)
        # Whether no other kernel adds into these parameters' grads (see claim): the
        # backward pass then writes them instead of adding.
        self.owns_grads = False

    def indices(self) -> np.ndarray:
        """Where the layer's weights and biases are in the parameter vector."""
        bias = self.bias.params.rows if self.bias.params is not None else np.empty(0, np.intp)
        return np.concatenate([self.w_index.ravel(), bias])

    def claim(self, writers: np.ndarray) -> None:
        """Own the grads when this layer is the only writer of each of its parameters'."""
        self.owns_grads = bool(np.all(writers[self.indices()] == 1))

    def weights(self, theta: np.ndarray) -> np.ndarray:
        """W, (J, K): a view of ``theta`` where the layout allows."""
        return self.w_block.view(theta) if self.w_block else theta[self.w_index]

    def biases(self, values, theta):
        """B: (J, 1) from the parameters (the same for every column), (J, batch) from rows
        of the batch, or None."""
        if self.bias.params is not None:
            b = self.b_block.view(theta) if self.b_block else theta[self.bias.params.index]
            return b[:, None]
        if self.bias.rows is not None:
            return values[self.bias.rows.index]
        return None

    def weight_grads(self, param_grads, upstream, x) -> None:
        """∂W = G Xᵀ into the parameters' grads (written in place when owned)."""
        if self.owns_grads and self.w_block:  # the product goes straight into place
            np.matmul(upstream, x.T, out=self.w_block.view(param_grads))
        else:
            self.add_weight_grads(param_grads, upstream @ x.T)

    def add_weight_grads(self, param_grads, dw) -> None:
        """``param_grads[W] += dw``."""
        if self.w_block:
            self.w_block.view(param_grads)[...] += dw
        else:
            self.w_rows.add(param_grads, dw.ravel())

    def bias_grads(self, grads, param_grads, upstream) -> None:
        """∂B = G, summed over the batch for parameter biases, per example for rows."""
        if self.bias.params is not None:
            if self.b_block and self.owns_grads:
                np.sum(upstream, axis=1, out=self.b_block.view(param_grads))
            elif self.b_block:
                self.b_block.view(param_grads)[...] += upstream.sum(axis=1)
            else:
                self.bias.params.add(param_grads, upstream.sum(axis=1))
        elif self.bias.rows is not None:
            self.bias.rows.add(grads, upstream)


class NeuronLayer:
    """J neurons z_j = Σₖ W_jk·X_k + B_j reading the same inputs X_1…X_K, over a batch.

    This is the ``wsum`` row batched. Forward, one matrix product (BLAS) and the bias; with
    ``exact=True``, the products are added in the order the neuron lists them, then the bias,
    as the eager engine adds (a matrix product adds in its own order, with fused
    multiply-adds, so its last bits differ: :meth:`bound` says by how much at most; see
    ``engine.compiler.exactness``). Backward, the row's local derivatives (∂z/∂wₖ = xₖ,
    ∂z/∂xₖ = wₖ, ∂z/∂b = 1) through the chain rule, summed over the neurons and the batch,
    are, with G the neurons' upstream grads, ∂W = G Xᵀ, ∂X = Wᵀ G and ∂B = G: two matrix
    products (tests check them against the row).

    ``out``: the rows of the J results; ``x``: the rows of the K inputs; ``w``: (J, K)
    indices of the weights in the parameter vector, which has ``n_params`` numbers;
    ``inputs_need_grads``: whether some input leads to a parameter (a first layer's do not).
    """

    makes_inexact = True  # a matrix product: its last bits are not eager's
    can_bound = True

    def __init__(self, out: slice, x: Rows, w: np.ndarray, bias: LayerBias,
                 inputs_need_grads: bool = True, n_params: int | None = None):
        self.out, self.x, self.bias = out, x, bias
        self.params = LayerParams(w, bias, n_params)
        self.inputs_need_grads = inputs_need_grads
        self._scratch = threading.local()

    @property
    def input_rows(self) -> np.ndarray:
        """The rows the layer reads: its inputs, and its biases when they are rows."""
        if self.bias.rows is None:
            return self.x.rows
        return np.concatenate([self.x.rows, self.bias.rows.rows])

    def grad_rows(self) -> np.ndarray:
        bias = self.bias.rows.rows if self.bias.rows is not None else np.empty(0, np.intp)
        return np.concatenate([self.x.rows, bias]) if self.inputs_need_grads else bias

    def param_indices(self) -> np.ndarray:
        return self.params.indices()

    def claim_grads(self, writers: np.ndarray) -> None:
        self.params.claim(writers)

    def forward(self, values: np.ndarray, theta: np.ndarray, exact: bool = False):
        x = values[self.x.index]  # (K, batch)
        bias = self.params.biases(values, theta)
        if exact or x.shape[1] == 0:
            if x.shape[1]:
                ordered_layer(self.params.weights(theta).T, x, bias, values[self.out],
                              self._scratch)
            return x
        out = values[self.out]  # a view: the product is written in place
        np.matmul(self.params.weights(theta), x, out=out)
        if bias is not None:
            out += bias
        return x

    def watch(self, inexact_rows: np.ndarray, inexact_inputs: bool) -> tuple[bool, bool]:
        return False, False  # a layer has no kink: the activation after it checks

    def reads_input_bounds(self, inexact_inputs: bool) -> bool:
        return inexact_inputs

    def bound(self, values, errors, theta, x, x_errors=None) -> None:
        """``errors[out]`` = a bound on |z − eager's z| for every entry of the last forward
        (:func:`engine.compiler.exactness.layer_bound`); ``x_errors``: None for exact
        inputs."""
        rows = self.bias.rows
        layer_bound(self.params.weights(theta), x,
                    None if x_errors is None else x_errors[self.x.index],
                    self.params.biases(values, theta),
                    None if rows is None or x_errors is None else x_errors[rows.index],
                    errors[self.out])

    def unsure(self, values, errors, saved) -> np.ndarray:
        return np.zeros(values.shape[1], dtype=bool)  # never asked: watch says no checks

    def backward(self, values, grads, param_grads, theta, x, params_only,
                 check_nonfinite=True) -> None:
        """The grads of the weights, biases and inputs; ``check_nonfinite``: check the
        upstream grads for a nan or ∞ (which an exact-0 local derivative must not turn into
        nan)."""
        if x is None:
            x = values[self.x.index]
        upstream = grads[self.out]
        w = self.params.weights(theta)  # (J, K)
        if check_nonfinite and not np.isfinite(upstream).all():  # exact-0 locals: 0, not 0·∞
            dx, dw = _masked_grads(w.T, x, upstream, self.inputs_need_grads or not params_only)
            if dx is not None:
                self.x.add(grads, dx)
            self.params.add_weight_grads(param_grads, dw)
            self.params.bias_grads(grads, param_grads, upstream)
            return
        if self.inputs_need_grads or not params_only:
            self.x.add(grads, w.T @ upstream)
        self.params.weight_grads(param_grads, upstream, x)
        self.params.bias_grads(grads, param_grads, upstream)


def _masked_grads(wt: np.ndarray, x: np.ndarray, upstream: np.ndarray, with_inputs: bool):
    """``(∂X or None, ∂W)`` by the chain rule term by term, each exact-0 local derivative (a
    weight or an input that is 0) giving exactly 0: (K, J, batch) products, for the rare
    non-finite grads. ∂X only ``with_inputs``."""
    dx = None
    with np.errstate(all="ignore"):
        if with_inputs:
            terms = wt[:, :, None] * upstream[None, :, :]
            dx = np.where(wt[:, :, None] == 0, 0.0, terms).sum(axis=1)
        terms = upstream[:, None, :] * x[None, :, :]  # (J, K, batch)
        dw = np.where(x[None, :, :] == 0, 0.0, terms).sum(axis=2)
    return dx, dw


def ordered_layer(wt: np.ndarray, x: np.ndarray, bias, out: np.ndarray, scratch) -> None:
    """``out`` = the eager order's sums: Σ_k W_jk·X_k, term after term, then B_j, for a
    batch of at least one column (``wt``: Wᵀ, (K, J); ``scratch``: a thread-local holder of
    the products' array)."""
    k, j = wt.shape
    batch = x.shape[1]
    n = k if bias is None else k + 1
    # Every product at once would take n·J·batch numbers (gigabytes for a big test set):
    # a few columns at a time fit a 1 MB scratch array, one per thread, reused (a fresh
    # one per call would cost page faults on every batch).
    width = min(batch, max(1, _TERMS_BUDGET // (n * j)))
    array = getattr(scratch, "array", None)
    if array is None or len(array) < n * j * width:
        array = scratch.array = np.empty(n * j * width)
    for c in range(0, batch, width):
        cols = slice(c, min(c + width, batch))
        terms = array[:n * j * (cols.stop - c)].reshape(n, j, -1)
        np.multiply(wt[:, :, None], x[:, None, cols], out=terms[:k])
        if bias is not None:
            terms[k] = bias if bias.shape[1] == 1 else bias[:, cols]
        out[:, cols] = ordered_sum(terms)
