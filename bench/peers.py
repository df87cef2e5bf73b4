"""The optional peers the benchmarks measure glassgrad against, and how to install each."""

from __future__ import annotations

import importlib.util

INSTALL = {"micrograd": "pip install micrograd==0.1.0", "torch": "pip install torch==2.13.0",
           "jax": "pip install jax"}


def missing(peers: dict[str, str]) -> dict[str, str]:
    """Of ``peers`` (a name as printed → its module), the ones not installed, each with its
    install command. Looked up without importing them: importing torch costs the scalar
    engines' timings (see bench_compiled.load_torch)."""
    return {name: INSTALL[module] for name, module in peers.items()
            if importlib.util.find_spec(module) is None}
