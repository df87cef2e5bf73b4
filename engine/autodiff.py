"""Reverse-mode autodiff over the op table: topological order, backward, steps, ``grad``.

One generic driver walks the graph; what each op contributes comes from ``engine.ops.OPS``.
The chain rule for one node n with grad ∂L/∂n and parents p_i is

    p_i.grad += n.grad · ∂n/∂p_i

applied to the nodes in reverse topological order, so that every node's grad is complete
before it is passed on to its parents. :func:`chain_rule_step` is that rule for one node,
written once: :func:`backward_steps` applies it one node at a time to ``.grad`` and yields a
:class:`Step` each; :func:`grad` applies it without touching ``.grad``, on floats or on Values
(higher order); :func:`backward` runs the same arithmetic in a loop unrolled for one- and
two-input nodes, tested bit for bit against the shared step (it drains the steps instead under
``detect_anomaly``, which checks every step).

This module works on :class:`engine.node.Node` fields only; ``engine.value`` builds on it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

from engine import display
from engine.mode import MODE, AnomalyError, enable_grad, no_cycle_collection
from engine.node import Node
from engine.ops import OPS
from engine.text import NodeNames, describe, step_text

N = TypeVar("N", bound=Node)  # grad(create_graph=True) returns nodes of its output's class


def _check_node(x: object, who: str) -> None:
    if not isinstance(x, Node):
        raise TypeError(f"{who} needs a Value, got {type(x).__name__}: {x!r}")


def topological_order(root: Node, leaves: bool = True) -> list[Node]:
    """Every node ``root`` depends on, each after all of its parents; ``root`` comes last.

    Iterative depth-first search (no recursion, so a graph a million nodes deep is fine).
    Parents are visited in their stored order, so the order is the same on every run.
    ``leaves=False`` leaves the leaves out (the backward pass only walks interior nodes);
    the root is always there, even a leaf.
    """
    if not isinstance(root, Node):
        raise TypeError(f"expected a Value, got {type(root).__name__}: {root!r}")
    order: list[Node] = []
    seen = {root}
    # The DFS path, and beside it an iterator over the parents each node still has to visit.
    path, pending = [root], [iter(root.parents)]
    # Bound methods: this loop runs once per node and edge of every backward pass.
    mark, push, push_pending, place = seen.add, path.append, pending.append, order.append
    with no_cycle_collection():
        while path:
            for parent in pending[-1]:
                if not parent.parents:  # a leaf is placed at once (half of an MLP's nodes
                    if leaves and parent not in seen:  # are weights): same order, less work
                        mark(parent)
                        place(parent)
                    continue
                if parent not in seen:
                    mark(parent)
                    push(parent)
                    push_pending(iter(parent.parents))
                    break
            else:  # all parents of path[-1] are placed: place it
                place(path.pop())
                pending.pop()
    return order


def local_grads(node: Node, symbolic: bool = False) -> tuple[Any, ...]:
    """∂node/∂parent_i for each parent, from the op table.

    With ``symbolic=False`` they are floats computed from the data. With ``symbolic=True`` the
    rule is evaluated on the Values themselves, so each local derivative is a new Value (or a
    plain float when it is a constant such as the 1 of an add) that can be differentiated again.
    """
    row = OPS[node.op]
    if symbolic:
        return row.derivatives(node, node.parents, node.arg)
    return row.derivatives(node.data, [p.data for p in node.parents], node.arg)


def chain_rule_step(grad: Any, locals_: Sequence[Any]) -> list[Any]:
    """One node's chain-rule step: for each parent p_i, what it receives, grad · ∂node/∂p_i,
    given the node's ``grad`` and ``locals_`` = (∂node/∂p_i) (floats, or Values when the grads
    are recorded as graphs). A parent whose local derivative is a plain number exactly 0
    receives ``None``, nothing, even from an infinite grad (see :func:`contribution`); a Value
    0 is kept, since its own derivative need not be 0."""
    return [_times(grad, local) if isinstance(local, Node) or local else None
            for local in locals_]


def pass_on(node: Node, grad: float, locals_: Sequence[float]) -> tuple[float, ...]:
    """Apply :func:`chain_rule_step` to the parents' ``.grad``; each parent's grad right
    after its contribution (``a * a`` adds to ``a`` twice)."""
    after = []
    for parent, passed in zip(node.parents, chain_rule_step(grad, locals_), strict=True):
        if passed is not None:
            parent.grad += passed
        after.append(parent.grad)
    return tuple(after)


def _check_backward(node: Node, grad: float, locals_: tuple[float, ...]) -> None:
    for parent, local in zip(node.parents, locals_, strict=True):
        if not (math.isfinite(local) and math.isfinite(grad * local)):
            raise AnomalyError(
                f"detect_anomaly: backward through op {node.op!r} at {describe(node)} gave "
                f"local derivative {local!r} (grad {grad!r}) for input {describe(parent)}"
            )


@dataclass(frozen=True, slots=True, repr=False)
class Step:
    """One node's chain-rule step in a backward pass, as yielded by :func:`backward_steps`.

    ``node`` is the node whose grad is now complete and being passed on; ``grad`` its grad;
    ``local_grads[i]`` is ∂node/∂parent_i; ``parent_grads[i]`` the parent's grad right after
    this step (``a * a`` adds to ``a`` twice). ``index`` counts the steps from 1 to ``total``;
    ``names`` is the pass's naming of nodes (:class:`engine.text.NodeNames`). Printing a step
    shows the chain rule with the numbers.
    """

    node: Node
    grad: float
    local_grads: tuple[float, ...]
    parent_grads: tuple[float, ...]
    index: int
    total: int
    names: NodeNames

    @property
    def parents(self) -> tuple[Node, ...]:
        return self.node.parents

    @property
    def contributions(self) -> tuple[float, ...]:
        """grad · ∂node/∂parent_i: what this step added to each parent's grad (exactly 0
        where the local derivative is exactly 0, even for an infinite grad: see
        :func:`contribution`)."""
        passed = chain_rule_step(self.grad, self.local_grads)
        return tuple(0.0 if p is None else p for p in passed)

    def __repr__(self) -> str:
        return step_text(self)

    def _repr_mimebundle_(self, include: object = None,
                          exclude: object = None) -> dict[str, Any] | None:
        return display.bundle(self)


class BackwardSteps:
    """The backward pass of one output, one :class:`Step` per ``next()``.

    Lazy: nothing changes until the first ``next()``, which resets the grads of all interior
    nodes to 0 and sets the output's grad to the seed; each ``next()`` then applies the chain
    rule for exactly one interior node, in reverse topological order. Leaf grads accumulate
    across passes, as with :func:`backward`.
    """

    def __init__(self, output: Node, seed: float) -> None:
        self.output, self.seed = output, seed
        self._order: list[Node] | None = None
        self._walk: Iterator[Step] | None = None
        self.done = 0  # steps taken so far

    @property
    def order(self) -> list[Node]:
        """Every node of the graph, in topological order (the output last)."""
        if self._order is None:
            self._order = topological_order(self.output)
        return self._order

    @property
    def total(self) -> int:
        """How many steps the pass has: one per interior node."""
        return sum(1 for node in self.order if node.parents)

    def __iter__(self) -> BackwardSteps:
        return self

    def __next__(self) -> Step:
        if self._walk is None:
            self._walk = self._steps()
        step = next(self._walk)
        self.done += 1
        return step

    def _repr_mimebundle_(self, include: object = None,
                          exclude: object = None) -> dict[str, Any] | None:
        return display.bundle(self)

    def __repr__(self) -> str:
        nodes, left = len(self.order), self.total - self.done
        return (f"backward pass over {nodes:,} node{'s' * (nodes != 1)}, "
                f"{left:,} step{'s' * (left != 1)} left")

    def _steps(self) -> Iterator[Step]:
        order, output = self.order, self.output
        total = self.total
        for node in order:
            if node.parents:
                node.grad = 0.0
        if output.parents:
            output.grad = self.seed
        else:
            output.grad += self.seed
        names, index = NodeNames(order), 0
        for node in reversed(order):
            if not node.parents:
                continue
            index += 1
            g, locals_ = node.grad, local_grads(node)
            if MODE.anomaly:
                _check_backward(node, g, locals_)
            yield Step(node, g, locals_, pass_on(node, g, locals_), index, total, names)


def _seed(output: Node, grad: object) -> float:
    _check_node(output, "backward")
    if isinstance(grad, bool) or not isinstance(grad, numbers.Real):
        raise TypeError(f"backward: grad must be a real number, got {type(grad).__name__}")
    return float(grad)


def backward_steps(output: Node, grad: float = 1.0) -> BackwardSteps:
    """Run the backward pass of ``output`` one node at a time: see :class:`BackwardSteps`.

    >>> from engine import Value
    >>> a, b = Value(0.5, label="a"), Value(-3.0, label="b")
    >>> c = (a * b).tanh(); c.label = "c"
    >>> steps = backward_steps(c)
    >>> steps
    backward pass over 4 nodes, 2 steps left
    >>> next(steps)
    step 1 of 2: c = tanh(v2) = -0.9051, c.grad = 1
      ∂c/∂v2 = 1 − c² = 0.1807      v2.grad += 1 × 0.1807 = 0.1807  → 0.1807
    >>> a.grad    # not reached yet
    0.0
    """
    return BackwardSteps(output, _seed(output, grad))  # bad arguments fail here


def backward(output: Node, grad: float = 1.0) -> None:
    """Fill ``.grad`` of every node ``output`` depends on: the pass of :func:`backward_steps`,
    run to the end without making steps (under ``detect_anomaly`` it drains the steps, which
    check each one)."""
    seed = _seed(output, grad)
    if MODE.anomaly:
        for _ in BackwardSteps(output, seed):
            pass
        return
    if not output.parents:
        output.grad += seed
        return
    # No user code runs inside this pass, so the collector can stay paused throughout.
    with no_cycle_collection():
        order = _interior_order(output)  # their grads are 0 now
        output.grad = seed
        _apply_chain_rule(order)


def _interior_order(root: Node) -> list[Node]:
    """``topological_order(root, leaves=False)``, the same list, made for :func:`backward`,
    with every node's grad set to 0. The 0 is a float object made for this walk alone, and a
    node holding that very object has been visited: a mark that costs nothing to clear (the
    grads are reset anyway), where a set of the visited nodes costs time at every edge and, on
    a graph of millions of nodes, tens of megabytes. Interrupted, it leaves 0s behind.

    It walks by recursion, which Python runs faster than a stack of its own, and falls back to
    the stack for a graph deeper than Python's recursion limit."""
    try:
        return _order_by_recursion(root, float("0"))  # a new object, unlike the literal 0.0
    except RecursionError:
        return _order_by_stack(root, float("0"))


def _order_by_recursion(root: Node, zero: float) -> list[Node]:
    order: list[Node] = []
    root.grad = zero
    _visit(root, zero, order.append)
    return order


def _visit(node: Node, zero: float, place: Callable[[Node], None]) -> None:
    # (a function of the module, not a closure: a closure that calls itself is a reference
    # cycle, which would keep `order`, the whole graph, alive until the collector ran)
    for parent in node.parents:
        if parent.parents and parent.grad is not zero:
            parent.grad = zero
            _visit(parent, zero, place)
    place(node)


def _order_by_stack(root: Node, zero: float) -> list[Node]:
    order: list[Node] = []
    root.grad = zero
    path, pending = [root], [iter(root.parents)]
    push, push_pending, place = path.append, pending.append, order.append
    while path:
        for parent in pending[-1]:
            if parent.parents and parent.grad is not zero:
                parent.grad = zero
                push(parent)
                push_pending(iter(parent.parents))
                break
        else:  # all parents of path[-1] are placed: place it
            place(path.pop())
            pending.pop()
    return order


def _apply_chain_rule(order: list[Node]) -> None:
    """:func:`chain_rule_step` over interior nodes, applied to ``.grad`` with nothing recorded,
    unrolled because it runs once per node of every training step: the ops whose table row
    gives a ``chain`` shape (add, sub, mul, sum) have their rule written out here (g · 1 is g
    and g · −1 is −g to the bit, so the ±1 shapes skip the product), the others' rule is looked
    up once per op, and no node builds :func:`pass_on`'s lists. The same arithmetic in the
    same order, so the same grads to the last bit (tested against :func:`pass_on`)."""
    plan = {name: (row.chain, row.local_grads, row.takes_arg) for name, row in OPS.items()}
    for node in reversed(order):
        parents = node.parents
        g = node.grad
        shape, rule, takes_arg = plan[node.op]
        # `if d:` skips an exact 0 (a nan is true), as chain_rule_step does: g · d otherwise.
        if shape == "swapped":
            x, y = parents
            dx, dy = y.data, x.data
            if dx:
                x.grad += g * dx
            if dy:
                y.grad += g * dy
        elif shape == "one, one":
            x, y = parents
            x.grad += g
            y.grad += g
        elif shape == "ones":
            for parent in parents:
                parent.grad += g
        elif shape:  # "one, minus one"
            x, y = parents
            x.grad += g
            y.grad -= g
        else:
            _other_rule(node, g, rule, takes_arg)


def _other_rule(node: Node, g: float, rule: Any, takes_arg: bool) -> None:
    """One node of an op without a written-out rule, for :func:`_apply_chain_rule`."""
    parents = node.parents
    n = len(parents)
    if n == 2 and not takes_arg:
        x, y = parents
        dx, dy = rule(node.data, x.data, y.data)
        if dx:
            x.grad += g * dx
        if dy:
            y.grad += g * dy
    elif n == 1:
        (x,) = parents
        (dx,) = rule(node.data, x.data, node.arg) if takes_arg else rule(node.data, x.data)
        if dx:
            x.grad += g * dx
    else:  # a neuron's wsum or a max, inline too: pass_on builds two lists per node
        for parent, local in zip(parents, local_grads(node), strict=True):
            if local:
                parent.grad += g * local


def copy_graph(root: Node) -> tuple[Node, dict[Node, Node]]:
    """A copy of everything ``root`` depends on: new nodes of the same class with the same
    data, grad, label, op, arg and wiring (so the same topological order), and the map from
    each original node to its copy. Pictures and pages run their passes on a copy, so that
    the user's ``.grad`` stay exactly as they were."""
    _check_node(root, "copy_graph")
    twin: dict[Node, Node] = {}
    for node in topological_order(root):
        copy = object.__new__(type(node))
        copy.data, copy.grad, copy.label = node.data, node.grad, node.label
        copy.op, copy.arg = node.op, node.arg
        copy.parents = tuple(twin[p] for p in node.parents)
        twin[node] = copy
    return twin[root], twin


def zero_grad(root: Node) -> None:
    """Set the grad of every node ``root`` depends on (``root`` too) to 0."""
    _check_node(root, "zero_grad")
    for node in topological_order(root):
        node.grad = 0.0


def contribution(grad: float, local: float) -> float:
    """What a node with ``grad`` passes to an input through the local derivative ``local``:
    grad · local, but exactly 0 when ``local`` is exactly 0, even for an infinite grad
    (relu below 0, a max input that is not the max, x**0 select, they do not scale: PyTorch
    and JAX agree)."""
    return grad * local if local else 0.0


def _times(g: Any, local: Any) -> Any:
    # Skip multiplying by an exact 1: in create_graph mode it would add a useless node. A
    # plain number 0 contributes 0 (see contribution()); a Value 0 is kept, since its own
    # derivative need not be 0.
    if isinstance(local, float) and local == 1.0:
        return g
    if isinstance(local, (float, int)) and local == 0:
        return 0.0
    if isinstance(g, float) and g == 1.0:
        return local
    return g * local


@overload
def grad(output: Node, inputs: Node | Iterable[Node],
         create_graph: Literal[False] = False) -> list[float]: ...
@overload
def grad(output: N, inputs: Node | Iterable[Node], create_graph: Literal[True]) -> list[N]: ...
@overload
def grad(output: Node, inputs: Node | Iterable[Node], create_graph: bool) -> list[Any]: ...
def grad(output: Node, inputs: Node | Iterable[Node], create_graph: bool = False) -> list[Any]:
    """∂output/∂x for each x in ``inputs``, without touching any ``.grad``.

    Returns a list with one entry per input (0.0 for an input ``output`` does not depend on).
    With ``create_graph=True`` every entry is a Value built from the same op table, so it can be
    differentiated again: second and third derivatives, Hessian-vector products.

    >>> from engine import Value
    >>> x = Value(3.0)
    >>> (dy,) = grad(x ** 3, [x], create_graph=True)   # 3x² = 27
    >>> (d2y,) = grad(dy, [x]); dy.data, d2y            # 6x = 18
    (27.0, 18.0)
    """
    _check_node(output, "grad")
    inputs = [inputs] if isinstance(inputs, Node) else list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Node):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(x).__name__}")
    if create_graph:  # the grads must be recorded as graphs, even inside no_grad()
        with enable_grad():
            results = _grad(output, inputs, True)
        # A grad that stayed a plain number (1 through adds, 0 if unreached) as a constant.
        return [r if isinstance(r, Node) else type(output).constant(r) for r in results]
    return _grad(output, inputs, False)


def _grad(output: Node, inputs: list[Node], create_graph: bool) -> list[Any]:
    grads: dict[Node, Any] = {output: 1.0}
    for node in reversed(topological_order(output)):
        if not node.parents or node not in grads:
            continue
        g = grads[node]
        locals_ = local_grads(node, symbolic=create_graph)
        if MODE.anomaly and not create_graph:
            _check_backward(node, g, locals_)
        for parent, passed in zip(node.parents, chain_rule_step(g, locals_), strict=True):
            passed = 0.0 if passed is None else passed  # a parent reached, even by nothing
            grads[parent] = grads[parent] + passed if parent in grads else passed
    return [grads.get(x, 0.0) for x in inputs]
