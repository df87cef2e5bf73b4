"""Draw a computation graph with Graphviz: every value with its data and grad.

Each value is a record ``label | data | grad``; each op is its own small node between its
inputs and its result (micrograd's look). What an op is called and what its local derivatives
are come from the op table, like everything else. Node ids follow the topological order, so
the same graph always gives the same DOT text.

Large graphs (a digit network's loss has thousands of nodes) are drawn collapsed: each neuron
(a Σ node fed by weight × input products and a bias, and the activation on top of it) becomes
one node showing its Σ, activation, value and grad, and each layer becomes a cluster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import graphviz

from engine.autodiff import local_grads, topological_order
from engine.ops import OPS, split_wsum
from engine.value import Value

COLLAPSE_ABOVE = 250  # nodes: above this, collapse="auto" draws neurons as single nodes
FULL_LIMIT = 3000  # nodes: drawing more in full is refused (dot would take minutes)

# Kinds of value are told apart by border and shape, so that the fill can show the grad:
# leaves you made (blue border), parameters (gold border, rounded), constants (dashed grey).
STYLE = {
    "leaf": {"fillcolor": "#e3f0ff", "color": "#3c78b4", "penwidth": "1.4"},
    "param": {"fillcolor": "#fff3c4", "color": "#c49000", "penwidth": "1.4",
              "shape": "Mrecord"},
    "const": {"fillcolor": "#f2f2f2", "color": "#9a9a9a", "fontcolor": "#555555"},
    "value": {"fillcolor": "white"},
    "op": {"shape": "circle", "fillcolor": "#ededed", "fontsize": "11", "width": "0.45",
           "fixedsize": "true"},
    "highlight": {"color": "#ff7f0e", "penwidth": "3"},
}
POSITIVE, NEGATIVE = (33, 102, 172), (178, 24, 43)  # blue, red (ColorBrewer RdBu ends)


class GraphTooLargeError(ValueError):
    """The graph has too many nodes to draw in full."""


def _fmt(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 1e4 and (x == 0 or abs(x) >= 1e-3) else f"{x:.3e}"


def _escape(text: str) -> str:
    """Escape the characters that are special inside a Graphviz record label."""
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text


def _grad_colour(g: float, scale: float) -> str:
    """Blue for a positive grad, red for a negative one, stronger for a larger |grad|."""
    if not math.isfinite(g):
        return "#ffd6e0"
    t = 0.0 if scale == 0 else min(1.0, abs(g) / scale) ** 0.5
    r, gr, b = POSITIVE if g > 0 else NEGATIVE
    mix = [round(255 + (c - 255) * 0.75 * t) for c in (r, gr, b)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


@dataclass
class Neuron:
    """A neuron found in the graph: Σ(w·x) + b, and the activation applied to it (if any)."""

    index: int
    layer: int
    total: Value  # the Σ node
    out: Value  # the activation node, or the Σ node for a linear neuron
    members: list[Value] = field(default_factory=list)  # the nodes it stands for
    inputs: list[Value] = field(default_factory=list)  # the x of each w·x
    params: list[Value] = field(default_factory=list)  # weights and bias


def _neuron_parts(node: Value):
    """(weights, inputs, bias, product nodes) if ``node`` is a neuron's pre-activation as
    ``nn.Neuron`` builds it, else None: a Σ node of products w·x with leaf weights and a bias
    leaf last, or (``fused=True``) one ``wsum`` node reading (w₁, x₁, …, b)."""
    parents = node.parents
    if len(parents) < 2 or parents[-1].parents:
        return None
    if node.op == "sum":
        products = parents[:-1]
        if not all(m.op == "mul" and not m.parents[0].parents for m in products):
            return None
        return [m.parents[0] for m in products], [m.parents[1] for m in products], \
            parents[-1], list(products)
    if node.op == "wsum":
        weights, inputs, rest = split_wsum(parents)
        if not rest or any(w.parents for w in weights):
            return None
        return list(weights), list(inputs), rest[0], []
    return None


def find_neurons(order: list[Value]) -> list[Neuron]:
    """Neurons as ``nn.Neuron`` builds them (see ``_neuron_parts``), each with the one
    activation node reading only its pre-activation, if there is one."""
    consumers: dict[Value, list[Value]] = {}
    for node in order:
        for p in node.parents:
            consumers.setdefault(p, []).append(node)
    neurons, layer_of = [], {}
    for node in order:
        parts = _neuron_parts(node)
        if parts is None:
            continue
        weights, inputs, bias, products = parts
        users = consumers.get(node, [])
        act = users[0] if len(users) == 1 and users[0].op in ("relu", "tanh", "sigmoid") else None
        # A neuron's layer is one more than the deepest layer among the neurons it reads.
        layer = 1 + max((layer_of.get(x, 0) for x in inputs), default=0)
        out = act or node
        neuron = Neuron(len(neurons), layer, node, out,
                        [*products, *weights, bias, node] + ([act] if act else []),
                        inputs, [*weights, bias])
        layer_of[out] = layer
        neurons.append(neuron)
    return neurons


def resolve_collapse(order: list[Value], collapse) -> tuple[bool, list[Neuron]]:
    """Check ``collapse`` (True, False or "auto") and decide it for the graph ``order``:
    "auto" collapses above ``COLLAPSE_ABOVE`` nodes when there are neurons to collapse.
    Returns the decision and the neurons found."""
    if collapse not in (True, False, "auto"):
        raise ValueError(f"collapse must be True, False or 'auto', got {collapse!r}")
    neurons = find_neurons(order)
    if collapse == "auto":
        collapse = len(order) > COLLAPSE_ABOVE and bool(neurons)
    return collapse, neurons


def grad_field(g: float) -> str:
    """The grad part of a drawn value: ``grad 0.7864``."""
    return f"grad {_fmt(g)}"


def neuron_fields(n: Neuron) -> tuple[str, str]:
    """The Σ and activation parts of a collapsed neuron: ``Σ 0.2830``, ``relu → 0.2830``."""
    act = n.out.op if n.out is not n.total else "linear"
    return f"Σ {_fmt(n.total.data)}", f"{act} → {_fmt(n.out.data)}"


def draw_dot(root: Value, *, rankdir: str = "LR", local_derivatives: bool = False,
             color_grads: bool = False, highlight=(), params=None, collapse="auto",
             expand=(), known_grads=None, title: str | None = None) -> graphviz.Digraph:
    """The graph of everything ``root`` depends on, as a ``graphviz.Digraph``.

    - ``rankdir``: ``"LR"`` (inputs on the left) or ``"TB"``, ``"RL"``, ``"BT"``;
    - ``local_derivatives``: label each edge into an op with ∂out/∂input (from the op table);
    - ``color_grads``: fill each value by its grad, blue positive, red negative, deeper for
      larger |grad|;
    - ``highlight``: Values drawn with a thick orange border;
    - ``params``: Values to style as parameters (default: the weights and biases of the
      neurons found in the graph);
    - ``collapse``: ``True`` draws each neuron as one node and each layer as a cluster,
      ``False`` draws every node, ``"auto"`` collapses above 250 nodes;
    - ``expand``: in a collapsed drawing, neurons to draw in full (give any of their nodes);
    - ``known_grads``: if given, only these Values show a grad, the rest a blank (frames);
    - ``title``: a caption under the picture.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot needs a Value, got {type(root).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    order = topological_order(root)
    collapse, neurons = resolve_collapse(order, collapse)
    if not collapse and len(order) > FULL_LIMIT:
        raise GraphTooLargeError(
            f"{len(order):,} nodes are too many to draw in full (the limit is {FULL_LIMIT:,}): "
            "use collapse=True to draw each neuron as one node, or draw a smaller "
            "sub-expression" + ("" if neurons else " (no neurons were found to collapse)"))
    if expand and collapse:
        members = {m for n in neurons for m in n.members}
        strays = [v for v in expand if v not in members]
        if strays:
            raise ValueError(f"expand: {len(strays)} of the given nodes are not part of any "
                             "neuron found in the graph (draw them with collapse=False)")
    if params is None:
        params = {p for n in neurons for p in n.params}
    else:
        params = set(params)
    drawer = _Drawer(order, rankdir, local_derivatives, color_grads, set(highlight), params,
                     known_grads)
    if collapse:
        drawer.collapsed(neurons, expand, root)
    else:
        drawer.full(order)
    if title:
        drawer.dot.attr(label=title, labelloc="b", fontsize="12")
    return drawer.dot


class _Drawer:
    def __init__(self, order, rankdir, local_derivatives, color_grads, highlight, params,
                 known_grads):
        self.order = order
        self.ids = {node: f"n{i}" for i, node in enumerate(order)}
        self.local_derivatives = local_derivatives
        self.color_grads = color_grads
        self.highlight = highlight
        self.params = params
        self.known = None if known_grads is None else set(known_grads)
        self.owner: dict[Value, Neuron] = {}  # node → the collapsed neuron drawn for it
        finite = [abs(n.grad) for n in order if math.isfinite(n.grad)]
        self.scale = max(finite, default=0.0)
        self.dot = graphviz.Digraph("glassgrad", graph_attr={
            "rankdir": rankdir, "nodesep": "0.25", "ranksep": "0.35", "fontname": "Helvetica"},
            node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled"},
            edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"})

    # --- one value, one op ----------------------------------------------------------------

    def kind(self, node: Value) -> str:
        if node.op == "const":
            return "const"
        if not node.parents:
            return "param" if node in self.params else "leaf"
        return "value"

    def grad_text(self, node: Value) -> str:
        if self.known is not None and node not in self.known:
            return "grad  "
        return grad_field(node.grad)

    def value_node(self, graph, node: Value) -> None:
        kind = self.kind(node)
        attrs = {"shape": "record", **STYLE[kind]}  # a kind's own shape wins
        if kind == "const":
            whole = math.isfinite(node.data) and node.data == int(node.data)
            label = f"{node.data:g}" if whole else _fmt(node.data)
            attrs.update(shape="box", style="filled,dashed,rounded")
        else:
            parts = [_escape(node.label)] if node.label else []
            parts += [f"data {_fmt(node.data)}", self.grad_text(node)]
            label = "{ " + " | ".join(parts) + " }"
            shown = self.known is None or node in self.known
            if self.color_grads and shown:
                attrs["fillcolor"] = _grad_colour(node.grad, self.scale)
        if node in self.highlight:
            attrs.update(STYLE["highlight"])
        graph.node(self.ids[node], label, **attrs)

    def op_node(self, graph, node: Value) -> None:
        row = OPS[node.op]
        symbol = row.symbol
        if row.takes_arg:  # show the constant: **2, 2**
            symbol = f"**{node.arg:g}" if node.op == "pow" else f"{node.arg:g}**"
        attrs = dict(STYLE["op"])
        if node in self.highlight:
            attrs.update(STYLE["highlight"])
        graph.node(self.ids[node] + "_op", _escape(symbol), **attrs)
        graph.edge(self.ids[node] + "_op", self.ids[node])

    def tail(self, node: Value) -> str:
        """The drawn node an edge from ``node`` starts at: its own, or its neuron's."""
        owner = self.owner.get(node)
        return self.ids[node] if owner is None else self.neuron_id(owner)

    def input_edges(self, graph, node: Value) -> None:
        locals_ = local_grads(node) if self.local_derivatives else None
        for i, parent in enumerate(node.parents):
            attrs = {}
            if locals_ is not None:
                attrs["label"] = f"∂={_fmt(locals_[i])}"
            graph.edge(self.tail(parent), self.ids[node] + "_op", **attrs)

    # --- whole drawings -------------------------------------------------------------------

    def full(self, nodes) -> None:
        for node in nodes:
            self.value_node(self.dot, node)
            if node.parents:
                self.op_node(self.dot, node)
                self.input_edges(self.dot, node)

    def collapsed(self, neurons: list[Neuron], expand, root: Value) -> None:
        expand = set(expand)
        expanded = [n for n in neurons if expand & set(n.members)]
        in_neuron = {m for n in neurons for m in n.members}
        for n in neurons:
            if n not in expanded:
                self.owner.update((m, n) for m in n.members)
        n_layers = max((n.layer for n in neurons), default=0)
        read = {x for n in neurons for x in n.inputs}
        inputs = [x for x in self.order
                  if not x.parents and x.op != "const" and x not in in_neuron and x in read]
        summary = set(inputs) - {x for n in expanded for x in n.inputs}
        hidden = len(self.order)
        self.dot.attr(label=(
            f"Collapsed view: {hidden:,} nodes drawn as {len(neurons)} neurons in {n_layers} "
            f"layers ({len(expanded)} expanded). Expand one with draw_dot(root, "
            "expand=[a node of that neuron]) or draw every node with collapse=False."),
            labelloc="t", fontsize="12")

        # Inputs: one summary node (each x is drawn in full only inside an expanded neuron).
        if inputs:
            with self.dot.subgraph(name="cluster_inputs") as c:
                c.attr(label=f"inputs ({len(inputs)})", style="rounded", color="#bbbbbb")
                data = [x.data for x in inputs]
                grads = [x.grad for x in inputs]
                c.node("inputs", "{ " + f"{len(inputs)} values | data {_fmt(min(data))} … "
                       f"{_fmt(max(data))} | grad {_fmt(min(grads))} … {_fmt(max(grads))}"
                       + " }", shape="record", **STYLE["leaf"])
        for layer in range(1, n_layers + 1):
            with self.dot.subgraph(name=f"cluster_layer{layer}") as c:
                members = [n for n in neurons if n.layer == layer]
                c.attr(label=f"layer {layer} ({len(members)} neurons)", style="rounded",
                       color="#bbbbbb")
                for n in members:
                    if n in expanded:
                        self.full_neuron(c, n)
                    else:
                        self.neuron_node(c, n)
        # Edges between layers: one bundle per pair of layers, unless a neuron is expanded.
        self.dot.attr(compound="true")
        anchor = {0: "inputs"} if inputs else {}
        for layer in range(1, n_layers + 1):
            members = [n for n in neurons if n.layer == layer]
            anchor[layer] = self.neuron_id(members[0])
        for layer in range(1, n_layers + 1):
            members = [n for n in neurons if n.layer == layer]
            if layer - 1 in anchor:
                fan_in = len(members[0].inputs)
                self.dot.edge(anchor[layer - 1], anchor[layer],
                              ltail="cluster_inputs" if layer == 1 else f"cluster_layer{layer - 1}",
                              lhead=f"cluster_layer{layer}", penwidth="2",
                              label=f"{fan_in}×{len(members)} weights")
        # Everything after the neurons (a loss, say) is drawn node by node.
        for node in self.order:
            if node in in_neuron or node in summary:
                continue
            self.value_node(self.dot, node)
            if node.parents:
                self.op_node(self.dot, node)
                self.input_edges(self.dot, node)

    def neuron_id(self, neuron: Neuron) -> str:
        return f"neuron{neuron.index}"

    def neuron_node(self, graph, n: Neuron) -> None:
        total, act = neuron_fields(n)
        label = f"{{ neuron {n.index} | {total} | {act} | {self.grad_text(n.out)} }}"
        attrs = {"shape": "record", **STYLE["value"]}
        if self.color_grads and (self.known is None or n.out in self.known):
            attrs["fillcolor"] = _grad_colour(n.out.grad, self.scale)
        if self.highlight & set(n.members):
            attrs.update(STYLE["highlight"])
        graph.node(self.neuron_id(n), label, **attrs)

    def full_neuron(self, graph, n: Neuron) -> None:
        with graph.subgraph(name=f"cluster_neuron{n.index}") as c:
            c.attr(label=f"neuron {n.index} (expanded)", style="dashed", color="#ff7f0e")
            for node in n.members:
                self.value_node(c, node)
                if node.parents:
                    self.op_node(c, node)
                    self.input_edges(c, node)
            c.node(self.neuron_id(n), "", shape="point", width="0.01")
            c.edge(self.ids[n.out], self.neuron_id(n), arrowhead="none")
