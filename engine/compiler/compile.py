"""Compile a scalar graph once and run it over whole batches with numpy.

A training step builds the same graph for every example; only the input numbers differ. So
trace the graph once, lower it to a tape in topological order, and run that tape over a batch:
each node holds a numpy vector with one number per example. Nodes with the same op at the same
depth run as one numpy call (gather their inputs, apply the op, scatter the results), so the
number of numpy calls grows with the depth of the graph, not with its size.

Forward values and local derivatives come from the same op table as the eager engine (its
rules are written to work on arrays too), so compiled and eager results agree to rounding.

Neurons (as ``engine.neuron`` defines them) whose weights are parameters of the tape are fused
further: all such neurons at one depth that read the same inputs x_1…x_K form a layer, and run
as one :class:`engine.compiler.layer.NeuronLayer`, the batched ``wsum`` row: forward one matrix
product, backward two. Their product nodes get no rows: ``fuse=False`` keeps every node.

Kinks are decided exactly as the eager engine decides them: every number a matrix product
touched carries a bound on its distance from eager's, and an example where a kink (or a pole)
is within reach is computed again the eager way; ``engine.compiler.exactness`` tells how, and
why the other examples differ from eager's by rounding only.

The rule: the graph must not depend on the data. A Python ``if`` on a value, or a number
computed from a value and written into the graph as a constant, would make another example's
graph different. :func:`trace` traces two different examples and refuses (``TraceError``,
naming the first node that differs) when their graphs are not the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.autodiff import topological_order
from engine.compiler.tape import Batch, Tape, TraceError
from engine.mode import enable_grad
from engine.node import Node
from engine.value import Value

__all__ = ["Batch", "Tape", "TraceError", "compile", "trace"]


def trace(output_fn, example_inputs: list, params: Sequence[Node], check_with=None,
          fuse: bool = True, exact: bool = False) -> Tape:
    """Trace ``output_fn(input_values) -> Value`` once and return a :class:`Tape`.

    ``example_inputs`` are numbers for one example. If ``check_with`` (numbers for another
    example) is given, the function is traced again on it and the two graphs must be the same,
    or :class:`TraceError` names the first node that differs. ``fuse=False`` runs neurons node
    by node instead of as layer kernels (slower; every node then has a row). ``exact=True``
    adds every layer's products in the eager order instead of a matrix product, and computes
    exp, tanh, pow… with Python's ``math``: every value is then the very float the eager
    engine computes (slower, far slower with library functions; by default only the
    examples that sit at a kink are computed that way, see the module docstring).
    """
    with enable_grad():  # a trace must record, even inside no_grad()
        out, leaves = _trace_once(output_fn, example_inputs)
    tape = Tape(out, leaves, params, fuse=fuse, exact=exact)
    if check_with is not None:
        with enable_grad():
            other, other_leaves = _trace_once(output_fn, check_with)
        _check_same_graph(tape.order, leaves, topological_order(other), other_leaves)
    return tape


compile = trace  # noqa: A001 - the name this function had first; prefer ``trace``


def _trace_once(output_fn, numbers) -> tuple[Node, list[Value]]:
    leaves = [Value(float(x), label=f"in{i}") for i, x in enumerate(numbers)]
    out = output_fn(leaves)
    if not isinstance(out, Value):
        raise TypeError(f"compile: the function must return a Value, got "
                        f"{type(out).__name__}")
    return out, leaves


def _check_same_graph(order: list[Node], leaves: list, other_order: list[Node],
                      other_leaves: list) -> None:
    a = _structure(order, {n: i for i, n in enumerate(order)}, set(leaves))
    b = _structure(other_order, {n: i for i, n in enumerate(other_order)}, set(other_leaves))
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            raise TraceError(
                f"the graph depends on the data, so it cannot be compiled: node {i} is "
                f"{_describe(x)} for one example and {_describe(y)} for another. Write the "
                "function without Python `if`s on values or numbers taken from "
                "`.data` (use ops such as relu and max instead)")
    if len(a) != len(b):
        raise TraceError(f"the graph depends on the data, so it cannot be compiled: "
                         f"{len(a)} nodes for one example, {len(b)} for another")


def _describe(entry: tuple) -> str:
    op, parents, arg, bits = entry
    if bits is not None:
        return f"{'the constant' if op == 'const' else 'a leaf holding'} {float.fromhex(bits)!r}"
    arg = None if arg is None else float.fromhex(arg)
    return f"op {op or 'leaf'!r}" + (f" with arg {arg!r}" if arg is not None else "") + (
        f" reading nodes {list(parents)}" if parents else "")


def _structure(order: list[Node], slots: dict, inputs: set) -> list[tuple]:
    """What must be identical between two traces: ops, wiring, args, and the value of every
    leaf that is not an input (constants, and any Value made from a number of the data).
    Values are compared by their bits, so a nan equals a nan."""
    return [(n.op, tuple(slots[p] for p in n.parents),
             None if n.arg is None else float(n.arg).hex(),
             None if n.parents or n in inputs else float(n.data).hex()) for n in order]
