"""Neuron, Layer, MLP: structure, errors, initialisation, and a numpy reference."""

import math
import random

import numpy as np
import pytest

from engine import Value
from nn import MLP, Layer, Neuron, cross_entropy


def test_neuron_is_one_sum_node_and_returns_a_list():
    n = Neuron(3, activation="tanh", rng=0)
    (out,) = n([1.0, 2.0, 3.0])
    assert out.op == "tanh"
    (pre,) = out.parents
    assert pre.op == "sum" and len(pre.parents) == 4 and pre.parents[-1] is n.b
    expected = math.tanh(sum(w.data * x for w, x in zip(n.w, [1, 2, 3], strict=True)) + n.b.data)
    assert out.data == pytest.approx(expected, rel=1e-15)
    assert isinstance(Layer(3, 1)([1, 2, 3]), list) and len(Layer(3, 1)([1, 2, 3])) == 1
    assert len(MLP(3, [1])([1, 2, 3])) == 1


@pytest.mark.parametrize("activation, op", [("relu", "relu"), ("tanh", "tanh"),
                                            ("sigmoid", "sigmoid"), ("linear", "sum")])
def test_activations(activation, op):
    model = MLP(2, [3, 2], activation=activation, rng=0)
    hidden = model.layers[0]([0.5, -0.5])
    assert all(h.op == op for h in hidden)
    assert all(o.op == "sum" for o in model([0.5, -0.5]))  # the last layer is linear


def test_inputs_numbers_become_labelled_leaves_and_values_pass_through():
    model = MLP(2, [1], rng=0)
    x = Value(0.3, label="pixel")
    (out,) = model([x, 0.7])
    products = out.parents[:-1]
    assert products[0].parents[1] is x
    leaf = products[1].parents[1]
    assert leaf.op == "" and leaf.label == "x1" and leaf.data == 0.7
    (out2,) = model(np.array([0.3, 0.7]))  # numpy rows work too
    assert out2.data == out.data


@pytest.mark.parametrize("bad, error, message", [
    ([1.0, 2.0], ValueError, "MLP expects 3 inputs, got 2"),
    ([1.0, "a", 2.0], TypeError, "MLP input 1 must be a number or a Value, got str"),
    ("abc", TypeError, "expects a list of 3 numbers or Values, got str"),
    (5.0, TypeError, "got float"),
])
def test_bad_inputs(bad, error, message):
    with pytest.raises(error, match=message):
        MLP(3, [2])(bad)


def test_bad_construction():
    with pytest.raises(ValueError, match="unknown activation 'gelu'; choose one of"):
        MLP(3, [2], activation="gelu")
    with pytest.raises(ValueError, match="unknown init 'zeros'"):
        Neuron(3, init="zeros")
    with pytest.raises(ValueError, match="nin must be a positive integer, got 0"):
        Layer(0, 3)
    with pytest.raises(ValueError, match=r"nouts\[1\] must be a positive integer, got -1"):
        MLP(3, [4, -1])
    with pytest.raises(ValueError, match="nouts must be a non-empty list"):
        MLP(3, [])
    with pytest.raises(TypeError, match="rng must be None, an int seed"):
        MLP(3, [2], rng="seed")


@pytest.mark.parametrize("make, error, message", [
    # the activation given by position as a list: was "unhashable type: 'list'"
    (lambda: MLP(4, [3], [2]), TypeError,
     r"^activation must be a str, one of 'tanh', .*'linear'; got list: \[2\]$"),
    # one int was silently one linear layer
    (lambda: MLP(64, 10), TypeError, r"^nouts must be a list of layer sizes, the last the number "
     r"of outputs: MLP\(64, \[10\]\) is one linear layer, MLP\(64, \[32, 10\]\) has a hidden "
     r"layer; got int: 10$"),
    (lambda: MLP("64", [10]), TypeError, r"^nin must be a positive integer, got str: '64'$"),
    (lambda: MLP(4, [3.0, 2]), TypeError, r"^nouts\[0\] must be a positive integer, got float"),
    (lambda: MLP(4, [3], init=None), TypeError, r"^init must be a str, one of 'uniform', "),
    (lambda: MLP(4, [3], fused=1), TypeError, r"^fused must be True or False, got int: 1$"),
    (lambda: Layer(3, [2]), TypeError, r"^nout must be a positive integer, got list: \[2\]$"),
    (lambda: Layer(3, 2, "gelu"), ValueError, r"^unknown activation 'gelu'; choose one of"),
    (lambda: Layer(3, 2, ["relu"]), TypeError, r"^activation must be a str"),
    (lambda: Neuron(3, 2), TypeError, r"^activation must be a str, .*; got int: 2$"),
    (lambda: Neuron(2.5), TypeError, r"^nin must be a positive integer, got float: 2\.5$"),
    (lambda: Neuron(3, fan_out=0), ValueError, r"^fan_out must be a positive integer, got 0$"),
])
def test_constructor_arguments_are_named_in_their_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_initialisation_is_reproducible_from_seed_random_and_generator():
    def weights(model):
        return [p.data for p in model.parameters()]

    assert weights(MLP(5, [4, 3], rng=7)) == weights(MLP(5, [4, 3], rng=7))
    assert weights(MLP(5, [4, 3], rng=7)) != weights(MLP(5, [4, 3], rng=8))
    assert weights(MLP(5, [4, 3], rng=random.Random(7))) == weights(MLP(5, [4, 3], rng=7))
    a = weights(MLP(5, [4, 3], rng=np.random.default_rng(3)))
    assert a == weights(MLP(5, [4, 3], rng=np.random.default_rng(3)))


def test_initialisation_schemes():
    nin, nout = 100, 50
    uniform = Layer(nin, nout, init="uniform", rng=0)
    ws = [w.data for n in uniform.neurons for w in n.w]
    assert max(map(abs, ws)) <= 1 / math.sqrt(nin) and max(map(abs, ws)) > 0.9 / math.sqrt(nin)
    xavier = Layer(nin, nout, init="xavier", rng=0)
    ws = [w.data for n in xavier.neurons for w in n.w]
    bound = math.sqrt(6 / (nin + nout))
    assert max(map(abs, ws)) <= bound and max(map(abs, ws)) > 0.9 * bound
    assert all(n.b.data == 0.0 for n in xavier.neurons)
    he = Layer(nin, nout, init="he", rng=0)
    ws = np.array([w.data for n in he.neurons for w in n.w])
    # 5,000 draws of N(0, 2/nin): the sample std is within 5% of √(2/nin).
    assert ws.std() == pytest.approx(math.sqrt(2 / nin), rel=0.05)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_mlp_forward_and_backward_match_numpy(activation):
    rng = np.random.default_rng(0)
    model = MLP(6, [5, 4, 3], activation=activation, rng=1)
    x = rng.uniform(-1, 1, 6)
    target = 2

    # The same weights as numpy matrices: W[j, i] = neurons[j].w[i].
    Ws = [np.array([[w.data for w in n.w] for n in layer.neurons]) for layer in model.layers]
    bs = [np.array([n.b.data for n in layer.neurons]) for layer in model.layers]
    for layer, W, b in zip(model.layers, Ws, bs, strict=True):  # Layer.arrays gives the same
        got_W, got_b = layer.arrays()
        assert np.array_equal(got_W, W) and np.array_equal(got_b, b)
        got_W[0, 0] += 1.0  # a copy: the layer keeps its numbers
        assert layer.neurons[0].w[0].data == W[0, 0]
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[activation]
    dact = {"relu": lambda z, a: (z > 0).astype(float), "tanh": lambda z, a: 1 - a**2,
            "sigmoid": lambda z, a: a * (1 - a)}[activation]

    # Forward, keeping pre-activations z and activations a.
    a_s, z_s = [x], []
    for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        z = W @ a_s[-1] + b
        z_s.append(z)
        a_s.append(z if k == len(Ws) - 1 else act(z))
    logits = a_s[-1]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    loss = -np.log(p[target])

    # Backward by hand: dL/dlogits = p − onehot, then back through each layer.
    grads_W, grads_b = [None] * len(Ws), [None] * len(Ws)
    delta = p - np.eye(3)[target]
    for k in reversed(range(len(Ws))):
        grads_W[k], grads_b[k] = np.outer(delta, a_s[k]), delta
        if k > 0:
            delta = (Ws[k].T @ delta) * dact(z_s[k - 1], a_s[k])

    out = model(list(x))
    assert [o.data for o in out] == pytest.approx(list(logits), rel=1e-13, abs=1e-15)
    L = cross_entropy(out, target)
    assert L.data == pytest.approx(loss, rel=1e-13)
    L.backward()
    for k, layer in enumerate(model.layers):
        got_W = np.array([[w.grad for w in n.w] for n in layer.neurons])
        got_b = np.array([n.b.grad for n in layer.neurons])
        np.testing.assert_allclose(got_W, grads_W[k], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got_b, grads_b[k], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_fused_neurons_give_the_same_bits_with_half_the_nodes(activation):
    from engine import topological_order

    rng = np.random.default_rng(0)
    plain = MLP(5, [4, 3], activation=activation, rng=7)
    fused = MLP(5, [4, 3], activation=activation, rng=7, fused=True)
    for x, label in zip(rng.normal(0, 2, (4, 5)), [0, 1, 2, 1], strict=True):
        losses = [cross_entropy(m(list(x)), label) for m in (plain, fused)]
        for m, loss in zip((plain, fused), losses, strict=True):
            m.zero_grad()
            loss.backward()
        assert losses[0].data == losses[1].data
        assert [p.grad for p in plain.parameters()] == [p.grad for p in fused.parameters()]
    sizes = [len(topological_order(loss)) for loss in losses]
    assert sizes[1] == sizes[0] - (5 * 4 + 4 * 3)  # no product nodes: one wsum per neuron
    assert {n.op for n in topological_order(losses[1])} & {"wsum", "mul"} == {"wsum"}


def test_fused_is_part_of_the_saved_architecture(tmp_path):
    model = MLP(3, [2, 2], rng=0, fused=True)
    assert model.config() == {"nin": 3, "nouts": [2, 2], "activation": "relu", "fused": True}
    assert "fused" not in MLP(3, [2, 2], rng=0).config()  # old files read as before
    model.save(tmp_path / "m.json")
    loaded = MLP.load(tmp_path / "m.json")
    assert loaded.config() == model.config()
    assert loaded([1.0, 2.0, 3.0])[0].op == "wsum"  # the last layer is linear
    with pytest.raises(TypeError, match="fused must be True or False, got str"):
        MLP(3, [2], fused="yes")
