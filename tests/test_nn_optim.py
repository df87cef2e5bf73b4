"""Optimizers against hand-computed updates; they lower a loss; schedules; errors."""

import math

import pytest

import engine
from engine import Value
from nn import MLP, SGD, Adam, CosineLR, StepLR, cross_entropy


def param(data, grad):
    p = Value(data)
    p.grad = grad
    return p


def test_sgd_plain_and_weight_decay():
    p = param(1.0, 0.5)
    SGD([p], lr=0.1).step()
    assert p.data == 1.0 - 0.1 * 0.5
    q = param(2.0, 0.5)
    SGD([q], lr=0.1, weight_decay=0.01).step()  # g = 0.5 + 0.01·2
    assert q.data == 2.0 - 0.1 * (0.5 + 0.01 * 2.0)


def test_sgd_momentum_matches_pytorch_rule():
    p = param(1.0, 1.0)
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()  # v = g = 1 (the buffer starts at the first gradient)
    assert p.data == 1.0 - 0.1 * 1.0
    p.grad = 0.5
    opt.step()  # v = 0.9·1 + 0.5 = 1.4
    assert p.data == pytest.approx(0.9 - 0.1 * 1.4, rel=1e-15)


def test_adam_two_steps_by_hand():
    p = param(1.0, 0.2)
    opt = Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    opt.step()
    m, v = 0.1 * 0.2, 0.001 * 0.04
    expected = 1.0 - 0.01 * (m / 0.1) / (math.sqrt(v / 0.001) + 1e-8)
    assert p.data == pytest.approx(expected, rel=1e-15)
    p.grad = -0.1
    opt.step()
    m, v = 0.9 * m + 0.1 * -0.1, 0.999 * v + 0.001 * 0.01
    expected -= 0.01 * (m / (1 - 0.9**2)) / (math.sqrt(v / (1 - 0.999**2)) + 1e-8)
    assert p.data == pytest.approx(expected, rel=1e-14)


def test_zero_grad():
    ps = [param(1.0, 3.0), param(2.0, -1.0)]
    SGD(ps, lr=0.1).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: Adam(ps, lr=0.02),
])
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(make):
    model = MLP(4, [8, 3], rng=0)
    batch = [([0.1, 0.9, -0.3, 0.5], 0), ([0.8, -0.2, 0.4, 0.1], 1),
             ([-0.5, 0.3, 0.9, -0.7], 2), ([0.2, 0.2, -0.8, 0.6], 0)]
    opt = make(model.parameters())

    def loss():
        return engine.sum([cross_entropy(model(x), y) for x, y in batch]) / len(batch)

    losses = []
    for _ in range(20):
        L = loss()
        losses.append(L.data)
        opt.zero_grad()
        L.backward()
        opt.step()
    assert losses[-1] < 0.8 * losses[0]
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))


def test_optimizer_state_round_trip_continues_identically():
    def run(split):
        p = param(1.0, 0.0)
        opt = Adam([p], lr=0.1)
        for k in range(6):
            if k == split:
                state, data = opt.state_dict(), p.data
                p = param(data, 0.0)
                opt = Adam([p], lr=0.5)
                opt.load_state_dict(state)
            p.grad = math.sin(k + p.data)
            opt.step()
        return p.data

    assert run(split=3) == run(split=-1)


@pytest.mark.parametrize("make, message", [
    (lambda p: SGD(p, lr=0), r"lr must be a number in \(0.0, ∞\), got 0"),
    (lambda p: SGD(p, lr=0.1, momentum=1.0), r"momentum must be a number in \[0.0, 1.0\)"),
    (lambda p: SGD(p, lr="fast"), "lr must be a number"),
    (lambda p: Adam(p, betas=(0.9,)), "betas must be a pair"),
    (lambda p: Adam(p, eps=-1e-8), "eps must be"),
    (lambda p: SGD(p + p, lr=0.1), r"params\[1\] .* appears twice"),
    (lambda p: SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])
    with pytest.raises(TypeError, match=r"params\[0\] must be a Value, got float"):
        SGD([1.0], lr=0.1)


def test_schedules():
    opt = SGD([Value(1.0)], lr=1.0)
    step = StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        step.step()
        lrs.append(opt.lr)
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25]
    opt2 = SGD([Value(1.0)], lr=1.0)
    cos = CosineLR(opt2, total=4, min_lr=0.1)
    for _ in range(2):
        cos.step()
    assert opt2.lr == pytest.approx(0.1 + 0.9 * 0.5)
    for _ in range(5):
        cos.step()
    assert opt2.lr == pytest.approx(0.1)
    restored = StepLR(SGD([Value(1.0)], lr=1.0), step_size=2, gamma=0.5)
    restored.load_state_dict(step.state_dict())
    assert restored.optimizer.lr == 0.25
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        StepLR(opt, step_size=0)


def test_optimizer_load_state_dict_is_checked_before_anything_changes():
    p = Value(1.0)
    sgd = SGD([p], lr=0.1, momentum=0.9)
    bad = {"lr": 0.5, "momentum": 0.5, "weight_decay": 0.0, "velocity": [1.0, 2.0]}
    with pytest.raises(ValueError, match="'velocity' must be a list of 1 numbers"):
        sgd.load_state_dict(bad)
    assert (sgd.lr, sgd.momentum) == (0.1, 0.9)
    adam = Adam([p], lr=0.1)
    with pytest.raises(ValueError, match="no 'betas' .*another optimizer"):
        adam.load_state_dict(sgd.state_dict())
    assert adam.lr == 0.1
    state = adam.state_dict()
    state["m"] = ["1e3"]
    with pytest.raises(ValueError, match="'m' must be a list of 1 numbers"):
        adam.load_state_dict(state)


def test_sgd_state_dict_is_a_snapshot():
    p = param(1.0, 1.0)
    sgd = SGD([p], lr=0.1, momentum=0.9)
    sgd.step()
    snapshot = sgd.state_dict()
    sgd.step()
    assert snapshot["velocity"] == [1.0]


UPDATE_RULES = [
    lambda ps: SGD(ps, lr=0.1), lambda ps: SGD(ps, lr=0.1, weight_decay=0.01),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: SGD(ps, lr=0.05, momentum=0.5, weight_decay=0.02),
    lambda ps: Adam(ps, lr=0.01), lambda ps: Adam(ps, lr=0.01, weight_decay=0.1)]


@pytest.mark.parametrize("make", UPDATE_RULES)
def test_update_into_gives_update_s_floats_and_state(make):
    import numpy as np

    rng = np.random.default_rng(4)
    data = np.concatenate([rng.normal(size=60), [0.0, -0.0, math.inf, -math.inf, math.nan,
                                                  1e308, -5e-324]])
    ours, theirs = make([Value(0.0) for _ in data]), make([Value(0.0) for _ in data])
    kept, vector = data.copy(), data.copy()
    for step in range(4):
        grad = rng.normal(size=len(data)) * 10.0 ** rng.integers(-300, 300, len(data))
        grad[:4] = [0.0, -0.0, math.inf, math.nan][step:] + [0.0, -0.0, math.inf,
                                                             math.nan][:step]
        before = grad.copy()
        with np.errstate(all="ignore"):  # ∞ and nan among the numbers, on purpose
            kept = theirs.update(kept, grad)
            ours.update_into(vector, grad)
        assert vector.tobytes() == kept.tobytes()  # bit for bit, nan and -0 included
        assert grad.tobytes() == before.tobytes()  # only read
        assert ours.state_dict().keys() == theirs.state_dict().keys()
        for key, value in theirs.state_dict().items():
            assert np.array(ours.state_dict()[key]).tobytes() == np.array(value).tobytes()
        if step == 1:  # a loaded state (lists) is taken up as update takes it
            ours.load_state_dict(theirs.state_dict())


def test_sgd_update_into_keeps_no_grad_as_its_velocity():
    import numpy as np

    opt = SGD([Value(0.0), Value(0.0)], lr=0.1, momentum=0.9)
    data, grad = np.zeros(2), np.ones(2)
    opt.update_into(data, grad)
    grad[:] = 5.0  # a training loop reuses its grad vector
    assert opt.state_dict()["velocity"] == [1.0, 1.0]
