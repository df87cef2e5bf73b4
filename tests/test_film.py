"""The explorer's training film (issue 23, items 2, 3 and 6): recorded while the explorer's
network trains, it equals the same training run again, independently, with the eager engine:
its weights, each digit's activations, δ and probabilities, its line codes, losses and held-out
accuracy; and δ·a from it is the engine's ∂loss/∂w, bit for bit."""

import numpy as np
import pytest

import engine
from demos.digits.train import TrainConfig, prepare
from demos.how_it_works import explorer, frames
from demos.how_it_works.readings import backprop
from nn import MLP, Adam, cross_entropy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page(explore_html) -> str:
    """The command's explorer (its defaults: seed 0, 2 epochs, digits 3, 8, 1)."""
    return explore_html.read_text()


@pytest.fixture(scope="module")
def film(page) -> dict:
    return explorer.page_data(page)["film"]


def test_the_film_keeps_to_its_size_budget_and_the_page_has_each_codes_look(page):
    from tests.test_page_sizes import FILM_BUDGET, film_bytes

    assert film_bytes(page) <= FILM_BUDGET
    assert explorer.page_data(page)["looks"] == frames.line_looks()


def printed(values, digits: int = frames.Film.W_DIGITS) -> list:
    return [float(f"{v:.{digits}g}") for v in np.ravel(values)]


@pytest.fixture(scope="module")
def rerun(film):
    """The same training again, written out here: MLP(64, [16, 16, 10]) from seed 0, Adam
    lr 0.02 on batches of 32 in the seeded order, the eager engine's backward. At each of the
    film's steps: the weights and biases, and for each digit the engine's full pass
    (numbers.backprop) and every parameter's grad from a plain loss.backward()."""
    data = prepare(TrainConfig(hidden=[16, 16], seed=0))
    model = MLP(64, [16, 16, 10], rng=0)
    params = model.parameters()
    optimizer = Adam(params, lr=0.02)
    images = {int(d): int(np.flatnonzero(data.test.labels == int(d))[0]) for d in film["x"]}
    wanted = {frame["step"] for frame in film["frames"]}
    seen, losses = {}, []

    def keep():
        at = {"arrays": [layer.arrays() for layer in model.layers], "bp": {}, "grads": {},
              "model": [p.data for p in params]}
        for d, i in images.items():
            at["bp"][d] = backprop(model, data.x_test[i], data.test.images[i].reshape(-1), d)
            optimizer.zero_grad()
            cross_entropy(model(list(data.x_test[i])), d).backward()
            at["grads"][d] = [layer.arrays() for layer in _grads(model)]
        seen[len(losses)] = at

    keep()
    for epoch in range(2):
        order = np.random.default_rng([0, epoch]).permutation(len(data.x_train))
        for start in range(0, len(order), 32):
            rows = order[start:start + 32]
            loss = engine.sum([cross_entropy(model(list(data.x_train[i])),
                                             int(data.train.labels[i])) for i in rows])
            loss = loss / len(rows)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.data)
            if len(losses) in wanted:
                keep()
    return {"data": data, "images": images, "seen": seen, "losses": losses, "model": model}


class _GradLayer:
    """A layer whose arrays() are its parameters' grads (for Layer.arrays' shapes)."""

    def __init__(self, layer):
        self.layer = layer

    def arrays(self):
        w = np.array([[w.grad for w in n.w] for n in self.layer.neurons])
        return w, np.array([n.b.grad for n in self.layer.neurons])


def _grads(model):
    return [_GradLayer(layer) for layer in model.layers]


def test_the_film_has_at_least_30_frames_from_the_untrained_network_denser_early(film):
    steps = [frame["step"] for frame in film["frames"]]
    assert len(steps) >= 30 and steps == sorted(set(steps))
    assert steps[0] == 0 and steps[-1] == film["steps"] == 90 and film["epochSteps"] == 45
    gaps = np.diff(steps)
    assert list(gaps[:10]) == [1] * 10  # every one of the first ten batches
    assert gaps[-5:].mean() >= 5 * gaps[:10].mean()
    assert [f["epoch"] for f in film["frames"]] == [s // 45 for s in steps]
    assert len(film["w"]) == len(film["b"]) == len(film["accuracy"]) == len(steps)
    assert {k: film[k] for k in ("lr", "optimizer", "batch")} == {
        "lr": "0.02", "optimizer": "Adam", "batch": 32}
    assert frames.film_steps(12) == list(range(13))  # few steps: all of them
    assert len(frames.film_steps(5000)) >= 30 and frames.film_steps(5000)[-1] == 5000


def test_the_films_frames_equal_an_independent_rerun_of_the_training(film, rerun):
    assert film["losses"] == [float(f"{v:.7g}") for v in rerun["losses"]]
    data, images = rerun["data"], rerun["images"]
    for f, frame in enumerate(film["frames"]):
        at = rerun["seen"][frame["step"]]
        weights = [w for w, _ in at["arrays"]]
        assert [printed(w) for w in film["w"][f]] == [printed(w) for w in weights]
        assert [printed(b) for b in film["b"][f]] == [printed(b) for _, b in at["arrays"]]
        assert frame["lines"] == frames.line_codes(weights)
        step = frame["step"]
        assert frame["loss"] == (None if step == 0 else film["losses"][step - 1])
        assert frame["accuracy"] == film["accuracy"][f]
        for d, bp in at["bp"].items():
            assert film["x"][str(d)] == data.x_test[images[d]].tolist()
            # Exact: the very floats of the engine's own pass on that network.
            assert film["a"][str(d)][f] == [layer.a.tolist() for layer in bp.layers]
            assert film["delta"][str(d)][f] == [layer.delta.tolist() for layer in bp.layers]
            shading = frames.shading([layer.a for layer in bp.layers[:-1]], bp.probabilities)
            assert frame["digits"][str(d)] == shading  # the probabilities' texts and shades


def test_delta_times_a_from_the_film_is_the_engines_grad_bit_for_bit(film, rerun):
    # A weight's story: its gradient at each frame is δ_j·a_k of two stored exact floats, the
    # page's one multiplication; here it equals loss.backward()'s w.grad in a plain loop.
    checked = 0
    for f, frame in enumerate(film["frames"]):
        at = rerun["seen"][frame["step"]]
        for d in rerun["images"]:
            a = [film["x"][str(d)], *film["a"][str(d)][f]]
            for layer, delta in enumerate(film["delta"][str(d)][f]):
                grad_w, grad_b = at["grads"][d][layer]
                product = np.multiply.outer(np.array(delta), np.array(a[layer]))
                assert np.array_equal(product, grad_w), (f, d, layer)
                assert np.array_equal(np.array(delta), grad_b)  # ∂loss/∂b = δ
                checked += grad_w.size
    assert checked == len(film["frames"]) * 3 * (64 * 16 + 16 * 16 + 16 * 10)  # every one


def test_the_films_accuracy_is_a_direct_evaluation_on_the_test_digits(film, rerun):
    data, model = rerun["data"], rerun["model"]
    params = model.parameters()
    frames_ = film["frames"]
    for f in (0, 1, len(frames_) // 2, len(frames_) - 1):
        for p, v in zip(params, rerun["seen"][frames_[f]["step"]]["model"], strict=True):
            p.data = v
        with engine.no_grad():
            right = [int(np.argmax([z.data for z in model(list(x))])) == int(label)
                     for x, label in zip(data.x_test, data.test.labels, strict=True)]
        assert film["accuracy"][f] == float(f"{np.mean(right):.7g}"), f
    assert film["accuracy"][-1] > 0.85 > 0.2 > film["accuracy"][0]  # it learned
