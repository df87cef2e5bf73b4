"""The browser tests' Chromium (the system's, driven by Playwright: no browser download) and
axe-core: what it finds on a page, as lines a failing test can print."""

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless, as root, and no background connections: this machine's network is closed.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="no chromium (apt-get install chromium)")


def launch(playwright):
    """The system's Chromium, headless, from a ``sync_playwright()`` context."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def axe_violations(page) -> list[str]:
    """Every violation axe-core finds on ``page`` as it is now (its default rules, best
    practices included): one "rule: element" line each, so that [] means none."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright",
                              reason="axe-core's tests need the test extras: "
                                     "pip install -e '.[test]'")
    found = axe.Axe().run(page).response["violations"]
    return [f"{v['id']}: {node['target']}" for v in found for node in v["nodes"]]
