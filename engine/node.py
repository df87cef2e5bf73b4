"""``Node``: a node of a computation graph, as plain data.

A node holds ``data`` and ``grad`` (floats), a ``label``, the name of the ``op`` that made it
(``""`` for a leaf you create, ``"const"`` for a number written into an expression such as the
2 in ``a * 2``), its ordered ``parents`` and, for a few ops, a constant ``arg`` (the 2 in
``a ** 2``). The graph algorithms (``engine.autodiff``), the names and formulas
(``engine.text``) and the pictures read nothing else. :class:`engine.Value` is the node you
compute with: it adds the arithmetic that records new nodes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import attrgetter
from typing import Any, SupportsFloat

import numpy as np

from engine import display


class Node:
    """The fields of a graph node; see the module docstring. Build Values, not Nodes."""

    __slots__ = ("data", "grad", "label", "op", "parents", "arg")
    # The fields' types, for type checkers (annotations only: the slots hold the values).
    data: float
    grad: float
    label: str
    op: str
    parents: tuple[Node, ...]
    arg: float | None

    @property
    def is_leaf(self) -> bool:
        """True for a node with no parents (a leaf you made, or a constant)."""
        return not self.parents

    def _repr_mimebundle_(self, include: object = None,
                          exclude: object = None) -> dict[str, Any] | None:
        """A notebook's rich display (see ``engine.display``); ``repr`` stays plain text."""
        return display.bundle(self)

    @classmethod
    def constant(cls, x: SupportsFloat) -> Node:
        """A node of this class for the number ``x`` written into an expression (op
        ``"const"``): the graph algorithms make constants of the graph's own class with it."""
        raise NotImplementedError(f"{cls.__name__} cannot make constants")


NUMBERS = ("data", "grad")  # the fields that hold a node's numbers


def gather(nodes: Sequence[Node], field: str) -> np.ndarray:
    """``[n.data for n in nodes]`` (or ``.grad``) as a float vector, without a Python loop
    (a compiled training block reads every parameter this way at every step)."""
    return np.fromiter(map(attrgetter(_number_field(field)), nodes), float, len(nodes))


def scatter(nodes: Sequence[Node], field: str, numbers: np.ndarray) -> None:
    """``n.data = x`` (or ``.grad``) for each node and the matching number, without a Python
    loop."""
    if len(numbers) != len(nodes):
        raise ValueError(f"{len(numbers)} numbers for {len(nodes)} nodes")
    _set_each(nodes, field, numbers.tolist())


def fill(nodes: Sequence[Node], field: str, x: float) -> None:
    """``n.grad = x`` (or ``.data``) for every node, without a Python loop."""
    _set_each(nodes, field, repeat(x, len(nodes)))


def _set_each(nodes: Sequence[Node], field: str, numbers: Iterable[float]) -> None:
    deque(map(getattr(Node, _number_field(field)).__set__, nodes, numbers), maxlen=0)


def _number_field(field: str) -> str:
    if field not in NUMBERS:
        raise ValueError(f"a node's numbers are {' and '.join(NUMBERS)}, not {field!r}")
    return field
