"""``python -m demos.studio``: see :mod:`demos.studio.cli`."""

from engine.system.console import run

run("demos.studio.cli:main")  # imported inside run: Ctrl-C while it loads is one line too
