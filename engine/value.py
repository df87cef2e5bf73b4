"""``Value``: a scalar that remembers how it was computed.

A Value is a :class:`engine.node.Node` (plain data: ``data``, ``grad``, ``label``, ``op``,
``parents``, ``arg``) with arithmetic: each operator records one node of the op the user
wrote. What each op computes and its local derivatives live in one table,
:data:`engine.ops.OPS`; this module only records nodes, and gives every one-input op of the
table a method (``x.tanh()``, ``x.softplus()``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, SupportsFloat

import numpy as np

from engine import autodiff
from engine.mode import MODE, AnomalyError
from engine.node import Node
from engine.ops import OPS, FormulaNames, Op
from engine.text import describe


def _check_finite(op: str, data: float, parents: tuple[Node, ...]) -> None:
    if not math.isfinite(data):
        inputs = ", ".join(describe(p) for p in parents) or "no inputs"
        raise AnomalyError(f"detect_anomaly: op {op!r} produced {data!r} from inputs {inputs}")


def as_real(x: object, what: str) -> float:
    """``x`` as a Python float if it is a real number (int, float, bool, numpy scalar), else a
    ``TypeError`` naming ``what`` and the type."""
    if type(x) is float:  # the common cases, checked first because it is the fastest
        return x
    if type(x) is int:  # (the 0 that Python's sum() starts from, the 2 of x * 2)
        try:
            return float(x)
        except OverflowError:  # an int too large for a float: ±inf, as IEEE rounding gives
            return -math.inf if x < 0 else math.inf
    if isinstance(x, (numbers.Real, np.bool_)):
        try:
            return float(x)
        except OverflowError:  # an int too large for a float: ±inf, as IEEE rounding gives
            return -math.inf if x < 0 else math.inf
    raise TypeError(
        f"{what} must be a real number (int, float or numpy scalar), "
        f"got {type(x).__name__}: {x!r}"
    )


_new_object = object.__new__
# The table's forward of x / y and x ** c, read once: the operators call them per node.
_div, _pow = OPS["div"].forward, OPS["pow"].forward


def record(op: str, data: float, parents: tuple[Value, ...], arg: float | None = None) -> Value:
    """The node for an op's result that the table has already computed, unchecked: for
    builders that checked their inputs themselves (``engine.weighted_sum``); use
    :func:`apply` otherwise.

    Inside ``no_grad()`` it is a plain leaf that remembers nothing; inside ``detect_anomaly()``
    a non-finite result raises here, at the op that made it.
    """
    if not MODE.plain:  # no_grad or detect_anomaly: one switch read on the common path
        return _record_in_mode(op, data, parents, arg)
    v = _new_object(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    v.op = op
    v.parents = parents
    v.arg = arg
    return v


def _record_in_mode(op: str, data: float, parents: tuple[Value, ...],
                    arg: float | None) -> Value:
    if MODE.anomaly:
        _check_finite(op, data, parents)
    v = _new_object(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    if MODE.grad_enabled:
        v.op = op
        v.parents = parents
        v.arg = arg
    else:
        v.op = ""
        v.parents = ()
        v.arg = None
    return v


def products(ws: Sequence[Value], xs: Sequence[Value]) -> list[Value]:
    """``[w * x for w, x in zip(ws, xs)]`` for Values, one ``mul`` node each: a neuron's
    products, recorded in one loop without a call per node (it runs for every weight of a
    network at every example)."""
    if not MODE.plain:
        return [record("mul", w.data * x.data, (w, x)) for w, x in zip(ws, xs, strict=True)]
    terms: list[Value] = []
    add = terms.append
    for w, x in zip(ws, xs, strict=True):
        v = _new_object(Value)  # record() written out, as in Value.__add__
        v.data = w.data * x.data
        v.grad = 0.0
        v.label = ""
        v.op = "mul"
        v.parents = (w, x)
        v.arg = None
        add(v)
    return terms


def const(x: SupportsFloat) -> Value:
    """A number written into an expression, as a node of op ``"const"`` (arg = the number)."""
    v = _new_object(Value)  # Value.__init__'s checks are for what a user passes
    v.data = v.arg = as_real(x, "a constant")
    v.grad = 0.0
    v.label, v.op, v.parents = "", "const", ()
    return v


def as_value(x: object) -> Value | None:
    """A Value as is, a real number as a constant node, anything else ``None``."""
    if isinstance(x, Value):
        return x
    if type(x) is int:  # (the 0 Python's sum() starts from, the 2 of x * 2)
        x = as_real(x, "a constant")
    if type(x) is float:  # const(x) written out: a number in an expression, the common case
        v = _new_object(Value)
        v.data = v.arg = x
        v.grad = 0.0
        v.label, v.op, v.parents = "", "const", ()
        return v
    if isinstance(x, (numbers.Real, np.bool_)):
        return const(x)
    return None


def apply(op: str, *inputs: Value, arg: float | None = None) -> Value:
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
        arg = as_real(arg, f"apply({op!r}) arg")
    return _apply(op, inputs, arg)


def _apply(op: str, inputs: tuple[Value, ...], arg: float | None = None) -> Value:
    """``apply`` without the checks, for callers that already know the inputs are right."""
    return record(op, OPS[op].compute([p.data for p in inputs], arg), inputs, arg)


def _binary(op: str, x: object, y: object) -> Value:
    """``x op y`` with numbers on either side turned into constants, or NotImplemented."""
    x, y = as_value(x), as_value(y)
    if x is None or y is None:
        return NotImplemented
    return record(op, OPS[op].forward(x.data, y.data), (x, y))


def _unary(op: str, x: Value) -> Value:
    return record(op, OPS[op].forward(x.data), (x,))


class Value(Node):  # longer than 100 lines because its arithmetic is written out per operator
    """A scalar in a computation graph.

    >>> a = Value(2.0, label="a")
    >>> b = a * a + 1
    >>> b
    Value(data=5, grad=0, op='add')
    >>> b.backward(); a.grad
    4.0
    """

    __slots__ = ()
    parents: tuple[Value, ...]  # a Value's inputs are Values

    def __init__(self, data: SupportsFloat, label: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError("Value(data): data is already a Value; use it directly")
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}: {label!r}")
        self.data = as_real(data, "Value data")
        self.grad = 0.0
        self.label = label
        self.op = ""
        self.parents = ()
        self.arg = None

    @classmethod
    def constant(cls, x: SupportsFloat) -> Value:
        return const(x)

    # Arithmetic: each method records one node of the op the user wrote. The common ones (a
    # network's products and sums) compute the table's forward in place, written out as the
    # table writes it (x + y, x − y, x · y, −x: tests check they agree to the bit), because
    # they run once per node of every step; the others go through the table.
    def __add__(self, other: Value | float) -> Value:
        if type(other) is not Value and (other := as_value(other)) is None:
            return NotImplemented
        if not MODE.plain:
            return _record_in_mode("add", self.data + other.data, (self, other), None)
        # record() written out: x + y and x · y are most of the nodes a program makes, and the
        # call is a tenth of their cost
        v = _new_object(Value)
        v.data = self.data + other.data
        v.grad = 0.0
        v.label = ""
        v.op = "add"
        v.parents = (self, other)
        v.arg = None
        return v

    def __radd__(self, other: float) -> Value:
        if (other := as_value(other)) is None:
            return NotImplemented
        return record("add", other.data + self.data, (other, self))

    def __sub__(self, other: Value | float) -> Value:
        if type(other) is not Value and (other := as_value(other)) is None:
            return NotImplemented
        return record("sub", self.data - other.data, (self, other))

    def __rsub__(self, other: float) -> Value:
        if (other := as_value(other)) is None:
            return NotImplemented
        return record("sub", other.data - self.data, (other, self))

    def __mul__(self, other: Value | float) -> Value:
        if type(other) is not Value and (other := as_value(other)) is None:
            return NotImplemented
        if not MODE.plain:
            return _record_in_mode("mul", self.data * other.data, (self, other), None)
        v = _new_object(Value)  # record() written out, as in __add__
        v.data = self.data * other.data
        v.grad = 0.0
        v.label = ""
        v.op = "mul"
        v.parents = (self, other)
        v.arg = None
        return v

    def __rmul__(self, other: float) -> Value:
        if (other := as_value(other)) is None:
            return NotImplemented
        return record("mul", other.data * self.data, (other, self))

    def __truediv__(self, other: Value | float) -> Value:
        if type(other) is not Value and (other := as_value(other)) is None:
            return NotImplemented
        return record("div", _div(self.data, other.data), (self, other))

    def __rtruediv__(self, other: float) -> Value: return _binary("div", other, self)
    def __neg__(self) -> Value: return record("neg", -self.data, (self,))
    def __abs__(self) -> Value: return _unary("abs", self)

    def __pow__(self, other: Value | float) -> Value:
        # x ** 2 keeps the 2 as the node's arg (no input, no grad for it); x ** y is vpow.
        if isinstance(other, Value):
            return _apply("vpow", (self, other))
        if type(other) is int or type(other) is float:  # (the ABC check below is slow)
            return record("pow", _pow(self.data, other), (self,), other)
        if isinstance(other, numbers.Real):
            return _apply("pow", (self,), other if type(other) is int else float(other))
        return NotImplemented

    def __rpow__(self, other: float) -> Value:
        # 2 ** x: the base is the node's arg.
        if isinstance(other, numbers.Real):
            return _apply("rpow", (self,), other if type(other) is int else float(other))
        return NotImplemented

    # x.exp(), x.tanh(), ...: one method per one-input op of the table, made below; declared
    # here for type checkers, which cannot see them made (a test keeps the two lists equal).
    if TYPE_CHECKING:
        def exp(self) -> Value: ...
        def log(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def relu(self) -> Value: ...
        def softplus(self) -> Value: ...
        def abs(self) -> Value: ...

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``.grad`` of every node this Value depends on with ∂self/∂node.

        Leaf grads accumulate across calls (as in PyTorch: call ``zero_grad`` between steps);
        interior nodes hold exactly this pass's grads.
        """
        autodiff.backward(self, grad)

    def zero_grad(self) -> None:
        """Set the grad of every node this Value depends on (itself too) to 0."""
        autodiff.zero_grad(self)

    def item(self) -> float:
        """The number, as a Python float (``float(v)`` gives the same)."""
        return self.data

    def __float__(self) -> float:
        # Careful: this also lets math.exp(v) run, on the number, recording nothing; use
        # v.exp() to stay in the graph.
        return self.data

    def __repr__(self) -> str:
        parts = [f"data={self.data:.6g}", f"grad={self.grad:.6g}"]
        if self.label:
            parts.append(f"label={self.label!r}")
        if self.op:
            parts.append(f"op={self.op!r}")
        return f"Value({', '.join(parts)})"


def _op_method(row: Op, name: str) -> Callable[[Value], Value]:
    """``x.<row.method>()``: record a node of that one-input op."""
    op, forward = row.name, row.forward

    def method(self: Value) -> Value:
        return record(op, forward(self.data), (self,))

    names = FormulaNames("out", ("x",))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"{row.write(names)} (op {row.name!r}); "
                      f"∂/∂x = {row.write_grad(0, names)}.")
    return method


for _row in OPS.values():
    if _row.method:
        setattr(Value, _row.method, _op_method(_row, _row.method))


def max(values: Iterable[Value | float]) -> Value:  # noqa: A001 - engine.max, like torch.max
    """The largest of one or more Values/numbers as one node (∂/∂x_i = 1 for the first
    maximum, 0 for the others)."""
    return _apply("max", tuple(as_values("engine.max", values)))


def sum(values: Iterable[Value | float]) -> Value:  # noqa: A001 - engine.sum, like torch.sum
    """Σ of one or more Values/numbers as a single n-ary node (∂Σ/∂x_i = 1 for every i).

    A neuron's pre-activation w·x + b is one such node instead of a chain of n additions.
    """
    return _apply("sum", tuple(as_values("engine.sum", values)))


def as_values(who: str, values: Iterable[object]) -> list[Value]:
    """An iterable of Values and numbers as a non-empty list of Values (numbers become
    constants), or a ``TypeError``/``ValueError`` naming ``who`` and the bad item."""
    if isinstance(values, (Value, str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{who} expects an iterable of Values or numbers, "
                        f"got {type(values).__name__}")
    inputs = []
    for i, x in enumerate(values):
        v = as_value(x)
        if v is None:
            raise TypeError(f"{who}: item {i} must be a Value or a real number, "
                            f"got {type(x).__name__}: {x!r}")
        inputs.append(v)
    if not inputs:
        raise ValueError(f"{who}: needs at least one value")
    return inputs
