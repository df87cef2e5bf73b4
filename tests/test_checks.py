"""gradcheck, numerical_grad and detect_anomaly."""

import dataclasses
import math

import pytest

import engine
from engine import OPS, AnomalyError, GradcheckError, Value, detect_anomaly, gradcheck


def test_numerical_grad_matches_calculus():
    g = engine.numerical_grad(lambda x, y: x * x * y, [3.0, 2.0])
    assert g == pytest.approx([12.0, 9.0], rel=1e-8)
    assert engine.numerical_grad(lambda x: 5.0, [1.0]) == [0.0]  # f may return a number


def test_gradcheck_passes_on_correct_rules():
    assert gradcheck(lambda x, y, z: engine.sum([x * y, z.exp(), (x / z).tanh()]).sigmoid(),
                     [0.3, -1.1, 0.7])
    assert gradcheck(lambda x: x, [Value(2.0)])  # Values are accepted as points too


def test_gradcheck_catches_a_wrong_rule(monkeypatch):
    # A table row for x² whose "derivative" is x (should be 2x): gradcheck must name the input.
    bad = dataclasses.replace(OPS["pow"], name="badsquare", local_grads=lambda out, x, c: (x,))
    monkeypatch.setitem(OPS, "badsquare", bad)

    def f(x, y):
        return engine.apply("badsquare", x, arg=2) + y

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [1.5, 2.0])
    message = str(info.value)
    assert "failed for 1 of 2 inputs" in message
    assert "input 0 (= 1.5): engine 1.5, central difference 3, |diff| 1.5" in message
    assert "input 1" not in message


def test_gradcheck_catches_a_kink():
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda x: x.relu(), [0.0])  # engine slope 0, central difference 0.5


def test_gradcheck_rejects_non_value_result():
    with pytest.raises(TypeError, match="f must return a Value, got str"):
        gradcheck(lambda x: "nope", [1.0])


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)


def test_detect_anomaly_names_op_inputs_and_labels():
    a = Value(0.0, label="a")
    assert a.log().data == -math.inf  # outside: IEEE, silently
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        b = a * 2
        b.log()
    message = str(info.value)
    assert "op 'log' produced -inf" in message and "mul node (0.0)" in message
    with pytest.raises(AnomalyError, match=r"op 'div' produced inf from inputs 'x' \(1.0\), "
                                           r"constant 0.0"), detect_anomaly():
        Value(1.0, label="x") / 0


def test_detect_anomaly_in_backward():
    x = Value(0.0, label="x")
    y = x ** 0.5  # forward 0 is fine; ∂/∂x = 0.5·x^−0.5 is inf
    with pytest.raises(AnomalyError, match=r"backward through op 'pow'.*'x' \(0.0\)"), \
            detect_anomaly():
        y.backward()
    with pytest.raises(AnomalyError, match="backward through op 'pow'"), detect_anomaly():
        engine.grad(y, [x])


def test_detect_anomaly_restores_and_is_an_arithmetic_error():
    with pytest.raises(AnomalyError), detect_anomaly():
        Value(-1.0).log()
    assert math.isnan(Value(-1.0).log().data)  # switched off again after the exception
    assert issubclass(AnomalyError, ArithmeticError)
    with detect_anomaly():  # finite work passes through untouched
        v = Value(2.0)
        (v * v).backward()
    assert v.grad == 4.0
