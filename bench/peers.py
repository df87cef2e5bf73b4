"""The optional peers the benchmarks measure glassgrad against, and how to install each."""

from __future__ import annotations

import importlib.metadata
import importlib.util

INSTALL = {"micrograd": "pip install micrograd==0.1.0", "torch": "pip install torch==2.13.0",
           "jax": "pip install jax"}


def missing(peers: dict[str, str]) -> dict[str, str]:
    """Of ``peers`` (a name as printed → its module), the ones not installed, each with its
    install command. Looked up without importing them: importing torch costs the scalar
    engines' timings (see bench_compiled.load_torch)."""
    return {name: INSTALL[module] for name, module in peers.items()
            if importlib.util.find_spec(module) is None}


def measured(peers: dict[str, str], own: tuple[str, ...] = ()) -> str:
    """The line a benchmark prints first: the peers of ``peers`` it measures in this run, each
    with its installed version, after ``own`` (peers written in the benchmark itself)."""
    found = [_with_version(name, module) for name, module in peers.items()
             if importlib.util.find_spec(module) is not None]
    return "peers measured in this run: " + (", ".join([*own, *found]) or "none")


def _with_version(name: str, module: str) -> str:
    try:
        version = importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:  # importable, but not installed by pip
        return name
    return name if version in name else f"{name} {version}"
