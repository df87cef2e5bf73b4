"""The compiled path equals the eager engine to rounding, and refuses data-dependent graphs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import Value
from engine.compiler.compile import TraceError, trace
from nn import MLP, SGD, Adam, cross_entropy, mse
from nn.compiled import compile_step


def eager(model, X, y, loss="cross_entropy"):
    """Mean loss and parameter grads the eager way: one graph of Values per example."""
    model.zero_grad()
    losses = []
    for x, t in zip(X, y, strict=True):
        out = model(list(x))
        losses.append(cross_entropy(out, int(t)) if loss == "cross_entropy" else mse(out, t))
    total = engine.sum(losses) / len(losses)
    total.backward()
    return total.data, np.array([p.grad for p in model.parameters()])


def compiled(model, X, y, loss="cross_entropy"):
    model.zero_grad()
    value = compile_step(model, loss)(X, y)
    return value, np.array([p.grad for p in model.parameters()])


def assert_close(a, b):
    loss_a, grads_a = a
    loss_b, grads_b = b
    assert loss_a == pytest.approx(loss_b, rel=1e-12, abs=1e-300)
    # Grads agree to 1e-12 of the largest grad: summation order differs (per example vs
    # batched), which moves the last bits of tiny grads, never more.
    assert np.max(np.abs(grads_a - grads_b)) <= 1e-12 * max(np.max(np.abs(grads_b)), 1e-300)


@settings(max_examples=25, deadline=None)
@given(nin=st.integers(1, 6), hidden=st.lists(st.integers(1, 6), min_size=0, max_size=2),
       nout=st.integers(2, 5), batch=st.integers(1, 9),
       activation=st.sampled_from(["relu", "tanh", "sigmoid", "linear"]),
       seed=st.integers(0, 2**16))
def test_compiled_equals_eager_on_random_models_and_batches(nin, hidden, nout, batch,
                                                             activation, seed):
    rng = np.random.default_rng(seed)
    model = MLP(nin, [*hidden, nout], activation=activation, rng=seed)
    X = rng.normal(0, 2, (batch, nin))
    y = rng.integers(0, nout, batch)
    assert_close(compiled(model, X, y), eager(model, X, y))
    targets = rng.normal(0, 1, (batch, nout))
    assert_close(compiled(model, X, targets, "mse"), eager(model, X, targets, "mse"))


def test_relu_at_exactly_zero_repeated_inputs_and_repeated_rows():
    model = MLP(3, [4, 3], rng=0)
    dead = model.layers[0].neurons[1]
    for w in dead.w:
        w.data = 0.0
    dead.b.data = 0.0  # pre-activation exactly 0 for every input: relu'(0) = 0 both ways
    X = np.array([[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, -1.0, 1.0]])
    y = np.array([2, 0, 2, 1])
    assert_close(compiled(model, X, y), eager(model, X, y))


def test_parameters_used_several_times_are_accumulated():
    model = MLP(3, [2, 2], rng=0)
    model.layers[0].neurons[1].w = model.layers[0].neurons[0].w  # tied weights
    X = np.random.default_rng(1).normal(size=(5, 3))
    y = np.array([0, 1, 1, 0, 1])
    assert_close(compiled(model, X, y), eager(model, X, y))


def every_op(v):
    x, y = v
    parts = [x * y, x - y, -x, x / (1 + y * y), (x * x + 1) ** 0.5, 2 ** x, (y * y + 1) ** x,
             x.exp(), (x * x + 1).log(), x.tanh(), y.sigmoid(), (x - 0.1).relu(),
             engine.max([x, y, 0.3])]
    return engine.sum(parts)


def test_generic_compile_runs_every_op_like_the_eager_engine():
    rng = np.random.default_rng(0)
    tape = trace(every_op, [0.3, -0.7], params=[], check_with=[-1.1, 0.4])
    batch = rng.normal(0, 1, (2, 50))
    values = tape.forward(batch)
    grads, _ = tape.backward(values, np.ones(50))
    for b in range(50):
        leaves = [Value(batch[0, b]), Value(batch[1, b])]
        out = every_op(leaves)
        expected = engine.grad(out, leaves)
        assert values[tape.output_slot, b] == pytest.approx(out.data, rel=1e-13)
        assert grads[tape.input_slots, b] == pytest.approx(expected, rel=1e-12, abs=1e-14)
    assert {n.op for n in tape.order} >= {
        "mul", "sub", "neg", "div", "pow", "rpow", "vpow", "exp", "log", "tanh", "sigmoid",
        "relu", "max", "sum", "add"}


def test_a_graph_that_depends_on_the_data_is_refused():
    def branchy(v):
        (x,) = v
        return x.tanh() if x.data > 0 else x.relu()  # a Python `if` on a value

    with pytest.raises(TraceError, match="depends on the data.*op 'tanh'.*op 'relu'"):
        trace(branchy, [1.0], params=[], check_with=[-1.0])

    def baked(v):
        (x,) = v
        return x * x.data  # a number taken from .data becomes a constant of the trace

    with pytest.raises(TraceError, match="the constant 2.0 for one example and the constant"):
        trace(baked, [2.0], params=[], check_with=[3.0])


def test_numpy_calls_grow_with_depth_not_size():
    small = compile_step(MLP(8, [4, 3], rng=0)).tape
    wide = compile_step(MLP(64, [128, 10], rng=0)).tape
    assert len(wide.order) > 20 * len(small.order)
    assert wide.numpy_calls == small.numpy_calls
    deep = compile_step(MLP(8, [4, 4, 4, 3], rng=0)).tape
    assert deep.numpy_calls > small.numpy_calls


def test_step_writes_ordinary_grads_and_checks_its_arguments():
    model = MLP(4, [3, 2], rng=0)
    step = compile_step(model)
    X = np.ones((2, 4))
    for p in model.parameters():
        p.grad = 1.0
    step(X, np.array([0, 1]))
    _, grads = eager(model, X, np.array([0, 1]))
    model.zero_grad()
    step(X, np.array([0, 1]))
    step(X, np.array([0, 1]))  # grads accumulate, as backward() does
    assert np.allclose([p.grad for p in model.parameters()], 2 * grads, rtol=1e-12, atol=0)
    assert step.logits(X).shape == (2, 2)
    with pytest.raises(ValueError, match=r"X must have shape \(batch, 4\)"):
        step(np.ones((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="class indices must be in 0..1"):
        step(X, np.array([0, 2]))
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        compile_step(model, "hinge")


def test_digits_eager_and_compiled_training_agree(tmp_path):
    from demos.digits.train import TrainConfig, train

    config = dict(epochs=2, hidden=[8], size=4, limit=160, lr=0.05)
    fast = train(TrainConfig(**config), tmp_path / "c", progress=False, log=lambda m: None)
    slow = train(TrainConfig(**config, engine="eager"), tmp_path / "e", progress=False,
                 log=lambda m: None)
    a = np.array([p.data for p in fast.model.parameters()])
    b = np.array([p.data for p in slow.model.parameters()])
    assert np.max(np.abs(a - b)) < 1e-9
    assert fast.metrics["test_accuracy"] == slow.metrics["test_accuracy"]
    # One node per neuron: the very same training, bit for bit.
    fused = train(TrainConfig(**config, engine="fused"), tmp_path / "f", progress=False,
                  log=lambda m: None)
    assert [p.data for p in fused.model.parameters()] == list(b)
    assert fused.model.config()["fused"] is True


def test_numbers_taken_from_the_data_as_leaves_are_caught_too():
    def leaf_from_data(v):
        (x,) = v
        return x * Value(x.data)  # a new leaf holding a number of the data

    with pytest.raises(TraceError, match="a leaf holding 2.0 for one example"):
        trace(leaf_from_data, [2.0], params=[], check_with=[3.0])

    def nan_constant(v):
        (x,) = v
        return x + (float("inf") - float("inf"))  # a nan constant is the same in both traces

    trace(nan_constant, [1.0], params=[], check_with=[2.0])
    with engine.no_grad():  # tracing records even inside no_grad
        tape = trace(lambda v: v[0] * v[1], [1.0, 2.0], params=[], check_with=[3.0, 4.0])
    assert tape.forward(np.array([[2.0], [5.0]]))[tape.output_slot, 0] == 10.0
    with pytest.raises(ValueError, match=r"inputs must have shape \(2, batch\)"):
        tape.forward(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="the batch is empty"):
        compile_step(MLP(2, [2], rng=0))(np.zeros((0, 2)), np.array([], dtype=int))


# --- Layers as matrix products -----------------------------------------------------------

def layered(v, weights, tied_bias, shared_x):
    """Sums of products of parameters and nodes, in the shapes the compiler fuses and in
    shapes it must not (a product read twice, a sum with two extra terms)."""
    x = [v[0], v[1], v[0] * v[1], v[2].tanh()]
    if shared_x:
        x[1] = x[0]  # an input repeated inside one layer
    h = [engine.sum([w * xi for w, xi in zip(row, x, strict=True)] + [tied_bias])
         for row in weights[:3]]
    h = [hi.tanh() for hi in h]
    product = weights[3][0] * h[0]  # read twice: must stay a node of its own
    extra = engine.sum([weights[3][1] * h[1], product, product.sigmoid()])  # two extra terms
    node_bias = engine.sum([w * hi for w, hi in zip(weights[4], h, strict=False)] + [extra])
    return engine.sum([node_bias, h[2] * weights[3][2], weights[3][3] * weights[3][3]])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), shared_x=st.booleans(), batch=st.integers(1, 6))
def test_fused_layers_equal_the_unfused_tape(seed, shared_x, batch):
    rng = np.random.default_rng(seed)
    weights = [[Value(float(w)) for w in rng.normal(0, 1, 4)] for _ in range(5)]
    bias = Value(float(rng.normal()))
    params = [w for row in weights for w in row] + [bias]

    def fn(v):
        return layered(v, weights, bias, shared_x)

    fused = trace(fn, [0.1, 0.2, 0.3], params, check_with=[0.4, 0.5, 0.6])
    plain = trace(fn, [0.1, 0.2, 0.3], params, check_with=[0.4, 0.5, 0.6], fuse=False)
    assert fused.numpy_calls < plain.numpy_calls  # something was fused
    inputs = rng.normal(0, 1, (3, batch))
    seed_grads = rng.normal(0, 1, batch)
    va, ga, pa = fused.run(inputs, seed_grads)
    vb, gb, pb = plain.run(inputs, seed_grads)
    assert va[fused.output_slot] == pytest.approx(vb[plain.output_slot], rel=1e-12)
    assert ga[fused.input_slots] == pytest.approx(gb[plain.input_slots], rel=1e-12, abs=1e-14)
    assert pa == pytest.approx(pb, rel=1e-12, abs=1e-14)
    # And both equal the eager engine, example by example.
    for b in range(batch):
        leaves = [Value(float(x)) for x in inputs[:, b]]
        out = fn(leaves)
        expected = engine.grad(out, leaves + fused.params)
        assert va[fused.output_slot, b] == pytest.approx(out.data, rel=1e-12)
        scaled = [seed_grads[b] * g for g in expected]
        assert ga[fused.input_slots, b] == pytest.approx(scaled[:3], rel=1e-12, abs=1e-14)
        pa_b = fused.run(inputs[:, b:b + 1], seed_grads[b:b + 1])[2]
        assert pa_b == pytest.approx(scaled[3:], rel=1e-12, abs=1e-14)


def test_the_fused_layer_uses_the_tables_rules_for_mul_and_sum():
    # The matrix form ∂W = G Xᵀ, ∂X = Wᵀ G is the chain rule through these two rows of the
    # op table; if they ever changed, the fused layer would be wrong.
    from engine.ops import OPS

    a, b = np.array([1.5, -2.0]), np.array([0.25, 4.0])
    da, db = OPS["mul"].local_grads(a * b, a, b)
    assert np.array_equal(da, b) and np.array_equal(db, a)
    assert OPS["sum"].local_grads(a + b, a, b) == (1.0, 1.0)


def test_forward_then_backward_equals_run():
    model = MLP(5, [4, 3], rng=0)
    step = compile_step(model)
    X = np.random.default_rng(0).normal(size=(6, 5))
    inputs = step._inputs(X, step._targets(np.arange(6) % 3, 6))
    values = step.tape.forward(inputs)
    grads, param_grads = step.tape.backward(values, np.ones(6))
    v2, g2, p2 = step.tape.run(inputs, np.ones(6))
    assert np.array_equal(values, v2) and np.array_equal(grads, g2)
    assert np.array_equal(param_grads, p2)
    # Fusing drops the 5·4 + 4·3 products' rows; fuse=False keeps a row per node.
    assert len(step.tape.slot) < len(step.tape.order) - 32


# --- Training blocks ------------------------------------------------------------------------

def _plain_training(model, make_optimizer, batches):
    step, optimizer = compile_step(model), make_optimizer(model.parameters())
    losses = []
    for X, y in batches:
        optimizer.zero_grad()
        losses.append(step(X, y))
        optimizer.step()
    return losses, optimizer


@pytest.mark.parametrize("make_optimizer", [
    lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
    lambda p: Adam(p, lr=0.01, weight_decay=1e-4),
    lambda p: Adam(list(reversed(p)), lr=0.01),  # another order than the tape's
])
def test_a_training_block_gives_the_same_numbers_as_the_value_path(make_optimizer):
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(8, 5)), rng.integers(0, 3, 8)) for _ in range(6)]
    plain = MLP(5, [4, 3], rng=1)
    losses, plain_optimizer = _plain_training(plain, make_optimizer, batches)

    model = MLP(5, [4, 3], rng=1)
    step, optimizer = compile_step(model), make_optimizer(model.parameters())
    before = [p.data for p in model.parameters()]
    with step.training(optimizer) as train:
        block_losses = [train(X, y) for X, y in batches]
        # Inside the block the Values are untouched; the block's own logits are current.
        assert [p.data for p in model.parameters()] == before
        assert np.array_equal(train.logits(batches[0][0]),
                              compile_step(plain).logits(batches[0][0]))
    assert block_losses == losses  # to the last bit
    assert [p.data for p in model.parameters()] == [p.data for p in plain.parameters()]
    assert [p.grad for p in model.parameters()] == [p.grad for p in plain.parameters()]
    assert optimizer.state_dict() == plain_optimizer.state_dict()


def test_a_training_block_writes_back_on_errors_and_guards_its_optimizer():
    model = MLP(3, [2], rng=0)
    step = compile_step(model)
    optimizer = SGD(model.parameters(), lr=0.5)
    before = [p.data for p in model.parameters()]
    with pytest.raises(KeyboardInterrupt), step.training(optimizer) as train:
        train(np.ones((2, 3)), np.array([0, 1]))
        raise KeyboardInterrupt  # Ctrl-C mid-epoch: the step already taken is kept
    assert [p.data for p in model.parameters()] != before
    assert all(p.grad != 0 for p in model.parameters())

    with pytest.raises(RuntimeError, match="in a `with` block"):
        step.training(optimizer)(np.ones((2, 3)), np.array([0, 1]))
    with pytest.raises(RuntimeError, match="in a `with` block"):
        train.sync()  # after the block the Values are the truth: nothing stale is written
    with step.training(optimizer) as train:
        with pytest.raises(RuntimeError, match="already in an open training block"), \
                step.training(optimizer):
            pass
        with pytest.raises(RuntimeError, match=r"optimizer.step\(\) inside a"):
            optimizer.step()
    optimizer.step()  # usable again once the block has ended

    def broken():
        raise MemoryError("no room for the vectors")

    optimizer.parameter_vectors = broken
    with pytest.raises(MemoryError), step.training(optimizer):
        pass
    del optimizer.parameter_vectors
    assert optimizer.holder is None  # a block that could not open leaves nothing lent
    with pytest.raises(ValueError, match=r"it lacks layers\.0\.neurons\.0\.w\.0"):
        step.training(SGD(model.parameters()[1:], lr=0.1))
    with pytest.raises(ValueError, match="1 parameters the model does not use"):
        step.training(SGD([*model.parameters(), Value(1.0)], lr=0.1))
    with pytest.raises(TypeError, match="needs an nn.optim optimizer, got list"):
        step.training([])


@settings(max_examples=25, deadline=None)
@given(nin=st.integers(1, 5), hidden=st.lists(st.integers(1, 5), min_size=0, max_size=2),
       batch=st.integers(1, 5), seed=st.integers(0, 2**16),
       activation=st.sampled_from(["relu", "linear", "tanh", "sigmoid", "softplus"]))
def test_exact_tapes_compute_the_same_bits_as_eager(nin, hidden, batch, seed, activation):
    # With exact=True the compiled layers add the products in the eager order (not a matrix
    # product) and tanh, σ, softplus run Python's math number by number, as eager does: so
    # every logit is the same float.
    rng = np.random.default_rng(seed)
    model = MLP(nin, [*hidden, 3], activation=activation, rng=seed)
    X = rng.normal(0, 1, (batch, nin)) * 10.0 ** rng.integers(-5, 5, (batch, nin))
    compiled_logits = compile_step(model, exact=True).logits(X)
    eager_logits = np.array([[v.data for v in model(list(x))] for x in X])
    assert np.array_equal(compiled_logits, eager_logits)
    targets = rng.normal(size=(batch, 3))  # the loss too: (p − t)² is a pow, by libm
    losses = compile_step(model, "mse", exact=True).losses(X, targets)
    assert losses.tolist() == [mse(model(list(x)), t).data for x, t in zip(X, targets,
                                                                          strict=True)]


def test_a_pre_activation_that_cancels_to_zero_is_zero_compiled_too():
    # 0.1·3 + (−0.1)·3 is exactly 0 added in order; a BLAS product can give 2.8e-17, and
    # relu's slope would flip from 0 to 1.
    model = MLP(2, [4, 3], rng=0)
    for neuron in model.layers[0].neurons:
        neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.1, -0.1, 0.0
    X, y = np.full((8, 2), 3.0), np.arange(8) % 3
    compiled_result, eager_result = compiled(model, X, y), eager(model, X, y)
    assert_close(compiled_result, eager_result)
    first_layer = slice(0, 12)
    assert np.all(compiled_result[1][first_layer] == 0.0)


@pytest.mark.parametrize("rows, columns", [(1, 1), (1, 2), (2, 1), (3, 5)])
def test_ordered_sum_adds_term_after_term(rows, columns):
    from engine.ops import ordered_sum

    rng = np.random.default_rng(rows * 10 + columns)
    for n in (1, 2, 7, 8, 9, 33, 70):
        terms = rng.normal(size=(n, rows, columns)) * 10.0 ** rng.integers(-8, 8,
                                                                          (n, rows, columns))
        expected = terms[0].copy()
        for term in terms[1:]:
            expected = expected + term
        assert np.array_equal(ordered_sum(terms), expected)


def test_a_leaf_cannot_be_both_an_input_and_a_parameter():
    from engine.compiler.compile import Tape

    a = Value(1.0)
    with pytest.raises(ValueError, match="1 leaves are both inputs and params"):
        Tape(a * a, [a], [a])


def test_ieee_corners_of_shared_args_and_max_follow_the_eager_engine():
    # Several x**0.5 nodes share one arg (numpy would take a sqrt: sqrt(-inf) = nan,
    # sqrt(-0.0) = -0.0); max keeps its first maximum, so max(-0.0, 0.0) is -0.0.
    parts = [lambda v: v[0] ** 0.5 + v[1] ** 0.5, lambda v: 1 / v[0] ** 0.5 + 1 / v[1] ** 0.5,
             lambda v: 1 / engine.max([v[0], v[1]]), lambda v: 1 / engine.max([v[1], v[0]])]
    batch = np.array([[-np.inf, -0.0, 4.0], [0.0, 0.0, 2.0]])
    for fn in parts:
        tape = trace(fn, [1.0, 2.0], params=[], check_with=[4.0, 5.0])
        got = tape.forward(batch)[tape.output_slot]
        expected = np.array([fn([Value(float(x)) for x in column]).data for column in batch.T])
        assert np.array_equal(got, expected) and np.array_equal(np.signbit(got),
                                                                np.signbit(expected))


def test_fused_neurons_compile_to_the_same_layers():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(7, 6)), rng.integers(0, 3, 7)
    plain, fused = MLP(6, [5, 3], rng=2), MLP(6, [5, 3], rng=2, fused=True)
    step = compile_step(fused)
    assert step.tape.numpy_calls == compile_step(plain).tape.numpy_calls
    assert np.array_equal(step.logits(X), compile_step(plain).logits(X))
    assert_close(compiled(fused, X, y), eager(fused, X, y))
    assert_close(compiled(fused, X, y), eager(plain, X, y))


def test_big_batches_run_in_chunks_and_threads_do_not_share_scratch(monkeypatch):
    import threading

    import engine.compiler.layer as neuron_module

    # The scratch arrays belong to the eager-order sums (exact=True, and the examples
    # computed again at a kink).
    model = MLP(6, [5, 3], rng=1)
    step = compile_step(model, exact=True)
    X = np.random.default_rng(0).normal(size=(50, 6))
    whole = step.logits(X)
    monkeypatch.setattr(neuron_module, "_TERMS_BUDGET", 7 * 5 * 3)  # 3 columns at a time
    assert np.array_equal(compile_step(model, exact=True).logits(X), whole)

    results, errors = {}, []

    def work(i):
        try:
            rows = X[i::2]
            results[i] = [np.array_equal(step.logits(rows), whole[i::2]) for _ in range(200)]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(all(r) for r in results.values())


def test_reused_arrays_are_each_threads_own():
    # run(reuse=True) keeps its arrays per batch size and per thread: a thread gets its own
    # again at the next call of that size, never another thread's mid-pass.
    import threading

    model = MLP(6, [5, 3], rng=1)
    step = compile_step(model)
    tape, rng = step.tape, np.random.default_rng(0)
    X = rng.normal(size=(2, 8, 6))
    y = rng.integers(0, 3, size=(2, 8))
    inputs = [step._inputs(X[i], step._targets(y[i], 8)) for i in range(2)]
    seed = np.ones(8)
    want = [tape.run(inputs[i], seed)[2] for i in range(2)]
    arrays, results, start = {}, {}, threading.Barrier(2)

    def work(i):
        start.wait()
        first = tape.run(inputs[i], seed, reuse=True)
        results[i] = [np.array_equal(tape.run(inputs[i], seed, reuse=True)[2], want[i])
                      for _ in range(100)]
        again = tape.run(inputs[i], seed, reuse=True)
        arrays[i] = (first, again)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(all(r) for r in results.values()) and len(results) == 2
    for i in range(2):
        first, again = arrays[i]
        assert all(a is b for a, b in zip(first, again, strict=True))  # the thread's own
    assert not any(a is b for a, b in zip(arrays[0][0], arrays[1][0], strict=True))
