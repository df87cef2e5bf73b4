"""The real loss along one step (issue 23, item 4): the apply stage's chart of loss(w − t·η·g)
for t from 0 to 2, read by the engine, beside its straight-line estimate (the tangent at t = 0)
and the point the step lands on. The numbers equal an eager model moved by hand; Chromium draws
the chart at the apply stage, its words 14 px or more at 1280×900, with no axe violation."""

import numpy as np
import pytest

from demos.how_it_works import explorer
from demos.how_it_works.readings import ALONG, backprop
from demos.how_it_works.words import far_off
from nn import MLP, cross_entropy
from tests.browser import axe_violations, needs_chromium
from tests.conftest import image


@pytest.fixture(scope="module")
def stepped(data):
    """An untrained network's pass on a '3' (lr 0.1), and its parameters' values and grads."""
    model = MLP(64, [16, 16, 10], rng=0)
    x, pixels = image(data, 3)
    bp = backprop(model, x, pixels, 3, lr=0.1)
    params = model.parameters()
    return bp, x, np.array([p.data for p in params]), np.array([p.grad for p in params])


def eager_loss(x, values, target: int) -> float:
    """A fresh MLP given ``values`` as its parameters, read by the eager engine."""
    model = MLP(64, [16, 16, 10], rng=1)
    for p, v in zip(model.parameters(), values, strict=True):
        p.data = float(v)
    return cross_entropy(model([float(v) for v in x]), 3).data


def test_each_point_is_the_loss_of_a_network_moved_that_far_along_the_step(stepped):
    bp, x, w, g = stepped
    assert len(bp.along) == len(ALONG) == 21 and ALONG[0] == 0 and ALONG[-1] == 2
    for t, loss in zip(ALONG, bp.along, strict=True):
        assert loss == pytest.approx(eager_loss(x, w - t * bp.lr * g, 3), abs=1e-12)


def test_the_ends_of_the_step_are_the_loss_before_and_after(stepped):
    bp, *_ = stepped
    assert bp.along[0] == pytest.approx(bp.loss, abs=1e-12)
    assert bp.along[list(ALONG).index(1.0)] == pytest.approx(bp.loss_after, abs=1e-12)
    assert bp.loss_after != bp.loss  # the step moved it


def test_the_straight_line_is_the_tangent_at_the_start(stepped):
    bp, x, w, g = stepped
    slope = float(np.sum(g * (-bp.lr * g)))  # Σ ∂loss/∂w·Δw, Δw = −η·∂loss/∂w
    along = explorer._along(bp)
    assert along["slope"] == pytest.approx(slope, rel=1e-6)
    assert along["start"] == pytest.approx(bp.loss, rel=1e-6)
    assert along["loss"] == pytest.approx(list(bp.along), rel=1e-6)
    # The tangent: the real curve's slope at t = 0, by a small difference of the engine's.
    h = 1e-6
    assert (eager_loss(x, w - h * bp.lr * g, 3) - bp.loss) / h == pytest.approx(slope, rel=1e-4)
    assert along["apart"] == far_off(bp.predicted_change, bp.loss_after - bp.loss)


def test_a_big_step_parts_from_the_straight_line_and_the_chart_says_so(data):
    x, pixels = image(data, 3)
    bp = backprop(MLP(64, [16, 16, 10], rng=0), x, pixels, 3, lr=3.0)
    assert explorer._along(bp)["apart"]


@pytest.fixture(scope="module")
def page_url(explore_html):
    return explore_html.as_uri()


@needs_chromium
@pytest.mark.parametrize("network", ["untrained", "trained"])
def test_the_apply_stage_draws_the_chart_readable_at_1280(browser, page_url, network):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_url)
    page.evaluate(f"explorer.setNetwork('{network}'); explorer.go(0)")
    assert page.locator("#along").count() == 0  # only at the apply stage
    page.evaluate("explorer.go(explorer.stages().indexOf('apply'))")
    assert page.locator("#along").is_visible()
    points = page.get_attribute("#along-real", "points").split()
    assert len(points) == 21
    assert page.locator("#along-estimate").count() == 1
    marker = page.locator("#along-step")
    # The marker sits on the real curve at t = 1 (the 11th point).
    assert (float(marker.get_attribute("cx")), float(marker.get_attribute("cy"))) == \
        pytest.approx(tuple(map(float, points[10].split(","))), abs=0.11)
    sizes = page.evaluate("[...document.querySelectorAll('.along *')].filter(e => "
                          "e.childElementCount === 0 && e.textContent.trim())"
                          ".map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 14
    text = page.inner_text(".along")
    assert "the real loss along the step" in text and "the straight-line estimate" in text
    assert axe_violations(page) == [] and errors == []
    page.close()
