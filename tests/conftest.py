"""Shared test fixtures, and how tests are collected."""

import os
import shutil
import signal

import pytest

try:
    import fcntl  # a lock the workers share (POSIX); without it each worker makes its own
except ImportError:
    fcntl = None

from engine import Value
from tests.browser import CHROMIUM, launch


@pytest.fixture(scope="module")
def data():
    """The digits prepared as the explorer's network is trained (split and standardised)."""
    from demos.digits.train import TrainConfig, prepare

    return prepare(TrainConfig(hidden=[16, 16]))


@pytest.fixture(scope="session")
def explore_html(tmp_path_factory):
    """explore.html as ``python -m demos.how_it_works`` writes it with its defaults (2 epochs,
    digits 3, 8, 1, its film): made once for every module that reads it, and, when the suite
    runs on several workers (pytest-xdist), once for all of them: the first worker to need it
    writes it into the run's shared folder under a lock, the others wait and read it."""
    from demos.how_it_works import cli

    if os.environ.get("PYTEST_XDIST_WORKER") is None or fcntl is None:
        out = tmp_path_factory.mktemp("how-default")
        assert cli.main(["--out", str(out)]) == 0
        return out / "explore.html"
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above each worker's
    page = shared / "how-default" / "explore.html"
    with open(shared / "how-default.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not page.exists():  # (written whole or not at all: a failed try leaves none)
            assert cli.main(["--out", str(page.parent)]) == 0
    return page


def image(data, digit: int):
    """The first test image of ``digit``: its standardised inputs and its 64 ink levels."""
    import numpy as np

    index = int(np.flatnonzero(data.test.labels == digit)[0])
    return data.x_test[index], data.test.images[index].reshape(-1)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one module's browser tests (skipped, saying why, without it)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


def labelled_example():
    """o = tanh(a·b + c) with a=2, b=−3, c=10, every node labelled, not yet backpropagated.

    Returns (o, (a, b, c, d, e)) where d = a·b and e = d + c.
    """
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    d = a * b
    d.label = "d"
    e = d + c
    e.label = "e"
    o = e.tanh()
    o.label = "o"
    return o, (a, b, c, d, e)


def pytest_configure(config):
    """Start every command the tests run with Ctrl-C's usual meaning. A suite started with
    SIGINT ignored (a shell script's ``… &``) would pass that on to each command it starts, and
    the tests that stop a command with SIGINT, as Ctrl-C does, would see it run on."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        except ValueError:  # not the main thread: leave it as it is
            pass


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    """The test files hold no doctests: collect them once, as tests (``--doctest-modules``
    would import each a second time, and count a module's skip twice)."""
    collectors = yield
    return [c for c in collectors if type(c).__name__ != "DoctestModule"]


def pytest_collection_modifyitems(config, items):
    """Without Graphviz's ``dot`` program, the tests that render skip, saying how to install
    it (CI installs it, so there they run)."""
    if shutil.which("dot") is not None:
        return
    skip = pytest.mark.skip(reason="Graphviz's dot is not installed: apt-get install graphviz")
    for item in items:
        if "needs_dot" in item.keywords:
            item.add_marker(skip)
