"""The benchmarks compare like with like: every engine in bench/bench_sizes.py trains the same
network to the same weights (the figures would mean nothing otherwise)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("nin, nouts, batch", [(64, [16, 10], 32), (784, [8, 6, 10], 50)])
def test_every_engine_in_the_size_bench_trains_the_same_weights(nin, nouts, batch):
    bench = load("bench_sizes")
    X, T = bench.digits(nin)
    task = bench.Task(nin, nouts, X[:160], T[:160], batch)  # a last batch shorter than the rest
    names = ["glassgrad compiled", "numpy floor", "PyTorch f64", "JAX jit f64"]
    missing = {name: "" for name in ("PyTorch", "JAX")
               if importlib.util.find_spec(bench.PEERS[name]) is None}
    makers = bench.engines(missing)
    runs = {name: makers[name](task) for name in names if name in makers}
    for run in runs.values():
        run.epoch()
        run.epoch()
    ours = runs.pop("glassgrad compiled").weights()
    before = bench.weights(task.model())
    assert not np.allclose(ours[0][0], before[0][0])  # it trained
    for name, run in runs.items():
        for (W, b), (W2, b2) in zip(ours, run.weights(), strict=True):
            assert np.allclose(W, W2, rtol=1e-10, atol=1e-12), name
            assert np.allclose(b, b2, rtol=1e-10, atol=1e-12), name


def test_the_page_bench_reports_a_missing_chromium(monkeypatch, capsys):
    bench = load("bench_pages")
    monkeypatch.setattr(bench, "CHROMIUM", None)
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "missing, not measured" in out and "Traceback" not in out


@pytest.mark.slow
def test_the_page_bench_times_the_explorer_and_the_studio():
    # The real command, as a user runs it: every measure printed, each against the goal.
    import subprocess

    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("uvicorn")
    bench = load("bench_pages")
    if bench.CHROMIUM is None:
        pytest.skip("no chromium (apt-get install chromium)")
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_pages.py"), "--quick"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    for measure in ("opening its data", "a stage change", "a neuron selected",
                    "a line selected", "answer to a drawing", "a film frame",
                    "live training in the page", "frames a second; server per frame",
                    "loaded (load event)", "a step (forward, backward)",
                    "a jump (layer ▶, find a name)"):
        assert measure in run.stdout, run.stdout
    assert run.stdout.count("the 100 ms goal") == 4
    assert run.stdout.count("the 200 ms goal") == 1 and run.stdout.count("the 50 ms goal") == 2


@pytest.mark.parametrize("fused", [False, True])
def test_the_engine_bench_times_two_backward_loops_that_give_the_same_grads(fused):
    # bench_engine.py's section 4 keeps backward()'s unrolled loop only while it beats the
    # shared chain-rule step: the two must give the very same floats for the figures to count.
    from engine import Value, topological_order
    from nn import MLP, cross_entropy

    bench = load("bench_engine")
    x = [Value(v / 64) for v in range(64)]
    loss = cross_entropy(MLP(64, [16, 16, 10], rng=0, fused=fused)(x), 3)
    nodes = topological_order(loss)
    loss.backward()
    unrolled = [n.grad.hex() for n in nodes]
    for n in nodes:
        n.grad = 0.0
    bench.shared_step_backward(loss)
    assert [n.grad.hex() for n in nodes] == unrolled


def test_the_scalar_bench_runs_one_program_on_both_engines_to_the_same_numbers():
    # bench_scalar.py's ratio means something only if both engines compute the same thing:
    # the same loss and grads from the same weights, and the same weights after a step.
    from engine import topological_order

    bench = load("bench_scalar")
    cfg = bench.Config(embd=8, heads=2, hidden=16)
    ours, theirs = bench.engines(cfg, seed=3)
    ids = bench.tokens("print")
    check = bench.agreement(ours, theirs, ids, cfg)
    assert check.losses[0] == pytest.approx(check.losses[1], rel=1e-12)
    assert check.grad_gap <= 1e-12
    steps = [bench.train_step(e, ids, cfg, lr=0.5) for e in (ours, theirs)]
    assert steps[0].nodes == len(topological_order(bench.word_loss(ours.state, ids, cfg)))
    assert steps[1].nodes > 1000 and all(s.total > 0 for s in steps)
    for p, q in zip(ours.params, theirs.params, strict=True):
        assert p.data == pytest.approx(q.data, rel=1e-12, abs=1e-15)
        assert p.grad == q.grad == 0.0  # zeroed for the next step
    # The bench times the minimal Value's stack walk against microgpt's recursion: one order.
    loss = bench.word_loss(theirs.state, ids, cfg)
    assert list(map(id, loss.topo())) == list(map(id, bench.recursive_topo(loss)))


def test_the_minimal_value_of_the_scalar_bench_gets_central_difference_grads():
    # The peer must be a correct autograd, or beating it means nothing.
    V = load("bench_scalar").MinimalValue

    def f(a, b, c):
        y = (a * b + c ** 2) / a - 1 / b + (-c) + (2 - a) * 3
        return (y.exp() + 1).log() + (a - b).relu() + (b - a).relu() * 0.5 - c / 4

    point = (0.7, -1.3, 0.4)
    xs = [V(x) for x in point]
    f(*xs).backward()
    h = 1e-6
    for i, x in enumerate(xs):
        up = [V(v + h * (j == i)) for j, v in enumerate(point)]
        down = [V(v - h * (j == i)) for j, v in enumerate(point)]
        assert x.grad == pytest.approx((f(*up).data - f(*down).data) / (2 * h), rel=1e-6)
    deep = x0 = V(1.0)
    for _ in range(20_000):  # deeper than Python's recursion limit: its topo is iterative
        deep = deep * 0.9999 + 0.0001
    deep.backward()
    assert x0.grad == pytest.approx(0.9999 ** 20_000, rel=1e-9)


def test_the_scalar_bench_runs_quick(capsys):
    # The whole command at its quick size: both sections, every figure against its target.
    bench = load("bench_scalar")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for line in ("apart by", "glassgrad ", "minimal Value ", "target ≥ 1.5×",
                 "objects left to the cycle collector", "100,000 times", "peak RSS",
                 "floor, constants as nodes", "floor, constants inline"):
        assert line in out, out
    assert out.count("peak RSS") == 4 and "Traceback" not in out  # two engines, two floors


def test_a_bench_names_the_peers_it_measures_with_their_versions(monkeypatch):
    import importlib.metadata

    peers = load("peers")
    monkeypatch.setattr(importlib.util, "find_spec", lambda m: None if m == "jax" else object())
    monkeypatch.setattr(importlib.metadata, "version", lambda m: {"torch": "2.13.0"}[m])
    line = peers.measured({"PyTorch": "torch", "JAX": "jax"}, own=("a minimal Value",))
    assert line == "peers measured in this run: a minimal Value, PyTorch 2.13.0"
    monkeypatch.setattr(importlib.util, "find_spec", lambda m: None)
    assert peers.measured({"JAX": "jax"}) == "peers measured in this run: none"


def test_the_size_bench_says_which_rows_miss_each_target(capsys):
    bench = load("bench_sizes")
    small, big = ("MLP(64, [32, 10])", 32), ("MLP(784, [128, 10])", 256)
    bench.verdicts({small: {"PyTorch f64": 0.9, "numpy floor": 1.9, "JAX jit f64": 1.2},
                    big: {"PyTorch f64": 1.1, "numpy floor": 2.1, "JAX jit f64": 3.0}})
    assert capsys.readouterr().out.splitlines() == [
        "target ≤ 1× PyTorch f64 at every size and batch: MISSED at MLP(784, [128, 10]) "
        "batch 256 (1.10×)",
        "target ≤ 2× the numpy floor at every size and batch: MISSED at MLP(784, [128, 10]) "
        "batch 256 (2.10×)",
        "target ≤ 1× JAX jit at MLP(64, [32, 10]), batches of 32: MISSED at MLP(64, [32, 10]) "
        "batch 32 (1.20×)"]
    bench.verdicts({small: {"PyTorch f64": 1.0, "numpy floor": 2.0}})
    assert capsys.readouterr().out.splitlines()[1:] == [
        "target ≤ 2× the numpy floor at every size and batch: met",
        "target ≤ 1× JAX jit at MLP(64, [32, 10]), batches of 32: JAX jit f64 missing, not "
        "checked"]
