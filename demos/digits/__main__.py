"""python -m demos.digits: see demos/digits/cli.py."""

from engine.console import run

run("demos.digits.cli:main")  # imported inside run: Ctrl-C while it loads is one line too
