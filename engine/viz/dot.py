"""Draw a computation graph with Graphviz: every value with its data and grad.

Each value is a record ``label | data | grad``; each op is its own small node between its
inputs and its result (micrograd's look). What an op is called and what its local derivatives
are come from the op table, like everything else. Node ids follow the topological order, so
the same graph always gives the same DOT text.

Each box shows the node's name as the step text writes it (``engine.text``: its label, a
constant's number, or ``v4``), so a learner can find in the picture what the steps print.

Large graphs (a digit network's loss has thousands of nodes) are drawn collapsed: each neuron
(as ``engine.neuron`` finds it: Σ w·x + b and its activation) becomes one node showing its Σ,
activation, value and grad, and each layer becomes a cluster.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from engine.autodiff import local_grads, topological_order
from engine.neuron import FoundNeuron, find_neurons
from engine.node import Node
from engine.ops import OPS
from engine.text import NodeNames, neuron_label, neuron_name
from engine.viz import style
from engine.viz.style import graph_number as number_text

if TYPE_CHECKING:  # imported when something is drawn: the engine itself needs numpy only
    import graphviz

COLLAPSE_ABOVE = 250  # nodes: above this, collapse="auto" draws neurons as single nodes
FULL_LIMIT = 3000  # nodes: drawing more in full is refused (dot would take minutes)

# Kinds of value are told apart by border and shape, so that the fill can show the grad:
# leaves you made (blue border), parameters (gold border, rounded), constants (dashed grey).
STYLE = {
    "leaf": {"fillcolor": style.LEAF_FILL, "color": style.LEAF_EDGE, "penwidth": "1.4"},
    "param": {"fillcolor": style.PARAM_FILL, "color": style.PARAM_EDGE, "penwidth": "1.4",
              "shape": "Mrecord"},
    "const": {"fillcolor": style.CONST_FILL, "color": style.CONST_EDGE,
              "fontcolor": style.MUTED},
    "value": {"fillcolor": "white"},
    "op": {"shape": "circle", "fillcolor": style.OP_FILL, "fontsize": "11", "width": "0.45",
           "fixedsize": "true"},
    "highlight": {"color": style.CURRENT, "penwidth": "3"},
}


class GraphTooLargeError(ValueError):
    """The graph has too many nodes to draw in full."""


class GraphvizMissingError(RuntimeError):
    """Graphviz is not installed: its Python package (needed to draw) or its ``dot`` program
    (needed to render a drawing to a picture)."""

    def __init__(self, missing: str = "program"):
        if missing == "package":
            words = ("The graphviz Python package is needed to draw graphs and is not "
                     "installed: `pip install graphviz` (and, to render pictures, Graphviz's "
                     "`dot` program: `apt-get install graphviz`, `brew install graphviz` or "
                     "`conda install graphviz`).")
        else:
            words = ("Graphviz's `dot` program is needed to render pictures and was not found "
                     "on PATH. Install it: `apt-get install graphviz` (Debian, Ubuntu), `brew "
                     "install graphviz` (macOS), or `conda install graphviz`. Without it, "
                     "draw_dot(...).source still gives the DOT text.")
        super().__init__(words)


def load_graphviz() -> ModuleType:
    """The ``graphviz`` package, imported on the first drawing (so that ``import engine`` does
    not need it); :class:`GraphvizMissingError` saying how to install it when it is missing."""
    try:
        import graphviz
    except ImportError:
        raise GraphvizMissingError("package") from None
    return graphviz


def pipe(dot: graphviz.Digraph, format: str) -> bytes:  # noqa: A002 - graphviz's own name
    """``dot`` rendered by Graphviz's ``dot`` program to ``format`` (svg, png, pdf)."""
    try:
        return dot.pipe(format=format)
    except load_graphviz().ExecutableNotFound:
        raise GraphvizMissingError() from None


def _escape(text: str) -> str:
    """A label drawn exactly as written: the characters special inside a Graphviz record
    escaped, ``&`` written as an entity (Graphviz would read ``&amp;`` as ``&``), and a NUL,
    which Graphviz cannot take, shown as ␀."""
    text = text.replace("&", "&amp;").replace("\0", "␀")
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text


def _grad_colour(g: float, scale: float) -> str:
    """Blue for a positive grad, red for a negative one, stronger for a larger |grad|."""
    if not math.isfinite(g):
        return style.NOT_FINITE_FILL
    t = 0.0 if scale == 0 else min(1.0, abs(g) / scale) ** 0.5
    sign = style.rgb(style.POSITIVE if g > 0 else style.NEGATIVE)
    mix = [round(255 + (c - 255) * 0.75 * t) for c in sign]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def resolve_collapse(order: list[Node], collapse) -> tuple[bool, list[FoundNeuron]]:
    """Check ``collapse`` (True, False or "auto") and decide it for the graph ``order``:
    "auto" collapses above ``COLLAPSE_ABOVE`` nodes when there are neurons to collapse.
    Returns the decision and the neurons found."""
    if collapse not in (True, False, "auto"):
        raise ValueError(f"collapse must be True, False or 'auto', got {collapse!r}")
    neurons = find_neurons(order)
    if collapse == "auto":
        collapse = len(order) > COLLAPSE_ABOVE and bool(neurons)
    return collapse, neurons


def grad_field(g: float, scale: float = 0.0) -> str:
    """The grad part of a drawn value: ``grad 0.7864`` (see :func:`number_text`)."""
    return f"grad {number_text(g, scale)}"


def neuron_fields(n: FoundNeuron) -> tuple[str, str]:
    """The Σ and activation parts of a collapsed neuron: ``Σ 0.2830``, ``relu → 0.2830``."""
    total, out = number_text(n.total.data), number_text(n.out.data)
    # A no-break space: Graphviz drops a plain space after "Σ" in a record field.
    return f"Σ\u00a0{total}", f"{n.parts.activation_name} → {out}"


def neuron_names(order: list[Node], neurons: list[FoundNeuron]
                 ) -> dict[FoundNeuron, tuple[str, str]]:
    """Each neuron's (name, engine label), as every drawing and page calls it: the name by
    :func:`engine.text.neuron_name` from its layer and its place in that layer (the last
    layer's by class, when a loss reads them as classes), the label from its parameters'."""
    layers = layers_of(order, neurons)
    names = {}
    for layer, members in enumerate(layers, start=1):
        classes = output_classes(order, members) if layer == len(layers) else {}
        for j, n in enumerate(members):
            output = str(classes[n]) if n in classes else None
            names[n] = (neuron_name(layer, j, len(layers), output), neuron_label(n.params))
    return names


def layers_of(order: list[Node], neurons: list[FoundNeuron]) -> list[list[FoundNeuron]]:
    """Each layer's neurons, first layer first, in the order they are named, drawn (top to
    bottom) and stepped: the last layer's by class when a loss reads them as classes
    (:func:`output_classes`), any other layer's in the order the graph reads them."""
    count = max((n.layer for n in neurons), default=0)
    layers = []
    for layer in range(1, count + 1):
        members = [n for n in neurons if n.layer == layer]
        classes = output_classes(order, members) if layer == count else {}
        layers.append(sorted(members, key=lambda n: classes.get(n, -1)))
    return layers


def network_names(order: list[Node], neurons: list[FoundNeuron]) -> NodeNames:
    """The names of a graph drawn with ``neurons`` collapsed, for its drawing and its step
    texts: a neuron's output is the neuron, any other part the neuron's name and the part's
    short name (:func:`short_names`): "hidden layer 2, neuron 0: z", "…: product 14", "…:
    weight 14" for an unlabelled weight (a labelled weight or bias keeps its label); inside a
    neuron (:meth:`NodeNames.inside`), its parts' short names alone."""
    full: dict[Node, str] = {}
    short: dict[Node, tuple[FoundNeuron, str]] = {}
    for n, (name, label) in neuron_names(order, neurons).items():
        clear = clear_short_names(n, label)
        for node, part in short_names(n, label).items():
            if node in clear:
                short[node] = (n, part)
            if not node.label:
                full[node] = f"{name}: {part}"
        full[n.out] = name
    return NodeNames(order, full, short)


def short_names(n: FoundNeuron, label: str) -> dict[Node, str]:
    """What the steps inside ``n`` (engine label ``label``) call its parts once the page has
    named it: "z" its weighted sum before the activation, "product 14" its term w·x of input
    14, a weight or bias by its label after ``label`` ("w.14", "b" for layers.0.neurons.9.w.14
    and ….b) or, unlabelled, "weight 14" and "bias". Its output is not among them: it is the
    neuron, called by its name everywhere."""
    # "product 14", not "w·x 14": a word reads as a name inside a formula ("product 14 =
    # w.14 × x14"), where "w·x 14" reads as a second formula.
    def param(node: Node, unlabelled: str) -> str | None:
        if not node.label:
            return unlabelled
        if label and node.label.startswith(label + "."):
            return node.label[len(label) + 1:]
        return None  # a label of its own: that is its name

    names = {w: param(w, f"weight {k}") for k, w in enumerate(n.parts.weights)}
    bias = n.parts.bias
    if bias is not None and not bias.parents:
        names[bias] = param(bias, "bias")
    names.update((p, f"product {k}") for k, p in enumerate(n.parts.products))
    if n.parts.activation is not None:  # (without one, the sum is the output)
        names[n.total] = "z"
    return {node: name for node, name in names.items() if name is not None}


def clear_short_names(n: FoundNeuron, label: str) -> dict[Node, str]:
    """:func:`short_names` less any an input of ``n`` is labelled with ("z", "b"): inside
    ``n`` that name is the input's, and the part is called by its full name."""
    taken = {x.label for x in n.parts.inputs}
    return {node: name for node, name in short_names(n, label).items() if name not in taken}


def parts_legend(n: FoundNeuron, label: str) -> str:
    """What :func:`short_names` calls ``n``'s parts, said once for the page's line naming the
    neuron and its tooltip: "z is its weighted sum, product k = w.k × input k (k = 0 … 63),
    b its bias"."""
    short = clear_short_names(n, label)
    said = ["z is its weighted sum"] if n.total in short else []
    weights = n.parts.weights
    if weights and n.parts.products:
        w = short.get(weights[0], weights[0].label)
        w = w[:-1] + "k" if w.endswith("0") else w  # "w.0" → "w.k", "weight 0" → "weight k"
        said.append(f"product k = {w} × input k (k = 0 … {len(weights) - 1})")
    if n.parts.bias in short:
        said.append(f"{short[n.parts.bias]} its bias")
    return ", ".join(said)


def neuron_title(n: FoundNeuron, name: str, label: str) -> str:
    """A collapsed neuron's tooltip: its name, its label, and what the steps inside it call
    its parts (:func:`parts_legend`)."""
    legend = parts_legend(n, label)
    return (f"{name} ({label})" if label else name) + (f"\n{legend}" if legend else "")


def layered_order(order: list[Node], neurons: list[FoundNeuron]) -> tuple[list[Node], dict]:
    """``order`` (a topological order) rearranged layer by layer, still a topological order:
    each neuron of :func:`layers_of` in turn with everything it reads and has not been placed
    (its weights, its inputs), then the rest (a loss). Returns it and each node's layer: its
    neuron's for what came with a neuron, one past the last layer for the rest."""
    placed: dict[Node, int] = {}
    result: list[Node] = []

    def place(root: Node, layer: int) -> None:  # depth first, parents in their stored order
        path = [] if root in placed else [(root, iter(root.parents))]
        while path:
            node, parents = path[-1]
            for p in parents:
                if p not in placed:
                    path.append((p, iter(p.parents)))
                    break
            else:
                path.pop()
                placed[node] = layer
                result.append(node)

    layers = layers_of(order, neurons)
    for layer, members in enumerate(layers, start=1):
        for n in members:
            place(n.out, layer)
    for node in order:
        place(node, len(layers) + 1)
    return result, placed


def output_classes(order: list[Node], members: list[FoundNeuron]) -> dict[FoundNeuron, int]:
    """The last layer's neurons as classes: their place among the inputs of the first node
    that reads every one of them once (a loss's max or softmax), if there is one."""
    outs = {n.out: n for n in members}
    for node in order:
        if len(node.parents) == len(outs) and set(node.parents) == set(outs):
            return {outs[p]: k for k, p in enumerate(node.parents)}
    return {}


@dataclass(frozen=True)
class _Options:
    """What ``draw_dot`` was asked to show (see its docstring)."""

    rankdir: str
    local_derivatives: bool
    color_grads: bool
    highlight: frozenset
    params: frozenset
    known: frozenset | None


def draw_dot(root: Node, *, rankdir: str = "LR", local_derivatives: bool = False,
             color_grads: bool = False, highlight: Iterable[Node] = (),
             params: Iterable[Node] | None = None, collapse: bool | Literal["auto"] = "auto",
             expand: Iterable[Node] = (), known_grads: Iterable[Node] | None = None,
             title: str | None = None) -> graphviz.Digraph:
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
    if not isinstance(root, Node):
        raise TypeError(f"draw_dot needs a Value, got {type(root).__name__}")
    load_graphviz()  # before the graph is walked: a missing package is said at once
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
    params = {p for n in neurons for p in n.params} if params is None else params
    options = _Options(rankdir, local_derivatives, color_grads, frozenset(highlight),
                       frozenset(params), None if known_grads is None else frozenset(known_grads))
    drawer = (_NetworkDrawer if collapse else _NodeDrawer)(order, options)
    if collapse:
        drawer.collapsed(neurons, set(expand))
    else:
        drawer.full(drawer.dot, order)
    if title:
        drawer.dot.attr(label=title, labelloc="b", fontsize="12")
    return drawer.dot


class _NodeDrawer:
    """Draws a graph node by node into ``self.dot``: a record per value (name, data, grad),
    a circle per op, an edge per input (labelled with ∂out/∂input when asked)."""

    def __init__(self, order: list[Node], options: _Options):
        self.order, self.options = order, options
        self.ids = {node: f"n{i}" for i, node in enumerate(order)}
        self.names = NodeNames(order)  # the names the step text uses
        self.owner: dict[Node, FoundNeuron] = {}  # node → the collapsed neuron drawn for it
        self.ordered: set[Node] = set()  # nodes whose inputs are drawn in their order
        finite = [abs(n.grad) for n in order if math.isfinite(n.grad)]
        self.scale = max(finite, default=0.0)
        self.dot = load_graphviz().Digraph("glassgrad", graph_attr={
            "rankdir": options.rankdir, "nodesep": "0.25", "ranksep": "0.35",
            "fontname": "Helvetica"},
            node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled"},
            edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": style.MUTED})

    # --- one value, one op ----------------------------------------------------------------

    def kind(self, node: Node) -> str:
        if node.op == "const":
            return "const"
        if not node.parents:
            return "param" if node in self.options.params else "leaf"
        return "value"

    def shows_grad(self, node: Node) -> bool:
        return self.options.known is None or node in self.options.known

    def grad_text(self, node: Node) -> str:
        return grad_field(node.grad) if self.shows_grad(node) else "grad  "

    def value_node(self, graph, node: Node) -> None:
        kind = self.kind(node)
        attrs = {"shape": "record", **STYLE[kind]}  # a kind's own shape wins
        if kind == "const":  # its number, as the step text names it
            label = _escape(self.names(node))
            attrs.update(shape="box", style="filled,dashed,rounded")
        else:
            parts = [_escape(self.names(node)), f"data {number_text(node.data)}",
                     self.grad_text(node)]
            label = "{ " + " | ".join(parts) + " }"
            if self.options.color_grads and self.shows_grad(node):
                attrs["fillcolor"] = _grad_colour(node.grad, self.scale)
        if node in self.options.highlight:
            attrs.update(STYLE["highlight"])
        graph.node(self.ids[node], label, **attrs)

    def op_node(self, graph, node: Node) -> None:
        symbol = OPS[node.op].write_symbol(node.arg)
        attrs = dict(STYLE["op"])
        if len(symbol) > 4:  # "softplus" does not fit a circle: an ellipse as wide as it
            attrs.update(shape="ellipse", width=f"{0.1 + 0.085 * len(symbol):.2f}",
                         height="0.45")
        if node in self.options.highlight:
            attrs.update(STYLE["highlight"])
        if node in self.ordered:  # see keep_order()
            attrs["ordering"] = "in"
        graph.node(self.ids[node] + "_op", _escape(symbol), **attrs)
        graph.edge(self.ids[node] + "_op", self.ids[node])

    def tail(self, node: Node) -> str:
        """The drawn node an edge from ``node`` starts at: its own, or its neuron's."""
        owner = self.owner.get(node)
        return self.ids[node] if owner is None else neuron_id(owner)

    def input_edges(self, graph, node: Node) -> None:
        locals_ = local_grads(node) if self.options.local_derivatives else None
        for i, parent in enumerate(node.parents):
            attrs = {}
            if locals_ is not None:
                attrs["label"] = f"∂={number_text(locals_[i])}"
            graph.edge(self.tail(parent), self.ids[node] + "_op", **attrs)

    def full(self, graph, nodes) -> None:
        """Every node of ``nodes``: its value, and for a computed one its op and input edges."""
        for node in nodes:
            self.value_node(graph, node)
            if node.parents:
                self.op_node(graph, node)
                self.input_edges(graph, node)


class _NetworkDrawer(_NodeDrawer):
    """Draws a network collapsed: a node per neuron, a cluster per layer, a bundle of edges
    between layers, the inputs as one summary node; what is not in a neuron (a loss), and the
    neurons asked for in ``expand``, node by node as :class:`_NodeDrawer` draws them."""

    def collapsed(self, neurons: list[FoundNeuron], expand: set) -> None:
        """A node per neuron, a cluster per layer, one bundle of edges between layers; the
        nodes after the neurons (a loss) in full."""
        expanded = [n for n in neurons if expand & set(n.members)]
        for n in neurons:
            if n not in expanded:
                self.owner.update((m, n) for m in n.members)
        in_neuron = {m for n in neurons for m in n.members}
        read = {x for n in neurons for x in n.inputs}
        inputs = [x for x in self.order
                  if not x.parents and x.op != "const" and x not in in_neuron and x in read]
        layers = max((n.layer for n in neurons), default=0)
        self.dot.attr(label=(
            f"Collapsed view: {len(self.order):,} nodes drawn as {len(neurons)} neurons in "
            f"{layers} layer{'s' * (layers != 1)} ({len(expanded)} expanded). Expand one with "
            "draw_dot(root, expand=[a node of that neuron]) or draw every node with "
            "collapse=False."),
            # Few crossing-minimisation passes: enough to untangle the edges, too few to
            # undo the order each layer is given (see keep_order()).
            labelloc="t", fontsize="12", compound="true", mclimit="0.01")
        # The loss's boxes say "output '3'" where the steps do (their v-numbers unchanged).
        self.names = network_names(self.order, neurons)
        if inputs:
            inputs_summary(self.dot, inputs, self.names)
        names = neuron_names(self.order, neurons)
        for layer, members in enumerate(layers_of(self.order, neurons), start=1):
            with self.dot.subgraph(name=f"cluster_layer{layer}") as c:
                kind = f"hidden layer {layer}" if layer < layers else "outputs"
                c.attr(label=f"{kind} ({len(members)} neurons)", style="rounded",
                       color=style.FAINT_LINE)
                for n in members:
                    name = names[n][0]
                    self.full_neuron(c, n, name) if n in expanded else \
                        self.neuron_node(c, n, name)
                self.keep_order([n for n in members if n not in expanded])
            self.layer_edges(layer, members, neurons, bool(inputs))
        # Everything else (a loss, a computed bias) is drawn node by node.
        summary = set(inputs) - {x for n in expanded for x in n.inputs}
        self.full(self.dot, [v for v in self.order if v not in in_neuron and v not in summary])
        for n in neurons:
            bias = n.parts.bias
            if n not in expanded and bias is not None and bias not in in_neuron:
                self.dot.edge(self.tail(bias), neuron_id(n), style="dashed", label="bias")

    def keep_order(self, members: list[FoundNeuron]) -> None:
        """Keep a layer's neurons one above the next in their order (output '0' at the top),
        not where Graphviz would put them to shorten the loss's edges: the node that reads
        them all (a loss's max) keeps its inputs in their order (``ordering=in``); the few
        crossing-minimisation passes (``mclimit``) leave the other layers in theirs."""
        outs = {n.out for n in members}
        for node in self.order:
            if len(node.parents) == len(outs) and set(node.parents) == outs:
                self.ordered.add(node)

    def layer_edges(self, layer: int, members: list[FoundNeuron], neurons: list[FoundNeuron],
                    has_inputs: bool) -> None:
        """The bundle of edges into ``layer`` from the layer before it (or the inputs)."""
        if layer == 1 and not has_inputs:
            return
        before = [n for n in neurons if n.layer == layer - 1]
        tail = "inputs" if layer == 1 else neuron_id(before[0])
        self.dot.edge(tail, neuron_id(members[0]),
                      ltail="cluster_inputs" if layer == 1 else f"cluster_layer{layer - 1}",
                      lhead=f"cluster_layer{layer}", penwidth="2",
                      label=f"{len(members[0].inputs)}×{len(members)} weights")

    def neuron_node(self, graph, n: FoundNeuron, name: str) -> None:
        total, act = neuron_fields(n)
        label = f"{{ {_escape(name)} | {total} | {act} | {self.grad_text(n.out)} }}"
        attrs = {"shape": "record", **STYLE["value"]}
        if self.options.color_grads and self.shows_grad(n.out):
            attrs["fillcolor"] = _grad_colour(n.out.grad, self.scale)
        if self.options.highlight & set(n.members):
            attrs.update(STYLE["highlight"])
        graph.node(neuron_id(n), label, **attrs)

    def full_neuron(self, graph, n: FoundNeuron, name: str) -> None:
        with graph.subgraph(name=f"cluster_neuron{n.index}") as c:
            c.attr(label=f"{name} (expanded)", style="dashed", color=style.CURRENT)
            self.full(c, n.members)
            c.node(neuron_id(n), "", shape="point", width="0.01")
            c.edge(self.ids[n.out], neuron_id(n), arrowhead="none")


def inputs_summary(dot, inputs: list[Node], names: NodeNames) -> None:
    """One node for all inputs (each x is drawn in full only inside an expanded neuron)."""
    with dot.subgraph(name="cluster_inputs") as c:
        c.attr(label=f"inputs ({len(inputs)})", style="rounded", color=style.FAINT_LINE)
        data, grads = [x.data for x in inputs], [x.grad for x in inputs]
        spans = [f"{what} {number_text(min(xs))} … {number_text(max(xs))}"
                 for what, xs in (("data", data), ("grad", grads))]
        # First and last by the names the steps use (x0 … x63), so a step's x14 is found.
        first, last = names(inputs[0]), names(inputs[-1])
        named = _escape(f"{first} … {last}" if len(inputs) > 1 else first)
        c.node("inputs", "{ " + " | ".join([named, *spans]) + " }",
               shape="record", **STYLE["leaf"])


def neuron_id(neuron: FoundNeuron) -> str:
    """The id of a collapsed neuron's node in the DOT source (and the stepper's page)."""
    return f"neuron{neuron.index}"
