"""python -m demos.how_it_works: see demos/how_it_works/cli.py."""

from engine.system.console import run

run("demos.how_it_works.cli:main")  # imported inside run: Ctrl-C while it loads is one line too
