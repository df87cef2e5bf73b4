"""python -m engine.viz: see engine/viz/cli.py."""

from engine.console import run
from engine.viz.cli import main

run(main)
