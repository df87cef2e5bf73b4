"""Every op with a kink or a pole has an exactness rule beside it (engine.compiler.exactness).

The kinks and poles are found from each op's own maths, not from a list: every input of every
op of the table is probed around 0 and around the ends of its smooth domain, on both sides,
with the other inputs at 0 and at a number away from every edge. A local derivative that
jumps across a point is a kink (the op's rule must have ``kink``); a result or a local
derivative that turns ±∞ or nan near a point is a pole or a nan edge (the op's rule must list
that input in ``poles``).
"""

import numpy as np
import pytest

from engine import OPS
from engine.compiler import exactness as exactness_module
from engine.compiler.exactness import EXACTNESS, Exactness, exactness

STEP = 1e-9  # how far to each side of a point: far below any smooth derivative's change
AWAY = 0.75  # the other inputs' number where they are not at an edge


def _arity(op) -> int:
    return 3 if op.arity < 0 else op.arity


def _args(op) -> list:
    return list(op.examples) if op.takes_arg else [None]


def _centres(op, i: int) -> list[float]:
    """Where to look for an edge of input i: 0 and the ends of its smooth domain."""
    domain = op.domain[min(i, len(op.domain) - 1)] if op.domain else ()
    return sorted({0.0, *domain})


def _at(op, inputs: list[float], arg):
    """The op's result and local derivatives at ``inputs``, as floats."""
    out = op.compute(inputs, arg)
    return [float(out), *(float(d) for d in op.derivatives(out, inputs, arg))]


def _edges(op, arg) -> tuple[set[int], set[int]]:
    """(inputs across which a local derivative jumps, inputs near which the result or a
    local derivative is not finite), probed on both sides of every centre."""
    kinks, poles = set(), set()
    n = _arity(op)
    for i in range(n):
        for others in (0.0, AWAY):
            for centre in _centres(op, i):
                sides = []
                for x in (centre - STEP, centre, centre + STEP):
                    inputs = [others] * n
                    inputs[i] = x
                    sides.append(_at(op, inputs, arg))
                numbers = np.array(sides)
                if not np.isfinite(numbers).all():
                    if others == AWAY:  # an input at 0 elsewhere may be the pole, not this one
                        poles.add(i)
                    continue
                grads = numbers[:, 1:]
                spread = grads.max(axis=0) - grads.min(axis=0)
                if np.any(spread > 1e-3 * (1.0 + np.abs(grads).max(axis=0))):
                    kinks.add(i)
    return kinks, poles


def _missing(rules: dict) -> list[str]:
    missing = []
    for name, op in OPS.items():
        if op.arity == 0:
            continue
        rule = rules.get(name, Exactness())
        for arg in _args(op):
            kinks, poles = _edges(op, arg)
            if kinks and rule.kink is None:
                missing.append(f"{name} (arg {arg}) has a kink at inputs {sorted(kinks)} "
                               "but no kink rule")
            unlisted = poles - set(rule.poles_for(arg))
            if unlisted:
                missing.append(f"{name} (arg {arg}) has a pole or nan edge at inputs "
                               f"{sorted(unlisted)} its rule does not list")
    return missing


def test_every_op_with_a_kink_or_a_pole_has_an_exactness_rule():
    assert not _missing(EXACTNESS)


@pytest.mark.parametrize("removed", ["relu", "abs", "max", "div", "log", "pow"])
def test_the_probe_finds_a_removed_rule(removed):
    rules = {name: rule for name, rule in EXACTNESS.items() if name != removed}
    assert any(line.startswith(f"{removed} ") for line in _missing(rules))


def test_the_probe_finds_the_kinks_and_poles_of_the_maths():
    assert _edges(OPS["relu"], None) == ({0}, set())
    assert _edges(OPS["max"], None)[0] == {0, 1, 2}
    assert _edges(OPS["div"], None)[1] == {1}
    assert _edges(OPS["log"], None)[1] == {0}
    assert _edges(OPS["pow"], 0.5)[1] == {0} and _edges(OPS["pow"], 2.0) == (set(), set())
    assert _edges(OPS["tanh"], None) == (set(), set())
    assert _edges(OPS["mul"], None) == (set(), set())


def test_an_op_without_a_rule_has_none():
    rule = exactness("an op with no rule")
    assert rule.carry is None and rule.kink is None and not rule.library
    assert rule.poles_for(2.0) == () and rule is exactness_module.NO_RULE
