"""engine.files.atomic_write: the one writer, whole files or nothing."""

import os

import pytest

from engine.files import atomic_write


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
