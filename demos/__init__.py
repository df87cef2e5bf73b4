"""Runnable demos: ``python -m demos.walkthrough``.

Imported before any demo runs (``python -m demos.digits`` imports this package first), so a
learner's own ``engine.py`` or ``nn.py`` in the folder is named here, before a demo trips on it:
as one line when a command is starting (``python -m`` or the ``glassgrad`` script), as an
ImportError when code imports the demos.
"""

import sys
from pathlib import Path

try:
    from glassgrad import origin as _origin  # noqa: F401 - it checks when imported
except (ImportError, KeyboardInterrupt) as _error:
    # While python -m finds the module, sys.argv[0] is "-m" (documented for -m).
    if Path(sys.argv[0]).name not in ("-m", "glassgrad"):
        raise
    interrupted = isinstance(_error, KeyboardInterrupt)
    print("\ninterrupted" if interrupted else f"error: {_error}", file=sys.stderr)
    raise SystemExit(130 if interrupted else 1) from None
