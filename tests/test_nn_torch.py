"""The documented bridge to PyTorch (skipped when torch is absent)."""

import numpy as np
import pytest

from nn import MLP, Layer, to_torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_to_torch_gives_the_same_outputs(activation):
    model = MLP(8, [6, 4, 3], activation=activation, rng=0)
    net = to_torch(model)
    assert [type(m).__name__ for m in net] == [
        "Linear", {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}[activation],
        "Linear", {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}[activation], "Linear"]
    x = np.random.default_rng(1).uniform(-1, 1, (5, 8))
    ours = np.array([[v.data for v in model(list(row))] for row in x])
    theirs = net(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=1e-14)
    assert net[0].weight.dtype == torch.float64


def test_to_torch_layer_and_float32_and_errors():
    layer = Layer(3, 2, activation="tanh", rng=0)
    net = to_torch(layer, dtype=torch.float32)
    assert net[0].weight.dtype == torch.float32 and len(net) == 2
    assert net[0].weight[1, 2].item() == pytest.approx(layer.neurons[1].w[2].data, rel=1e-6)
    with pytest.raises(TypeError, match="converts an MLP or a Layer, got str"):
        to_torch("model")


def test_hinge_and_cross_entropy_match_torch():
    from nn import cross_entropy, hinge

    z = [0.3, -0.2, 0.9, 1.4]
    t = torch.tensor([z], dtype=torch.float64)
    for target in range(4):
        y = torch.tensor([target])
        expected = torch.nn.functional.multi_margin_loss(t, y).item()
        assert hinge(z, target).data == pytest.approx(expected, rel=1e-14)
        expected = torch.nn.functional.cross_entropy(t, y).item()
        assert cross_entropy(z, target).data == pytest.approx(expected, rel=1e-14)
