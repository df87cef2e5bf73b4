"""Save and load models as versioned, human-readable JSON. No pickle: loading runs no code.

A model file holds the architecture (class and constructor arguments) and every weight::

    {
     "format": "glassgrad-model",
     "version": 1,
     "class": "MLP",
     "config": {"nin": 64, "nouts": [32, 10], "activation": "relu"},
     "metadata": {},
     "state": {
      "layers.0.neurons.0.w": [0.0123, -0.0456, ...],
      "layers.0.neurons.0.b": 0.0789,
      ...
     }
    }

Floats are written with Python's shortest round-trip repr, so a loaded model is bit-identical
to the saved one. The file is strict JSON: a model with a weight that is NaN or ±Infinity (its
training diverged) is neither saved nor loaded, and the error names those weights. A key
named twice is refused too (a person reading the file sees the first value, ``json`` keeps
the last). Files are written with ``engine.system.files.atomic_write``, so a crash never
leaves half a file.

The classes that can be saved register themselves with :func:`register_model_class`
(``nn.layers`` registers Neuron, Layer and MLP); a file names its class by that name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from engine.system.files import (
    DuplicateKeyError,
    atomic_write,
    non_finite_numbers,
    not_finite,
    strict_loads,
)

if TYPE_CHECKING:  # nn.module imports this module
    from nn.module import M, Module

FORMAT = "glassgrad-model"
VERSION = 1
CLASSES: dict[str, type] = {}  # the model classes a file may name, by name


MAX_PARAMETERS = 5_000_000  # a file asking for more is refused before anything is built


def _short(value) -> str:
    """A value of a file for an error message, cut to a line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def register_model_class(cls: type) -> type:
    """Let models of ``cls`` be saved and loaded: it needs ``config()`` (its constructor's
    arguments, JSON-ready), a classmethod ``parameter_count(config)`` (how many numbers
    that architecture has, computed without building it, ``ValueError``/``TypeError`` for a
    bad one), ``state_dict()`` and ``load_state_dict()``."""
    CLASSES[cls.__name__] = cls
    return cls


class ModelFileError(ValueError):
    """A model file that cannot be loaded: corrupt, truncated, of another format or mismatched."""


def dumps(model, metadata: dict | None = None) -> str:
    """The JSON text of ``model``: one line per parameter slot, so it reads and diffs well.

    ``metadata`` is any JSON-ready dict stored beside the weights (for example how inputs were
    normalised); :func:`load` puts it back on ``model.metadata``.
    """
    name = type(model).__name__
    if CLASSES.get(name) is not type(model) or not hasattr(model, "config"):
        raise TypeError(f"cannot save a {name}: only {', '.join(CLASSES)} are supported; "
                        "save its state_dict() with json instead")
    if metadata is None:
        metadata = getattr(model, "metadata", None) or {}
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    header = {"format": FORMAT, "version": VERSION, "class": name, "config": model.config(),
              "metadata": metadata}
    weights = model.state_dict()
    bad = _not_finite(weights, {"metadata": metadata})
    if bad:
        raise ValueError(f"cannot save a {name}: {bad}")
    lines = [f" {json.dumps(k)}: {json.dumps(v, allow_nan=False)}," for k, v in header.items()]
    state = [f"  {json.dumps(k)}: {json.dumps(v, allow_nan=False)}" for k, v in weights.items()]
    return "{\n" + "\n".join(lines) + '\n "state": {\n' + ",\n".join(state) + "\n }\n}\n"


def _not_finite(state, rest) -> str | None:
    """What is not finite in a model's ``state`` (named as weights: ``layers.0.neurons.3.w.12``)
    and in the ``rest`` of its file (dotted paths from the top), as the end of one line; None
    when every number is finite."""
    weights = non_finite_numbers(state)
    others = non_finite_numbers(rest)
    if not weights and not others:
        return None
    names = weights + others
    kind = "weight" if not others else "number"
    cause = "; its training likely diverged (try a smaller learning rate)" if weights else ""
    return not_finite(names, kind) + cause


def save(model: Module, path: str | os.PathLike[str],
         metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (and ``metadata``) to ``path`` atomically. Returns the path. A model
    with a weight that is not finite is a ``ValueError`` naming it, and nothing is written."""
    return atomic_write(path, dumps(model, metadata), "model")


def loads(text: str, source: str = "<string>", expected: type | None = None):
    """Build the model described by JSON ``text``; errors name ``source`` and the problem.
    ``expected``: the class the file must hold (None: any registered class)."""
    def fail(problem: str) -> ModelFileError:
        return ModelFileError(f"{source}: {problem}")

    doc = _parse(text, fail)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise fail(f"not a glassgrad model file (no \"format\": \"{FORMAT}\")")
    version = doc.get("version")
    if version != VERSION:
        raise fail(f"format version {version!r} is not supported (this glassgrad reads "
                   f"version {VERSION})")
    bad = _not_finite(doc.get("state"), {k: v for k, v in doc.items() if k != "state"})
    if bad:
        raise fail(bad)
    missing = [k for k in ("class", "config", "state") if k not in doc]
    if missing:
        raise fail(f"missing field(s): {', '.join(missing)}")
    cls = CLASSES.get(doc["class"]) if isinstance(doc["class"], str) else None
    if cls is None:
        raise fail(f"unknown model class {_short(doc['class'])} (known: "
                   f"{', '.join(CLASSES)})")
    if expected is not None and cls is not expected:
        raise fail(f"holds a {doc['class']}, not a {expected.__name__}")
    if not isinstance(doc["config"], dict):
        raise fail("config must be an object of constructor arguments")
    _check_sizes(cls, doc, fail)
    try:
        model = cls(**doc["config"])
    except (TypeError, ValueError) as e:
        raise fail(f"bad architecture {doc['config']!r}: {e}") from None
    try:
        model.load_state_dict(doc["state"])
    except (ValueError, TypeError) as e:  # a StateDictError is a ValueError
        raise fail(f"weights do not match the architecture: {e}") from None
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise fail("metadata must be an object")
    model.metadata = metadata
    return model


def _parse(text: str, fail):
    try:
        return strict_loads(text)
    except DuplicateKeyError as e:
        raise fail(f"{e}; a reader sees the first value and a loader would take the last, "
                   "so it is refused: keep one") from None
    except json.JSONDecodeError as e:
        raise fail(f"not valid JSON, so not a glassgrad model file, or one that is truncated "
                   f"or corrupt ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise fail("nested too deeply to be a glassgrad model file") from None
    except ValueError as e:  # e.g. an integer of thousands of digits
        raise fail(f"not a glassgrad model file: {e}") from None


def _check_sizes(cls: type, doc: dict, fail) -> None:
    """The architecture's size, against the cap and the weights present, before anything is
    built: a small file cannot ask for billions of Values."""
    if not isinstance(doc["state"], dict):
        raise fail("weights do not match the architecture: state must be an object of weights")
    try:
        needed = cls.parameter_count(doc["config"])
    except (TypeError, ValueError) as e:
        raise fail(f"bad architecture {_short(doc['config'])}: {e}") from None
    present = sum(len(v) if isinstance(v, list) else 1 for v in doc["state"].values())
    if needed > MAX_PARAMETERS:
        raise fail(f"its architecture needs {needed:,} weights; this glassgrad loads at most "
                   f"{MAX_PARAMETERS:,}")
    if needed > 4 * present + 10_000:  # else build it, and let the weights say what is off
        raise fail(f"weights do not match the architecture: it needs {needed:,} numbers, the "
                   f"file holds {present:,}")


@overload
def load(path: str | os.PathLike[str], expected: None = None) -> Module: ...
@overload
def load(path: str | os.PathLike[str], expected: type[M]) -> M: ...
def load(path: str | os.PathLike[str], expected: type[Module] | None = None) -> Module:
    """Read a model saved by :func:`save`. ``expected`` checks the class (``MLP.load`` does)."""
    path = Path(path)
    if path.is_dir():
        inside = path / "model.json"
        hint = f"; did you mean {inside}?" if inside.is_file() else ""
        raise ModelFileError(f"{path}: is a directory, not a model file{hint}")
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not a text file, so not a glassgrad model") from None
    return loads(text, str(path), expected)
