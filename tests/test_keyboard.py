"""The explorer's figure by keyboard and assistive technology (issue 22, items 6 and 10), in
headless Chromium: one tab stop into the figure, arrow keys within it (←/→ between its columns,
↑/↓ within one) reaching every neuron, every drawn line and every black arrow, a visible focus
ring, Enter/Space opening the panel; keys typed into a text field never change the stage; the
figure, its stage and its panel said to a screen reader; axe-core finding nothing."""

import pytest

from tests.browser import axe_violations, needs_chromium

pytest.importorskip("playwright.sync_api")

pytestmark = [needs_chromium, pytest.mark.slow]

ACTIVE = "() => document.activeElement.id"
IN_FIGURE = "() => document.getElementById('net').contains(document.activeElement)"
# What a stage draws that a learner can pick: neurons, lines not hidden, black arrows.
DRAWN = """() => [...document.querySelectorAll('#net .n, #net line.w, #overlay [id^="dw"]')]
  .filter(e => e.style.display !== 'none').map(e => e.id)"""
RING = """() => { const g = document.getElementById('focus-ring'), r = g.querySelector('.ring');
  if (!r) return null;
  const s = getComputedStyle(r), box = r.getBoundingClientRect();
  return {width: parseFloat(s.strokeWidth), dash: s.strokeDasharray, w: box.width,
          h: box.height}; }"""


@pytest.fixture(scope="module")
def explorer(explore_html):
    """explore.html of the how-it-works command (untrained and trained, digits 3, 8, 1)."""
    return explore_html.as_uri()


@pytest.fixture()
def page(browser, explorer):
    """A fresh tab on the explorer at 1280×900, failing the test on any script error."""
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(explorer)
    yield tab
    tab.close()
    assert errors == []


def go(page, stage: str, network: str = "untrained") -> None:
    page.evaluate(f"() => {{ explorer.setNetwork('{network}');"
                  f" explorer.go(explorer.stages().indexOf('{stage}')); }}")


def tab_into_figure(page, limit: int = 80) -> int:
    """Press Tab until the focus is in the figure; how many presses that took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(IN_FIGURE):
            return presses
    raise AssertionError(f"{limit} Tabs never reached the figure")


def walk(page) -> list[str]:
    """Every element the arrow keys reach from the focus in the figure: back to the first
    column (←), then each column top to bottom (Home, ↓), moving right (→) until the last."""
    at = [page.evaluate(ACTIVE)]

    def press(key):  # whether the focus moved
        page.keyboard.press(key)
        at.append(page.evaluate(ACTIVE))
        return at[-1] != at[-2]

    while press("ArrowLeft"):
        pass
    seen = []
    while True:
        press("Home")
        seen.append(at[-1])
        while press("ArrowDown"):
            seen.append(at[-1])
        if not press("ArrowRight"):
            return seen


@pytest.mark.parametrize("stage", ["forward", "step1", "step2", "step3", "step4", "apply",
                                   "repeat"])
def test_the_keys_reach_every_neuron_drawn_line_and_black_arrow(page, stage):
    go(page, stage)
    presses = tab_into_figure(page)
    seen = walk(page)
    drawn = page.evaluate(DRAWN)
    # Each once, and nothing else: lines hidden at this stage (display none) are skipped.
    assert len(seen) == len(set(seen)) and set(seen) == set(drawn), (stage, len(seen))
    assert any(i.startswith("w") for i in seen) == (stage != "step1")
    if stage == "step4":  # the black arrows on the pixels
        assert sum(i.startswith("dw1-") for i in seen) == 64
    # One tab stop: the next Tab leaves the figure, Shift+Tab comes back to the same element.
    where = page.evaluate(ACTIVE)
    page.keyboard.press("Tab")
    assert not page.evaluate(IN_FIGURE)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(ACTIVE) == where
    assert presses < 40


def test_the_focus_ring_is_thick_and_dashed_and_only_while_focused(page):
    go(page, "step2")
    tab_into_figure(page)
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowDown"):  # onto a line
        page.keyboard.press(key)
    assert page.evaluate(ACTIVE).startswith(("w3-3-", "dw3-3-"))
    ring = page.evaluate(RING)
    # Not colour alone: 3.5 CSS px, dashed, and larger than what it surrounds.
    assert ring["width"] >= 3 and ring["dash"] not in ("", "none"), ring
    box = page.evaluate("() => document.activeElement.getBoundingClientRect().toJSON()")
    assert ring["w"] > box["width"] and ring["h"] > box["height"]
    page.keyboard.press("Tab")  # out of the figure: no ring
    assert page.evaluate(RING) is None


def test_enter_and_space_open_the_panel_as_a_click_does(page):
    go(page, "step3")
    tab_into_figure(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # the lines into hidden layer 2's neuron
    line = page.evaluate(ACTIVE)
    page.keyboard.press("Enter")
    by_key = page.inner_text("#details")
    page.evaluate("() => explorer.select('n3-0')")
    page.click(f"#{line}", force=True)  # the same line by the pointer
    assert page.inner_text("#details") == by_key and "The weight from" in by_key
    page.keyboard.press("ArrowRight")  # a neuron of hidden layer 2, and Space
    neuron = page.evaluate(ACTIVE)
    page.keyboard.press(" ")
    name = page.evaluate(f"() => DATA.passes['untrained/3'].neurons[2][{neuron.split('-')[1]}]"
                         ".name")
    assert page.inner_text("#details").startswith(name)
    assert page.evaluate("() => scrollY") == 0  # Space selected; it did not scroll the page


def test_keys_typed_into_a_text_field_never_change_the_stage(page):
    go(page, "step2")
    page.evaluate("""() => { for (const [tag, editable] of [['input', 0], ['textarea', 0],
        ['select', 0], ['div', 1]]) {
      const field = document.createElement(tag);
      field.id = 'field-' + tag; field.setAttribute('aria-label', tag);
      if (tag === 'select') field.append(new Option('a'), new Option('b'));
      if (editable) { field.contentEditable = 'true'; field.textContent = 'abc'; }
      document.body.append(field); } }""")
    for field in ("input", "textarea", "select", "div"):
        page.focus(f"#field-{field}")
        for key in ("ArrowRight", "ArrowLeft", "PageDown", "PageUp", "ArrowRight"):
            page.keyboard.press(key)
        assert page.evaluate("explorer.stage()") == "step2", field
    page.focus("#apply")  # a button: ←/→ change the stage
    page.keyboard.press("ArrowRight")
    assert page.evaluate("explorer.stage()") == "step3"
    tab_into_figure(page)  # in the figure ←/→ move the focus, Page Up/Down the stage
    page.keyboard.press("ArrowRight")
    assert page.evaluate("explorer.stage()") == "step3"
    page.keyboard.press("PageDown")
    assert page.evaluate("explorer.stage()") == "step4" and page.evaluate(IN_FIGURE)
    page.keyboard.press("PageUp")
    assert page.evaluate("explorer.stage()") == "step3" and page.evaluate(IN_FIGURE)


def test_the_figure_stage_and_panel_are_said_to_a_screen_reader(page):
    svg = page.evaluate("""() => { const s = document.getElementById('net');
      return [s.getAttribute('role'), document.getElementById(s.getAttribute(
        'aria-labelledby')).textContent, document.getElementById(s.getAttribute(
        'aria-describedby')).textContent, s.querySelector('title') === s.firstElementChild]; }""")
    assert svg[0] == "application" and svg[3]
    assert svg[1] == "The forward pass: the untrained network reads a 3: the untrained " \
        "network reading a '3'"
    assert "Tab into the figure" in svg[2] and "Enter or Space" in svg[2]
    for region in ("story", "details"):
        assert page.get_attribute(f"#{region}", "aria-live") == "polite"
    assert page.evaluate("() => document.getElementById('story')"
                         ".contains(document.getElementById('caption'))")
    # A negative weight's label: its plain names, its value and its sign in words.
    go(page, "step2")
    weights = page.evaluate("() => DATA.weights.untrained.w[2][3]")
    k = next(k for k, w in enumerate(weights) if w.startswith("-"))
    page.evaluate(f"() => explorer.select('w3-3-{k}')")
    label = page.get_attribute(f"#w3-3-{k}", "aria-label")
    assert label == (f"weight from hidden layer 2, neuron {k} into output '3': "
                     f"−{weights[k][1:]} (dashed: negative)")
    assert page.get_attribute(f"#w3-3-{k}", "tabindex") == "0"  # the stop follows a click
    arrow = page.evaluate(f"() => document.getElementById('dw3-3-{k}').getAttribute('id')")
    page.evaluate(f"() => explorer.select('{arrow}')")
    assert page.get_attribute(f"#{arrow}", "aria-label").startswith(
        f"black arrow, the change in one step of the weight from hidden layer 2, neuron {k} "
        "into output '3': ")


@pytest.mark.parametrize("network", ["untrained", "trained"])
def test_axe_finds_nothing_on_the_explorer_at_any_stage(page, network):
    for stage in page.evaluate("explorer.stages()"):
        go(page, stage, network)
        assert axe_violations(page) == [], (network, stage)
    go(page, "step2", network)
    page.evaluate("() => explorer.select('n3-3')")
    assert axe_violations(page) == []
    tab_into_figure(page)  # a line selected and focused, its ring drawn
    page.keyboard.press("ArrowLeft")  # from the selected output to the lines into it
    page.keyboard.press("Enter")
    assert "The weight from" in page.inner_text("#details")
    assert axe_violations(page) == []


def test_a_learner_inspects_a_step4_weight_with_the_keyboard_only(page):
    # From the page's load, only keys: Tab to the "Step 4" button, Enter; Tab into the
    # figure, → to the column of the pixels' lines, ↓ to a line (not a black arrow), Enter.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.value") == "step4":
            break
    page.keyboard.press("Enter")
    assert page.evaluate("explorer.stage()") == "step4"
    tab_into_figure(page)
    page.keyboard.press("ArrowRight")
    for _ in range(80):
        if page.evaluate(ACTIVE).startswith("w1-"):
            break
        page.keyboard.press("ArrowDown")
    line = page.evaluate(ACTIVE)
    page.keyboard.press("Enter")
    layer, j, k = map(int, line[1:].split("-"))
    data = page.evaluate(f"""() => {{ const P = DATA.passes['untrained/3'];
      const W = P.weights[{layer - 1}];
      return [DATA.weights.untrained.w[{layer - 1}][{j}][{k}], W.grad[{j}][{k}], W.dw[{j}][{k}],
              W.after[{j}][{k}], P.neurons[0][{k}].name, P.neurons[1][{j}].name]; }}""")
    w, grad, dw, after, source, into = data
    page.evaluate("document.querySelector('#details details').open = true")  # the maths
    panel = page.inner_text("#details")
    assert panel.startswith(f"The weight from {source} into {into}")
    w, grad, dw, after = (str(x).replace("-", "−") for x in (w, grad, dw, after))
    assert f"w = {w}\n" in panel and f"= {grad}\n" in panel
    assert f"{dw} (η = 0.1)" in panel and f"w after the step = {after}" in panel
    page.keyboard.press("PageDown")  # and on to the next stage
    assert page.evaluate("explorer.stage()") == "apply"


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """The studio's page, served (its untrained network)."""
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
        yield url


def test_the_studio_keeps_its_file_name_keys_and_axe_finds_nothing(browser, studio):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(studio)
    page.wait_for_function("() => window.studio && window.studio.last")
    assert axe_violations(page) == []  # its first view
    page.evaluate("() => explorer.go(2)")
    page.focus("#name")  # the file-name box: ← and → move its caret, not the stage
    for key in ("ArrowLeft", "ArrowLeft", "ArrowRight", "PageDown"):
        page.keyboard.press(key)
    assert page.evaluate("explorer.stage()") == "step2"
    assert tab_into_figure(page, 120)  # and its figure is reached the same way
    page.close()
