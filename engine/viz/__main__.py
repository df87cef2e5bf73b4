"""python -m engine.viz: see engine/viz/cli.py."""

from engine.system.console import run

run("engine.viz.cli:main")  # imported inside run: Ctrl-C while it loads is one line too
