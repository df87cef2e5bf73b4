"""nn.Module: names, shared parameters, zero_grad, state_dict round trips and errors, repr."""

import pytest

from engine import Value
from nn import MLP, Layer, Module, Neuron, StateDictError


class Tied(Module):
    """Two neurons sharing one weight list, plus a private cache that is not a parameter."""

    def __init__(self):
        self.a = Neuron(2, rng=0)
        self.b = Neuron(2, rng=1)
        self.b.w = self.a.w  # weight tying
        self.scale = Value(2.0)
        self._cache = [Value(0.0)]


def test_named_parameters_use_dotted_names():
    model = MLP(3, [4, 2], rng=0)
    names = [n for n, _ in model.named_parameters()]
    assert names[:5] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1",
                         "layers.0.neurons.0.w.2", "layers.0.neurons.0.b",
                         "layers.0.neurons.1.w.0"]
    assert names[-1] == "layers.1.neurons.1.b"
    assert len(names) == len(set(names)) == (3 + 1) * 4 + (4 + 1) * 2
    assert model.parameters()[0] is model.layers[0].neurons[0].w[0]
    assert model.layers[1].neurons[1].b.label == "layers.1.neurons.1.b"


def test_shared_parameters_are_listed_once_and_private_attributes_skipped():
    model = Tied()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["a.w.0", "a.w.1", "a.b", "b.b", "scale"]
    assert len(model.parameters()) == 5
    assert "b.w" in model.state_dict()  # the state keeps every slot, shared or not


def test_zero_grad():
    model = MLP(2, [3, 1], rng=0)
    model([1.0, 2.0])[0].backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_state_dict_round_trip():
    a, b = MLP(3, [4, 2], rng=0), MLP(3, [4, 2], rng=1)
    state = a.state_dict()
    assert state["layers.0.neurons.0.w"] == [w.data for w in a.layers[0].neurons[0].w]
    assert state["layers.1.neurons.1.b"] == a.layers[1].neurons[1].b.data
    result = b.load_state_dict(state)
    assert b.state_dict() == state and result == ([], [])
    assert [v.data for v in b([0.1, 0.2, 0.3])] == [v.data for v in a([0.1, 0.2, 0.3])]


def test_load_state_dict_reports_every_problem_at_once_and_changes_nothing():
    model = MLP(3, [4, 2], rng=0)
    before = model.state_dict()
    state = dict(before)
    del state["layers.0.neurons.0.b"]
    del state["layers.1.neurons.0.w"]
    state["layers.9.neurons.0.b"] = 1.0
    state["layers.0.neurons.1.w"] = [1.0, 2.0]          # 3 expected
    state["layers.0.neurons.2.b"] = [1.0]               # a number expected
    state["layers.0.neurons.3.w"] = [1.0, "x", 3.0]     # a non-number inside
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    for expected in [
        "missing keys: layers.0.neurons.0.b, layers.1.neurons.0.w",
        "unexpected keys: layers.9.neurons.0.b",
        "layers.0.neurons.1.w expects 3 numbers, got 2",
        "layers.0.neurons.2.b expects a number, got list",
        "layers.0.neurons.3.w[1] expects a number, got str",
    ]:
        assert expected in message
    assert model.state_dict() == before


def test_load_state_dict_non_strict():
    model = MLP(2, [2], rng=0)
    state = {"layers.0.neurons.0.b": 5.0, "extra": 1.0}
    result = model.load_state_dict(state, strict=False)
    assert model.layers[0].neurons[0].b.data == 5.0
    assert result.unexpected_keys == ["extra"] and "layers.0.neurons.1.b" in result.missing_keys
    with pytest.raises(StateDictError, match="wrong shape"):
        model.load_state_dict({"layers.0.neurons.0.b": "x"}, strict=False)
    with pytest.raises(TypeError, match="expects a dict, got list"):
        model.load_state_dict([1, 2])


def test_repr_tree_with_parameter_counts():
    assert repr(MLP(64, [32, 10])) == (
        "MLP(64 → 32 → 10, relu; 2,410 parameters)\n"
        "  (layers.0): Layer(64 → 32, relu; 2,080 parameters)\n"
        "    (neurons): 32 × Neuron(64 inputs, relu; 65 parameters)\n"
        "  (layers.1): Layer(32 → 10, linear; 330 parameters)\n"
        "    (neurons): 10 × Neuron(32 inputs, linear; 33 parameters)")
    assert repr(Tied()).splitlines()[0] == "Tied(5 parameters)"
    assert repr(MLP(3, [2])).splitlines()[0] == "MLP(3 → 2, linear; 8 parameters)"
    assert repr(Layer(2, 1, activation="tanh")).splitlines()[1] == (
        "  (neurons.0): Neuron(2 inputs, tanh; 3 parameters)")
