"""Train an ``nn.MLP`` built from engine Values on digit images, with checkpoints and resume.

The recipe (defaults): inputs standardised per pixel with the training set's mean and std,
64 inputs → 32 relu → 10 logits, softmax cross-entropy averaged over batches of 32, Adam with
lr 0.02 annealed to 0 by a cosine schedule over 30 epochs. The shuffle of each epoch is drawn
from (seed, epoch), so a run stopped after any epoch and resumed gives the same weights, bit for
bit, as a run that never stopped.
"""

from __future__ import annotations

import fcntl
import math
import os
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

import engine
from demos.digits.data import Dataset, load_digits, load_mnist, stratified_split
from demos.digits.data import downsample as block_average
from engine.system.files import (
    atomic_write,
    json_text,
    non_finite_numbers,
    not_finite,
    strict_loads,
)
from nn import MLP, SGD, Adam, CosineLR, cross_entropy
from nn.compiled import compile_step

CHECKPOINT = "checkpoint.json"
CHECKPOINT_FORMAT = "glassgrad-digits-checkpoint"
LOCK = ".lock"  # held by the run writing into the folder; holds its process id
STD_FLOOR = 0.01  # std + 0.01: pixels that are blank in every training image divide by 0.01


@dataclass
class TrainConfig:
    """Everything that decides the result of a run (and must match to resume one)."""

    epochs: int = 30
    hidden: list[int] = field(default_factory=lambda: [32])
    lr: float = 0.02
    batch_size: int = 32
    optimizer: str = "adam"
    seed: int = 0
    size: int = 8
    activation: str = "relu"
    limit: int | None = None  # use at most this many training images
    mnist: str | None = None  # a directory of MNIST IDX files instead of the shipped digits
    engine: str = "compiled"  # "eager": a graph of Values per image; "fused": the same with
    # one node per neuron (MLP(..., fused=True)); "compiled": one trace run over batches


@dataclass
class Prepared:
    """The data as the network sees it."""

    train: Dataset
    test: Dataset
    x_train: np.ndarray  # standardised rows, one per image
    x_test: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    test_index: np.ndarray  # indices of the test images in the full data set (-1: MNIST)


@dataclass
class Result:
    """What a finished run gives back: the metrics written to metrics.json, and for plotting,
    the trained model, the data it saw and its predictions for the test images."""

    metrics: dict
    model: MLP
    data: Prepared
    predicted: np.ndarray


class ResumeError(ValueError):
    """--resume cannot continue: no checkpoint, or one made with other settings."""


class DivergedError(ValueError):
    """The loss (or a weight) stopped being finite: the run stops, writing nothing of it."""


class RunInUseError(ValueError):
    """Another live run is writing into the same folder."""


def prepare(config: TrainConfig) -> Prepared:
    """Load, downsample, split and standardise the images."""
    if config.mnist:
        train, test = load_mnist(config.mnist, "train"), load_mnist(config.mnist, "test")
        test_index = np.full(len(test), -1)
    else:
        data = load_digits()
        train_index, test_index = stratified_split(data.labels, 0.2, config.seed)
        train, test = data.subset(train_index), data.subset(test_index)
    factor = train.side // config.size
    if factor * config.size != train.side:
        raise ValueError(f"--size {config.size} does not divide the {train.side}×{train.side} "
                         "images")
    train = Dataset(block_average(train.images, factor), train.labels, train.name)
    test = Dataset(block_average(test.images, factor), test.labels, test.name)
    if config.limit is not None and config.limit < len(train):
        keep = np.sort(np.random.default_rng(config.seed).permutation(len(train))[:config.limit])
        train = train.subset(keep)
    mean = train.inputs.mean(axis=0)
    std = train.inputs.std(axis=0) + STD_FLOOR
    return Prepared(train, test, (train.inputs - mean) / std, (test.inputs - mean) / std,
                    mean, std, test_index)


def build(config: TrainConfig, nin: int):
    """Model, optimizer and schedule, initialised from the config's seed."""
    model = MLP(nin, [*config.hidden, 10], activation=config.activation, rng=config.seed,
                fused=config.engine == "fused")
    if config.optimizer == "adam":
        optimizer = Adam(model.parameters(), lr=config.lr)
    else:
        optimizer = SGD(model.parameters(), lr=config.lr, momentum=0.9)
    return model, optimizer, CosineLR(optimizer, total=config.epochs)


def predict(model, x: np.ndarray, step=None) -> np.ndarray:
    """Class scores (logits) for each row of x, without recording a graph (with a compiled
    ``step``, one batched pass)."""
    if step is not None:
        return step.logits(x)
    with engine.no_grad():
        return np.array([[v.data for v in model(list(row))] for row in x])


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((10, 10), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts


def _diverged(config: TrainConfig, out: Path, done: int, where: str, what: str):
    """The one line for a run whose numbers stopped being finite in epoch ``done + 1``."""
    kept = (f"{out / CHECKPOINT} still holds epoch {done} (add --resume to go on from it)"
            if done else "no epoch of this run finished, so it left no checkpoint")
    return DivergedError(
        f"training diverged at epoch {done + 1}, {where}: {what}. The learning rate is likely "
        f"too large: try a smaller --lr than {config.lr:g}. Nothing that is not finite was "
        f"written: {kept}")


def _save_checkpoint(out: Path, config, epoch, model, optimizer, schedule, history) -> None:
    state = {
        "format": CHECKPOINT_FORMAT, "version": 1, "config": asdict(config), "epoch": epoch,
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(), "history": history,
    }
    # The last batch's update can overflow a weight (or Adam's moments) with a finite loss.
    bad = non_finite_numbers(state)
    if bad:
        raise _diverged(config, out, epoch - 1, "after its last batch",
                        not_finite(bad))
    atomic_write(out / CHECKPOINT, json_text(state, "checkpoint"), "checkpoint")


def _load_checkpoint(out: Path, config: TrainConfig) -> dict:
    path = out / CHECKPOINT
    if not path.is_file():
        raise ResumeError(f"--resume: no checkpoint {path} to continue from")
    try:
        state = strict_loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:  # JSON, a key named twice
        raise ResumeError(f"--resume: {path} is corrupt ({e})") from None
    bad = non_finite_numbers(state)
    if bad:
        raise ResumeError(f"--resume: {path} is damaged: {not_finite(bad)}")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ResumeError(f"--resume: {path} is not a digits checkpoint")
    kinds = {"config": dict, "epoch": int, "model": dict, "optimizer": dict, "schedule": dict,
             "history": list}
    bad = [key for key, kind in kinds.items()
           if not isinstance(state.get(key), kind) or isinstance(state.get(key), bool)]
    if bad:
        raise ResumeError(f"--resume: {path} is damaged: {', '.join(bad)} missing or of the "
                          f"wrong kind")
    if not 0 <= state["epoch"] <= config.epochs:
        raise ResumeError(f"--resume: {path} says {state['epoch']} epochs were done, of "
                          f"{config.epochs}")
    saved = state["config"]
    # The learning rate may change (the way on after a run diverged); nothing else may.
    differ = [f"--{k.replace('_', '-')} {saved.get(k)!r} (now {v!r})"
              for k, v in asdict(config).items() if saved.get(k) != v and k != "lr"]
    if differ:
        raise ResumeError(f"--resume: {path} was made with other settings: "
                          f"{', '.join(differ)}; use the same flags or another --out")
    return state


def _remove_leftovers(out: Path) -> None:
    """Temporary files a killed run left behind mid-write (atomic_write's ``.NAME.*.tmp``)."""
    for name in (CHECKPOINT, "model.json", "metrics.json"):
        for leftover in out.glob(f".{name}.*.tmp"):
            leftover.unlink(missing_ok=True)


@contextmanager
def _lock(out: Path):
    """Hold ``out/.lock`` while a run writes into ``out``: a second run into the same folder is
    refused (it would delete the first's half-written checkpoint as a leftover). An flock, so
    the system releases it however the process ends (Ctrl-C, SIGKILL) and a lock file left by
    a dead process holds nothing. The file keeps the holder's process id for the message, and
    stays: removing it would race with a run that has just opened it."""
    # O_NOFOLLOW: a symbolic link planted as .lock would have us truncate what it points to.
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 40).decode("ascii", "replace").strip()
            who = f"process {holder}" if holder.isdigit() else "another process"
            raise RunInUseError(f"{out} is in use by {who}; use another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # nobody's: a run killed before this leaves its pid, unlocked
    finally:
        os.close(fd)  # releases the flock


def train(config: TrainConfig, out: Path | str, resume: bool = False, progress: bool = True,
          on_epoch_end=None, log=print, finish=None) -> Result:
    """Train, writing a checkpoint after every epoch; returns the final :class:`Result`.

    ``on_epoch_end(epoch)`` is called after each epoch's checkpoint is on disk (tests use it to
    simulate an interruption); ``finish(result)`` at the end, while ``out`` is still this
    run's (the command writes its plots there so). Outputs in ``out``: ``checkpoint.json``,
    ``model.json`` (the trained model, with the input normalisation in its metadata) and
    ``metrics.json``.
    ``RunInUseError`` if another run is writing into ``out``; ``DivergedError`` if the loss
    stops being finite (the last finite checkpoint is kept, no model is written).
    """
    out = Path(out)
    data = prepare(config)  # first: bad data fails before anything is written
    out.mkdir(parents=True, exist_ok=True)
    with _lock(out):
        _remove_leftovers(out)  # under the lock: no live run's temporary files are removed
        model, optimizer, schedule = build(config, data.x_train.shape[1])
        history, start = [], 0
        if resume:
            history, start = _resume(out, config, model, optimizer, schedule, log)
        elif (out / CHECKPOINT).exists():
            log(f"Starting afresh: {out / CHECKPOINT} will be replaced (--resume continues it).")
        # Compiled: the model and loss are traced once and run over whole batches with numpy;
        # during an epoch the parameters live in one numpy vector (step.training), and they
        # are written back into the model's Values at its end, before the checkpoint.
        step = compile_step(model) if config.engine == "compiled" else None
        for epoch in range(start, config.epochs):
            started = time.perf_counter()
            total_loss, correct = _epoch(config, out, data, model, optimizer, step, epoch,
                                         progress)
            schedule.step()
            history.append(_epoch_row(data, model, step, epoch, total_loss, correct, started))
            _log_epoch(log, config, history[-1])
            _save_checkpoint(out, config, epoch + 1, model, optimizer, schedule, history)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1)
        result = _finish(config, out, data, model, history, step)
        if finish is not None:
            finish(result)
        return result


def _epoch_row(data, model, step, epoch: int, total_loss: float, correct: int,
               started: float) -> dict:
    """One epoch's line of the history: its number, mean loss, train and test accuracy and
    seconds since ``started``."""
    n = len(data.train)
    test_accuracy = float(np.mean(predict(model, data.x_test, step).argmax(1)
                                  == data.test.labels))
    return {"epoch": epoch + 1, "loss": total_loss / n, "train_accuracy": correct / n,
            "test_accuracy": test_accuracy, "seconds": time.perf_counter() - started}


def _log_epoch(log, config: TrainConfig, row: dict) -> None:
    """Say one epoch's line of the history."""
    mean_loss = row["loss"]
    # A loss of 1e232 (a run about to diverge) in 3 digits, not 233.
    loss = f"{mean_loss:.4f}" if mean_loss < 1e6 else f"{mean_loss:.3g}"
    log(f"epoch {row['epoch']:>3}/{config.epochs}  loss {loss}  "
        f"train {row['train_accuracy']:.2%}  test {row['test_accuracy']:.2%}  "
        f"({row['seconds']:.1f} s)")


def _resume(out: Path, config: TrainConfig, model, optimizer, schedule, log) -> tuple:
    """(history, epochs done) from the checkpoint in ``out``, loaded into the three."""
    state = _load_checkpoint(out, config)
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
    except (ValueError, TypeError) as e:
        raise ResumeError(f"--resume: {out / CHECKPOINT} is damaged: {e}") from None
    start = state["epoch"]
    done = " (the run is finished: writing its results)" if start == config.epochs else ""
    log(f"Resuming from {out / CHECKPOINT}: {start} of {config.epochs} "
        f"epoch{'s' * (config.epochs != 1)} done{done}.")
    began = state["config"].get("lr")
    if began != config.lr:  # the schedule goes on from where it was, scaled to the new start
        schedule.base_lr = config.lr
        optimizer.lr = schedule.lr_at(start) if start else config.lr
        log(f"The learning rate now starts from --lr {config.lr:g} (the run began with "
            f"{began:g}), so the rest of the run is not the one it would have been.")
    return state["history"], start


def _epoch(config: TrainConfig, out: Path, data: Prepared, model, optimizer, step, epoch: int,
           progress: bool) -> tuple[float, int]:
    """One pass over the shuffled training images: (summed loss, images read right).
    ``DivergedError`` as soon as a batch's loss is not finite."""
    n, batch = len(data.train), config.batch_size
    order = np.random.default_rng([config.seed, epoch]).permutation(n)
    seen = correct = 0
    total_loss = 0.0
    with (step.training(optimizer) if step is not None else nullcontext() as train_step,
          tqdm(range(0, n, batch), desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch",
               disable=None if progress else True, leave=False) as bar):
        for start_row in bar:
            rows = order[start_row:start_row + batch]
            if train_step is not None:
                labels = data.train.labels[rows]
                batch_loss = train_step(data.x_train[rows], labels)
                correct += int(np.sum(train_step.last_logits.argmax(axis=1) == labels))
            else:
                batch_loss, right = _eager_step(model, optimizer, data, rows)
                correct += right
            if not math.isfinite(batch_loss):
                raise _diverged(config, out, epoch, f"batch {start_row // batch + 1} of "
                                f"{len(bar)}", f"the loss is {batch_loss}")
            seen += len(rows)
            total_loss += batch_loss * len(rows)
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
    return total_loss, correct


def _eager_step(model, optimizer, data: Prepared, rows) -> tuple[float, int]:
    """One optimizer step on a graph of Values per image: (mean loss, images read right)."""
    optimizer.zero_grad()
    losses, correct = [], 0
    for i in rows:
        logits = model(list(data.x_train[i]))
        label = int(data.train.labels[i])
        losses.append(cross_entropy(logits, label))
        correct += int(np.argmax([v.data for v in logits]) == label)
    loss = engine.sum(losses) / len(rows)
    loss.backward()
    optimizer.step()
    return loss.data, correct


def _finish(config, out: Path, data: Prepared, model, history, step=None) -> Result:
    predicted = predict(model, data.x_test, step).argmax(1)
    counts = confusion_matrix(data.test.labels, predicted)
    per_class = counts.diagonal() / np.maximum(counts.sum(axis=1), 1)
    metrics = {
        "test_accuracy": float(np.mean(predicted == data.test.labels)),
        "test_samples": len(data.test), "train_samples": len(data.train),
        "epochs": config.epochs, "train_seconds": sum(h["seconds"] for h in history),
        "per_class_accuracy": [float(a) for a in per_class],
        "confusion_matrix": counts.tolist(), "history": history, "config": asdict(config),
    }
    metadata = {
        "dataset": data.train.name, "side": config.size, "seed": config.seed,
        "input_mean": data.mean.tolist(), "input_std": data.std.tolist(),
        "normalisation": "x = (pixel − input_mean) / input_std, pixels scaled to [0, 1]",
    }
    model.save(out / "model.json", metadata=metadata)
    atomic_write(out / "metrics.json", json_text(metrics, "metrics", indent=1), "metrics")
    return Result(metrics, model, data, predicted)
