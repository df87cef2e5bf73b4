"""Pictures of computation graphs: ``draw_dot``, backward frames, and ``python -m engine.viz``.

>>> from engine import Value
>>> from engine.viz import draw_dot
>>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
>>> dot = draw_dot((a * b).tanh())      # a graphviz.Digraph: shows inline in a notebook
>>> "{ a | data 2.0000 | grad 0.0000 }" in dot.source   # each value: label | data | grad
True
"""

from engine.neuron import FoundNeuron, find_neurons
from engine.viz.dot import COLLAPSE_ABOVE, GraphTooLargeError, draw_dot
from engine.viz.html import Inline, export_html, show, stepper_page
from engine.viz.render import GraphvizMissingError, backward_frames, render

__all__ = [
    "COLLAPSE_ABOVE", "FoundNeuron", "GraphTooLargeError", "GraphvizMissingError", "Inline",
    "backward_frames", "draw_dot", "export_html", "find_neurons", "render", "show",
    "stepper_page",
]
