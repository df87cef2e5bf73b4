"""Neural networks built from engine Values, with PyTorch's vocabulary.

>>> from nn import MLP, Adam, cross_entropy
>>> model = MLP(4, [8, 3], rng=0)
>>> optimizer = Adam(model.parameters(), lr=0.01)
>>> loss = cross_entropy(model([0.1, 0.2, 0.3, 0.4]), target=2)
>>> optimizer.zero_grad(); loss.backward(); optimizer.step()
"""

from nn import engine_check  # noqa: F401 - first: a learner's own engine.py is named, not used
from nn.compiled import CompiledStep, compile_step
from nn.layers import ACTIVATIONS, INITS, MLP, Layer, Neuron, init_weights
from nn.losses import cross_entropy, hinge, log_sum_exp, mse, softmax
from nn.module import LoadResult, Module, StateDictError
from nn.optim import SGD, Adam, CosineLR, Optimizer, StepLR
from nn.serialize import ModelFileError, load, save
from nn.torch_bridge import to_torch
from nn.viz import draw_network  # noqa: F401 - also registers the notebook display of Modules

__all__ = [
    "ACTIVATIONS", "INITS", "MLP", "SGD", "Adam", "CompiledStep", "CosineLR", "Layer",
    "LoadResult", "ModelFileError", "Module", "Neuron", "Optimizer", "StateDictError", "StepLR",
    "compile_step", "cross_entropy", "hinge", "init_weights", "load", "log_sum_exp", "mse",
    "save", "softmax", "to_torch",
]
