"""Optimizers (SGD, Adam) and learning-rate schedules, with PyTorch's update rules.

An optimizer holds a list of parameters (Values) and, on ``step()``, moves each one's ``.data``
against its ``.grad``. The updates are plain float arithmetic: no graph is recorded.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from engine import Value
from engine.node import fill, gather, scatter


def _number(name: str, x: Any, low: float, high: float = math.inf,
            low_inclusive: bool = True) -> float:
    ok = isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)
    ok = ok and (low <= x if low_inclusive else low < x) and x < high
    if not ok:
        bracket = "[" if low_inclusive else "("
        upper = "∞)" if high == math.inf else f"{high})"
        raise ValueError(f"{name} must be a number in {bracket}{low}, {upper}, got {x!r}")
    return float(x)


class Optimizer:
    """Base class: holds the parameters, ``zero_grad()``, ``state_dict()``."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        seen: set[int] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"params[{i}] must be a Value, got {type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"params[{i}] ({p.label or 'unlabelled'}) appears twice: it "
                                 "would be updated twice per step")
            seen.add(id(p))
        self.params = params
        self.lr = _number("lr", lr, 0.0, low_inclusive=False)
        self._holder: object = None  # who runs `update` on the parameters instead of step(), if any
        self._held_as = ""
        self.scratch: list[np.ndarray] = []  # update_into's work vectors (_scratch)

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0 before the next backward pass."""
        fill(self.params, "grad", 0.0)

    # The update rules run on numpy vectors of all parameters at once: the same IEEE
    # operations in the same order as on Python floats (so identical results), without a
    # Python-level loop doing the arithmetic.
    def parameter_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """The parameters' ``.data`` and ``.grad`` as two numpy vectors, in ``params`` order."""
        return gather(self.params, "data"), gather(self.params, "grad")

    def _write(self, data: np.ndarray) -> None:
        scatter(self.params, "data", data)

    @property
    def holder(self) -> object:
        """Whoever holds the parameters (see :meth:`lend`), or None."""
        return self._holder

    @contextmanager
    def lend(self, holder: object, what: str) -> Iterator[None]:
        """Lend the parameters to ``holder`` for a ``with`` block: ``holder`` runs
        :meth:`update` on vectors of its own, so inside the block ``step()`` refuses and no
        one else may borrow them. ``what`` names the holder in those errors."""
        if self._holder is not None:
            raise RuntimeError(f"this optimizer is already in an open {self._held_as}")
        self._holder, self._held_as = holder, what
        try:
            yield
        finally:
            self._holder, self._held_as = None, ""

    def step(self) -> None:
        """Move every parameter's ``.data`` against its ``.grad``."""
        if self._holder is not None:
            raise RuntimeError(f"optimizer.step() inside a {self._held_as}: it updates the "
                               "parameters itself")
        data, grad = self.parameter_vectors()
        self._write(self.update(data, grad))

    def update(self, data: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """The rule itself, on vectors in ``params`` order: the new parameter values for
        ``data`` and ``grad``, advancing the optimizer's state (moments, step count) exactly
        as ``step()`` does. ``step()`` is ``update`` on the Values' numbers; a holder of the
        parameters (:meth:`lend`) calls it on vectors of its own."""
        raise NotImplementedError

    def update_into(self, data: np.ndarray, grad: np.ndarray) -> None:
        """:meth:`update` written into ``data`` (the same floats and state; no new vector)."""
        data[...] = self.update(data, grad)

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters and per-parameter state as JSON-ready numbers and lists."""
        return {"lr": self.lr}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (for the same parameters, in the same order).

        Everything is checked before anything is changed; a missing or bad entry is a
        ``ValueError`` naming it.
        """
        if not isinstance(state, dict):
            raise TypeError(f"optimizer state must be a dict, got {type(state).__name__}")
        for name, value in self._parse_state(state).items():
            setattr(self, name, value)

    def _parse_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """The attributes ``state`` sets, validated (subclasses add theirs). A saved lr may be
        0: a schedule anneals it there at its end (a new optimizer still needs lr > 0)."""
        return {"lr": _number("lr", _entry(state, "lr"), 0.0)}

    def _buffer(self, state: dict[str, Any], key: str) -> list[float]:
        values = _entry(state, key)
        if (not isinstance(values, list) or len(values) != len(self.params)
                or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                           for v in values)):
            raise ValueError(f"optimizer state {key!r} must be a list of "
                             f"{len(self.params)} numbers")
        return [float(v) for v in values]


def _scratch(optimizer: Optimizer, k: int) -> np.ndarray:
    """The optimizer's k-th work vector of its size (made once, reused by every step)."""
    while len(optimizer.scratch) <= k:
        optimizer.scratch.append(np.empty(len(optimizer.params)))
    return optimizer.scratch[k]


def _entry(state: dict[str, Any], key: str) -> Any:
    if key not in state:
        raise ValueError(f"optimizer state has no {key!r} (was it saved by another optimizer?)")
    return state[key]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and weight decay (PyTorch's rule).

    g = grad + weight_decay·p;  v ← momentum·v + g (v = g on the first step);  p ← p − lr·v
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _number("momentum", momentum, 0.0, 1.0)
        self.weight_decay = _number("weight_decay", weight_decay, 0.0)
        # Made on the first step with momentum (a loaded state_dict gives a list).
        self.velocity: np.ndarray | list[float] | None = None

    def update(self, data: np.ndarray, grad: np.ndarray) -> np.ndarray:
        # Without weight decay the gradient is used as it is (as PyTorch does: an infinite
        # weight then stays infinite rather than turning nan through 0·∞).
        g = grad + self.weight_decay * data if self.weight_decay else grad
        if self.momentum:
            # PyTorch starts the momentum buffer at the first gradient (not momentum·0 + g).
            g = g if self.velocity is None else self.momentum * np.asarray(self.velocity) + g
            self.velocity = g
        return data - self.lr * g

    def update_into(self, data: np.ndarray, grad: np.ndarray) -> None:
        # update's operations in its order, each written into a vector made once.
        g = grad
        if self.weight_decay:
            g = np.multiply(self.weight_decay, data, out=_scratch(self, 0))
            np.add(grad, g, out=g)
        if self.momentum:  # v in a vector of this optimizer's (update's may be a grad)
            velocity = _scratch(self, 2)
            if self.velocity is None:
                velocity[...] = g
            else:
                np.multiply(self.momentum, np.asarray(self.velocity), out=velocity)
                np.add(velocity, g, out=velocity)
            g = self.velocity = velocity
        data -= np.multiply(self.lr, g, out=_scratch(self, 1))

    def state_dict(self) -> dict[str, Any]:
        velocity = None if self.velocity is None else [float(v) for v in self.velocity]
        return {**super().state_dict(), "momentum": self.momentum,
                "weight_decay": self.weight_decay, "velocity": velocity}

    def _parse_state(self, state: dict[str, Any]) -> dict[str, Any]:
        return {**super()._parse_state(state),
                "momentum": _number("momentum", _entry(state, "momentum"), 0.0, 1.0),
                "weight_decay": _number("weight_decay", _entry(state, "weight_decay"), 0.0),
                "velocity": (None if _entry(state, "velocity") is None
                             else self._buffer(state, "velocity"))}


class Adam(Optimizer):
    """Adam (Kingma & Ba), as in PyTorch, with L2 weight decay added to the gradient.

    g = grad + weight_decay·p;  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
    p ← p − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + eps)
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (β₁, β₂), got {betas!r}")
        self.betas = (_number("betas[0]", betas[0], 0.0, 1.0),
                      _number("betas[1]", betas[1], 0.0, 1.0))
        self.eps = _number("eps", eps, 0.0, low_inclusive=False)
        self.weight_decay = _number("weight_decay", weight_decay, 0.0)
        self.t = 0
        self.m = np.zeros(len(self.params))
        self.v = np.zeros(len(self.params))

    def update(self, data: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.t += 1
        b1, b2 = self.betas
        correction1, correction2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        g = grad + self.weight_decay * data
        self.m = b1 * self.m + (1 - b1) * g
        self.v = b2 * self.v + (1 - b2) * g * g
        return data - self.lr * (self.m / correction1) / (
            np.sqrt(self.v / correction2) + self.eps)

    def update_into(self, data: np.ndarray, grad: np.ndarray) -> None:
        # update's operations in its order, each written into a vector made once (m and v
        # are this optimizer's own: updated where they are).
        self.t += 1
        b1, b2 = self.betas
        correction1, correction2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        g, term, root = _scratch(self, 0), _scratch(self, 1), _scratch(self, 2)
        np.add(grad, np.multiply(self.weight_decay, data, out=g), out=g)
        m, v = self.m, self.v
        np.add(np.multiply(b1, m, out=m), np.multiply(1 - b1, g, out=term), out=m)
        np.multiply(np.multiply(1 - b2, g, out=term), g, out=term)
        np.add(np.multiply(b2, v, out=v), term, out=v)
        np.multiply(self.lr, np.divide(m, correction1, out=term), out=term)
        np.add(np.sqrt(np.divide(v, correction2, out=root), out=root), self.eps, out=root)
        data -= np.divide(term, root, out=term)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay, "t": self.t, "m": self.m.tolist(),
                "v": self.v.tolist()}

    def _parse_state(self, state: dict[str, Any]) -> dict[str, Any]:
        betas, t = _entry(state, "betas"), _entry(state, "t")
        if not isinstance(betas, list) or len(betas) != 2:
            raise ValueError(f"optimizer state 'betas' must be a pair, got {betas!r}")
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"optimizer state 't' must be a step count ≥ 0, got {t!r}")
        return {**super()._parse_state(state),
                "betas": (_number("betas[0]", betas[0], 0.0, 1.0),
                          _number("betas[1]", betas[1], 0.0, 1.0)),
                "eps": _number("eps", _entry(state, "eps"), 0.0, low_inclusive=False),
                "weight_decay": _number("weight_decay", _entry(state, "weight_decay"), 0.0),
                "t": t, "m": np.array(self._buffer(state, "m")),
                "v": np.array(self._buffer(state, "v"))}


class _Schedule:
    """A learning-rate schedule: ``step()`` once per epoch sets ``optimizer.lr``."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"expected an optimizer, got {type(optimizer).__name__}")
        self.optimizer, self.base_lr, self.epoch = optimizer, optimizer.lr, 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"base_lr": self.base_lr, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        base_lr = _number("base_lr", _entry(state, "base_lr"), 0.0, low_inclusive=False)
        epoch = _entry(state, "epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"schedule state 'epoch' must be a count ≥ 0, got {epoch!r}")
        self.base_lr, self.epoch = base_lr, epoch
        self.optimizer.lr = self.lr_at(epoch) if epoch else base_lr


class StepLR(_Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` calls to ``step()``.

    Call ``scheduler.step()`` once per epoch, after the optimizer's steps.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
        super().__init__(optimizer)
        self.step_size = step_size
        self.gamma = _number("gamma", gamma, 0.0, low_inclusive=False)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineLR(_Schedule):
    """Anneal the learning rate from its start value to ``min_lr`` over ``total`` steps:

    lr_k = min_lr + (lr_0 − min_lr) · (1 + cos(π·k/total)) / 2
    """

    def __init__(self, optimizer: Optimizer, total: int, min_lr: float = 0.0) -> None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise ValueError(f"total must be a positive integer, got {total!r}")
        super().__init__(optimizer)
        self.total = total
        self.min_lr = _number("min_lr", min_lr, 0.0)

    def lr_at(self, epoch: int) -> float:
        cos = (1 + math.cos(math.pi * min(epoch, self.total) / self.total)) / 2
        return self.min_lr + (self.base_lr - self.min_lr) * cos
