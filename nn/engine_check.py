"""Imported first by ``nn/__init__.py``: ``engine`` must be glassgrad's own package, not a
learner's ``engine.py`` (micrograd's name) that Python finds first on ``sys.path``; otherwise
nn would fail deep inside with ``cannot import name …`` or quietly use their ``Value``.

The rule is ``glassgrad.origin``'s (which nn cannot import: glassgrad imports nn): look where
``engine`` would be found, without running that file.
"""

from importlib.util import find_spec
from pathlib import Path

_OURS = Path(__file__).resolve().parent.parent / "engine" / "__init__.py"
_spec = find_spec("engine")
_origin = _spec.origin if _spec is not None else None
if _origin is None or Path(_origin).resolve() != _OURS:
    _where = Path(_origin).parent if _origin and _origin.endswith("__init__.py") else _origin
    raise ImportError(f"{_where} shadows glassgrad's engine package: Python finds it first. "
                      f"Rename your {Path(str(_where)).name}, or import glassgrad from another "
                      "folder.")
