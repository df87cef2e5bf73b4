"""Rich display in notebooks: Values, steps, the steps object and Modules give MIME bundles
(``_repr_mimebundle_``) with a drawing that fits the cell; ``repr`` stays plain text."""

import graphviz
import pytest

import engine
from engine import Value
from engine.viz import notebook
from nn import MLP, Layer, cross_entropy


def example():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    o = (a * b + 6.5).tanh()
    o.label = "o"
    o.backward()
    return o


@pytest.mark.needs_dot
def test_a_value_shows_its_number_and_its_graph():
    o = example()
    bundle = o._repr_mimebundle_()
    assert bundle["text/plain"] == repr(o)
    html = bundle["text/html"]
    assert "<b>o</b> = 0.462117" in html and "grad 1" in html
    assert '<svg style="max-width: 100%; height: auto"' in html  # shrinks to the cell
    assert ">a</text>" in html and ">v2</text>" in html  # the step text's names


@pytest.mark.needs_dot
def test_a_step_shows_its_frame_and_its_chain_rule():
    o = example()
    steps = engine.backward_steps(o)
    assert steps._repr_mimebundle_()["text/html"].startswith(
        "<p>backward pass over 6 nodes, 3 steps left</p>")
    step = next(steps)
    html = step._repr_mimebundle_()["text/html"]
    assert html.endswith(f"<pre>{repr(step).replace('>', '&gt;')}</pre>")
    assert "#ff7f0e" in html  # the node being stepped is highlighted
    assert "∂=" in html  # with the local derivatives on the edges


@pytest.mark.needs_dot
def test_big_graphs_stay_small_or_say_why_not():
    from demos.digits.data import load_digits

    data = load_digits()
    model = MLP(64, [32, 10], rng=0)
    loss = cross_entropy(model(list(data.inputs[3])), 3)
    html = loss._repr_mimebundle_()["text/html"]
    assert "Collapsed view" in html and len(html) < notebook.MAX_SVG
    chain = Value(1.0)
    for _ in range(5000):
        chain = chain + 1.0
    html = chain._repr_mimebundle_()["text/html"]
    assert "no drawing" in html and "too many to draw" in html and len(html) < 1000


@pytest.mark.needs_dot
def test_a_module_shows_its_summary_and_its_network():
    model = MLP(3, [4, 2], rng=0)
    bundle = model._repr_mimebundle_()
    assert bundle["text/plain"] == repr(model)
    assert "26 parameters" in bundle["text/html"] and "<svg" in bundle["text/html"]
    layer = Layer(3, 2, rng=0)._repr_mimebundle_()["text/html"]
    assert "<svg" not in layer and "Layer(3 → 2, relu" in layer


def test_no_graphviz_is_a_note_not_an_error(monkeypatch):
    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", missing)
    html = example()._repr_mimebundle_()["text/html"]
    assert "no drawing" in html and "apt-get install graphviz" in html
    assert "apt-get install graphviz" in MLP(2, [2], rng=0)._repr_mimebundle_()["text/html"]


def test_other_objects_keep_their_plain_repr():
    assert engine.display.bundle(3.0) is None


@pytest.mark.parametrize("height", [50, "600", True])
def test_show_checks_its_height(height):
    from engine.viz import show

    with pytest.raises(ValueError, match="height must be a whole number of pixels"):
        show(example(), height=height)


def test_a_display_registered_before_the_first_one_keeps_its_class():
    # The engine's own displays load on the first display, and take the place `import engine`
    # gave them, first: a display registered before that, for a subclass of Value, still wins.
    import subprocess
    import sys

    code = """
import engine
from engine import Value, display
class Mine(Value):
    pass
display.register(Mine, lambda v: {"text/plain": "mine"})
shown = [v._repr_mimebundle_()["text/plain"] for v in (Mine(1.0), Value(2.0))]
print(" | ".join(shown))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "mine | Value(data=2, grad=0)"


def test_a_display_in_another_thread_waits_for_the_engines_to_load():
    # Two threads' first displays at once: the one that does not load them must not find the
    # registry empty meanwhile (it would show the Value as plain text).
    import subprocess
    import sys

    code = """
import importlib, threading, time
import engine
from engine import Value, display
load = importlib.import_module
display.importlib = type("slow", (), {"import_module": staticmethod(
    lambda name: time.sleep(0.5) or load(name))})
got = []
threads = [threading.Thread(target=lambda: got.append(display.bundle(Value(1.0))))
           for _ in range(2)]
for t in threads:
    t.start()
    time.sleep(0.1)
for t in threads:
    t.join()
print(sorted(b is not None and "text/html" in b for b in got))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[True, True]"
