"""How engine and nn objects show in a notebook (Jupyter, JupyterLab, VS Code, Colab).

Notebooks ask an object for ``_repr_mimebundle_``: a dict from MIME type to content. A Value,
a backward step, the backward-steps object and a Module answer by asking this registry, in
which the drawing modules (``engine.viz.notebook``, ``nn.viz``) put, for a class, the function
that makes its bundle. So the low layers (a Value, a Module) never import the drawing code,
and ``repr`` stays the plain text the REPL shows.

The engine's own drawings (``engine.viz.notebook``) are registered on the first display, not
when the engine is imported: ``import engine`` loads the core alone (numpy and the standard
library), and only a notebook that shows something loads Graphviz's side.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

_SHOWS: list[tuple[type, Callable[[Any], dict[str, Any]]]] = []
# Modules that register displays when imported, loaded by the first bundle() call. Named by
# string so that the core never imports the drawing layer (which imports the core).
_LOAD_ON_FIRST_DISPLAY = ["engine.viz.notebook"]
_LOADING = threading.RLock()  # held while they load (reentrant: one of them may display)
_LOADED = False


def register(cls: type, show: Callable[[Any], dict[str, Any]]) -> None:
    """Show instances of ``cls`` (and its subclasses) in notebooks with ``show(obj)``, a MIME
    bundle such as ``{"text/html": …, "text/plain": …}``."""
    _SHOWS.append((cls, show))


def bundle(obj: object) -> dict[str, Any] | None:
    """The MIME bundle of the most recently registered class ``obj`` is an instance of; None
    (the notebook then shows ``repr``) when none is registered."""
    if not _LOADED:
        _load_engine_displays()
    for cls, show in reversed(_SHOWS):
        if isinstance(obj, cls):
            return show(obj)
    return None


def _load_engine_displays() -> None:
    """Import the modules of ``_LOAD_ON_FIRST_DISPLAY``, once: another thread's first display
    waits for them (it would find none registered yet)."""
    global _LOADED
    with _LOADING:
        while _LOAD_ON_FIRST_DISPLAY:
            made = len(_SHOWS)
            importlib.import_module(_LOAD_ON_FIRST_DISPLAY.pop())
            # First in line, where registering on `import engine` put them: a display
            # registered since (nn.viz's, one for a subclass of Value) still wins for its class.
            engine_shows = _SHOWS[made:]
            del _SHOWS[made:]
            _SHOWS[:0] = engine_shows
        _LOADED = True
