"""Every row of the op table reaches everything that reads the table, with no other edit:
the Value method and the expression parser (for one-input ops), backward against central
differences, the step text, the drawing and the compiler. A new row is picked up here too
(softplus and abs were added this way: one row each in engine/ops.py)."""

import random

import numpy as np
import pytest
from graphviz.quoting import quote

import engine
from engine import OPS, Value, apply, backward_steps, gradcheck
from engine.compiler.compile import trace
from engine.ops import FormulaNames
from engine.viz import draw_dot
from engine.viz.expr import FUNCTIONS, build

ROWS = [name for name, row in OPS.items() if row.arity != 0]


def example(name: str, seed: int = 0):
    """(inputs, arg) inside the row's domain: 3 inputs for an n-ary op (5 for wsum, so that
    it has two pairs and a bias)."""
    row, rng = OPS[name], random.Random(f"{name}{seed}")
    count = row.arity if row.arity > 0 else 5 if name == "wsum" else 3
    domains = row.domain if row.arity > 0 else row.domain * count
    xs = [rng.uniform(lo + 0.05, hi - 0.05) for lo, hi in domains]
    return xs, (row.examples[0] if row.takes_arg else None)


def build_node(name, xs, arg):
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    return apply(name, *leaves, arg=arg), leaves


@pytest.mark.parametrize("name", ROWS)
def test_backward_matches_central_differences(name):
    xs, arg = example(name)
    assert gradcheck(lambda *v: apply(name, *v, arg=arg), xs)


@pytest.mark.parametrize("name", ROWS)
def test_the_step_text_and_the_drawing_ask_the_row(name):
    xs, arg = example(name)
    out, leaves = build_node(name, xs, arg)
    out.label = "out"
    row = OPS[name]
    words = FormulaNames("out", tuple(v.label for v in leaves),
                         f"{arg:g}" if arg is not None else "")
    text = repr(next(backward_steps(out)))
    assert text.startswith(f"step 1 of 1: out = {row.write(words)} = ")
    assert f"∂out/∂x0 = {row.write_grad(0, words)}" in text
    assert f"_op [label={quote(row.write_symbol(arg))} " in draw_dot(out).source


@pytest.mark.parametrize("name", ROWS)
def test_the_compiler_runs_the_row_like_the_eager_engine(name):
    xs, arg = example(name)
    others, _ = example(name, seed=1)
    tape = trace(lambda v: apply(name, *v, arg=arg), xs, params=[], check_with=others)
    batch = np.array([xs, others, [x * 0.9 for x in xs]]).T
    values = tape.forward(batch)
    grads, _ = tape.backward(values, np.ones(batch.shape[1]))
    for b, column in enumerate(batch.T):
        out, leaves = build_node(name, list(column), arg)
        assert values[tape.output_slot, b] == pytest.approx(out.data, rel=1e-13)
        expected = engine.grad(out, leaves)
        assert grads[tape.input_slots, b] == pytest.approx(expected, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("name", [n for n, row in OPS.items() if row.method])
def test_one_input_ops_are_methods_and_parser_functions(name):
    method = OPS[name].method
    x = Value(0.7)
    assert getattr(x, method)().op == name and getattr(x, method)().data == apply(name, x).data
    assert method in FUNCTIONS
    out = build(f"{method}(a * b)", {"a": 0.5, "b": 1.5})
    assert out.op == name and out.data == apply(name, Value(0.75)).data


def test_softplus_and_abs():
    # softplus(x) = ln(1 + e^x), stable at both ends; slope σ(x). abs: slope ±1, 0 at 0.
    assert Value(0.0).softplus().data == pytest.approx(np.log(2.0), rel=1e-15)
    assert Value(1000.0).softplus().data == 1000.0
    assert Value(-40.0).softplus().data == pytest.approx(np.exp(-40.0), rel=1e-12)
    x = Value(-0.5)
    x.softplus().backward()
    assert x.grad == pytest.approx(1 / (1 + np.exp(0.5)), rel=1e-15)
    for value, slope in ((-2.0, -1.0), (0.0, 0.0), (3.0, 1.0)):
        v = Value(value)
        abs(v).backward()
        assert v.grad == slope and abs(v).data == abs(value)
    (second,) = engine.grad(engine.grad(x.softplus(), [x], create_graph=True)[0], [x])
    s = 1 / (1 + np.exp(0.5))
    assert second == pytest.approx(s * (1 - s), rel=1e-12)  # σ'(x) = σ(1 − σ)
