"""Reverse-mode autodiff over the op table: topological order, backward, steps, ``grad``.

One generic driver walks the graph; what each op contributes comes from ``engine.ops.OPS``.
The chain rule for one node n with grad ∂L/∂n and parents p_i is

    p_i.grad += n.grad · ∂n/∂p_i

applied to the nodes in reverse topological order, so that every node's grad is complete
before it is passed on to its parents.
"""

from __future__ import annotations

import gc
import math
import numbers
from contextlib import contextmanager

from engine.ops import OPS, split_wsum
from engine.value import AnomalyError, Value, _mode, const, describe, enable_grad


@contextmanager
def _gc_paused():
    """Pause Python's cycle collector for a loop that creates no reference cycles.

    Walking a large graph allocates many short-lived objects; each allocation burst can start
    a full collection that re-scans every node of the graph (measured: 2.3× slower topological
    order on a 10⁶-node chain). Nothing here can form a cycle, so the collector has nothing to
    find; it is switched back on (if it was on) however the loop ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def topological_order(root: Value, leaves: bool = True) -> list[Value]:
    """Every node ``root`` depends on, each after all of its parents; ``root`` comes last.

    Iterative depth-first search (no recursion, so a graph a million nodes deep is fine).
    Parents are visited in their stored order, so the order is the same on every run.
    ``leaves=False`` leaves the leaves out (the backward pass only walks interior nodes);
    the root is always there, even a leaf.
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}: {root!r}")
    order: list[Value] = []
    seen = {root}
    # The DFS path, and beside it an iterator over the parents each node still has to visit.
    path, pending = [root], [iter(root.parents)]
    # Bound methods: this loop runs once per node and edge of every backward pass.
    mark, push, push_pending, place = seen.add, path.append, pending.append, order.append
    with _gc_paused():
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


def local_grads(node: Value, symbolic: bool = False) -> tuple:
    """∂node/∂parent_i for each parent, from the op table.

    With ``symbolic=False`` they are floats computed from the data. With ``symbolic=True`` the
    rule is evaluated on the Values themselves, so each local derivative is a new Value (or a
    plain float when it is a constant such as the 1 of an add) that can be differentiated again.
    """
    row = OPS[node.op]
    rule, takes_arg, parents = row.local_grads, row.takes_arg, node.parents
    if symbolic:
        out, xs = node, parents
    else:
        # One or two inputs (almost every node) are passed positionally: ~3× cheaper than
        # gathering a list, and this runs once per node of every backward pass.
        out, n = node.data, len(parents)
        if n == 1:
            x = parents[0].data
            return rule(out, x, node.arg) if takes_arg else rule(out, x)
        if n == 2:
            x, y = parents[0].data, parents[1].data
            return rule(out, x, y, node.arg) if takes_arg else rule(out, x, y)
        xs = [p.data for p in parents]
    return rule(out, *xs, node.arg) if takes_arg else rule(out, *xs)


def _check_backward(node: Value, grad: float, locals_: tuple) -> None:
    for parent, local in zip(node.parents, locals_, strict=True):
        if not (math.isfinite(local) and math.isfinite(grad * local)):
            raise AnomalyError(
                f"detect_anomaly: backward through op {node.op!r} at {describe(node)} gave "
                f"local derivative {local!r} (grad {grad!r}) for input {describe(parent)}"
            )


class _Pass:
    """What the steps of one backward pass share: the order, and names for unlabelled nodes."""

    def __init__(self, order: list[Value], total: int):
        self.order = order
        self.total = total
        self._index: dict[Value, int] | None = None

    def name(self, node: Value) -> str:
        if node.label:
            return node.label
        if node.op == "const":
            return f"{node.data:g}"
        if self._index is None:  # built on first print only: backward() never pays for it
            self._index = {n: i for i, n in enumerate(self.order)}
        return f"v{self._index[node]}"


class Step:
    """One node's chain-rule step in a backward pass, as yielded by :func:`backward_steps`.

    ``node`` is the node whose grad is now complete and being passed on; ``grad`` its grad;
    ``local_grads[i]`` is ∂node/∂parent_i; ``parent_grads[i]`` the parent's grad right after
    this step. Printing a step shows the chain rule with the numbers.
    """

    __slots__ = ("node", "grad", "local_grads", "parent_grads", "index", "_pass")

    def __init__(self, node, grad, local_grads, parent_grads, index, pass_):
        self.node = node
        self.grad = grad
        self.local_grads = local_grads
        self.parent_grads = parent_grads
        self.index = index
        self._pass = pass_

    @property
    def parents(self) -> tuple:
        return self.node.parents

    @property
    def total(self) -> int:
        """How many steps this backward pass has."""
        return self._pass.total

    @property
    def contributions(self) -> tuple:
        """grad · ∂node/∂parent_i: what this step added to each parent's grad."""
        return tuple(self.grad * local for local in self.local_grads)

    def __repr__(self) -> str:
        node, name = self.node, self._pass.name
        row = OPS[node.op]
        n = name(node)
        fields = _formula_fields(node, name)
        lines = [
            f"step {self.index} of {self._pass.total}: {n} = {formula(node, name)} = "
            f"{node.data:.4g}, "
            f"{n}.grad = {self.grad:.4g}"
        ]
        for i, (parent, local, new) in enumerate(
                zip(node.parents, self.local_grads, self.parent_grads, strict=True)):
            p = name(parent)
            # n-ary ops have one formula for all inputs; other ops have one per input.
            rule = row.grad_formulas[min(i, len(row.grad_formulas) - 1)].format(
                **fields, partner=_partner(node, i, name))
            value = f"{local:.4g}"
            derivative = f"∂{n}/∂{p} = {rule}" + ("" if rule == value else f" = {value}")
            lines.append(
                f"  {derivative:<28}  {p}.grad += {self.grad:.4g} × {value}"
                f" = {self.grad * local:.4g}  → {new:.4g}"
            )
        return "\n".join(lines)


def _formula_fields(node: Value, name) -> dict[str, str]:
    """What the op table's formula templates refer to: {out}, {x}, {y} and {c}."""
    fields = {"out": name(node), "c": f"{node.arg:g}" if OPS[node.op].takes_arg else ""}
    fields.update(zip("xy", (name(p) for p in node.parents), strict=False))
    return fields


def _partner(node: Value, i: int, name) -> str:
    """For a ``wsum`` node, the input that input i is multiplied by (``1`` for the bias)."""
    if node.op != "wsum" or i >= 2 * len(split_wsum(node.parents)[0]):
        return "1"
    return name(node.parents[i ^ 1])


def formula(node: Value, name) -> str:
    """How ``node`` was computed, in the names ``name(node)`` gives: ``a × b``, ``tanh(e)``,
    ``a + b + c``, ``max(a, b)``, ``w0·x0 + w1·x1 + b``."""
    row = OPS[node.op]
    if row.arity != -1:
        return row.formula.format(**_formula_fields(node, name))
    names = [name(p) for p in node.parents]
    if node.op == "wsum":
        ws, xs, rest = split_wsum(names)
        return " + ".join([f"{w}·{x}" for w, x in zip(ws, xs, strict=True)] + rest)
    return " + ".join(names) if node.op == "sum" else f"{node.op}({', '.join(names)})"


def _seed(output: Value, grad) -> float:
    if not isinstance(output, Value):
        raise TypeError(f"backward needs a Value, got {type(output).__name__}: {output!r}")
    if isinstance(grad, bool) or not isinstance(grad, numbers.Real):
        raise TypeError(f"backward: grad must be a real number, got {type(grad).__name__}")
    return float(grad)


def backward_steps(output: Value, grad: float = 1.0):
    """Run the backward pass of ``output`` one node at a time, yielding a :class:`Step` each.

    Lazy: nothing happens until the first ``next()``; each ``next()`` applies the chain rule
    for exactly one interior node, in reverse topological order. On the first ``next()`` the
    grads of all interior nodes are reset to 0 and ``output.grad`` is set to ``grad``. Leaf
    grads accumulate across passes, as with :meth:`Value.backward` (which runs this same pass).

    >>> from engine import Value
    >>> a, b = Value(0.5, label="a"), Value(-3.0, label="b")
    >>> c = (a * b).tanh(); c.label = "c"
    >>> steps = backward_steps(c)
    >>> next(steps)
    step 1 of 2: c = tanh(v2) = -0.9051, c.grad = 1
      ∂c/∂v2 = 1 − c² = 0.1807      v2.grad += 1 × 0.1807 = 0.1807  → 0.1807
    >>> a.grad    # not reached yet
    0.0
    """
    return _chain_rule(output, _seed(output, grad), record=True)  # bad arguments fail here


def _chain_rule(output: Value, seed: float, record: bool):
    """The backward pass, as a generator: one chain-rule step per interior node.

    With ``record`` it yields a :class:`Step` per node; without, it yields nothing and only
    fills in grads (what :func:`backward` needs: the same loop, minus the bookkeeping).
    """
    if not record and not _mode.anomaly:  # backward(): interior nodes only, no bookkeeping
        if output.parents:
            order = topological_order(output, leaves=False)
            for node in order:
                node.grad = 0.0
            output.grad = seed
            _apply_chain_rule(order)
        else:
            output.grad += seed
        return
    order = topological_order(output)
    total = 0
    for node in order:
        if node.parents:
            node.grad = 0.0
            total += 1
    if output.parents:
        output.grad = seed
    else:
        output.grad += seed
    pass_ = _Pass(order, total)
    index = 0
    for node in reversed(order):
        parents = node.parents
        if not parents:
            continue
        index += 1
        g = node.grad
        locals_ = local_grads(node)
        if _mode.anomaly:
            _check_backward(node, g, locals_)
        if record:
            new_grads = []  # each parent's grad right after its contribution (a*a adds twice)
            for parent, local in zip(parents, locals_, strict=True):
                parent.grad += g * local
                new_grads.append(parent.grad)
            yield Step(node, g, locals_, new_grads, index, pass_)
        else:
            for parent, local in zip(parents, locals_, strict=True):
                parent.grad += g * local


def _apply_chain_rule(order: list[Value]) -> None:
    """The loop of :func:`_chain_rule` with nothing recorded or checked, written for speed
    (it runs once per node of every training step): the rule is looked up once per op, and
    the common one- and two-input nodes skip the generic gather and ``zip``. Same
    arithmetic in the same order, so the same grads to the last bit (tested)."""
    rules = {name: (row.local_grads, row.takes_arg) for name, row in OPS.items()}
    for node in reversed(order):  # interior nodes only
        parents = node.parents
        g = node.grad
        rule, takes_arg = rules[node.op]
        n = len(parents)
        if n == 2 and not takes_arg:
            x, y = parents
            dx, dy = rule(node.data, x.data, y.data)
            x.grad += g * dx
            y.grad += g * dy
        elif n == 1:
            (x,) = parents
            (dx,) = rule(node.data, x.data, node.arg) if takes_arg else rule(node.data, x.data)
            x.grad += g * dx
        else:
            for parent, local in zip(parents, local_grads(node), strict=True):
                parent.grad += g * local


def backward(output: Value, grad: float = 1.0) -> None:
    """Fill ``.grad`` of every node ``output`` depends on: the pass of :func:`backward_steps`,
    run to the end without recording steps."""
    # No user code runs inside this pass, so the collector can stay paused throughout.
    with _gc_paused():
        for _ in _chain_rule(output, _seed(output, grad), record=False):
            pass


def _times(g, local):
    # Skip multiplying by an exact 1: in create_graph mode it would add a useless node.
    if isinstance(local, float) and local == 1.0:
        return g
    if isinstance(g, float) and g == 1.0:
        return local
    return g * local


def grad(output: Value, inputs, create_graph: bool = False) -> list:
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
    inputs = [inputs] if isinstance(inputs, Value) else list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(x).__name__}")
    if create_graph:  # the grads must be recorded as graphs, even inside no_grad()
        with enable_grad():
            return _grad(output, inputs, True)
    return _grad(output, inputs, False)


def _grad(output: Value, inputs: list, create_graph: bool) -> list:
    order = topological_order(output)
    grads: dict[Value, object] = {output: 1.0}
    for node in reversed(order):
        if not node.parents or node not in grads:
            continue
        g = grads[node]
        locals_ = local_grads(node, symbolic=create_graph)
        if _mode.anomaly and not create_graph:
            _check_backward(node, g, locals_)
        for parent, local in zip(node.parents, locals_, strict=True):
            contribution = _times(g, local)
            grads[parent] = grads[parent] + contribution if parent in grads else contribution
    results = [grads.get(x, 0.0) for x in inputs]
    if create_graph:
        results = [r if isinstance(r, Value) else const(r) for r in results]
    return results
