"""Losses: values by hand, gradients against central differences, no overflow."""

import math

import pytest

import engine
from engine import Value, gradcheck
from nn import cross_entropy, hinge, log_sum_exp, mse, softmax


def test_mse_value_and_grad():
    p = [Value(1.0), Value(-2.0)]
    loss = mse(p, [0.0, 1.0])  # ((1 − 0)² + (−2 − 1)²) / 2 = 5
    loss.backward()
    assert loss.data == 5.0
    assert [v.grad for v in p] == [1.0, -3.0]  # 2(p − t)/n


def test_cross_entropy_value():
    z = [1.0, 2.0, 3.0]
    expected = math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 2.0
    assert cross_entropy(z, 1).data == pytest.approx(expected, rel=1e-15)


def test_hinge_value():
    # margins: j=0: 1 + 2 − 1 = 2; j=2: 1 + 0.5 − 1 = 0.5; j=3: 1 − 3 − 1 < 0 ⇒ 0
    assert hinge([2.0, 1.0, 0.5, -3.0], 1).data == 2.5 / 4  # the mean over the 4 classes
    assert hinge([5.0], 0).data == 0.0


@pytest.mark.parametrize("loss", [
    lambda *z: cross_entropy(list(z), 2),
    lambda *z: hinge(list(z), 0),
    lambda *z: mse(list(z), [0.5, -0.5, 1.0, 2.0]),
    lambda *z: log_sum_exp(list(z)),
])
def test_loss_gradients_match_central_differences(loss):
    assert gradcheck(loss, [0.3, -1.2, 0.8, 2.1])


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    z = [Value(x) for x in (0.5, -1.0, 2.0)]
    cross_entropy(z, 0).backward()
    p = softmax(z)
    assert [v.grad for v in z] == pytest.approx([p[0] - 1, p[1], p[2]], rel=1e-14)


@pytest.mark.parametrize("big", [1000.0, -1000.0, 1e300])
def test_cross_entropy_never_overflows(big):
    z = [Value(big), Value(0.0), Value(-big)]
    loss = cross_entropy(z, 1)
    loss.backward()
    assert math.isfinite(loss.data) and all(math.isfinite(v.grad) for v in z)
    assert loss.data == pytest.approx(abs(big), rel=1e-12)
    assert sum(softmax(z)) == pytest.approx(1.0)


def test_softmax():
    p = softmax([Value(1.0), 2.0, 3.0])
    assert all(isinstance(x, float) for x in p)
    assert sum(p) == pytest.approx(1.0, rel=1e-15) and p[2] > p[1] > p[0]
    assert softmax([1000.0, 1000.0]) == [0.5, 0.5]


def test_losses_are_graphs():
    z = [Value(0.1), Value(0.2)]
    loss = cross_entropy(z, 0)
    assert z[0] in engine.topological_order(loss)


@pytest.mark.parametrize("call, error, message", [
    (lambda: cross_entropy([1.0, 2.0], 2), ValueError, "target 2 is out of range for 2 classes"),
    (lambda: cross_entropy([1.0, 2.0], 1.0), TypeError, "target must be a class index"),
    (lambda: cross_entropy([], 0), TypeError, "non-empty list"),
    (lambda: cross_entropy([1.0, "a"], 0), TypeError, r"logits\[1\] must be a Value or a number"),
    (lambda: mse([1.0, 2.0], [1.0]), ValueError, "2 predictions but targets"),
])
def test_loss_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
