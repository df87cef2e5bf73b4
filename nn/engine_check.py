"""Imported first by ``nn/__init__.py``: ``engine`` must be glassgrad's own package, not a
learner's ``engine.py`` (micrograd's name) that Python found first on ``sys.path``; otherwise
nn would fail deep inside with ``cannot import name …`` or quietly use their ``Value``."""

from pathlib import Path

import engine

if not getattr(engine, "__glassgrad__", False):  # the marker glassgrad's engine/__init__ sets
    where = getattr(engine, "__file__", None) or repr(engine)
    raise ImportError(f"{where} shadows glassgrad's engine package: Python finds it first. "
                      f"Rename your {Path(where).name}, or import glassgrad from another folder.")
