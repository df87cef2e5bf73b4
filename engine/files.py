"""``atomic_write``: the one way the project writes a file.

The bytes go to a temporary file in the target's directory, are flushed to disk (fsync), and
the temporary file is renamed over the target: a reader sees the old file or the new one,
never half of one, and on any failure the original is untouched and the temporary file gone.
"""

from __future__ import annotations

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
