"""``Module``: the base of every network, with PyTorch's names and micrograd's simplicity.

A Module finds its parameters by looking at its own attributes, in the order they were set:

- a ``Value`` is a parameter (``b``), a list of Values is a vector of parameters (``w``);
- a ``Module`` is a child, a list of Modules is a list of children (``neurons``, ``layers``);
- names starting with ``_`` are private and ignored.

So ``MLP.layers[0].neurons[3].w[12]`` is named ``layers.0.neurons.3.w.12``, as in PyTorch.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterator
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, cast

from engine import Value, display
from engine.node import fill
from nn import serialize

M = TypeVar("M", bound="Module")  # MLP.load(path) is an MLP


class StateDictError(ValueError):
    """``load_state_dict`` found keys that are missing, unexpected or of the wrong shape."""


class LoadResult(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _is_value_list(x: object) -> bool:
    # (map, not a generator: this runs on every zero_grad, over every weight)
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(map(isinstance, x,
                                                                     repeat(Value)))


def _is_module_list(x: object) -> bool:
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(map(isinstance, x,
                                                                     repeat(Module)))


class Module:
    """Base class: parameters, named_parameters, zero_grad, state_dict, load_state_dict."""

    # --- Walking the attributes -------------------------------------------------------------

    def named_slots(self, prefix: str = "") -> Iterator[tuple[str, Value | list[Value]]]:
        """(dotted name, Value or list of Values) for every parameter attribute, in order.

        A slot is what ``state_dict`` stores under one key: one number, or a list of them.
        """
        for name, attr in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(attr, Value) or _is_value_list(attr):
                yield prefix + name, attr
            elif isinstance(attr, Module):
                yield from attr.named_slots(f"{prefix}{name}.")
            elif _is_module_list(attr):
                for i, child in enumerate(attr):
                    yield from child.named_slots(f"{prefix}{name}.{i}.")

    def _unique_parameters(self) -> Iterator[tuple[str, int | None, Value]]:
        """(slot name, index in the slot or None, Value) for every parameter, once: a
        parameter shared by two places comes at its first place only."""
        seen: set[int] = set()
        for name, slot in self.named_slots():
            for i, v in ((None, slot),) if isinstance(slot, Value) else enumerate(slot):
                if id(v) not in seen:
                    seen.add(id(v))
                    yield name, i, v

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """(dotted name, Value) for every parameter; a parameter shared by two places once."""
        for name, i, v in self._unique_parameters():
            yield (name if i is None else f"{name}.{i}"), v

    def parameters(self) -> list[Value]:
        """Every parameter, once, in a fixed order (the order of ``named_parameters``)."""
        # No name is made per parameter: this runs on every zero_grad.
        return [v for _, _, v in self._unique_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0 (leaf grads accumulate across backward passes)."""
        for _, slot in self.named_slots():  # a shared parameter is simply set twice
            if isinstance(slot, Value):
                slot.grad = 0.0
            else:
                fill(slot, "grad", 0.0)

    # --- Weights as plain data --------------------------------------------------------------

    def state_dict(self) -> dict[str, float | list[float]]:
        """Every parameter slot's numbers: a float per Value, a list of floats per vector."""
        return {name: slot.data if isinstance(slot, Value) else [v.data for v in slot]
                for name, slot in self.named_slots()}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> LoadResult:
        """Copy numbers from ``state`` (as made by ``state_dict``) into the parameters.

        Every problem is collected into one :class:`StateDictError`: keys that are missing,
        keys that are unexpected (both ignored when ``strict=False``) and values of the wrong
        shape or type (always an error). Nothing is changed unless everything fits.
        """
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict expects a dict, got {type(state).__name__}")
        slots = dict(self.named_slots())
        result = _check_state(type(self).__name__, slots, state, strict)
        # Every number is converted before any is assigned, so a failure changes nothing.
        updates = [(v, _to_float(x)) for k, slot in slots.items() if k in state
                   for v, x in ([(slot, state[k])] if isinstance(slot, Value)
                                else zip(slot, state[k], strict=True))]
        for v, x in updates:
            v.data = x
        return result

    def save(self, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> Path:
        """Write architecture, weights and ``metadata`` to ``path`` as JSON (``nn.serialize``)."""
        return serialize.save(self, path, metadata)

    @classmethod
    def load(cls: type[M], path: str | os.PathLike[str]) -> M:
        """Read a model file; ``MLP.load(path)`` also checks that it holds an MLP."""
        if cls is Module:  # any registered class: it is a Module, as M is here
            return cast(M, serialize.load(path))
        return serialize.load(path, cls)

    # --- Reading it -------------------------------------------------------------------------

    def _repr_mimebundle_(self, include: object = None,
                          exclude: object = None) -> dict[str, Any] | None:
        """A notebook's rich display (``nn.viz`` registers it); ``repr`` stays plain text."""
        return display.bundle(self)

    def extra_repr(self) -> str:
        """What this module's one-line summary shows besides its parameter count."""
        return ""

    def __repr__(self) -> str:
        return _summary(self)


def _check_state(owner: str, slots: dict[str, Value | list[Value]], state: dict[str, Any],
                 strict: bool) -> LoadResult:
    """The keys of ``slots`` that ``state`` lacks (missing) and those of ``state`` that
    ``slots`` have no use for (unexpected); raises one :class:`StateDictError` naming every
    problem (missing and unexpected keys only when ``strict``, a value of the wrong shape or
    type always)."""
    missing = [k for k in slots if k not in state]
    unexpected = [k for k in state if k not in slots]
    misshaped = [problem for k in slots if k in state
                 for problem in [_shape_problem(k, slots[k], state[k])] if problem]
    problems = []
    if strict and missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    if misshaped:
        problems.append("wrong shape or type: " + "; ".join(misshaped))
    if problems:
        raise StateDictError(
            f"load_state_dict for {owner} failed:\n  " + "\n  ".join(problems))
    return LoadResult(missing, unexpected)


def _summary(module: Module) -> str:
    """A module's repr: its class, ``extra_repr`` and parameter count, then each child
    indented under its attribute's name (a list of identical children once, as ``n ×``)."""
    n = len(module.parameters())
    extra = module.extra_repr()
    head = f"{type(module).__name__}({extra + '; ' if extra else ''}{n:,} parameters)"
    lines = [head]
    for name, attr in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(attr, Module):
            lines.append(f"  ({name}): " + _indent(repr(attr)))
        elif _is_module_list(attr):
            reprs = [repr(m) for m in attr]
            if len(set(reprs)) == 1 and len(reprs) > 1:  # e.g. 32 identical neurons
                lines.append(f"  ({name}): {len(reprs)} × " + _indent(reprs[0]))
            else:
                lines += [f"  ({name}.{i}): " + _indent(r) for i, r in enumerate(reprs)]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _is_real(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _to_float(x: Any) -> float:
    try:
        return float(x)
    except OverflowError:  # an int too large for a float: ±inf, as IEEE rounding gives
        return math.inf if x > 0 else -math.inf


def _shape_problem(key: str, slot: Value | list[Value], value: Any) -> str | None:
    if isinstance(slot, Value):
        if not _is_real(value):
            return f"{key} expects a number, got {type(value).__name__}"
        return None
    if not isinstance(value, (list, tuple)):
        return f"{key} expects a list of {len(slot)} numbers, got {type(value).__name__}"
    if len(value) != len(slot):
        return f"{key} expects {len(slot)} numbers, got {len(value)}"
    bad = [i for i, x in enumerate(value) if not _is_real(x)]
    if bad:
        return f"{key}[{bad[0]}] expects a number, got {type(value[bad[0]]).__name__}"
    return None
