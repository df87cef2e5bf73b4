"""Type annotations: a user's training script passes ``mypy --strict`` with glassgrad's types,
and every op method the table gives Value is declared for type checkers."""

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import OPS

ROOT = Path(__file__).resolve().parent.parent

# What a user writes: expressions, a backward pass step by step, gradcheck, two MLPs trained
# with SGD and Adam on mse and cross_entropy, no_grad, save and load, a drawing. assert_type
# checks that the API's results have precise types (not Any, which --strict lets through).
USER_SCRIPT = '''
"""A user's training script."""

from __future__ import annotations

import random
from pathlib import Path

from typing_extensions import assert_type

import engine
from glassgrad import (
    MLP, SGD, Adam, Module, Step, Value, backward_steps, cross_entropy, draw_dot, gradcheck,
    load, mse, no_grad, softmax,
)


def expressions() -> float:
    a = Value(2.0, label="a")
    b = Value(2.0) * 3 + Value(1.0)
    c = 2 * a - 1 / b + a ** 2 + 2 ** a - (-a) + abs(a) + a / 3 + 1 - a
    d = (c.tanh() + c.relu() + c.sigmoid() + c.exp().log() + c.softplus() + c.abs()) * a
    e = engine.sum([a, b, 1.0]) + engine.max([a, 2]) + a ** b
    assert_type(d, Value)
    assert_type(e, Value)
    d.backward()
    grad: float = a.grad
    label: str = a.label
    op: str = d.op
    data: float = d.data + d.item() + float(d)
    assert_type(d.parents, tuple[Value, ...])
    for step in backward_steps(e):
        assert_type(step, Step)
        print(step.index, step.total, step.grad, step.node.label, step.local_grads)
    assert gradcheck(lambda x, y: (x * y).tanh(), [0.5, -1.2])
    (dy,) = engine.grad(a ** 3, [a])
    (dy_graph,) = engine.grad(a ** 3, [a], create_graph=True)
    assert_type(dy, float)
    assert_type(dy_graph, Value)
    source: str = draw_dot(e).source
    print(label, op, len(source))
    return grad + data + dy + dy_graph.data


def train(directory: Path) -> list[float]:
    rng = random.Random(0)
    xs = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(8)]
    ys = [1.0 if x0 * x1 > 0 else -1.0 for x0, x1 in xs]
    model = MLP(2, [8, 1], activation="tanh", rng=0)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses: list[float] = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = engine.sum([mse(model(x), [y]) for x, y in zip(xs, ys)]) / len(xs)
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
    grads: list[float] = [p.grad for p in model.parameters()]
    named: dict[str, float] = {name: p.data for name, p in model.named_parameters()}
    assert len(grads) == len(named)

    classifier = MLP(64, [16, 10], rng=1)
    adam = Adam(classifier.parameters(), lr=0.01)
    outputs = classifier([0.0] * 64)
    assert_type(outputs, list[Value])
    loss = cross_entropy(outputs, target=3)
    adam.zero_grad()
    loss.backward()
    adam.step()
    with no_grad():
        logits = classifier([0.5] * 64)
    probabilities: list[float] = softmax(logits)
    path = classifier.save(directory / "model.json", metadata={"note": "typed"})
    assert_type(path, Path)
    loaded = load(path)
    assert_type(loaded, Module)
    again = MLP.load(path)
    assert_type(again, MLP)
    state: dict[str, float | list[float]] = loaded.state_dict()
    print(len(state), again.nin, again.nouts, probabilities[0])
    return losses


if __name__ == "__main__":
    print(expressions(), train(Path(".")))
'''


@pytest.mark.slow
def test_a_users_training_script_passes_mypy_strict(tmp_path):
    pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[test]'")
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(USER_SCRIPT), encoding="utf-8")
    # The checkout on MYPYPATH stands for the installed package (the editable install's import
    # hook is invisible to mypy); --follow-imports=silent reports, as mypy does for an
    # installed package, only the user's own errors, while using every type glassgrad gives.
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Success: no issues found in 1 source file")
    # The script is real code, not only well typed: it runs and trains.
    ran = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "model.json").is_file()


def test_every_op_method_is_declared_for_type_checkers():
    """Value's op methods (x.tanh(), ...) are made from the table at import, which a type
    checker cannot see, so value.py declares them under TYPE_CHECKING: the two lists agree."""
    tree = ast.parse((ROOT / "engine" / "value.py").read_text(encoding="utf-8"))
    value = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Value")
    declared = {
        f.name: ast.unparse(f.returns)
        for block in value.body
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for f in block.body if isinstance(f, ast.FunctionDef)
    }
    methods = {row.method for row in OPS.values() if row.method}
    assert set(declared) == methods
    assert set(declared.values()) == {"Value"}
