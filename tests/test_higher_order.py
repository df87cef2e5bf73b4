"""engine.grad: first, second and third derivatives against analytic formulas."""

import math

import pytest

import engine
from engine import Value, grad


def derivatives(f, x0, order):
    """[f'(x0), f''(x0), ...] by repeated engine.grad with create_graph=True."""
    x = Value(x0)
    y, result = f(x), []
    for _ in range(order):
        (y,) = grad(y, [x], create_graph=True)
        result.append(y.data)
    return result


def sig(x):
    return 1 / (1 + math.exp(-x))


@pytest.mark.parametrize("f, analytic, x0", [
    (lambda x: x ** 3, lambda x: [3 * x**2, 6 * x, 6.0], 1.7),
    (lambda x: x.exp(), lambda x: [math.exp(x)] * 3, 0.3),
    (lambda x: x.log(), lambda x: [1 / x, -1 / x**2, 2 / x**3], 1.3),
    (lambda x: x.tanh(), lambda x: [
        1 - math.tanh(x) ** 2,
        -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
        (6 * math.tanh(x) ** 2 - 2) * (1 - math.tanh(x) ** 2)], 0.4),
    (lambda x: x.sigmoid(), lambda x: [
        sig(x) * (1 - sig(x)),
        sig(x) * (1 - sig(x)) * (1 - 2 * sig(x)),
        sig(x) * (1 - sig(x)) * (1 - 6 * sig(x) + 6 * sig(x) ** 2)], -0.8),
    (lambda x: 1 / x, lambda x: [-1 / x**2, 2 / x**3, -6 / x**4], 0.9),
    (lambda x: 2 ** x, lambda x: [2**x * math.log(2) ** k for k in (1, 2, 3)], 0.6),
    (lambda x: x ** x, lambda x: [
        x**x * (math.log(x) + 1),
        x**x * ((math.log(x) + 1) ** 2 + 1 / x),
        x**x * ((math.log(x) + 1) ** 3 + 3 * (math.log(x) + 1) / x - 1 / x**2)], 1.4),
    (lambda x: (x * 3).relu() * x, lambda x: [6 * x, 6.0, 0.0], 0.5),
    (lambda x: -x * x - x, lambda x: [-2 * x - 1, -2.0, 0.0], 2.0),
])
def test_derivatives_up_to_third_order(f, analytic, x0):
    assert derivatives(f, x0, 3) == pytest.approx(analytic(x0), rel=1e-12, abs=1e-12)


def test_mixed_partials_of_power():
    # f = x^y: ∂²f/∂x∂y = x^(y−1)·(1 + y ln x)
    x, y = Value(1.7), Value(2.3)
    dfdx, _ = grad(x ** y, [x, y], create_graph=True)
    (d2,) = grad(dfdx, [y])
    assert d2 == pytest.approx(1.7 ** 1.3 * (1 + 2.3 * math.log(1.7)), rel=1e-13)


def test_hessian_vector_product():
    # f(x, y) = x²y + y³: H = [[2y, 2x], [2x, 6y]]; Hv by differentiating ∇f·v.
    x, y = Value(1.5), Value(-0.5)
    v = (0.3, -2.0)
    f = x * x * y + y ** 3
    gx, gy = grad(f, [x, y], create_graph=True)
    hv = grad(gx * v[0] + gy * v[1], [x, y])
    expected = [2 * -0.5 * 0.3 + 2 * 1.5 * -2.0, 2 * 1.5 * 0.3 + 6 * -0.5 * -2.0]
    assert hv == pytest.approx(expected, rel=1e-14)


def test_grad_does_not_touch_grad_fields():
    a, b = Value(2.0), Value(3.0)
    c = (a * b).tanh() + a
    for v in engine.topological_order(c):
        v.grad = -7.0
    ga, gb = grad(c, [a, b])
    assert all(v.grad == -7.0 for v in engine.topological_order(c))
    c.backward()
    assert (a.grad + 7.0, b.grad + 7.0) == pytest.approx((ga, gb), rel=1e-15)


def test_grad_results_and_unused_inputs():
    x, unused = Value(2.0), Value(5.0)
    y = x * x
    assert grad(y, [x, unused]) == [4.0, 0.0]
    assert grad(y, x) == [4.0]
    assert grad(x, [x]) == [1.0]
    gx, gu = grad(y, [x, unused], create_graph=True)
    assert isinstance(gx, Value) and isinstance(gu, Value) and gu.data == 0.0
    (g,) = grad(x + 1, [x], create_graph=True)  # a constant derivative is a Value too
    assert isinstance(g, Value) and g.data == 1.0 and grad(g, [x]) == [0.0]


def test_grad_rejects_non_value_inputs():
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a Value, got float"):
        grad(Value(1.0), [Value(1.0), 2.0])
