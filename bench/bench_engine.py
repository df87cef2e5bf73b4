"""Engine benchmark: glassgrad vs micrograd, side by side in one run.

    pip install -e ".[bench]"        # micrograd==0.1.0
    python bench/bench_engine.py     # about a minute; --quick for a smaller run

Measures, for both engines on the same graphs built by the same code:

1. nodes per second, building and backpropagating a layered graph of relu(a·b + c) units
   (shallow enough for micrograd's recursive topological sort): (a) one large graph, after a
   gc.collect(); (b) a training loop that builds, backpropagates and drops a smaller graph
   again and again, as a real training loop does (micrograd's graphs are reference cycles,
   so its dropped graphs stay in memory until the cycle collector finds them);
2. bytes per node of a 1,000,000-node graph (tracemalloc, after backward);
3. a 1,000,000-deep chain v = v + x: build and backward times (micrograd: RecursionError);
4. ``backward()``'s unrolled loop against the shared chain-rule step (``pass_on`` node after
   node, the arithmetic ``backward_steps`` applies) on an MLP(64, [16, 16, 10])'s loss, with
   and without fused neurons: the unrolled loop is kept only while it pays.

Targets (issue 2): ≥ 5× micrograd's nodes/s, ≤ 250 bytes/node, the deep chain in ≤ 3 s.
Timings are the best of ``--repeat`` runs with Python's garbage collector on, as users run.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

from bench import peers  # noqa: E402
from engine import Value, local_grads, topological_order  # noqa: E402
from engine.autodiff import pass_on  # noqa: E402

try:
    from micrograd.engine import Value as MicroValue
except ImportError:  # the comparison is skipped, our own figures are still printed
    MicroValue = None
MICROGRAD_MISSING = f"missing, not measured ({peers.INSTALL['micrograd']})"


def layered_graph(value_cls, width: int, depth: int, seed: int = 0):
    """``depth`` layers of ``width`` units u = relu(a·b + c), inputs drawn from the layer below.

    The final pairwise sum keeps the graph shallow (micrograd recurses once per level).
    Returns (loss, leaves).
    """
    rng = random.Random(seed)
    leaves = [value_cls(rng.uniform(-1, 1)) for _ in range(width)]
    layer = leaves
    for _ in range(depth):
        picks = [(rng.randrange(width), rng.randrange(width), rng.randrange(width))
                 for _ in range(width)]
        layer = [(layer[i] * layer[j] + layer[k]).relu() for i, j, k in picks]
    while len(layer) > 1:
        layer = [layer[i] + layer[i + 1] if i + 1 < len(layer) else layer[i]
                 for i in range(0, len(layer), 2)]
    return layer[0], leaves


def count_nodes(root) -> int:
    seen, stack = {id(root)}, [root]
    while stack:
        node = stack.pop()
        for p in getattr(node, "parents", None) or getattr(node, "_prev", ()):
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def nodes_per_second(value_cls, width, depth, repeat):
    """(a) One large graph: build + backward, best of ``repeat``, collector emptied before."""
    nodes = count_nodes(layered_graph(value_cls, width, depth)[0])

    def run():
        loss, _ = layered_graph(value_cls, width, depth)
        loss.backward()

    return nodes, nodes / best_of(repeat, run)


def training_loop_nodes_per_second(value_cls, width, depth, steps, repeat):
    """(b) ``steps`` graphs built, backpropagated and dropped in a row, no gc.collect()."""
    nodes = count_nodes(layered_graph(value_cls, width, depth)[0])

    def run():
        for step in range(steps):
            loss, _ = layered_graph(value_cls, width, depth, seed=step)
            loss.backward()

    return nodes, steps * nodes / best_of(repeat, run)


def breakdown(value_cls, width, depth, repeat):
    """Seconds for (build with the collector on, build with it off, backward) of one graph."""
    def build():
        return layered_graph(value_cls, width, depth)[0]

    with_gc = best_of(repeat, build)
    gc.disable()
    try:
        without_gc = best_of(repeat, build)
    finally:
        gc.enable()
    loss = build()
    backward = best_of(repeat, loss.backward)
    return with_gc, without_gc, backward


def chain(value_cls, n: int):
    x = value_cls(0.5)
    v = x
    for _ in range(n):
        v = v + x
    return v, x


def bytes_per_node(value_cls, n: int, backward: bool) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    v, _ = chain(value_cls, n)
    if backward:
        v.backward()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del v
    return used / (n + 1)


def deep_chain_seconds(n: int, repeat: int):
    best = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        v, x = chain(Value, n)
        built = time.perf_counter()
        v.backward()
        done = time.perf_counter()
        assert x.grad == n + 1
        if best is None or done - start < best[2]:
            best = (built - start, done - built, done - start)
        del v, x
    return best


# Run in a fresh interpreter, so that its peak RSS is the chain's alone (VmHWM: ru_maxrss
# would keep the parent's peak across exec).
_AFFINE_CHAIN = """
import contextlib, sys, time
sys.path.insert(0, {root!r})
import engine
from engine import Value
x0 = Value(1.0)
start = time.perf_counter()
with engine.no_cycle_collection() if {paused} else contextlib.nullcontext():
    x = x0
    for _ in range({n}):
        x = x * 0.9999 + 0.0001
    built = time.perf_counter()
    x.backward()
done = time.perf_counter()
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(built - start, done - built, int(peak.split()[1]) / 1024)
"""


def affine_chain(n: int, paused: bool = False) -> tuple[float, float, float]:
    """Build and backward seconds and peak RSS (MB) of ``x = x*0.9999 + 0.0001`` n times, as
    written: two constant nodes per step, four nodes in all; ``paused``: inside
    ``engine.no_cycle_collection()``."""
    code = _AFFINE_CHAIN.format(root=str(Path(__file__).resolve().parents[1]), n=n,
                                paused=paused)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    build, back, rss = (float(v) for v in out)
    return build, back, rss


def micrograd_deep_chain(n: int) -> str:
    v, _ = chain(MicroValue, n)
    try:
        v.backward()
    except RecursionError:
        return "RecursionError"
    return "ok"


def shared_step_backward(loss) -> None:
    """``loss.backward()`` as the shared chain-rule step applies it: ``pass_on`` node after
    node, in reverse topological order (what the unrolled loop of ``backward`` must beat)."""
    order = topological_order(loss, leaves=False)
    for node in order:
        node.grad = 0.0
    loss.grad = 1.0
    for node in reversed(order):
        pass_on(node, node.grad, local_grads(node))


def backward_loops(repeat: int) -> list[tuple[str, float, float]]:
    """(network, seconds of ``backward()``, seconds of :func:`shared_step_backward`) for an
    MLP(64, [16, 16, 10])'s cross-entropy loss on one digit-sized input, best of ``repeat``
    (each the time of 20 passes)."""
    from nn import MLP, cross_entropy

    x = [Value(v) for v in random.Random(0).choices([0.0, 0.5, 1.0], k=64)]
    found = []
    for fused in (False, True):
        loss = cross_entropy(MLP(64, [16, 16, 10], rng=0, fused=fused)(x), 3)
        times = [best_of(repeat, lambda run=run, loss=loss: [run(loss) for _ in range(20)])
                 for run in (lambda v: v.backward(), shared_step_backward)]
        found.append(("fused neurons" if fused else "mul and sum nodes", *times))
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller graphs, one repeat")
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats (best is kept)")
    args = parser.parse_args(argv)
    width, depth = (200, 50) if args.quick else (500, 100)
    chain_n = 200_000 if args.quick else 1_000_000
    repeat = 1 if args.quick else args.repeat

    print(f"Python {platform.python_version()} on {platform.machine()}, "
          f"{'quick run' if args.quick else f'best of {repeat}'}")
    print(peers.measured({"micrograd": "micrograd"}))
    if MicroValue is None:
        print(f"peer missing: micrograd ({peers.INSTALL['micrograd']})")
    print()

    print("1. Build + backward of layered relu(a·b + c) graphs (target ≥ 5× micrograd)")
    loop_width, loop_depth, loop_steps = (50, 20, 10) if args.quick else (100, 50, 40)
    workloads = [
        ("(a) one large graph", lambda cls: nodes_per_second(cls, width, depth, repeat)),
        (f"(b) training loop, {loop_steps} graphs",
         lambda cls: training_loop_nodes_per_second(cls, loop_width, loop_depth, loop_steps,
                                                    repeat)),
    ]
    for title, measure in workloads:
        nodes, ours = measure(Value)
        line = f"   {title} of {nodes:,} nodes: glassgrad {ours / 1e6:.3f} M nodes/s"
        if MicroValue is not None:
            _, theirs = measure(MicroValue)
            line += f", micrograd {theirs / 1e6:.3f} M nodes/s, ratio {ours / theirs:.1f}×"
        print(line)
    if MicroValue is None:
        print(f"   micrograd: {MICROGRAD_MISSING}")
    print("   (c) where the time of (a) goes, seconds:")
    for name, cls in (("glassgrad", Value), ("micrograd", MicroValue)):
        if cls is not None:
            with_gc, without_gc, back = breakdown(cls, width, depth, repeat)
            print(f"       {name}: build {with_gc:.3f} (of which cycle collector "
                  f"{with_gc - without_gc:.3f}), backward {back:.3f}")

    print(f"\n2. Memory of a {chain_n:,}-node graph (tracemalloc, after backward)")
    ours_bytes = bytes_per_node(Value, chain_n, backward=True)
    print(f"   glassgrad  {ours_bytes:6.0f} bytes/node   (target ≤ 250)")
    if MicroValue is not None:
        # micrograd cannot backpropagate this deep; its graph before backward is measured.
        theirs_bytes = bytes_per_node(MicroValue, chain_n, backward=False)
        print(f"   micrograd  {theirs_bytes:6.0f} bytes/node   (before backward)")
    else:
        print(f"   micrograd  {MICROGRAD_MISSING}")

    print(f"\n3. A {chain_n:,}-deep chain v = v + x")
    build, back, total = deep_chain_seconds(chain_n, repeat)
    print(f"   glassgrad  build {build:.2f} s + backward {back:.2f} s = {total:.2f} s"
          f"   (target ≤ 3 s for 10⁶)")
    if MicroValue is not None:
        print(f"   micrograd  backward at depth 1,500: {micrograd_deep_chain(1_500)}")
    else:
        print(f"   micrograd  {MICROGRAD_MISSING}")
    print(f"   x = x*0.9999 + 0.0001, {chain_n:,} times (constants included: "
          f"{4 * chain_n:,} nodes; target ≤ 3 s and ≤ 400 MB for 10⁶):")
    for paused, how in ((False, "as written"), (True, "in engine.no_cycle_collection()")):
        build, back, rss = affine_chain(chain_n, paused)
        print(f"   glassgrad  build {build:.2f} s + backward {back:.2f} s = {build + back:.2f} s,"
              f" peak RSS {rss:.0f} MB   ({how})")
    print("   (bench_scalar.py's section 2 runs the same chain with a minimal scalar Value beside "
          "it)")

    print("\n4. backward() of an MLP(64, [16, 16, 10])'s loss, 20 passes: its unrolled loop "
          "against the shared chain-rule step")
    for network, unrolled, shared in backward_loops(repeat):
        print(f"   {network:<18} unrolled {unrolled * 1e3:6.1f} ms, shared step "
              f"{shared * 1e3:6.1f} ms ({shared / unrolled:.1f}× the unrolled)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
