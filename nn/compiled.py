"""``compile_step``: one training step of a model over a whole batch, traced once.

    step = compile_step(model)                  # softmax cross-entropy, as nn.cross_entropy
    loss = step(X, y)                           # X: (batch, nin), y: class indices
    optimizer.step()                            # the parameters' .grad were filled in

The step builds nothing per example: it runs the traced graph with numpy, one number per
example in every node. It returns the mean loss over the batch and *adds* ∂(mean loss)/∂p to
each parameter's ``.grad`` (as ``loss.backward()`` would after averaging the batch's losses
with ``engine.sum(losses) / len(losses)``): call ``zero_grad`` before each step.

Reading and writing thousands of Values costs more than the numpy work itself (read
``.data``, add ``.grad``, and the optimizer's read and write; ``bench/bench_compiled.py``
measures both). For a training loop,
``step.training(optimizer)`` keeps the parameters in one numpy vector for the length of a
``with`` block and writes them back into the Values at its end:

    with step.training(optimizer) as train:
        for X, y in batches:
            loss = train(X, y)                  # forward, backward and optimizer.update
    # here the Values hold the trained numbers, and .grad the last batch's gradient

The numbers are the same to the last bit as ``zero_grad(); step(X, y); optimizer.step()``.
"""

from __future__ import annotations

import operator
from contextlib import ExitStack

import numpy as np

import engine
from engine.compiler.compile import Tape, trace
from engine.compiler.rows import Rows
from engine.node import gather, scatter
from nn.layers import MLP
from nn.losses import log_sum_exp, mse
from nn.optim import Optimizer

LOSSES = ("cross_entropy", "mse")


def cross_entropy_onehot(logits, onehot) -> engine.Value:
    """log Σ e^z − Σ_k t_k z_k: ``nn.cross_entropy`` with the target as a one-hot vector (the
    same numbers, and one graph for every class, as a compiled trace needs)."""
    return log_sum_exp(logits) - engine.sum([t * z for t, z in zip(onehot, logits, strict=True)])


class CompiledStep:
    """A traced forward + backward of ``model`` and a loss, to run on batches."""

    def __init__(self, model: MLP, loss: str = "cross_entropy", exact: bool = False):
        if not isinstance(model, MLP):
            raise TypeError(f"compile_step compiles an nn.MLP, got {type(model).__name__}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        self.model, self.loss = model, loss
        self.nin, self.nout = model.nin, model.nouts[-1]
        self._eye = np.eye(self.nout)  # the one-hot targets' rows
        captured: dict[str, list[engine.Value]] = {}

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
        self.tape: Tape = trace(step, example, model.parameters(), check_with=other,
                                exact=exact)
        self.logit_slots = np.array([self.tape.slot[v] for v in captured["logits"]])
        self._logit_rows, self._seeds = Rows(self.logit_slots).index, _Seeds()  # a slice if it can

    def _rows(self, X) -> np.ndarray:
        """X as a (batch, nin) float array, checked before anything else is read: real
        numbers (as the eager model takes), two dimensions, at least one row."""
        if (type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2
                and X.shape[1] == self.nin and len(X)):
            return X  # a training loop's case, checked in one line
        X = np.asarray(X)
        if np.iscomplexobj(X) or not (np.issubdtype(X.dtype, np.number)
                                      or X.dtype == np.bool_):
            raise TypeError(f"X must hold real numbers, got {X.dtype}")
        X = X.astype(float, copy=False)
        if X.ndim != 2 or X.shape[1] != self.nin:
            raise ValueError(f"X must have shape (batch, {self.nin}), got {X.shape}")
        if len(X) == 0:
            raise ValueError("the batch is empty")
        return X

    def _inputs(self, X: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tape's inputs: one column per example, pixels then target values."""
        return X.T, targets.T

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
        return self._eye[y]

    def _run(self, X, y, theta: np.ndarray):
        """(mean loss, logits, ∂(mean loss)/∂params) for a batch, with parameters theta."""
        X = self._rows(X)
        batch = len(X)
        inputs = list(self._inputs(X, self._targets(y, batch)))  # checked, as theta is
        values, _, grads = self.tape.run_checked(inputs, self._seeds[batch], theta, True, True)
        # The mean as np.mean takes it (the same sum, then ÷ batch), without its overhead.
        loss = float(np.add.reduce(values[self.tape.output_slot])) / batch
        return loss, values[self._logit_rows].copy().T, grads  # a copy: the rows are reused

    def __call__(self, X, y) -> float:
        """Mean loss over the batch; adds ∂(mean loss)/∂p to every parameter's ``.grad``."""
        loss, self.last_logits, grads = self._run(X, y, self.tape.parameter_vector())
        params = self.tape.params
        scatter(params, "grad", gather(params, "grad") + grads)
        return loss

    def training(self, optimizer) -> TrainingBlock:
        """A ``with`` block in which ``train(X, y)`` runs this step and ``optimizer`` on one
        parameter vector, writing the Values back at the end; see :class:`TrainingBlock`."""
        return TrainingBlock(self, optimizer)

    def logits(self, X, params=None) -> np.ndarray:
        """The model's outputs for every row of X, shape (batch, nout); no grads touched.
        ``params``: a parameter vector in ``tape.params`` order (default: the Values')."""
        X = self._rows(X)
        dummy = np.zeros((len(X), self.nout))
        values = self.tape.forward(self._inputs(X, dummy), params)
        return values[self.logit_slots].T

    def losses(self, X, y) -> np.ndarray:
        """The loss of each example, without touching any grad."""
        X = self._rows(X)
        values = self.tape.forward(self._inputs(X, self._targets(y, len(X))))
        return values[self.tape.output_slot].copy()


class TrainingBlock:
    """A training loop's state while a ``with step.training(optimizer)`` block runs.

    The parameters live in one numpy vector: ``train(X, y)`` runs forward and backward over
    the batch and the optimizer's :meth:`~nn.optim.Optimizer.update` on that vector, touching
    no Value. The model's Values are written (``.data``, and ``.grad`` = the last batch's
    gradient) by :meth:`sync` and when the block ends, also by an exception or Ctrl-C; until
    then they hold the numbers they had when the block began, and a change made to them
    inside the block is overwritten at its end. ``theta`` and ``grad`` are the block's two
    vectors, written in place at each batch (copy them to keep a moment).
    """

    def __init__(self, step: CompiledStep, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"training() needs an nn.optim optimizer, got "
                            f"{type(optimizer).__name__}")
        self.step, self.optimizer = step, optimizer
        # The vector is in the optimizer's order; the tape reads it in its own.
        self._to_tape = _order(step.tape.params, optimizer.params)
        self._from_tape = None if self._to_tape is None else np.argsort(self._to_tape)
        self.theta = self.grad = None
        self.last_logits = None
        self._open = ExitStack()  # holds the optimizer's lease while the block is open

    def __enter__(self) -> TrainingBlock:
        # The block is open while the optimizer is lent to it.
        with ExitStack() as stack:
            stack.enter_context(self.optimizer.lend(self, "training block "
                                                          "(step.training(optimizer))"))
            self.theta, self.grad = self.optimizer.parameter_vectors()
            self._open = stack.pop_all()  # reading the vectors went well: keep the lease
        return self

    def __exit__(self, *exc) -> None:
        with self._open:  # the lease ends however the write-back ends
            self._write()

    def _tape_theta(self) -> np.ndarray:
        if self.optimizer.holder is not self:
            raise RuntimeError("use step.training(optimizer) in a `with` block")
        return self.theta if self._to_tape is None else self.theta[self._to_tape]

    def __call__(self, X, y) -> float:
        """Mean loss over the batch, then one optimizer update of the parameter vector."""
        theta = self._tape_theta()
        loss, logits, grads = self.step._run(X, y, theta)
        self.last_logits = logits
        if self._from_tape is not None:
            grads = grads[self._from_tape]
        # 0.0 + g, as zero_grad() then `p.grad += g` gives (it turns a -0.0 into 0.0), so
        # the update sees the very numbers the Value path would. Both vectors are the block's
        # own and are written where they are: no new vector per batch.
        np.add(grads, 0.0, out=self.grad)
        self.optimizer.update_into(self.theta, self.grad)
        return loss

    def logits(self, X) -> np.ndarray:
        """The model's outputs with the current parameter vector, shape (batch, nout)."""
        return self.step.logits(X, self._tape_theta())

    def sync(self) -> None:
        """Write the parameter vector into the Values' ``.data`` and the last gradient into
        their ``.grad`` (the optimizer's own state is always current)."""
        self._tape_theta()  # only inside the block: after it, the Values are the truth
        self._write()

    def _write(self) -> None:
        scatter(self.optimizer.params, "data", self.theta)
        scatter(self.optimizer.params, "grad", self.grad)


class _Seeds(dict):
    """The seed 1/batch of each example's loss (∂ mean / ∂ loss_b) per batch size, made once."""

    def __missing__(self, batch: int) -> np.ndarray:
        seed = self[batch] = np.full(batch, 1.0 / batch)
        seed.flags.writeable = False
        return seed


def _order(ours: list, theirs: list) -> np.ndarray | None:
    """Where each of ``ours`` is in ``theirs`` (None: the same list, the common case, checked
    without a dict); a ValueError unless they hold the same parameters."""
    if len(ours) == len(theirs) and all(map(operator.is_, ours, theirs)):
        return None
    at = {p: i for i, p in enumerate(theirs)}
    missing = [p.label or "unlabelled" for p in ours if p not in at]
    extra = set(at) - set(ours)
    if missing or extra:
        raise ValueError(
            "training() needs an optimizer over exactly the model's parameters: "
            + (f"it lacks {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}"
               if missing else f"it has {len(extra)} parameters the model does not use"))
    return np.array([at[p] for p in ours], dtype=np.intp)


def compile_step(model: MLP, loss: str = "cross_entropy", exact: bool = False) -> CompiledStep:
    """Trace ``model`` and ``loss`` once; see :class:`CompiledStep`. ``exact=True``: every
    number the very float the eager engine computes (slower; see ``engine.compiler.compile``)."""
    return CompiledStep(model, loss, exact)
