"""``python -m demos.how_it_works --digit 3 --out DIR``: how deep learning works, drawn from a
real network with real gradients.

Writes one SVG figure per idea (a neuron; the forward pass; the four steps of backpropagation;
applying the update; repeating it over many batches), ``index.html`` showing them in order
with captions that quote the engine's numbers, and the explorer (``explore.html``, or the file
``--explore`` names): one offline page to click through the same stages, on the untrained and
the trained network, for the test digits ``--digits`` names. ``--trained`` adds the static
figures after training too.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import engine
from demos.digits.plots import plt, save_figure
from demos.digits.train import TrainConfig, prepare
from demos.how_it_works import explorer
from demos.how_it_works import stages as st
from demos.how_it_works.frames import Film
from demos.how_it_works.readings import Backprop, backprop
from demos.how_it_works.web import asset, stylesheet
from demos.how_it_works.words import caption_html, glossary, moved
from engine import Value
from engine.system.console import message
from engine.system.files import atomic_write
from engine.viz import GraphvizMissingError, export_html, style
from nn import MLP, Adam, cross_entropy, softmax

HIDDEN = [16, 16]  # two hidden layers, small enough to draw every neuron
NEURON_TITLE = "One neuron: weights, a sum, an activation"
REPEAT_TITLE = "Repeated over many batches: the loss falls"


LR, BATCH = 0.02, 32  # the brief training's Adam


def brief_training(model: MLP, data, watch: np.ndarray, digit: int, epochs: int, seed: int,
                   film: Film | None = None):
    """Adam on random batches of 32; returns the loss of each batch, and P(digit) for
    ``watch`` before training and after each step. ``film``: told of the start and of every
    step (``film.after``), which it records while the network trains."""
    optimizer = Adam(model.parameters(), lr=LR)
    losses = []
    with engine.no_grad():
        probability = [softmax(model(list(watch)))[digit]]
    if film is not None:
        film.after(0, None)
    for epoch in range(epochs):
        order = np.random.default_rng([seed, epoch]).permutation(len(data.x_train))
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            loss = engine.sum([cross_entropy(model(list(data.x_train[i])),
                                             int(data.train.labels[i])) for i in rows])
            loss = loss / len(rows)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.data)
            with engine.no_grad():
                probability.append(softmax(model(list(watch)))[digit])
            if film is not None:
                film.after(len(losses), loss.data)
    return losses, probability


def repeat_figure(losses, probability, digit: int, path_stem: Path) -> list[Path]:
    fig_, left = plt.subplots(figsize=(8, 3.6))
    steps = np.arange(1, len(losses) + 1)
    left.plot(steps, losses, color=style.PURPLE, lw=1, label="loss of the batch")
    right_steps = np.arange(0, len(probability))  # P before training, then after each step
    left.set(xlabel="training step (a batch of 32 random images)", ylabel="loss")
    right = left.twinx()
    right.plot(right_steps, probability, color=style.GREEN, lw=2,
               label=f"P('{digit}') for our {digit}")
    right.set(ylabel=f"probability the network gives '{digit}'", ylim=(0, 1.02))
    fig_.legend(loc="center right", bbox_to_anchor=(0.88, 0.5))
    left.set_title(REPEAT_TITLE)
    fig_.subplots_adjust(bottom=0.24)
    fig_.text(0.01, 0.005, "Training as the digits demo does it: Adam (lr 0.02) on batches of "
                           "32 random images (the single step before was plain SGD on one "
                           "image).\nGreen: the probability of the right digit for the image "
                           "we follow, after each step.", fontsize=8, color=style.MUTED)
    paths = [save_figure(fig_, path_stem.with_suffix(suffix), close=False)
             for suffix in (".svg", ".png")]
    plt.close(fig_)
    return paths


@dataclass(frozen=True)
class Figure:
    """One figure of index.html: its file, its own title (the image's text alternative) and
    the caption shown under it: plain words, then the maths folded (if any)."""

    file: str
    title: str
    caption: str
    maths: str = ""


def fill(template: str, text: dict[str, str], markup: dict[str, str]) -> str:
    """``template`` with each ``@NAME@`` replaced: from ``text`` escaped as HTML, from
    ``markup`` as it is (HTML built from escaped parts). One pass, so no inserted text is
    ever read as a placeholder."""
    parts = {**{k: html.escape(v) for k, v in text.items()}, **markup}
    return re.sub(r"@([A-Z]+)@", lambda m: parts[m.group(1)], template)


def page(sections: list[tuple[str, list[Figure]]], digit: int, explore: str,
         stepper: str | None = None) -> str:
    """index.html: the figures in order, each with its caption, and links to the explorer
    (and to the node-by-node stepper, if written); only local files. The page is the
    template index.html beside this module."""
    e = html.escape
    figures = "\n".join(
        f"<h2>{e(heading)}</h2>\n" + "\n".join(
            f'<figure><a href="{e(f.file)}"><img src="{e(f.file)}" alt="{e(f.title)}"></a>'
            f"<figcaption>{caption_html(f.caption, f.maths)}</figcaption></figure>"
            for f in items)
        for heading, items in sections)
    steps = "" if stepper is None else (
        f'<p>Or <a href="{e(urllib.parse.quote(stepper))}">step through the same pass node by '
        f"node</a>: every chain-rule step of the engine, with its numbers.</p>")
    return fill(asset("index.html"),
                {"DIGIT": str(digit), "EXPLORE": urllib.parse.quote(explore)},
                {"STEPPER": steps, "FIGURES": figures, "GLOSSARY": glossary(),
                 "STYLE": stylesheet()})


def positive_digits(text: str) -> list[int]:
    try:
        digits = [int(d) for d in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected digits 0-9 separated by commas, got "
                                         f"{text!r}") from None
    if not digits or any(not 0 <= d <= 9 for d in digits) or len(set(digits)) != len(digits):
        raise argparse.ArgumentTypeError(f"expected different digits 0-9, got {text!r}")
    return digits


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {value}")
    return value


def parser(prog: str = "python -m demos.how_it_works") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.replace(
                                    "python -m demos.how_it_works", prog, 1),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--digit", type=int, choices=range(10), default=3, metavar="0-9",
                   help="which digit the figures follow (default: %(default)s)")
    p.add_argument("--digits", type=positive_digits, default=None, metavar="D,D,…",
                   help="the test digits the explorer offers, the --digit always among them "
                        "(default: the --digit, 8 and 1)")
    p.add_argument("--out", default="runs/how_it_works", metavar="DIR",
                   help="where the figures and index.html go (default: %(default)s)")
    p.add_argument("--explore", metavar="FILE",
                   help="where the explorer page goes (default: DIR/explore.html)")
    p.add_argument("--trained", action="store_true",
                   help="also draw the steps again after the brief training")
    p.add_argument("--epochs", type=int, default=2,
                   help="passes over the training images for the trained network "
                        "(default: %(default)s)")
    p.add_argument("--lr", type=float, default=0.1,
                   help="η of the one SGD step the figures show (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=0, help="initial weights (default: 0)")
    p.add_argument("--html", metavar="FILE",
                   help="also write a page to step through this digit's forward and backward "
                        "pass in the untrained network, node by node, in any browser")
    return p


def main(argv=None, prog: str = "python -m demos.how_it_works") -> int:
    p = parser(prog)
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error(f"argument --epochs: expected a positive integer, got {args.epochs}")
    if not 0 < args.lr <= 10:
        p.error(f"argument --lr: expected a number in (0, 10], got {args.lr}")
    try:
        run(args)
    except GraphvizMissingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a directory that cannot be made, a file that cannot be written
        print(f"error: {message(e)}", file=sys.stderr)
        return 1
    return 0


@dataclass(frozen=True)
class TrainingSummary:
    """What the brief training did, in words for the "repeat" figure and stage."""

    caption: str
    lines: tuple[str, ...]


def run(args) -> None:
    """Everything the command writes: the passes, the figures, index.html, the explorer."""
    digits = args.digits or list(dict.fromkeys([args.digit, 8, 1]))
    if args.digit not in digits:
        digits = [args.digit, *digits]
    out = Path(args.out)
    explore = Path(args.explore) if args.explore else out / "explore.html"
    # Said before the work, not after it.
    check_page_paths(filter(None, [args.explore and explore, args.html and Path(args.html)]))
    out.mkdir(parents=True, exist_ok=True)
    data = prepare(TrainConfig(hidden=HIDDEN, seed=args.seed))
    # A real image of each digit, from the test split: the network never trains on them.
    images = {d: int(np.flatnonzero(data.test.labels == d)[0]) for d in digits}
    model = MLP(64, [*HIDDEN, 10], rng=args.seed)

    def passes() -> dict[int, Backprop]:
        return {d: backprop(model, data.x_test[i], data.test.images[i].reshape(-1), d,
                            args.lr) for d, i in images.items()}

    if args.html:
        write_stepper(model, data.x_test[images[args.digit]], args.digit, args.html)
    untrained = passes()
    print(f"Training briefly ({args.epochs} epochs) for the trained network …")
    # The film of this training, for the explorer's Repeat stage: every digit it offers.
    film = Film(model, data.x_test, data.test.labels,
                {d: (data.x_test[i], d) for d, i in images.items()},
                epoch_steps=-(-len(data.x_train) // BATCH), epochs=args.epochs, lr=LR,
                batch=BATCH)
    training = train(model, data, untrained[args.digit], args, out, film)
    trained = passes()
    scales = st.scales_by_network({"untrained": list(untrained.values()),
                                   "trained": list(trained.values())})
    sections = [("Before training", write_figures(untrained[args.digit], scales["untrained"],
                                                  out, "", trained=False))]
    sections[0][1].append(Figure("repeat.svg", REPEAT_TITLE, training.caption))
    if args.trained:
        sections.append(("After training", write_figures(trained[args.digit],
                                                         scales["trained"], out, "trained_",
                                                         trained=True)))
    write_explorer(explore, {"untrained": untrained, "trained": trained}, training, film)
    link = os.path.relpath(explore.resolve(), out.resolve())
    stepper = os.path.relpath(Path(args.html).resolve(), out.resolve()) if args.html else None
    atomic_write(out / "index.html", page(sections, args.digit, link, stepper), "HTML page")
    print(f"Wrote {out / 'index.html'}, its figures, and the explorer {explore}.")


def check_page_paths(paths) -> None:
    """Raise the OSError that writing an HTML page to each of ``paths`` would meet: a
    directory in its place, or no directory to hold it."""
    for path in paths:
        if path.is_dir():
            raise IsADirectoryError(f"cannot write HTML page to {path}: it is a directory")
        if not path.parent.is_dir():
            raise FileNotFoundError(f"cannot write HTML page to {path}: directory "
                                    f"{path.parent} does not exist")


def write_explorer(path: Path, networks: dict[str, dict[int, Backprop]],
                   training: TrainingSummary, film: Film) -> None:
    """The explorer page: every digit's pass on the untrained and the trained network
    (``networks``, by name), each captioned with the brief training, and its film."""
    shown = {"trained": " Shown: the trained network, after this training.",
             "untrained": " Shown: the untrained network, before it; choose 'trained' above "
                          "to see it after."}
    runs = [explorer.Run(name, d, bp, training.caption + shown[name], training.lines)
            for name, group in networks.items() for d, bp in group.items()]
    atomic_write(path, explorer.page(runs, "Explore how an MLP(64, [16, 16, 10]) learns: "
                                           "every number from glassgrad's engine",
                                     film=film.data()),
                 "HTML page")


def write_stepper(model: MLP, x: np.ndarray, digit: int, path) -> None:
    """The node-by-node stepper of the untrained network's pass on this image."""
    loss = cross_entropy(model([Value(float(v), label=f"x{i}") for i, v in enumerate(x)]),
                         digit)
    export_html(loss, path, title=f"An untrained MLP(64, [16, 16, 10]) reading a {digit}: "
                                  f"every step of its loss's pass")
    print(f"Wrote {path}")


def train(model: MLP, data, bp: Backprop, args, out: Path, film: Film | None = None
          ) -> TrainingSummary:
    """The brief training, its figure, and what it did in words (``bp``: the untrained
    network's pass on the image followed, whose captions' percents these words match);
    ``film`` records it."""
    losses, probability = brief_training(model, data, bp.x, args.digit, args.epochs,
                                         args.seed, film)
    repeat_figure(losses, probability, args.digit, out / "repeat")
    d, up = args.digit, probability[-1] >= probability[0]
    went = moved(probability[0], probability[-1], "rose" if up else "fell",
                 least=st.percent_decimals(bp))
    return TrainingSummary(
        f"Repeat for batch after batch of random training images: over {len(losses)} steps "
        f"({args.epochs} pass{'' if args.epochs == 1 else 'es'} over {len(data.x_train)} "
        f"images) the batch loss, the average loss over a batch of 32 training images, fell "
        f"from {losses[0]:.2f} to {losses[-1]:.2f} (this one image's own loss was "
        f"{style.amount(bp.loss)} before training), and the probability the network gives "
        f"our {d} of being a {d} {went}.",
        (f"{len(losses)} steps of training on batches of 32:",
         f"average loss of a batch {losses[0]:.2f} → {losses[-1]:.2f}",
         f"P('{d}') for this image {style.probability(probability[0])} → "
         f"{style.probability(probability[-1])}"))


def write_figures(bp: Backprop, scales: st.Scales, out: Path, prefix: str,
                  trained: bool) -> list[Figure]:
    """Every stage's figure of this pass (and, before training, the neuron), as SVG files;
    returns them in the article's order."""
    items = []
    if not trained:
        name = f"{prefix}neuron.svg"
        atomic_write(out / name, st.neuron_figure(bp, NEURON_TITLE), "figure")
        items.append(Figure(name, NEURON_TITLE, "A neuron adds up what it receives, each "
                            "input times its weight, plus a bias of its own, and passes the "
                            "sum on if it is positive (0 if not). This is a real neuron of "
                            "the network, reading the image below.",
                            "z = Σ w·a + b; a = relu(z) = max(z, 0): relu is the activation "
                            "function, which turns a negative sum into 0."))
    for stage in st.stages(bp, scales, trained):
        if trained and stage.key == "forward":
            continue
        name = f"{prefix}{stage.key}.svg"
        atomic_write(out / name, st.figure(bp, stage), "figure")
        items.append(Figure(name, stage.title, stage.caption, stage.maths))
    return items
