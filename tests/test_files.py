"""engine.system.files: atomic_write, the one writer, whole files or nothing; json_text,
strict JSON."""

import json
import os

import pytest

from engine.system.files import (
    DuplicateKeyError,
    atomic_write,
    json_text,
    non_finite_numbers,
    strict_loads,
)


def test_writes_text_and_bytes(tmp_path):
    assert atomic_write(tmp_path / "a.txt", "héllo").read_text(encoding="utf-8") == "héllo"
    assert atomic_write(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_errors_name_what_was_being_written(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cannot write HTML page to .*nowhere/p.html: "
                                                r"directory .*nowhere does not exist"):
        atomic_write(tmp_path / "nowhere" / "p.html", "x", "HTML page")
    with pytest.raises(IsADirectoryError, match="cannot write model to .*: it is a directory"):
        atomic_write(tmp_path, "x", "model")


def test_a_failure_leaves_the_original_and_no_temporary_file(tmp_path, monkeypatch):
    path = atomic_write(tmp_path / "keep.txt", "old")

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_any_failure_names_what_and_where(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match=r"cannot write model to .*m.json: Permission"):
        atomic_write(tmp_path / "m.json", "x", "model")
    assert list(tmp_path.iterdir()) == []


def test_the_new_file_gets_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "p.txt", "x")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_json_text_is_strict_and_names_what_is_not_finite():
    """json.dumps writes NaN and Infinity, which no other JSON reader takes."""
    assert json_text({"a": [1.5, 2]}, indent=1) == json.dumps({"a": [1.5, 2]}, indent=1)
    value = {"history": [{"loss": 0.5}, {"loss": float("nan")}],
             "w": [[1.0, float("-inf")], 10 ** 400], "ok": [True, "NaN"]}
    assert non_finite_numbers(value) == ["history.1.loss", "w.0.1", "w.1"]
    with pytest.raises(ValueError, match=r"^cannot write metrics as JSON: 3 numbers are not "
                       r"finite \(NaN or ±Infinity\): history\.1\.loss, w\.0\.1, w\.1$"):
        json_text(value, "metrics")
    deep = [float("inf")]
    for _ in range(5000):  # any depth: no recursion
        deep = [deep]
    assert non_finite_numbers(deep) == [".".join(["0"] * 5001)]


def test_strict_loads_refuses_a_key_named_twice():
    assert strict_loads('{"a": {"b": 1}, "c": [{"b": 2}]}') == {"a": {"b": 1}, "c": [{"b": 2}]}
    with pytest.raises(DuplicateKeyError, match='^the key "b" appears twice$'):
        strict_loads('{"a": {"b": 1, "b": 2}}')
