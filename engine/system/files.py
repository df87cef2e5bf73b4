"""``atomic_write``: the one way the project writes a file; ``json_text``: the one way it
writes JSON.

The bytes go to a temporary file in the target's directory, are flushed to disk (fsync), and
the temporary file is renamed over the target: a reader sees the old file or the new one,
never half of one, and on any failure the original is untouched and the temporary file gone.

JSON has no NaN or Infinity (Python's ``json`` writes them unless told not to, and other
readers refuse the file), so ``json_text`` refuses a non-finite number, naming where it is.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from pathlib import Path


def atomic_write(path, data: bytes | str, what: str = "file") -> Path:
    """Write ``data`` (text is written as UTF-8) to ``path`` atomically; returns the path.

    ``what`` names what is being written ("model", "HTML page", "picture") in every error:
    a directory that does not exist (``FileNotFoundError``), a target that is a directory
    (``IsADirectoryError``), and any other ``OSError`` (a full disk, a read-only file system,
    no permission), which keeps its type and errno.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {what} to {path}: directory {path.parent} "
                                "does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {what} to {path}: it is a directory")
    if isinstance(data, str):
        data = data.encode("utf-8")
    # A short prefix keeps the temporary name legal wherever the target name is.
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:32]}.", suffix=".tmp")
    except OSError as e:
        raise _naming(e, what, path) from e
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _naming(e, what, path) from e
        raise
    return path


def _naming(error: OSError, what: str, path: Path) -> OSError:
    """``error`` again, of the same type, saying what could not be written where."""
    message = f"cannot write {what} to {path}: {error.strerror or error}"
    return type(error)(error.errno, message) if error.errno else type(error)(message)


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; put it straight back
    os.umask(mask)
    return mask


def non_finite_numbers(value) -> list[str]:
    """The dotted paths (``layers.0.w.3``: keys and list indices) of the numbers in the
    JSON-ready ``value`` that are not finite: NaN, ±Infinity, and integers too large for a
    float. In the order they are written; iterative, so any depth is fine."""
    found, stack = [], [("", value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, (list, tuple)):
            try:  # a flat list of finite numbers (a layer's weights) in one C-speed pass
                if all(map(math.isfinite, v)):
                    continue
            except (TypeError, OverflowError):
                pass
            items = list(enumerate(v))
        elif isinstance(v, dict):
            items = list(v.items())
        else:
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and not _finite(v):
                found.append(path)
            continue
        stack.extend((f"{path}.{k}" if path else str(k), x) for k, x in reversed(items))
    return found


def _finite(x) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # an int beyond 1.8e308
        return False


def some(names: list[str], shown: int = 3) -> str:
    """The first ``shown`` names and how many more: ``a, b, c and 81 more``."""
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def not_finite(names: list[str], kind: str = "number") -> str:
    """``names`` said as numbers that are not finite: ``1 weight is not finite (NaN or
    ±Infinity): w.3`` or ``84 numbers are not finite …: a, b, c and 81 more``."""
    many = len(names) != 1
    return (f"{len(names)} {kind}{'s' * many} {'are' if many else 'is'} not finite (NaN or "
            f"±Infinity): {some(names)}")


def json_text(value, what: str = "file", **kwargs) -> str:
    """``json.dumps(value, allow_nan=False, **kwargs)``: strict JSON. A number that is not
    finite is one ``ValueError`` saying which (``what``: what is being written)."""
    bad = non_finite_numbers(value)
    if bad:
        raise ValueError(f"cannot write {what} as JSON: {not_finite(bad)}")
    return json.dumps(value, allow_nan=False, **kwargs)


class DuplicateKeyError(ValueError):
    """A JSON object names one key twice: a person reads the first value, ``json`` the last."""


def strict_loads(text: str):
    """``json.loads`` that refuses an object naming a key twice (``DuplicateKeyError``,
    naming the key). NaN and Infinity are read as floats: check with
    :func:`non_finite_numbers`, which says where they are."""
    return json.loads(text, object_pairs_hook=_unique)


def _unique(pairs: list) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise DuplicateKeyError(f"the key {json.dumps(key)} appears twice")
    return obj
