"""``draw_network``: the explainer's picture of a feed-forward network.

Neurons are circles in layer columns, shaded by their activation for a given input (input
neurons by pixel gray level, output neurons by softmax probability): dark is high. Connections
are the weights: blue solid positive, red dashed negative (the sign read without colour too),
thicker and more opaque for larger |w|. Positions
are fixed (a column per layer), so the same network always gives the same picture.

Why a second MLP renderer exists: ``demos/how_it_works/picture.py`` draws the explainer's
network as SVG written by hand, for the explorer's and the studio's pages (an id on every
element for their scripts, the input as its 8×8 image, gradient arrows and legends, no Graphviz
needed); this one lays out any MLP of any size with Graphviz, for a notebook or a file, and nn
never imports the demos.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine import display, no_grad
from engine.viz import style
from engine.viz.dot import GraphvizMissingError, load_graphviz, pipe
from nn.layers import MLP
from nn.losses import softmax
from nn.module import Module

if TYPE_CHECKING:  # imported when something is drawn: nn itself needs numpy only
    import graphviz

ROW, COLUMN = 0.32, 2.6  # inches between neurons in a column, and between columns
NON_FINITE = style.NOT_FINITE  # the ring of a neuron whose activation is nan or infinite


def _top(values: np.ndarray) -> float:
    """The largest finite |value| (1e-12 if none): a scale that one nan cannot spoil."""
    finite = np.abs(values[np.isfinite(values)])
    return max(float(finite.max()) if finite.size else 0.0, 1e-12)


def neuron_position(sizes: list[int], layer: int, index: int) -> tuple[float, float]:
    """Where ``draw_network`` puts neuron ``index`` of ``layer`` (0 = inputs), in inches:
    a column per layer, each column centred on the tallest one."""
    top = (max(sizes) - sizes[layer]) * ROW / 2
    return layer * COLUMN, -(top + index * ROW)


def activations(model: MLP, inputs) -> list[np.ndarray]:
    """The activation of every neuron, layer by layer (inputs first), for one input."""
    values = [np.asarray(inputs, dtype=float)]
    x = list(values[0])
    with no_grad():
        for layer in model.layers:
            x = layer(x)
            values.append(np.array([v.data for v in x]))
    return values


def draw_network(model: MLP, inputs=None, *, input_shading=None, top_k: int | None = None,
                 focus: dict[int, int] | None = None, output_labels=None,
                 node_attrs: dict | None = None, edge_attrs: dict | None = None,
                 title: str | None = None) -> graphviz.Digraph:
    """The network as circles and weighted connections, as a ``graphviz.Digraph``.

    - ``inputs``: what the network reads; neurons are then shaded by their activation
      (hidden: relative to the layer's largest; outputs: softmax probability);
    - ``input_shading``: gray levels in [0, 1] for the input neurons (pixels), if ``inputs``
      are normalised values that would shade badly;
    - ``top_k``: draw only the k strongest connections (by |w|) into each neuron;
    - ``focus``: ``{layer: neuron}`` draws, in that layer (1 = first hidden), only the
      connections into that one neuron, as the explainer does for readability (``None``:
      no connections into that layer);
    - ``output_labels``: names for the output neurons (default 0, 1, 2, ...);
    - a diverged model still draws: a nan or infinite weight as a black dashed line, a nan or
      infinite activation with a red dashed ring;
    - ``node_attrs`` / ``edge_attrs``: extra Graphviz attributes keyed by ``(layer, neuron)``
      and ``(layer, neuron, input)`` (layer 0 = inputs), for annotated figures.

    Layer l's neuron j is node ``L{l}_{j}``.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"draw_network draws an nn.MLP, got {type(model).__name__}")
    focus = focus or {}
    for layer, neuron in focus.items():
        if not 1 <= layer <= len(model.layers) or not (
                neuron is None or 0 <= neuron < model.layers[layer - 1].nout):
            raise ValueError(f"focus {{{layer}: {neuron}}} is not a neuron of this network")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k}")
    sizes = [model.nin, *model.nouts]
    labels = list(output_labels) if output_labels is not None else list(range(sizes[-1]))
    if len(labels) != sizes[-1]:
        raise ValueError(f"output_labels has {len(labels)} names for {sizes[-1]} outputs")
    if input_shading is not None and len(input_shading) != sizes[0]:
        raise ValueError(f"input_shading has {len(input_shading)} values for {sizes[0]} inputs")
    shades = None if inputs is None else _shades(model, inputs, input_shading)

    dot = load_graphviz().Digraph("network", engine="neato", graph_attr={
        "splines": "false", "outputorder": "edgesfirst", "fontname": "Helvetica",
        "pad": "0.3"}, node_attr={"shape": "circle", "style": "filled", "fixedsize": "true",
                                  "fontname": "Helvetica", "fontsize": "9", "penwidth": "0.8"},
        edge_attr={"arrowhead": "none"})
    _draw_neurons(dot, sizes, shades, labels, node_attrs or {})
    _draw_weights(dot, model, focus, top_k, edge_attrs or {})
    if title:
        dot.attr(label=title, labelloc="b", fontsize="12")
    return dot


def _shades(model: MLP, inputs, input_shading) -> list[np.ndarray]:
    """Each neuron's fill level in [0, 1], layer by layer: inputs by ``input_shading`` (or
    their values rescaled), hidden neurons relative to their layer's largest activation,
    outputs by softmax probability."""
    acts = activations(model, inputs)
    first = acts[0]
    finite = first[np.isfinite(first)]
    low = float(finite.min()) if finite.size else 0.0
    spread = float(np.ptp(finite)) if finite.size else 0.0
    shades = [np.asarray(input_shading, float) if input_shading is not None else
              (first - low) / max(spread, 1e-12)]
    for a in acts[1:-1]:
        shades.append(np.clip(a, 0, None) / _top(a))
    shades.append(np.array(softmax(list(acts[-1]))))
    return shades


def _draw_neurons(dot, sizes: list[int], shades, labels: list, node_attrs: dict) -> None:
    for k, n in enumerate(sizes):  # k: the layer's column (0 = inputs)
        for j in range(n):
            x, y = neuron_position(sizes, k, j)
            attrs = {"pos": f"{x:.2f},{y:.2f}!",
                     "width": "0.22" if k == 0 else "0.26", "label": "",
                     "fillcolor": style.grey(shades[k][j]) if shades is not None else "white"}
            if shades is not None and not np.isfinite(shades[k][j]):  # a diverged value
                attrs.update(color=NON_FINITE, penwidth="2.5", style="filled,dashed")
            if k == len(sizes) - 1:  # outputs carry their class name, legible on any shade
                dark = shades is not None and style.dark(shades[k][j])
                attrs.update(label=str(labels[j]).replace("&", "&amp;"), width="0.3",
                             fontcolor="white" if dark else "black")
            attrs.update(node_attrs.get((k, j), {}))
            dot.node(f"L{k}_{j}", **attrs)
        caption = ["inputs", *[f"hidden {i}" for i in range(1, len(sizes) - 1)], "outputs"][k]
        dot.node(f"title{k}", caption, shape="plaintext", style="", fixedsize="false",
                 pos=f"{k * COLUMN:.2f},{ROW * 1.6:.2f}!", fontsize="11")


def _draw_weights(dot, model: MLP, focus: dict, top_k: int | None, edge_attrs: dict) -> None:
    """The connections: blue solid positive, red dashed negative, wider and more opaque for
    larger |w| (relative to the layer's largest)."""
    for k, layer in enumerate(model.layers, start=1):
        weights = np.array([[w.data for w in neuron.w] for neuron in layer.neurons])
        scale = _top(weights)
        for j, row in enumerate(weights):
            if k in focus and focus[k] != j:
                continue
            chosen: Sequence[int] = range(len(row))
            if top_k is not None:
                chosen = sorted(np.argsort(-np.abs(row), kind="stable")[:top_k])
            for i in chosen:
                w = row[i]
                if not np.isfinite(w):  # a diverged weight: black, dashed, wide
                    attrs = {"color": style.NOT_FINITE_LINE, "style": "dashed", "penwidth": "2.5"}
                else:
                    strength = min(abs(w) / scale, 1.0)
                    alpha = round(60 + 195 * strength)
                    attrs = {"color": f"{style.POSITIVE if w > 0 else style.NEGATIVE}{alpha:02x}",
                             "penwidth": f"{0.3 + 2.7 * strength:.2f}"}
                    if w <= 0:  # dashed as well as red: the sign without colour
                        attrs["style"] = "dashed"
                attrs.update(edge_attrs.get((k, j, int(i)), {}))
                dot.edge(f"L{k - 1}_{i}", f"L{k}_{j}", **attrs)


def module_bundle(model: Module) -> dict:
    """A Module in a notebook: its summary (the REPL's repr) and, for an MLP, its network
    diagram, scaled down to the cell's width (no Graphviz: the summary alone)."""
    text = repr(model)
    picture = ""
    if isinstance(model, MLP):
        try:
            svg = pipe(draw_network(model), "svg").decode("utf-8")
            svg = svg[svg.index("<svg"):].replace(
                "<svg ", '<svg style="max-width: 100%; height: auto" ', 1)
            picture = f'<div style="overflow-x: auto">{svg}</div>'
        except GraphvizMissingError as e:
            picture = (f'<p style="color: {style.QUIET}">'
                       f'(no diagram: {html.escape(str(e))})</p>')
    return {"text/plain": text, "text/html": f"<pre>{html.escape(text)}</pre>{picture}"}


display.register(Module, module_bundle)
