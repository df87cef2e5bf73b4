"""The stepper page's find index: where each thing a learner may look for is stepped.

A neuron (an output too), a weight, an input or any node drawn on its own is found by its name
or by clicking its box, and the page goes to one of its steps. In the forward pass that is the
step that computes it (for a leaf, which computes nothing, the first step that reads it; for a
neuron, its first step); in the backward pass, the step where its grad is complete: an op's
own step, which passes that grad on, or a leaf's last share, added by the last step reading it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.neuron import FoundNeuron
from engine.node import Node
from engine.text import NodeNames


def find_index(step_nodes: Sequence[Node], forward: int,
               neurons: Sequence[tuple[FoundNeuron, str, str]], names: NodeNames,
               drawn: Callable[[Node], list[str]]) -> list[list]:
    """[[name, forward step, backward step, [drawn group ids]], …] for the page whose steps are
    about ``step_nodes`` (the first ``forward`` of them the forward pass), steps counted from
    0 and −1 for none. First each collapsed neuron by its name, then by its engine label
    (``neurons``: (neuron, name, label) in the page's order); then every other node but a
    constant and a neuron's inner part, named by ``names``: a neuron's weights and bias (by
    their names, then as the neuron's steps say them, "hidden layer 1, neuron 5: w.14", when
    ``names`` knows its parts' short names), the inputs, a loss's parts. A constant is not
    found: it is drawn where it is used."""
    made: dict[Node, int] = {}
    first_read: dict[Node, int] = {}
    for i, node in enumerate(step_nodes[:forward]):
        made[node] = i
        for parent in node.parents:
            first_read.setdefault(parent, i)
    passed_on: dict[Node, int] = {}
    last_share: dict[Node, int] = {}
    for i, node in enumerate(step_nodes[forward:], start=forward):
        passed_on.setdefault(node, i)
        for parent in node.parents:
            last_share[parent] = i
    owner = {m: n for n, _, _ in neurons for m in n.members}
    called = {n: name for n, name, _ in neurons}
    found: list[list] = []
    for n, name, label in neurons:
        ops = [m for m in n.members if m.parents]
        where = [min((made[m] for m in ops if m in made), default=-1),
                 min((passed_on[m] for m in ops if m in passed_on), default=-1)]
        found.append([name, *where, [f"g-neuron{n.index}"]])
        if label:
            found.append([label, *where, []])
    for node in made:
        if node.op == "const" or (node in owner and node.parents):
            continue
        if node.parents:
            where = [made[node], passed_on.get(node, -1)]
        else:
            where = [first_read.get(node, made[node]), last_share.get(node, -1)]
        found.append([names(node), *where, [] if node in owner else drawn(node)])
        if not node.parents and node in owner:  # a weight or bias as its neuron's steps say it
            short = names.parts.get(node)
            if short is not None:
                found.append([f"{called[short[0]]}: {short[1]}", *where, []])
    return found
