"""Where ``engine`` and ``nn`` come from: glassgrad's own packages, or a learner's file.

Learners coming from micrograd often keep their own ``engine.py`` and ``nn.py`` in the folder
they work in. Python finds those first (the folder a script or ``python -c`` runs from comes
first on ``sys.path``), so without this check ``from glassgrad import Value`` would fail deep
inside with ``cannot import name …``, or worse, quietly use their ``Value``. Imported first by
``glassgrad/__init__.py``; it looks where each name would be found without running that file.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent  # the folder that holds glassgrad, engine and nn
PACKAGES = ("engine", "nn")


def found_at(name: str) -> str | None:
    """The file ``import name`` loads (or has loaded), without running it; None if nothing."""
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__spec__", None) is None:
        return getattr(module, "__file__", None) or repr(module)  # made by hand, or __main__
    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.origin is None or spec.origin == "namespace":  # a folder without __init__.py
        return ", ".join(spec.submodule_search_locations or []) or name
    return spec.origin


def is_ours(name: str, origin: str | None) -> bool:
    return origin is not None and Path(origin).resolve() == HOME / name / "__init__.py"


def shadowing_error(names: tuple[str, ...] = PACKAGES) -> ImportError | None:
    """One ImportError naming each file found instead of glassgrad's package of that name,
    and what to do; None when every name is glassgrad's own."""
    found = {name: found_at(name) for name in names}
    missing = [name for name, origin in found.items() if origin is None]
    if missing:
        return ImportError(f"glassgrad's {' and '.join(missing)} package is missing from "
                           f"{HOME}: reinstall glassgrad")
    others = {name: origin for name, origin in found.items()
              if origin is not None and not is_ours(name, origin)}
    if not others:
        return None
    # A package folder of theirs is named as the folder, not as its __init__.py.
    others = {name: str(Path(origin).parent) if origin.endswith("__init__.py") else origin
              for name, origin in others.items()}
    one = len(others) == 1
    files = " and ".join(others.values())
    yours = " and ".join(Path(origin).name for origin in others.values())
    return ImportError(
        f"{files} {'shadows' if one else 'shadow'} glassgrad's {' and '.join(others)} "
        f"{'package' if one else 'packages'}: Python finds {'it' if one else 'them'} first. "
        f"Rename your {yours}, or import glassgrad from another folder.")


def check(names: tuple[str, ...] = PACKAGES) -> None:
    """Raise :func:`shadowing_error`'s error, if there is one."""
    error = shadowing_error(names)
    if error is not None:
        raise error


check()  # on import: glassgrad/__init__.py imports this module before engine and nn
