"""python -m demos.how_it_works: see demos/how_it_works/cli.py."""

from demos.how_it_works.cli import main
from engine.console import run

run(main)
