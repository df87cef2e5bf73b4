"""Every number of one forward and backward pass of a real network on one image, read off the
engine's own graph, and of one SGD step on it.

The network is an ``nn.MLP``; its neurons are found in the loss's graph by
``engine.find_neurons`` (the neurons a collapsed drawing and the HTML stepper show). For each
layer of neurons we keep the pre-activations z = Σₖ wₖ·aₖ + b, the outputs a, the engine's
grads ∂loss/∂a and δ = ∂loss/∂z, the weights and their grads ∂loss/∂w = δ·a, and what each
neuron passes back to each of its inputs in the backward pass (δⱼ·wⱼₖ, the engine's own
chain-rule contributions: they add up to that input's ∂loss/∂a).

Then one step of plain gradient descent with learning rate η, w ← w − η·∂loss/∂w, is taken on
a copy of the network, and the same image is read again: the loss and the probabilities after
it are the engine's too, beside the first-order prediction Σ ∂loss/∂w·Δw of the loss's change.
A few more such steps on the same image (each with the engine's new grads) show the
probability of the right digit rising step after step.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field

import numpy as np

from engine import Value, backward, find_neurons, local_grads, topological_order
from engine.autodiff import contribution
from engine.node import gather, scatter
from nn import MLP, SGD, CompiledStep, compile_step, cross_entropy, softmax


@dataclass(frozen=True)
class LayerNumbers:
    """One layer of J neurons reading K inputs, for one image (arrays indexed [j] or [j, k])."""

    z: np.ndarray  # Σ w·a + b
    a: np.ndarray  # the neuron's output: act(z) (z itself for the linear output layer)
    grad_a: np.ndarray  # ∂loss/∂a
    delta: np.ndarray  # ∂loss/∂z
    w: np.ndarray  # (J, K)
    b: np.ndarray
    grad_w: np.ndarray  # (J, K): ∂loss/∂w = δⱼ·aₖ
    sent: np.ndarray  # (J, K): what neuron j passed back to its input k, δⱼ·wⱼₖ
    w_after: np.ndarray  # (J, K): after one SGD step
    b_after: np.ndarray


@dataclass(frozen=True)
class Reading:
    """The image read again after some SGD steps: the loss and the probabilities."""

    loss: float
    probabilities: np.ndarray


STEPS = 5  # SGD steps on the one image, for watching P rise step by step
# The step's multiples t at which the loss along it, loss(w − t·η·g), is read: 0 (before) to
# 2 (twice the step), 1 the step taken; 21 points draw a smooth curve (the loss bends
# gently over a step; each point costs the studio 0.4 ms of every read).
ALONG = np.linspace(0.0, 2.0, 21)


@dataclass(frozen=True)
class Backprop:
    """Every number of one pass of a network on one image (see the module docstring); the
    network itself is not kept (it goes on training), only its numbers."""

    sizes: tuple[int, ...]  # 64, 16, 16, 10
    activation: str  # of the hidden layers
    x: np.ndarray  # what the network reads: the standardised pixels
    pixels: np.ndarray  # the image's ink, 0 (blank) to 1
    target: int
    layers: list[LayerNumbers]  # hidden layers, then the outputs
    probabilities: np.ndarray
    loss: float
    lr: float  # η of the SGD step
    loss_after: float  # the same image read again after the step
    probabilities_after: np.ndarray
    predicted_change: float  # Σ ∂loss/∂w·Δw over every weight and bias
    input_grads: np.ndarray  # ∂loss/∂x for each pixel as read
    readings: list[Reading]  # after 1, 2, … STEPS steps on this image (the first: *_after)
    along: np.ndarray  # the loss read at w − t·η·g for each t of ALONG (the step: t = 1)

    def activations(self, layer: int) -> np.ndarray:
        """Layer 0 is what the network reads; 1… are the neurons' outputs."""
        return self.x if layer == 0 else self.layers[layer - 1].a

    def grads(self, layer: int) -> np.ndarray:
        """∂loss/∂(the outputs of ``layer``); layer 0: the pixels as read."""
        return self.input_grads if layer == 0 else self.layers[layer - 1].grad_a


def backprop(model: MLP, x: np.ndarray, pixels: np.ndarray, target: int | None,
             lr: float = 0.1) -> Backprop:
    """Run the engine forward and backward on one image toward ``target`` (None: the
    network's own guess, read off this same pass), then one SGD step on a copy of ``model``.

    The grads are the engine's ``backward()``, the very floats of its step-by-step walk
    (``backward_steps``, tested bit for bit in the engine); what a neuron passes back to each
    input is that walk's contribution, ∂loss/∂node · ∂node/∂input, computed for those edges
    alone: keeping every node's would slow each studio read.
    """
    walk = _walk(model, x, target)
    target, params, parts, inputs = walk.target, walk.params, walk.parts, walk.inputs
    after = _after_steps(model, params, x, target, lr)
    layers = [_layer(neurons, w_after, b_after)
              for neurons, (w_after, b_after) in zip(parts, after.weights, strict=True)]
    predicted = sum(p.grad * (new - p.data) for p, new in zip(params, after.values, strict=True))
    return Backprop(sizes=(model.nin, *model.nouts), activation=model.activation,
                    x=np.asarray(x, float), pixels=np.asarray(pixels, float),
                    target=target, layers=layers, probabilities=walk.probabilities,
                    loss=walk.loss, lr=lr, loss_after=after.readings[0].loss,
                    probabilities_after=after.readings[0].probabilities,
                    predicted_change=predicted, input_grads=np.array([v.grad for v in inputs]),
                    readings=after.readings, along=after.along)


@dataclass(frozen=True)
class Pass:
    """One image's forward and backward pass, only what the training film keeps: per layer
    (hidden ones, then the outputs) the outputs a and δ = ∂loss/∂z, the engine's floats."""

    a: list[np.ndarray]
    delta: list[np.ndarray]
    probabilities: np.ndarray
    loss: float


def forward_backward(model: MLP, x: np.ndarray, target: int) -> Pass:
    """The engine forward and backward on one image toward ``target``, as :func:`backprop`
    runs them (the same floats), without the SGD steps, the walk's contributions and the
    loss along the step that a film frame does not show (a fifth of backprop's time). It
    sets every parameter's ``.grad`` to this image's gradient."""
    walk = _walk(model, x, target)
    return Pass([np.array([n.out.data for n in layer]) for layer in walk.parts],
                [np.array([n.total.grad for n in layer]) for layer in walk.parts],
                walk.probabilities, walk.loss)


@dataclass(frozen=True)
class _Walked:
    """One image's pass, as :func:`_walk` leaves it: its input Values, probabilities, the
    target, the loss, the parameters (their ``.grad`` this image's) and each layer's neurons'
    parts (``engine.neuron.NeuronParts``, per layer, in the model's order)."""

    inputs: list[Value]
    probabilities: np.ndarray
    target: int
    loss: float
    params: list[Value]
    parts: list[list]


def _walk(model: MLP, x: np.ndarray, target: int | None) -> _Walked:
    """The engine forward and backward on one image toward ``target`` (None: the network's
    own guess, read off this same pass), every parameter's grad set to this image's."""
    inputs = [Value(float(v), label=f"x{i}") for i, v in enumerate(x)]
    logits = model(inputs)
    probabilities = np.array(softmax(logits))
    if target is None:
        target = int(np.argmax(probabilities))
    loss = cross_entropy(logits, target)
    params = model.parameters()
    for p in params:  # (model.zero_grad() walks the model again)
        p.grad = 0.0
    backward(loss)
    # The neurons are found among the interior nodes (a neuron's weights are read off it).
    found = {n.parts.weights: n.parts for n in find_neurons(topological_order(loss,
                                                                               leaves=False))}
    parts = [[found[tuple(neuron.w)] for neuron in layer.neurons] for layer in model.layers]
    return _Walked(inputs, probabilities, target, loss.data, params, parts)


def _sent(neurons) -> np.ndarray:
    """What each neuron passed back to each of its inputs (J, K), the walk's contributions
    ∂loss/∂node · ∂node/∂input (an interior node's grad is complete when the walk passes it
    on, so its final grad is the one the walk multiplied). A product node w·a passes its grad
    times w to a (mul's local derivative for its second input is its first); a wsum node
    passes δ·wₖ to each of its inputs xₖ (its odd inputs)."""
    if all(n.products for n in neurons):
        # The same products the walk made, for 1,440 edges at once (3 ms a read, one at a
        # time); an exact 0 passes exactly 0, as contribution() says.
        g = np.array([[m.grad for m in n.products] for n in neurons])
        w = np.array([[m.parents[0].data for m in n.products] for n in neurons])
        with np.errstate(invalid="ignore"):
            return np.where(w != 0, g * w, 0.0)
    return np.array([[contribution(n.total.grad, local)
                      for local in local_grads(n.total)[1:2 * len(n.weights):2]]
                     for n in neurons])


def _layer(neurons, w_after, b_after) -> LayerNumbers:
    return LayerNumbers(
        z=np.array([n.total.data for n in neurons]), a=np.array([n.out.data for n in neurons]),
        grad_a=np.array([n.out.grad for n in neurons]),
        delta=np.array([n.total.grad for n in neurons]),
        w=np.array([[w.data for w in n.weights] for n in neurons]),
        b=np.array([n.bias.data for n in neurons]),
        grad_w=np.array([[w.grad for w in n.weights] for n in neurons]),
        sent=_sent(neurons), w_after=w_after, b_after=b_after)


@dataclass(frozen=True)
class _After:
    values: list[float]  # every parameter after the first step, in parameters() order
    weights: list[tuple[np.ndarray, np.ndarray]]  # per layer: (w, b) after the first step
    readings: list[Reading]
    along: np.ndarray  # the loss at w − t·η·g for each t of ALONG


@dataclass
class _Scratch:
    """A network of one shape that the after-steps are taken on, with the engine's compiled
    step traced on it once (exact: the eager engine's very floats) and an SGD per η."""

    twin: MLP
    params: list[Value]
    step: CompiledStep
    optimizers: dict[float, SGD] = field(default_factory=dict)

    @functools.cached_property
    def tape_order(self) -> np.ndarray:
        """Where each of the compiled tape's parameters is in ``params`` (it reads its own
        order): a parameter vector in ``params`` order, indexed by it, is the tape's."""
        at = {id(p): i for i, p in enumerate(self.params)}
        return np.array([at[id(p)] for p in self.step.tape.params])


_SCRATCH: dict[tuple, _Scratch] = {}  # by (nin, nouts, activation)
_SCRATCH_LOCK = threading.Lock()  # one after-steps at a time on a scratch network


def _scratch(model: MLP) -> _Scratch:
    """The scratch network of ``model``'s shape (made and traced on first use)."""
    key = (model.nin, tuple(model.nouts), model.activation)
    if key not in _SCRATCH:
        twin = MLP(model.nin, model.nouts, activation=model.activation)
        _SCRATCH[key] = _Scratch(twin, twin.parameters(), compile_step(twin, exact=True))
    return _SCRATCH[key]


def _after_steps(model: MLP, params: list[Value], x, target: int, lr: float) -> _After:
    """w ← w − η·∂loss/∂w from ``model``'s ``params`` and their grads (this image's), the
    image read again by the engine; then STEPS − 1 more steps, each from the engine's new
    grads. The steps are the engine's compiled step on a scratch network of the same shape,
    exact, so every number is the one a copy of the model stepped and read eagerly gives, in
    a fraction of the time building a copy and five graphs of Values takes (the studio reads
    at every stroke)."""
    with _SCRATCH_LOCK:
        scratch = _scratch(model)
        if lr not in scratch.optimizers:  # (momentum 0: an SGD keeps no state between uses)
            scratch.optimizers[lr] = SGD(scratch.params, lr=lr)
        optimizer = scratch.optimizers[lr]
        data, grad = gather(params, "data"), gather(params, "grad")
        along = _along(scratch, data, optimizer.update(np.zeros_like(data), grad), x, target)
        values = optimizer.update(data, grad)
        scatter(scratch.params, "data", values)
        weights = [layer.arrays() for layer in scratch.twin.layers]
        rows, targets = np.asarray(x, float).reshape(1, -1), np.array([target])
        readings = []
        with scratch.step.training(optimizer) as train:
            for step in range(STEPS):
                if step < STEPS - 1:
                    train(rows, targets)  # the reading, then a step from its grads
                    z = train.last_logits[0]
                else:
                    z = train.logits(rows)[0]
                logits = [Value(float(v)) for v in z]
                readings.append(Reading(cross_entropy(logits, target).data,
                                        np.array(softmax(logits))))
    return _After(values.tolist(), weights, readings, along)


def _along(scratch: _Scratch, data: np.ndarray, change: np.ndarray, x, target: int) -> np.ndarray:
    """The loss of the image at w + t·Δw for each t of ALONG, Δw = −η·∂loss/∂w the step's
    change: the engine's compiled forward (exact) with each moved parameter vector, then its
    cross_entropy. The real loss along the step, beside the straight line its slope draws."""
    order = scratch.tape_order
    rows = np.asarray(x, float).reshape(1, -1)
    losses = []
    for t in ALONG:
        z = scratch.step.logits(rows, (data + t * change)[order])[0]
        losses.append(cross_entropy([Value(float(v)) for v in z], target).data)
    return np.array(losses)


CLEARLY_ON = 0.25  # of the layer's largest activation: a neuron a learner sees shaded


def most_influential(bp: Backprop, layer: int) -> int | None:
    """The neuron of a hidden ``layer`` the story follows: the largest |∂loss/∂a| among the
    neurons clearly on (a ≥ 25% of the layer's largest a, so it is visibly shaded), else among
    any that are on; None if none is (a relu that is off passes nothing back)."""
    numbers = bp.layers[layer - 1]
    for active in (numbers.a >= CLEARLY_ON * numbers.a.max(), numbers.a > 0):
        active = active & (numbers.a > 0)
        if active.any():
            return int(np.argmax(np.where(active, np.abs(numbers.grad_a), -1.0)))
    return None
