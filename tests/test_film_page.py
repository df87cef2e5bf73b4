"""The explorer's training film as Chromium shows it (figure.js: frame, the player, a weight's
story): the page draws what the film's data says, by mouse and by keyboard, fast enough.

The film here is made by the test (frames.frame of weights between the untrained and the
trained network, their numbers by numpy), so that the page is tested on its own: the film's
numbers being the engine's is the data side's test."""

import json
import re
import statistics

import numpy as np
import pytest

from demos.how_it_works import explorer, frames
from tests.browser import axe_violations
from tests.test_plain_words import runs  # noqa: F401 (the fixture: both networks)

DIGITS = ("3", "8")


def _forward(ws, bs, x, target):
    """Each layer's output (relu hidden layers, softmax out) and δ = ∂loss/∂z, by numpy."""
    a, acts, zs = x, [], []
    for n, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = w @ a + b
        a = np.maximum(z, 0) if n < len(ws) - 1 else z
        zs.append(z)
        acts.append(a)
    p = np.exp(acts[-1] - acts[-1].max())
    p /= p.sum()
    deltas = [p - np.eye(len(p))[target]]
    for n in range(len(ws) - 1, 0, -1):
        deltas.insert(0, (ws[n].T @ deltas[0]) * (zs[n - 1] > 0))
    return acts[:-1], p, acts[:-1] + [p], deltas


def make_film(runs) -> dict:  # noqa: F811
    """A film of 32 frames over 90 steps (2 epochs of 45), denser early, in DATA.film's shape."""
    start = {r.digit: r.bp for r in runs if r.network == "untrained"}
    end = {r.digit: r.bp for r in runs if r.network == "trained"}
    bp0, bp1 = start[3], end[3]
    steps, at = 90, sorted({int(round(s)) for s in np.geomspace(1, 91, 45) - 1})
    film = {"frames": [], "epochSteps": 45, "steps": steps,
            "losses": [float(f"{2.3 * np.exp(-s / 30) + 0.1:.7g}") for s in range(1, steps + 1)],
            "accuracy": [], "w": [], "b": [], "x": {}, "a": {}, "delta": {},
            "lr": "0.02", "optimizer": "Adam", "batch": 32}
    for d in DIGITS:
        film["x"][d] = start[int(d)].x.tolist()
        film["a"][d], film["delta"][d] = [], []
    for step in at:
        t = step / steps
        ws = [(1 - t) * l0.w + t * l1.w for l0, l1 in zip(bp0.layers, bp1.layers, strict=True)]
        bs = [(1 - t) * l0.b + t * l1.b for l0, l1 in zip(bp0.layers, bp1.layers, strict=True)]
        shades = {}
        for d in DIGITS:
            hidden, p, acts, deltas = _forward(ws, bs, start[int(d)].x, int(d))
            shades[d] = frames.shading(hidden, p)
            film["a"][d].append([a.tolist() for a in acts])
            film["delta"][d].append([dl.tolist() for dl in deltas])
        accuracy = 0.1 + 0.8 * t
        film["frames"].append(frames.frame(step, step // 45, film["losses"][step - 1] if step
                                           else None, accuracy, ws, shades))
        film["accuracy"].append(accuracy)
        film["w"].append([[[float(f"{v:.4g}") for v in row] for row in w] for w in ws])
        film["b"].append([[float(f"{v:.4g}") for v in b] for b in bs])
    return film


@pytest.fixture(scope="module", params=["made", "real"])
def film_page(request, runs, tmp_path_factory, explore_html):  # noqa: F811
    """The explorer with a film: the real command's page ("real", its film recorded while the
    network trained), or the explorer of ``runs`` with its data block written again with a
    film made here and the line looks ("made"). Returns (path, film)."""
    if request.param == "real":
        return explore_html, explorer.page_data(explore_html.read_text(encoding="utf-8"))["film"]
    film = make_film(runs)
    text = explorer.page(runs, "film")
    data = explorer.page_data(text)
    data.update(film=film, looks=frames.line_looks())
    old = text.split('<script id="data" type="application/json">')[1].split("</script>")[0]
    path = tmp_path_factory.mktemp("film") / "explore.html"
    path.write_text(text.replace(old, explorer.pack(data)), encoding="utf-8")
    return path, film


def open_repeat(browser, path, width=1280, height=900):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.evaluate("explorer.go(explorer.stages().indexOf('repeat'))")
    assert not errors, errors
    return page


def strokes(page) -> list:
    """Each line's colour and width as drawn ("" for a line not shown: not restyled)."""
    return page.evaluate("[...document.querySelectorAll('line.w')].map(l => "
                         "l.style.display === 'none' ? '' : "
                         "l.getAttribute('stroke') + ' ' + l.getAttribute('stroke-width'))")


@pytest.mark.slow
def test_the_film_plays_and_restarts_from_its_end(browser, film_page):
    path, film = film_page
    page = open_repeat(browser, path)
    page.evaluate("explorer.go(0)")
    own = strokes(page)  # the untrained network's own drawing
    page.evaluate("explorer.go(explorer.stages().indexOf('repeat'))")
    assert page.is_visible("#film-play") and page.is_visible("#film-chart svg")
    before = strokes(page)
    assert page.input_value("#film-scrub") == "0"
    page.click("#film-play")
    assert page.get_attribute("#film-play", "aria-pressed") == "true"
    page.wait_for_timeout(1300)  # about 4 frames a second
    page.click("#film-play")  # pause: the frame read below is then the frame shown
    assert page.get_attribute("#film-play", "aria-pressed") == "false"
    shown = int(page.input_value("#film-scrub"))
    assert 3 <= shown <= 7, shown
    assert strokes(page) != before
    f = film["frames"][shown]
    assert f"step {f['step']} of {film['steps']}" in page.inner_text("#film-where")
    page.evaluate(f"explorer.filmAt({len(film['frames']) - 1})")
    page.click("#film-play")  # at the end: from the start again
    page.wait_for_timeout(400)
    assert int(page.input_value("#film-scrub")) <= 3
    page.click("#film-play")
    # Leaving the stage gives back the chosen network's own drawing.
    page.evaluate("explorer.go(0)")
    assert not page.is_visible("#film")
    assert strokes(page) == own
    page.close()


@pytest.mark.slow
def test_the_scrubber_moves_by_keyboard_and_the_outputs_are_the_frames(browser, film_page):
    path, film = film_page
    page = open_repeat(browser, path)
    page.focus("#film-scrub")
    page.keyboard.press("ArrowRight")
    assert page.input_value("#film-scrub") == "1"
    assert page.evaluate("explorer.stage()") == "repeat"  # the arrow moved the scrubber only
    outputs = lambda: [page.text_content(f"#p{j}") for j in range(10)]  # noqa: E731
    assert outputs() == film["frames"][1]["digits"]["3"]["p"]
    page.keyboard.press("End")
    end = len(film["frames"]) - 1
    assert page.input_value("#film-scrub") == str(end)
    last = film["frames"][end]
    assert outputs() == last["digits"]["3"]["p"]
    assert page.inner_text("#film-where") == (f"step {last['step']} of {film['steps']} · "
                                              f"epoch {last['epoch']}")
    label = page.get_attribute("#film-chart svg", "aria-label")
    said = re.match(r"step (\d+): loss ([\d.]+), ([\d.]+)% of test digits right$", label)
    assert said, label
    assert int(said.group(1)) == last["step"]
    assert float(said.group(2)) == float(f"{film['losses'][last['step'] - 1]:.3g}")
    assert float(said.group(3)) == round(100 * last["accuracy"], 1)
    caption = page.inner_text("#caption .words")
    assert caption.startswith(f"Training from the untrained network: after {last['step']} "
                              "batches of 32 images the loss of a batch is"), caption
    page.click("#digits button[data-value='8']")  # the digit buttons switch the frame's digit
    assert outputs() == last["digits"]["8"]["p"]
    tops = ", ".join(f"{max(a):.2f}" for a in film["a"]["8"][end][:-1])
    assert f"as a share of its layer's largest ({tops})" in page.text_content("#legend")
    page.evaluate("explorer.select('n3-3')")  # the figure's tab stop says the frame's P
    assert page.get_attribute("#n3-3", "aria-label") == f"output '3': {last['digits']['8']['p'][3]}"
    page.keyboard.press("Home")
    page.close()


def expected_lines(codes, sizes=(64, 16, 16, 10)) -> list:
    """Each line as frames.line_looks draws its code, "" where the Repeat stage hides it (in
    layer 1 only each neuron's 3 strongest lines show, as on the Forward stage)."""
    looks, out, i = frames.line_looks(), [], 0
    for layer in range(1, len(sizes)):
        for _ in range(sizes[layer]):
            row = codes[i:i + sizes[layer - 1]]
            strength = [c if c >= 0 else -1 - c for c in row]
            top = set(sorted(range(len(row)), key=lambda k: -strength[k])[:3])  # (stable)
            for k, c in enumerate(row):
                colour, width, opacity, *dash = (looks["positive"][c] if c >= 0
                                                 else looks["negative"][-1 - c]).split()
                out.append(" ".join([colour, width, opacity, *(dash or ["none"])])
                           if layer > 1 or k in top else "")
            i += len(row)
    return out


@pytest.mark.slow
def test_each_line_is_drawn_as_its_code_says(browser, film_page):
    path, film = film_page
    page = open_repeat(browser, path)
    for i in (0, 1, 7, len(film["frames"]) - 1, 3):
        page.evaluate(f"explorer.filmAt({i})")
        drawn = page.evaluate("[...document.querySelectorAll('line.w')].map(l => "
                              "l.style.display === 'none' ? '' : ['stroke', 'stroke-width', "
                              "'stroke-opacity', 'stroke-dasharray'].map(a => l.getAttribute(a))"
                              ".join(' '))")
        assert drawn == expected_lines(film["frames"][i]["lines"]), i
    page.close()


def check_story(page, film, digit="3"):
    """The panel's story is the film's: w over the frames, and ∂loss/∂w = δ_j·a_k bit for bit."""
    line = page.evaluate("document.querySelector('line.sel').id")
    layer, j, k = (int(v) for v in line[1:].split("-"))
    story = page.evaluate("explorer.story()")
    assert story["value"] == [w[layer - 1][j][k] for w in film["w"]]
    a = [film["x"][digit][k] if layer == 1 else f[layer - 2][k] for f in film["a"][digit]]
    deltas = [d[layer - 1][j] for d in film["delta"][digit]]
    assert story["grad"] == [d * ak for d, ak in zip(deltas, a, strict=True)]
    assert "∂loss/∂w = δ·a = (" in page.inner_text("#details")
    return layer, j, k


@pytest.mark.slow
def test_a_weights_story_opens_by_click_and_by_keyboard(browser, film_page):
    path, film = film_page
    page = open_repeat(browser, path)
    page.evaluate("explorer.filmAt(12)")
    box = page.evaluate("(() => { const r = document.getElementById('w3-3-7')"
                        ".getBoundingClientRect(); return [r.x + r.width * .3, r.y + r.height * .3]"
                        "; })()")
    page.mouse.click(*box)
    check_story(page, film)
    assert "over the training" in page.inner_text("#details")
    page.keyboard.press("Tab")  # nothing focused in the figure yet: tab to its one stop
    page.focus("#net [tabindex='0']")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    check_story(page, film)
    page.evaluate("explorer.select('n2-5')")  # a neuron: its a and δ over the frames
    story = page.evaluate("explorer.story()")
    assert story["a"] == [f[1][5] for f in film["a"]["3"]]
    assert story["delta"] == [f[1][5] for f in film["delta"]["3"]]
    assert "hidden layer 2, neuron 5" in page.inner_text("#details b")
    page.close()


@pytest.mark.slow
def test_a_frame_is_drawn_in_30_ms(browser, film_page):
    path, film = film_page
    page = open_repeat(browser, path)
    # Each frame: frame() and the style and layout it causes (read back by a bounding box).
    times = page.evaluate("""F => F.map((f, i) => {
        const t0 = performance.now();
        explorer.frame(F[(i * 7) % F.length], '3');
        document.getElementById('net').getBoundingClientRect();
        document.querySelector('line.w').getBBox();
        return performance.now() - t0; })""", film["frames"])
    median, top = statistics.median(times), max(times)
    print(f"frame drawn in: median {median:.1f} ms, max {top:.1f} ms over {len(times)} frames")
    assert median <= 30, times
    page.close()


@pytest.mark.slow
def test_axe_finds_nothing_on_the_repeat_stage_with_the_player(browser, film_page):
    path, _ = film_page
    page = open_repeat(browser, path)
    page.evaluate("explorer.filmAt(5); explorer.select('w2-1-4')")
    assert axe_violations(page) == []
    page.close()


@pytest.mark.slow
def test_no_sideways_scroll_on_a_phone(browser, film_page):
    path, _ = film_page
    page = open_repeat(browser, path, 390, 844)
    page.evaluate("explorer.select('w3-3-7')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.close()


def test_the_films_frames_round_trip_through_the_page_data(film_page):
    path, film = film_page
    data = explorer.page_data(path.read_text(encoding="utf-8"))
    assert json.dumps(data["film"]) == json.dumps(film)


@pytest.mark.slow
def test_the_studio_can_draw_its_story_answers_and_its_loss_curve(browser, film_page):
    # The studio's page sets explorer.askStory (its /api/story) once it has trained live:
    # the panel draws the answer for the selected weight or neuron with storyChart.
    path, _ = film_page
    page = open_repeat(browser, path)
    page.evaluate("""window.questions = [];
        explorer.askStory = async q => { questions.push(q); return q.k === undefined
          ? {steps: [0, 10, 20], a: [0.5, 0.25, 1.5], delta: [0.1, -0.2, 0.05], words: "a neuron"}
          : {steps: [0, 10, 20], value: [0.1, 0.2, -0.3], grad: [1e-3, -2e-3, 5e-4],
             words: "its story"}; };
        explorer.go(explorer.stages().indexOf('step2')); explorer.select('w3-3-7')""")
    page.wait_for_selector("#details .asked svg")
    assert page.evaluate("questions") == [{"layer": 3, "j": 3, "k": 7}]
    assert page.evaluate("explorer.story()")["value"] == [0.1, 0.2, -0.3]
    assert "its story" in page.inner_text("#details .asked")
    page.evaluate("explorer.select('n2-5')")
    page.wait_for_selector("#details .asked svg")
    assert page.evaluate("explorer.story()")["delta"] == [0.1, -0.2, 0.05]
    # Its loss curve: a loss per batch, the accuracy null but every tenth.
    label = page.evaluate("""(() => { const host = document.createElement('div');
        document.body.append(host);
        const svg = explorer.trainingChart(host, {losses: [2.3, 2.1, 1.9, 1.2],
          accuracy: [null, null, 0.5, null], marker: 3, epochSteps: 45, steps: 4});
        return svg.querySelector('svg').getAttribute('aria-label'); })()""")
    assert label == "step 3: loss 1.90, 50% of test digits right"
    page.close()


@pytest.mark.slow
def test_the_figure_shows_the_training_at_a_glance_under_the_image(browser, film_page):
    # The panel's chart sits beside a projected figure at the panel's size; the figure itself
    # says the batch, the loss and the share right, in its own units (growing with it), under
    # the image where the Repeat stage's note was, and only while the film shows.
    path, film = film_page
    page = open_repeat(browser, path)
    page.evaluate("explorer.filmAt(5)")
    shown = film["frames"][5]
    words = page.evaluate("[...document.querySelectorAll('#training text')].map(t => "
                          "t.textContent)")
    assert words[0] == f"batch {shown['step']} · epoch {shown['epoch']}"
    loss = film["losses"][shown["step"] - 1]
    assert words[1] == (f"loss {float(f'{loss:.3g}'):g} · "
                        f"{round(100 * shown['accuracy'], 1):g}% right"), words
    assert page.evaluate("document.getElementById('overlay').childElementCount") == 0
    sizes = page.evaluate("[...document.querySelectorAll('#training text')].map(t => "
                          "t.getBoundingClientRect().height)")
    assert min(sizes) >= 14, sizes  # text of at least 14 px at 1280×900
    box = page.evaluate("(() => { const r = document.querySelector('#training rect')"
                        ".getBoundingClientRect(), i = document.getElementById('n0-63')"
                        ".getBoundingClientRect(); return [r.top, i.bottom, r.right, "
                        "document.getElementById('n1-15').getBoundingClientRect().left]; })()")
    assert box[0] > box[1] and box[2] < box[3], box  # under the image, left of hidden layer 1
    page.click("#prev")  # leaving the film clears it
    assert page.evaluate("document.getElementById('training').childElementCount") == 0
    page.close()


def test_a_training_caption_names_the_engines_answer_not_a_guess_from_printed_text(
        browser, film_page):
    # An untrained network printed P 0.111 for both '5' and '8' while the engine's answer
    # was '8': the caption took the first of the printed tie.
    path, film = film_page
    page = open_repeat(browser, path)
    shown = film["frames"][3]
    tie = dict(shown["digits"]["3"], p=["P 0.100"] * 5 + ["P 0.111", "P 0.100", "P 0.100",
                                                          "P 0.111", "P 0.100"], read=8)
    caption = page.evaluate("""f => { window.explorer.trainingCaption(f, "3", {from: "x",
        subject: "the '3'", batch: 32, optimizer: "Adam", lr: "0.02", epochSteps: 45});
        return document.querySelector('#caption .words').textContent; }""",
                            dict(shown, digits={"3": tie}))
    assert caption.endswith("the '3' is read '8' with P 0.111."), caption
    page.close()
