"""``python -m engine.viz "tanh(a*b + c)" a=2 b=-3 c=10 -o graph.svg``: draw an expression."""

from __future__ import annotations

import argparse
import sys

from engine.autodiff import backward_steps, topological_order
from engine.practice import exercises, practice
from engine.system.console import message
from engine.system.files import atomic_write
from engine.viz.dot import draw_dot
from engine.viz.expr import FUNCTIONS, ExpressionError, build
from engine.viz.html import export_html
from engine.viz.render import GraphvizMissingError, backward_frames, render


def assignment(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, got {text!r}")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: expected a number, got {value!r}") from None


def parser(prog: str = "python -m engine.viz") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Build an expression from Values, backpropagate through it and draw its "
                    "graph with every value and grad. Example: "
                    f'{prog} "tanh(a*b + c)" a=2 b=-3 c=10 -o graph.svg')
    p.add_argument("expression", help="numbers, names, + - * / ** and the functions "
                                      + ", ".join(FUNCTIONS))
    p.add_argument("values", nargs="*", type=assignment, metavar="NAME=NUMBER",
                   help="a value for each name in the expression")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the graph to FILE (.svg, .png, .pdf or .dot)")
    p.add_argument("--html", metavar="FILE",
                   help="write one self-contained page to step through the forward and "
                        "backward pass in any browser")
    p.add_argument("--frames", metavar="DIR",
                   help="write one picture per backward step to DIR (step_001.svg, ...)")
    p.add_argument("--format", choices=["svg", "png", "pdf"], default="svg",
                   help="format of the frames (default: %(default)s)")
    p.add_argument("--rankdir", choices=["LR", "TB"], default="LR",
                   help="left to right or top to bottom (default: %(default)s)")
    p.add_argument("--no-local-derivatives", action="store_true",
                   help="do not label edges with the local derivatives")
    p.add_argument("--steps", action="store_true",
                   help="also print each backward step (the chain rule with numbers)")
    p.add_argument("--practice", action="store_true",
                   help="before anything is shown, work the backward pass out yourself: each "
                        "local derivative and grad is asked, checked and explained")
    p.add_argument("--exercises", metavar="FILE",
                   help="write the backward pass as a sheet of exercises with the answers "
                        "(Markdown), for a class")
    return p


def main(argv=None, prog: str = "python -m engine.viz") -> int:
    p = parser(prog)
    args = p.parse_args(argv)
    values = dict(args.values)
    if len(values) != len(args.values):
        names = [name for name, _ in args.values]
        twice = sorted({n for n in names if names.count(n) > 1})
        p.error(f"argument NAME=NUMBER: {', '.join(twice)} given twice")
    try:
        out = build(args.expression, values)
    except ExpressionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.practice:
        practice(out)
    for step in backward_steps(out):
        if args.steps:
            print(step)
    print(f"{out.label} = {out.data:.6g}")
    leaves = {v.label: v for v in _leaves(out)}
    for name in values:
        print(f"∂{out.label}/∂{name} = {leaves[name].grad:.6g}")
    options = {"rankdir": args.rankdir, "local_derivatives": not args.no_local_derivatives}
    try:
        if args.output:
            print(f"wrote {render(draw_dot(out, color_grads=True, **options), args.output)}")
        if args.html:
            print(f"wrote {export_html(out, args.html, title=args.expression)}")
        if args.frames:
            paths = backward_frames(out, args.frames, format=args.format, **options)
            print(f"wrote {len(paths)} frame{'s' * (len(paths) != 1)} to "
                  f"{args.frames.rstrip('/')}/")
        if args.exercises:
            sheet = exercises(out, title=f"Backpropagation through {args.expression}")
            print(f"wrote {atomic_write(args.exercises, sheet, 'exercise sheet')}")
    except GraphvizMissingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a path that cannot be written: one line naming it
        print(f"error: {message(e)}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _leaves(out):
    return [v for v in topological_order(out) if not v.parents and v.op != "const"]
