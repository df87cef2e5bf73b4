"""The explainer's figures, drawn from one real forward and backward pass.

Nothing here is placed by hand: every shade is an activation, every line colour a weight's
sign, every arrow a negative gradient computed by the engine:

- the desired change of an activation a is −∂loss/∂a (up if positive, down if negative);
- the change of a weight w is −∂loss/∂w (gradient descent, before scaling by a learning rate).

For a weight w_i into an output neuron, −∂loss/∂w_i = −∂loss/∂z · h_i: proportional to the
activation h_i of the hidden neuron it comes from, which is what the article says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import graphviz
import numpy as np

from engine import Value, find_neurons, topological_order
from engine.viz import draw_dot
from nn import MLP, cross_entropy, softmax
from nn.viz import draw_network, neuron_position

PURPLE, GREEN, ORANGE, BLACK = "#7b3294", "#1b7837", "#e66101", "#111111"


@dataclass
class Backprop:
    """Every number of one forward and backward pass of ``model`` on one image."""

    model: MLP
    x: np.ndarray  # what the network reads (standardised pixels)
    pixels: np.ndarray  # gray levels in [0, 1], for shading the inputs
    target: int
    activations: list[np.ndarray] = field(default_factory=list)  # inputs, hidden…, logits
    activation_grads: list[np.ndarray] = field(default_factory=list)  # ∂loss/∂activation
    pre_activations: list[np.ndarray] = field(default_factory=list)  # [layer - 1]: Σ w·x + b
    weight_grads: list[np.ndarray] = field(default_factory=list)  # [layer][j, i] = ∂loss/∂w
    weights: list[np.ndarray] = field(default_factory=list)
    probabilities: np.ndarray | None = None
    loss: float = 0.0

    @property
    def sizes(self) -> list[int]:
        return [self.model.nin, *self.model.nouts]


def backprop(model: MLP, x: np.ndarray, pixels: np.ndarray, target: int) -> Backprop:
    """Run the engine forward and backward on one image, and read every number of every
    neuron off the loss's graph, found there by ``engine.find_neurons`` (the neurons a
    collapsed drawing and the HTML stepper show)."""
    inputs = [Value(float(v), label=f"x{i}") for i, v in enumerate(x)]
    logits = model(inputs)
    loss = cross_entropy(logits, target)
    model.zero_grad()
    loss.backward()  # interior nodes now hold exactly this pass's grads
    found = {n.parts.weights: n.parts for n in find_neurons(topological_order(loss))}
    layers = [[found[tuple(neuron.w)] for neuron in layer.neurons] for layer in model.layers]
    result = Backprop(model, np.asarray(x, float), np.asarray(pixels, float), target)
    result.activations = [np.array([v.data for v in inputs])] + [
        np.array([n.out.data for n in layer]) for layer in layers]
    result.activation_grads = [np.array([v.grad for v in inputs])] + [
        np.array([n.out.grad for n in layer]) for layer in layers]
    result.pre_activations = [np.array([n.total.data for n in layer]) for layer in layers]
    result.weights = [np.array([[w.data for w in n.weights] for n in layer]) for layer in layers]
    result.weight_grads = [np.array([[w.grad for w in n.weights] for n in layer])
                           for layer in layers]
    result.probabilities = np.array(softmax(logits))
    result.loss = loss.data
    return result


def desired_change(bp: Backprop, layer: int, neuron: int) -> float:
    """−∂loss/∂(activation of ``neuron`` in ``layer``): which way it should move."""
    return float(-bp.activation_grads[layer][neuron])


def weight_changes(bp: Backprop, layer: int, neuron: int) -> np.ndarray:
    """−∂loss/∂w for the weights into ``neuron`` of ``layer`` (1 = first hidden)."""
    return -bp.weight_grads[layer - 1][neuron]


def most_influential(bp: Backprop, layer: int) -> int:
    """The active neuron of a hidden ``layer`` whose activation matters most for the loss:
    the largest |∂loss/∂a| among neurons with a > 0 (an inactive relu passes nothing back)."""
    active = bp.activations[layer] > 0
    if not active.any():
        return 0
    strength = np.where(active, np.abs(bp.activation_grads[layer]), -1.0)
    return int(np.argmax(strength))


def _arrow(dot: graphviz.Digraph, bp: Backprop, layer: int, neuron: int, colour: str,
           name: str) -> None:
    """An arrow beside a neuron: up for an increase, down for a decrease, from −∂loss/∂a."""
    change = desired_change(bp, layer, neuron)
    x, y = neuron_position(bp.sizes, layer, neuron)
    side = 0.75 if layer == len(bp.sizes) - 1 else -0.75
    direction = 1 if change > 0 else -1
    start, end = f"{name}_from", f"{name}_to"
    for point, dy in ((start, -direction * 0.45), (end, direction * 0.45)):
        dot.node(point, "", shape="point", width="0.01", pos=f"{x + side:.2f},{y + dy:.2f}!")
    dot.edge(start, end, color=colour, penwidth="4", arrowhead="normal", arrowsize="1.2")
    dot.node(f"{name}_text", f"{'increase' if change > 0 else 'decrease'}\n"
             f"−∂loss/∂a = {change:+.3f}", shape="plaintext", style="", fixedsize="false",
             fontcolor=colour, fontsize="10",
             pos=f"{x + side * 2.1:.2f},{y:.2f}!")


def _weight_labels(dot: graphviz.Digraph, bp: Backprop, layer: int, neuron: int,
                   most: int | None = None) -> None:
    """Black Δw = −∂loss/∂w beside each source neuron of the connections into ``neuron``
    (only the ``most`` largest changes, if given; a zero change gets no label)."""
    changes = weight_changes(bp, layer, neuron)
    order = np.argsort(-np.abs(changes), kind="stable")
    for i in (order if most is None else order[:most]):
        if changes[i] == 0:
            continue
        x, y = neuron_position(bp.sizes, layer - 1, int(i))
        dot.node(f"dw_{layer}_{neuron}_{i}", f"Δw {changes[i]:+.3f}", shape="plaintext",
                 style="", fixedsize="false", fontsize="8", fontcolor=BLACK,
                 pos=f"{x - 0.62:.2f},{y:.2f}!")


def _ring(colour: str) -> dict:
    return {"color": colour, "penwidth": "3"}


def figure_architecture(bp: Backprop, title: str) -> graphviz.Digraph:
    return draw_network(bp.model, bp.x, input_shading=bp.pixels, top_k=3, title=title)


def figure_step1(bp: Backprop, title: str) -> graphviz.Digraph:
    out = len(bp.sizes) - 1
    dot = draw_network(bp.model, bp.x, input_shading=bp.pixels, top_k=2, title=title,
                       node_attrs={(out, bp.target): _ring(PURPLE)})
    _arrow(dot, bp, out, bp.target, PURPLE, "purple")
    return dot


def figure_step2(bp: Backprop, title: str) -> graphviz.Digraph:
    out = len(bp.sizes) - 1
    dot = draw_network(bp.model, bp.x, input_shading=bp.pixels, focus={out: bp.target, 1: None,
                       2: None}, title=title, node_attrs={(out, bp.target): _ring(PURPLE)})
    _weight_labels(dot, bp, out, bp.target)
    _arrow(dot, bp, out, bp.target, PURPLE, "purple")
    return dot


def figure_step3(bp: Backprop, neuron: int, title: str) -> graphviz.Digraph:
    out = len(bp.sizes) - 1
    dot = draw_network(bp.model, bp.x, input_shading=bp.pixels,
                       focus={1: None, 2: neuron, out: bp.target}, title=title,
                       node_attrs={(out, bp.target): _ring(PURPLE), (2, neuron): _ring(GREEN)})
    _weight_labels(dot, bp, 2, neuron)
    _arrow(dot, bp, 2, neuron, GREEN, "green")
    return dot


def figure_step4(bp: Backprop, neuron2: int, neuron1: int, title: str) -> graphviz.Digraph:
    out = len(bp.sizes) - 1
    dot = draw_network(bp.model, bp.x, input_shading=bp.pixels,
                       focus={1: neuron1, 2: neuron2, out: bp.target}, title=title,
                       node_attrs={(out, bp.target): _ring(PURPLE), (2, neuron2): _ring(GREEN),
                                   (1, neuron1): _ring(ORANGE)})
    _weight_labels(dot, bp, 1, neuron1, most=8)
    _arrow(dot, bp, 1, neuron1, ORANGE, "orange")
    return dot


def figure_neuron(bp: Backprop, title: str) -> graphviz.Digraph:
    """One neuron of the network's last hidden layer, drawn in full with draw_dot.

    It shows the forward computation only: grads are left blank (the weights' grads from the
    backward pass belong to the whole network's loss, not to this picture)."""
    layer = bp.model.layers[1]
    neuron = layer.neurons[0]
    h = [Value(float(v), label=f"h{i}") for i, v in enumerate(bp.activations[1])]
    out = neuron(h)[0]
    out.label = "activation"
    return draw_dot(out, title=title, params=[*neuron.w, neuron.b], known_grads=[])


__all__ = ["Backprop", "backprop", "desired_change", "most_influential",
           "weight_changes"]
