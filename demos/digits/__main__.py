"""python -m demos.digits: see demos/digits/cli.py."""

from demos.digits.cli import main
from engine.console import run

run(main)
