"""``glassgrad``: one command for everything the project runs (``glassgrad --help``).

    glassgrad digits …        python -m demos.digits …
    glassgrad how-it-works …  python -m demos.how_it_works …
    glassgrad studio …        python -m demos.studio …
    glassgrad viz …           python -m engine.viz …
    glassgrad walkthrough     python -m demos.walkthrough
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from engine import __version__
from engine.system.console import resolve, run


@dataclass(frozen=True)
class Command:
    """One of glassgrad's commands: the ``main(argv, prog)`` it runs, named as
    ``"module:function"`` (imported only when it runs), its ``python -m`` module, and what it
    does in a line."""

    main: str
    module: str
    words: str

    def __call__(self, argv: list[str], prog: str) -> int:
        return resolve(self.main)(argv, prog=prog)


COMMANDS: dict[str, Command] = {
    "digits": Command("demos.digits.cli:main", "demos.digits",
                      "train a network of Values to read handwritten digits; "
                      "'glassgrad digits predict' asks it about one image"),
    "how-it-works": Command("demos.how_it_works.cli:main", "demos.how_it_works",
                            "the explainer's four steps of backprop, drawn from a real "
                            "network, and an explorer to click through them"),
    "studio": Command("demos.studio.cli:main", "demos.studio",
                      "draw a digit in the browser, watch the network read it, teach it your "
                      "handwriting (needs the [studio] extra)"),
    "viz": Command("engine.viz.cli:main", "engine.viz",
                   "draw an expression's graph with every value and grad, step through it, "
                   "practise it: glassgrad viz 'tanh(a*b + c)' a=2 b=-3 c=10 -o g.svg"),
    "walkthrough": Command("demos.walkthrough:main", "demos.walkthrough",
                           "one neuron, forward and backward, step by step"),
}


def usage() -> str:
    """``glassgrad --help``: every command with what it does."""
    width = max(map(len, COMMANDS))
    lines = ["usage: glassgrad COMMAND [ARGS…]   (glassgrad COMMAND --help for its flags)",
             "       glassgrad --version", "", "commands:"]
    lines += [f"  {name:<{width}}  {c.words}" for name, c in COMMANDS.items()]
    return "\n".join(lines)


def demos_list() -> str:
    """``python -m demos``: the demos' ``python -m`` forms, from the same table."""
    demos = {c.module: c.words for c in COMMANDS.values() if c.module.startswith("demos.")}
    width = max(map(len, demos)) + len("python -m ")
    return "\n".join(["glassgrad demos:"] + [f"  {'python -m ' + module:<{width}}  {words}"
                                            for module, words in demos.items()])


def main(argv=None) -> int:
    """Run ``glassgrad COMMAND ARGS…``; the command's usage lines say ``glassgrad COMMAND``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(f"glassgrad {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"glassgrad: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return COMMANDS[name](rest, prog=f"glassgrad {name}")


def entry() -> None:
    """The console script's entry point (pyproject's [project.scripts])."""
    run(main)
