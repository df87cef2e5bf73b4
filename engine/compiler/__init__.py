"""The compiler: the same graph, traced once, run over whole batches with numpy.

``trace`` (in ``compile.py``, the public face) gives a ``Tape``. The package, one question per
module: ``plan.py`` (which kernels run in what order, and each node's row), ``kernel.py`` (the
protocol every kernel follows, and the op-group kernel), ``layer.py`` (the neuron-layer
kernel: one matrix product), ``rows.py`` (rows and blocks of a batch array), ``tape.py``
(the fast path: forward, backward, run) and ``exactness.py`` (bounds, the ops' carry, kink
and pole rules, and the examples computed again the eager way).
"""

from engine.compiler.compile import Tape, TraceError, trace

__all__ = ["Tape", "TraceError", "trace"]
