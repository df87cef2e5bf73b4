"""glassgrad's engine: a scalar autograd you can read, step through, check and render.

>>> from engine import Value
>>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
>>> y = (a * b + 6.5).tanh()
>>> y.backward()
>>> round(a.grad, 6), round(b.grad, 6)
(-2.359343, 1.572895)
"""

from engine.autodiff import Step, backward, backward_steps, grad, local_grads, topological_order
from engine.check import GradcheckError, gradcheck, numerical_grad
from engine.ops import OPS, Op
from engine.value import (
    AnomalyError,
    Value,
    apply,
    const,
    detect_anomaly,
    enable_grad,
    max,
    no_grad,
    sum,
    weighted_sum,
)

__all__ = [
    "OPS", "AnomalyError", "GradcheckError", "Op", "Step", "Value", "apply", "backward",
    "backward_steps", "const", "detect_anomaly", "enable_grad", "grad", "gradcheck",
    "local_grads", "max",
    "no_grad", "numerical_grad", "sum", "topological_order", "weighted_sum",
]
