"""The studio's live training as a learner sees it (issue 23, items 1 and 6): headless Chromium
against a real studio server presses play on the untrained network with a drawn digit, watches
the frames arrive and be drawn, pauses and goes through the steps on that very state, opens a
weight's story, trains in two tabs at once, and checks the box's accessibility and its fit on a
phone."""

import json
import re
import statistics

import pytest

pytest.importorskip("starlette", reason="the studio needs Starlette: pip install -e '.[studio]'")
pytest.importorskip("uvicorn", reason="the studio needs uvicorn: pip install -e '.[studio]'")
pytest.importorskip("playwright.sync_api")

from demos.studio import app as studio_app  # noqa: E402
from demos.studio.cli import samples  # noqa: E402
from tests.browser import axe_violations  # noqa: E402
from tests.test_studio import base_model, draw, norm, starts, studio_page  # noqa: E402, F401

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
COUNTER = "() => Number(/batch (\\d+)/.exec(document.getElementById('counters').textContent)[1])"
OUTPUTS = "() => [...Array(10).keys()].map(j => document.getElementById('p' + j).textContent)"


@pytest.fixture()
def served(norm, starts, tmp_path):  # noqa: F811 (the imported fixtures)
    """A studio whose learners may start from the untrained network, served on a free port."""
    studio = studio_app.Studio(base_model(), norm, tmp_path / "run", samples(), starts)
    with studio_app.running(studio) as url:
        yield url


def untrained_three(page) -> None:
    """Start from the untrained network and draw a '3' with the mouse; return once it is read."""
    page.click("#starts button[data-start='untrained']")
    page.wait_for_function("() => window.studio.last.start === 'untrained'")
    page.click("#clear")
    page.wait_for_function("() => window.studio.last.counts.flat().every(v => v === 0)")
    draw(page)
    page.wait_for_timeout(300)  # the last stroke's read
    page.wait_for_function("() => window.studio.last.counts.flat().filter(v => v > 0)"
                           ".length > 10")


def pause(page) -> dict:
    """Press play again (pause); return the page's read of the drawing that follows it."""
    page.evaluate("() => { window.studio.last = null; }")
    page.click("#play")
    page.wait_for_function("() => window.studio.last !== null")
    assert page.get_attribute("#play", "aria-pressed") == "false"
    return page.evaluate("window.studio.last")


def errors_of(page) -> list[str]:
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_play_on_the_untrained_network_learns_the_drawn_digit_live(browser, served):
    page = studio_page(browser, served, **DESKTOP)
    errors = errors_of(page)
    untrained_three(page)
    before = page.evaluate(OUTPUTS)
    page.click("#play")
    page.wait_for_function("() => document.getElementById('play')"
                           ".getAttribute('aria-pressed') === 'true'")
    page.wait_for_function("() => window.studio.live.received.length >= 5")
    first = page.evaluate(COUNTER)
    assert page.evaluate("() => window.explorer.stage()") == "repeat"
    # Four seconds of frames at normal (the page's default, 30 batches a second, a frame
    # each): how many arrived, and how long the page took to draw each.
    start = page.evaluate("() => performance.now()")
    page.wait_for_timeout(4000)
    timing = page.evaluate(f"""() => ({{
        received: window.studio.live.received.filter(t => t >= {start}),
        drawMs: window.studio.live.drawMs.slice(-60), now: performance.now()}})""")
    received = timing["received"]
    rate = (len(received) - 1) / ((received[-1] - received[0]) / 1000)
    draw_ms = statistics.median(timing["drawMs"])
    print(f"\nlive training: {rate:.1f} frames/s received, drawn in a median {draw_ms:.1f} ms "
          f"(max {max(timing['drawMs']):.1f})")
    page.screenshot(path="/tmp/live-playing.png")  # looked at: the figure as it learns
    assert rate >= 20 and draw_ms <= 30, (rate, draw_ms)
    assert page.evaluate(COUNTER) > first  # the counter rises
    assert page.evaluate(OUTPUTS) != before  # the digit's probabilities move as it learns
    assert "epoch" in page.text_content("#counters")
    # The Repeat stage's caption says this moment of the training, in words, and the figure
    # holds the training at a glance: the batch its frame is at.
    caption = page.inner_text("#caption .words")
    assert re.match(r"Training from the untrained network: after \d+ batches of 32 images the "
                    r"loss of a batch is [\d.]+ and [\d.]+% of the test digits are read right"
                    r"( \(at batch \d+\))?; "
                    r"your drawing is read '\d' with P [\d.]+\.$", caption), caption
    assert page.evaluate("document.querySelector('#training text').textContent").startswith(
        "batch ")

    read = pause(page)
    frame = page.evaluate("window.studio.live.frame")
    assert page.text_content("#counters").startswith(f"batch {frame['step']} · ")
    # Paused: what the figure shows is a read of that very state, the frame's outputs too.
    shown = page.evaluate(OUTPUTS)
    assert shown == [f"P {p:.3f}" for p in read["probabilities"]]
    assert shown == frame["digits"]["drawing"]["p"]
    assert page.text_content("#counted") == page.text_content("#counters")  # said on pause
    # The four steps work on it: "next" steps through every stage, the caption follows.
    page.evaluate("() => window.explorer.go(0)")
    titles = []
    for _ in page.evaluate("() => window.explorer.stages()")[1:]:
        page.click("#next")
        titles.append(page.text_content("#stage-title"))
    assert len(set(titles)) == len(titles) and page.evaluate(
        "() => window.explorer.stage()") == "repeat"
    # A weight's panel: its numbers asked of the server for this state.
    page.evaluate("() => window.explorer.go(window.explorer.stages().indexOf('step3'))")
    page.evaluate("() => window.explorer.select('w3-3-0')")
    page.wait_for_function("() => /\\d/.test(document.getElementById('details').textContent)"
                           " && !document.getElementById('details').textContent.includes('…')")
    # Its story over the live training opens in the panel (explorer.askStory: /api/story).
    page.wait_for_function("() => document.querySelector('#details .story-charts')")
    story = page.evaluate("() => window.explorer.story()")
    assert len(story["steps"]) == len(story["value"]) == len(story["grad"]) >= 2
    assert story["steps"][-1] == frame["step"] and story["words"] in page.text_content(
        "#details")
    # At the step shown, both factors of ∂loss/∂w = δ·a and where each comes from.
    listed = page.inner_text("#details .factors").replace("−", "-").splitlines()
    now = story["now"]
    assert listed == [f"δ = {now['delta']}: {now['deltaFrom']}", f"a = {now['a']}: {now['aFrom']}",
                      f"∂loss/∂w = δ·a = {now['grad']}"], listed
    page.screenshot(path="/tmp/live-story.png", full_page=True)
    assert errors == []
    page.close()


def test_one_batch_and_the_speeds_are_the_servers(browser, served):
    page = studio_page(browser, served, **DESKTOP)
    errors = errors_of(page)
    untrained_three(page)
    for n in (1, 2):  # one batch, whatever the speed
        page.evaluate("() => { window.studio.last = null; }")
        page.click("#batch")
        page.wait_for_function("() => window.studio.last !== null")  # read after it
        assert page.text_content("#counters").startswith(f"batch {n} · epoch 0 · loss ")
        page.click("#live button[data-speed='300']")
    assert page.evaluate("() => [...document.querySelectorAll('#live [data-speed]')]"
                         ".map(b => b.getAttribute('aria-pressed'))") == ["false", "false",
                                                                           "true"]
    page.click("#play")  # fast: 300 batches a second, ten a frame
    page.wait_for_function("() => window.studio.live.received.length >= 3")
    read = pause(page)
    step = page.evaluate("window.studio.live.frame.step")
    assert step > 2 and step % 10 == 2, step
    # Teach works on the state it paused at: its "before" is that state's P('3').
    page.click("#labels button[data-label='3']")
    page.wait_for_function("() => window.studio.last.label === 3")
    page.click("#teach")
    page.wait_for_function("() => window.studio.last.steps === 1")
    assert page.evaluate("window.studio.last.before") == read["probabilities"][3]
    assert errors == []
    page.close()


def test_slow_shows_5_frames_a_second_each_one_batch_further(browser, served):
    page = studio_page(browser, served, **DESKTOP)
    errors = errors_of(page)
    page.click("#live button[data-speed='5']")
    page.click("#play")
    page.wait_for_function("() => window.studio.live.received.length >= 2")
    page.wait_for_timeout(2000)
    live = page.evaluate("() => ({received: window.studio.live.received,"
                         " steps: window.studio.live.steps})")
    pause(page)
    received, steps = live["received"], live["steps"]
    rate = (len(received) - 1) / ((received[-1] - received[0]) / 1000)
    assert 4 <= rate <= 6, f"{rate:.1f} frames a second"
    assert len(steps) >= 8 and steps == list(range(steps[0], steps[0] + len(steps)))
    assert errors == []
    page.close()


def test_two_tabs_train_independently(browser, served):
    # Two windows: to the studio each page is a session of its own, as each tab is; a
    # background tab gets no animation frames, so its drawing (and a wait polled on them) would
    # idle until brought to the front.
    contexts = [browser.new_context(**DESKTOP) for _ in range(2)]
    tabs = [context.new_page() for context in contexts]
    for tab in tabs:
        tab.goto(served)
        tab.wait_for_function("() => window.studio && window.studio.last")
        untrained_three(tab)
    tabs[0].click("#live button[data-speed='300']")
    tabs[1].click("#live button[data-speed='5']")
    for tab in tabs:
        tab.click("#play")
    for tab in tabs:
        tab.wait_for_function("() => window.studio.live.received.length >= 10")
    pause(tabs[0])
    steps = tabs[0].evaluate(COUNTER)
    going = tabs[1].evaluate(COUNTER)
    tabs[1].wait_for_timeout(500)
    assert tabs[1].evaluate(COUNTER) > going  # the other tab's training goes on
    pause(tabs[1])
    frames = [tab.evaluate("window.studio.live.frame") for tab in tabs]
    assert frames[0]["step"] == steps and frames[0]["step"] != frames[1]["step"]
    assert frames[0]["lines"] != frames[1]["lines"]  # different weights
    for context in contexts:
        context.close()


def test_a_page_that_goes_away_stops_its_training(browser, served):
    page = studio_page(browser, served, **DESKTOP)
    page.click("#play")
    page.wait_for_function("() => window.studio.live.received.length >= 3")
    session = page.evaluate("window.studio.session")
    page.goto("about:blank")  # pagehide: the stream closes (and a keepalive pause goes out)

    def step() -> int:  # the session's training now, asked without training it
        answer = page.request.post(served + "api/train", data=json.dumps({"action": "speed",
                                   "speed": 30, "pixels": samples()[3]}),
                                   headers={"Content-Type": "application/json",
                                            studio_app.HEADER: session})
        assert answer.ok
        return answer.json()["frame"]["step"]

    # The server trains only while a page's stream is open: once its page went away, the
    # training stands still (the keepalive pause, which also clears "playing", is a browser's
    # courtesy that headless Chromium does not always send before it leaves).
    page.wait_for_timeout(500)
    before = step()
    page.wait_for_timeout(1000)
    assert step() == before
    page.close()


def test_a_refusal_is_one_line_in_the_status(browser, served):
    page = studio_page(browser, served, **DESKTOP)
    # The training asked for under a session the studio does not know (as after a restart).
    page.route("**/api/train", lambda route: route.continue_(headers={
        **route.request.headers, studio_app.HEADER.lower(): "forgotten"}))
    page.click("#play")
    page.wait_for_function("() => document.getElementById('status').textContent"
                           ".startsWith('refused')")
    status = page.text_content("#status")
    assert "session is not known here" in status and "\n" not in status
    assert page.get_attribute("#play", "aria-pressed") == "false"
    page.close()


def test_the_live_box_passes_axe_and_fits_a_phone(browser, served):
    page = studio_page(browser, served, **DESKTOP)
    page.focus("#play")  # by the keyboard
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.studio.live.received.length >= 5")
    pause(page)
    # The chart's loss line joins the losses the frames told (normal: one batch a frame), a
    # point for each.
    told = page.evaluate("window.studio.live.losses.length")
    d = page.get_attribute("#live-chart path.loss", "d")
    assert told >= 5 and d.count("M") == 1 and d.count("L") == told - 1, (told, d)
    assert axe_violations(page) == []
    assert page.get_attribute("#counted", "aria-live") == "polite"
    page.close()
    phone = studio_page(browser, served, viewport={"width": 390, "height": 844},
                        is_mobile=True, has_touch=True, device_scale_factor=2)
    phone.click("#play")
    phone.wait_for_function("() => window.studio.live.received.length >= 5")
    pause(phone)
    sizes = phone.evaluate("""() => ({scroll: document.documentElement.scrollWidth,
        small: [...document.querySelectorAll('#live button')].map(b => b.getBoundingClientRect())
          .filter(r => r.width < 24 || r.height < 24).length})""")
    assert sizes["scroll"] <= 390 and sizes["small"] == 0, sizes
    phone.locator("#live").screenshot(path="/tmp/live-phone.png")
    phone.close()


def test_a_stream_refused_for_too_many_trainings_is_one_line(browser, served, monkeypatch):
    monkeypatch.setattr(studio_app, "STREAMS", 1)  # one page may train at once
    context = browser.new_context(**DESKTOP)
    tabs = [context.new_page(), context.new_page()]
    for tab in tabs:
        tab.goto(served)
        tab.wait_for_function("() => window.studio && window.studio.last")
    tabs[0].click("#play")
    tabs[0].wait_for_function("() => window.studio.live.received.length >= 3")
    tabs[1].click("#play")  # its stream is a 429
    tabs[1].wait_for_function("() => document.getElementById('status').textContent"
                              ".startsWith('refused')")
    status = tabs[1].text_content("#status")
    assert "at most a few pages train at once" in status and "\n" not in status
    assert tabs[1].get_attribute("#play", "aria-pressed") == "false"
    received = tabs[0].evaluate("window.studio.live.received.length")
    tabs[0].wait_for_timeout(300)
    assert tabs[0].evaluate("window.studio.live.received.length") > received  # it goes on
    context.close()


def test_a_story_is_told_on_the_drawing_and_label_the_panel_shows(browser, served):
    # The training follows the '3' it was played with; after a pause the learner picks the
    # sample '7' (read toward 7): the story must be the 7's, as the panel's numbers are.
    page = studio_page(browser, served, **DESKTOP)
    untrained_three(page)
    page.evaluate("() => { window.studio.last = null; }")
    page.click("#batch")
    page.wait_for_function("() => window.studio.last !== null")
    page.evaluate("() => { window.studio.last = null; }")
    page.click("#samples button[data-sample='7']")
    page.wait_for_function("() => window.studio.last !== null && window.studio.last.label === 7")
    page.evaluate("() => window.explorer.select('w1-2-30')")
    page.wait_for_function("() => document.querySelector('#details .story-charts')")
    story = page.evaluate("() => window.explorer.story()")
    assert story["label"] == 7, story["label"]
    # Input 30's a is the 7's pixel 30 as the network reads it, as the read printed it.
    reads = page.evaluate("() => Object.values(window.studio.last.data.passes)[0]"
                          ".neurons[0][30].reads")
    assert story["now"]["a"] == reads, (story["now"], reads)
    page.close()
