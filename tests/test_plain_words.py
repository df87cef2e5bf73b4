"""Plain words first (issue 22, item 4): every caption of the explorer, the how-it-works index
and the studio's teach result opens with the explainer's words and the engine's numbers, the
maths folded under "show the maths"; the glossary is one click away; the straight-line
estimate is said as a fall or a rise, never as a negative loss."""

import dataclasses
import re

import numpy as np
import pytest

from demos.how_it_works import cli, explorer, words
from demos.how_it_works import stages as st
from demos.how_it_works.readings import backprop
from demos.studio import teaching
from engine import Value
from engine.viz.style import amount, percent
from nn import MLP, SGD, cross_entropy
from tests.conftest import image

# What the explainer never says: the maths' symbols, its jargon and e-notation (1e-05, 4.2e−04).
JARGON = re.compile(r"[∂δη]|logit|standardis|Adam|SGD|\d[eE][−+-]?\d")
NEGATIVE = re.compile(r"[−-]\d")  # a minus sign before a number
GLOSSED = ("weight", "activation", "loss", "gradient", "learning rate", "step")


def confident(data) -> MLP:
    """A network all but sure of the test '3' and '8' (SGD on those two images): its
    changes are tiny, the numbers most likely to come out in e-notation."""
    model = MLP(64, [16, 16, 10], rng=0)
    optimizer = SGD(model.parameters(), lr=0.3)
    for _ in range(40):
        for digit in (3, 8):
            x, _ = image(data, digit)
            loss = cross_entropy(model([Value(float(v)) for v in x]), digit)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


@pytest.fixture(scope="module")
def runs(data) -> list[explorer.Run]:
    """Both networks reading a '3' and an '8', as the explorer shows them; the repeat caption
    carries markup, which a page must show as text."""
    models = {"untrained": MLP(64, [16, 16, 10], rng=0), "trained": confident(data)}
    return [explorer.Run(name, d, backprop(model, *image(data, d), d, lr=0.1),
                         "Repeat <b>this</b> & <img src=x onerror=alert(1)>", ("repeat",))
            for name, model in models.items() for d in (3, 8)]


def all_stages(runs):
    groups = {}
    for run in runs:
        groups.setdefault(run.network, []).append(run.bp)
    scales = st.scales_by_network(groups)
    for run in runs:
        yield run, st.stages(run.bp, scales[run.network], run.network == "trained")


def test_every_stage_opens_with_plain_words_and_the_engines_numbers(runs):
    assert runs[2].bp.probabilities[3] > 0.999  # the confident network: tiny changes
    for run, stages in all_stages(runs):
        bp, t = run.bp, run.digit
        for stage in stages:
            assert not JARGON.search(stage.caption), (run.network, stage.key, stage.caption)
            assert stage.maths, stage.key  # the maths follows, folded
        said = {s.key: s.caption for s in stages}
        top = int(np.argmax(bp.probabilities))
        # Whole percents, or one decimal where the right digit's and the top's would be equal.
        decimals = int(top != t and percent(bp.probabilities[top]) ==
                       percent(bp.probabilities[t]))
        pt = percent(bp.probabilities[t], decimals)
        assert pt in said["forward"]
        assert amount(bp.loss) in said["forward"]
        assert f"gives '{t}' " in said["step1"] and pt in said["step1"]
        assert words.moved(bp.probabilities[t], bp.probabilities_after[t],
                           least=decimals) in said["apply"]
        assert f"from {amount(bp.loss)} to {amount(bp.loss_after)}" in said["apply"]
        assert words.estimate(bp.predicted_change, bp.loss_after - bp.loss) in said["apply"]
        assert not NEGATIVE.search(said["apply"])  # never a negative loss
        maths = {s.key: s.maths for s in stages}
        assert "δ" in maths["step2"] and "η = 0.1" in maths["step2"]
        assert "Σ ∂loss/∂w·Δw" in maths["apply"]


def test_the_estimate_is_a_fall_or_a_rise_never_a_negative_loss():
    # The studio's case: the loss 0.5, the estimate −0.922, the change −0.23.
    assert words.estimate(-0.922, -0.23) == (
        "A straight-line estimate said the loss would fall by 0.922; it fell by 0.230: the "
        "step was too big for a straight line.")
    assert words.estimate(-0.288, -0.230) == (
        "A straight-line estimate said the loss would fall by 0.288; it fell by 0.230: close, "
        "as a straight line is for a small step.")
    assert words.estimate(-0.3, 0.05, " on the first step") == (
        "A straight-line estimate said the loss would fall by 0.300 on the first step; it "
        "rose by 0.0500: the step was too big for a straight line.")
    # A network sure of its digit: both changes in the floats' last digits, no verdict on
    # the step's size (it was "too big for a straight line", from a miss of 2e-9).
    assert words.estimate(-1e-9, -3e-9) == (
        "A straight-line estimate said the loss would fall by less than 0.000001; it fell by "
        "less than 0.000001: both next to nothing, as the network is already sure of this "
        "answer.")
    assert not words.far_off(-1e-9, -3e-9) and words.far_off(-1e-3, -3e-3)
    for predicted, actual in ((-7.4e-4, -6.7e-4), (-1e-9, 0.0), (-12.5, -3.0)):
        said = words.estimate(predicted, actual)
        assert not JARGON.search(said) and not NEGATIVE.search(said), said


def test_percentages_and_amounts_are_never_e_notation():
    assert [percent(p) for p in (0.115, 0.996, 0.9999, 0.99999, 4e-4, 1e-7, 1.0)] == [
        "12%", "99.6%", "99.99%", "over 99.99%", "0.04%", "under 0.01%", "100%"]
    assert percent(0.1152, 1) == "11.5%"
    assert [amount(x) for x in (0.922, -7.422e-4, 2.16, 9.9996, 1e-8, 0.0)] == [
        "0.922", "0.000742", "2.16", "10.0", "less than 0.000001", "0"]


def test_the_index_folds_each_figures_maths_and_has_the_glossary():
    figure = cli.Figure("a.svg", "A", "Plain <words>", "δ = ∂loss/∂z & more")
    text = cli.page([("Before", [figure])], 3, "explore.html")
    assert ('<figcaption><p class="words">Plain &lt;words&gt;</p><details class="maths">'
            "<summary>show the maths</summary><p>δ = ∂loss/∂z &amp; more</p></details>"
            "</figcaption>") in text
    glossary = re.search(r'<details class="glossary" id="glossary">.*?</details>', text, re.S)
    assert glossary and "open" not in glossary.group(0).split(">")[0]
    assert re.findall(r"<dt>(.*?)</dt>", glossary.group(0)) == list(GLOSSED)


def test_the_studios_teach_result_says_it_in_words(data):
    x, pixels = image(data, 3)
    digit = teaching.Digit(np.reshape(pixels, (8, 8)).astype(np.int64), x)
    for model, steps in ((MLP(64, [16, 16, 10], rng=0), 1), (confident(data), 10)):
        taught = teaching.teach(model, digit, 3, steps)
        assert not JARGON.search(taught["title"] + " " + taught["words"]), taught["words"]
        said = re.search(r"'3' went from ([\d.]+)% to ([\d.]+)%", taught["words"])
        assert said or "'3' stayed at" in taught["words"], taught["words"]
        if said:  # both boxes' percents with the same decimals (the preview's beside it)
            assert [float(v) for v in said.groups()] == pytest.approx(
                [100 * taught["before"], 100 * taught["after"]], abs=0.5), taught["words"]
            shown = re.findall(r"\d+(?:\.(\d+))?%", taught["words"] + taught["preview"])
            assert len({len(d) for d in shown}) == 1, (taught["words"], taught["preview"])
        assert f"from {amount(taught['loss'])} to {amount(taught['lossAfter'])}" \
            in taught["words"]
        estimate = words.estimate(taught["predictedChange"], taught["firstChange"],
                                  "" if steps == 1 else " on the first step")
        assert taught["words"].endswith(estimate) and not NEGATIVE.search(taught["words"])
        assert "Σ ∂loss/∂w·Δw" in taught["maths"] and "η = 0.02" in taught["maths"]


@pytest.mark.slow
def test_the_explorer_shows_plain_words_then_folded_maths_at_every_stage(browser, runs,
                                                                         tmp_path):
    path = tmp_path / "explore.html"
    path.write_text(explorer.page(runs, "plain words"), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    shown = """() => { const c = document.querySelector('#caption');
        const fold = c.querySelector('details.maths');
        return {words: c.querySelector('p.words').textContent, html: c.innerHTML,
                maths: fold && fold.querySelector('p').textContent, open: fold && fold.open,
                summary: fold && fold.querySelector('summary').textContent,
                seen: fold && fold.querySelector('p').checkVisibility()}; }"""
    for run, stages in all_stages(runs):
        page.evaluate(f"explorer.setNetwork('{run.network}'); explorer.setDigit({run.digit})")
        for i, stage in enumerate(stages):
            page.evaluate(f"explorer.go({i})")
            got = page.evaluate(shown)
            assert got["words"] == stage.caption and got["maths"] == stage.maths
            assert got["summary"] == "show the maths" and not got["open"] and not got["seen"]
            assert not JARGON.search(got["words"])
    # Open once, the maths stays open from stage to stage (the reader's choice).
    page.evaluate("explorer.go(1)")
    page.click("#caption summary")
    assert page.evaluate(shown)["seen"]
    page.evaluate("explorer.go(2)")
    assert page.evaluate(shown)["open"] and page.evaluate(shown)["seen"]
    # The choice holds when the next stage comes in the same task as the click (a key pressed
    # at once), before the fold's "toggle" event has fired: closed, then open again.
    for stage, is_open in ((3, False), (4, True)):
        page.evaluate(f"() => {{ document.querySelector('#caption summary').click(); "
                      f"explorer.go({stage}); }}")
        assert page.evaluate(shown)["open"] is is_open, stage
    # A caption's markup is shown as text, never run.
    page.evaluate("explorer.go(explorer.stages().length - 1)")
    got = page.evaluate(shown)
    assert got["words"] == "Repeat <b>this</b> & <img src=x onerror=alert(1)>"
    assert "<b>" not in got["html"] and "<img" not in got["html"] and got["maths"] is None
    # The apply box says the estimate in words.
    page.evaluate("explorer.setNetwork('untrained'); explorer.setDigit(3); explorer.go(5)")
    bp = runs[0].bp
    assert words.estimate(bp.predicted_change, bp.loss_after - bp.loss) in \
        page.inner_text("#apply-box")
    # The glossary: closed, one click opens it, and it defines the six words.
    assert not page.evaluate("document.querySelector('#glossary').open")
    page.click("#glossary summary")
    assert page.evaluate("document.querySelector('#glossary').open")
    terms = page.eval_on_selector_all("#glossary dt", "ts => ts.map(t => t.textContent)")
    assert terms == list(GLOSSED)
    assert all(page.is_visible(f"#glossary dd >> nth={i}") for i in range(len(GLOSSED)))
    assert errors == []
    page.close()


def test_a_change_rounding_would_hide_is_written_with_more_decimals(runs):
    # The studio's preview said "would go from 13% to 13%": a real change, rounded away.
    assert words.moved(0.132, 0.1336) == "went from 13.2% to 13.4%"
    assert words.moved(0.1321, 0.1324, "would go", "would stay") == (
        "would go from 13.21% to 13.24%")
    assert words.moved(0.13211, 0.13212) == "stayed at about 13%"
    assert words.moved(0.99999, 0.999999) == "stayed at over 99.99%"
    assert words.moved(0.11, 0.14) == "went from 11% to 14%"
    bp = runs[0].bp
    t = bp.target
    p, after = bp.probabilities.copy(), bp.probabilities_after.copy()
    p[t], after[t] = 0.1321, 0.1324
    said = teaching.preview_words(dataclasses.replace(bp, probabilities=p,
                                                      probabilities_after=after))
    assert f"the probability of '{t}' would go from 13.21% to 13.24%," in said, said
    stages = st.stages(dataclasses.replace(bp, probabilities=p, probabilities_after=after),
                       st.scales_by_network({"a": [bp]})["a"], trained=False)
    assert "'3' went from 13.21% to 13.24%" in stages[-1].caption, stages[-1].caption


def test_the_studios_two_boxes_write_their_percents_with_the_same_decimals(runs):
    # After a teach the first box said "went from 12% to 13%" beside a preview "from 12.6% to
    # 13.4%": it read as if the probability fell. The four numbers share their decimals.
    assert words.joint_decimals((0.1201, 0.1262), (0.1262, 0.1338)) == 1
    assert words.joint_decimals((0.11, 0.14), (0.14, 0.17)) == 0
    assert words.joint_decimals((0.11, 0.14), (0.1321, 0.1324)) == 2
    assert words.joint_decimals((0.11, 0.14), (0.13211, 0.13212)) == 0  # "stayed at about"
    least = words.joint_decimals((0.1201, 0.1262), (0.1262, 0.1338))
    taught = teaching.taught_words(3, 1, 0.1201, 0.1262, [2.12, 2.07], -0.06, least)
    assert "'3' went from 12.0% to 12.6%," in taught["words"], taught["words"]
    bp = runs[0].bp
    t = bp.target
    p, after = bp.probabilities.copy(), bp.probabilities_after.copy()
    p[t], after[t] = 0.1262, 0.1338
    said = teaching.preview_words(dataclasses.replace(bp, probabilities=p,
                                                      probabilities_after=after), least)
    assert f"'{t}' would go from 12.6% to 13.4%," in said, said
