"""``python -m demos.studio``: see :mod:`demos.studio.cli`."""

from demos.studio.cli import main
from engine.console import run

run(main)
