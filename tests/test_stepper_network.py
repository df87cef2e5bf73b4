"""The stepper and the collapsed drawing of a real network (issue 24): its steps go layer by
layer, its neurons are drawn in their order, every name a step text uses is in the picture,
and a small graph fits its page at any width."""

import json
import re

import pytest

from engine.viz import export_html
from engine.viz.expr import build
from tests.browser import needs_chromium
from tests.test_html import digit_loss

pytestmark = [pytest.mark.needs_dot]


def page_data(path) -> dict:
    text = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>',
                                text, re.S).group(1))


@pytest.fixture(scope="module")
def mlp_page(tmp_path_factory):
    """The stepper of MLP(64, [16, 16, 10]) reading a '3' (4,624 steps), and its loss."""
    loss = digit_loss()
    path = export_html(loss, tmp_path_factory.mktemp("mlp") / "mlp.html")
    return loss, path, page_data(path)


def runs(values: list) -> list:
    """``values`` with each run of equal ones written once: [1, 1, 2, 1] → [1, 2, 1]."""
    return [v for k, v in enumerate(values) if k == 0 or values[k - 1] != v]


def test_the_steps_go_layer_by_layer_forward_then_back(mlp_page):
    """Forward: every step of hidden layer 1, then 2, then the outputs, then the loss (the
    forward pass switched between layers 1 and 2 194 times); backward the reverse."""
    _, _, data = mlp_page
    steps = data["steps"]
    assert len(steps) == 4624
    forward = [s[6] for s in steps if s[0] != "b"]
    backward = [s[6] for s in steps if s[0] == "b"]
    assert runs(forward) == [1, 2, 3, 4] and runs(backward) == [4, 3, 2, 1]
    # Neuron by neuron too: each neuron's steps in one run, in the order of its layer.
    names = data["neurons"]
    shown = [names[n][0] for n in runs([s[5] for s in steps if s[0] != "b" and s[5] >= 0])]
    assert len(shown) == 42 == len(set(shown))
    assert shown[:16] == [f"hidden layer 1, neuron {j}" for j in range(16)]
    assert shown[32:] == [f"output '{k}'" for k in range(10)]


def test_the_backward_steps_pass_on_only_complete_grads(mlp_page):
    """A node's backward step comes after the step of every node that reads it (its grad is
    complete), read off the step texts: each name's step after every step adding to it (a
    short name, "z", by the neuron of its step)."""
    loss, _, data = mlp_page
    parts = short_parts(loss)
    backward = [s for s in data["steps"] if s[0] == "b"]

    def node(name, s):  # a name of the step text: the node a short name stands for, or itself
        return parts.get((data["neurons"][s[5]][0], name), name) if s[5] >= 0 else name

    step_of = {}
    for k, s in enumerate(backward):
        step_of[node(re.match(r"step \d+ of \d+: (.+?) = ", s[1]).group(1), s)] = k
    for k, s in enumerate(backward):
        for added in re.findall(r"^  ∂.+?/∂(.+?) = ", s[1], re.M):
            assert step_of.get(node(added, s), len(backward)) > k, (added, s[1])


def drawn_texts(path) -> tuple[set, list]:
    """The drawing's texts and its nodes' tooltips, as the page has them."""
    svg = path.read_text(encoding="utf-8")
    unescape = __import__("html").unescape
    texts = {unescape(t) for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)}
    titles = [unescape(t) for t in re.findall(r"<title>([^<]*)</title>", svg)]
    return texts, titles


def names_in(text: str) -> set:
    """Every node a step text names: the node of the step and each input it passes a grad."""
    first = re.match(r"(?:step|forward) \d+ of \d+: (.+?)(?: = |\.grad| is a leaf)", text)
    return {first.group(1), *re.findall(r"^  ∂.+?/∂(.+?) = ", text, re.M)}


def found(name: str, texts: set, titles: list, parts: dict) -> bool:
    """Whether a learner finds ``name`` in the picture: drawn, in a tooltip, a part of a
    drawn neuron ("hidden layer 2, neuron 0: z", one of ``parts``: (neuron, short name)), or
    one of a range drawn as its first and last (the inputs' "x0 … x63")."""
    if name in texts or re.fullmatch(r"-?[\d.e+-]+", name):
        return True
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w.])")
    if any(word.search(title) for title in titles):
        return True
    if ": " in name and name.split(": ")[0] in texts:
        return tuple(name.split(": ", 1)) in parts
    m = re.fullmatch(r"(.*?)(\d+)", name)
    ranges = re.findall(r"(\S*?)(\d+) … (\S*?)(\d+)(?![\w.])", "\n".join([*texts, *titles]))
    return bool(m) and any(a == b == m.group(1) and int(lo) <= int(m.group(2)) <= int(hi)
                           for a, lo, b, hi in ranges)


def short_parts(loss) -> dict:
    """{(neuron name, short name): the part it stands for} of the page of ``loss``, by the
    engine's naming, checked: each short name is one part of its own neuron."""
    from engine.autodiff import topological_order
    from engine.viz.dot import network_names, neuron_names, resolve_collapse

    order = topological_order(loss)
    _, neurons = resolve_collapse(order, "auto")
    names, called = network_names(order, neurons), neuron_names(order, neurons)
    parts = {(called[n][0], short): node for node, (n, short) in names.parts.items()}
    assert len(parts) == len(names.parts)  # no two parts of a neuron share a short name
    assert all(node in n.members for node, (n, _) in names.parts.items())
    return parts


def test_every_name_in_every_step_text_is_in_the_picture(mlp_page):
    """No `v2713` that appears nowhere: a name is drawn or in a tooltip, or, at a step inside
    a neuron (named over the step text, #where), the short name of one of that neuron's parts
    ("z", "product 14", "w.14"), said in that line."""
    loss, path, data = mlp_page
    texts, titles = drawn_texts(path)
    steps, parts = data["steps"], short_parts(loss)

    drawn: dict[str, bool] = {}  # (found() reads every text: once per name, not per use)

    def known(name, s):
        if name not in drawn:
            drawn[name] = found(name, texts, titles, parts)
        return drawn[name] or (s[5] >= 0 and (data["neurons"][s[5]][0], name) in parts)

    lost = {name for s in steps for name in names_in(s[1]) if not known(name, s)}
    assert lost == set()
    assert all("product k = w.k × input k" in where for _, _, where in data["neurons"])
    inside = [s[1].split(": ", 1)[1] for s in steps
              if s[5] >= 0 and data["neurons"][s[5]][0] == "hidden layer 2, neuron 0"]
    assert "product 14 = w.14 × hidden layer 1, neuron 14 = " in [t[:48] for t in inside]
    assert any(t.startswith("z = product 0 + product 1 + ") for t in inside)
    assert any(t.startswith("hidden layer 2, neuron 0 = relu(z) = ") for t in inside)
    numbered = {v for s in steps for v in re.findall(r"\bv\d+\b", s[1])}  # formulas too
    assert numbered and numbered <= texts  # the loss's v3062 …: drawn boxes


def test_a_step_inside_a_neuron_names_its_parts_short(mlp_page):
    """A product's backward step reads as a teacher writes it, the neuron named once over it:
    "product 29 = w.29 × x29 …" was "hidden layer 1, neuron 9: its product with input 29 =
    layers.0.neurons.9.w.29 × x29 …" in every name. Measured: a hidden layer 1 product's
    backward step is at most 271 characters (was 508), any product's 355 (600; a neuron read
    as an input keeps its full name, "hidden layer 1, neuron 10"); the page 1.16 MB (1.87)."""
    _, _, data = mlp_page
    products = [s for s in data["steps"]
                if s[0] == "b" and re.match(r"step \d+ of \d+: product \d+ = w\.\d+ × ", s[1])]
    assert len(products) == 64 * 16 + 16 * 16 + 16 * 10
    assert max(len(s[1]) for s in products if s[6] == 1) <= 280
    assert max(len(s[1]) for s in products) <= 360
    assert not any("its product with" in s[1] or "layers.0.neurons." in s[1]
                   for s in data["steps"])  # each weight, "w.14", under its neuron's line
    # Outside a neuron (the loss) the names are as before: the outputs by their names.
    loss_steps = [s[1] for s in data["steps"] if s[5] < 0 and s[0] == "b"]
    assert any("output '3'" in text for text in loss_steps)


def node_positions(svg: str) -> dict:
    """Each collapsed neuron's name and the top of its box in the drawing (y grows down)."""
    found_ = {}
    for m in re.finditer(r'<g id="node\d+" class="node">\s*<title>neuron\d+</title>(.*?)</g>',
                         svg, re.S):
        name = __import__("html").unescape(re.search(r">([^<]*)</text>", m.group(1)).group(1))
        ys = [float(p.split(",")[1]) for p in re.search(r'points="([^"]+)"',
                                                       m.group(1)).group(1).split()]
        found_[name] = min(ys)
    return found_


def test_the_collapsed_drawing_puts_outputs_in_digit_order_and_neurons_in_index_order():
    """Top to bottom: output '0' … output '9' (they were drawn 1, 2, 8, 0, 9, 6, 5, 7, 4, 3)
    and each hidden layer's neurons 0 … 15, read off the drawn SVG."""
    from engine.viz import draw_dot
    from engine.viz.dot import pipe

    svg = pipe(draw_dot(digit_loss()), "svg").decode("utf-8")
    y = node_positions(svg)
    for names in ([f"output '{k}'" for k in range(10)],
                  *([f"hidden layer {layer}, neuron {j}" for j in range(16)]
                    for layer in (1, 2))):
        tops = [y[name] for name in names]
        assert tops == sorted(tops) and len(set(tops)) == len(tops), names


def test_a_skip_connection_puts_the_neuron_after_the_deeper_layer(tmp_path):
    """A layer reading g + h, g from layer 2 and h from layer 1, is layer 3: drawn and named
    after layer 2 (the outputs), its steps after layer 2's (it was layer 1: "hidden layer 1,
    neuron 3", and every step in layer 1, so "layer ▶" went nowhere)."""
    from engine import Value
    from nn import Layer

    x = [Value(0.5, label="x0"), Value(-1.0, label="x1")]
    h = Layer(2, 3, rng=0)(x)
    g = Layer(3, 3, rng=1)(h)
    (out,) = Layer(3, 1, rng=2)([gi + hi for gi, hi in zip(g, h, strict=True)])
    data = page_data(export_html(out, tmp_path / "skip.html", collapse=True))
    assert [name for name, *_ in data["neurons"]] == [
        *(f"hidden layer {k}, neuron {j}" for k in (1, 2) for j in range(3)), "output 0"]
    steps = data["steps"]
    assert runs([s[6] for s in steps if s[0] != "b"]) == [1, 2, 3]
    assert runs([s[6] for s in steps if s[0] == "b"]) == [3, 2, 1]


def test_an_input_labelled_like_a_short_name_keeps_it(tmp_path):
    """Inputs labelled a, b, z: inside hidden layer 1 the weighted sum and the bias keep their
    full names (one step said "product 2 = w.2 × z", the next "z = product 0 + … + b" of
    the sum and the bias); the output neuron, which reads no such input, says "z"."""
    from engine import Value
    from nn import MLP

    x = [Value(v, label=name) for v, name in ((0.5, "a"), (3.0, "b"), (-1.0, "z"))]
    (out,) = MLP(3, [2, 1], rng=0)(x)
    data = page_data(export_html(out.tanh(), tmp_path / "names.html", collapse=True))
    texts = [s[1].split(": ", 1)[1] for s in data["steps"] if s[6] == 1]  # hidden layer 1
    assert any(t.startswith("hidden layer 1, neuron 0: z = product 0 + product 1 + product 2 "
                            "+ layers.0.neurons.0.b = ") for t in texts)
    assert not any(t.startswith("z = product 0 + product 1 + product 2") for t in texts)
    assert {t for t in texts if t.startswith("b = ")} == {"b = 3 (a leaf)"}  # the input
    legends = [legend for *_, legend in data["neurons"]]
    assert not legends[0].startswith("z is") and legends[2].startswith("z is its weighted sum")


@needs_chromium
def test_layer_jumps_visit_the_layers_in_order(browser, mlp_page):
    """"layer ▶" from the start: hidden layer 1, 2, the outputs, the loss, then back down."""
    _, path, _ = mlp_page
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    seen = []
    for _ in range(8):
        page.click("#next-layer")
        seen.append(page.evaluate("stepper.done() ? steps[stepper.done() - 1].layer : 0"))
    assert seen == [1, 2, 3, 4, 3, 2, 1, 1]
    page.close()


@needs_chromium
@pytest.mark.parametrize("width", [800, 1280, 1920])
@pytest.mark.parametrize("text", ["tanh(a*b + c)", "tanh(a*b + c) * a"])
def test_a_small_graph_fits_its_page(browser, tmp_path, width, text):
    """No box clipped at the right (it was at 1,200–1,300 px): every node's box lies inside
    the graph's visible width, and the graph does not scroll sideways."""
    out = build(text, {"a": 2, "b": -3, "c": 6.5})
    path = export_html(out, tmp_path / "small.html")
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(path.as_uri())
    for _ in range(2):  # at the start and at the end
        outside = page.evaluate("""() => {
          const graph = document.getElementById('graph'), box = graph.getBoundingClientRect();
          const right = box.left + graph.clientWidth;
          return [...document.querySelectorAll('#graph g.node')].map(g => [g.id,
            g.getBoundingClientRect()]).filter(([, r]) => r.left < box.left - 0.5 ||
              r.right > right + 0.5).map(([id]) => id); }""")
        assert outside == []
        assert page.evaluate("document.getElementById('graph').scrollWidth <= "
                             "document.getElementById('graph').clientWidth")
        page.evaluate("stepper.end()")
    page.close()



@needs_chromium
def test_a_resized_window_keeps_the_steps_texts_and_outlines(browser, tmp_path):
    """At 800 px the small graph is drawn top to bottom, at 1920 px left to right: a window
    widened midway shows the same numbers and the same current node in the other drawing."""
    out = build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5})
    path = export_html(out, tmp_path / "small.html")
    page = browser.new_page(viewport={"width": 800, "height": 800})
    page.goto(path.as_uri())
    state = ("() => [[...document.querySelectorAll('#graph text[id]')].map(t => t.id + '=' + "
             "t.textContent).sort(), [...document.querySelectorAll('.current, .changed')]"
             ".map(e => e.id + ' ' + [...e.classList].sort().join(' ')).sort(), "
             "document.querySelector('#graph svg').getAttribute('viewBox')]")
    for _ in range(6):
        page.evaluate("stepper.next()")
    narrow = page.evaluate(state)
    page.set_viewport_size({"width": 1920, "height": 800})
    page.wait_for_function("document.querySelector('#graph svg').getAttribute('viewBox') !== "
                           f"{narrow[2]!r}")
    wide = page.evaluate(state)
    assert wide[:2] == narrow[:2] and wide[1] and any("grad 1" in t for t in wide[0])
    page.close()


@needs_chromium
@pytest.mark.parametrize("width", [800, 1280])
def test_a_small_graph_fits_its_notebook_cell(browser, tmp_path, width):
    """show()'s page in its iframe, as a notebook holds it: no box cut off at the right."""
    from engine.viz import show

    cell = show(build("tanh(a*b + c) * a", {"a": 2, "b": -3, "c": 6.5}))._repr_html_()
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><body>{cell}</body></html>", encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(path.as_uri())
    frame = page.frames[1]
    frame.wait_for_function("window.stepper !== undefined")
    outside = frame.evaluate("""() => {
      const graph = document.getElementById('graph'), box = graph.getBoundingClientRect();
      return [...document.querySelectorAll('#graph g.node')].filter(g =>
        g.getBoundingClientRect().right > box.left + graph.clientWidth + 0.5).length; }""")
    assert outside == 0
    page.close()
