"""Speed of the pages (issue 22, item 9) without timing anything: the work a read and a stage
change do, counted, and the cheaper paths' numbers checked against the eager ones."""

import dataclasses

import numpy as np
import pytest

from demos.how_it_works import readings as explained
from demos.how_it_works.readings import backprop
from nn import MLP, SGD, cross_entropy, softmax
from tests.conftest import image


def eager_after_steps(model, x, target, lr):
    """The after-steps as they were computed before: a copy of the model stepped with its
    grads, read again with a graph of Values, then STEPS − 1 more steps with backward()."""
    copy = MLP(model.nin, model.nouts, activation=model.activation)
    copy.load_state_dict(model.state_dict())
    for mine, theirs in zip(copy.parameters(), model.parameters(), strict=True):
        mine.grad = theirs.grad
    optimizer = SGD(copy.parameters(), lr=lr)
    optimizer.step()
    values = [p.data for p in copy.parameters()]
    weights = [layer.arrays() for layer in copy.layers]
    readings = []
    for step in range(explained.STEPS):
        logits = copy(list(x))
        loss = cross_entropy(logits, target)
        readings.append((loss.data, np.array(softmax(logits))))
        if step < explained.STEPS - 1:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return values, weights, readings


def trained(activation: str, data, steps: int = 60, fused: bool = False) -> MLP:
    """A network some way into training (its answers sure, some relus off), by plain SGD."""
    model = MLP(64, [16, 16, 10], activation=activation, rng=1, fused=fused)
    optimizer = SGD(model.parameters(), lr=0.05)
    for i in range(steps):
        optimizer.zero_grad()
        cross_entropy(model(list(data.x_train[i])), int(data.train.labels[i])).backward()
        optimizer.step()
    return model


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_after_steps_are_the_eager_numbers(data, activation):
    # The compiled after-steps give the numbers a copy stepped and read eagerly gives, on an
    # untrained and a trained network, at the explorer's and the studio's learning rates.
    for model in (MLP(64, [16, 16, 10], activation=activation, rng=0), trained(activation, data)):
        for digit, lr in ((3, 0.1), (8, 0.02), (0, 0.1)):
            x, pixels = image(data, digit)
            bp = backprop(model, x, pixels, digit, lr=lr)  # leaves this image's grads
            values, weights, readings = eager_after_steps(model, x, digit, lr)
            for layer, (w, b) in zip(bp.layers, weights, strict=True):
                assert np.max(np.abs(layer.w_after - w)) <= 1e-12
                assert np.max(np.abs(layer.b_after - b)) <= 1e-12
            predicted = sum(p.grad * (new - p.data)
                            for p, new in zip(model.parameters(), values, strict=True))
            assert abs(bp.predicted_change - predicted) <= 1e-12
            assert abs(bp.loss_after - readings[0][0]) <= 1e-12
            assert np.max(np.abs(bp.probabilities_after - readings[0][1])) <= 1e-12
            assert len(bp.readings) == len(readings) == explained.STEPS
            for ours, (loss, p) in zip(bp.readings, readings, strict=True):
                assert abs(ours.loss - loss) <= 1e-12
                assert np.max(np.abs(ours.probabilities - p)) <= 1e-12


def test_a_read_builds_one_graph(data, monkeypatch):
    # The studio reads at every stroke: after the first read of a network's shape, one pass
    # builds one graph of Values (the pass itself) and no network; the after-steps built a
    # copy of the network and five graphs, 45 of a read's 107 ms.
    model = MLP(64, [16, 16, 10], rng=0)
    x, pixels = image(data, 3)
    backprop(model, x, pixels, 3, lr=0.02)  # the first: the scratch network is made
    calls, made = [], []
    call, init = MLP.__call__, MLP.__init__
    monkeypatch.setattr(MLP, "__call__", lambda self, *a: calls.append(1) or call(self, *a))
    monkeypatch.setattr(MLP, "__init__", lambda self, *a, **k: made.append(1) or init(self, *a,
                                                                                        **k))
    backprop(model, x, pixels, 3, lr=0.02)
    assert (len(calls), len(made)) == (1, 0)


@pytest.fixture(scope="module")
def explorer_page(explore_html):
    """explore.html of the how-it-works command (the session's: made once)."""
    return explore_html.as_uri()


# In the page: the attributes set on the network's lines while ``call`` runs, by name.
RESTYLED = """async call => {
  const counts = {};
  const seen = new MutationObserver(changes => changes.forEach(c => {
    if (c.target.matches("line.w")) counts[c.attributeName] = (counts[c.attributeName] || 0) + 1;
  }));
  seen.observe(document.getElementById("net"), {attributes: true, subtree: true});
  call();
  await new Promise(done => setTimeout(done, 0));
  seen.takeRecords(); seen.disconnect();
  return counts;
}"""

# Every line as the rule draws it: the network's colour, width and dash, its opacity (0.28
# more where a stage shows the lines into one neuron), shown or not.
AS_DRAWN = """() => {
  const P = current(), S = P.stages[stage], N = weights();
  return lines.filter((el, i) => {
    const [layer, j, k] = where[i], [colour, width, opacity, dash] = N.lines[i].split(" ");
    const into = S.visible[layer] && S.visible[layer].into !== undefined;
    const alpha = into ? Math.min(1, Number(opacity) + 0.28) : Number(opacity);
    const on = shown(S.visible[layer], layer, j, k, N.strongest);
    return el.getAttribute("stroke") !== colour || el.getAttribute("stroke-width") !== width ||
      el.getAttribute("stroke-dasharray") !== (dash || "none") ||
      Number(el.getAttribute("stroke-opacity")) !== alpha ||
      (el.style.display !== "none") !== on || hits[i].style.display !== el.style.display;
  }).map(el => el.id);
}"""


def test_a_stage_change_restyles_no_line(browser, explorer_page):
    # A stage change set the stroke, width and dash of all 1,440 lines, and the browser
    # restyled every one (stage changes up to 150 ms): now a line's style is set only when
    # its network changes, its opacity and visibility when they change, and every line is
    # still drawn as the rule says at every stage, network and data loaded.
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(explorer_page)
    keys = page.evaluate("explorer.stages()")
    styles = ("stroke", "stroke-width", "stroke-dasharray")
    for i, key in enumerate(keys[:keys.index("apply") + 1]):  # (Repeat shows another network)
        counts = page.evaluate(f"({RESTYLED})(() => explorer.go({i}))")
        assert not any(name in counts for name in styles), (key, counts)
        assert page.evaluate(AS_DRAWN) == [], key
    counts = page.evaluate(f"({RESTYLED})(() => explorer.setNetwork('trained'))")
    assert counts.get("stroke", 0) > 100
    assert page.evaluate(AS_DRAWN) == []
    for i in (*range(len(keys)), 0, 3):
        page.evaluate(f"explorer.go({i})")
        if keys[i] == "repeat" and page.evaluate("Boolean(DATA.film)"):
            continue  # the film's frame, not the network (tests/test_film_page.py)
        assert page.evaluate(AS_DRAWN) == [], keys[i]
    page.evaluate("explorer.setNetwork(DATA.networks[0])")  # the one load() shows
    counts = page.evaluate(f"({RESTYLED})(() => explorer.load(JSON.parse(JSON.stringify(DATA))))")
    assert not any(name in counts for name in styles), counts  # the studio's same network
    assert page.evaluate(AS_DRAWN) == []
    page.close()


def test_the_studio_leaves_what_it_made_at_start_out_of_full_collections(tmp_path):
    # A full pass of Python's collector walked the models and the page, 35 ms once every 15
    # or so reads, and a drawing's answer waited for it (a read's server time: 44 ms, 80 at
    # such a pass): once serving, what the studio made at start is frozen out of them.
    import gc

    pytest.importorskip("starlette", reason="the studio needs Starlette")
    from demos.studio import app, cli, teaching

    model = MLP(64, [16, 16, 10], rng=0)
    norm = teaching.Normalisation(np.zeros(64), np.ones(64))
    studio = app.Studio(model, norm, tmp_path, cli.samples())
    gc.unfreeze()
    try:
        app.create_app(studio, 8000)
        assert gc.get_freeze_count() > len(model.parameters())
    finally:
        gc.unfreeze()  # the test process as it was


def eager_backprop(model, x, pixels, target, lr):
    """readings.backprop as it was before a read's server time was cut (issue 22, item 9): the
    engine's step-by-step backward walk for every node's contributions, and a second
    topological order for the neurons; kept to check the quicker pass gives its very bits."""
    from engine import Value, backward_steps, find_neurons, topological_order

    inputs = [Value(float(v), label=f"x{i}") for i, v in enumerate(x)]
    logits = model(inputs)
    loss = cross_entropy(logits, target)
    model.zero_grad()
    passed = {step.node: step.contributions for step in backward_steps(loss)}
    found = {n.parts.weights: n.parts for n in find_neurons(topological_order(loss))}
    parts = [[found[tuple(neuron.w)] for neuron in layer.neurons] for layer in model.layers]
    params = model.parameters()
    after = explained._after_steps(model, params, x, target, lr)
    layers = [eager_layer(neurons, passed, w_after, b_after)
              for neurons, (w_after, b_after) in zip(parts, after.weights, strict=True)]
    predicted = sum(p.grad * (new - p.data) for p, new in zip(params, after.values, strict=True))
    return explained.Backprop(
        sizes=(model.nin, *model.nouts), activation=model.activation, x=np.asarray(x, float),
        pixels=np.asarray(pixels, float), target=target, layers=layers,
        probabilities=np.array(softmax(logits)), loss=loss.data, lr=lr,
        loss_after=after.readings[0].loss, probabilities_after=after.readings[0].probabilities,
        predicted_change=predicted, input_grads=np.array([v.grad for v in inputs]),
        readings=after.readings, along=after.along)


def eager_layer(neurons, passed: dict, w_after, b_after) -> explained.LayerNumbers:
    """readings._layer as it was: what a neuron sent back read off the walk's steps (the
    other fields are the same reads of the same Values)."""
    def sent(n) -> list[float]:
        if n.products:
            return [passed[m][1] for m in n.products]
        return list(passed[n.total][1:2 * len(n.weights):2])

    return dataclasses.replace(explained._layer(neurons, w_after, b_after),
                               sent=np.array([sent(n) for n in neurons]))


def eager_reading(model, digit, label, network, monkeypatch):
    """teaching.reading as it was: a forward pass for the answer's probabilities, then the
    eager backprop (which reads the digit again) toward the label or the guess."""
    from demos.how_it_works import explorer
    from demos.studio import teaching

    p = teaching.probabilities(model, digit)
    guess = int(np.argmax(p))
    target = guess if label is None else label
    with monkeypatch.context() as patch:
        patch.setattr(teaching, "backprop", eager_backprop)
        run = teaching.explorer_run(model, digit, target, network)
    return {"counts": digit.counts.tolist(), "probabilities": [float(v) for v in p],
            "guess": guess, "label": target, "data": explorer.data([run], False)}, run.bp


def same_numbers(ours, theirs) -> bool:
    """Whether two Backprops hold the same numbers, bit for bit (NaN = NaN)."""
    if isinstance(ours, (list, tuple)):
        return len(ours) == len(theirs) and all(map(same_numbers, ours, theirs))
    if hasattr(ours, "__dataclass_fields__"):
        return all(same_numbers(getattr(ours, f), getattr(theirs, f))
                   for f in ours.__dataclass_fields__)
    if isinstance(ours, str):
        return ours == theirs
    return np.array_equal(ours, theirs, equal_nan=True) and np.shape(ours) == np.shape(theirs)


@pytest.mark.parametrize("activation, fused", [("relu", False), ("tanh", False), ("relu", True)])
def test_a_read_answers_what_the_eager_pass_answered(data, activation, fused, monkeypatch):
    # A studio read took 39 ms of the server's time, 13 of them walking the backward pass one
    # step at a time to keep every node's contributions, and it read the digit twice: the
    # quicker read's answer is the same bytes as the eager one's, and the pass it keeps (for
    # a line's numbers and the next teach) the same numbers, on an untrained, a half-trained
    # and a trained network (neurons as products and a sum, or one wsum node: fused), some
    # of the studio's sample digits, toward the guess and a label.
    import json

    from demos.studio import cli, teaching

    norm = teaching.Normalisation(data.mean, data.std)
    networks = {"untrained": MLP(64, [16, 16, 10], activation=activation, rng=0, fused=fused),
                "half-trained": trained(activation, data, steps=12, fused=fused),
                "trained": trained(activation, data, fused=fused)}
    samples = cli.samples()
    for network, model in networks.items():
        for d, counts in [(d, samples[d]) for d in (0, 3, 5, 8, 9)]:
            digit = norm.digit(np.reshape(counts, (8, 8)))
            for label in (None, (d + 1) % 10):
                answer, bp = teaching.reading(model, digit, label, network, tables=False)
                eager, eager_bp = eager_reading(model, digit, label, network, monkeypatch)
                assert json.dumps(answer) == json.dumps(eager), (network, d, label)
                assert same_numbers(bp, eager_bp), (network, d, label)


def test_a_read_reads_the_digit_once_and_walks_no_steps(data, monkeypatch):
    # A read took 39 ms of the server's time: the digit read twice (once for the answer's
    # probabilities, once for the pass) and the backward pass walked one step at a time
    # (1,540 steps) for contributions it needed on 1,440 edges; now one reading, the
    # engine's backward(), and the network's drawn boxes made once per shape.
    from demos.how_it_works import picture, stages
    from demos.studio import cli, teaching
    from engine.autodiff import BackwardSteps

    model = MLP(64, [16, 16, 10], rng=0)
    digit = teaching.Normalisation(data.mean, data.std).digit(np.reshape(cli.samples()[3], (8, 8)))
    teaching.reading(model, digit, None, tables=False)  # the first: shapes' caches are made
    reads, steps, boxes = [], [], []
    call, step, drawn = MLP.__call__, BackwardSteps.__next__, picture.drawn_boxes
    monkeypatch.setattr(MLP, "__call__", lambda self, *a: reads.append(1) or call(self, *a))
    monkeypatch.setattr(BackwardSteps, "__next__", lambda self: steps.append(1) or step(self))
    monkeypatch.setattr(picture, "drawn_boxes", lambda *a: boxes.append(1) or drawn(*a))
    answer, bp = teaching.reading(model, digit, None, tables=False)
    assert (len(reads), len(steps), len(boxes)) == (1, 0, 0)
    assert stages.pic.drawn_boxes is not drawn  # (the patch is the one stages calls)
    assert answer["label"] == answer["guess"] == bp.target
