"""The engine's switches: recording graphs (``no_grad``) and stopping at bad numbers
(``detect_anomaly``), as context managers and decorators named like PyTorch's; and pausing
Python's cycle collector while a large graph is built (``no_cycle_collection``)."""

from __future__ import annotations

import gc
import threading
from contextlib import ContextDecorator
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11


class AnomalyError(FloatingPointError):
    """Raised inside ``detect_anomaly()`` at the first op that produces a nan or an infinity."""


class Mode:
    """Process-wide switches set by the ``no_grad`` and ``detect_anomaly`` context managers
    (read them here; set them with those)."""

    grad_enabled = True
    anomaly = False
    # Both at their defaults: an op records its node with no check (the arithmetic reads this
    # one switch, kept by the context managers, instead of two on every node).
    plain = True


MODE = Mode()


class _Switch(ContextDecorator):
    """Set one of the ``MODE`` switches inside a ``with`` block or a decorated function.

    Re-entrant: each entry remembers the value it replaced, so nesting (even of the same
    object) restores every level correctly. The switches are process-wide, not per thread.
    """

    name = ""
    value = False

    def __init__(self) -> None:
        self._saved: list[bool] = []

    def __enter__(self) -> Self:
        self._saved.append(getattr(MODE, self.name))
        _set(self.name, self.value)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _set(self.name, self._saved.pop())
        return False


def _set(name: str, value: bool) -> None:
    setattr(MODE, name, value)
    MODE.plain = MODE.grad_enabled and not MODE.anomaly


class no_grad(_Switch):  # noqa: N801 - named like torch.no_grad, used the same way
    """Ops inside it record no parents (results are plain leaves).

    Use it for evaluation and for optimizer updates, where no graph is needed::

        with no_grad():
            y = model(x)

    or as a decorator, ``@no_grad()``.
    """

    name, value = "grad_enabled", False


class enable_grad(_Switch):  # noqa: N801 - named like torch.enable_grad
    """Record graphs again inside a ``no_grad`` block (``engine.grad`` uses it)."""

    name, value = "grad_enabled", True


class detect_anomaly(_Switch):  # noqa: N801 - named like torch.autograd.detect_anomaly
    """Raise :class:`AnomalyError` at the first non-finite number, inside a ``with`` block.

    Forward: the first op whose result is nan or ±inf, naming the op and its inputs (with their
    labels). Backward: the first node whose local derivative or gradient contribution is not
    finite. Outside this context glassgrad follows IEEE 754 silently (see ``engine.ops``).
    """

    name, value = "anomaly", True


class no_cycle_collection(ContextDecorator):  # noqa: N801 - a context manager, like no_grad
    """Pause Python's cycle collector inside a ``with`` block (or a decorated function); it
    is switched back on at the end, however the block ends, if it was on.

    Values form no reference cycles (a node holds its inputs, never its readers), so the
    collector finds no garbage among them; reference counting frees each one as soon as it
    is unused, with or without the collector. But the collector still scans every live
    object each time enough new ones pile up, and while a graph of millions of nodes is
    built those scans are about half the time (``bench/bench_engine.py`` builds
    ``x = x*0.9999 + 0.0001`` a million times inside and outside this block). Cycles your
    own code makes inside the block are found by the first collection after it. The backward
    pass and the graph walks pause the collector by themselves. Safe in threads: the
    collector comes back on when the last open block in any thread ends.
    """

    def __enter__(self) -> Self:
        _PAUSES.begin()
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _PAUSES.end()
        return False


class _Pauses:
    """The process-wide count of open ``no_cycle_collection`` blocks, in every thread.

    The collector is one switch for the whole process. If each block read it, switched it off
    and put back what it read, two threads would interleave: one reads "off" while the other
    has it paused, and restores "off" after the other switched it back on, leaving it off for
    good. So the first block to open reads the switch and turns it off, and the last to close
    turns it back on, if it was on before the first opened, all under one lock. A user's own
    ``gc.disable()`` made before is kept; one made while a block is open in another thread
    cannot be told from the pause, and is undone when the last block ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._was_enabled = False

    def begin(self) -> None:
        with self._lock:
            if self._open == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._open += 1

    def end(self) -> None:
        with self._lock:
            self._open -= 1
            if self._open == 0 and self._was_enabled:
                gc.enable()


_PAUSES = _Pauses()
