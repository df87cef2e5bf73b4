"""The rules for numbers at the edges (README, "Numbers that go wrong"), each in eager, steps,
engine.grad and compiled alike."""

import math

import numpy as np
import pytest

import engine
from engine import Value
from engine.compiler.compile import trace


def every_way(f, xs):
    """∂f/∂x by backward(), by draining the steps, by engine.grad and compiled."""
    leaves = [Value(x) for x in xs]
    f(leaves).backward()
    by_backward = [v.grad for v in leaves]
    leaves = [Value(x) for x in xs]
    for _ in engine.backward_steps(f(leaves)):
        pass
    by_steps = [v.grad for v in leaves]
    leaves = [Value(x) for x in xs]
    by_grad = engine.grad(f(leaves), leaves)
    others = [x + 1.0 if math.isfinite(x) else 1.0 for x in xs]
    tape = trace(f, xs, params=[], check_with=others)
    values = tape.forward(np.array([[x] for x in xs]))
    grads, _ = tape.backward(values, np.ones(1))
    by_tape = grads[tape.input_slots, 0].tolist()
    return by_backward, by_steps, by_grad, by_tape


def same(results, expected):
    for result in results:
        assert np.array_equal(np.array(result), np.array(expected), equal_nan=True), results


def test_an_exactly_zero_local_derivative_contributes_exactly_zero():
    # relu below 0 passes nothing back, even an infinite grad from the square root of 0.
    same(every_way(lambda v: v[0].relu() ** 0.5, [-1.0]), [0.0])
    # x ** 0 is constant: 0, not 0·∞, at x = 0 too.
    same(every_way(lambda v: (v[0] ** 0) * v[1], [0.0, 2.0]), [0.0, 1.0])
    # A max input that is not the max, under an infinite grad.
    same(every_way(lambda v: engine.max([v[0], v[1]]) ** 0.5, [0.0, -1.0]),
         [math.inf, 0.0])


def test_a_nan_max_sends_its_grad_to_the_nan_it_returned():
    nan = math.nan
    same(every_way(lambda v: engine.max([v[0], v[1], v[2]]), [1.0, nan, nan]),
         [0.0, 1.0, 0.0])


def test_the_mixed_second_derivative_of_a_power_at_exponent_zero():
    # ∂²(x^y)/∂x∂y = x^(y−1)(1 + y·ln x): 1/x at y = 0.
    for x0 in (2.0, 0.5, 3.0):
        x, y = Value(x0), Value(0.0)
        (dx,) = engine.grad(x ** y, [x], create_graph=True)
        (dxy,) = engine.grad(dx, [y])
        assert dxy == pytest.approx(1 / x0, rel=1e-12)
        h = 1e-4  # a central difference in both x and y
        numeric = ((x0 + h) ** h - (x0 - h) ** h - (x0 + h) ** -h + (x0 - h) ** -h) / (4 * h * h)
        assert dxy == pytest.approx(numeric, rel=1e-6)
    # Where the derivative really is undefined, 0 (x^0 is constant): no nan.
    x, y = Value(0.0), Value(0.0)
    (dx,) = engine.grad(x ** y, [x])
    assert dx == 0.0


def test_a_subnormal_divisor_overflows_the_local_derivative_as_documented():
    # The engine multiplies grad by ∂(x/y)/∂x = 1/y: for y = 5e-324 that is inf, although
    # grad/y would fit. A deliberate limit (local derivatives are what the steps show), stated
    # in README.
    x, y = Value(1e-300), Value(5e-324)
    ((x / y) * 1e-300).backward()
    assert x.grad == math.inf
    assert 1e-300 / 5e-324 < math.inf  # what grad/y would have given


def test_compiled_steps_refuse_empty_and_complex_batches_alike():
    from nn import MLP, compile_step

    step = compile_step(MLP(3, [2], rng=0))
    empty, y = np.zeros((0, 3)), np.zeros(0, dtype=int)
    for call in (lambda: step(empty, y), lambda: step.logits(empty),
                 lambda: step.losses(empty, y)):
        with pytest.raises(ValueError, match="the batch is empty"):
            call()
    complex_x = np.ones((2, 3)) * (1 + 2j)
    for call in (lambda: step(complex_x, np.zeros(2, dtype=int)),
                 lambda: step.logits(complex_x)):
        with pytest.raises(TypeError, match="X must hold real numbers, got complex128"):
            call()
    with pytest.raises(TypeError, match="must be a real number"):  # as the eager model says
        Value(1 + 2j)
    assert step.tape.forward(np.zeros((5, 0))).shape[1] == 0  # the tape itself: empty is empty


@pytest.mark.needs_dot
def test_a_diverged_network_still_draws():
    from nn import MLP
    from nn.viz import NON_FINITE, draw_network

    model = MLP(3, [4, 2], rng=0)
    model.layers[0].neurons[1].w[0].data = math.nan
    model.layers[1].neurons[0].b.data = math.inf
    dot = draw_network(model, [0.5, -1.0, 2.0])
    assert 'color="#000000" penwidth=2.5 style=dashed' in dot.source  # the nan weight
    assert f'color="{NON_FINITE}"' in dot.source  # a nan activation, ringed
    assert dot.pipe(format="svg").startswith(b"<?xml")


@pytest.mark.needs_dot
@pytest.mark.parametrize("label", ["&amp;", "&lt;b&gt;", "a & b", "<i>x</i>"])
def test_labels_are_drawn_exactly_as_written(label):
    import html
    import re

    from engine.viz import draw_dot

    v = Value(1.0, label=label) * 2
    svg = draw_dot(v).pipe(format="svg").decode()
    shown = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert label in shown


@pytest.mark.needs_dot
def test_a_nul_in_a_label_is_shown_not_fatal():
    from engine.viz import draw_dot

    svg = draw_dot(Value(1.0, label="a\0b") * 2).pipe(format="svg").decode()
    assert "a␀b" in svg
