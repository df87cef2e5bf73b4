"""Neuron, Layer and MLP: a feed-forward network built from engine Values.

A neuron computes act(Σᵢ wᵢ·xᵢ + b): its pre-activation is *one* Σ node with nin + 1 inputs
(the products wᵢ·xᵢ and the bias), so a drawn graph shows one sum per neuron, not a chain of
nin additions. With ``fused=True`` the products are not nodes of their own: the
pre-activation is one ``wsum`` node reading (w₁, x₁, …, b), with the same numbers and grads
and half the nodes, so the eager engine runs about twice as fast. A layer is a list of
neurons reading the same inputs; an MLP is a list of layers, hidden ones with the chosen
activation and the last one linear (its outputs are logits).
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

import engine
from engine import OPS, Value
from nn.module import Module
from nn.serialize import register_model_class

# A hidden layer's activation: every activation op of the engine's table, or none.
ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    row.method: getattr(Value, row.method)
    for row in OPS.values() if row.activation and row.method} | {"linear": None}
INITS = ("uniform", "xavier", "he")

# What a network reads: a list of numbers or Values (or a numpy row), one per input.
Inputs: TypeAlias = Sequence[Value | float] | npt.NDArray[Any]
# What makes the initial weights: a seed, a random.Random or a numpy Generator (None: fresh).
Seed: TypeAlias = int | random.Random | np.random.Generator | None


def _check_choice(what: str, value: object, choices: Iterable[str]) -> None:
    named = ", ".join(map(repr, choices))
    if not isinstance(value, str):  # a list given by position here is unhashable, not unknown
        raise TypeError(f"{what} must be a str, one of {named}; got {type(value).__name__}: "
                        f"{_short(value)}")
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {named}")


def _check_count(what: str, n: object) -> int:
    """A size argument: TypeError if it is no int, ValueError if it is not positive."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be a positive integer, got {type(n).__name__}: "
                        f"{_short(n)}")
    if n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


class _Sampler:
    """One interface over a seed, a ``random.Random`` or a numpy ``Generator``."""

    uniform: Callable[[float, float], float]
    normal: Callable[[float, float], float]

    def __init__(self, rng: Seed) -> None:
        if isinstance(rng, np.random.Generator):
            self.uniform = lambda a, b: float(rng.uniform(a, b))
            self.normal = lambda mu, sigma: float(rng.normal(mu, sigma))
        elif isinstance(rng, random.Random):
            self.uniform, self.normal = rng.uniform, rng.gauss
        elif rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
            r = random.Random(rng)
            self.uniform, self.normal = r.uniform, r.gauss
        else:
            raise TypeError("rng must be None, an int seed, a random.Random or a "
                            f"numpy.random.Generator, got {type(rng).__name__}")


def init_weights(init: str, nin: int, nout: int, sampler: _Sampler) -> tuple[list[float], float]:
    """nin weights and a bias for one neuron of a layer with ``nout`` neurons.

    - ``"uniform"`` (default): w, b ~ U(−1/√nin, 1/√nin), like PyTorch's ``nn.Linear``;
    - ``"xavier"`` (Glorot): w ~ U(−√(6/(nin + nout)), +√(6/(nin + nout))), b = 0; for tanh;
    - ``"he"`` (Kaiming): w ~ N(0, 2/nin), b = 0; for relu.
    """
    if init == "uniform":
        bound = 1 / math.sqrt(nin)
        w = [sampler.uniform(-bound, bound) for _ in range(nin)]
        return w, sampler.uniform(-bound, bound)
    if init == "xavier":
        bound = math.sqrt(6 / (nin + nout))
        return [sampler.uniform(-bound, bound) for _ in range(nin)], 0.0
    std = math.sqrt(2 / nin)
    return [sampler.normal(0.0, std) for _ in range(nin)], 0.0


def _as_inputs(x: Inputs, nin: int, who: str) -> list[Value]:
    """Inputs as a list of Values: numbers become leaves labelled x0, x1, …"""
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise TypeError(f"{who} expects a list of {nin} numbers or Values, "
                        f"got {type(x).__name__}")
    if len(x) != nin:
        raise ValueError(f"{who} expects {nin} inputs, got {len(x)}")
    values = []
    for i, xi in enumerate(x):
        if isinstance(xi, Value):
            values.append(xi)
        elif isinstance(xi, float):  # a float or a numpy float64 (a row of an array): the
            values.append(Value(float(xi), label=f"x{i}"))  # common case, and cheap to test
        elif isinstance(xi, (numbers.Real, np.bool_)):
            values.append(Value(xi, label=f"x{i}"))
        else:
            raise TypeError(f"{who} input {i} must be a number or a Value, "
                            f"got {type(xi).__name__}: {xi!r}")
    return values


@register_model_class
class Neuron(Module):
    """act(Σᵢ wᵢ·xᵢ + b) with ``nin`` weights ``w`` and a bias ``b``."""

    def __init__(self, nin: int, activation: str = "relu", init: str = "uniform",
                 rng: Seed | _Sampler = None, fan_out: int = 1, fused: bool = False) -> None:
        nin, fan_out = _check_count("nin", nin), _check_count("fan_out", fan_out)
        _check_flag("fused", fused)
        _check_choice("activation", activation, ACTIVATIONS)
        _check_choice("init", init, INITS)
        sampler = rng if isinstance(rng, _Sampler) else _Sampler(rng)
        w, b = init_weights(init, nin, fan_out, sampler)
        self.w = [Value(wi) for wi in w]
        self.b = Value(b)
        self._activation = activation
        self._fused = fused
        _label_parameters(self)

    @classmethod
    def parameter_count(cls, config: dict[str, Any]) -> int:
        """nin weights and a bias (for loading: computed without building)."""
        return _count(config, "nin") + 1

    @property
    def nin(self) -> int:
        return len(self.w)

    @property
    def activation(self) -> str:
        return self._activation

    def _forward(self, x: list[Value]) -> Value:
        pre = engine.weighted_sum(self.w, x, self.b, fused=self._fused)
        act = ACTIVATIONS[self._activation]
        return pre if act is None else act(pre)

    def __call__(self, x: Inputs) -> list[Value]:
        return [self._forward(_as_inputs(x, self.nin, "Neuron"))]

    def extra_repr(self) -> str:
        return f"{self.nin} inputs, {self._activation}"

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "activation": self._activation, **_fused_config(self._fused)}


@register_model_class
class Layer(Module):
    """``nout`` neurons, each reading the same ``nin`` inputs."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", init: str = "uniform",
                 rng: Seed | _Sampler = None, fused: bool = False) -> None:
        nin, nout = _check_count("nin", nin), _check_count("nout", nout)
        _check_choice("activation", activation, ACTIVATIONS)
        _check_choice("init", init, INITS)
        _check_flag("fused", fused)
        sampler = rng if isinstance(rng, _Sampler) else _Sampler(rng)
        self.neurons = [Neuron(nin, activation, init, sampler, fan_out=nout, fused=fused)
                        for _ in range(nout)]
        _label_parameters(self)

    @classmethod
    def parameter_count(cls, config: dict[str, Any]) -> int:
        """(nin + 1) · nout (for loading: computed without building)."""
        return (_count(config, "nin") + 1) * _count(config, "nout")

    @property
    def nin(self) -> int:
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        return len(self.neurons)

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The layer's numbers as numpy arrays (copies): W of shape (nout, nin) with
        W[j, i] = neurons[j].w[i], as in z = W·x + b, and b of shape (nout,).

        >>> W, b = Layer(3, 2, rng=0).arrays(); W.shape, b.shape
        ((2, 3), (2,))
        """
        return (np.array([[w.data for w in n.w] for n in self.neurons]).reshape(self.nout, -1),
                np.array([n.b.data for n in self.neurons]))

    def _forward(self, x: list[Value]) -> list[Value]:
        return [n._forward(x) for n in self.neurons]

    def __call__(self, x: Inputs) -> list[Value]:
        return self._forward(_as_inputs(x, self.nin, "Layer"))

    def extra_repr(self) -> str:
        return f"{self.nin} → {self.nout}, {self.activation}"

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nout": self.nout, "activation": self.activation,
                **_fused_config(self.neurons[0]._fused)}


@register_model_class
class MLP(Module):
    """A feed-forward network: ``MLP(64, [32, 10])`` is 64 inputs → 32 hidden → 10 outputs.

    Hidden layers use ``activation`` (any name in :data:`ACTIVATIONS`: relu, tanh, …, or
    linear); the last layer is linear, so its outputs are logits for a softmax cross-entropy
    loss. ``rng`` (a seed, a ``random.Random`` or a numpy ``Generator``) makes the
    initialisation reproducible.

    >>> model = MLP(3, [4, 2], rng=0)
    >>> [round(v.data, 4) for v in model([1.0, -2.0, 0.5])]
    [-0.1015, -0.3278]
    >>> len(model.parameters())   # (3 + 1)·4 + (4 + 1)·2
    26
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu",
                 init: str = "uniform", rng: Seed = None, fused: bool = False) -> None:
        nin = _check_count("nin", nin)
        # One int would be one linear layer, silently: the sizes are always a list.
        if not isinstance(nouts, (list, tuple)):
            example = nouts if type(nouts) is int and nouts > 0 else 10
            raise TypeError(f"nouts must be a list of layer sizes, the last the number of "
                            f"outputs: MLP({nin}, [{example}]) is one linear layer, MLP({nin}, "
                            f"[32, {example}]) has a hidden layer; got {type(nouts).__name__}: "
                            f"{_short(nouts)}")
        if not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer sizes, got {nouts!r}")
        sizes = [nin] + [_check_count(f"nouts[{i}]", n) for i, n in enumerate(nouts)]
        _check_choice("activation", activation, ACTIVATIONS)
        _check_choice("init", init, INITS)
        _check_flag("fused", fused)
        sampler = _Sampler(rng)
        self.layers = [
            Layer(sizes[i], sizes[i + 1],
                  activation if i < len(nouts) - 1 else "linear", init, sampler, fused)
            for i in range(len(nouts))
        ]
        self._fused = fused
        self._activation = activation
        _label_parameters(self)

    @classmethod
    def parameter_count(cls, config: dict[str, Any]) -> int:
        """Σ (fan-in + 1) · size over the layers (for loading: computed without building)."""
        nouts = config.get("nouts")
        if not isinstance(nouts, list) or not nouts or len(nouts) > 1000:
            raise ValueError(f"nouts must be a list of layer sizes, got {_short(nouts)}")
        sizes = [_count(config, "nin"), *(_count({"layer size": n}, "layer size")
                                          for n in nouts)]
        return sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        return [layer.nout for layer in self.layers]

    @property
    def activation(self) -> str:
        return self._activation

    def __call__(self, x: Inputs) -> list[Value]:
        values = _as_inputs(x, self.nin, "MLP")
        for layer in self.layers:
            values = layer._forward(values)
        return values

    def extra_repr(self) -> str:
        sizes = " → ".join(str(n) for n in [self.nin, *self.nouts])
        # The activation is that of the hidden layers; a one-layer MLP has none.
        return f"{sizes}, {self._activation}" if len(self.layers) > 1 else f"{sizes}, linear"

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nouts": self.nouts, "activation": self._activation,
                **_fused_config(self._fused)}


def _count(config: dict[str, Any], key: str) -> int:
    """A size from a config, a whole number from 1 to a million (a bigger one is no network
    a file should make us build)."""
    n = config.get(key)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1_000_000:
        raise ValueError(f"{key} must be a whole number from 1 to 1,000,000, got {_short(n)}")
    return n


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _check_flag(what: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be True or False, got {type(value).__name__}: {value!r}")


def _fused_config(fused: bool) -> dict[str, Any]:
    # Written only when set, so that files of unfused models read as before.
    return {"fused": True} if fused else {}


def _label_parameters(module: Module) -> None:
    # Each parameter's label is its dotted name, so a graph or a step print says which weight
    # it is; the outermost module labels last, so names are relative to the whole model.
    for name, p in module.named_parameters():
        p.label = name
