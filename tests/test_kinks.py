"""Compiled layers are matrix products, and every kink decides as the eager engine does.

The rule (engine.compiler.exactness): every number a matrix product touched carries a bound on its
distance from eager's number; an example where a kink's input is within its bound is computed
again the eager way. These tests check the bound itself (it must hold for every entry), that
the decisions are eager's on random networks and on sums built to cancel to exactly 0, and
that real data takes the fast path.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import Value
from engine.compiler.compile import trace
from engine.compiler.layer import LayerBias, NeuronLayer
from engine.compiler.rows import Rows
from nn import MLP
from nn.compiled import compile_step
from tests.test_compile import assert_close, compiled, eager


def layer_case(rng, K, J, batch, spread):
    """A layer whose weights and inputs span 10^±spread, some neurons built to cancel."""
    theta = rng.normal(size=J * K + J) * 10.0 ** rng.integers(-spread, spread + 1, J * K + J)
    x = rng.normal(size=(K, batch)) * 10.0 ** rng.integers(-spread, spread + 1, (K, batch))
    if K >= 2:  # neuron 0: w·x − w·x + … (the pairs cancel exactly in eager's order)
        x[1] = x[0]
        theta[1] = -theta[0]
    theta[J * K] = 0.0
    layer = NeuronLayer(slice(K, K + J), Rows(np.arange(K)), np.arange(J * K).reshape(J, K),
                        LayerBias(params=Rows(J * K + np.arange(J))), n_params=len(theta))
    return layer, theta, x


@settings(max_examples=60, deadline=None)
@given(K=st.integers(1, 70), J=st.integers(1, 6), batch=st.integers(1, 9),
       spread=st.integers(0, 12), seed=st.integers(0, 2**16), noisy=st.booleans())
def test_the_bound_holds_for_every_entry(K, J, batch, spread, seed, noisy):
    # |BLAS z from inputs x̂ − eager's z from inputs x| ≤ the bound, given |x̂ − x| ≤ e.
    rng = np.random.default_rng(seed)
    layer, theta, x = layer_case(rng, K, J, batch, spread)
    e = np.abs(x) * 10.0 ** rng.uniform(-16, -8, x.shape) if noisy else np.zeros_like(x)
    x_hat = x + e * rng.uniform(-1, 1, x.shape)  # our inputs: within e of eager's
    exact, fast = np.zeros((K + J, batch)), np.zeros((K + J, batch))
    exact[:K], fast[:K] = x, x_hat
    layer.forward(exact, theta, exact=True)
    layer.forward(fast, theta)
    errors = np.zeros_like(fast)
    errors[:K] = e
    layer.bound(fast, errors, theta, fast[:K], errors if noisy else None)
    gap = np.abs(fast[K:] - exact[K:])
    assert np.all(gap <= errors[K:]), (gap - errors[K:]).max()


@settings(max_examples=40, deadline=None)
@given(nin=st.integers(1, 8), hidden=st.lists(st.integers(1, 8), min_size=1, max_size=3),
       batch=st.integers(1, 12), seed=st.integers(0, 2**16),
       loss=st.sampled_from(["cross_entropy", "mse"]))
def test_kinks_decide_as_eager_and_the_numbers_agree(nin, hidden, batch, seed, loss):
    rng = np.random.default_rng(seed)
    model = MLP(nin, [*hidden, 3], rng=seed)
    X = rng.normal(0, 1, (batch, nin)) * 10.0 ** rng.integers(-6, 6, (batch, nin))
    X[rng.random(X.shape) < 0.2] = 0.0
    y = rng.integers(0, 3, batch) if loss == "cross_entropy" else rng.normal(size=(batch, 3))
    fast, exact = compile_step(model, loss), compile_step(model, loss, exact=True)
    inputs = fast._inputs(X, fast._targets(y, batch))
    a, b = fast.tape.forward(inputs), exact.tape.forward(inputs)
    for kernel in fast.tape.kernels:
        if isinstance(kernel, NeuronLayer):  # every relu input on eager's side of 0
            assert np.array_equal(np.sign(a[kernel.out]), np.sign(b[kernel.out]))
    scale = np.abs(b[fast.logit_slots]).max()
    assert np.abs(a[fast.logit_slots] - b[fast.logit_slots]).max() <= 1e-12 * scale
    # Grads against eager at a moderate scale: inputs of 10⁶ saturate the softmax, and its
    # grads (1 − p, with p within 1e-6 of 1) are then as ill-conditioned in any order.
    X = X / np.abs(X).max(initial=1.0) * 3.0
    assert_close(compiled(model, X, y, loss), eager(model, X, y, loss))


def cancelling_model():
    """Neuron 0 of layer 1 adds (1e16·x + 1·x) − 1e16·x: eager rounds 1e16 + 1 to 1e16 and
    finds exactly 0 for x = 1; a matrix product may add in another order and find 1."""
    model = MLP(3, [2, 3], rng=0)
    neuron = model.layers[0].neurons[0]
    for w, v in zip(neuron.w, [1e16, 1.0, -1e16], strict=True):
        w.data = v
    neuron.b.data = 0.0
    return model


def test_a_sum_that_cancels_to_exactly_zero_decides_as_eager():
    model = cancelling_model()
    X, y = np.ones((6, 3)), np.arange(6) % 3
    step = compile_step(model)
    step.losses(X, y)
    assert step.tape.recomputed == 6  # |z| is far within its bound: every example again
    first = next(k for k in step.tape.kernels if isinstance(k, NeuronLayer))
    values = step.tape.forward(step._inputs(X, step._targets(y, 6)))
    assert np.all(values[first.out][0] == 0.0)  # eager's exact 0: relu's slope 0
    assert_close(compiled(model, X, y), eager(model, X, y))
    model.zero_grad()
    compile_step(model)(X, y)
    assert [w.grad for w in model.layers[0].neurons[0].w] == [0.0, 0.0, 0.0]


def residue_model(first_bias: float):
    """Layer 2's neuron 0 reads two equal hidden outputs with weights w and −w: w·a − w·a is
    exactly 0 in eager's order, but a fused multiply-add leaves the rounding error of w·a.
    Returns the model and that neuron."""
    model = MLP(2, [2, 2, 3], rng=1)
    for neuron in model.layers[0].neurons:
        neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.7, 0.3, first_bias
    second = model.layers[1].neurons[0]
    second.w[0].data, second.w[1].data, second.b.data = 0.1234567, -0.1234567, 0.0
    return model, second


def test_fused_multiply_add_residues_are_caught_in_a_deeper_layer():
    model, second = residue_model(0.1)
    X = np.random.default_rng(0).uniform(1, 2, (5, 2))
    y = np.arange(5) % 3
    step = compile_step(model)
    step.losses(X, y)
    assert step.tape.recomputed == 5
    assert_close(compiled(model, X, y), eager(model, X, y))
    model.zero_grad()
    compile_step(model)(X, y)
    assert [w.grad for w in second.w] == [0.0, 0.0]  # relu'(0) = 0, as eager


def test_the_bound_holds_for_numbers_whose_squares_underflow():
    # Inputs of 2⁻⁶⁰⁰ (their squares underflow to 0): the FMA residue case above at that
    # scale must still be caught, so the norms in the bound cannot shrink to 0.
    model, second = residue_model(0.0)
    X = np.random.default_rng(0).uniform(1, 2, (5, 2)) * 2.0**-600
    y = np.arange(5) % 3
    step = compile_step(model)
    step.losses(X, y)
    assert step.tape.recomputed == 5
    model.zero_grad()
    compile_step(model)(X, y)
    assert [w.grad for w in second.w] == [0.0, 0.0]


def test_library_functions_are_inexact_sources():
    # tanh(a) and tanh(c) are the same float in Python's math for these neighbours, so eager
    # finds relu(tanh a − tanh c) at exactly 0; numpy's tanh may round one of them otherwise.
    a, c = 0.9603709570607484, 0.9603709570607483
    ws, b = [Value(1.0), Value(-1.0)], Value(0.0)

    def f(v):
        return engine.weighted_sum(ws, [v[0].tanh(), v[1].tanh()], b).relu()

    eager_out = f([Value(a), Value(c)])
    eager_out.backward()
    for exact in (False, True):
        tape = trace(f, [0.3, 0.7], [*ws, b], check_with=[0.1, 0.2], exact=exact)
        values, _, param_grads = tape.run(np.array([[a, a], [c, c]]), np.ones(2),
                                          params_only=True)
        assert values[tape.output_slot].tolist() == [eager_out.data] * 2
        assert param_grads.tolist() == [2 * p.grad for p in [*ws, b]]


@pytest.mark.parametrize("name, f, want", [
    ("log", lambda z: z.log(), -np.inf),
    ("1/z", lambda z: 1.0 / z, np.inf),
    ("z**1.5", lambda z: z ** 1.5, 0.0),
])
def test_a_pole_within_reach_is_computed_the_eager_way(name, f, want):
    # z = c·x − c·x is exactly 0 in eager's order; a matrix product may leave ±3e-18, and
    # log, 1/z and z**1.5 (nan below 0) would turn that into finite numbers, or nan.
    ws, b = [Value(0.1234567), Value(-0.1234567)], Value(0.0)
    ws2, b2 = [Value(0.3), Value(0.5)], Value(0.1)

    def g(v):
        return f(engine.weighted_sum(ws, v[:2], b)) + engine.weighted_sum(ws2, v[:2], b2)

    tape = trace(g, [0.3, 0.7], [*ws, b, *ws2, b2], check_with=[0.1, 0.2])
    x = np.random.default_rng(0).normal(size=5)
    got = tape.forward(np.array([x, x]))[tape.output_slot]
    eager_out = np.array([g([Value(v), Value(v)]).data for v in x])
    assert tape.recomputed == 5
    assert np.array_equal(got, eager_out, equal_nan=True)
    assert np.all((eager_out == want) if np.isinf(want) else np.isfinite(eager_out))


def test_a_parameter_vector_with_strides_is_read_right():
    ws = [Value(0.5), Value(-1.5), Value(2.0), Value(3.0), Value(-0.25)]
    # weights w0 w1 (layer neuron 0), an unused-by-the-layer middle entry, then w3 w4
    tape = trace(lambda v: engine.sum([engine.weighted_sum(ws[0:2], v), ws[2] * v[0],
                                       engine.weighted_sum(ws[3:5], v)]), [1.0, 2.0], ws,
                 check_with=[3.0, 1.0])
    theta = np.array([p.data for p in tape.params])
    spaced = np.zeros(2 * len(theta))
    spaced[::2] = theta
    batch = np.array([[1.0, -2.0], [0.5, 4.0]])
    want = tape.forward(batch, theta)[tape.output_slot]
    assert np.array_equal(tape.forward(batch, spaced[::2])[tape.output_slot], want)


def test_tied_logits_send_the_grad_to_eagers_choice():
    # Two outputs with the same weights: equal logits, and max must pick the first as
    # eager does (cross-entropy's log Σ e^z subtracts the max).
    model = MLP(4, [5, 3], rng=2)
    tied = model.layers[1].neurons
    for w1, w2 in zip(tied[1].w, tied[2].w, strict=True):
        w2.data = w1.data
    tied[2].b.data = tied[1].b.data
    X = np.random.default_rng(3).normal(size=(7, 4))
    y = np.arange(7) % 3
    step = compile_step(model)
    logits = step.logits(X)
    winners = np.argmax(logits, axis=1)
    ties = int(np.sum(winners == 1))
    assert ties > 0 and step.tape.recomputed >= ties
    assert_close(compiled(model, X, y), eager(model, X, y))


def test_real_digits_take_the_fast_path():
    from demos.digits.train import TrainConfig, prepare

    data = prepare(TrainConfig())
    for loss, target in (("mse", np.eye(10)[data.train.labels]),
                         ("cross_entropy", data.train.labels)):
        step = compile_step(MLP(64, [32, 10], rng=0), loss)
        step.losses(data.x_train, target)
        assert step.tape.recomputed == 0, loss


def test_non_finite_examples_are_computed_the_eager_way():
    model = MLP(3, [4, 3], rng=0)
    X = np.array([[1.0, 2.0, 3.0], [np.inf, 0.0, 1.0], [np.nan, 1.0, 1.0], [1e308, 1e308, 0]])
    step = compile_step(model)
    got = step.logits(X)
    assert step.tape.recomputed >= 2
    want = np.array([[v.data for v in model(list(x))] for x in X])
    assert np.array_equal(got[1:3], want[1:3], equal_nan=True)  # eager's infs and nans
    assert got[[0, 3]] == pytest.approx(want[[0, 3]], rel=1e-12)


def test_an_op_without_a_bound_rule_makes_the_tape_exact():
    # x ** y with both inputs Values (vpow) has no carry rule: between a matrix product and
    # relu it would leave the kink without a bound, so the tape adds the eager way.
    ws, b = [Value(0.5), Value(-0.25)], Value(0.0)

    def graph(between):
        return lambda v: between(engine.weighted_sum(ws, v[:2], b), v[2]).relu()

    no_rule = trace(graph(lambda z, x: (z * z + 1) ** x), [1.0, 2.0, 0.5], [*ws, b],
                    check_with=[3.0, 1.0, 2.0])
    assert no_rule.bounds.exact
    batch = np.array([[1.0, 4.0], [2.0, 2.0], [0.5, 3.0]])
    got = no_rule.forward(batch)[no_rule.output_slot]
    want = [((0.5 * x0 + -0.25 * x1 + 0.0) ** 2 + 1) ** p for x0, x1, p in batch.T]
    assert got.tolist() == pytest.approx(want, rel=0, abs=0)
    with_rule = trace(graph(lambda z, x: (z * x).tanh()), [1.0, 2.0, 0.5], [*ws, b],
                      check_with=[3.0, 1.0, 2.0])
    assert not with_rule.bounds.exact and any(with_rule.bounds.bounded)


def test_the_quick_backward_pass_falls_back_to_the_checked_one():
    # d/dw sqrt(relu(w·x)) at w·x < 0: relu's slope 0 times sqrt's ∞ must be 0 (as eager),
    # not nan. The parameters-only pass skips the per-kernel checks and, finding a nan,
    # runs again checked.
    w = Value(2.0)
    tape = trace(lambda v: (w * v[0]).relu() ** 0.5, [1.0], [w], check_with=[3.0])
    batch = np.array([[-1.0, 4.0]])
    _, _, param_grads = tape.run(batch, np.ones(2), params_only=True)
    out = (w * Value(4.0)).relu() ** 0.5
    out.backward()
    assert param_grads.tolist() == [w.grad]  # the example at −1 adds exactly 0


def test_a_forward_of_one_batch_size_leaves_the_training_arrays_of_that_size_whole():
    # logits() on a batch of 32 before training on batches of 32: the training block's
    # arrays must still hold the tape's constants (mse's 1/n was garbage: the loss nan).
    from nn import SGD

    model = MLP(4, [8, 3], rng=0)
    step = compile_step(model, "mse")
    assert len(step.tape.layout.const_slots)  # the loss has a constant row
    X = np.random.default_rng(0).normal(size=(32, 4))
    T = np.eye(3)[np.arange(32) % 3]
    want = step.losses(X, T).mean()
    step.logits(X)
    with step.training(SGD(model.parameters(), lr=0.1)) as train:
        assert train(X, T) == pytest.approx(want, rel=1e-12)
