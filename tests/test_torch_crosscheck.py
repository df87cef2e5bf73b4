"""Optional cross-check against PyTorch autograd in float64 (skipped when torch is absent)."""

import pytest
from hypothesis import given, settings

from engine import Value, grad
from tests.test_properties import programs

torch = pytest.importorskip("torch")

# The same building blocks as the property tests, written for torch tensors.
TORCH = {
    "neg": lambda a: -a,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "exp": lambda a: torch.exp(torch.tanh(a)),
    "log": lambda a: torch.log(a * a + 1),
    "square": lambda a: a ** 2,
    "rpow": lambda a: 2 ** torch.tanh(a),
    "recip": lambda a: 1 / (a * a + 1),
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),
    "vpow": lambda a, b: (a * a + 1) ** torch.tanh(b),
    "mixed": lambda a, b: 3 - a * 0.5 + b / 4,
    "sum": lambda *xs: torch.stack(list(xs)).sum(),
    "wsum": lambda *xs: torch.stack([xs[i] * xs[i + 1] for i in range(0, len(xs) - 1, 2)]
                                    + list(xs[len(xs) - len(xs) % 2:])).sum(),
}


def run_torch(steps, leaves):
    slots = list(leaves)
    for name, args in steps:
        slots.append(TORCH[name](*[slots[i] for i in args]))
    return slots[-1]


@settings(max_examples=100, deadline=None)
@given(programs())
def test_first_and_second_derivatives_match_torch(program):
    from tests.test_properties import run

    inputs, steps = program
    leaves = [Value(x) for x in inputs]
    out = run(steps, leaves)
    ours = grad(out, leaves, create_graph=True)
    ours_second = grad(ours[0], leaves)  # row 0 of the Hessian

    t_leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    t_out = run_torch(steps, t_leaves)
    assert out.data == pytest.approx(t_out.item(), rel=1e-12, abs=1e-12)
    t_grads = torch.autograd.grad(t_out, t_leaves, create_graph=True, allow_unused=True)
    t_first = [0.0 if g is None else g.item() for g in t_grads]
    assert [g.data for g in ours] == pytest.approx(t_first, rel=1e-10, abs=1e-12)
    if t_grads[0] is None or not t_grads[0].requires_grad:
        return  # first derivative constant in x0: the Hessian row is zero
    t_second = torch.autograd.grad(t_grads[0], t_leaves, allow_unused=True)
    t_second = [0.0 if g is None else g.item() for g in t_second]
    assert ours_second == pytest.approx(t_second, rel=1e-9, abs=1e-10)
