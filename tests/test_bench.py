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
