"""The ripple of one lesson (issue 23, item 5): after a teach the studio lists the sample and
held-out digits whose answers it changed, checked against an independent loop of the eager
engine, and the page draws them."""

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the studio needs Starlette: pip install -e '.[studio]'")
pytest.importorskip("uvicorn", reason="the studio needs uvicorn: pip install -e '.[studio]'")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2: pip install httpx2")

import engine  # noqa: E402
from demos.digits.data import load_digits  # noqa: E402
from demos.digits.train import TrainConfig, prepare  # noqa: E402
from demos.studio import app as studio_app  # noqa: E402
from demos.studio import teaching  # noqa: E402
from demos.studio.cli import samples  # noqa: E402
from engine import Value  # noqa: E402
from nn import softmax  # noqa: E402
from nn.compiled import compile_step  # noqa: E402
from tests.browser import needs_chromium  # noqa: E402
from tests.test_studio import (  # noqa: E402
    WATCH_POLICY,
    app_of,
    base_model,
    learner,
    one_sgd_step,
)


@pytest.fixture(scope="module")
def norm():
    data = prepare(TrainConfig())
    return teaching.Normalisation(data.mean, data.std)


@pytest.fixture()
def studio(norm, tmp_path):
    return studio_app.Studio(base_model(), norm, tmp_path / "run", samples())


def eager(model, norm, image) -> np.ndarray:
    """One digit's probabilities by the eager engine, Value by Value."""
    x = (np.asarray(image).ravel() / 16.0 - norm.mean) / norm.std
    with engine.no_grad():
        return np.array(softmax(model([Value(float(v)) for v in x])))


def watched_digits(norm):
    """The ten samples and the held-out test split, read afresh from the digits file:
    (name, image as 64 counts, right answer)."""
    data = load_digits()
    test = prepare(TrainConfig()).test_index
    out = [(f"sample {d}", image, d) for d, image in samples().items()]
    return out + [(f"test digit {i}", (data.images[i].ravel() * 16).round().astype(int),
                   int(data.labels[i])) for i in test
                  if i != np.flatnonzero(data.labels == data.labels[i])[0]]  # not a sample


def independent_ripple(norm, image, label, steps):
    """Which digits a teach flips, and the order the ripple shows them in, by an independent
    loop: a model copy before and one after the eager SGD steps, each digit read by both."""
    before, after = base_model(), base_model()
    one_sgd_step(after, norm, image, label, steps)
    rows = []
    for k, (name, digit, right) in enumerate(watched_digits(norm)):
        p, q = eager(before, norm, digit), eager(after, norm, digit)
        rows.append((name, int(p.argmax()) != int(q.argmax()), p[right] - q[right], k))
    flipped = {name for name, changed, _, _ in rows if changed}
    order = [name for name, *_ in sorted(rows, key=lambda r: (not r[1], -r[2], r[3]))]
    return flipped, order


def test_the_compiled_forward_equals_the_engines_own_on_every_watched_digit(studio, norm):
    model = base_model()
    one_sgd_step(model, norm, samples()[4], 4, 10)  # not only the untrained numbers
    got = teaching.answers(compile_step(model, exact=True), studio.watched)
    want = np.array([eager(model, norm, image) for _, image, _ in watched_digits(norm)])
    assert got.shape == (len(studio.watched.names), 10) and np.abs(got - want).max() <= 1e-12


@pytest.mark.parametrize("steps", [1, 10])
def test_the_ripple_lists_exactly_the_digits_whose_answer_changed(studio, norm, steps):
    client = learner(app_of(studio))
    image = samples()[7]
    ripple = client.post("/api/teach", json={"pixels": image, "label": 7,
                                             "steps": steps}).json()["ripple"]
    flipped, order = independent_ripple(norm, image, 7, steps)
    assert flipped  # from the untrained start a step flips some answers
    assert ripple["samples"] == 10 and ripple["heldOut"] >= 50
    assert set(ripple["flipped"]) == flipped and len(ripple["flipped"]) == len(flipped)
    assert ripple["samples"] + ripple["heldOut"] == len(studio.watched.names)
    # Flipped first, then the largest falls of P(right answer).
    assert [d["name"] for d in ripple["shown"]] == order[:teaching.SHOWN]
    assert ripple["flipped"] == order[:len(flipped)]
    assert f"{len(flipped)} changed their answer" in ripple["words"]
    first = ripple["shown"][0]
    digits = {name: (image, right) for name, image, right in watched_digits(norm)}
    assert first["counts"] == list(digits[first["name"]][0])
    assert first["label"] == digits[first["name"]][1]
    assert first["words"].startswith(f"a '{first['label']}', read '{first['before']}' → "
                                     f"'{first['after']}', P('{first['label']}') ")
    assert len(set(digits)) == len(digits) == 10 + ripple["heldOut"]  # each digit once


def test_a_teach_of_an_unknown_session_or_another_host_shows_no_ripple(studio):
    app = app_of(studio)
    stranger = learner(app)
    stranger.headers[studio_app.HEADER] = "not-a-session"
    answer = stranger.post("/api/teach", json={"pixels": samples()[7], "label": 7})
    assert answer.status_code == 409 and "ripple" not in answer.json()
    from starlette.testclient import TestClient

    rebound = TestClient(app, base_url="http://evil.example:8765")
    answer = rebound.post("/api/teach", json={"pixels": samples()[7], "label": 7})
    assert answer.status_code == 421 and "ripple" not in answer.json()


@pytest.fixture()
def served(studio):
    with studio_app.running(studio) as url:
        yield url


RIPPLE = """() => [...document.querySelectorAll('#ripple li')].map(li => {
  const c = li.querySelector('canvas'), px = c.getContext('2d').getImageData(0, 0, 8, 8).data;
  return {text: li.querySelector('span').textContent,
          grey: [...Array(64).keys()].map(k => px[4 * k]),
          size: c.getBoundingClientRect().width,
          font: parseFloat(getComputedStyle(li.querySelector('span')).fontSize)};
})"""


@needs_chromium
@pytest.mark.parametrize("size", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_after_a_teach_the_page_shows_the_ripple(browser, served, size):
    from tests.browser import axe_violations

    page = browser.new_page(viewport=size)
    page.add_init_script(WATCH_POLICY)
    page.goto(served)
    page.wait_for_function("() => window.studio && window.studio.last")
    assert not page.is_visible("#ripple")
    page.click("#samples button[data-sample='7']")
    page.wait_for_function("() => window.studio.last.label === 7")
    page.click("#teach")
    page.wait_for_function("() => window.studio.last.steps === 1")
    ripple = page.evaluate("window.studio.last.ripple")
    assert page.is_visible("#ripple") and ripple["words"] in page.text_content("#ripple")
    tiles = page.evaluate(RIPPLE)
    assert len(tiles) == teaching.SHOWN
    for tile, digit in zip(tiles, ripple["shown"], strict=True):
        assert tile["text"] == f"{digit['name']}: {digit['words']}"
        assert tile["grey"] == [round(255 * (1 - v / 16)) for v in digit["counts"]]
        assert tile["size"] >= 40 and tile["font"] >= 14
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    assert axe_violations(page) == []
    assert page.evaluate("window.violations") == []
    page.click("#clear")  # a new drawing: the ripple goes with the other boxes
    assert not page.is_visible("#ripple")
    page.close()
