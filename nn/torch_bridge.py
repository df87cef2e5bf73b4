"""Move a trained glassgrad network into PyTorch, for when you outgrow a scalar engine.

    net = to_torch(MLP(64, [32, 10], rng=0))   # Sequential(Linear(64, 32), ReLU(),
    logits = net(torch.tensor(pixels))          #            Linear(32, 10)), float64

(tests/test_nn_torch.py checks that the outputs agree with glassgrad's.)

PyTorch is not a dependency of glassgrad; this module imports it only when called.
"""

from __future__ import annotations

from nn.layers import MLP, Layer

# PyTorch's module for each activation (Softplus with its default beta = 1 is ln(1 + e^x)).
_TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
                      "softplus": "Softplus"}


def to_torch(model: MLP | Layer, dtype=None):
    """An equivalent ``torch.nn.Sequential``: a ``Linear`` per layer, then its activation.

    ``Linear.weight[j, i]`` is ``layers[k].neurons[j].w[i]`` and ``bias[j]`` is
    ``neurons[j].b``. ``dtype`` defaults to ``torch.float64``, which reproduces glassgrad's
    outputs to rounding; use ``torch.float32`` for speed.
    """
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch needs PyTorch: pip install torch") from None
    if isinstance(model, Layer):
        layers = [model]
    elif isinstance(model, MLP):
        layers = model.layers
    else:
        raise TypeError(f"to_torch converts an MLP or a Layer, got {type(model).__name__}")
    unknown = {layer.activation for layer in layers} - {"linear", *_TORCH_ACTIVATIONS}
    if unknown:
        raise ValueError(f"to_torch: no PyTorch module for activation {sorted(unknown)[0]!r} "
                         "(nn/torch_bridge.py lists the PyTorch module of each activation)")
    dtype = torch.float64 if dtype is None else dtype
    modules = []
    for layer in layers:
        linear = torch.nn.Linear(layer.nin, layer.nout, dtype=dtype)
        weight, bias = layer.arrays()
        with torch.no_grad():  # build the tensors in `dtype`: torch's default float32 rounds
            linear.weight.copy_(torch.tensor(weight, dtype=dtype))
            linear.bias.copy_(torch.tensor(bias, dtype=dtype))
        modules.append(linear)
        if layer.activation != "linear":
            modules.append(getattr(torch.nn, _TORCH_ACTIVATIONS[layer.activation])())
    return torch.nn.Sequential(*modules)
