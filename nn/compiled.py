"""``compile_step``: one training step of a model over a whole batch, traced once.

    step = compile_step(model)                  # softmax cross-entropy, as nn.cross_entropy
    loss = step(X, y)                           # X: (batch, nin), y: class indices
    optimizer.step()                            # the parameters' .grad were filled in

The step builds nothing per example: it runs the traced graph with numpy, one number per
example in every node. It returns the mean loss over the batch and *adds* ∂(mean loss)/∂p to
each parameter's ``.grad`` (as ``loss.backward()`` would after averaging the batch's losses
with ``engine.sum(losses) / len(losses)``): call ``zero_grad`` before each step.
"""

from __future__ import annotations

import numpy as np

import engine
from engine.compile import Tape
from engine.compile import compile as trace
from nn.layers import MLP
from nn.losses import log_sum_exp, mse

LOSSES = ("cross_entropy", "mse")


def cross_entropy_onehot(logits, onehot) -> engine.Value:
    """log Σ e^z − Σ_k t_k z_k: ``nn.cross_entropy`` with the target as a one-hot vector (the
    same numbers, and one graph for every class, as a compiled trace needs)."""
    return log_sum_exp(logits) - engine.sum([t * z for t, z in zip(onehot, logits, strict=True)])


class CompiledStep:
    """A traced forward + backward of ``model`` and a loss, to run on batches."""

    def __init__(self, model: MLP, loss: str = "cross_entropy"):
        if not isinstance(model, MLP):
            raise TypeError(f"compile_step compiles an nn.MLP, got {type(model).__name__}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        self.model, self.loss = model, loss
        self.nin, self.nout = model.nin, model.nouts[-1]
        captured = {}

        def step(leaves):
            x, target = leaves[:self.nin], leaves[self.nin:]
            logits = model(x)
            captured.setdefault("logits", logits)
            if loss == "cross_entropy":
                return cross_entropy_onehot(logits, target)
            return mse(logits, target)

        rng = np.random.default_rng(0)
        example = [*rng.uniform(-1, 1, self.nin), *np.eye(self.nout)[0]]
        other = [*rng.uniform(-1, 1, self.nin), *np.eye(self.nout)[self.nout - 1]]
        self.tape: Tape = trace(step, example, model.parameters(), check_with=other)
        self.logit_slots = np.array([self.tape.slot[v] for v in captured["logits"]])

    def _rows(self, X) -> np.ndarray:
        """X as a (batch, nin) float array, checked before anything else is read."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.nin:
            raise ValueError(f"X must have shape (batch, {self.nin}), got {X.shape}")
        return X

    def _inputs(self, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The tape's inputs: one column per example, pixels then target values."""
        return np.vstack([X.T, targets.T])

    def _targets(self, y, batch: int) -> np.ndarray:
        if self.loss == "mse":
            t = np.asarray(y, dtype=float)
            if t.shape != (batch, self.nout):
                raise ValueError(f"mse targets must have shape ({batch}, {self.nout}), "
                                 f"got {t.shape}")
            return t
        y = np.asarray(y)
        if y.shape != (batch,) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y must be {batch} class indices, got shape {y.shape} of "
                             f"{y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= self.nout):
            raise ValueError(f"class indices must be in 0..{self.nout - 1}")
        return np.eye(self.nout)[y]

    def __call__(self, X, y) -> float:
        """Mean loss over the batch; adds ∂(mean loss)/∂p to every parameter's ``.grad``."""
        X = self._rows(X)
        batch = len(X)
        if batch == 0:
            raise ValueError("the batch is empty")
        values = self.tape.forward(self._inputs(X, self._targets(y, batch)))
        self.last_logits = values[self.logit_slots].T  # for a running accuracy, say
        grads = self.tape.backward(values, np.full(batch, 1.0 / batch))
        for p, g in zip(self.tape.params, grads[self.tape.param_slots].sum(axis=1),
                        strict=True):
            p.grad += float(g)
        return float(values[self.tape.output_slot].mean())

    def logits(self, X) -> np.ndarray:
        """The model's outputs for every row of X, shape (batch, nout); no grads touched."""
        X = self._rows(X)
        dummy = np.zeros((len(X), self.nout))
        values = self.tape.forward(self._inputs(X, dummy))
        return values[self.logit_slots].T

    def losses(self, X, y) -> np.ndarray:
        """The loss of each example, without touching any grad."""
        X = self._rows(X)
        values = self.tape.forward(self._inputs(X, self._targets(y, len(X))))
        return values[self.tape.output_slot].copy()


def compile_step(model: MLP, loss: str = "cross_entropy") -> CompiledStep:
    """Trace ``model`` and ``loss`` once; see :class:`CompiledStep`."""
    return CompiledStep(model, loss)
