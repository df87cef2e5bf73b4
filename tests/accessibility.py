"""axe-core in the browser tests: what it finds on a page, as lines a failing test can print."""

import pytest


def axe_violations(page) -> list[str]:
    """Every violation axe-core finds on ``page`` as it is now (its default rules, best
    practices included): one "rule: element" line each, so that [] means none."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright",
                              reason="axe-core's tests need the test extras: "
                                     "pip install -e '.[test]'")
    found = axe.Axe().run(page).response["violations"]
    return [f"{v['id']}: {node['target']}" for v in found for node in v["nodes"]]
