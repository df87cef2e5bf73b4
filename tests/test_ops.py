"""Every op in the table, checked at seeded points over its domain.

A new row in ``engine.ops.OPS`` is picked up here without touching this file: its forward
must match the engine, its local derivatives must match central differences of its own
forward, and the same rule must give the same numbers on Values (create_graph) and on numpy
arrays (compiled batches).
"""

import math
import random

import numpy as np
import pytest

from engine import OPS, Value, apply, grad, local_grads
from engine.ops import FormulaNames, register, sign

POINTS_PER_OP = 12
H = 1e-5  # central-difference step: truncation ~H², rounding ~1e-16/H, both ≪ the tolerance


def cases():
    """(op name, inputs, arg) at seeded points: one test id per op and arg."""
    for name, row in OPS.items():
        if row.arity == 0:  # const has no inputs and nothing to differentiate
            continue
        rng = random.Random(name)
        for arg in row.examples or [None]:
            points = []
            for _ in range(POINTS_PER_OP):
                if row.arity == -1:  # n-ary: vary the number of inputs too
                    lo, hi = row.domain[0]
                    xs = [rng.uniform(lo, hi) for _ in range(rng.randint(1, 5))]
                else:
                    xs = [rng.uniform(lo, hi) for lo, hi in row.domain]
                points.append(xs)
            yield pytest.param(name, points, arg, id=name if arg is None else f"{name}-{arg}")


def forward(name, xs, arg):
    row = OPS[name]
    return row.forward(*xs, arg) if row.takes_arg else row.forward(*xs)


def central_difference(name, xs, arg, i):
    up, down = list(xs), list(xs)
    up[i] += H
    down[i] -= H
    return (forward(name, up, arg) - forward(name, down, arg)) / (2 * H)


def node(name, xs, arg):
    leaves = [Value(x) for x in xs]
    return apply(name, *leaves, arg=arg), leaves


@pytest.mark.parametrize("name, points, arg", list(cases()))
def test_local_grads_match_central_differences(name, points, arg):
    for xs in points:
        out, leaves = node(name, xs, arg)
        assert out.data == forward(name, xs, arg)
        analytic = grad(out, leaves)
        for i in range(len(xs)):
            numeric = central_difference(name, xs, arg, i)
            assert analytic[i] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (name, xs, i)


@pytest.mark.parametrize("name, points, arg", list(cases()))
def test_rule_gives_same_numbers_on_values_and_arrays(name, points, arg):
    row = OPS[name]
    for xs in points:
        out, leaves = node(name, xs, arg)
        floats = local_grads(out)
        symbolic = local_grads(out, symbolic=True)
        assert len(floats) == len(symbolic) == len(xs), "one local derivative per input"
        assert [s.data if isinstance(s, Value) else s for s in symbolic] == pytest.approx(
            floats, rel=1e-14, abs=0)
        # The same forward and rule on numpy arrays, one element per "example".
        arrays = [np.array([x, x]) for x in xs]
        extra = (arg,) if row.takes_arg else ()
        out_array = row.forward(*arrays, *extra)
        np.testing.assert_allclose(out_array, [out.data] * 2, rtol=1e-14)
        array_grads = row.local_grads(out_array, *arrays, *extra)
        for g_array, g in zip(array_grads, floats, strict=True):
            np.testing.assert_allclose(np.broadcast_to(g_array, (2,)), [g, g], rtol=1e-14)


def test_every_op_documents_its_math():
    for name, row in OPS.items():
        assert row.name == name
        assert row.formula and row.symbol
        if row.arity > 0:
            assert len(row.grad_formulas) == row.arity, name
            assert len(row.domain) == row.arity, name
        if row.takes_arg and row.arity > 0:
            assert row.examples, f"{name} takes an arg but gives no example args to test"


@pytest.mark.parametrize("x", [-1000.0, -30.0, 0.0, 30.0, 1000.0])
def test_saturating_ops_are_stable_at_extremes(x):
    for name in ("tanh", "sigmoid"):
        v = Value(x)
        out = apply(name, v)
        out.backward()
        assert math.isfinite(out.data) and math.isfinite(v.grad), (name, x)
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-1000.0).sigmoid().data == 0.0
    # σ(−30) ≈ 9.36e−14: the stable form keeps full relative precision where 1/(1+e^30) would.
    assert Value(-30.0).sigmoid().data == pytest.approx(math.exp(-30) / (1 + math.exp(-30)),
                                                        rel=1e-15)


# --- How each op is written -------------------------------------------------------------------

# The formulas are written for people (× · − ² ^ ln σ); these few replacements make them Python.
TO_PYTHON = [("−", "-"), ("×", "*"), ("·", "*"), ("²", "**2"), ("^", "**"), (" = ", " == "),
             ("σ", "sigmoid"), ("ln ", "log")]


def evaluate(text: str) -> float:
    """A formula with numbers in place of names, evaluated with the table's own functions."""
    for written, python in TO_PYTHON:
        text = text.replace(written, python)
    functions = {row.method: (lambda x, row=row: row.forward(x))
                 for row in OPS.values() if row.method}
    return eval(text, {"__builtins__": {}},
                {**functions, "sign": sign, "max": OPS["max"].forward})


@pytest.mark.parametrize("name, points, arg", list(cases()))
def test_formula_text_computes_what_the_rule_computes(name, points, arg):
    # Each name in a formula, replaced by its number, gives the number the row computes: the
    # node's formula its forward, each local derivative's formula that derivative.
    row = OPS[name]
    for xs in points:
        out = row.compute(xs, arg)
        names = FormulaNames(f"({out!r})", tuple(f"({x!r})" for x in xs),
                             f"({arg!r})" if row.takes_arg else "")
        assert evaluate(row.write(names)) == pytest.approx(out, rel=1e-12), row.write(names)
        for i, local in enumerate(row.derivatives(out, xs, arg)):
            text = row.write_grad(i, names)
            assert evaluate(text) == pytest.approx(local, rel=1e-12, abs=1e-300), (name, text)


def test_n_ary_formulas_name_every_input():
    names = FormulaNames("z", ("w0", "x0", "w1", "x1", "b"))
    assert OPS["wsum"].write(names) == "w0·x0 + w1·x1 + b"
    assert [OPS["wsum"].write_grad(i, names) for i in range(5)] == ["x0", "w0", "x1", "w1", "1"]
    assert OPS["sum"].write(FormulaNames("s", ("a", "b", "c"))) == "a + b + c"
    m = FormulaNames("m", ("a", "b", "c"))
    assert OPS["max"].write(m) == "max(a, b, c)"
    assert OPS["max"].write_grad(2, m) == "1 if c = m and max(a, b) < m else 0"
    assert OPS["pow"].write_symbol(2) == "**2" and OPS["rpow"].write_symbol(0.5) == "0.5**"


def test_the_table_refuses_a_second_row_of_one_name():
    with pytest.raises(ValueError, match="op 'tanh' is already in the table"):
        register(OPS["tanh"])


CHAIN_SHAPES = {"one, one": lambda xs: [1.0, 1.0], "ones": lambda xs: [1.0] * len(xs),
                "one, minus one": lambda xs: [1.0, -1.0],
                "swapped": lambda xs: [xs[1], xs[0]]}


@pytest.mark.parametrize("name, points, arg", [c for c in cases() if OPS[c.values[0]].chain])
def test_a_chain_shape_is_the_local_derivatives(name, points, arg):
    # backward() applies these shapes without calling local_grads: they must be the rule.
    shape = CHAIN_SHAPES[OPS[name].chain]
    for xs in points + [[0.0, -0.0], [math.inf, math.nan]][:1 + (OPS[name].arity != -1)]:
        out = forward(name, xs, arg)
        assert [float.hex(float(d)) for d in OPS[name].local_grads(out, *xs)] == \
               [float.hex(float(d)) for d in shape(xs)]


def test_the_chain_shapes_are_the_ones_backward_knows():
    assert {row.chain for row in OPS.values()} == {"", *CHAIN_SHAPES}
