"""The op table: every operation's forward and local derivatives, defined once.

A node in a glassgrad graph is plain data: an op name, its ordered inputs and, for a few ops,
a constant ``arg``. Everything that needs to know what an op *does* reads the row for that name
in :data:`OPS`:

- the eager engine computes ``forward`` on Python floats,
- the backward pass and the step-through evaluate ``local_grads`` on floats,
- ``engine.grad(..., create_graph=True)`` evaluates the same ``local_grads`` on Values, so the
  result is itself a graph that can be differentiated again,
- a compiler can evaluate both on numpy arrays, one element per example in a batch.

For that to work with one definition, the rules below use only arithmetic operators and the
few functions in this module (``exp``, ``log``, ``log1p``, ``tanh``, ``sigmoid``, ``pow``,
``div``, ``step``, ``sign``, ``where``), each of which accepts a float, a numpy array or a
Value.

A row also says how its node is written (``formula``) and how each local derivative is
written (``grad_formulas``), given the names of the node and its inputs: the step-through,
the drawings, the HTML stepper and the expression parser all ask the row, never the op's name.
Adding an op is one ``Op(...)`` entry here and nothing else. (The neuron's op, ``wsum``, is
declared with the rest of what a neuron is, in ``engine/neuron.py``.)

Numerical policy (IEEE 754, as numpy and PyTorch): no op raises on a bad number. ``log`` of 0
is -inf, ``log`` of a negative number is nan, ``x / 0`` is ±inf (nan for 0/0), ``exp``
overflow is inf, a negative base to a fractional power is nan. Python's own float arithmetic
would raise ``ZeroDivisionError``/``OverflowError``/``ValueError`` or even return a complex
number in those cases; the helpers here turn every one of them into the IEEE answer. Use
``engine.detect_anomaly()`` to stop at the first non-finite value instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------------------------
# Math that works on floats (IEEE 754), numpy arrays and Values alike.
# ---------------------------------------------------------------------------------------------


def _ieee(np_func, *xs) -> float:
    """Evaluate a numpy ufunc on float64 scalars: numpy follows IEEE 754 where ``math`` raises."""
    with np.errstate(all="ignore"):
        return float(np_func(*xs))


def _is_real(x) -> bool:
    return isinstance(x, (float, int))


def exp(x):
    """e^x."""
    if _is_real(x):
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    if isinstance(x, np.ndarray):
        return np.exp(x)
    return x.exp()


def log(x):
    """Natural log ln x (x = 0 gives -inf, x < 0 gives nan)."""
    if _is_real(x):
        try:
            return math.log(x)
        except ValueError:
            return _ieee(np.log, x)
    if isinstance(x, np.ndarray):
        return np.log(x)
    return x.log()


def tanh(x):
    """tanh x = (e^x − e^−x) / (e^x + e^−x)."""
    if _is_real(x):
        return math.tanh(x)
    if isinstance(x, np.ndarray):
        return np.tanh(x)
    return x.tanh()


def pow(x, y):
    """x^y (0^−1 is inf, (−8)^(1/3) is nan: never a complex number)."""
    if _is_real(x) and _is_real(y):
        try:
            return math.pow(x, y)
        except (ValueError, OverflowError, ZeroDivisionError):
            return _ieee(np.power, float(x), float(y))
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return np.power(x, y)
    return x**y


def div(x, y):
    """x / y (x/0 is ±inf, 0/0 is nan)."""
    if _is_real(x) and _is_real(y):
        try:
            return x / y
        except ZeroDivisionError:
            return _ieee(np.divide, float(x), float(y))
    return x / y


def step(x):
    """Heaviside step H(x) = 1 if x > 0 else 0, the slope of relu (nan for a nan input, so a
    nan is passed on rather than silently zeroed).

    Its own derivative is 0 wherever it exists, so for a Value it returns a plain float: a
    second derivative through relu is then 0, as it should be.
    """
    if type(x) is float or _is_real(x):  # the backward pass's case, tested first
        return 1.0 if x > 0 else 0.0 if x <= 0 else math.nan
    if isinstance(x, np.ndarray):
        # 0 below and at 0, 1 above, nan for nan (np.heaviside says the same, 10× slower)
        slope = (x > 0).astype(float)
        unknown = np.isnan(x)
        if unknown.any():
            slope[unknown] = math.nan
        return slope
    return step(x.data)


def _numbers(x):
    """The number(s) inside x: a float or array as is, a Value's data."""
    return x if isinstance(x, (float, int, np.ndarray)) else x.data


def _pow_base_term(x, y):
    """∂(x^y)/∂x = y·x^(y−1). Where y = 0 and x^(y−1) is not finite (x = 0, or a subnormal
    x) it is taken as 0: x^0 is constant, and 0·∞ would be nan. Everywhere else it is the
    product itself, even at y = 0, so that its own derivative in y stays right:
    ∂/∂y (y·x^(y−1)) = 1/x there."""
    b, e = _numbers(x), _numbers(y)
    if isinstance(b, np.ndarray) and not isinstance(e, np.ndarray) and e != 0:
        return y * pow(x, y - 1)  # a batch to a fixed power (x ** 2): nothing to mask
    if isinstance(b, np.ndarray) or isinstance(e, np.ndarray):
        with np.errstate(all="ignore"):
            undefined = (e == 0) & ~np.isfinite(np.power(b, np.subtract(e, 1.0)))
            return np.where(undefined, 0.0, y * pow(x, y - 1))
    if e == 0 and not math.isfinite(pow(float(b), float(e) - 1.0)):
        return 0.0
    return y * pow(x, y - 1)


def _pow_exponent_term(out, x, y):
    """∂(x^y)/∂y = x^y·ln x, taken as its limit 0 where x = 0 and y ≥ 0 (as PyTorch does):
    0·ln 0 would be nan."""
    b, e = _numbers(x), _numbers(y)
    if isinstance(b, np.ndarray) or isinstance(e, np.ndarray):
        with np.errstate(all="ignore"):
            return np.where((b == 0) & (e >= 0), 0.0, out * log(x))
    return 0.0 if b == 0 and e >= 0 else out * log(x)


def where(cond, a, b):
    """a where cond holds, else b (elementwise for arrays)."""
    if isinstance(cond, (bool, np.bool_)):
        return a if cond else b
    return np.where(cond, a, b)


def _sigmoid(x):
    # σ(x) = 1 / (1 + e^−x). Written with e^−|x| ∈ (0, 1] so that no branch can overflow:
    # for x < 0 the equivalent e^x / (1 + e^x) is used. Stable at ±1000 and beyond.
    e = exp(-abs(x))
    return where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _relu(x):
    # max(0, x), written so that relu(nan) stays nan (a nan must never be silently zeroed).
    if type(x) is float:  # the eager engine's case, first: the same as where() below
        return 0.0 if x <= 0 else x
    if isinstance(x, np.ndarray):
        # np.maximum passes a nan on; + 0.0 turns a −0.0 it may return into 0.0, as below
        out = np.maximum(x, 0.0)
        out += 0.0
        return out
    return where(x <= 0, 0.0, x)


def _same_shape_arrays(xs) -> bool:
    return all(isinstance(x, np.ndarray) and x.shape == xs[0].shape for x in xs)


def _max(*xs):
    # The first of equal maxima wins, elementwise for arrays; a nan anywhere gives nan.
    if _same_shape_arrays(xs):  # a compiled batch: argmax gives the first max or first nan
        stacked = np.array(xs).reshape(len(xs), -1)
        first = stacked.argmax(axis=0)  # (the first, so 0.0 and -0.0 keep eager's order)
        return stacked[first, np.arange(stacked.shape[1])].reshape(xs[0].shape)
    out = xs[0]
    for x in xs[1:]:
        bigger = (x > out) | np.isnan(x) if isinstance(x, np.ndarray) else (x > out or x != x)
        out = where(bigger & ~np.isnan(out) if isinstance(out, np.ndarray) else
                    (bigger and out == out), x, out)
    return out


def _same(x, out):
    """x is the max: equal to it, or both nan (max returns its first nan input, which then
    gets the grad, as in PyTorch)."""
    if isinstance(x, np.ndarray) or isinstance(out, np.ndarray):
        return (x == out) | (np.isnan(x) & np.isnan(out))
    return x == out or (x != x and out != out)


def _first_max_indicators(out, *xs):
    """∂max/∂x_i: 1 for the first input equal to the max (for a nan max: the first nan), 0
    for the others (a Value's indicators are constants, so its second derivatives are 0)."""
    out = _numbers(out)
    if isinstance(out, np.ndarray) and _same_shape_arrays(xs) and xs[0].shape == out.shape:
        hits = _same(np.array(xs), out)
        return tuple((hits & (np.cumsum(hits, axis=0) == 1)).astype(float))
    taken, result = False, []
    for x in xs:
        hit = _same(_numbers(x), out) & ~taken if isinstance(out, np.ndarray) else (
            not taken and _same(_numbers(x), out))
        taken = taken | hit
        result.append(hit.astype(float) if isinstance(hit, np.ndarray) else float(hit))
    return tuple(result)


def _sum(*xs):
    # x₁ + x₂ + x₃ + …, left to right. A batch of same-shaped arrays is stacked and added in
    # one call, in the same order.
    if len(xs) > 2 and _same_shape_arrays(xs):
        return ordered_sum(np.array(xs))
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total


def ordered_sum(terms: np.ndarray) -> np.ndarray:
    """``terms[0] + terms[1] + …`` along axis 0, added in that order, as the eager ``sum``
    adds. (numpy's reduce adds row after row when a row holds two or more numbers, but sums
    a single column pairwise, so that case is added here one by one; tests check both.)"""
    if terms[0].size >= 2:
        return np.add.reduce(terms, axis=0)
    total = terms[0].copy()
    for term in terms[1:]:
        total += term
    return total


def sigmoid(x):
    """σ(x) = 1 / (1 + e^−x)."""
    if isinstance(x, (float, int, np.ndarray)):
        return _sigmoid(x)
    return x.sigmoid()


def log1p(x):
    """ln(1 + x), exact for small x (x = −1 gives -inf, x < −1 gives nan)."""
    if _is_real(x):
        try:
            return math.log1p(x)
        except ValueError:
            return _ieee(np.log1p, x)
    if isinstance(x, np.ndarray):
        return np.log1p(x)
    return (1.0 + x).log()


def sign(x):
    """sign x: 1 above 0, −1 below, 0 at 0 (the slope of |x|, 0 at the kink as in PyTorch);
    nan for a nan. Its own derivative is 0, so for a Value it returns a plain float."""
    if _is_real(x):
        return 1.0 if x > 0 else -1.0 if x < 0 else 0.0 if x == 0 else math.nan
    if isinstance(x, np.ndarray):
        return np.sign(x)
    return sign(x.data)


def _softplus(x):
    # ln(1 + e^x) = max(x, 0) + ln(1 + e^−|x|): e^−|x| ∈ (0, 1], so nothing can overflow,
    # and log1p keeps full precision where e^−|x| is tiny (softplus(−40) ≈ 4.2e−18).
    return _relu(x) + log1p(exp(-abs(x)))


def _join(separator: str):
    """An n-ary formula: the inputs' names joined, ``a + b + c``."""
    return lambda names: separator.join(names.inputs)


def _max_formula(names: FormulaNames) -> str:
    return f"max({', '.join(names.inputs)})"


def _max_grad_formula(names: FormulaNames, i: int) -> str:
    # Evaluable text for "1 for the first input equal to the max": equal to it, and every
    # input before it smaller.
    x, earlier = names.inputs[i], names.inputs[:i]
    if not earlier:
        return f"1 if {x} = {names.out} else 0"
    before = earlier[0] if len(earlier) == 1 else f"max({', '.join(earlier)})"
    return f"1 if {x} = {names.out} and {before} < {names.out} else 0"


# ---------------------------------------------------------------------------------------------
# The table.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormulaNames:
    """The names a formula is written in: the node's (``out``), its inputs' in order, and its
    arg's (``""`` for ops without one)."""

    out: str
    inputs: tuple[str, ...]
    arg: str = ""

    def fields(self) -> dict[str, str]:
        """The placeholders of a template: ``{out}``, ``{x}``, ``{y}``, ``{c}``."""
        return {"out": self.out, "c": self.arg, **dict(zip("xy", self.inputs, strict=False))}


@dataclass(frozen=True)
class Teach:
    """How practice mode (``engine.practice``) teaches an op's local derivatives, in words
    that never give the number: templates in which ``{n}`` stands for the node, ``{p}`` for the
    input asked about, ``{rule}`` for its written derivative and ``{op}`` for the op's name.

    ``rules``: for each input (the last for every later one), which rule applies and which
    values to use: the hint a first wrong answer gets. ``signs``: for each input likewise,
    what to say when the answer is the local derivative with its sign flipped. ``with_input``:
    the derivative a learner writes with the input where the rule has the output (tanh's
    1 − x² for 1 − out²), as a function of the input, and ``with_input_words`` what to say.
    ``noun``: what the op is called in a sentence ("the local derivative of a product"), the
    op's name if empty.
    """

    rules: tuple[str, ...] = ("the rule for {op} is ∂{n}/∂{p} = {rule}; put in the values of its "
                              "names",)
    signs: tuple[str, ...] = ("the sign is off: check the sign of each value you put in",)
    with_input: Callable[[float], float] | None = None
    with_input_words: str = ""
    noun: str = ""

    def called(self, op: str) -> str:
        """What op ``op`` is called in a sentence: its ``noun``, or its name."""
        return self.noun or op

    def rule(self, op: str, i: int, n: str, p: str, rule: str) -> str:
        """The rule for input ``i`` (``p``) of node ``n`` of op ``op``, in words."""
        return self.rules[min(i, len(self.rules) - 1)].format(op=self.called(op), n=n, p=p,
                                                              rule=rule)

    def sign(self, i: int, n: str, p: str) -> str:
        """What to say of a flipped sign of ∂n/∂p, ``p`` the node's input ``i``."""
        return self.signs[min(i, len(self.signs) - 1)].format(n=n, p=p)


_SUMS = Teach(("a sum passes its grad on as it is, so ∂{n}/∂{p} is how much {n} moves when "
               "{p} moves by 1",), noun="a sum")


@dataclass(frozen=True)
class Op:
    """One row of the op table: everything the engine knows about one op.

    ``forward(*inputs[, arg])`` gives the op's value; ``local_grads(out, *inputs[, arg])``
    gives the tuple of local derivatives ∂out/∂input_i, one per input, in input order. ``arg``
    is passed last, only for ops with ``takes_arg``.

    How it is written, for the step-through, the drawings and the stepper: ``symbol`` is its
    sign in a drawing (``{c}`` stands for the arg: ``**{c}`` draws ``**2``); ``formula`` is
    the node as text and ``grad_formulas`` each local derivative as text, as templates in
    which ``{out}``, ``{x}``, ``{y}`` and ``{c}`` stand for the node, its inputs and its arg
    (an n-ary op gives one template for every input), or as functions of the names
    (:class:`FormulaNames`, and the input's index) where a template cannot say it. The text is
    written for people (× · − ² ^ ln σ), and it must also compute: with numbers put in for the
    names, ``tests/test_ops.py`` evaluates it against the rule, knowing only those signs and
    the ops' own names. So a derivative that needs a new function (sin's cos) names an op, and
    that op needs its own row: ``grad(..., create_graph=True)`` calls ``x.cos()`` too.

    ``method``: the name of the Value method and of the expression parser's function for a
    one-input op (``x.tanh()``, ``"tanh(x)"``). ``activation``: whether a neuron may apply
    it to its pre-activation (``nn`` offers it; drawings fold it into the neuron).
    ``domain`` gives, for tests, an interval per input where the op is smooth; ``examples``
    gives args to test ops that take one.

    What the compiler must know beyond the maths (a kink, a pole, a math-library function)
    is not here but in ``engine.compiler.exactness``, keyed by the op's name.

    ``teach``: how practice mode words its hints and the mistakes it names (:class:`Teach`).

    ``chain``: for the few ops whose local derivatives are the inputs themselves or ±1, which
    of those it is, so that ``backward()`` can apply the chain rule without calling
    ``local_grads``: ``"one, one"`` (add), ``"ones"`` (every one is 1: sum), ``"one, minus one"``
    (sub),
    ``"swapped"`` (∂/∂x = y and ∂/∂y = x: mul). ``tests/test_ops.py`` checks it against
    ``local_grads``.
    """

    name: str
    symbol: str
    arity: int  # number of inputs; -1 for "one or more" (sum)
    forward: Callable
    local_grads: Callable
    formula: str | Callable[[FormulaNames], str]
    grad_formulas: tuple[str, ...] | Callable[[FormulaNames, int], str]
    takes_arg: bool = False
    method: str | None = None
    activation: bool = False
    domain: tuple[tuple[float, float], ...] = ((-3.0, 3.0),)
    examples: tuple[float, ...] = ()
    teach: Teach = Teach()
    chain: str = ""

    def compute(self, inputs: Sequence[Any], arg: Any = None) -> Any:
        """The op's value for ``inputs`` (floats, arrays or Values) and ``arg``."""
        return self.forward(*inputs, arg) if self.takes_arg else self.forward(*inputs)

    def derivatives(self, out: Any, inputs: Sequence[Any],
                    arg: Any = None) -> tuple[Any, ...]:
        """∂out/∂input_i for each input, given the value ``out`` the op computed."""
        if self.takes_arg:
            return self.local_grads(out, *inputs, arg)
        return self.local_grads(out, *inputs)

    def write(self, names: FormulaNames) -> str:
        """The node as text: ``a × b``, ``tanh(e)``, ``a + b + c``, ``x^2``."""
        if callable(self.formula):
            return self.formula(names)
        return self.formula.format(**names.fields())

    def write_grad(self, i: int, names: FormulaNames) -> str:
        """∂out/∂input_i as text: ``b`` for ``a × b``'s first input, ``1 − o²`` for tanh."""
        if callable(self.grad_formulas):
            return self.grad_formulas(names, i)
        template = self.grad_formulas[min(i, len(self.grad_formulas) - 1)]
        return template.format(**names.fields())

    def write_symbol(self, arg=None) -> str:
        """The op's sign in a drawing: ``×``, ``tanh``, ``**2`` (the arg shown)."""
        return self.symbol.format(c=f"{arg:g}") if self.takes_arg else self.symbol


OPS: dict[str, Op] = {}


def register(*ops: Op) -> None:
    """Add rows to the table (an op's name must be new). Register them when the engine is
    imported, as this module and ``engine.neuron`` do: ``Value``'s methods, the parser's
    functions and ``nn``'s activations are read from the table once, at import."""
    for op in ops:
        if op.name in OPS:
            raise ValueError(f"op {op.name!r} is already in the table")
        OPS[op.name] = op


register(
    Op(
        "const", "const", 0,
        forward=lambda c: c,
        local_grads=lambda out, c: (),
        formula="{c}",
        grad_formulas=(),
        takes_arg=True,
        domain=(),
    ),
    Op(
        "add", "+", 2,
        forward=lambda x, y: x + y,
        local_grads=lambda out, x, y: (1.0, 1.0),
        formula="{x} + {y}",
        grad_formulas=("1", "1"),
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        teach=_SUMS,
        chain="one, one",
    ),
    Op(
        "sub", "−", 2,
        forward=lambda x, y: x - y,
        local_grads=lambda out, x, y: (1.0, -1.0),
        formula="{x} − {y}",
        grad_formulas=("1", "−1"),
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        teach=Teach(
            rules=(_SUMS.rules[0], "{p} is subtracted: when {p} grows, {n} falls; the rule is "
                                   "{rule}"),
            signs=("the sign of a subtraction: {p} is the one subtracted from, so ∂{n}/∂{p} is "
                   "positive", "the sign of a subtraction: {p} is subtracted, so ∂{n}/∂{p} is "
                                "negative"), noun="a subtraction"),
        chain="one, minus one",
    ),
    Op(
        "mul", "×", 2,
        forward=lambda x, y: x * y,
        local_grads=lambda out, x, y: (y, x),
        formula="{x} × {y}",
        grad_formulas=("{y}", "{x}"),
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        teach=Teach(("for a product, ∂{n}/∂{p} is the other factor, {rule}; use "
                     "its value",), noun="a product"),
        chain="swapped",
    ),
    Op(
        "div", "÷", 2,
        forward=div,
        # ∂(x/y)/∂y = −x/y² = −out/y: the same number, without squaring y (which can overflow).
        local_grads=lambda out, x, y: (div(1.0, y), div(-out, y)),
        formula="{x} / {y}",
        grad_formulas=("1/{y}", "−{out}/{y}"),
        domain=((-3.0, 3.0), (0.5, 3.0)),
        teach=Teach(
            rules=("the quotient rule: ∂{n}/∂{p} = {rule}; use the values of those names, and "
                   "mind the sign",),
            signs=("the sign of a division: ∂{n}/∂{p} = 1/(the divisor), with its sign",
                   "the sign of a division: ∂{n}/∂{p} = −{n}/{p}, minus sign included"),
            noun="a division"),
    ),
    Op(
        "neg", "−", 1,
        forward=lambda x: -x,
        local_grads=lambda out, x: (-1.0,),
        formula="−{x}",
        grad_formulas=("−1",),
        teach=Teach(signs=("the sign of a negation: ∂{n}/∂{p} = −1",), noun="a negation"),
    ),
    Op(
        "pow", "**{c}", 1,
        forward=pow,
        local_grads=lambda out, x, c: (_pow_base_term(x, c),),
        formula="{x}^{c}",
        grad_formulas=("{c}·{x}^({c}−1)",),
        takes_arg=True,
        domain=((0.2, 3.0),),
        examples=(2, 3, 0.5, -1.5, 0, 1),
        teach=Teach(noun="a power"),
    ),
    Op(
        "rpow", "{c}**", 1,
        forward=lambda x, c: pow(c, x),
        local_grads=lambda out, x, c: (_pow_exponent_term(out, c, x),),
        formula="{c}^{x}",
        grad_formulas=("{out}·ln {c}",),
        takes_arg=True,
        examples=(2, 0.5, 10),
        teach=Teach(noun="a power"),
    ),
    Op(
        "vpow", "**", 2,
        forward=pow,
        local_grads=lambda out, x, y: (_pow_base_term(x, y), _pow_exponent_term(out, x, y)),
        formula="{x}^{y}",
        grad_formulas=("{y}·{x}^({y}−1)", "{out}·ln {x}"),
        domain=((0.2, 3.0), (-2.0, 2.0)),
        teach=Teach(noun="a power"),
    ),
    Op(
        "exp", "exp", 1,
        forward=exp,
        local_grads=lambda out, x: (out,),
        formula="exp({x})",
        grad_formulas=("{out}",),
        method="exp",
        teach=Teach(("exp is its own derivative, so use {n}'s value",)),
    ),
    Op(
        "log", "log", 1,
        forward=log,
        local_grads=lambda out, x: (div(1.0, x),),
        formula="ln {x}",
        grad_formulas=("1/{x}",),
        method="log",
        domain=((0.1, 5.0),),
    ),
    Op(
        "tanh", "tanh", 1,
        forward=tanh,
        local_grads=lambda out, x: (1.0 - out * out,),
        formula="tanh({x})",
        grad_formulas=("1 − {out}²",),
        method="tanh",
        activation=True,
        teach=Teach(
            rules=("tanh's derivative is written with its output, 1 − {n}², where {n} = "
                   "tanh({p}); use {n}'s value, not {p}'s",),
            with_input=lambda x: 1 - x * x,
            with_input_words="that is 1 − {p}², with tanh's input; tanh's derivative is "
                             "written with its output, 1 − {n}²"),
    ),
    Op(
        "sigmoid", "σ", 1,
        forward=_sigmoid,
        local_grads=lambda out, x: (out * (1.0 - out),),
        formula="σ({x})",
        grad_formulas=("{out}·(1 − {out})",),
        method="sigmoid",
        activation=True,
        domain=((-6.0, 6.0),),
        teach=Teach(
            rules=("σ's derivative is written with its output, {n}·(1 − {n}), where {n} = "
                   "σ({p}); use {n}'s value, not {p}'s",),
            with_input=lambda x: x * (1 - x),
            with_input_words="that is {p}·(1 − {p}), with σ's input; σ's derivative is "
                             "written with its output, {n}·(1 − {n})", noun="σ"),
    ),
    Op(
        "relu", "relu", 1,
        forward=_relu,
        # relu is not differentiable at exactly 0; like PyTorch we use slope 0 there.
        local_grads=lambda out, x: (step(x),),
        formula="relu({x})",
        grad_formulas=("1 if {x} > 0 else 0",),
        method="relu",
        activation=True,
    ),
    Op(
        # A smooth relu: ln(1 + e^x), whose slope is σ(x).
        "softplus", "softplus", 1,
        forward=_softplus,
        local_grads=lambda out, x: (sigmoid(x),),
        formula="softplus({x})",
        grad_formulas=("σ({x})",),
        method="softplus",
        activation=True,
        domain=((-6.0, 6.0),),
    ),
    Op(
        # |x|, for L1 losses; slope 0 at the kink, as PyTorch.
        "abs", "abs", 1,
        forward=abs,
        local_grads=lambda out, x: (sign(x),),
        formula="abs({x})",
        grad_formulas=("sign({x})",),
        method="abs",
    ),
    Op(
        "max", "max", -1,
        forward=_max,
        local_grads=_first_max_indicators,
        formula=_max_formula,
        grad_formulas=_max_grad_formula,
        teach=Teach(noun="a max"),
    ),
    Op(
        "sum", "Σ", -1,
        forward=_sum,
        local_grads=lambda out, *xs: (1.0,) * len(xs),
        formula=_join(" + "),
        grad_formulas=("1",),
        teach=_SUMS,
        chain="ones",
    ),
)
