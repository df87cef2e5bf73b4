"""A five-minute tour of the engine: one neuron, forward, backward step by step, checks.

Run it with ``python -m demos.walkthrough``.
"""

from __future__ import annotations

import argparse

import engine
from engine import Value, backward_steps, grad, gradcheck


def neuron():
    """One tanh neuron with two inputs: o = tanh(x1·w1 + x2·w2 + b), as a graph of Values."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")  # chosen so that o comes out at 1/√2
    x1w1 = x1 * w1
    x1w1.label = "x1w1"
    x2w2 = x2 * w2
    x2w2.label = "x2w2"
    n = engine.sum([x1w1, x2w2, b])  # one Σ node with three inputs, as a neuron uses
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, [x1, x2, w1, w2, b]


def main(argv=None, prog: str = "python -m demos.walkthrough") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Build one neuron, step through its backward pass and check the grads.")
    parser.parse_args(argv)

    print("1. Forward: every operation becomes a node that remembers its inputs.\n")
    o, leaves = neuron()
    print(f"   o = tanh(x1·w1 + x2·w2 + b) = {o.data:.4f}")
    print(f"   o was made by op {o.op!r} from {[p.label for p in o.parents]}\n")

    print("2. Backward, one node at a time (each step is the chain rule with numbers):\n")
    for step in backward_steps(o):
        print("   " + repr(step).replace("\n", "\n   "))
    print()

    print("3. The grads: how much o changes per unit change of each input.\n")
    for v in leaves:
        print(f"   ∂o/∂{v.label:<3} = {v.grad:+.4f}")
    print()

    print("4. Checked against central differences (f(x+h) − f(x−h)) / 2h:")
    ok = gradcheck(lambda x1, x2, w1, w2, b: engine.sum([x1 * w1, x2 * w2, b]).tanh(),
                   [v.data for v in leaves])
    print(f"   gradcheck: {'all grads agree' if ok else 'mismatch'}\n")

    print("5. Higher order: grads are Values too, so they can be differentiated again.")
    x = Value(0.5, label="x")
    (dy,) = grad(x.tanh(), [x], create_graph=True)
    (d2y,) = grad(dy, [x])
    print(f"   d/dx tanh(x) at 0.5 = {dy.data:.6f}   (1 − tanh² = "
          f"{1 - x.tanh().data ** 2:.6f})")
    print(f"   d²/dx² tanh(x) at 0.5 = {d2y:.6f}  (−2·tanh·(1 − tanh²) = "
          f"{-2 * x.tanh().data * (1 - x.tanh().data ** 2):.6f})")
    return 0


if __name__ == "__main__":
    from engine.system.console import run

    run(main)
