"""python -m engine.viz: see engine/viz/cli.py."""

from engine.viz.cli import main

raise SystemExit(main())
