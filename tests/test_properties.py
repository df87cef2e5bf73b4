"""Property tests over random expression graphs (hypothesis).

A random program combines a few inputs with the engine's ops, reusing earlier results (so the
graphs have shared nodes, diamonds and duplicate inputs). For every such graph:

- engine.grad agrees with central differences,
- backward(), draining backward_steps() and engine.grad give bit-identical grads,
- create_graph=True gives the same first derivatives as plain floats.
"""

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

import engine
from engine import Value, backward_steps, grad

# Smooth building blocks whose values stay moderate on moderate inputs, so that central
# differences are accurate. Each one uses one or more rows of the op table.
UNARY = {
    "neg": lambda a: -a,
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "exp": lambda a: a.tanh().exp(),
    "log": lambda a: (a * a + 1).log(),
    "square": lambda a: a ** 2,
    "rpow": lambda a: 2 ** a.tanh(),
    "recip": lambda a: 1 / (a * a + 1),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),
    "vpow": lambda a, b: (a * a + 1) ** b.tanh(),
    "mixed": lambda a, b: 3 - a * 0.5 + b / 4,
}


@st.composite
def programs(draw):
    n_inputs = draw(st.integers(1, 4))
    inputs = draw(st.lists(st.floats(-2, 2), min_size=n_inputs, max_size=n_inputs))
    steps = []
    for i in range(draw(st.integers(1, 10))):
        available = st.integers(0, n_inputs + i - 1)
        kind = draw(st.sampled_from(["unary", "binary", "sum", "wsum"]))
        if kind == "unary":
            steps.append((draw(st.sampled_from(sorted(UNARY))), [draw(available)]))
        elif kind == "binary":
            name = draw(st.sampled_from(sorted(BINARY)))
            steps.append((name, [draw(available), draw(available)]))
        else:  # sum: any inputs; wsum: pairs (w, x) and maybe a bias
            steps.append((kind, draw(st.lists(available, min_size=1, max_size=5))))
    return inputs, steps


def run(steps, leaves):
    slots = list(leaves)
    for name, args in steps:
        xs = [slots[i] for i in args]
        if name == "sum":
            slots.append(engine.sum(xs))
        elif name == "wsum":
            slots.append(engine.apply("wsum", *xs))
        else:
            slots.append({**UNARY, **BINARY}[name](*xs))
    return slots[-1]


def leaves_for(inputs):
    return [Value(x, label=f"x{i}") for i, x in enumerate(inputs)]


@settings(max_examples=200, deadline=None)
@given(programs())
def test_grads_match_central_differences(program):
    inputs, steps = program
    leaves = leaves_for(inputs)
    out = run(steps, leaves)
    assume(math.isfinite(out.data) and abs(out.data) < 1e6)
    analytic = grad(out, leaves)
    numeric = engine.numerical_grad(lambda *vs: run(steps, vs), inputs)
    scale = max(1.0, abs(out.data))
    for a, n in zip(analytic, numeric, strict=True):
        assert abs(a - n) <= 1e-6 * scale + 1e-5 * abs(n), (steps, inputs, analytic, numeric)


@settings(max_examples=200, deadline=None)
@given(programs())
def test_backward_steps_and_grad_agree_exactly(program):
    inputs, steps = program
    via_backward = leaves_for(inputs)
    out = run(steps, via_backward)
    out.backward()
    interior = [n.grad for n in engine.topological_order(out)]

    via_steps = leaves_for(inputs)
    out2 = run(steps, via_steps)
    n_steps = sum(1 for _ in backward_steps(out2))
    assert n_steps == sum(1 for n in engine.topological_order(out2) if n.parents)

    via_grad = grad(out, engine.topological_order(out))
    assert [v.grad for v in via_backward] == [v.grad for v in via_steps]
    assert interior == [n.grad for n in engine.topological_order(out2)] == via_grad


@settings(max_examples=100, deadline=None)
@given(programs())
def test_create_graph_gives_the_same_first_derivatives(program):
    inputs, steps = program
    leaves = leaves_for(inputs)
    out = run(steps, leaves)
    plain = grad(out, leaves)
    symbolic = grad(out, leaves, create_graph=True)
    for p, s in zip(plain, symbolic, strict=True):
        assert s.data == p or math.isclose(s.data, p, rel_tol=1e-13, abs_tol=1e-300)
