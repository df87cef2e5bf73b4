"""The executor (``engine.compiler.executor``): a tape's training pass as generated lines gives
the kernels' numbers bit for bit, and goes the kernels' way (eager for the unsure examples)
wherever a kink is within reach or a number is not finite."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import Value
from engine.compiler import forms
from engine.compiler.compile import trace
from engine.compiler.exactness import batch_bound, layer_bound
from engine.ops import OPS
from nn import MLP, SGD, mse
from nn.compiled import compile_step
from tests.test_compile import eager
from tests.test_kinks import cancelling_model, layer_case, residue_model


def both_ways(step, X, y):
    """``(values, grads, param_grads)`` from the kernels (a fresh run) and from the program
    (the training path: reused arrays, parameters' grads only), for one batch."""
    inputs = step._inputs(X, step._targets(y, len(X)))
    seed = np.full(len(X), 1.0 / len(X))
    kernels = step.tape.run(inputs, seed, params_only=True)
    program = [a.copy() for a in step.tape.run(inputs, seed, params_only=True, reuse=True)]
    return kernels, program


def targets(loss, rng, batch, nout):
    y = rng.integers(0, nout, batch)
    return np.eye(nout)[y] if loss == "mse" else y


def assert_same_bits(kernels, program, first_written):
    (v0, g0, p0), (v1, g1, p1) = kernels, program
    assert np.array_equal(v0.view(np.int64), v1.view(np.int64))
    assert np.array_equal(p0.view(np.int64), p1.view(np.int64))
    assert np.array_equal(g0[first_written:].view(np.int64), g1[first_written:].view(np.int64))


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("nin, nouts", [(64, [32, 10]), (5, [7, 3]), (8, [16, 16, 4]),
                                        (3, [1, 2]), (30, [20, 12, 6, 5])])
@pytest.mark.parametrize("batch", [1, 2, 17, 64])
def test_the_program_gives_the_kernels_numbers_bit_for_bit(loss, nin, nouts, batch):
    rng = np.random.default_rng(nin * batch)
    step = compile_step(MLP(nin, nouts, rng=int(rng.integers(1000))), loss)
    X = rng.normal(size=(batch, nin))
    kernels, program = both_ways(step, X, targets(loss, rng, batch, nouts[-1]))
    assert step.tape.program_runs == 1  # the program ran to the end: nothing was unsure
    assert_same_bits(kernels, program, step.tape._backward_pass.first_written)


def test_training_runs_the_program_and_matches_the_value_path():
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(40, 6)), np.eye(3)[rng.integers(0, 3, 40)]
    models = [MLP(6, [9, 3], rng=1) for _ in range(2)]
    step = compile_step(models[0], "mse")
    opt = SGD(models[0].parameters(), lr=0.1, momentum=0.9)
    with step.training(opt) as train:
        losses = [train(X[i:i + 8], T[i:i + 8]) for i in range(0, 40, 8)]
    assert step.tape.program_runs == 5
    # The Value path: one graph of Values per example, backward, the same optimizer.
    opt2 = SGD(models[1].parameters(), lr=0.1, momentum=0.9)
    want = []
    for i in range(0, 40, 8):
        loss, _ = eager(models[1], X[i:i + 8], T[i:i + 8], "mse")
        want.append(loss)
        opt2.step()
    assert np.allclose(losses, want, rtol=1e-12, atol=0)
    assert np.allclose([p.data for p in models[0].parameters()],
                       [p.data for p in models[1].parameters()], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("make, unsure", [(cancelling_model, 6),
                                          (lambda: residue_model(0.1)[0], 6)])
def test_an_example_at_a_kink_is_computed_the_eager_way(make, unsure):
    model = make()
    nin = model.nin
    X = np.ones((6, nin)) if nin == 3 else np.random.default_rng(0).uniform(1, 2, (6, nin))
    y = np.arange(6) % 3
    step = compile_step(model)
    kernels, program = both_ways(step, X, y)
    assert step.tape.program_runs == 0 and step.tape.recomputed == 2 * unsure
    assert_same_bits(kernels, program, step.tape._backward_pass.first_written)
    model.zero_grad()
    loss = step(X, y)
    want_loss, want_grads = eager(model, X, y)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    first = model.layers[0 if nin == 3 else 1].neurons[0]
    assert [w.grad for w in first.w] == [0.0] * len(first.w)  # relu'(0) = 0, as eager


def test_one_example_at_a_kink_among_many_is_the_only_one_recomputed():
    model = MLP(3, [4, 3], rng=0)
    neuron = model.layers[0].neurons[0]
    for w, v in zip(neuron.w, [0.7, -0.7, 0.0], strict=True):
        w.data = v
    neuron.b.data = 0.0
    rng = np.random.default_rng(1)
    X = rng.uniform(2, 3, (20, 3))
    X[7, 1] = X[7, 0]  # 0.7·x − 0.7·x: eager's exact 0, for this example only
    y = np.arange(20) % 3
    step = compile_step(model)
    kernels, program = both_ways(step, X, y)
    assert step.tape.recomputed == 2  # once each way: example 7, and no other
    assert_same_bits(kernels, program, step.tape._backward_pass.first_written)


def test_a_non_finite_example_goes_the_eager_way():
    model = MLP(3, [4, 3], rng=0)
    X = np.array([[1.0, 2.0, 3.0], [np.inf, 0.0, 1.0], [0.5, -1.0, 1.0], [np.nan, 1.0, 1.0]])
    y = np.arange(4) % 3
    step = compile_step(model)
    kernels, program = both_ways(step, X, y)
    assert step.tape.program_runs == 0 and step.tape.recomputed >= 4
    (v0, _, p0), (v1, _, p1) = kernels, program
    assert np.array_equal(v0, v1, equal_nan=True) and np.array_equal(p0, p1, equal_nan=True)
    want = np.array([mse(model(list(x)), list(np.eye(3)[c])).data
                     for x, c in zip(X, y, strict=True)])
    got = compile_step(model, "mse").losses(X, np.eye(3)[y])
    assert np.array_equal(got[[1, 3]], want[[1, 3]], equal_nan=True)  # eager's nans
    assert got[[0, 2]] == pytest.approx(want[[0, 2]], rel=1e-12)


def test_a_nan_grad_falls_back_to_the_checked_backward_pass():
    # d/dw sqrt(relu(w·x)) at w·x < 0: relu's slope 0 times sqrt's ∞ must be 0 (eager), not
    # nan: the program's unchecked pass finds a nan and the kernels' checked pass runs.
    w = Value(2.0)
    tape = trace(lambda v: (w * v[0]).relu() ** 0.5, [1.0], [w], check_with=[3.0])
    batch = np.array([[-1.0, 4.0]])
    _, _, param_grads = tape.run(batch, np.ones(2), params_only=True, reuse=True)
    out = (w * Value(4.0)).relu() ** 0.5
    out.backward()
    assert param_grads.tolist() == [w.grad] and tape.program_runs == 0


@settings(max_examples=80, deadline=None)
@given(K=st.integers(1, 70), J=st.integers(1, 6), batch=st.integers(1, 9),
       spread=st.integers(0, 12), seed=st.integers(0, 2**16), noisy=st.booleans(),
       scale=st.sampled_from([1.0, 2.0**-600, 2.0**500]))
def test_the_batch_bound_is_at_least_every_entrys_bound(K, J, batch, spread, seed, noisy,
                                                         scale):
    rng = np.random.default_rng(seed)
    _, theta, x = layer_case(rng, K, J, batch, spread)
    x = x * scale
    w, b = theta[:J * K].reshape(J, K), theta[J * K:]
    e_in = float(np.abs(x).max()) * 1e-9 if noisy else 0.0
    per_entry = np.empty((J, batch))
    layer_bound(w, x, np.full_like(x, e_in) if noisy else None, b[:, None], None, per_entry)
    bound = batch_bound(np.dot(theta, theta), len(theta), x, K, e_in)
    assert np.all(per_entry <= bound) or not np.isfinite(bound)


def test_the_source_is_readable_and_its_calls_do_not_grow_with_width():
    small = compile_step(MLP(64, [32, 10], rng=0), "mse").tape
    wide = compile_step(MLP(64, [256, 10], rng=0), "mse").tape
    assert "np.matmul(W0, v0_64, out=" in small.program.source
    assert "batch_bound(" in small.program.source and "return True" in small.program.source
    compile(small.program.source, "<test>", "exec")
    assert small.program.calls == wide.program.calls < 60
    for tape in (small, compile_step(MLP(64, [32, 10], rng=0)).tape):  # mse, cross-entropy
        source = tape.program.source
        for name in re.findall(r"^ *(a\d+) = ", source, re.MULTILINE):  # no line left unread
            assert len(re.findall(rf"\b{name}\b", source)) > 1, name


def test_the_forms_are_found_from_the_table_alone():
    assert forms.is_ordered_sum(OPS["sum"], 5, None)
    assert forms.is_rectifier(OPS["relu"], 1, None)
    assert forms.has_step_slope(OPS["relu"], 1, None)
    for name in ("abs", "neg", "tanh", "exp"):
        assert not forms.is_rectifier(OPS[name], 1, None)
        assert not forms.has_step_slope(OPS[name], 1, None)
    assert not forms.is_ordered_sum(OPS["mul"], 2, None)
    assert forms.ufunc_of(OPS["sub"], 2, None) is np.subtract
    assert forms.ufunc_of(OPS["pow"], 1, 2.0) is np.power
    assert forms.ufunc_of(OPS["relu"], 1, None) is None  # −0 made +0: no ufunc does it
    assert forms.ufunc_of(OPS["sigmoid"], 1, None) is None
    assert forms.slope_scale(OPS["pow"], 1, 2.0) == 2.0  # x²'s slope 2·x
    assert forms.slope_scale(OPS["pow"], 1, 3.0) is None
    assert forms.slope_scale(OPS["tanh"], 1, None) is None


def test_other_ops_and_graphs_give_the_kernels_numbers_bit_for_bit():
    # Not an MLP: tanh, abs, a division, max and a product of two nodes, parameters read
    # per example too (w[5] below), and two weighted sums over the same inputs.
    import engine

    ws = [Value(v) for v in (0.3, -0.2, 0.5, 0.1, -0.4, 0.25, 0.05)]

    def f(v):
        a = engine.weighted_sum(ws[0:2], v[0:2], ws[6]).tanh()
        b = abs(engine.weighted_sum(ws[2:4], v[0:2]))
        c = engine.max([a, b, ws[5] * v[2]]) / (1.0 + b * b)
        return (c * a - ws[4] * v[2]).relu() + c.exp()

    tape = trace(f, [0.1, 0.2, 0.3], ws, check_with=[0.3, -0.1, 0.7])
    assert tape.program is not None
    X = np.random.default_rng(2).normal(size=(3, 25))
    kernels = tape.run(X, np.ones(25), params_only=True)
    program = [a.copy() for a in tape.run(X, np.ones(25), params_only=True, reuse=True)]
    assert tape.program_runs == 1
    assert_same_bits(kernels, program, tape._backward_pass.first_written)


def test_an_output_whose_sum_overflows_is_still_looked_at_number_by_number():
    # Each example's loss is finite, their sum is not: the program's one-sum check must then
    # look at each number, and the numbers stay the kernels' bit for bit.
    step = compile_step(MLP(1, [1], rng=0), "mse")
    w, b = step.tape.parameter_vector()
    X = np.array([[(1.2e154 - b) / w], [(1.1e154 - b) / w]])
    kernels, program = both_ways(step, X, np.zeros((2, 1)))
    losses = kernels[0][step.tape.output_slot]
    with np.errstate(over="ignore"):
        assert np.isfinite(losses).all() and not np.isfinite(losses.sum())
    assert_same_bits(kernels, program, step.tape._backward_pass.first_written)
    tape = step.tape
    work = tape._workspaces.get(2)
    with np.errstate(all="ignore"):
        assert work.step(tape.parameter_vector(), np.full(2, 0.5))  # it ran to the end


def test_a_bound_passed_on_after_it_was_written_is_written_too():
    # A generic kernel (mul) reads za and zb first, so their one-for-all bound goes into
    # `errors`; neg of relu passes the same bound on to new rows, a depth later, and max's kink
    # check reads those: they must hold the bound, not whatever the array held. za is 0 in
    # exact arithmetic plus 1e-14 (eager: exactly 1e-14; a BLAS with FMA: 1e-14 ± 1e-17), zb
    # is 1e-14: a tie eager breaks to the first input, which only a recomputation reproduces.
    wa = [Value(0.1234567), Value(-0.1234567), Value(1e-14)]
    wb = [Value(0.0), Value(0.0), Value(1e-14)]

    def f(v):
        za = engine.weighted_sum(wa[0:2], v[0:2], wa[2])
        zb = engine.weighted_sum(wb[0:2], v[0:2], wb[2])
        q = (za * zb).relu()
        return engine.max([-zb.relu(), -za.relu()]) + q

    params = wb + wa  # the layer's order: W and b as one block of theta
    tape = trace(f, [1.0, 1.0], params, check_with=[1.5, 1.5])
    x = np.random.default_rng(0).uniform(1, 2, 6)
    X, seed = np.vstack([x, x]), np.ones(6)
    for _ in range(2):  # the second time in the arrays the first left behind
        program = tape.run(X, seed, params_only=True, reuse=True)[2].copy()
        kernels = tape.run(X, seed, params_only=True)[2]
        assert np.array_equal(program.view(np.int64), kernels.view(np.int64))
    expected = np.zeros(len(params))
    for column in X.T:
        for p in params:
            p.grad = 0.0
        f([Value(float(c)) for c in column]).backward()
        expected += [p.grad for p in params]
    assert np.allclose(program, expected, rtol=1e-12, atol=0)  # the tie broken as eager does


def test_the_program_ignores_the_callers_floating_point_error_state():
    # The step runs in a context of its own where numpy ignores floating-point errors (IEEE
    # 754, as the eager engine): a caller's np.errstate(all="raise") neither stops it nor
    # changes a number, and the caller's state is the same after it.
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(8, 5)) * 1e200, rng.integers(0, 3, 8)  # squares overflow
    step = compile_step(MLP(5, [6, 3], rng=2))
    quiet = both_ways(step, X, y)
    with np.errstate(all="raise"):
        loud = both_ways(step, X, y)
        assert np.geterr()["over"] == "raise"
    runs = step.tape.program_runs
    first = step.tape._backward_pass.first_written
    assert_same_bits(quiet[0], loud[0], first)
    assert_same_bits(quiet[1], loud[1], first)
    with np.errstate(all="raise"):
        step.tape.run(step._inputs(X[:1] / 1e200, np.eye(3)[y[:1]]), np.ones(1),
                      params_only=True, reuse=True)
    assert step.tape.program_runs == runs + 1  # it ran to its end under "raise"


def program_bounds(model, X):
    """The bound the program checks each hidden layer's kinks against, recomputed from the
    model's Values with :func:`batch_bound`: ‖(W, b)‖² of the layer, its count, its (K, batch)
    inputs and the bound the layer before passed on (0 for the first)."""
    bounds, x, passed_on = [], X.T, 0.0
    for layer in model.layers[:-1]:
        W, b = layer.arrays()
        theta = np.concatenate([W.ravel(), b])
        bounds.append(batch_bound(np.dot(theta, theta), len(theta), x, W.shape[1], passed_on))
        x, passed_on = np.maximum(W @ x + b[:, None], 0.0), bounds[-1]
    return bounds


@pytest.mark.parametrize("layer", [0, 1])
@pytest.mark.parametrize("times, program_runs", [(0.6, 0), (-0.6, 0), (2.0, 1), (-2.0, 1)])
def test_a_pre_activation_within_the_layers_bound_sends_the_batch_the_kernels_way(
        layer, times, program_runs):
    # Neuron 0's bias is set so that its z for example 0 is `times` × the bound batch_bound
    # gives for that layer with the arguments the program must pass: inside it (0.6×) the
    # program must not decide relu's kink; outside it (2×) it must. A program that passed a
    # smaller bound (half of it; the layer's inputs without the bound the layer before them
    # passed on, ~10× smaller here) would run at 0.6× and fail this test.
    model = MLP(8, [5, 4, 3], rng=0)
    X = np.random.default_rng(2).uniform(-1, 1, (6, 8))
    neuron = model.layers[layer].neurons[0]
    for _ in range(2):  # the bias moves the bound a little: settle it
        W1, b1 = model.layers[0].arrays()
        x0 = X[0] if layer == 0 else np.maximum(W1 @ X[0] + b1, 0.0)
        z_without_bias = float(np.array([w.data for w in neuron.w]) @ x0)
        bound = program_bounds(model, X)[layer]
        neuron.b.data = times * bound - z_without_bias
    W, b = model.layers[layer].arrays()
    assert (W[0] @ x0 + b[0]) / bound == pytest.approx(times, rel=0.05)  # the case is built
    step = compile_step(model, "mse")
    kernels, program = both_ways(step, X, np.eye(3)[np.arange(6) % 3])
    assert step.tape.program_runs == program_runs
    assert_same_bits(kernels, program, step.tape._backward_pass.first_written)
