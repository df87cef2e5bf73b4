"""Running a command: a failure of the file system is one line on stderr and exit 1, Ctrl-C
is one line and exit 130 (as a shell reports a command SIGINT stopped), and a reader that
stops early (``… | head``) ends the command quietly."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable


def message(error: OSError) -> str:
    """An OSError in one line that names the path: ``cannot …: …`` as the engine says it, or
    ``/proc/nope: No such file or directory``."""
    if error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def run(main: Callable[[], int] | str) -> None:
    """Run ``main()`` and exit with its code (the ``python -m`` entry points use this).

    ``main`` may be named as ``"package.module:function"``: it is then imported inside, so
    that Ctrl-C while a command's libraries load is the same one line as Ctrl-C later.
    """
    try:
        code = resolve(main)()
        sys.stdout.flush()  # a closed pipe shows here, while it can still be caught
    except (KeyboardInterrupt, ImportError) as e:
        # Ctrl-C while a C extension module initialises (matplotlib's Agg backend, as a plot
        # is first drawn) comes out as the ImportError it caused; any other ImportError is not
        # a Ctrl-C and goes on as it is.
        if isinstance(e, ImportError) and not isinstance(e.__cause__, KeyboardInterrupt):
            raise
        # One line, never a traceback; the file writers leave no half-written files behind.
        print("\ninterrupted", file=sys.stderr, flush=True)
        code = 130
    except BrokenPipeError:
        # The reader has gone: send what is left nowhere (so that Python's own flush at exit
        # does not fail again) and stop, as `head` expects.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 1
    except OSError as e:
        print(f"error: {message(e)}", file=sys.stderr)
        code = 1
    raise SystemExit(code)


def resolve(main: Callable[..., int] | str) -> Callable[..., int]:
    """``main`` itself, or the function a ``"package.module:function"`` name names
    (importing that module when called)."""
    if callable(main):
        return main
    module, _, name = main.partition(":")
    return getattr(importlib.import_module(module), name)
