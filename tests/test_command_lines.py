"""The command lines on careless input: one line naming the path or the input, a non-zero
exit, never a traceback; and a reader that stops early (``| head``) is no error."""

import subprocess
import sys
from pathlib import Path

import pytest

from engine.viz import cli

ROOT = Path(__file__).resolve().parent.parent


def shell(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, executable="/bin/bash")


@pytest.mark.parametrize("flags, message", [
    (["-o", "/nonexistent/g.svg"], "cannot write picture to /nonexistent/g.svg: directory "
                                   "/nonexistent does not exist"),
    (["--html", "/nonexistent/p.html"], "cannot write HTML page to /nonexistent/p.html"),
    (["--html", "."], "cannot write HTML page to .: it is a directory"),
    (["--frames", "README.md"], "cannot write frames to README.md: it is a file"),
])
@pytest.mark.needs_dot
def test_the_expression_command_names_the_path(flags, message, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli.main(["a*b", "a=1", "b=2", *flags]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {message}" + err[len(f"error: {message}"):] and err.count("\n") == 1
    assert "cannot save model" not in err


def test_a_stray_byte_in_an_expression_is_named(capsys):
    assert cli.main(["a\udcff*b", "a=1", "b=2"]) == 2  # as the shell passes a lone 0xff
    err = capsys.readouterr().err
    assert "character 2 of the expression is not text" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    f"{sys.executable} -m demos.digits --out /proc/nope/run --epochs 1 --quiet",
    f"{sys.executable} -m demos.how_it_works --out /proc/nope/run",
])
def test_an_output_directory_that_cannot_be_made_is_one_line(command):
    done = shell(command)
    assert done.returncode == 1
    assert done.stderr.startswith("error: /proc/nope: No such file or directory")
    assert done.stderr.count("\n") == 1


@pytest.mark.slow
def test_a_reader_that_stops_early_is_no_error(tmp_path):
    done = shell(f"{sys.executable} -m demos.walkthrough | head -1")
    assert done.stdout.startswith("1. Forward") and "Traceback" not in done.stderr
    shell(f"{sys.executable} -m demos.digits --out {tmp_path} --epochs 1 --quiet")
    done = shell(f"{sys.executable} -m demos.digits predict --model {tmp_path}/model.json "
                 "| head -1")
    assert done.stdout.startswith("Image 0 of") and "Traceback" not in done.stderr


@pytest.mark.needs_dot
def test_newcomer_slips_get_plain_words(capsys, tmp_path):
    from demos.digits import cli as digits
    from demos.digits.data import load_digits
    from engine.viz.expr import ExpressionError, build

    with pytest.raises(ExpressionError, match=r"\^ is not a power here: write \*\* for powers"):
        build("a^2", {"a": 1.0})
    with pytest.raises(ExpressionError, match="not allowed in an expression: if … else"):
        build("a if a else b", {"a": 1.0, "b": 2.0})
    with pytest.raises(SystemExit):
        cli.main(["a*b", "a=1", "a=2", "b=3"])
    assert "a given twice" in capsys.readouterr().err
    assert cli.main(["a*b", "a=1", "b=2", "--frames", str(tmp_path / "f") + "/"]) == 0
    assert f"wrote 1 frame to {tmp_path / 'f'}/\n" in capsys.readouterr().out
    assert digits.main(["predict", "--model", str(tmp_path / "none.json")]) == 1
    assert "train one first with python -m demos.digits" in capsys.readouterr().err
    assert repr(load_digits()) == "Dataset('UCI digits 8×8': 1,797 images of 8×8)"


def test_one_glassgrad_command_runs_them_all(capsys):
    import tomllib

    from demos import command

    assert command.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name}" in out for name in ("digits", "how-it-works", "viz", "walkthrough"))
    assert command.main([]) == 2 and command.main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err
    assert command.main(["viz", "a*b", "a=1", "b=2"]) == 0
    assert "∂out/∂a = 2" in capsys.readouterr().out
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"glassgrad": "demos.command:entry"}


def test_make_images_checks_its_tools_before_writing_anything():
    docs = ROOT / "docs"
    before = {p: p.stat().st_mtime_ns for p in docs.rglob("*") if p.is_file()}
    script = str(docs / "make_images.py")
    helped = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "Needs the dev extras" in helped.stdout
    # No dot and no chromium on an empty PATH: refused, each named with its install command.
    bare = subprocess.run([sys.executable, script], capture_output=True, text=True,
                          env={"PATH": "", "PYTHONPATH": str(ROOT)})
    assert bare.returncode == 1 and "Traceback" not in bare.stderr
    assert "nothing written" in bare.stderr
    assert "apt-get install graphviz" in bare.stderr and "apt-get install chromium" in bare.stderr
    assert {p: p.stat().st_mtime_ns for p in docs.rglob("*") if p.is_file()} == before


def test_benchmarks_name_each_missing_peer_with_its_install_command(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_compiled",
                                                  ROOT / "bench" / "bench_compiled.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert bench.missing_peers() == {"micrograd 0.1.0": "pip install micrograd==0.1.0",
                                     "PyTorch": "pip install torch==2.13.0"}


def studio_without(*modules: str) -> subprocess.CompletedProcess:
    """``python -m demos.studio`` in an interpreter where ``modules`` cannot be imported."""
    blocked = "".join(f"sys.modules[{m!r}] = None; " for m in modules)
    code = f"import sys; {blocked}\nfrom demos.studio.cli import main\nraise SystemExit(main([]))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT)


def test_the_studio_says_how_to_install_its_extra_when_it_is_missing():
    result = studio_without("uvicorn")
    assert result.returncode == 1
    assert result.stderr.strip() == ('error: the studio needs Starlette and uvicorn (uvicorn is '
                                     'missing): pip install "glassgrad[studio]" (in a clone of the '
                                     'repository: pip install -e ".[studio]")')


def test_the_studio_names_every_missing_library():
    result = studio_without("uvicorn", "starlette")
    assert result.returncode == 1
    assert "(starlette and uvicorn are missing)" in result.stderr
