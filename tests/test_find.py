"""Find anything in the stepper (issue 24 item 3): a neuron, an output, a weight or an input,
by clicking its box or typing its name, lands on its step, and the step's box is in view."""

import pytest

from engine.autodiff import copy_graph, topological_order
from engine.viz import export_html
from engine.viz.dot import network_names, neuron_names, resolve_collapse
from engine.viz.expr import build
from engine.viz.find import find_index
from engine.viz.html import _Fields, _steps
from tests.browser import axe_violations, needs_chromium
from tests.test_html import digit_loss, open_page

pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.needs_dot]


def index_and_steps(root):
    """The find index of ``root``'s page, the node of each of its steps, and how many of
    them are forward steps, made as the page makes them (on a copy, collapsed if large)."""
    work, _ = copy_graph(root)
    order = topological_order(work)
    collapsed, neurons = resolve_collapse(order, "auto")
    drawn = neurons if collapsed else []
    _, steps, nodes = _steps(work, order, drawn)
    names = neuron_names(order, drawn)
    named = [(n, *names[n]) for n in sorted(drawn, key=lambda n: n.index)]
    forward = sum(s[0] != "b" for s in steps)
    found = find_index(nodes, forward, named, network_names(order, drawn),
                       _Fields(order, drawn).drawn)
    return found, nodes, forward, named


def test_every_entry_points_at_the_step_that_computes_it_and_completes_its_grad():
    """For each neuron, weight, input and loss part of the digit network's page: its forward
    step computes it (a leaf: the first step reading it; a neuron: its first step), its
    backward step is its own (an op) or the last to add to its grad (a leaf)."""
    found, nodes, forward, named = index_and_steps(digit_loss())
    by_name = {name: (f, b) for name, f, b, _ in found}
    assert len(by_name) == len(found)  # one meaning per name
    leaves = {node for node in nodes[:forward] if not node.parents}
    reads = {leaf: [i for i, node in enumerate(nodes) if leaf in node.parents] for leaf in leaves}
    for n, name, label in named:
        f, b = by_name[name]
        assert by_name[label] == (f, b)
        assert nodes[f] in n.members and nodes[f].parents and f < forward <= b
        assert not any(m in n.members and m.parents for m in nodes[:f])
        assert nodes[b] in n.members and not any(m in n.members for m in nodes[forward:b])
    weights = [p for n, _, _ in named for p in n.params]
    assert len(weights) == 64 * 16 + 16 * 16 + 16 * 10 + 42
    for n, name, label in named:  # each weight and bias also as its neuron's steps say it
        for k in range(len(n.parts.weights)):
            assert by_name[f"{name}: w.{k}"] == by_name[f"{label}.w.{k}"]
        assert by_name[f"{name}: b"] == by_name[f"{label}.b"]
    assert set(weights) < leaves and all(leaf.label for leaf in leaves)
    for leaf in leaves:
        f, b = by_name[leaf.label]
        ahead = [i for i in reads[leaf] if i < forward]
        assert f == ahead[0] and b == max(reads[leaf])  # first read, last share of its grad
    loss = nodes[forward - 1]
    assert by_name[loss.label] == (forward - 1, forward)  # the loss: last forward, first back


@pytest.fixture(scope="module")
def mlp_path(tmp_path_factory):
    return export_html(digit_loss(), tmp_path_factory.mktemp("find") / "mlp.html")


def current_in_view(page) -> bool:
    """As much of the step's box is in view as can be: inside the window and the graph's
    visible region, or, for a box wider than a phone, filling it."""
    return page.evaluate("""() => {
      const el = document.querySelector('.current');
      if (!el) return false;
      const r = el.getBoundingClientRect(), g = document.getElementById('graph')
        .getBoundingClientRect();
      const view = {left: Math.max(0, g.left), right: Math.min(innerWidth, g.right),
                    top: Math.max(0, g.top), bottom: Math.min(innerHeight, g.bottom)};
      const seen = (lo, hi) => Math.min(r[hi], view[hi]) - Math.max(r[lo], view[lo]);
      return seen('left', 'right') >= Math.min(r.width, view.right - view.left) - 1 &&
             seen('top', 'bottom') >= Math.min(r.height, view.bottom - view.top) - 1;
    }""")


def find(page, name):
    page.fill("#find-name", name)
    page.press("#find-name", "Enter")


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("size", [(1280, 900), (390, 844), (640, 450)])
def test_a_typed_name_goes_to_its_step_and_the_box_is_in_view(browser, mlp_path, size):
    """At the start a name goes to its forward step, in the backward pass to its backward
    step; the box of the step is always in view (640×450: a 1280×900 window at 200%)."""
    page, requests, errors = open_page(browser, mlp_path)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    find(page, "Output 3")  # any case, no quotes
    assert page.inner_text("#where").startswith("In output '3'")
    assert page.inner_text("#status").startswith("forward ")
    assert "the first step with output '3'" in page.inner_text("#find-said")
    assert current_in_view(page)
    page.click("#backward")
    for name, where in [("layers.0.neurons.5.w.14", "In hidden layer 1, neuron 5"),
                        ("output '9'", "In output '9'"), ("x63", "In hidden layer 1, neuron 0"),
                        ("hidden layer 2, neuron 15", "In hidden layer 2, neuron 15"),
                        ("output '0'", "In output '0'")]:
        find(page, name)
        assert page.inner_text("#status").startswith("backward "), name
        assert page.inner_text("#where").startswith(where), name
        assert "grad of " + name in page.inner_text("#find-said")
        assert current_in_view(page), (name, size)
    assert errors == [] and set(requests) == {mlp_path.as_uri()}
    page.close()


@needs_chromium
@pytest.mark.slow
def test_a_box_is_found_by_click_or_by_tab_and_enter_and_a_wrong_name_moves_nothing(browser,
                                                                                  mlp_path):
    page, _, errors = open_page(browser, mlp_path)
    page.click("#backward")
    title = "#graph g[role=button][aria-label=\"go to output '7'\"]"
    page.click(title)
    assert page.inner_text("#where").startswith("In output '7'")
    assert page.inner_text("#status").startswith("backward ")
    assert page.locator(".current").get_attribute("aria-label") == "go to output '7'"
    page.focus("#find-name")
    page.keyboard.press("Tab")  # the go button
    page.keyboard.press("Tab")  # the graph's region
    tabs = 0
    while page.evaluate("document.activeElement.getAttribute('aria-label')") != \
            "go to hidden layer 1, neuron 2" and tabs < 10:
        page.keyboard.press("Tab")
        tabs += 1
    page.keyboard.press("Enter")
    assert page.inner_text("#where").startswith("In hidden layer 1, neuron 2")
    done = page.evaluate("stepper.done()")
    find(page, "banana")
    assert "Nothing here is called “banana”" in page.inner_text("#find-said")
    find(page, "hidden layer 2")  # several names start so: say some, go nowhere
    assert "did you mean “hidden layer 2, neuron 0”" in page.inner_text("#find-said")
    assert page.evaluate("stepper.done()") == done
    find(page, "layers.2.neurons.4.w.1")  # a whole label: no other name starts so
    assert page.inner_text("#where").startswith("In output '4'")
    find(page, "Hidden layer 1 neuron 5, w.14")  # a weight as the neuron's steps write it
    assert "grad of hidden layer 1, neuron 5: w.14 is" in page.inner_text("#find-said")
    assert page.inner_text("#where").startswith("In hidden layer 1, neuron 5")
    find(page, "output '4': b")
    assert "grad of output '4': b is" in page.inner_text("#find-said")
    assert axe_violations(page) == [] and errors == []
    page.close()


@needs_chromium
def test_found_in_an_expression_the_grad_is_complete_at_its_step(browser, tmp_path):
    """`a` is read twice in tanh(a*b + c) * a: found in the backward pass, the page shows its
    final grad at that step and not one step before; in practice the step asks first."""
    text = "tanh(a*b + c) * a"
    out = build(text, {"a": 2, "b": -3, "c": 6.5})
    out.backward()
    path = export_html(out, tmp_path / "find.html")
    page, _, errors = open_page(browser, path)
    grad = "[...document.querySelectorAll('[id$=\"-grad\"]')].map(e => e.textContent)"
    find(page, "a")
    assert page.inner_text("#status").startswith("forward ")
    assert "a × b" in page.inner_text("#explain")
    page.click("#backward")
    find(page, "a")
    final = f"grad {a_grad(out):.4f}"
    assert final in page.evaluate(grad)
    page.click("#prev")
    assert final not in page.evaluate(grad)
    page.click("#reset")
    page.check("#practice")
    page.click("#backward")
    page.click("#reveal")
    find(page, "b")  # moving on closes the question; a backward step of practice asks first
    assert page.is_visible("#quiz") and page.inner_text("#status").endswith("(your turn)")
    assert errors == []
    page.close()


def a_grad(out):
    return next(n.grad for n in topological_order(out) if n.label == "a")


@needs_chromium
def test_the_boxes_of_the_drawing_swapped_in_for_a_narrow_window_are_found_too(browser,
                                                                               tmp_path):
    """Narrowed to 800 px, a small graph is shown drawn top to bottom (a drawing the page
    swaps in): its boxes are buttons as well, by click and by keyboard."""
    out = build("a*b + c", {"a": 2, "b": -3, "c": 6.5})
    path = export_html(out, tmp_path / "narrow.html")
    page, _, errors = open_page(browser, path)
    size = "['width', 'height'].map(k => +document.querySelector('#graph svg').getAttribute(k))"
    page.set_viewport_size({"width": 1920, "height": 900})  # room for the wide one
    page.wait_for_function(f"(([w, h]) => w > h)({size})", timeout=5000)  # (on resize)
    page.set_viewport_size({"width": 800, "height": 900})  # the tall one swapped in
    page.wait_for_function(f"(([w, h]) => h > w)({size})", timeout=5000)
    box = '#graph g[role=button][aria-label="go to c"]'
    page.click(box)
    assert page.inner_text("#find-said") == "Forward pass: the first step with c."
    assert page.locator(".current").count()
    page.click("#end")
    page.focus(box)
    page.keyboard.press("Enter")  # in the backward pass now: c's step there
    assert page.inner_text("#status").startswith("backward ")
    assert page.inner_text("#find-said") == "Backward pass: the step where the grad of c is " \
                                            "complete."
    assert errors == []
    page.close()
