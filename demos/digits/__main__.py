"""python -m demos.digits: see demos/digits/cli.py."""

from engine.system.console import run

run("demos.digits.cli:main")  # imported inside run: Ctrl-C while it loads is one line too
