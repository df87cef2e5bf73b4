"""Backward pass: golden values by hand, reuse, accumulation semantics, steps, deep graphs."""

import math
import sys

import pytest

import engine
from engine import Value, backward_steps, topological_order
from engine.autodiff import chain_rule_step, pass_on
from tests.conftest import labelled_example


def test_golden_linear():
    # f = a·b + c  ⇒  ∂f/∂a = b, ∂f/∂b = a, ∂f/∂c = 1
    a, b, c = Value(2.0), Value(-3.0), Value(10.0)
    f = a * b + c
    f.backward()
    assert (f.data, a.grad, b.grad, c.grad, f.grad) == (4.0, -3.0, 2.0, 1.0, 1.0)


def test_golden_neuron():
    # o = tanh(n), n = x1·w1 + x2·w2 + b chosen so that o = 1/√2, hence 1 − o² = 1/2:
    # ∂o/∂x1 = w1/2, ∂o/∂w1 = x1/2, ∂o/∂x2 = w2/2, ∂o/∂w2 = x2/2, ∂o/∂b = 1/2.
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    b = Value(6.0 + math.atanh(1 / math.sqrt(2)))
    o = engine.sum([x1 * w1, x2 * w2, b]).tanh()
    o.backward()
    assert o.data == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    expected = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}
    got = {"x1": x1.grad, "w1": w1.grad, "x2": x2.grad, "w2": w2.grad, "b": b.grad}
    assert got == pytest.approx(expected, rel=1e-14, abs=1e-15)


def test_reuse_square_and_doubling():
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0  # both inputs of the mul contribute (a set would keep only one)
    b = Value(3.0)
    (b + b).backward()
    assert b.grad == 2.0


def test_diamond():
    # a feeds two branches that meet again: d = (2a)·(a + 1) ⇒ ∂d/∂a = 2(a + 1) + 2a = 14 at 3
    a = Value(3.0)
    d = (a * 2) * (a + 1)
    d.backward()
    assert (d.data, a.grad) == (24.0, 14.0)


def test_second_backward_accumulates_leaves_but_not_interior():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c.tanh() + c
    d.backward()
    first = {"a": a.grad, "b": b.grad, "c": c.grad, "d": d.grad}
    d.backward()
    assert a.grad == 2 * first["a"] and b.grad == 2 * first["b"]
    assert c.grad == first["c"] and d.grad == first["d"] == 1.0


def test_backward_of_a_leaf_and_a_seed():
    x = Value(5.0)
    x.backward()
    x.backward(grad=2.5)
    assert x.grad == 3.5
    y = Value(2.0)
    (y * y).backward(grad=0.5)  # ∂/∂y (y²) · 0.5 = 2y · 0.5
    assert y.grad == 2.0


def test_backward_rejects_bad_arguments():
    with pytest.raises(TypeError, match="backward: grad must be a real number, got str"):
        Value(1.0).backward(grad="1")
    with pytest.raises(TypeError, match="backward needs a Value, got float"):
        engine.backward(1.0)


def test_constants_get_grads_but_leaves_are_untouched_elsewhere():
    a, unrelated = Value(2.0), Value(7.0)
    unrelated.grad = 42.0
    y = a * 3
    y.backward()
    assert y.parents[1].grad == 2.0  # ∂y/∂3 = a: how much the constant matters
    assert unrelated.grad == 42.0


@pytest.mark.slow
def test_million_deep_chain_without_recursion():
    limit = sys.getrecursionlimit()
    x = Value(0.5)
    v = x
    for _ in range(1_000_000):
        v = v + x
    v.backward()
    assert x.grad == 1_000_001.0
    assert v.data == 0.5 * 1_000_001
    assert sys.getrecursionlimit() == limit


def test_topological_order():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert order[-1] is e and len(order) == len({id(n) for n in order}) == 5
    position = {n: i for i, n in enumerate(order)}
    assert all(position[p] < position[n] for n in order for p in n.parents)
    assert [n.label or n.op for n in order] == ["a", "b", "mul", "add", "mul"]
    assert topological_order(e) == order  # deterministic


def test_topological_order_rejects_non_values():
    with pytest.raises(TypeError, match="expected a Value, got int"):
        topological_order(3)


# --- Step-through -----------------------------------------------------------------------------

def test_steps_are_lazy_and_never_run_ahead():
    o, (a, b, c, d, e) = labelled_example()
    for v in (a, b, c, d, e):
        v.grad = 99.0
    steps = backward_steps(o)
    assert a.grad == d.grad == 99.0  # creating the generator does nothing
    step = next(steps)
    assert step.node is o and step.index == 1
    assert e.grad == pytest.approx(1 - math.tanh(4.0) ** 2)
    assert d.grad == 0.0 and c.grad == 99.0  # not reached yet: interior reset, leaves untouched
    step = next(steps)
    assert step.node is e and d.grad == e.grad and c.grad == 99.0 + e.grad
    assert a.grad == 99.0
    assert next(steps).node is d
    assert a.grad == 99.0 + d.grad * -3.0
    with pytest.raises(StopIteration):
        next(steps)


def test_draining_steps_equals_backward():
    o1, leaves1 = labelled_example()
    o1.backward()
    o2, leaves2 = labelled_example()
    steps = list(backward_steps(o2))
    assert len(steps) == 3 and [s.index for s in steps] == [1, 2, 3]
    assert [v.grad for v in leaves1] == [v.grad for v in leaves2]


def test_step_fields():
    a = Value(3.0, label="a")
    y = a * a
    y.label = "y"
    (step,) = backward_steps(y)
    assert step.node is y and step.grad == 1.0 and step.parents == (a, a)
    assert step.local_grads == (3.0, 3.0)
    assert step.contributions == (3.0, 3.0)
    assert list(step.parent_grads) == [3.0, 6.0]  # a's grad after each of its two contributions


def test_the_chain_rule_step_of_one_node():
    # What each parent receives, grad · ∂node/∂parent; a plain exact-0 local derivative passes
    # nothing, even from an infinite grad, and a Value 0 is kept (its derivative need not be 0).
    a, b = Value(2.0), Value(-1.0)
    assert chain_rule_step(3.0, (1.0, 0.0)) == [3.0, None]
    assert chain_rule_step(math.inf, (2.0, 0.0)) == [math.inf, None]
    zero = Value(0.0)
    (passed,) = chain_rule_step(Value(5.0), (zero,))
    assert isinstance(passed, Value) and passed.data == 0.0
    z = a * b
    z.grad, a.grad, b.grad = 2.0, 1.0, 0.0
    assert pass_on(z, 2.0, (-1.0, 2.0)) == (-1.0, 4.0) and (a.grad, b.grad) == (-1.0, 4.0)


def test_step_prints_the_chain_rule_with_numbers():
    o, _ = labelled_example()
    text = [repr(s) for s in backward_steps(o)]
    assert text[0] == (
        "step 1 of 3: o = tanh(e) = 0.9993, o.grad = 1\n"
        "  ∂o/∂e = 1 − o² = 0.001341     e.grad += 1 × 0.001341 = 0.001341  → 0.001341")
    assert text[2] == (
        "step 3 of 3: d = a × b = -6, d.grad = 0.001341\n"
        "  ∂d/∂a = b = -3                a.grad += 0.001341 × -3 = -0.004023  → -0.004023\n"
        "  ∂d/∂b = a = 2                 b.grad += 0.001341 × 2 = 0.002682  → 0.002682")


def test_step_names_unlabelled_nodes_and_constants():
    x = Value(2.0, label="x")
    y = (x * 3) ** 2
    lines = [repr(s).splitlines() for s in backward_steps(y)]
    assert lines[0][0] == "step 1 of 2: v3 = v2^2 = 36, v3.grad = 1"
    assert lines[0][1].startswith("  ∂v3/∂v2 = 2·v2^(2−1) = 12")
    # A constant needs no grad, so it gets no chain-rule line: only x's.
    assert len(lines[1]) == 2 and lines[1][1].startswith("  ∂v2/∂x = 3 ")


def test_steps_of_a_leaf_are_empty():
    x = Value(1.0)
    assert list(backward_steps(x)) == [] and x.grad == 1.0


def test_a_fused_neuron_step_names_each_inputs_partner():
    w = [Value(0.5, label="w0"), Value(-2.0, label="w1")]
    x = [Value(3.0, label="x0"), Value(1.0, label="x1")]
    z = engine.weighted_sum(w, x, Value(0.25, label="b"), fused=True)
    z.label = "z"
    text = repr(next(backward_steps(z)))
    assert text.splitlines()[0] == "step 1 of 1: z = w0·x0 + w1·x1 + b = -0.25, z.grad = 1"
    assert "∂z/∂w0 = x0 = 3" in text and "∂z/∂x1 = w1 = -2" in text and "∂z/∂b = 1 " in text


def test_the_steps_object_says_where_it_is_and_stays_lazy():
    o, (a, b, c, d, e) = labelled_example()
    steps = backward_steps(o)
    assert repr(steps) == "backward pass over 6 nodes, 3 steps left"
    assert o.grad == 0.0  # making the object (and printing it) changed nothing
    next(steps)
    assert repr(steps) == "backward pass over 6 nodes, 2 steps left" and steps.done == 1
    assert iter(steps) is steps and len(list(steps)) == 2
    assert repr(steps) == "backward pass over 6 nodes, 0 steps left"


def test_backward_drains_the_steps_under_detect_anomaly():
    # The same grads, bit for bit, from the fast loop and from the checked steps.
    o, leaves = labelled_example()
    o.backward()
    fast = [v.grad for v in leaves]
    for v in leaves:
        v.grad = 0.0
    with engine.detect_anomaly():
        o.backward()
    assert [v.grad for v in leaves] == fast


def every_op_graph():
    """A graph with every op of the table, shared nodes, exact-0 local derivatives (relu below
    0, a max input that is not the max, x**0, abs at 0) and infinite and nan grads upstream."""
    a, b, c, z = Value(0.5), Value(-1.5), Value(2.0), Value(0.0)
    big = Value(1000.0).exp()  # inf
    parts = [a + b, a - b, a * a, a / c, -a, a ** 2, a ** 0, 2 ** a, c ** a, a.exp(), c.log(),
             b.tanh(), a.sigmoid(), b.relu(), b.softplus(), abs(z), engine.max([a, b, c]),
             engine.sum([a, a, b]), engine.apply("wsum", a, b, c, a, b),
             engine.const(3.0) * a, big * b.relu(), (big - big) * engine.max([b, c]),
             z.log() * a]
    assert {p.op for p in parts} | {"const"} >= set(engine.OPS)
    return engine.sum(parts + [parts[2] * parts[9]]), [a, b, c, z, big]


@pytest.mark.parametrize("seed", [1.0, -2.5, 0.0, math.inf, math.nan])
def test_the_fast_backward_loop_is_the_shared_chain_rule_step_bit_for_bit(seed):
    # backward() unrolls chain_rule_step for speed; draining backward_steps() applies it as
    # written. Every node's grad must be the same float, sign of zero and nan included.
    out, _ = every_op_graph()
    nodes = engine.topological_order(out)
    hexes = []
    for run in (lambda: out.backward(seed), lambda: list(backward_steps(out, seed))):
        for node in nodes:
            node.grad = 0.0
        run()
        hexes.append([float.hex(node.grad) for node in nodes])
    assert hexes[0] == hexes[1]
    assert "nan" in hexes[0]
    if seed and not math.isnan(seed):
        assert {"inf", "-inf"} & set(hexes[0])


def test_the_fast_backward_loop_builds_no_step_for_any_node(monkeypatch):
    # backward() runs once per node of every training step: the n-ary nodes (a neuron's sum or
    # wsum of 65 inputs) go through its own loop too, not pass_on's lists, three times slower.
    out, _ = every_op_graph()
    for name in ("pass_on", "chain_rule_step"):
        monkeypatch.setattr(engine.autodiff, name, lambda *a, n=name: pytest.fail(f"{n} called"))
    out.backward()


def test_zero_grad_clears_a_whole_graph():
    o, leaves = labelled_example()
    o.backward()
    o.zero_grad()
    assert o.grad == 0.0 and all(v.grad == 0.0 for v in leaves)
    o.backward()
    engine.zero_grad(o)
    assert all(v.grad == 0.0 for v in leaves)
    with pytest.raises(TypeError, match="zero_grad needs a Value, got int"):
        engine.zero_grad(3)


def test_the_text_and_the_picture_use_the_same_names():
    # Unlabelled nodes: whatever name the step text gives, the drawn box shows.
    from engine.viz import draw_dot

    x = Value(2.0, label="x")
    y = ((x * 3).tanh() + x * 0.1) ** 2
    names, constants = set(), set()
    for step in backward_steps(y):
        names.add(step.names(step.node))
        names.update(step.names(p) for p in step.parents if p.op != "const")
        constants.update(step.names(p) for p in step.parents if p.op == "const")
    source = draw_dot(y).source
    assert {"v2", "v3", "v5", "v6"} <= names and constants == {"3", "0.1"}
    for name in names:
        assert f"{{ {name} | data" in source
    for name in constants:  # a constant is drawn as the number the text writes
        assert f"[label={name} " in source
    (text,) = [repr(s) for s in backward_steps(y) if "v5 = x × 0.1" in repr(s)]
    assert text.count("∂") == 2 and "∂v5/∂x = 0.1 " in text  # a line for x, none for 0.1


def test_a_step_text_writes_no_minus_zero_and_no_number_twice():
    """A −0.0 is written 0 (it read "v3 = b × k = -0"), and a derivative whose rule is a
    number is not written again ("∂v4/∂v3 = −1 = -1")."""
    from engine.text import forward_text

    a, b, k = Value(2.0, label="a"), Value(-0.0, label="b"), Value(1.0, label="k")
    c = a - b * k
    text = "\n".join(repr(s) for s in backward_steps(c))
    assert "v3 = b × k = 0, v3.grad = -1" in text and "= -0" not in text
    assert "∂v4/∂v3 = −1 " in text and "−1 = -1" not in text
    assert forward_text(b, 1, 1, lambda n: n.label) == "forward 1 of 1: b = 0 (a leaf)"


def test_backwards_own_order_is_the_topological_order():
    # backward() marks a visited node by giving its grad a 0 made for the walk instead of
    # keeping a set: the same list, every interior grad 0 after it, by recursion or (deeper
    # than Python's recursion limit) by a stack.
    from engine.autodiff import _interior_order, _order_by_stack

    out, _ = every_op_graph()
    deep = Value(0.5)
    for _ in range(3 * sys.getrecursionlimit()):
        deep = deep * 0.5 + out
    for root in (out, out.parents[0], out.parents[-1], out, deep):
        expected = engine.topological_order(root, leaves=False)
        for walk in (_interior_order, lambda r: _order_by_stack(r, float("0"))):
            for node in expected:
                node.grad = 1.5
            assert walk(root) == expected
            assert all(n.grad == 0.0 for n in expected)
            assert walk(root) == expected  # the nodes hold the last walk's 0


class Trap(Value):
    """A node whose inputs, read for the ``at``-th time, are a Ctrl-C."""

    __slots__ = ()
    reads, at = 0, 5

    @property
    def parents(self):
        Trap.reads += 1
        if Trap.reads == Trap.at:
            raise KeyboardInterrupt
        return engine.node.Node.parents.__get__(self)


@pytest.mark.parametrize("deep", [False, True])
def test_an_interrupted_backward_leaves_its_nodes_whole(deep):
    out, _ = every_op_graph()
    for _ in range(3 * sys.getrecursionlimit() if deep else 0):  # walked by the stack
        out = out * 0.5
    nodes = engine.topological_order(out)
    out.backward()
    whole = [float.hex(n.grad) for n in nodes if n.parents]  # interior grads: this pass's
    for node in nodes:
        if node.parents:
            node.__class__ = Trap
    # deep: after the recursion gave up, in the stack's walk
    Trap.reads, Trap.at = 0, 2 * sys.getrecursionlimit() if deep else 5
    with pytest.raises(KeyboardInterrupt):
        out.backward()
    assert Trap.reads == Trap.at
    assert all(type(n.grad) is float for n in nodes)
    for node in nodes:
        node.__class__ = Value
    out.backward()  # and the next pass is whole
    assert [float.hex(n.grad) for n in nodes if n.parents] == whole


def test_backward_leaves_no_cycle_to_collect():
    # The graph is freed by reference counting alone when its last Value is dropped: nothing
    # the backward pass made keeps it for the cycle collector (a recursive walk's closure
    # would, holding its list of every node).
    import gc

    gc.collect()
    out, leaves = every_op_graph()
    out.backward()
    del out, leaves
    assert gc.collect() == 0
