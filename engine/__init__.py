"""glassgrad's engine: a scalar autograd you can read, step through, check and render.

>>> from engine import Value
>>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
>>> y = (a * b + 6.5).tanh()
>>> y.backward()
>>> round(a.grad, 6), round(b.grad, 6)
(-2.359343, 1.572895)

``engine.sum`` and ``engine.max`` (one n-ary node each) are attributes of the package but not
in ``__all__``, so ``from engine import *`` never hides the built-in ``sum`` and ``max``.
"""

__version__ = "0.1.0"  # the one place it is written: pyproject, glassgrad and --version read it

from engine.autodiff import (
    BackwardSteps,
    Step,
    backward,
    backward_steps,
    grad,
    local_grads,
    topological_order,
    zero_grad,
)
from engine.check import GradcheckError, gradcheck, numerical_grad
from engine.mode import AnomalyError, detect_anomaly, enable_grad, no_cycle_collection, no_grad
from engine.neuron import NeuronParts, find_neurons, neuron_parts, weighted_sum
from engine.node import Node
from engine.ops import OPS, Op
from engine.practice import exercises, practice
from engine.text import NodeNames
from engine.value import Value, apply, const

# engine.sum and engine.max are not in __all__; `x as x` tells type checkers they are exported.
from engine.value import max as max  # noqa: A004
from engine.value import sum as sum  # noqa: A004

__all__ = [
    "OPS", "AnomalyError", "BackwardSteps", "GradcheckError", "Node", "NodeNames",
    "NeuronParts", "Op", "Step", "Value", "apply", "backward", "backward_steps", "const",
    "detect_anomaly", "enable_grad", "exercises", "find_neurons", "grad", "gradcheck",
    "local_grads", "neuron_parts", "no_cycle_collection", "no_grad", "numerical_grad", "practice",
    "topological_order", "weighted_sum", "zero_grad",
]
