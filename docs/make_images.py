"""Regenerate the example pictures in docs/: ``python docs/make_images.py``.

It needs the dev extras (Playwright drives Chromium for the screenshots; nbclient runs the
tutorial notebook), Graphviz's ``dot`` and Chromium. Every one is checked before any file is
written, so a missing tool changes nothing in docs/.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout, too

from demos.digits.data import load_digits  # noqa: E402
from demos.how_it_works import cli as how_it_works  # noqa: E402
from engine import Value  # noqa: E402
from engine.system.files import atomic_write  # noqa: E402
from engine.viz import backward_frames, draw_dot, render, style  # noqa: E402
from nn import MLP, cross_entropy  # noqa: E402
from nn.viz import draw_network  # noqa: E402


def missing_prerequisites() -> list[str]:
    """One line per missing tool, each with the command that installs it."""
    missing = []
    for module in ("playwright", "nbclient", "nbconvert", "nbformat", "ipykernel", "starlette",
                   "uvicorn"):
        if importlib.util.find_spec(module) is None:
            missing.append(f"the Python package {module}: pip install -e '.[dev]'")
    if shutil.which("dot") is None:
        missing.append("Graphviz's dot: apt-get install graphviz (brew install graphviz on macOS)")
    if shutil.which("chromium") is None:
        missing.append("Chromium: apt-get install chromium")
    return missing


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python docs/make_images.py",
        description="Regenerate every picture, screenshot and saved page in docs/ (the same "
                    "bytes for the same code). Needs the dev extras, Graphviz and Chromium."
    ).parse_args(argv)
    missing = missing_prerequisites()
    if missing:
        print("make_images: nothing written; missing:\n  " + "\n  ".join(missing),
              file=sys.stderr)
        return 1
    (HERE / "how_it_works").mkdir(exist_ok=True)
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(6.5, label="c")
    d = a * b
    d.label = "d"
    e = d + c
    e.label = "e"
    o = e.tanh()
    o.label = "o"
    o.backward()
    render(draw_dot(o, local_derivatives=True, color_grads=True), HERE / "expression.svg")
    frames = backward_frames(o, HERE / "frames", format="svg", local_derivatives=True)

    data = load_digits()
    three = next(i for i, label in enumerate(data.labels) if label == 3)
    model = MLP(64, [32, 10], rng=0)
    loss = cross_entropy(model(list(data.inputs[three])), 3)
    loss.backward()
    render(draw_dot(loss, color_grads=True), HERE / "mlp_collapsed.svg")
    small = MLP(64, [16, 16, 10], rng=0)
    render(draw_network(small, data.inputs[three], focus={1: 0, 2: 0, 3: 3},
                        title="An untrained MLP(64, [16, 16, 10]) reading a 3: only the "
                              "connections into one neuron per layer are drawn"),
           HERE / "network.svg")
    # The explainer's figures: run the demo and keep the ones the README shows.
    with tempfile.TemporaryDirectory() as tmp:
        how_it_works.main(["--digit", "3", "--out", tmp, "--trained", "--epochs", "2"])
        kept = []
        for name in ("neuron", "step1", "step2", "step3", "step4", "apply", "repeat"):
            svg = (Path(tmp) / f"{name}.svg").read_bytes()
            kept.append(atomic_write(HERE / "how_it_works" / f"{name}.svg", svg, "picture"))
        kept += explorer_screenshots(Path(tmp) / "explore.html")
    kept.append(stepper_screenshot())
    kept += studio_screenshots()
    kept.append(tutorial_html())
    print("wrote", ", ".join(p.name for p in [HERE / "expression.svg", *frames,
                                               HERE / "mlp_collapsed.svg",
                                               HERE / "network.svg", *kept]))
    return 0


def launch(playwright):
    """Headless Chromium set to draw the same pixels on every run: one raster thread, no
    partial raster, no font hinting."""
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--font-render-hinting=none", "--num-raster-threads=1", "--disable-partial-raster"])


def still(page) -> bytes:
    """A screenshot with no hover, no focus ring and nothing mid-change: the same pixels on
    every run."""
    size = page.viewport_size
    page.mouse.move(size["width"] - 1, size["height"] - 1)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.wait_for_timeout(300)  # rebuilt buttons and a step's highlight settle first
    return page.screenshot(animations="disabled", caret="hide")


def explorer_screenshots(page_path: Path) -> list[Path]:
    """Two views of the explorer at 1280×900: Step 2 with the largest weight change clicked,
    and the update applied; the same pixels for the same seed."""
    from playwright.sync_api import sync_playwright

    shots = []
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_path.as_uri())
        page.click("button[data-value='step2']")
        biggest = page.evaluate("""(() => { let best = null, size = -1;
          for (const el of document.querySelectorAll('[id^="dw3-3-"]')) {
            const box = el.getBBox(), s = box.width + box.height;
            if (s > size) { size = s; best = el.id; } }
          return best; })()""")
        page.click(f"#{biggest}")

        shots.append(atomic_write(HERE / "explorer_step2.png", still(page), "screenshot"))
        page.evaluate("explorer.apply(); explorer.select('n3-3')")  # no button left pressed
        shots.append(atomic_write(HERE / "explorer_apply.png", still(page), "screenshot"))
        browser.close()
    return shots


THREE = [(0.3, 0.2), (0.6, 0.15), (0.72, 0.3), (0.5, 0.47), (0.72, 0.62), (0.62, 0.82),
         (0.3, 0.8)]  # a narrow '3', as fractions of the pad: the network takes it for a 7


def studio_screenshots() -> list[Path]:
    """The studio at 1280×900: a narrow '3' drawn with the mouse, labelled 3, at Step 1;
    then taught one step (the same pixels for the same code: the answer's time is left
    out)."""
    from playwright.sync_api import sync_playwright

    from demos.digits.train import TrainConfig, train
    from demos.studio import teaching
    from demos.studio.app import Studio, running
    from demos.studio.cli import samples

    with tempfile.TemporaryDirectory() as tmp:
        result = train(TrainConfig(hidden=[16, 16]), tmp, progress=False, log=lambda _: None)
        norm = teaching.Normalisation(result.data.mean, result.data.std)
        studio = Studio(result.model, norm, Path(tmp), samples())
        with running(studio) as url, sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_function("() => window.studio && window.studio.last")
            page.click("#clear")
            box = page.locator("#pad").bounding_box()
            at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in THREE]
            page.mouse.move(*at[0])
            page.mouse.down()
            for point in at[1:]:
                page.mouse.move(*point, steps=6)
            page.mouse.up()
            page.wait_for_timeout(500)
            page.click("#labels button[data-label='3']")
            page.wait_for_function("() => window.studio.last.label === 3")
            page.click("button[data-value='step1']")
            blank = "document.getElementById('status').textContent = ''"
            page.evaluate(blank)
            shots = [atomic_write(HERE / "studio_read.png", still(page), "screenshot")]
            page.click("#teach")
            page.wait_for_function("() => window.studio.last.steps === 1")
            page.evaluate(blank)
            shots.append(atomic_write(HERE / "studio.png", still(page), "screenshot"))
            browser.close()
    return shots


def tutorial_html() -> Path:
    """docs/tutorial.ipynb run top to bottom and saved as one HTML file: every drawing and
    the inline stepper work in it with no kernel."""
    import nbclient
    import nbconvert
    import nbformat

    nb = nbformat.read(HERE / "tutorial.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(HERE.parent)}}).execute()
    body, _ = nbconvert.HTMLExporter(template_name="basic").from_notebook_node(nb)
    return atomic_write(HERE / "tutorial.html", saved_notebook(body), "HTML page")


def saved_notebook(body: str) -> str:
    """nbconvert's cells as one page that assistive technology can find its way around: the
    cells inside a <main> landmark, and each inline page's frame named by that page's title.
    Long lines of code and output wrap, on a phone too, rather than scroll inside their box
    (a box that scrolls must be reachable with the keyboard)."""

    def titled(frame: re.Match) -> str:
        names = re.sub(r"\"[^\"]*\"|'[^']*'", "", frame.group(1))  # attributes' names only
        if re.search(r"\stitle=", names):
            return frame.group(0)
        # srcdoc holds the page escaped once as an attribute; its <title> escaped once more.
        found = re.search(r"<title>(.*?)</title>", html.unescape(frame.group(1)), re.S)
        name = html.unescape(found.group(1)) if found else "a page shown inline"
        return f'<iframe title="{html.escape(name, quote=True)}"{frame.group(1)}>'

    # A tag's attributes hold no ">" (srcdoc's is escaped): [^>]* stays inside the tag.
    body = re.sub(r"<iframe\b([^>]*)>", titled, body)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>glassgrad in a notebook</title><style>body { font-family: Helvetica, "
            "Arial, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; } "
            "pre { white-space: pre-wrap; overflow-wrap: anywhere; background: "
            f"{style.PANEL}; "
            "padding: .5em; }</style></head>"
            f"<body><main>{body}</main></body></html>")


def stepper_screenshot() -> Path:
    """The HTML stepper in headless Chromium, midway through the backward pass, at 1920 px:
    wide enough for the graph drawn left to right (a narrower window gets it top to bottom)."""

    from playwright.sync_api import sync_playwright

    from engine.viz import export_html
    from engine.viz.expr import build

    out = build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5})
    with tempfile.TemporaryDirectory() as tmp:
        page_path = export_html(out, Path(tmp) / "stepper.html", title="tanh(a*b + c)")
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1920, "height": 420})
            page.goto(page_path.as_uri())
            page.click("#backward")  # the forward pass done, then a second backward step
            page.keyboard.press("ArrowRight")
            png = still(page)
            browser.close()
    return atomic_write(HERE / "html_stepper.png", png, "screenshot")


if __name__ == "__main__":
    sys.exit(main())
