"""The neuron-layer kernel: a layer of neurons (the ``wsum`` op, see ``engine.neuron``) over a
batch, as one matrix product."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from engine.compiler.exactness import SAFETY, TINY, gamma
from engine.compiler.rows import Block, Rows
from engine.ops import ordered_sum

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
    ``engine.compiler.exactness``). Backward, the row's local derivatives (∂z/∂wₖ = xₖ, ∂z/∂xₖ = wₖ,
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
        (``engine.compiler.exactness``): ‖W_j‖·(2γ‖x‖ + (1+2γ)‖e‖) + 2γ|B_j| (+ B's own bound), with
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
