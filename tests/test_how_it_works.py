"""The explainer's figures: their numbers are the engine's, and the files are valid."""

import html
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import engine
from demos.digits.train import TrainConfig, prepare
from demos.how_it_works import cli
from demos.how_it_works import figures as fig
from engine import Value
from nn import MLP, cross_entropy, softmax
from nn.viz import _gray


@pytest.fixture(scope="module")
def bp():
    data = prepare(TrainConfig(hidden=[16, 16]))
    index = int(np.flatnonzero(data.test.labels == 3)[0])
    model = MLP(64, [16, 16, 10], rng=0)
    return fig.backprop(model, data.x_test[index], data.test.images[index].reshape(-1), 3)


def test_activations_and_gradients_are_the_engines(bp):
    # Recompute everything independently: a fresh graph, engine.grad instead of backward().
    x = [Value(float(v)) for v in bp.x]
    h1 = bp.model.layers[0](x)
    h2 = bp.model.layers[1](h1)
    logits = bp.model.layers[2](h2)
    loss = cross_entropy(logits, 3)
    weights = [w for layer in bp.model.layers for n in layer.neurons for w in n.w]
    grads = engine.grad(loss, [*h1, *h2, *logits, *weights])
    n1, n2 = len(h1), len(h2)
    assert bp.activations[1].tolist() == [v.data for v in h1]
    assert bp.activations[3].tolist() == [v.data for v in logits]
    assert bp.activation_grads[1].tolist() == grads[:n1]
    assert bp.activation_grads[2].tolist() == grads[n1:n1 + n2]
    assert bp.activation_grads[3].tolist() == grads[n1 + n2:n1 + n2 + 10]
    flat = np.concatenate([g.ravel() for g in bp.weight_grads]).tolist()
    assert flat == grads[n1 + n2 + 10:]
    assert bp.loss == loss.data
    assert bp.probabilities.tolist() == softmax(logits)


def test_output_weight_changes_are_proportional_to_hidden_activations(bp):
    # The article: the change of each weight into the '3' neuron is proportional to the
    # activation of the hidden neuron it comes from. Δw_i = −∂loss/∂w_i = −∂loss/∂z₃ · h_i.
    changes = fig.weight_changes(bp, 3, 3)
    h = bp.activations[2]
    dz = fig.desired_change(bp, 3, 3)
    assert dz == pytest.approx(1 - bp.probabilities[3], rel=1e-12)  # 1 − p₃ > 0: raise it
    np.testing.assert_allclose(changes, dz * h, rtol=1e-12, atol=0)
    active = h > 0
    assert active.any() and np.all(changes[~active] == 0)
    ratios = changes[active] / h[active]
    assert np.ptp(ratios) < 1e-12 * abs(dz)  # one common factor for every active neuron
    assert np.all(changes[active] > 0)  # "made more positive"


def test_figure_numbers_colours_and_arrows_come_from_the_engine(bp):
    step1 = fig.figure_step1(bp, "t").source
    dz = fig.desired_change(bp, 3, 3)
    assert f"increase\n−∂loss/∂a = {dz:+.3f}" in step1
    # The '3' output is shaded by its probability; every output likewise.
    for j, p in enumerate(bp.probabilities):
        assert re.search(rf'L3_{j} \[[^]]*fillcolor="{_gray(p)}"', step1)
    step2 = fig.figure_step2(bp, "t").source
    for i, change in enumerate(fig.weight_changes(bp, 3, 3)):
        # Each Δw sits beside the hidden neuron i it comes from; a zero change gets no label.
        assert (f'dw_3_3_{i} [label="Δw {change:+.3f}"' in step2) == (change != 0)
    # Only connections into the '3' output are drawn, coloured by their weight's sign.
    drawn = re.findall(r'(L2_\d+) -> (L3_\d+) \[color="(#[0-9a-f]{6})', step2)
    assert len(drawn) == 16 and {head for _, head, _ in drawn} == {"L3_3"}
    for tail, _, colour in drawn:
        w = bp.weights[2][3, int(tail.split("_")[1])]
        assert colour == ("#2166ac" if w > 0 else "#b2182b")
    j2 = fig.most_influential(bp, 2)
    step3 = fig.figure_step3(bp, j2, "t").source
    c2 = fig.desired_change(bp, 2, j2)
    assert f"{'increase' if c2 > 0 else 'decrease'}\n−∂loss/∂a = {c2:+.3f}" in step3
    assert bp.activations[2][j2] > 0
    assert abs(c2) == max(abs(bp.activation_grads[2][k]) for k in range(16)
                          if bp.activations[2][k] > 0)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [v for k, v in attrs if k in ("src", "href") and v]


@pytest.mark.slow
def test_command_writes_valid_figures_and_a_local_page(tmp_path, capsys):
    assert cli.main(["--digit", "3", "--out", str(tmp_path), "--epochs", "1", "--trained"]) == 0
    names = ["neuron", "architecture", "step1", "step2", "step3", "step4", "repeat",
             "trained_step1", "trained_step2", "trained_step3", "trained_step4"]
    for name in names:
        ET.parse(tmp_path / f"{name}.svg")  # valid XML
        assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    page = (tmp_path / "index.html").read_text()
    parser = _Links()
    parser.feed(page)
    assert parser.links == [f"{n}.svg" for n in names]  # in order, all local
    assert all((tmp_path / link).is_file() for link in parser.links)
    assert "http" not in page and "<script" not in page
    assert "figcaption" in parser.tags and page.count("<figure>") == len(names)
    text = html.unescape(page)
    before = re.search(r"gives '3' a probability of (0\.\d{3})", text).group(1)
    assert f"rose from {before} to" in text  # the repeat figure starts where Step 1 is
    assert "Before training" in page and "After training" in page


def test_bad_arguments(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--digit", "12"])
    assert info.value.code == 2 and "argument --digit" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--epochs", "0"])
    assert "argument --epochs" in capsys.readouterr().err
