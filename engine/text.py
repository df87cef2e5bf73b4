"""How nodes and steps are written: one naming scheme, read by the step-through, the drawings,
the backward frames and the HTML stepper alike, so whatever the text says, the picture shows.

A node is called by the name its picture gives it if it has one (a collapsed drawing names the
parts of a neuron after the neuron: "hidden layer 2, neuron 0: z"), else by its label; a
constant by its number; any other node ``v`` followed by its position in the topological order
of the graph being shown (``v4``). At a step inside a neuron, once the page has named that
neuron, its parts go by short names (``z``, ``product 14``, ``w.14``; :meth:`NodeNames.inside`).
What an op looks like as text (``a × b``, ``∂o/∂e = 1 − o²``) comes from its row of the op table.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from engine.node import Node
from engine.ops import OPS, FormulaNames


class NodeNames:
    """The names of the nodes of one graph, given its topological ``order`` and the names
    its picture ``gives`` some of them (which win over labels): call it on a node. ``parts``
    gives a neuron's parts their (neuron, short name), used by :meth:`inside`. The positions
    are counted once, on the first unnamed node asked for."""

    def __init__(self, order: list[Node], gives: Mapping[Node, str] | None = None,
                 parts: Mapping[Node, tuple[object, str]] | None = None):
        self.order = order
        self.gives = gives or {}
        self.parts = parts or {}
        self.within: object | None = None  # the neuron whose parts go by their short names
        self._index: dict[Node, int] = {}  # shared with the views of inside()
        self._views: dict[object, NodeNames] = {None: self}  # by neuron, None for none

    def inside(self, neuron: object | None) -> NodeNames:
        """These names at a step inside ``neuron`` (None: outside every neuron): its parts by
        their short names, as a teacher writes them once the neuron is named ("z", not
        "hidden layer 1, neuron 9: z"); every other node, another neuron too, as before."""
        view = self._views.get(neuron)
        if view is None:
            view = copy.copy(self._views[None])  # shares the positions and the views
            view.within = neuron
            self._views[neuron] = view
        return view

    def __call__(self, node: Node) -> str:
        part = self.parts.get(node)
        if part is not None and part[0] is self.within:
            return part[1]
        given = self.gives.get(node)
        if given is not None:
            return given
        if node.label:
            return node.label
        if node.op == "const":
            return f"{node.data:g}"
        if not self._index:
            self._index.update((n, i) for i, n in enumerate(self.order))
        return f"v{self._index[node]}"


def neuron_name(layer: int, neuron: int, layers: int, output: str | None = None) -> str:
    """The one name of a network's neuron, used by every page and drawing: neuron ``neuron``
    (counted from 0) of ``layer`` (counted from 1, the first layer of neurons) in a network of
    ``layers`` layers of neurons. "hidden layer 2, neuron 5" (nn's ``layers.1.neurons.5``), or
    in the last layer "output '3'" (``output``: the class it stands for) or "output 3"."""
    if layer < layers:
        return f"hidden layer {layer}, neuron {neuron}"
    return f"output {neuron}" if output is None else f"output '{output}'"


def neuron_label(params) -> str:
    """The engine's label of a neuron, from its parameters' labels: the longest dotted prefix
    they share (``layers.1.neurons.5`` for ``layers.1.neurons.5.w.0`` … and ``….b``), or ""
    when some are unlabelled or they share none."""
    if not params or any(not p.label for p in params):
        return ""
    labels = [p.label.split(".") for p in params]
    shared: list[str] = []
    for parts in zip(*labels, strict=False):
        if len(set(parts)) > 1:
            break
        shared.append(parts[0])
    if len(labels) == 1:  # a lone weight, no bias: its module is its label less ".w.0"
        shared = labels[0][:-2]
    return ".".join(shared)


def describe(node: Node) -> str:
    """A node for an error message: its label and value, or its op and value."""
    if node.label:
        return f"{node.label!r} ({node.data!r})"
    if node.op == "const":
        return f"constant {node.data!r}"
    return f"{node.op or 'leaf'} node ({node.data!r})"


def formula_names(node: Node, names) -> FormulaNames:
    """The names ``node``'s formulas are written in: its own, its inputs' and its arg."""
    arg = f"{node.arg:g}" if OPS[node.op].takes_arg else ""
    return FormulaNames(names(node), tuple(names(p) for p in node.parents), arg)


def formula(node: Node, names) -> str:
    """How ``node`` was computed, in ``names``: ``a × b``, ``tanh(e)``, ``w0·x0 + w1·x1 + b``."""
    return OPS[node.op].write(formula_names(node, names))


def forward_text(node: Node, index: int, total: int, names) -> str:
    """One forward step: ``forward 3 of 5: d = a × b = -6`` (or ``a = 2 (a leaf)``)."""
    if not node.parents:
        return f"forward {index} of {total}: {names(node)} = {node.data + 0.0:.4g} (a leaf)"
    # (+ 0.0: a −0.0 is written 0, as everywhere)
    return (f"forward {index} of {total}: {names(node)} = {formula(node, names)} = "
            f"{node.data + 0.0:.4g}")


def _is_number(text: str) -> bool:
    try:
        float(text.replace("−", "-"))  # a rule written "−1" is the number −1
    except ValueError:
        return False
    return True


def step_text(step) -> str:
    """A backward step (:class:`engine.autodiff.Step`) as the chain rule with its numbers::

        step 3 of 3: d = a × b = -6, d.grad = 0.7864
          ∂d/∂a = b = -3                a.grad += 0.7864 × -3 = -2.359  → -2.359

    one line per input that needs a grad (a constant needs none, so it gets no line).
    """
    node, names = step.node, step.names
    n = names(node)
    lines = [f"step {step.index} of {step.total}: {n} = {formula(node, names)} = "
             f"{node.data + 0.0:.4g}, {n}.grad = {step.grad + 0.0:.4g}"]
    row, words = OPS[node.op], formula_names(node, names)
    for i, (parent, local, new) in enumerate(
            zip(node.parents, step.local_grads, step.parent_grads, strict=True)):
        if parent.op == "const":
            continue
        added = step.grad * local
        # Relative to the numbers of its line, 1e-12 of them is rounding: written 0.
        scale = max(abs(step.grad), abs(local), abs(added), abs(new))
        p, rule, value = names(parent), row.write_grad(i, words), _number(local, scale)
        shown = rule == value or _is_number(rule)  # "∂v/∂x = 0.333333" says it already
        derivative = f"∂{n}/∂{p} = {rule}" + ("" if shown else f" = {value}")
        lines.append(f"  {derivative:<28}  {p}.grad += {_number(step.grad, scale)} × {value}"
                     f" = {_number(added, scale)}  → {_number(new, scale)}")
    return "\n".join(lines)


def _number(x: float, scale: float) -> str:
    """``x`` to 4 significant digits; 0 if within 1e-12·scale of it (never "-0")."""
    return "0" if abs(x) <= 1e-12 * scale else f"{x + 0.0:.4g}"
