"""Rendering: DOT snapshots, real SVGs, large graphs, frames, the expression CLI, errors."""

import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import Value, local_grads, topological_order
from engine.viz import (
    GraphTooLargeError,
    GraphvizMissingError,
    backward_frames,
    draw_dot,
    find_neurons,
    render,
)
from engine.viz import cli as viz_cli
from engine.viz.dot import _grad_colour
from engine.viz.expr import ExpressionError, build
from nn import MLP, cross_entropy, softmax
from nn.viz import draw_network
from tests.conftest import labelled_example

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).parent / "snapshots"


def example():
    o, nodes = labelled_example()
    o.backward()
    return o, nodes


def svg_texts(path: Path) -> list[str]:
    tree = ET.parse(path)
    return [t.text for t in tree.iter("{http://www.w3.org/2000/svg}text") if t.text]


def test_dot_snapshot():
    o, _ = example()
    source = draw_dot(o, local_derivatives=True).source
    assert source == (SNAPSHOTS / "tanh_example.dot").read_text()
    assert draw_dot(o, local_derivatives=True).source == source  # the same text every run


@pytest.mark.needs_dot
def test_rendered_svg_has_every_label_and_number(tmp_path):
    o, _ = example()
    path = render(draw_dot(o), tmp_path / "graph.svg")
    texts = svg_texts(path)
    for expected in ["a", "data 2.0000", "grad -0.0040", "b", "grad 0.0027", "d",
                     "data -6.0000", "e", "data 4.0000", "o", "data 0.9993", "grad 1.0000",
                     "×", "+", "tanh"]:
        assert expected in texts, expected
    png = render(draw_dot(o), tmp_path / "graph.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_local_derivatives_come_from_the_op_table():
    o, (a, b, c, d, e) = example()
    source = draw_dot(o, local_derivatives=True).source
    # d = a·b: ∂d/∂a = b = −3, ∂d/∂b = a = 2; e = d + c: 1, 1; o = tanh(e): 1 − o².
    assert local_grads(d) == (-3.0, 2.0)
    assert 'n0 -> n2_op [label="∂=-3.0000"]' in source
    assert 'n1 -> n2_op [label="∂=2.0000"]' in source
    assert f'n4 -> n5_op [label="∂={1 - o.data ** 2:.4f}"]' in source


def test_styles_for_leaves_parameters_constants_and_highlights():
    x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    y = (x * w + 2).relu()
    y.backward()
    source = draw_dot(y, params=[w], highlight=[y], color_grads=True).source
    plain = draw_dot(y, params=[w]).source
    assert re.search(r'n0 \[label="\{ x \| data 0.5000 \| grad -1.5000 \}" color="#3c78b4" '
                     r'fillcolor="#e3f0ff"', plain)  # a leaf you made
    assert re.search(r'n1 \[label="\{ w \| [^"]*" color="#c49000" fillcolor="#fff3c4" '
                     r'penwidth=1.4 shape=Mrecord', plain)  # the parameter w
    # With grad colours the fill shows the grad, and the border still shows the kind.
    assert re.search(r'n0 \[[^]]*color="#3c78b4" fillcolor="#c55260"', source)
    assert re.search(r'n1 \[[^]]*color="#c49000"[^]]*shape=Mrecord', source)
    assert re.search(r'label=2 color="#9a9a9a".*style="filled,dashed,rounded"', source)
    # An unlabelled node shows the name the step text gives it (v5: its place in the order).
    assert re.search(r'n\d+ \[label="\{ v5 \| data 1.2500 \| grad 1.0000 \}" color="#ff7f0e" '
                     r'fillcolor="#[0-9a-f]{6}" penwidth=3', source)
    # Grad colours: x's grad −1.5 is the largest: full-strength red; y's +1: lighter blue.
    # Full strength is 75% of red (178, 24, 43) over white: 255 − 0.75·(255 − 178) = 197 = c5,
    # 255 − 0.75·(255 − 24) = 82 = 52, 255 − 0.75·(255 − 43) = 96 = 60.
    assert _grad_colour(-1.5, 1.5) == "#c55260"
    r, g, b = (int(_grad_colour(1.0, 1.5)[k:k + 2], 16) for k in (1, 3, 5))
    assert b > r and b > g  # positive grads are blue


@pytest.mark.parametrize("rankdir", ["LR", "TB", "RL", "BT"])
def test_directions(rankdir):
    o, _ = example()
    assert f"rankdir={rankdir}" in draw_dot(o, rankdir=rankdir).source


def test_bad_arguments():
    o, _ = example()
    with pytest.raises(ValueError, match="rankdir must be"):
        draw_dot(o, rankdir="up")
    with pytest.raises(ValueError, match="collapse must be"):
        draw_dot(o, collapse="maybe")
    with pytest.raises(TypeError, match="draw_dot needs a Value, got float"):
        draw_dot(1.0)
    with pytest.raises(ValueError, match="use a .svg, .png, .pdf or .dot file"):
        render(draw_dot(o), "graph.jpg")


# --- Large graphs -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digit_loss():
    from demos.digits.data import load_digits

    data = load_digits()
    model = MLP(64, [32, 10], rng=0)
    loss = cross_entropy(model(list(data.inputs[3])), int(data.labels[3]))
    loss.backward()
    return model, loss


def test_neurons_are_found_in_an_mlp_graph(digit_loss):
    model, loss = digit_loss
    neurons = find_neurons(topological_order(loss))
    assert len(neurons) == 42
    assert [n.layer for n in neurons].count(1) == 32 and [n.layer for n in neurons].count(2) == 10
    first = model.layers[0].neurons[0]
    assert neurons[0].params == [*first.w, first.b] and neurons[0].out.op == "relu"


def test_fused_neurons_are_found_too():
    model = MLP(4, [3, 2], rng=0, fused=True)
    loss = cross_entropy(model([1.0, 2.0, 3.0, 4.0]), 1)
    neurons = find_neurons(topological_order(loss))
    assert [n.layer for n in neurons] == [1, 1, 1, 2, 2]
    first = model.layers[0].neurons[0]
    assert neurons[0].params == [*first.w, first.b] and neurons[0].total.op == "wsum"
    assert neurons[3].inputs == [n.out for n in neurons[:3]]


@pytest.mark.needs_dot
@pytest.mark.slow
def test_mlp_loss_graph_renders_collapsed_and_legible(digit_loss, tmp_path):
    model, loss = digit_loss
    count = len(topological_order(loss))
    assert count > 4000
    started = time.perf_counter()
    dot = draw_dot(loss, color_grads=True)
    path = render(dot, tmp_path / "mlp.svg")
    assert time.perf_counter() - started < 60
    texts = svg_texts(path)
    caption = next(t for t in texts if t.startswith("Collapsed view"))
    assert f"{count:,} nodes drawn as 42 neurons in 2 layers" in caption and "expand=" in caption
    assert "hidden layer 1 (32 neurons)" in texts and "outputs (10 neurons)" in texts
    assert "64×32 weights" in texts and "32×10 weights" in texts
    # Collapsed: single weights are not drawn, only neurons.
    assert f"grad {model.layers[0].neurons[5].w[0].grad:.4f}" not in " ".join(texts)
    assert "hidden layer 1, neuron 5" in texts  # engine.text.neuron_name: nn's layers.0.neurons.5


def test_one_neuron_expands_in_full(digit_loss):
    model, loss = digit_loss
    weight = model.layers[0].neurons[5].w[3]
    source = draw_dot(loss, expand=[weight]).source
    assert "hidden layer 1, neuron 5 (expanded)" in source and "1 expanded" in source
    assert f"layers.0.neurons.5.w.3 | data {weight.data:.4f}" in source
    assert "layers.0.neurons.6.w.3" not in source  # the other neurons stay collapsed


def test_too_large_to_draw_in_full_says_so(digit_loss):
    _, loss = digit_loss
    count = len(topological_order(loss))
    with pytest.raises(GraphTooLargeError, match=f"{count:,} nodes are too many .* collapse=True"):
        draw_dot(loss, collapse=False)
    x = Value(1.0)
    v = x
    for _ in range(4000):
        v = v * 1.0001
    with pytest.raises(GraphTooLargeError, match="no neurons were found"):
        draw_dot(v)


# --- Backward frames ----------------------------------------------------------------------------

@pytest.mark.needs_dot
def test_one_frame_per_step_with_the_current_node_highlighted(tmp_path):
    o, (a, b, c, d, e) = example()
    steps = list(engine.backward_steps(o))
    paths = backward_frames(o, tmp_path, format="svg")
    assert [p.name for p in paths] == ["step_001.svg", "step_002.svg", "step_003.svg"]
    assert len(paths) == len(steps)
    first, last = svg_texts(paths[0]), svg_texts(paths[-1])
    assert "backward step 1 of 3: o passes its grad on" in first
    assert "grad 1.0000" in first and "grad -0.0040" not in first  # a: not known yet
    assert first.count("grad") == 4  # a, b, c, d: not reached yet, so blank
    assert "grad -0.0040" in last and "grad 0.0027" in last
    frame2 = (tmp_path / "step_002.svg").read_text()
    assert frame2.count('stroke="#ff7f0e"') >= 2  # e and its op are highlighted


def test_frames_refuse_huge_graphs(tmp_path, digit_loss):
    _, loss = digit_loss
    with pytest.raises(ValueError, match="backward steps would make"):
        backward_frames(loss, tmp_path)


# --- The expression CLI -------------------------------------------------------------------------

def test_build_expression():
    out = build("tanh(a*b + c) - 2**x / -y", {"a": 2, "b": -3, "c": 10, "x": 1, "y": 4})
    assert out.data == pytest.approx(np.tanh(4) + 0.5)
    assert out.op == "sub" and out.label == "out"
    ops = {n.op for n in topological_order(out)}
    assert {"mul", "add", "tanh", "rpow", "div", "neg", "sub"} <= ops


@pytest.mark.parametrize("text, message, column", [
    ("__import__('os')", r"__import__\(\.\.\.\) is not allowed", 0),
    ("a.real", r"attribute access \(.\)", 1),
    ("a[0]", r"indexing", 0),
    ("a < b", "comparisons", 0),
    ("lambda: a", "lambda", 0),
    ("tanh(a, b)", "tanh takes exactly one argument", 0),
    ("a + d", "name 'd' has no value: give it as d=NUMBER", 4),
    ("'x' + a", r"this constant \(only numbers\)", 0),
    ("open('f').read()", "not allowed", None),
    ("exp", "exp is a function", 0),
    ("a +", "not an expression", None),
])
def test_parser_refuses_everything_but_arithmetic(text, message, column):
    with pytest.raises(ExpressionError, match=message) as info:
        build(text, {"a": 1.0, "b": 2.0})
    if column is not None:
        assert info.value.column == column


def test_parser_reports_unused_values_and_constant_expressions():
    with pytest.raises(ExpressionError, match="b given but not used"):
        build("a * 2", {"a": 1.0, "b": 2.0})
    with pytest.raises(ExpressionError, match="has no names"):
        build("2 * 3", {})


@pytest.mark.needs_dot
def test_cli_writes_graph_and_frames(tmp_path, capsys):
    code = viz_cli.main(["tanh(a*b + c)", "a=2", "b=-3", "c=10", "-o",
                         str(tmp_path / "g.svg"), "--frames", str(tmp_path / "frames")])
    assert code == 0
    out = capsys.readouterr().out
    assert "out = 0.999329" in out and "∂out/∂a = -0.00402285" in out
    assert "wrote 3 frames" in out
    assert "tanh" in svg_texts(tmp_path / "g.svg")
    assert len(list((tmp_path / "frames").glob("step_*.svg"))) == 3


def test_cli_rejects_code_from_a_real_shell():
    result = subprocess.run([sys.executable, "-m", "engine.viz", "__import__('os').system('x')"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "is not allowed" in result.stderr and "Traceback" not in result.stderr
    bad = subprocess.run([sys.executable, "-m", "engine.viz", "a*2", "a=two"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "a: expected a number, got 'two'" in bad.stderr


def test_missing_dot_gets_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere on PATH
    o, _ = example()
    with pytest.raises(GraphvizMissingError, match="apt-get install graphviz.*brew install"):
        render(draw_dot(o), tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()
    assert render(draw_dot(o), tmp_path / "g.dot").read_text().startswith("digraph")
    assert viz_cli.main(["a*2", "a=1", "-o", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Graphviz's `dot` program is needed") and "Traceback" not in err


# --- Network diagrams ---------------------------------------------------------------------------

def edges(source: str):
    return re.findall(r'(L\d+_\d+) -> (L\d+_\d+) \[color="(#[0-9a-f]{6})([0-9a-f]{2})" '
                      r'penwidth=([\d.]+)', source)


def test_network_connections_follow_the_weights():
    model = MLP(4, [3, 2], rng=0)
    source = draw_network(model).source
    found = edges(source)
    assert len(found) == 4 * 3 + 3 * 2
    for tail, head, colour, _alpha, _width in found:
        layer, j = map(int, head[1:].split("_"))
        i = int(tail.split("_")[1])
        w = model.layers[layer - 1].neurons[j].w[i].data
        assert colour == ("#2166ac" if w > 0 else "#b2182b")  # blue +, red −
    # Issue 22, item 7: the sign without colour, too: negative dashed, positive solid.
    for tail, head, attrs in re.findall(r'(L\d+_\d+) -> (L\d+_\d+) \[([^\]]*)\]', source):
        layer, j = map(int, head[1:].split("_"))
        w = model.layers[layer - 1].neurons[j].w[int(tail.split("_")[1])].data
        assert ("style=dashed" in attrs) == (w < 0), (tail, head, attrs)
    widths = {(t, h): float(wd) for t, h, _, _, wd in found}
    row = [model.layers[0].neurons[0].w[i].data for i in range(4)]
    strongest = int(np.argmax(np.abs(row)))
    assert widths[(f"L0_{strongest}", "L1_0")] == max(widths[(f"L0_{i}", "L1_0")]
                                                       for i in range(4))


def test_network_top_k_and_focus():
    model = MLP(8, [5, 3], rng=0)
    assert len(edges(draw_network(model, top_k=2).source)) == 5 * 2 + 3 * 2
    focused = edges(draw_network(model, focus={1: 2, 2: 0}).source)
    assert len(focused) == 8 + 5
    assert {h for _, h, *_ in focused} == {"L1_2", "L2_0"}
    with pytest.raises(ValueError, match=r"focus \{2: 7\} is not a neuron"):
        draw_network(model, focus={2: 7})
    with pytest.raises(TypeError, match="draws an nn.MLP"):
        draw_network(model.layers[0])


def test_network_shading_follows_activations():
    model = MLP(3, [2], rng=0)
    x = [0.0, 0.5, 1.0]
    source = draw_network(model, x, output_labels=["no", "yes"]).source
    fills = dict(re.findall(r'(L\d+_\d+) \[[^]]*fillcolor="(#[0-9a-f]{6})"', source))
    assert fills["L0_0"] == "#ffffff" and fills["L0_2"] == "#1e1e1e"  # white to near black
    # Outputs are shaded by softmax probability: the more likely class is the darker one.
    probabilities = softmax(model(x))
    darker = "L1_0" if fills["L1_0"] < fills["L1_1"] else "L1_1"
    assert darker == f"L1_{int(np.argmax(probabilities))}"
    assert "label=no" in source and "label=yes" in source


@pytest.mark.parametrize("text, expected", [
    ("9**9**9 * a", float("inf")),  # computed by the engine (IEEE), instantly
    ("1/0 + a", float("inf")),
    ("10**400 + 0.5 + a", float("inf")),
])
def test_number_only_parts_are_computed_by_the_engine(text, expected):
    assert build(text, {"a": 1.0}).data == expected


def test_parser_limits_and_character_columns():
    with pytest.raises(ExpressionError, match="the limit is 10,000"):
        build("+".join(["a"] * 6000), {"a": 1.0})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        build("-" * 5000 + "a", {"a": 1.0})
    with pytest.raises(ExpressionError) as info:
        build("α + β.x", {"α": 1.0, "β": 2.0})
    assert info.value.column == 5  # the dot, counted in characters, not UTF-8 bytes


def test_constants_are_drawn_as_written_and_steps_print_max():
    x = Value(1.0, label="x")
    source = draw_dot(x * 1e20 + 3 + float("nan")).source
    assert 'label="1e+20"' in source and "label=3 " in source and "label=nan" in source
    m = engine.max([x, Value(2.0, label="y")])
    m.label = "m"
    assert repr(next(engine.backward_steps(m))).startswith("step 1 of 1: m = max(x, y) = 2")
    with pytest.raises(ValueError, match="not part of any neuron"):
        draw_dot(m, collapse=True, expand=[x])


def test_network_and_render_argument_errors(tmp_path):
    model = MLP(3, [2], rng=0)
    with pytest.raises(ValueError, match="output_labels has 1 names for 2 outputs"):
        draw_network(model, output_labels=["only"])
    with pytest.raises(ValueError, match="input_shading has 2 values for 3 inputs"):
        draw_network(model, [0.0, 0.5, 1.0], input_shading=[0.0, 1.0])
    assert "fillcolor" in draw_network(model, [float("nan"), 0.5, 1.0]).source  # no crash
    o, _ = example()
    with pytest.raises(FileNotFoundError, match="directory .*nowhere does not exist"):
        render(draw_dot(o), tmp_path / "nowhere" / "g.svg")
