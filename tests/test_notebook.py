"""The tutorial notebook runs top to bottom, and its saved HTML works with no kernel."""

import importlib.util
from pathlib import Path

import pytest

from tests.browser import axe_violations

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need the test extras: "
                                                  "pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient: "
                                                  "pip install -e '.[test]'")
pytest.importorskip("ipykernel", reason="the notebook needs a kernel: pip install ipykernel")

pytestmark = pytest.mark.needs_dot
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
SAVED = ROOT / "docs" / "tutorial.html"


def make_images():
    """docs/make_images.py, the script that saves docs/tutorial.html, as a module."""
    spec = importlib.util.spec_from_file_location("make_images", ROOT / "docs" / "make_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


def outputs(nb, starts: str) -> list:
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    return cell.outputs


def html_of(nb, starts: str) -> str:
    return "".join(o["data"].get("text/html", "") for o in outputs(nb, starts) if "data" in o)


def text_of(nb, starts: str) -> str:
    return "".join(o.get("text", "") for o in outputs(nb, starts))


@pytest.mark.slow
def test_the_notebook_runs_and_shows_every_display(executed):
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
    assert "<b>o</b> = 0.462117" in html_of(executed, "from engine import Value")
    assert "<svg" in html_of(executed, "from engine import Value")
    assert "backward pass over 6 nodes, 3 steps left" in html_of(executed, "steps = ")
    assert "step 3 of 3: d = a × b" in html_of(executed, "step = next")
    assert html_of(executed, "import engine.viz").startswith("<iframe srcdoc=")
    practice = text_of(executed, "import engine\n")
    assert "e.grad = ?" in practice and "that is o.grad alone" in practice
    assert "8 of 10 right." in practice
    assert "MLP(2 → 8 → 2, relu" in html_of(executed, "from nn import MLP")
    assert "40 of 40 points right" in text_of(executed, "import random")
    assert "<svg" in html_of(executed, "cross_entropy(model")


@pytest.mark.slow
def test_the_saved_notebook_steps_without_a_kernel(executed, browser, tmp_path):
    nbconvert = pytest.importorskip("nbconvert", reason="pip install -e '.[test]'")
    body, _ = nbconvert.HTMLExporter(template_name="basic").from_notebook_node(executed)
    saved = tmp_path / "tutorial.html"  # saved as docs/make_images.py saves it
    saved.write_text(make_images().saved_notebook(body), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(saved.as_uri())
    assert page.locator("svg").count() >= 6  # the drawings, inline
    frame = page.frame_locator("iframe")
    frame.locator("#next").click()
    frame.locator("#next").click()
    assert frame.locator("#explain").inner_text() == "forward 5 of 6: e = d + c = 0.5"
    frame.locator("#end").click()
    assert frame.locator("#explain").inner_text().startswith("step 3 of 3")
    assert requests == [saved.as_uri()] and errors == []
    assert axe_violations(page) == []  # the frame named, the cells in a landmark
    page.close()


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)])
def test_axe_finds_nothing_on_docs_tutorial_html(browser, size):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]},
                            is_mobile=size[0] < 500)
    page.goto(SAVED.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
    assert axe_violations(page) == []
    page.close()
