"""One definition of a neuron (engine.neuron), and everything that looks for neurons agrees
with it on every graph: the collapsed drawing, the HTML stepper, the how-it-works numbers
and the compiler's layer kernels; and the batched kernel is the wsum row's chain rule."""

import shutil

import numpy as np
import pytest

import engine
from engine import Value, find_neurons, topological_order
from engine.compiler.compile import trace
from engine.compiler.layer import LayerBias, NeuronLayer
from engine.compiler.rows import Rows
from engine.neuron import neuron_parts, readers
from engine.viz import draw_dot, export_html

W = [0.5, -1.25, 0.75]


def weights():
    return [Value(w, label=f"w{i}") for i, w in enumerate(W)], Value(0.1, label="b")


def products(w, x):
    return [wi * xi for wi, xi in zip(w, x, strict=True)]


# Each case: a function of the inputs, weights and bias; the activation of the one neuron it
# makes (None: it makes none); where that neuron's bias comes from.
CASES = [
    ("products, no bias", lambda x, w, b: engine.weighted_sum(w, x).relu(), "relu", None),
    ("products and a bias", lambda x, w, b: engine.weighted_sum(w, x, b).relu(), "relu", "b"),
    ("fused, no bias", lambda x, w, b: engine.weighted_sum(w, x, fused=True).relu(), "relu",
     None),
    ("fused with a bias", lambda x, w, b: engine.weighted_sum(w, x, b, fused=True).tanh(),
     "tanh", "b"),
    ("linear", lambda x, w, b: engine.weighted_sum(w, x, b), "linear", "b"),
    ("written with operators", lambda x, w, b: engine.sum([*products(w, x), b]).sigmoid(),
     "sigmoid", "b"),
    ("a computed bias", lambda x, w, b: engine.sum([*products(w, x), b + 0.5]).relu(), "relu",
     "computed"),
    ("two extra terms", lambda x, w, b: engine.sum([w[0] * x[0], b, x[1] * x[2]]), None, None),
    ("a product read twice", lambda x, w, b: (
        lambda p: engine.sum([p, *products(w[1:], x[1:])]) + p)(w[0] * x[0]), None, None),
    ("a computed weight", lambda x, w, b: engine.sum([(w[0] * 2) * x[0],
                                                      *products(w[1:], x[1:])]), None, None),
    ("a fused computed weight", lambda x, w, b: engine.weighted_sum(
        [w[0] * 2, w[1], w[2]], x, b, fused=True), None, None),
]
IDS = [case[0] for case in CASES]


def graph(fn):
    x = [Value(v, label=f"x{i}") for i, v in enumerate([1.5, -0.5, 2.0])]
    w, b = weights()
    out = fn(x, w, b) * 1.0  # something after the neuron, as a loss would be
    return out, x, w, b


@pytest.mark.parametrize("name, fn, activation, bias", CASES, ids=IDS)
def test_finding_neurons(name, fn, activation, bias):
    out, x, w, b = graph(fn)
    neurons = find_neurons(topological_order(out))
    if activation is None:
        assert neurons == []
        return
    (neuron,) = neurons
    parts = neuron.parts
    assert list(parts.weights) == w and list(parts.inputs) == x
    assert parts.activation_name == activation
    if bias == "computed":
        assert parts.bias.parents[0] is b and neuron.params == w  # b + 0.5: no parameter
    else:
        assert parts.bias is (b if bias else None)
        assert neuron.params == w + ([b] if bias else [])


@pytest.mark.parametrize("name, fn, activation, bias", CASES, ids=IDS)
def test_the_drawing_and_the_compiler_agree(name, fn, activation, bias):
    out, x, w, b = graph(fn)
    out.backward()
    source = draw_dot(out, collapse=True).source
    assert ("neuron0 [label=" in source) == (activation is not None)

    tape = trace(lambda v: fn(v, w, b) * 1.0, [1.5, -0.5, 2.0], params=[*w, b],
                 check_with=[0.3, 0.2, -1.0])
    layers = [k for k in tape.kernels if isinstance(k, NeuronLayer)]
    assert len(layers) == (activation is not None)
    batch = np.array([[1.5, 0.3], [-0.5, 0.2], [2.0, -1.0]])
    values, _, param_grads = tape.run(batch, np.ones(2))
    eager, grads = [], np.zeros(4)
    for column in batch.T:
        leaves = [Value(v) for v in column]
        o = fn(leaves, w, b) * 1.0
        eager.append(o.data)
        grads += engine.grad(o, [*w, b])
    assert values[tape.output_slot] == pytest.approx(eager, rel=1e-13)
    used = [p for p in [*w, b] if p in tape.params]
    assert param_grads == pytest.approx([g for p, g in zip([*w, b], grads, strict=True)
                                         if p in used], rel=1e-12, abs=1e-14)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("name, fn, activation, bias", CASES, ids=IDS)
def test_the_stepper_collapses_the_same_neurons(name, fn, activation, bias, tmp_path):
    out, *_ = graph(fn)
    page = export_html(out, tmp_path / "page.html", collapse=True).read_text()
    assert ('id="g-neuron0"' in page) == (activation is not None)


def test_neuron_parts_needs_the_graphs_readers():
    x, (w, b) = [Value(1.0), Value(2.0), Value(3.0)], weights()
    z = engine.weighted_sum(w, x, b)
    order = topological_order(z)
    assert neuron_parts(z, readers(order)).activation is None
    assert neuron_parts(z.parents[0], readers(order)) is None  # a product is no neuron


def test_the_layer_kernel_is_the_wsum_rows_chain_rule():
    # ∂W = G Xᵀ, ∂X = Wᵀ G, ∂B = G must equal applying the wsum row's local derivatives
    # (∂z/∂w = x, ∂z/∂x = w, ∂z/∂b = 1) neuron by neuron and example by example.
    rng = np.random.default_rng(0)
    J, K, batch = 3, 4, 5
    theta = rng.normal(size=J * K + J)
    w_index = np.arange(J * K).reshape(J, K)
    layer = NeuronLayer(slice(K, K + J), Rows(np.arange(K)), w_index,
                        LayerBias(params=Rows(J * K + np.arange(J))))
    values = np.zeros((K + J, batch))
    values[:K] = rng.normal(size=(K, batch))
    layer.forward(values, theta)
    product = values[K:].copy()  # one matrix product: the row's sums to rounding
    layer.forward(values, theta, exact=True)
    assert product == pytest.approx(values[K:], rel=1e-14)
    grads = np.zeros_like(values)
    grads[K:] = rng.normal(size=(J, batch))
    param_grads = np.zeros_like(theta)
    layer.backward(values, grads, param_grads, theta, None, params_only=False)
    row = engine.OPS["wsum"]
    expected_params, expected_inputs = np.zeros_like(theta), np.zeros((K, batch))
    for j in range(J):
        for e in range(batch):
            xs = [*engine.neuron.interleave(theta[w_index[j]], values[:K, e]), theta[J * K + j]]
            z = row.compute(xs)
            assert values[K + j, e] == z  # exact=True: the same float, in the row's order
            local = row.derivatives(z, xs)
            g = grads[K + j, e]
            expected_params[w_index[j]] += g * np.array(local[0:2 * K:2])
            expected_inputs[:, e] += g * np.array(local[1:2 * K:2])
            expected_params[J * K + j] += g * local[-1]
    assert param_grads == pytest.approx(expected_params, rel=1e-12)
    assert grads[:K] == pytest.approx(expected_inputs, rel=1e-12)


def test_constants_are_not_weights():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    assert find_neurons(topological_order(engine.sum([2 * a, 3 * b]))) == []
    assert find_neurons(topological_order(engine.weighted_sum([2, 3], [a, b], fused=True))) == []


def test_a_neuron_whose_weights_are_no_parameters_is_drawn_and_computed_node_by_node():
    # The same neuron for the drawing; the compiler reads weights from its parameter vector,
    # so with params=[] it runs the neuron's nodes one by one, with the same numbers.
    w, b = weights()
    fn = CASES[1][1]
    out, *_ = graph(fn)
    assert len(find_neurons(topological_order(out))) == 1
    tape = trace(lambda v: fn(v, w, b) * 1.0, [1.5, -0.5, 2.0], params=[],
                 check_with=[0.3, 0.2, -1.0])
    assert not any(isinstance(k, NeuronLayer) for k in tape.kernels)
    assert tape.forward(np.array([[1.5], [-0.5], [2.0]]))[tape.output_slot, 0] == out.data


@pytest.mark.parametrize("name, fn, activation, bias", CASES[:7], ids=IDS[:7])
def test_every_neuron_rewrites_to_the_wsum_form(name, fn, activation, bias):
    out, *_ = graph(fn)
    (neuron,) = find_neurons(topological_order(out))
    inputs = neuron.parts.wsum_inputs
    assert engine.OPS["wsum"].compute([v.data for v in inputs]) == neuron.total.data
    assert inputs[0::2][:3] == neuron.parts.weights
