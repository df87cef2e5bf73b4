"""glassgrad: a glass-box scalar autograd engine. ``import glassgrad`` is the one way in.

>>> from glassgrad import MLP, Value, backward_steps, cross_entropy
>>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
>>> y = (a * b + 6.5).tanh()
>>> for step in backward_steps(y): pass     # the chain rule one node at a time (print each)
>>> round(a.grad, 6), round(b.grad, 6)
(-2.359343, 1.572895)
>>> model = MLP(4, [8, 3], rng=0)
>>> cross_entropy(model([0.1, 0.2, 0.3, 0.4]), target=2).backward()
>>> import glassgrad
>>> glassgrad.sum([a, b, 1.0]).data        # one node for a whole sum (and glassgrad.max)
0.0

Everything here is the public API of the ``engine`` and ``nn`` packages (and of
``engine.viz``, the drawings), under one name. Drawing needs the ``graphviz`` package only
when it draws. If a folder holds its own ``engine.py`` or ``nn.py`` (micrograd's names), the
import says which file is found instead of glassgrad's and what to do.
"""

from glassgrad import origin  # noqa: F401, I001 - first: names a learner's engine.py or nn.py

from engine import (
    OPS,
    AnomalyError,
    BackwardSteps,
    GradcheckError,
    Node,
    NodeNames,
    NeuronParts,
    Op,
    Step,
    Value,
    __version__,
    apply,
    backward,
    backward_steps,
    const,
    detect_anomaly,
    enable_grad,
    exercises,
    find_neurons,
    grad,
    gradcheck,
    local_grads,
    neuron_parts,
    no_cycle_collection,
    no_grad,
    numerical_grad,
    practice,
    topological_order,
    weighted_sum,
    zero_grad,
)
from engine.viz import (
    COLLAPSE_ABOVE,
    GraphTooLargeError,
    GraphvizMissingError,
    backward_frames,
    draw_dot,
    export_html,
    render,
    show,
    stepper_page,
)
from nn import (
    ACTIVATIONS,
    INITS,
    MLP,
    SGD,
    Adam,
    CompiledStep,
    CosineLR,
    Layer,
    LoadResult,
    ModelFileError,
    Module,
    Neuron,
    Optimizer,
    StateDictError,
    StepLR,
    compile_step,
    cross_entropy,
    hinge,
    init_weights,
    load,
    log_sum_exp,
    mse,
    save,
    softmax,
    to_torch,
)
from nn.viz import draw_network

# glassgrad.sum and glassgrad.max (one n-ary node each), as in engine: not in __all__, so
# `from glassgrad import *` never hides the built-ins; `x as x` exports them to type checkers.
from engine import max as max  # noqa: A004
from engine import sum as sum  # noqa: A004

__all__ = [
    # engine: Values, the backward pass, checks
    "OPS", "AnomalyError", "BackwardSteps", "GradcheckError", "Node", "NodeNames",
    "NeuronParts", "Op", "Step", "Value", "apply", "backward", "backward_steps", "const",
    "detect_anomaly", "enable_grad", "exercises", "find_neurons", "grad", "gradcheck",
    "local_grads", "neuron_parts", "no_cycle_collection", "no_grad", "numerical_grad", "practice",
    "topological_order", "weighted_sum", "zero_grad",
    # engine.viz: drawings, pictures, the HTML stepper
    "COLLAPSE_ABOVE", "GraphTooLargeError", "GraphvizMissingError", "backward_frames", "draw_dot",
    "export_html", "render", "show", "stepper_page",
    # nn: modules, losses, optimizers, files
    "ACTIVATIONS", "INITS", "MLP", "SGD", "Adam", "CompiledStep", "CosineLR", "Layer",
    "LoadResult", "ModelFileError", "Module", "Neuron", "Optimizer", "StateDictError", "StepLR",
    "compile_step", "cross_entropy", "draw_network", "hinge", "init_weights", "load",
    "log_sum_exp", "mse", "save", "softmax", "to_torch",
    "__version__",
]
