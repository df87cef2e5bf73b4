"""``python -m demos.digits``: train a network of Values on handwritten digits, or ask it.

    python -m demos.digits                        # train with the defaults (≥ 97% test)
    python -m demos.digits --epochs 5 --size 4    # a quick 16-input network
    python -m demos.digits predict --model runs/digits/model.json --index 42
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from demos.digits import plots
from demos.digits.data import DataError, Dataset, load_digits, load_mnist, stratified_split
from demos.digits.data import downsample as block_average
from demos.digits.train import Result, ResumeError, TrainConfig, train
from engine.system.files import json_text, non_finite_numbers, not_finite
from nn import ACTIVATIONS, ModelFileError, load, softmax


def _integer_at_least(minimum: int):
    """An argparse type for integers ≥ ``minimum``, with a message naming the bound."""
    wanted = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {value}")
        return value

    return parse


positive_int = _integer_at_least(1)
non_negative_int = _integer_at_least(0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def layer_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sizes such as 32 or 32,16, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def train_parser(prog: str = "python -m demos.digits") -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog=prog,
        description="Train a feed-forward network built from glassgrad Values to read "
                    "handwritten digits from their pixel gray levels. "
                    f"See also: {prog} predict --help",
)
    p.add_argument("--epochs", type=positive_int, default=d.epochs,
                   help="passes over the training images (default: %(default)s)")
    p.add_argument("--hidden", type=layer_sizes, default=",".join(map(str, d.hidden)),
                   help="hidden layer sizes, comma separated: 32 or 32,16 "
                        "(default: %(default)s)")
    p.add_argument("--lr", type=positive_float, default=d.lr,
                   help="learning rate at the start; a cosine schedule anneals it to 0 "
                        "(default: %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                   help="images averaged per optimizer step (default: %(default)s)")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default=d.optimizer,
                   help="adam, or sgd with momentum 0.9 (default: %(default)s)")
    p.add_argument("--activation", choices=[a for a in ACTIVATIONS if a != "linear"],
                   default=d.activation,
                   help="activation of the hidden neurons (default: %(default)s)")
    p.add_argument("--engine", choices=["compiled", "eager", "fused"], default=d.engine,
                   help="compiled: trace the network once and run whole batches with numpy; "
                        "eager: build a graph of Values for every image; fused: the same with "
                        "one node per neuron, about 4x faster (default: %(default)s)")
    p.add_argument("--seed", type=non_negative_int, default=d.seed,
                   help="seed for the split, the initial weights and the shuffles "
                        "(default: %(default)s)")
    p.add_argument("--size", type=positive_int, default=None,
                   help="downsample images to SIZE×SIZE: 8 or 4 for the shipped digits "
                        "(default 8), 28, 14 or 7 for MNIST (default 14)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="train on at most this many images (for quick runs)")
    p.add_argument("--mnist", metavar="DIR", default=None,
                   help="train on MNIST IDX files in DIR (train-images-idx3-ubyte[.gz] etc.) "
                        "instead of the shipped 8×8 digits")
    p.add_argument("--out", metavar="DIR", default="runs/digits",
                   help="where the model, metrics, checkpoint and plots go "
                        "(default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run whose checkpoint is in --out")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--json", action="store_true",
                   help="print the final metrics as one JSON object on the last line of stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def predict_parser(prog: str = "python -m demos.digits predict") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Show one digit in the terminal and what a trained model makes of it.")
    p.add_argument("--model", metavar="PATH", default="runs/digits/model.json",
                   help="a model.json written by training (default: %(default)s)")
    p.add_argument("--index", type=non_negative_int, default=0,
                   help="which image of the data set (default: %(default)s)")
    p.add_argument("--mnist", metavar="DIR", default=None,
                   help="read the image from the MNIST test files in DIR")
    return p


# --- Text output ------------------------------------------------------------------------------

SHADES = " ░▒▓█"


def draw(image: np.ndarray) -> str:
    """The image in the terminal: two characters per pixel, darker ink for higher values."""
    levels = np.clip(np.round(image * (len(SHADES) - 1)), 0, len(SHADES) - 1).astype(int)
    return "\n".join("".join(SHADES[v] * 2 for v in row) for row in levels)


def confusion_text(counts: np.ndarray) -> str:
    lines = ["true \\ said " + " ".join(f"{p:>4}" for p in range(10))]
    for t in range(10):
        lines.append(f"{t:>11} " + " ".join(f"{c:>4}" if c else "   ." for c in counts[t]))
    return "\n".join(lines)


def report(metrics: dict) -> str:
    per_class = metrics["per_class_accuracy"]
    lines = [
        f"Test accuracy: {metrics['test_accuracy']:.2%} "
        f"({round(metrics['test_accuracy'] * metrics['test_samples'])} of "
        f"{metrics['test_samples']} test images; trained on {metrics['train_samples']} "
        f"for {metrics['epochs']} epoch{'s' * (metrics['epochs'] != 1)} in "
        f"{metrics['train_seconds']:.1f} s)",
        "",
        "Per digit: " + "  ".join(f"{d}: {a:.0%}" for d, a in enumerate(per_class)),
        "",
        "Confusion matrix (rows: the true digit; columns: what the network said)",
        confusion_text(np.array(metrics["confusion_matrix"])),
    ]
    return "\n".join(lines)


# --- Commands ---------------------------------------------------------------------------------

def run_train(argv, prog: str = "python -m demos.digits") -> int:
    parser = train_parser(prog)
    args = parser.parse_args(argv)
    allowed = (28, 14, 7) if args.mnist else (8, 4)
    size = args.size if args.size is not None else allowed[0 if not args.mnist else 1]
    if size not in allowed:
        data_name = "MNIST" if args.mnist else "the digits"
        parser.error(f"argument --size: {size} is not one of "
                     f"{', '.join(map(str, allowed))} for {data_name}")
    config = TrainConfig(epochs=args.epochs, hidden=args.hidden, lr=args.lr,
                         batch_size=args.batch_size, optimizer=args.optimizer, seed=args.seed,
                         size=size, activation=args.activation, limit=args.limit,
                         mnist=args.mnist, engine=args.engine)
    out = Path(args.out)
    # Human-readable progress goes to stderr with --json, so stdout ends with the JSON line.
    log_stream = sys.stderr if args.json else sys.stdout

    def log(message: str) -> None:
        print(message, file=log_stream, flush=True)

    trained = False

    def finish(result: Result) -> None:  # the plots too are written while --out is this run's
        nonlocal trained
        trained = True
        log("")
        log(report(result.metrics))
        if not args.no_plots:
            written = write_plots(result, out)
            files = [out / "model.json", out / "metrics.json", out / "checkpoint.json", *written]
            log("\nWrote " + ", ".join(str(p) for p in files))

    try:
        result = train(config, out, resume=args.resume, progress=not args.quiet, log=log,
                       finish=finish)
    except KeyboardInterrupt:
        if trained:  # stopped while the plots were drawn: nothing to resume
            raise
        log(f"\nInterrupted. The last complete epoch is saved in {out / 'checkpoint.json'}; "
            f"run the same command with --resume to continue.")
        return 130
    except (DataError, ResumeError, ModelFileError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    metrics = result.metrics
    if args.json:
        keys = ["test_accuracy", "test_samples", "train_samples", "epochs", "train_seconds",
                "per_class_accuracy"]
        print(json_text({k: metrics[k] for k in keys} | {"out": str(out)}, "the metrics"))
    return 0


def write_plots(result: Result, out: Path) -> list[Path]:
    test = result.data.test
    return [
        plots.curves(result.metrics["history"], out / "curves.png"),
        plots.confusion(np.array(result.metrics["confusion_matrix"]), out / "confusion.png"),
        plots.misclassified(test.images, test.labels, result.predicted,
                            out / "misclassified.png"),
        plots.first_layer_weights(result.model, test.side, out / "first_layer_weights.png"),
    ]


def normalisation(meta: dict, nin: int, source) -> tuple[int, np.ndarray, np.ndarray]:
    """(side, input_mean, input_std) from a model's metadata, each checked: a damaged file is
    one ModelFileError naming what is wrong, not a traceback."""
    if "input_mean" not in meta:
        raise ModelFileError(f"{source}: no input normalisation in its metadata; use a "
                             "model.json written by python -m demos.digits")
    side = meta.get("side")
    if isinstance(side, bool) or not isinstance(side, int) or side < 1 or side * side != nin:
        raise ModelFileError(f"{source}: metadata 'side' must be a whole number whose square "
                             f"is the model's {nin} inputs, got {side!r:.40}")
    arrays = []
    for key in ("input_mean", "input_std"):
        values = meta.get(key)
        ok = (isinstance(values, list) and len(values) == nin and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values))
        if not ok:
            raise ModelFileError(f"{source}: metadata {key!r} must be a list of {nin} numbers")
        bad = non_finite_numbers(values)
        if bad:
            raise ModelFileError(f"{source}: metadata {key!r}: {not_finite(bad)}")
        arrays.append(np.array(values, dtype=float))
    if not np.all(arrays[1] > 0):
        raise ModelFileError(f"{source}: metadata 'input_std' must be positive")
    return side, arrays[0], arrays[1]


def run_predict(argv, prog: str = "python -m demos.digits predict") -> int:
    args = predict_parser(prog).parse_args(argv)
    if not Path(args.model).exists():
        print(f"error: model file {args.model} does not exist: train one first with python -m "
              f"demos.digits (it writes runs/digits/model.json), or give --model FILE",
              file=sys.stderr)
        return 1
    try:
        model = load(args.model)
        meta = getattr(model, "metadata", {}) or {}
        side, mean, std = normalisation(meta, model.nin, args.model)
        data: Dataset = load_mnist(args.mnist, "test") if args.mnist else load_digits()
    except (FileNotFoundError, ModelFileError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.index >= len(data):
        print(f"error: --index {args.index} is out of range: the data set has {len(data)} "
              f"images (0 to {len(data) - 1})", file=sys.stderr)
        return 2
    if data.side % side:
        print(f"error: {args.model} reads {side}×{side} images, which {data.name}'s "
              f"{data.side}×{data.side} do not divide into", file=sys.stderr)
        return 1
    image = block_average(data.images[args.index:args.index + 1], data.side // side)[0]
    x = (image.reshape(-1) - mean) / std
    probabilities = softmax(model(list(x)))
    if not np.all(np.isfinite(probabilities)):  # finite weights can still overflow a sum
        print(f"error: {args.model}'s outputs for image {args.index} are not finite: its "
              "weights are too large (retrain it with a smaller --lr)", file=sys.stderr)
        return 1
    label = int(data.labels[args.index])
    where = ""
    if not args.mnist and "seed" in meta:
        _, test = stratified_split(data.labels, 0.2, int(meta["seed"]))
        where = (" (a test image: the model never saw it)" if args.index in set(test.tolist())
                 else " (a training image)")
    print(f"Image {args.index} of {data.name}, true label {label}{where}, "
          f"seen as {side}×{side}:\n")
    print(draw(image))
    best = int(np.argmax(probabilities))
    print(f"\nThe network says {best} ({probabilities[best]:.1%} sure)"
          f"{'' if best == label else f', but it is a {label}'}.\n")
    for digit, p in enumerate(probabilities):
        bar = "█" * round(p * 40)
        print(f"  {digit}  {p:6.1%}  {bar}{'  ← true' if digit == label else ''}")
    return 0


def main(argv=None, prog: str = "python -m demos.digits") -> int:
    """Train, or ``predict``; ``prog`` is how the usage lines name the command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "predict":
        return run_predict(argv[1:], f"{prog} predict")
    return run_train(argv, prog)
