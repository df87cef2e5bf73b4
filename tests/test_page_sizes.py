"""Pages a class can read, measured in headless Chromium: the explorer (explore.html) and the
studio page, on a projector (1280×900, 1920×1080), zoomed to 200% and on a phone (390×844).

The figure's text size is what the screen shows: each visible SVG text's font size times the
figure's scale (its screen matrix), in CSS px; at 200% zoom (a 640×450 CSS-px window at device
scale 2) it is compared in device pixels, as the eye sees it."""

import pytest

from tests.browser import needs_chromium

pytest.importorskip("playwright.sync_api")

PROJECTORS = [(1280, 900), (1920, 1080)]
ZOOMED = {"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}

MEASURE = """() => {
  const svg = document.getElementById("net"), box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll("text")].filter(t => t.textContent.trim() &&
      t.getBoundingClientRect().width > 0);
  return {
    window: innerWidth, figure: box.width, left: box.left, right: box.right,
    box: (b => [b.left, b.right])(document.getElementById("figure").getBoundingClientRect()),
    bottom: box.bottom, height: innerHeight,
    text: Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize) *
                                     t.getScreenCTM().a)),
    caption: parseFloat(getComputedStyle(document.getElementById("caption")).fontSize),
    scroll: document.documentElement.scrollWidth,
    panelBelow: document.getElementById("panel").getBoundingClientRect().top >= box.bottom,
    small: [...document.querySelectorAll("button, input, select, canvas, a[href]")]
      .filter(e => e.getClientRects().length)
      .map(e => [e.id || e.textContent, e.getBoundingClientRect()])
      .filter(([, r]) => r.width < 24 || r.height < 24).map(([name]) => name),
  };
}"""


def measure(browser, url: str, stage: str, ready: str | None = None, **context) -> dict:
    """The sizes of the page at ``url`` in a new tab made with ``context`` (viewport, device
    scale, phone), at the explorer's ``stage``; ``ready``: a function to wait for first."""
    page = browser.new_page(**context)
    page.goto(url)
    if ready:
        page.wait_for_function(ready)
    page.evaluate(f"() => window.explorer.go(window.explorer.stages().indexOf('{stage}'))")
    sizes = page.evaluate(MEASURE)
    sizes["scale"] = page.evaluate("() => devicePixelRatio")
    sizes["viewport tag"] = page.evaluate(
        "() => document.querySelector('meta[name=viewport]').content")
    sizes["pad"] = page.evaluate("() => { const p = document.getElementById('pad');"
                                 " return p && getComputedStyle(p).touchAction; }")
    page.close()
    return sizes


@pytest.fixture(scope="module")
def explorer(explore_html):
    """explore.html of the how-it-works command (untrained and trained, digits 3, 8, 1)."""
    return explore_html.as_uri(), None


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """The studio's page, served (its untrained network), ready once it has read a sample."""
    pytest.importorskip("starlette", reason="the studio needs Starlette")
    pytest.importorskip("uvicorn", reason="the studio needs uvicorn")
    from demos.digits.train import TrainConfig, prepare
    from demos.studio import app as studio_app
    from demos.studio import teaching
    from demos.studio.cli import samples
    from nn import MLP

    data = prepare(TrainConfig())
    norm = teaching.Normalisation(data.mean, data.std)
    run = tmp_path_factory.mktemp("studio") / "run"
    served = studio_app.Studio(MLP(64, [16, 16, 10], rng=0), norm, run, samples())
    with studio_app.running(served) as url:
        yield url, "() => window.studio && window.studio.last"


FILM_BUDGET = 300_000  # bytes the training film may add to explore.html (issue 23, item 2)


def film_bytes(text: str) -> int:
    """What the film adds to the explorer page ``text``: its data block's bytes with the film
    less without it (the rest of the page is the same)."""
    from demos.how_it_works import explorer

    data = explorer.page_data(text)
    assert f'type="application/json">{explorer.pack(data)}</script>' in text  # as written
    return len(explorer.pack(data)) - len(explorer.pack({k: v for k, v in data.items()
                                                         if k != "film"}))


def test_the_training_film_adds_at_most_300_kb_to_the_explorer(explorer):
    from pathlib import Path
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    text = Path(url2pathname(urlparse(explorer[0]).path)).read_text()
    added = film_bytes(text)
    # 279 KB with its 30 frames' weights printed to 3 significant digits (4: 310 KB).
    assert 100_000 < added <= FILM_BUDGET, added


PAGES = ["explorer", "studio"]
STAGES = ["forward", "step1", "step2", "step3", "step4", "apply"]


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("size", PROJECTORS)
def test_a_projector_shows_the_figure_wide_and_its_text_large(browser, request, name, size):
    url, ready = request.getfixturevalue(name)
    for stage in STAGES:
        sizes = measure(browser, url, stage, ready,
                        viewport={"width": size[0], "height": size[1]})
        assert sizes["text"] >= 14, (stage, sizes)  # every word of the figure
        assert sizes["caption"] >= 16, sizes
        assert sizes["figure"] >= 0.6 * sizes["window"], sizes
        assert sizes["bottom"] <= sizes["height"], sizes  # seen whole, legend and all
        assert not sizes["panelBelow"] or name == "studio"  # the explorer's is beside it
        assert sizes["scroll"] <= size[0]


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_zooming_in_makes_the_figure_larger(browser, request, name):
    url, ready = request.getfixturevalue(name)
    normal = measure(browser, url, "step2", ready, viewport={"width": 1280, "height": 900})
    zoomed = measure(browser, url, "step2", ready, **ZOOMED)
    # As the eye sees it, in device pixels: it was 0.55 times as large (the width was 100vw
    # less a fixed 290 px); now the panel goes under the figure and the figure takes the width.
    assert zoomed["text"] * zoomed["scale"] > normal["text"] * normal["scale"], (normal, zoomed)
    assert zoomed["panelBelow"] and zoomed["figure"] == zoomed["window"]
    assert zoomed["scroll"] <= 640


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_a_phone_shows_the_page_at_its_width_with_targets_a_finger_can_hit(browser, request,
                                                                           name):
    url, ready = request.getfixturevalue(name)
    for stage in ("forward", "step4"):
        sizes = measure(browser, url, stage, ready, **PHONE)
        assert sizes["viewport tag"] == "width=device-width, initial-scale=1"
        assert sizes["window"] == 390  # without the tag Chromium lays the page out 980 wide
        assert sizes["scroll"] <= 390  # nothing scrolls sideways
        assert 0 <= sizes["left"] and sizes["right"] <= 390  # the figure fits, all of it
        assert sizes["small"] == []  # every control at least 24×24 CSS px
        if name == "studio":  # a finger drawing on the pad draws, not scrolls the page
            assert sizes["pad"] == "none"


def opened(browser, url: str, stage: str, ready: str | None = None, **context):
    """A new tab on ``url`` made with ``context``, at the explorer's ``stage``."""
    page = browser.new_page(**context)
    page.goto(url)
    if ready:
        page.wait_for_function(ready)
    page.evaluate(f"() => window.explorer.go(window.explorer.stages().indexOf('{stage}'))")
    return page


FIGURE_BOX = """() => { const box = document.getElementById("figure");
  const b = box.getBoundingClientRect();
  const ring = document.querySelector("#net .n[stroke-width='6']").getBoundingClientRect();
  return {scrolls: box.scrollWidth > box.clientWidth, left: b.left, right: b.right,
          ring: [ring.left, ring.right]}; }"""


@needs_chromium
@pytest.mark.slow
def test_a_phone_draws_the_figure_large_enough_to_read_in_a_box_a_finger_swipes(browser,
                                                                                explorer):
    from tests.browser import axe_violations

    url, _ = explorer
    for stage in ("step1", "step2", "step4"):
        page = opened(browser, url, stage, **PHONE)
        assert page.evaluate(FIGURE_BOX)["scrolls"] is False  # fitted first: all of it
        # A thinner focus ring than a projector's (3 px crowded the buttons next to it).
        page.focus("#next")
        assert page.evaluate("() => getComputedStyle(document.activeElement).outlineWidth"
                             ) == "2px"
        # Fitted to the phone's width its smallest text is 5.3 px; "larger figure" draws it
        # 52rem wide, 11 px, and scrolls its box to the stage's part.
        page.tap("#figure-size")
        assert page.get_attribute("#figure-size", "aria-pressed") == "true"
        sizes, box = page.evaluate(MEASURE), page.evaluate(FIGURE_BOX)
        assert sizes["text"] >= 11, (stage, sizes)
        assert sizes["scroll"] <= 390 and box["scrolls"], (stage, sizes, box)
        # The box has scrolled to what the stage is about: its ringed neuron is in sight.
        assert box["left"] <= box["ring"][0] and box["ring"][1] <= box["right"], (stage, box)
        assert axe_violations(page) == [], stage
        page.close()


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("context", [PHONE, ZOOMED], ids=["phone", "200%"])
def test_the_figure_starts_in_the_first_screen_of_a_phone_or_a_zoomed_window(browser,
                                                                            explorer, context):
    url, _ = explorer
    page = opened(browser, url, "step1", **context)
    top, height = page.evaluate("() => [document.getElementById('net')"
                                ".getBoundingClientRect().top, innerHeight]")
    # The header (title, stages, networks, hint, glossary) took 44% of a phone's first screen
    # and 56% at 200%; the keys are folded now and the buttons one wrapping row.
    assert top <= 0.4 * height, (top, height)
    page.close()


@needs_chromium
@pytest.mark.slow
def test_the_panel_scrolls_on_its_own_within_a_projectors_window(browser, explorer):
    from tests.browser import axe_violations

    url, _ = explorer
    page = opened(browser, url, "step4", viewport={"width": 1280, "height": 900})
    page.evaluate("() => explorer.select([...document.querySelectorAll('line.w')]"
                  ".find(l => l.style.display !== 'none').id)")
    # Its maths unfolded, the caption's and the weight's: the longest the panel gets.
    page.evaluate("() => document.querySelectorAll('#panel details').forEach(d => d.open = true)")
    panel = page.evaluate("""() => { const p = document.getElementById("panel");
      return {bottom: p.getBoundingClientRect().bottom, height: innerHeight,
              scrolls: p.scrollHeight > p.clientHeight,
              page: document.documentElement.scrollHeight}; }""")
    # A weight's numbers under Step 4's caption ran to 1,013 px, under the window's foot.
    assert panel["bottom"] <= panel["height"] and panel["page"] <= panel["height"], panel
    assert panel["scrolls"], panel  # (it holds more than the window: it scrolls inside)
    assert axe_violations(page) == []  # a scrolling region the keyboard can reach
    page.close()


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("size", PROJECTORS)
def test_after_a_teach_the_boxes_and_the_figure_are_in_view_together(browser, studio, size):
    url, ready = studio
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(url)
    page.wait_for_function(ready)
    page.click("#labels button[data-label='3']")
    page.wait_for_function("() => window.studio.last.label === 3")
    page.click("#teach")
    page.wait_for_function("() => window.studio.last.steps === 1")
    page.wait_for_timeout(100)
    seen = page.evaluate("""() => { const r = id => document.getElementById(id)
        .getBoundingClientRect(), net = r("net");
      return {boxes: ["taught", "preview"].map(r).every(b => b.top >= 0 &&
                                                            b.bottom <= innerHeight),
              figure: net.top >= -1 && net.top + net.height / 2 <= innerHeight,
              rects: ["taught", "preview", "net"].map(id => [r(id).top, r(id).bottom])}; }""")
    # Bringing the boxes into view at 1280x900 took the figure out of it (its foot at 55 px):
    # the column scrolls on its own now, beside the figure (whose top may be cut by a
    # fraction of a pixel: the header's height is fractional).
    assert seen["boxes"] and seen["figure"], seen
    page.close()


NEURON_TARGETS = """() => [...document.querySelectorAll("#net circle.n")].map(c => {
  // What a finger 11 px left and right of each neuron's centre lands on.
  const b = c.getBoundingClientRect(), x = b.left + b.width / 2, y = b.top + b.height / 2;
  const hit = e => e && (e.id || (e.dataset && e.dataset.for) || e.tagName);
  return [c.id, b.width, hit(document.elementFromPoint(x - 11, y)),
          hit(document.elementFromPoint(x + 11, y))]; })"""


@needs_chromium
@pytest.mark.slow
def test_a_phones_larger_figure_gives_each_neuron_a_target_a_finger_can_hit(browser, explorer):
    # Drawn 52rem wide a neuron is 20 CSS px across (an output 23): its target is 26 (a circle
    # the script lays under it, transparent), so a tap 11 px from its centre, left or right,
    # selects it.
    url, _ = explorer
    page = opened(browser, url, "step3", **PHONE)
    page.tap("#figure-size")
    page.evaluate("() => document.getElementById('figure').scrollLeft = 0")
    targets = page.evaluate(NEURON_TARGETS)
    seen = [(name, left, right) for name, width, left, right in targets
            if page.evaluate(f"() => (r => r.left >= 11 && r.right <= 379)(document."
                             f"getElementById('{name}').getBoundingClientRect())")]
    assert len(seen) >= 16 and all(19 <= width <= 23 for _, width, _, _ in targets)  # 20, 23
    assert [t for t in seen if t[1] != t[0] or t[2] != t[0]] == []
    # A tap there selects it.
    name = seen[0][0]
    box = page.evaluate(f"() => (r => [r.left, r.top, r.width])(document.getElementById("
                        f"'{name}').getBoundingClientRect())")
    page.touchscreen.tap(box[0] + box[2] / 2 - 11, box[1] + box[2] / 2)
    assert page.inner_text("#details b").startswith("hidden layer")
    page.close()
