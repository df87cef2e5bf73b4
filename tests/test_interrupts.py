"""Ctrl-C and the end of the input, sent to the real commands: one line and exit 130 (or a
summary and exit 0 when the input ends), never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(args: list[str], cwd, stdin=subprocess.DEVNULL) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": ROOT}
    return subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupt_after(process: subprocess.Popen, words: str, timeout: float = 120) -> tuple:
    """Read the command's output until ``words`` appear, send SIGINT (what Ctrl-C sends),
    and return (exit code, everything it printed on stdout, on stderr)."""
    seen, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        char = process.stdout.read(1)  # a prompt has no end of line: read as it comes
        if not char:
            break
        seen += char
        if words in seen:
            process.send_signal(signal.SIGINT)
            break
    try:
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, seen + out, err


def assert_one_line(code: int, err: str) -> None:
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip() == "interrupted", err


def test_ctrl_c_while_practising_is_one_line(tmp_path):
    process = start(["-m", "engine.viz", "tanh(a*b)", "a=1", "b=2", "--practice"], tmp_path,
                    stdin=subprocess.PIPE)
    code, out, err = interrupt_after(process, "= ?", timeout=30)  # it waits for an answer
    assert_one_line(code, err)


def test_the_end_of_the_input_ends_practice_with_its_summary(tmp_path):
    # Two answers piped in, then the input ends: the score so far, the results, exit 0.
    done = subprocess.run([sys.executable, "-m", "engine.viz", "tanh(a*b)", "a=1", "b=2",
                           "--practice"], input="1\n0.5\n", capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "EOFError" not in done.stderr
    assert "of 1 right." in done.stdout  # two tries on the first question, then the end
    assert "∂out/∂a = 0.141302" in done.stdout


@pytest.mark.slow
def test_ctrl_c_while_the_digits_plots_are_written_is_one_line(tmp_path):
    # The report is printed, then the four plots are drawn (about a second): stop it there.
    process = start(["-m", "demos.digits", "--epochs", "1", "--limit", "300", "--quiet",
                     "--out", str(tmp_path / "run")], tmp_path)
    code, out, err = interrupt_after(process, "Confusion matrix")
    assert_one_line(code, err)
    assert not list((tmp_path / "run").glob(".*.tmp")), "a half-written file was left"


@pytest.mark.slow
def test_ctrl_c_while_how_it_works_trains_is_one_line(tmp_path):
    process = start(["-m", "demos.how_it_works", "--out", str(tmp_path / "out")], tmp_path)
    code, out, err = interrupt_after(process, "Training briefly")
    assert_one_line(code, err)


def test_ctrl_c_through_the_glassgrad_command_is_one_line(tmp_path):
    code = ("import sys; sys.argv = ['glassgrad', 'viz', 'tanh(a*b)', 'a=1', 'b=2', "
            "'--practice']; from demos.command import entry; entry()")
    process = start(["-c", code], tmp_path, stdin=subprocess.PIPE)
    code, out, err = interrupt_after(process, "= ?", timeout=30)
    assert_one_line(code, err)


def test_ctrl_c_while_a_c_extension_loads_is_one_line(capsys):
    # A Ctrl-C that lands while a C module initialises reaches the command as the ImportError
    # it caused ("initialization failed", from KeyboardInterrupt): one line and 130 as well;
    # any other ImportError is left as it is.
    from engine.system.console import run

    def interrupted_import():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            raise ImportError("initialization failed") from e

    with pytest.raises(SystemExit) as stop:
        run(interrupted_import)
    assert stop.value.code == 130 and capsys.readouterr().err == "\ninterrupted\n"

    def missing():
        raise ImportError("no module named nope")

    with pytest.raises(ImportError, match="nope"):
        run(missing)
