"""``python -m demos.studio [--model FILE] [--port N] [--open]``: the live studio.

A local web app, on 127.0.0.1 only: draw a digit, watch the network read it, see the four
steps of backprop for the label you pick, and teach it your handwriting. Without ``--model``
it first trains the explorer's network, MLP(64, [16, 16, 10]), on the digits (about a
second). It needs Starlette and uvicorn: ``pip install "glassgrad[studio]"``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
import webbrowser
from pathlib import Path

import numpy as np

from demos.digits.data import load_digits
from demos.digits.train import TrainConfig, train
from demos.studio import teaching
from nn.serialize import ModelFileError, load

INSTALL = 'pip install "glassgrad[studio]" (in a clone of the repository: pip install -e ' \
    '".[studio]")'
DIGITS = ("python -m demos.digits", "glassgrad digits")  # by how the studio was started
DEFAULT_RUN = Path("runs/studio")
STOPPED = 130  # the exit code of a command Ctrl-C stopped, as a shell reports it


def port(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 0 to 65535, got "
                                         f"{text!r}")
    return number


def parser(prog: str = "python -m demos.studio") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[1].replace("``", ""))
    p.set_defaults(prog=prog)
    digits = DIGITS[prog.startswith("glassgrad")]
    p.add_argument("--model", help=f"a model.json written by {digits} with --hidden 16,16 "
                   "(default: train one first, about a second)")
    p.add_argument("--port", type=port, default=0, help="the port (default: a free one)")
    p.add_argument("--out", help="the run directory, where 'save' writes (default: the "
                   f"model's directory, or {DEFAULT_RUN}/)")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    return p


def samples() -> dict[int, list[int]]:
    """A sample image of each digit (the first of its kind in the digits), as 64 counts."""
    data = load_digits()
    first = {int(d): int(np.flatnonzero(data.labels == d)[0]) for d in range(10)}
    return {d: (data.images[i].ravel() * 16).round().astype(int).tolist()
            for d, i in first.items()}


def model_and_normalisation(args, say) -> tuple:
    """``(model, normalisation, run directory)``: the model to teach and how its inputs were
    standardised, the file's or a freshly trained one's."""
    path = args.model
    if path is None:
        out = Path(args.out) if args.out else DEFAULT_RUN
        say(f"No --model given: training MLP(64, [16, 16, 10]) on the digits first, into "
            f"{out}/ …")
        result = train(TrainConfig(hidden=[16, 16]), out, progress=False, log=lambda _: None)
        say(f"trained: {result.metrics['test_accuracy']:.1%} of the test digits right, in "
            f"{result.metrics['train_seconds']:.1f} s")
        path = out / "model.json"  # read back as any --model is, metadata and all
    else:
        out = Path(args.out) if args.out else Path(path).parent
    from demos.digits.cli import normalisation

    model = load(path)
    _, mean, std = normalisation(getattr(model, "metadata", {}) or {}, model.nin, path)
    teaching.check_model(model, DIGITS[args.prog.startswith("glassgrad")])
    return model, teaching.Normalisation(mean, std), out


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def main(argv=None, prog: str = "python -m demos.studio") -> int:
    args = parser(prog).parse_args(argv)
    missing = [name for name in ("starlette", "uvicorn") if not _importable(name)]
    if missing:
        print(f"error: the studio needs Starlette and uvicorn ({' and '.join(missing)} "
              f"{'is' if len(missing) == 1 else 'are'} missing): {INSTALL}", file=sys.stderr)
        return 1
    try:
        code = serve(args)
    except KeyboardInterrupt:
        # Ctrl-C while it trains, or while it serves (uvicorn closes the server, then passes
        # the signal on): one line, as every command says it.
        code = STOPPED
    if code == STOPPED:
        print("\nstudio stopped", file=sys.stderr, flush=True)
    return code


def serve(args) -> int:
    """Listen on the port (first: a busy port is said at once, not after training), make the
    model, and serve it until Ctrl-C."""
    import uvicorn

    from demos.studio.app import Studio, create_app, listening_socket

    try:
        sock = listening_socket(args.port)
    except OSError as e:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {e.strerror}", file=sys.stderr)
        return 1
    with sock:
        try:
            model, norm, run_dir = model_and_normalisation(args, print)
            # The learner may also start from the run's first weights, or after a few of its
            # batches; Studio refuses a model it cannot draw.
            studio = Studio(model, norm, run_dir, samples(), teaching.starting_points(model, norm))
        except (FileNotFoundError, ModelFileError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        port = sock.getsockname()[1]
        app = create_app(studio, port)
        url = f"http://127.0.0.1:{port}/"
        print(f"glassgrad studio: {url}  (saves go to {run_dir}/; Ctrl-C stops it)",
              flush=True)
        if args.open:
            opener = threading.Timer(0.5, webbrowser.open, [url])
            opener.daemon = True  # Ctrl-C before it fires need not wait for it
            opener.start()
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    # The server stops only on a signal, and returns here when the process ignores it (as
    # one started in the background by a script ignores Ctrl-C): stopped all the same.
    return STOPPED
