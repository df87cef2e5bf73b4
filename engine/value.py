"""``Value``: a scalar that remembers how it was computed.

A Value is plain data: ``data`` and ``grad`` (floats), a ``label``, the name of the ``op`` that
made it (``""`` for a leaf you create, ``"const"`` for a number written into an expression such
as the 2 in ``a * 2``), its ordered ``parents`` and, for a few ops, a constant ``arg`` (the 2 in
``a ** 2``). What each op computes and its local derivatives live in one table,
:data:`engine.ops.OPS`; this module only records nodes.
"""

from __future__ import annotations

import math
import numbers
from contextlib import ContextDecorator

import numpy as np

from engine.ops import OPS


class AnomalyError(FloatingPointError):
    """Raised inside ``detect_anomaly()`` at the first op that produces a nan or an infinity."""


class _Mode:
    """Process-wide switches set by the ``no_grad`` and ``detect_anomaly`` context managers."""

    grad_enabled = True
    anomaly = False


_mode = _Mode()


class _Switch(ContextDecorator):
    """Set one of the ``_mode`` switches inside a ``with`` block or a decorated function.

    Re-entrant: each entry remembers the value it replaced, so nesting (even of the same
    object) restores every level correctly. The switches are process-wide, not per thread.
    """

    name = ""
    value = False

    def __init__(self):
        self._saved: list[bool] = []

    def __enter__(self):
        self._saved.append(getattr(_mode, self.name))
        setattr(_mode, self.name, self.value)
        return self

    def __exit__(self, *exc):
        setattr(_mode, self.name, self._saved.pop())
        return False


class no_grad(_Switch):  # noqa: N801 - named like torch.no_grad, used the same way
    """Ops inside it record no parents (results are plain leaves).

    Use it for evaluation and for optimizer updates, where no graph is needed::

        with no_grad():
            y = model(x)

    or as a decorator, ``@no_grad()``.
    """

    name, value = "grad_enabled", False


class enable_grad(_Switch):  # noqa: N801 - named like torch.enable_grad
    """Record graphs again inside a ``no_grad`` block (``engine.grad`` uses it)."""

    name, value = "grad_enabled", True


class detect_anomaly(_Switch):  # noqa: N801 - named like torch.autograd.detect_anomaly
    """Raise :class:`AnomalyError` at the first non-finite number, inside a ``with`` block.

    Forward: the first op whose result is nan or ±inf, naming the op and its inputs (with their
    labels). Backward: the first node whose local derivative or gradient contribution is not
    finite. Outside this context glassgrad follows IEEE 754 silently (see ``engine.ops``).
    """

    name, value = "anomaly", True


def describe(v: Value) -> str:
    """Short human name of a node for messages: its label, or its op and value."""
    if v.label:
        return f"{v.label!r} ({v.data!r})"
    if v.op == "const":
        return f"constant {v.data!r}"
    return f"{v.op or 'leaf'} node ({v.data!r})"


def _check_finite(op: str, data: float, parents: tuple) -> None:
    if not math.isfinite(data):
        inputs = ", ".join(describe(p) for p in parents) or "no inputs"
        raise AnomalyError(f"detect_anomaly: op {op!r} produced {data!r} from inputs {inputs}")


def _real(x, what: str) -> float:
    """``x`` as a Python float if it is a real number (int, float, bool, numpy scalar)."""
    if type(x) is float:  # the common case, checked first because it is the fastest
        return x
    if isinstance(x, (numbers.Real, np.bool_)):
        try:
            return float(x)
        except OverflowError:  # an int too large for a float: ±inf, as IEEE rounding gives
            return math.inf if x > 0 else -math.inf
    raise TypeError(
        f"{what} must be a real number (int, float or numpy scalar), "
        f"got {type(x).__name__}: {x!r}"
    )


_new_object = object.__new__


def _record(op: str, data: float, parents: tuple, arg=None) -> Value:
    """The node for an op's result (the op table already produced a float, so no validation).

    Inside ``no_grad()`` it is a plain leaf that remembers nothing; inside ``detect_anomaly()``
    a non-finite result raises here, at the op that made it.
    """
    if _mode.anomaly:
        _check_finite(op, data, parents)
    v = _new_object(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    if _mode.grad_enabled:
        v.op = op
        v.parents = parents
        v.arg = arg
    else:
        v.op = ""
        v.parents = ()
        v.arg = None
    return v


def const(x) -> Value:
    """A number written into an expression, as a node of op ``"const"`` (arg = the number)."""
    v = Value(x)
    v.op, v.arg = "const", v.data
    return v


def _as_value(x):
    """A Value as is, a real number as a constant node, anything else ``None``."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (numbers.Real, np.bool_)):
        return const(x)
    return None


def apply(op: str, *inputs: Value, arg=None) -> Value:
    """Compute ``op`` on its inputs with the table's forward rule and record the node.

    The general way to use any row of the op table, checked: ``apply("tanh", x)``,
    ``apply("pow", x, arg=2)``.
    """
    row = OPS.get(op)
    if row is None:
        raise ValueError(f"unknown op {op!r}; the op table has {', '.join(OPS)}")
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"apply({op!r}): input {i} must be a Value, got {type(v).__name__}")
    if (row.arity == -1 and not inputs) or (row.arity >= 0 and len(inputs) != row.arity):
        wanted = "one or more" if row.arity == -1 else str(row.arity)
        raise ValueError(f"op {op!r} takes {wanted} inputs, got {len(inputs)}")
    if row.takes_arg != (arg is not None):
        raise ValueError(f"op {op!r} {'needs' if row.takes_arg else 'takes no'} arg"
                         + ("" if arg is None else f", got arg={arg!r}"))
    if arg is not None:
        arg = _real(arg, f"apply({op!r}) arg")
    return _apply(op, inputs, arg)


def _apply(op: str, inputs: tuple, arg=None) -> Value:
    """``apply`` without the checks, for callers that already know the inputs are right."""
    row = OPS[op]
    datas = [p.data for p in inputs]
    data = row.forward(*datas, arg) if row.takes_arg else row.forward(*datas)
    return _record(op, data, inputs, arg)


def _binary(op: str, x, y):
    """``x op y`` with numbers on either side turned into constants, or NotImplemented."""
    # Both sides are Values in the common case; only convert when one is not.
    if type(x) is not Value or type(y) is not Value:
        x, y = _as_value(x), _as_value(y)
        if x is None or y is None:
            return NotImplemented
    return _record(op, OPS[op].forward(x.data, y.data), (x, y))


def _unary(op: str, x: Value) -> Value:
    return _record(op, OPS[op].forward(x.data), (x,))


class Value:
    """A scalar in a computation graph.

    >>> a = Value(2.0, label="a")
    >>> b = a * a + 1
    >>> b
    Value(data=5, grad=0, op='add')
    >>> b.backward(); a.grad
    4.0
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "arg")

    def __init__(self, data, label: str = ""):
        if isinstance(data, Value):
            raise TypeError("Value(data): data is already a Value; use it directly")
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}: {label!r}")
        self.data = _real(data, "Value data")
        self.grad = 0.0
        self.label = label
        self.op = ""
        self.parents = ()
        self.arg = None

    # Arithmetic: each line records one node of the op the user wrote.
    def __add__(self, other): return _binary("add", self, other)
    def __radd__(self, other): return _binary("add", other, self)
    def __sub__(self, other): return _binary("sub", self, other)
    def __rsub__(self, other): return _binary("sub", other, self)
    def __mul__(self, other): return _binary("mul", self, other)
    def __rmul__(self, other): return _binary("mul", other, self)
    def __truediv__(self, other): return _binary("div", self, other)
    def __rtruediv__(self, other): return _binary("div", other, self)
    def __neg__(self): return _unary("neg", self)

    def __pow__(self, other):
        # x ** 2 keeps the 2 as the node's arg (no input, no grad for it); x ** y is vpow.
        if isinstance(other, Value):
            return _apply("vpow", (self, other))
        if isinstance(other, numbers.Real):
            return _apply("pow", (self,), other if type(other) is int else float(other))
        return NotImplemented

    def __rpow__(self, other):
        # 2 ** x: the base is the node's arg.
        if isinstance(other, numbers.Real):
            return _apply("rpow", (self,), other if type(other) is int else float(other))
        return NotImplemented

    def exp(self): return _unary("exp", self)
    def log(self): return _unary("log", self)
    def tanh(self): return _unary("tanh", self)
    def sigmoid(self): return _unary("sigmoid", self)
    def relu(self): return _unary("relu", self)

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``.grad`` of every node this Value depends on with ∂self/∂node.

        Leaf grads accumulate across calls (as in PyTorch: call ``zero_grad`` between steps);
        interior nodes hold exactly this pass's grads.
        """
        from engine.autodiff import backward

        backward(self, grad)

    @property
    def is_leaf(self) -> bool:
        """True for a node with no parents (a leaf you made, or a constant)."""
        return not self.parents

    def __repr__(self) -> str:
        parts = [f"data={self.data:.6g}", f"grad={self.grad:.6g}"]
        if self.label:
            parts.append(f"label={self.label!r}")
        if self.op:
            parts.append(f"op={self.op!r}")
        return f"Value({', '.join(parts)})"


def max(values) -> Value:  # noqa: A001 - engine.max, like torch.max
    """The largest of one or more Values/numbers as one node (∂/∂x_i = 1 for the first
    maximum, 0 for the others)."""
    inputs = _inputs("engine.max", values)
    return _apply("max", tuple(inputs))


def _inputs(who: str, values) -> list[Value]:
    if isinstance(values, (Value, str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{who} expects an iterable of Values or numbers, "
                        f"got {type(values).__name__}")
    inputs = []
    for i, x in enumerate(values):
        v = _as_value(x)
        if v is None:
            raise TypeError(f"{who}: item {i} must be a Value or a real number, "
                            f"got {type(x).__name__}: {x!r}")
        inputs.append(v)
    if not inputs:
        raise ValueError(f"{who}: needs at least one value")
    return inputs


def sum(values) -> Value:
    """Σ of one or more Values/numbers as a single n-ary node (∂Σ/∂x_i = 1 for every i).

    A neuron's pre-activation w·x + b is one such node instead of a chain of n additions.
    """
    inputs = _inputs("engine.sum", values)
    return _apply("sum", tuple(inputs))




def weighted_sum(weights, inputs, bias=None, fused: bool = False) -> Value:
    """Σᵢ wᵢ·xᵢ (+ b): what a neuron computes, recorded as one product node per pair and one
    n-ary Σ node (exactly the graph ``sum([w * x for …] + [b])`` records, built faster: this
    runs once per neuron per example, so it skips the per-operator dispatch).

    ``fused=True`` records one ``wsum`` node instead, with inputs (w₁, x₁, w₂, x₂, …, b) and
    local derivatives ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1: the same number, added in the same
    order, and the same grads (bit for bit when each Value appears once; one read by several
    products gets its contributions summed in another order), with n fewer nodes.
    """
    # The common case is lists of Values; anything else goes through the checked conversion.
    def values(items, what):
        who = f"engine.weighted_sum {what}"
        if isinstance(items, (Value, str, bytes)) or not hasattr(items, "__iter__"):
            return _inputs(who, items)  # raises: not an iterable of Values
        items = list(items)  # empty is fine (the bias alone)
        return items if all(type(v) is Value for v in items) else _inputs(who, items)

    ws, xs = values(weights, "weights"), values(inputs, "inputs")
    if len(ws) != len(xs):
        raise ValueError(f"engine.weighted_sum: {len(ws)} weights for {len(xs)} inputs")
    b = [] if bias is None else _inputs("engine.weighted_sum bias", [bias])
    if not ws and not b:
        raise ValueError("engine.weighted_sum: needs at least one weight or a bias")
    if fused:
        parents = [None] * (2 * len(ws))  # interleaved by slices: (w₁, x₁, w₂, x₂, …)
        parents[0::2], parents[1::2] = ws, xs
        return _apply("wsum", (*parents, *b))
    mul = OPS["mul"].forward
    terms = [_record("mul", mul(w.data, x.data), (w, x)) for w, x in zip(ws, xs, strict=True)]
    return _apply("sum", (*terms, *b))
