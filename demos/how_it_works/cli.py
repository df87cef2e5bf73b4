"""``python -m demos.how_it_works --digit 3 --out DIR``: how deep learning works, drawn from a
real network with real gradients.

Writes one figure per idea (a neuron; the architecture; the four steps of backpropagation;
repeating it over many batches), as SVG and PNG, and ``index.html`` showing them in order with
captions that quote the engine's numbers. ``--trained`` adds the same steps after training.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

import numpy as np

import engine
from demos.digits.plots import plt, save_figure
from demos.digits.train import TrainConfig, prepare
from demos.how_it_works import figures as fig
from engine import Value
from engine.files import atomic_write
from engine.viz import GraphvizMissingError, export_html, render
from nn import MLP, Adam, cross_entropy, softmax

HIDDEN = [16, 16]  # two hidden layers, small enough to draw every neuron


def brief_training(model: MLP, data, watch: np.ndarray, digit: int, epochs: int, seed: int):
    """Adam on random batches of 32; returns the loss of each batch, and P(digit) for
    ``watch`` before training and after each step."""
    optimizer = Adam(model.parameters(), lr=0.02)
    losses = []
    with engine.no_grad():
        probability = [softmax(model(list(watch)))[digit]]
    for epoch in range(epochs):
        order = np.random.default_rng([seed, epoch]).permutation(len(data.x_train))
        for start in range(0, len(order), 32):
            rows = order[start:start + 32]
            loss = engine.sum([cross_entropy(model(list(data.x_train[i])),
                                             int(data.train.labels[i])) for i in rows])
            loss = loss / len(rows)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.data)
            with engine.no_grad():
                probability.append(softmax(model(list(watch)))[digit])
    return losses, probability


def repeat_figure(losses, probability, digit: int, path_stem: Path) -> list[Path]:
    fig_, left = plt.subplots(figsize=(8, 3.6))
    steps = np.arange(1, len(losses) + 1)
    left.plot(steps, losses, color="#7b3294", lw=1, label="loss of the batch")
    right_steps = np.arange(0, len(probability))  # P before training, then after each step
    left.set(xlabel="training step (a batch of 32 random images)", ylabel="loss")
    right = left.twinx()
    right.plot(right_steps, probability, color="#1b7837", lw=2,
               label=f"P('{digit}') for our {digit}")
    right.set(ylabel=f"probability the network gives '{digit}'", ylim=(0, 1.02))
    fig_.legend(loc="center right", bbox_to_anchor=(0.88, 0.5))
    left.set_title("Repeated over many batches: the loss falls")
    paths = [save_figure(fig_, path_stem.with_suffix(suffix), close=False)
             for suffix in (".svg", ".png")]
    plt.close(fig_)
    return paths


def captions(bp: fig.Backprop, j2: int, j1: int, after: bool) -> dict[str, str]:
    d, out = bp.target, len(bp.sizes) - 1
    p = bp.probabilities
    top = int(np.argmax(p))
    dz = fig.desired_change(bp, out, d)
    changes = fig.weight_changes(bp, out, d)
    h = bp.activations[2]
    biggest = int(np.argmax(np.abs(changes)))
    c2, c1 = fig.desired_change(bp, 2, j2), fig.desired_change(bp, 1, j1)
    verb = {True: "increase", False: "decrease"}
    state = "trained" if after else "untrained"
    pre = float(bp.pre_activations[1][0])
    return {
        "neuron": (f"A neuron multiplies each input by a weight, adds them up with a bias, and "
                   f"passes the sum through an activation function. This is neuron 0 of the "
                   f"second hidden layer reading the first hidden layer's 16 activations: "
                   f"Σ = {pre:.3f}, and relu(Σ) = {bp.activations[2][0]:.3f}."),
        "architecture": (f"The network: 64 input neurons, one per pixel of the 8×8 image, shaded "
                         f"by the pixel's gray level; two hidden layers of {HIDDEN[0]} neurons; "
                         f"10 output neurons, one per digit, shaded by the probability the "
                         f"network gives it. Lines are weights, blue positive and red negative "
                         f"(the 3 strongest into each neuron are drawn)."),
        "step1": (f"Step 1. The {state} network reads a {d}. It gives '{d}' a probability of "
                  f"{p[d]:.3f}; its top answer is '{top}' ({p[top]:.3f}). The loss is "
                  f"−log {p[d]:.3f} = {bp.loss:.3f}. To lower it the '{d}' output must "
                  f"{verb[dz > 0]}: −∂loss/∂z{d} = {dz:+.3f} (purple arrow), while every other "
                  f"output j must go down by its probability p_j."),
        "step2": (f"Step 2. The weights from the second hidden layer into the '{d}' output "
                  f"change by Δw = −∂loss/∂w = ({dz:+.3f}) × h: each in proportion to the "
                  f"activation h of the neuron it comes from, so weights from neurons that are "
                  f"off (h = 0) do not change. The largest change is Δw = "
                  f"{changes[biggest]:+.3f}, from neuron {biggest} (h = {h[biggest]:.3f})."),
        "step3": (f"Step 3. One layer back. In the second hidden layer, neuron {j2} (the active "
                  f"one whose activation matters most for the loss) should "
                  f"{verb[c2 > 0]}: −∂loss/∂a = {c2:+.3f} (green arrow). That is done by "
                  f"changing its weights from the first hidden layer (black Δw labels); only "
                  f"the connections into one neuron per layer are drawn."),
        "step4": (f"Step 4. The same for the first hidden layer: neuron {j1} should "
                  f"{verb[c1 > 0]} (−∂loss/∂a = {c1:+.3f}, orange arrow), by changing its "
                  f"weights from the 64 pixels (the 8 largest changes are labelled)."),
    }


def write(dot, out: Path, name: str) -> list[Path]:
    return [render(dot, out / f"{name}.svg"), render(dot, out / f"{name}.png")]


def page(sections: list[tuple[str, list[tuple[str, str]]]], digit: int) -> str:
    """index.html: the figures in order, each with its caption; only local files."""
    parts = []
    for heading, items in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for image, caption in items:
            parts.append(f'<figure><img src="{html.escape(image)}" alt="{html.escape(image)}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    body = "\n".join(parts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>How deep learning works, with a real network reading a {digit}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; max-width: 980px; margin: 2em auto;
       color: #222; line-height: 1.45; padding: 0 1em; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; max-height: 80vh; display: block; }}
figcaption {{ margin-top: .6em; }} h2 {{ border-bottom: 1px solid #ddd; }}
</style></head><body>
<h1>How deep learning works: a real network reading a {digit}</h1>
<p>Every shade, colour and arrow below comes from one forward and one backward pass of
glassgrad's engine. Shading: activations (dark is high). Lines: weights (blue positive, red
negative). Arrows: the negative gradient of the loss, the direction each activation should
move. Δw labels: the negative gradient of the loss for each weight.</p>
{body}
</body></html>
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m demos.how_it_works", description=__doc__)
    p.add_argument("--digit", type=int, choices=range(10), default=3, metavar="0-9",
                   help="which digit to follow (default: %(default)s)")
    p.add_argument("--out", default="runs/how_it_works", metavar="DIR",
                   help="where the figures and index.html go (default: %(default)s)")
    p.add_argument("--trained", action="store_true",
                   help="also draw the steps again after the brief training")
    p.add_argument("--epochs", type=int, default=2,
                   help="passes over the training images for the 'repeat' figure (default: 2)")
    p.add_argument("--seed", type=int, default=0, help="initial weights (default: 0)")
    p.add_argument("--html", metavar="FILE",
                   help="also write a page to step through this digit's forward and backward "
                        "pass in the untrained network, node by node, in any browser")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error(f"argument --epochs: expected a positive integer, got {args.epochs}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data = prepare(TrainConfig(hidden=HIDDEN, seed=args.seed))
    # A real image of the digit, from the test split: the network never trains on it.
    index = int(np.flatnonzero(data.test.labels == args.digit)[0])
    x, pixels = data.x_test[index], data.test.images[index].reshape(-1)
    model = MLP(64, [*HIDDEN, 10], rng=args.seed)

    try:
        if args.html:
            loss = cross_entropy(model([Value(float(v), label=f"x{i}") for i, v in enumerate(x)]),
                                 args.digit)
            export_html(loss, args.html, title=f"An untrained MLP(64, [16, 16, 10]) reading a "
                                               f"{args.digit}: every step of its loss's pass")
            print(f"Wrote {args.html}")
        sections = [("Before training", draw_steps(model, x, pixels, args.digit, out, "",
                                                     after=False))]
        print(f"Training briefly ({args.epochs} epochs) for the 'repeat' figure …")
        losses, probability = brief_training(model, data, x, args.digit, args.epochs, args.seed)
        repeat_figure(losses, probability, args.digit, out / "repeat")
        steps = len(losses)
        sections[0][1].append(("repeat.svg", (
            f"Repeat for batch after batch of random training images: over {steps} steps "
            f"({args.epochs} passes over {len(data.x_train)} images) the batch loss fell from "
            f"{losses[0]:.2f} to {losses[-1]:.2f}, and the probability the network gives our "
            f"{args.digit} of being a {args.digit} rose from {probability[0]:.3f} to "
            f"{probability[-1]:.3f}.")))
        if args.trained:
            sections.append(("After training", draw_steps(model, x, pixels, args.digit, out,
                                                          "trained_", after=True)))
    except GraphvizMissingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    atomic_write(out / "index.html", page(sections, args.digit), "HTML page")
    print(f"Wrote {out / 'index.html'} and its figures.")
    return 0


def draw_steps(model, x, pixels, digit, out: Path, prefix: str, after: bool):
    bp = fig.backprop(model, x, pixels, digit)
    j2, j1 = fig.most_influential(bp, 2), fig.most_influential(bp, 1)
    text = captions(bp, j2, j1, after)
    when = "after training" if after else "untrained"
    direction = "up" if fig.desired_change(bp, 3, digit) > 0 else "down"
    drawings = {
        "step1": fig.figure_step1(bp, f"Step 1 ({when}): the '{digit}' output should go "
                                      f"{direction}"),
        "step2": fig.figure_step2(bp, f"Step 2: change the weights into the '{digit}' output"),
        "step3": fig.figure_step3(bp, j2, "Step 3: the same for the second hidden layer"),
        "step4": fig.figure_step4(bp, j2, j1, "Step 4: and for the first hidden layer"),
    }
    if not after:
        drawings = {"neuron": fig.figure_neuron(bp, "A neuron"),
                    "architecture": fig.figure_architecture(bp, "The network"), **drawings}
    items = []
    for name, dot in drawings.items():
        write(dot, out, prefix + name)
        items.append((f"{prefix}{name}.svg", text[name]))
    return items
