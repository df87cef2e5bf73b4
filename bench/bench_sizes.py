"""Speed at every size: one SGD epoch of an MLP, glassgrad compiled against its peers.

    pip install -e ".[bench]"                # brings JAX (and micrograd, for the other benches)
    pip install torch==2.13.0                # optional: a missing peer is reported, its columns
                                             # printed as "missing", never left out
    python bench/bench_sizes.py              # --quick: one timed epoch, no 60,000-image epoch

Every engine trains the same network from the same initial weights on the same data in the
same batch order: hidden layers relu, the last linear, the loss (1/B) Σ_b (1/10) Σ_i
(p_bi − t_bi)² against the one-hot target (as ``compile_step(model, "mse")``), SGD with
lr 0.1, batches of 32 and 256 over the 1,437 training digits (for 784 inputs, the 8×8 digits
blown up to 28×28, nearest neighbour). A figure is the median of the timed epochs, after one
untimed epoch (JAX compiles in it, PyTorch warms its allocator). Everything runs on one
thread: PyTorch ``set_num_threads(1)``, XLA single-threaded by its flags, numpy's BLAS held
to one thread by the environment this script sets before numpy loads.

The engines:

- glassgrad compiled: ``compile_step`` and one ``training(opt)`` block for the run (the
  parameters in one vector; opening and closing it is timed on its own).
- numpy floor: a plain numpy loop written for this network (one matrix product per layer
  forward, two backward, relu as a mask, SGD in place). It is not the library: it is the
  floor for any executor built on numpy.
- PyTorch float64 and float32, one thread; JAX ``jit`` float64, one thread, the batch gathered
  inside the jitted step.

The last section times one epoch of 60,000 synthetic 28×28 images through MLP(784, [128, 10]),
batches of 32, so that a user knows what an MNIST epoch costs.
"""

from __future__ import annotations

import os

# Before numpy, torch or jax load: one thread everywhere, so that the ratios compare engines,
# not thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

from bench import peers  # noqa: E402
from demos.digits.train import TrainConfig, prepare  # noqa: E402
from nn import MLP, SGD  # noqa: E402
from nn.compiled import compile_step  # noqa: E402

NETWORKS = [(64, [32, 10]), (64, [128, 10]), (64, [256, 128, 10]), (784, [128, 10]),
            (784, [256, 128, 10])]
BATCHES = [32, 256]
LR = 0.1
PEERS = {"PyTorch": "torch", "JAX": "jax"}


@dataclass(frozen=True)
class Task:
    """One row of the table: a network, its data and a batch size."""

    nin: int
    nouts: list[int]
    X: np.ndarray  # (n, nin), standardised
    T: np.ndarray  # (n, 10), one-hot
    batch: int

    @property
    def name(self) -> str:
        return f"MLP({self.nin}, {self.nouts})"

    def model(self) -> MLP:
        return MLP(self.nin, self.nouts, rng=0)

    def starts(self) -> range:
        return range(0, len(self.X), self.batch)


def digits(nin: int) -> tuple[np.ndarray, np.ndarray]:
    """The training digits, standardised; for 784 inputs blown up to 28×28 first."""
    data = prepare(TrainConfig())
    X, labels = data.x_train, data.train.labels
    if nin == 784:
        pick = np.arange(28) * 8 // 28  # nearest neighbour: pixel i of 28 reads i·8/28 of 8
        X = X.reshape(-1, 8, 8)[:, pick][:, :, pick].reshape(-1, 784)
    return np.ascontiguousarray(X), np.eye(10)[labels]


def weights(model: MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) per layer, W of shape (nout, nin)."""
    return [layer.arrays() for layer in model.layers]


@dataclass(frozen=True)
class Run:
    """An engine ready to train one task: ``epoch()`` runs one epoch; ``weights()`` gives
    its current (W, b) per layer as numpy arrays, so that the engines can be checked to
    compute the same training."""

    epoch: Callable[[], None]
    weights: Callable[[], list[tuple[np.ndarray, np.ndarray]]]
    close: Callable[[], None] = lambda: None


def median_epoch(epoch, epochs: int) -> float:
    """Seconds per epoch: one untimed epoch, then the median of ``epochs`` timed ones."""
    epoch()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- the engines: each returns a Run, its model built before the clock ------------------

def glassgrad_epoch(task: Task):
    # One training block for the whole run, as a long training loop holds one: the Values
    # are read into one vector when it opens and written back when it closes (that cost,
    # once per block, is timed on its own by block_cost).
    model = task.model()
    step = compile_step(model, "mse")
    block = step.training(SGD(model.parameters(), lr=LR))
    train = block.__enter__()

    def epoch():
        for s in task.starts():
            train(task.X[s:s + task.batch], task.T[s:s + task.batch])

    def current():
        train.sync()
        return weights(model)
    return Run(epoch, current, lambda: block.__exit__(None, None, None))


def block_cost(nin: int, nouts: list[int]) -> float:
    """Seconds to open and close a training block on a fresh model: every parameter's
    ``.data`` and ``.grad`` read into vectors, then written back."""
    model = MLP(nin, nouts, rng=0)
    step = compile_step(model, "mse")
    opt = SGD(model.parameters(), lr=LR)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        with step.training(opt):
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def numpy_epoch(task: Task):
    """The floor: the network written out by hand in numpy."""
    layers = weights(task.model())

    def epoch():
        for s in task.starts():
            x, t = task.X[s:s + task.batch], task.T[s:s + task.batch]
            inputs = []  # each layer's input, kept for its backward
            h = x
            for i, (W, b) in enumerate(layers):
                inputs.append(h)
                h = h @ W.T + b
                if i < len(layers) - 1:
                    np.maximum(h, 0.0, out=h)
            g = (h - t) * (2.0 / h.size)  # ∂L/∂p for the mean over batch and outputs
            for i in range(len(layers) - 1, -1, -1):
                W, b = layers[i]
                x_in = inputs[i]
                g_in = g @ W if i else None
                W -= LR * (g.T @ x_in)
                b -= LR * g.sum(axis=0)
                if i:
                    g = g_in * (x_in > 0)  # relu's slope: the input of layer i is relu's output
    return Run(epoch, lambda: layers)


def torch_epoch(task: Task, dtype_name: str):
    import torch

    from nn import to_torch

    torch.set_num_threads(1)
    dtype = getattr(torch, dtype_name)
    net = to_torch(task.model(), dtype=dtype)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    X, T = torch.tensor(task.X, dtype=dtype), torch.tensor(task.T, dtype=dtype)

    def epoch():
        for s in task.starts():
            opt.zero_grad()
            ((net(X[s:s + task.batch]) - T[s:s + task.batch]) ** 2).mean().backward()
            opt.step()

    def current():
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        return [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
                for m in linears]
    return Run(epoch, current)


def jax_epoch(task: Task):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights(task.model())]
    X, T = jnp.asarray(task.X), jnp.asarray(task.T)

    def loss(params, x, t):
        h = x
        for i, (W, b) in enumerate(params):
            h = h @ W.T + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        return jnp.mean((h - t) ** 2)

    def step(params, start, size):
        x = jax.lax.dynamic_slice_in_dim(X, start, size)  # the batch gathered in the step
        t = jax.lax.dynamic_slice_in_dim(T, start, size)
        grads = jax.grad(loss)(params, x, t)
        return jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)

    step = jax.jit(step, static_argnums=2)
    state = {"params": params}

    def epoch():
        p = state["params"]
        for s in task.starts():
            p = step(p, s, min(task.batch, len(task.X) - s))
        jax.block_until_ready(p)
        state["params"] = p
    return Run(epoch, lambda: [(np.asarray(W), np.asarray(b)) for W, b in state["params"]])


# --- the run ------------------------------------------------------------------------------

def engines(missing: dict[str, str]) -> dict[str, Callable[[Task], Run]]:
    """Name → function(task) returning its :class:`Run`, for the engines installed."""
    found = {"glassgrad compiled": glassgrad_epoch, "numpy floor": numpy_epoch}
    if "PyTorch" not in missing:
        found["PyTorch f64"] = lambda task: torch_epoch(task, "float64")
        found["PyTorch f32"] = lambda task: torch_epoch(task, "float32")
    if "JAX" not in missing:
        found["JAX jit f64"] = jax_epoch
    return found


COLUMNS = ["glassgrad compiled", "numpy floor", "PyTorch f64", "PyTorch f32", "JAX jit f64"]


def table(args, missing: dict[str, str]) -> None:
    columns = engines(missing)  # a missing engine keeps its column, shown as "missing"
    header = f"{'network':<24} {'batch':>5} " + "".join(f"{name:>19}" for name in COLUMNS)
    print(header + "   ratios: glassgrad / PyTorch f64, / JAX, / numpy")
    data = {nin: digits(nin) for nin in sorted({nin for nin, _ in NETWORKS})}
    found: dict[tuple[str, int], dict[str, float]] = {}
    for nin, nouts in NETWORKS:
        for batch in BATCHES:
            task = Task(nin, nouts, *data[nin], batch)
            ms = {}
            for name, make in columns.items():
                run = make(task)
                ms[name] = median_epoch(run.epoch, args.epochs) * 1e3
                run.close()
            ours = ms["glassgrad compiled"]
            found[task.name, batch] = {peer: ours / ms[peer] for peer in ms}
            ratios = [f"{ours / ms[peer]:.2f}×" if peer in ms else "–"
                      for peer in ("PyTorch f64", "JAX jit f64", "numpy floor")]
            print(f"{task.name:<24} {batch:>5} "
                  + "".join(f"{ms[name]:>16.2f} ms" if name in ms else f"{'missing':>19}"
                            for name in COLUMNS)
                  + "   " + " ".join(f"{r:>7}" for r in ratios), flush=True)
    verdicts(found)


TARGETS = [  # issue 26: (what, the peer, the bound on glassgrad's time ÷ the peer's, the rows)
    ("≤ 1× PyTorch f64 at every size and batch", "PyTorch f64", 1.0, None),
    ("≤ 2× the numpy floor at every size and batch", "numpy floor", 2.0, None),
    ("≤ 1× JAX jit at MLP(64, [32, 10]), batches of 32", "JAX jit f64", 1.0,
     ("MLP(64, [32, 10])", 32)),
]


def verdicts(found: dict[tuple[str, int], dict[str, float]]) -> None:
    """Each target, met or the rows that miss it (from the ratios of the table above)."""
    for what, peer, bound, only in TARGETS:
        rows = {key: r[peer] for key, r in found.items()
                if peer in r and (only is None or key == only)}
        missed = [f"{name} batch {batch} ({x:.2f}×)" for (name, batch), x in rows.items()
                  if x > bound]
        verdict = ("MISSED at " + ", ".join(missed) if missed else "met" if rows else
                   f"{peer} missing, not checked")
        print(f"target {what}: {verdict}")


def mnist_epoch(args, missing: dict[str, str]) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60_000, 784))
    T = np.eye(10)[rng.integers(0, 10, 60_000)]
    task = Task(784, [128, 10], X, T, 32)
    print(f"\nOne epoch of 60,000 synthetic 28×28 images, {task.name}, batches of 32:")
    for name, make in engines(missing).items():
        run = make(task)
        run.epoch()  # untimed: compiles, warms
        start = time.perf_counter()
        run.epoch()
        print(f"   {name:<20} {time.perf_counter() - start:6.2f} s", flush=True)
        run.close()


def block_costs() -> None:
    print("\nOpening and closing a training block (every Value's .data and .grad read, then "
          "written; once per block):")
    for nin, nouts in NETWORKS:
        model = MLP(nin, nouts, rng=0)
        print(f"   {f'MLP({nin}, {nouts})':<24} {len(model.parameters()):>8,} parameters "
              f"{block_cost(nin, nouts) * 1e3:7.2f} ms", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per figure")
    parser.add_argument("--quick", action="store_true",
                        help="one timed epoch per figure and no 60,000-image epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 1
    missing = peers.missing(PEERS)
    print(f"One SGD epoch over 1,437 digits, median of {args.epochs}, one thread; "
          f"numpy {np.__version__}")
    print(peers.measured(PEERS))
    for name, command in missing.items():
        print(f"peer missing: {name} (its columns read 'missing', its ratios '–'; {command})")
    table(args, missing)
    block_costs()
    if not args.quick:
        mnist_epoch(args, missing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
