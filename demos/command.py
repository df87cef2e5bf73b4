"""``glassgrad``: one command for everything the project runs (``glassgrad --help``).

    glassgrad digits …        python -m demos.digits …
    glassgrad how-it-works …  python -m demos.how_it_works …
    glassgrad studio …        python -m demos.studio …
    glassgrad viz …           python -m engine.viz …
    glassgrad walkthrough     python -m demos.walkthrough
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from engine.console import run


def _digits(argv):
    from demos.digits.cli import main  # each command imports only what it runs

    return main(argv)


def _how_it_works(argv):
    from demos.how_it_works.cli import main

    return main(argv)


def _studio(argv):
    from demos.studio.cli import main

    return main(argv)


def _viz(argv):
    from engine.viz.cli import main

    return main(argv)


def _walkthrough(argv):
    from demos.walkthrough import main

    return main(argv)


COMMANDS: dict[str, tuple[Callable, str]] = {
    "digits": (_digits, "train a network of Values to read handwritten digits; "
                        "'glassgrad digits predict' asks it about one image"),
    "how-it-works": (_how_it_works, "the explainer's four steps of backprop, drawn from a "
                                    "real network, and an explorer to click through them"),
    "studio": (_studio, "draw a digit in the browser, watch the network read it, teach it "
                        "your handwriting (needs the [studio] extra)"),
    "viz": (_viz, "draw an expression's graph with every value and grad, step through it, "
                  "practise it: glassgrad viz 'tanh(a*b + c)' a=2 b=-3 c=10 -o g.svg"),
    "walkthrough": (_walkthrough, "one neuron, forward and backward, step by step"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: glassgrad COMMAND [ARGS…]   (glassgrad COMMAND --help for its flags)",
             "", "commands:"]
    lines += [f"  {name:<{width}}  {words}" for name, (_, words) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"glassgrad: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return COMMANDS[name][0](rest)


def entry() -> None:
    """The console script's entry point (pyproject's [project.scripts])."""
    run(main)
