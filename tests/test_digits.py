"""The digits demo: data integrity, downsampling, IDX files, split, training, resume, CLI."""

import gzip
import hashlib
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from demos.digits import cli
from demos.digits import train as training
from demos.digits.data import (
    DIGITS_FILE,
    DIGITS_SHA256,
    DataError,
    downsample,
    load_digits,
    load_mnist,
    read_idx,
    stratified_split,
)
from demos.digits.train import DivergedError, RunInUseError, TrainConfig, train
from nn import MLP, ModelFileError, load

ROOT = Path(__file__).resolve().parents[1]

# A tiny configuration: trains in about a second.
TINY = dict(epochs=3, hidden=[8], size=4, limit=200, lr=0.05)


# --- Data ---------------------------------------------------------------------------------------

def test_shipped_digits_are_intact():
    data = load_digits()
    assert data.images.shape == (1797, 8, 8) and data.labels.shape == (1797,)
    assert hashlib.sha256(DIGITS_FILE.read_bytes()).hexdigest() == DIGITS_SHA256
    assert np.bincount(data.labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174,
                                                 180]
    # Pixel values were counts 0..16, scaled to [0, 1].
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    assert np.array_equal(data.images * 16, np.round(data.images * 16))
    assert data.labels[0] == 0 and data.images[0, 0].tolist() == [0, 0, 5 / 16, 13 / 16,
                                                                  9 / 16, 1 / 16, 0, 0]
    licence = (DIGITS_FILE.parent / "README.md").read_text()
    assert "CC BY 4.0" in licence and "Alpaydin" in licence and "Kaynak" in licence


def test_missing_and_corrupt_data_files(tmp_path):
    with pytest.raises(DataError, match="is missing: it ships with glassgrad"):
        load_digits(tmp_path / "digits.csv.gz")
    damaged = bytearray(DIGITS_FILE.read_bytes())
    damaged[1000] ^= 0xFF
    (tmp_path / "digits.csv.gz").write_bytes(bytes(damaged))
    with pytest.raises(DataError, match="is corrupt: its SHA-256 is [0-9a-f]{64}, expected"):
        load_digits(tmp_path / "digits.csv.gz")


def test_downsample_is_exact_block_averaging():
    images = np.arange(2 * 4 * 4, dtype=float).reshape(2, 4, 4)
    small = downsample(images, 2)
    assert small.shape == (2, 2, 2)
    assert small[0].tolist() == [[(0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4],
                                 [(8 + 9 + 12 + 13) / 4, (10 + 11 + 14 + 15) / 4]]
    digits = load_digits().images
    four = downsample(digits, 2)
    assert four.shape == (1797, 4, 4)
    assert np.allclose(four.mean(axis=(1, 2)), digits.mean(axis=(1, 2)), rtol=0, atol=1e-15)
    assert four[5, 1, 2] == digits[5, 2:4, 4:6].mean()
    assert np.array_equal(downsample(digits, 1), digits)
    assert downsample(np.ones((1, 28, 28)), 4).shape == (1, 7, 7)


@pytest.mark.parametrize("factor, message", [
    (3, "does not divide the image size 8×8"), (0, "positive integer"), (1.5, "positive integer"),
])
def test_downsample_errors(factor, message):
    with pytest.raises(ValueError, match=message):
        downsample(np.zeros((1, 8, 8)), factor)


def write_idx(path: Path, array: np.ndarray, compress=False, magic=None, cut=0):
    header = bytes([0, 0, 0x08, array.ndim]) if magic is None else magic
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    raw = raw[:len(raw) - cut]
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def test_mnist_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 28, 28))
    labels = np.array([3, 1, 4, 1, 5, 9])
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, compress=True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    data = load_mnist(tmp_path, "test")
    assert data.images.shape == (6, 28, 28) and data.labels.tolist() == labels.tolist()
    assert np.array_equal(data.images * 255, images)
    assert downsample(data.images, 2).shape == (6, 14, 14)


@pytest.mark.parametrize("kwargs, message", [
    (dict(cut=5), "truncated: dimensions \\[4, 28, 28\\] need 3136 bytes of data, found 3131"),
    (dict(magic=b"\x12\x34\x08\x03"), "not an IDX file of unsigned bytes \\(magic 12340803"),
    (dict(magic=b"\x00\x00\x0d\x03"), "not an IDX file"),
])
def test_bad_idx_files(tmp_path, kwargs, message):
    path = write_idx(tmp_path / "bad-idx3-ubyte", np.zeros((4, 28, 28)), **kwargs)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_mnist_directory_errors(tmp_path):
    with pytest.raises(DataError, match="no train-images-idx3-ubyte or train-images"):
        load_mnist(tmp_path, "train")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2))
    with pytest.raises(DataError, match="3 train images but 2 labels"):
        load_mnist(tmp_path, "train")
    with pytest.raises(DataError, match="is not a directory"):
        load_mnist(tmp_path / "nope")
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x03")[:-6])
    with pytest.raises(DataError, match="gzip data is truncated or corrupt"):
        read_idx(tmp_path / "t10k-images-idx3-ubyte.gz")


def test_split_is_stratified_and_deterministic():
    labels = load_digits().labels
    train_a, test_a = stratified_split(labels, 0.2, seed=0)
    train_b, test_b = stratified_split(labels, 0.2, seed=0)
    assert np.array_equal(test_a, test_b) and np.array_equal(train_a, train_b)
    assert len(test_a) == 360 and len(train_a) == 1437
    assert not set(train_a) & set(test_a) and len(set(train_a) | set(test_a)) == 1797
    share = np.bincount(labels[test_a]) / np.bincount(labels)
    assert np.all(np.abs(share - 0.2) < 1 / 170)  # every class within one image of 20%
    _, test_c = stratified_split(labels, 0.2, seed=1)
    assert not np.array_equal(test_a, test_c)


# --- Training -----------------------------------------------------------------------------------

def test_short_training_run_beats_80_percent(tmp_path):
    metrics = train(TrainConfig(epochs=4, hidden=[16], limit=500, lr=0.02), tmp_path,
                    progress=False, log=lambda m: None).metrics
    assert metrics["test_accuracy"] > 0.80
    assert metrics["test_samples"] == 360 and metrics["train_samples"] == 500
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test_accuracy"] == metrics["test_accuracy"]
    assert len(saved["history"]) == 4 and np.array(saved["confusion_matrix"]).sum() == 360
    model = MLP.load(tmp_path / "model.json")
    assert model.nin == 64 and len(model.metadata["input_mean"]) == 64


def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path):
    config = TrainConfig(**TINY)
    whole = train(config, tmp_path / "whole", progress=False, log=lambda m: None).metrics

    def interrupt(epoch):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "split", progress=False, on_epoch_end=interrupt,
              log=lambda m: None)
    checkpoint = json.loads((tmp_path / "split" / "checkpoint.json").read_text())
    assert checkpoint["epoch"] == 1
    resumed = train(config, tmp_path / "split", resume=True, progress=False,
                    log=lambda m: None).metrics

    def weights(run):
        return [p.data.hex() for p in MLP.load(tmp_path / run / "model.json").parameters()]

    assert weights("whole") == weights("split")
    assert resumed["test_accuracy"] == whole["test_accuracy"]
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in whole["history"]]


def test_resume_errors(tmp_path):
    with pytest.raises(ValueError, match="no checkpoint .* to continue from"):
        train(TrainConfig(**TINY), tmp_path, resume=True, progress=False, log=lambda m: None)
    train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None)
    other = TrainConfig(**{**TINY, "seed": 7})
    with pytest.raises(ValueError, match=r"other settings: --seed 0 \(now 7\)"):
        train(other, tmp_path, resume=True, progress=False, log=lambda m: None)


# --- Command line -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, flag", [
    (["--epochs", "-3"], "--epochs"), (["--hidden", "abc"], "--hidden"),
    (["--optimizer", "rmsprop"], "--optimizer"), (["--lr", "0"], "--lr"),
    (["--size", "5"], "--size"), (["--batch-size", "x"], "--batch-size"),
])
def test_bad_flags_are_argparse_errors(argv, flag, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and "Traceback" not in err


def test_bad_flag_from_a_real_shell():
    result = subprocess.run([sys.executable, "-m", "demos.digits", "--epochs", "-3"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "argument --epochs: expected a positive integer, got -3" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for flag in ["--epochs", "--hidden", "--lr", "--batch-size", "--optimizer", "--seed",
                 "--size", "--out", "--resume", "--json", "--mnist", "predict"]:
        assert flag in text


def test_json_is_the_last_line_and_plots_are_written(tmp_path, capsys):
    argv = ["--epochs", "2", "--hidden", "8", "--size", "4", "--limit", "150", "--quiet",
            "--out", str(tmp_path), "--json"]
    assert cli.main(argv) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    for key in ["test_accuracy", "test_samples", "train_samples", "epochs", "train_seconds"]:
        assert key in result
    assert result["epochs"] == 2 and result["train_samples"] == 150
    for name in ["curves", "confusion", "misclassified", "first_layer_weights"]:
        png = (tmp_path / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_ctrl_c_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    import demos.digits.cli as module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "train", interrupted)
    assert cli.main(["--out", str(tmp_path), "--quiet"]) == 130
    assert "--resume to continue" in capsys.readouterr().out


def test_predict(tmp_path, capsys):
    train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None)
    assert cli.main(["predict", "--model", str(tmp_path / "model.json"), "--index", "42"]) == 0
    out = capsys.readouterr().out
    assert "Image 42 of UCI digits 8×8, true label" in out and "seen as 4×4" in out
    shares = [float(line.split()[1].rstrip("%")) for line in out.splitlines()
              if line.startswith("  ") and line.split()[0].isdigit()]
    assert len(shares) == 10 and abs(sum(shares) - 100) < 0.6
    assert any(ch in out for ch in "░▒▓█")


def test_predict_errors(tmp_path, capsys):
    assert cli.main(["predict", "--model", str(tmp_path / "none.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None)
    assert cli.main(["predict", "--model", str(tmp_path / "model.json"),
                     "--index", "5000"]) == 2
    assert "--index 5000 is out of range" in capsys.readouterr().err
    MLP(64, [10]).save(tmp_path / "plain.json")
    assert cli.main(["predict", "--model", str(tmp_path / "plain.json")]) == 1
    assert "no input normalisation" in capsys.readouterr().err


def test_a_finished_run_resumes_at_once_and_leftovers_are_cleaned(tmp_path):
    config = TrainConfig(**TINY)  # the cosine schedule ends at lr = 0
    train(config, tmp_path, progress=False, log=lambda m: None)
    before = (tmp_path / "model.json").read_bytes()
    (tmp_path / "model.json").unlink()
    (tmp_path / ".checkpoint.json.abc123.tmp").write_text("half a checkpoint")  # a SIGKILL
    said = []
    train(config, tmp_path, resume=True, progress=False, log=said.append)
    assert "the run is finished: writing its results" in said[0]
    assert (tmp_path / "model.json").read_bytes() == before
    assert not list(tmp_path.glob(".checkpoint.json.*.tmp"))


@pytest.mark.parametrize("damage, message", [
    (lambda s: s.pop("config"), "config missing or of the wrong kind"),
    (lambda s: s.pop("epoch"), "epoch missing or of the wrong kind"),
    (lambda s: s.update(config=[1, 2]), "config missing or of the wrong kind"),
    (lambda s: s.update(epoch=99), "says 99 epochs were done"),
    (lambda s: s["optimizer"].update(lr="fast"), "is damaged: lr must be a number"),
])
def test_a_damaged_checkpoint_is_one_clear_line(tmp_path, capsys, damage, message):
    config = TrainConfig(**TINY)
    train(config, tmp_path, progress=False, log=lambda m: None)
    path = tmp_path / "checkpoint.json"
    state = json.loads(path.read_text())
    damage(state)
    path.write_text(json.dumps(state))
    with pytest.raises(ValueError, match=message):
        train(config, tmp_path, resume=True, progress=False, log=lambda m: None)


@pytest.mark.parametrize("damage, message", [
    (lambda m: m.update(input_mean=[0.0] * 3), "'input_mean' must be a list of 16 numbers"),
    (lambda m: m.update(side=0), "'side' must be a whole number whose square"),
    (lambda m: m.update(side="four"), "'side' must be a whole number whose square"),
    (lambda m: m.pop("input_std"), "'input_std' must be a list of 16 numbers"),
    (lambda m: m.update(input_std="wide"), "'input_std' must be a list of 16 numbers"),
])
def test_predict_with_damaged_metadata_is_one_clear_line(tmp_path, capsys, damage, message):
    train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None)
    model = MLP.load(tmp_path / "model.json")
    damage(model.metadata)
    model.save(tmp_path / "damaged.json")
    assert cli.main(["predict", "--model", str(tmp_path / "damaged.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_mnist_sized_images_train_at_784_inputs(tmp_path, capsys):
    """--mnist DIR with 28×28 IDX files (the shipped digits blown up, nearest neighbour):
    784 inputs, trained by the compiled step, and the training time reported."""
    digits = load_digits()
    pick = np.arange(28) * 8 // 28
    big = np.round(digits.images[:, pick][:, :, pick] * 255)
    write_idx(tmp_path / "train-images-idx3-ubyte", big[:1400])
    write_idx(tmp_path / "train-labels-idx1-ubyte", digits.labels[:1400])
    write_idx(tmp_path / "t10k-images-idx3-ubyte", big[1400:])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", digits.labels[1400:])
    out = tmp_path / "run"
    assert cli.main(["--mnist", str(tmp_path), "--size", "28", "--epochs", "3", "--no-plots",
                     "--out", str(out), "--json"]) == 0
    printed = capsys.readouterr()
    assert "trained on 1400 for 3 epochs in" in printed.err  # the report, beside the JSON
    metrics = json.loads(printed.out.strip().splitlines()[-1])
    assert metrics["train_samples"] == 1400 and metrics["test_samples"] == 397
    assert metrics["test_accuracy"] > 0.85 and 0 < metrics["train_seconds"] < 60
    assert load(out / "model.json").layers[0].nin == 784


# --- Runs that diverge, runs that share a folder, models that cannot be used -------------------

def strict(path: Path):
    """The file read as strict JSON: NaN and Infinity, which are not JSON, are errors."""
    def refuse(constant):
        raise ValueError(f"{path.name} holds {constant}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def digits(*args, cwd=ROOT):
    """``python -m demos.digits ARGS`` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "demos.digits", *args], capture_output=True,
                          text=True, cwd=cwd)


@pytest.mark.parametrize("engine", ["compiled", "eager"])
def test_a_diverging_run_stops_with_one_line_and_writes_nothing(tmp_path, engine):
    """One line and exit status 1: no normal report, no NaN model, no metrics.json."""
    out = tmp_path / "D"
    result = digits("--lr", "1e300", "--hidden", "16,16", "--epochs", "2", "--out", str(out),
                    "--quiet", "--engine", engine)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == (
        "error: training diverged at epoch 1, batch 2 of 45: the loss is nan. The learning rate "
        "is likely too large: try a smaller --lr than 1e+300. Nothing that is not finite was "
        "written: no epoch of this run finished, so it left no checkpoint\n")
    assert "Test accuracy" not in result.stdout
    assert [p.name for p in out.iterdir()] == [".lock"]


def test_divergence_keeps_the_last_finite_checkpoint_which_resume_reads(tmp_path):
    config = TrainConfig(epochs=4, hidden=[8], size=4, limit=200, lr=1e20, optimizer="sgd")
    with pytest.raises(DivergedError, match=r"^training diverged at epoch 2, batch 2 of 7: the "
                       r"loss is nan\. .*--lr than 1e\+20\. .* still holds epoch 1 \(add "
                       r"--resume to go on from it\)$"):
        train(config, tmp_path, progress=False, log=lambda m: None)
    checkpoint = tmp_path / "checkpoint.json"
    before = checkpoint.read_bytes()
    assert strict(checkpoint)["epoch"] == 1
    assert not (tmp_path / "model.json").exists() and not (tmp_path / "metrics.json").exists()
    said = []
    with pytest.raises(DivergedError, match="at epoch 2, batch 2 of 7"):  # the same batch again
        train(config, tmp_path, resume=True, progress=False, log=said.append)
    assert said[0] == f"Resuming from {checkpoint}: 1 of 4 epochs done."
    assert checkpoint.read_bytes() == before
    # As the line advises: a smaller --lr goes on from the kept epoch, to the end.
    said.clear()
    result = train(TrainConfig(**{**asdict(config), "lr": 0.05}), tmp_path, resume=True,
                   progress=False, log=said.append)
    assert said[:2] == [f"Resuming from {checkpoint}: 1 of 4 epochs done.",
                        "The learning rate now starts from --lr 0.05 (the run began with "
                        "1e+20), so the rest of the run is not the one it would have been."]
    assert [h["epoch"] for h in result.metrics["history"]] == [1, 2, 3, 4]
    assert all(math.isfinite(p.data) for p in result.model.parameters())
    assert strict(checkpoint)["config"]["lr"] == 0.05


def test_weights_that_overflow_in_the_last_batch_are_no_checkpoint(tmp_path):
    config = TrainConfig(**TINY)
    model, optimizer, schedule = training.build(config, 16)
    model.layers[1].neurons[4].w[2].data = float("inf")
    with pytest.raises(DivergedError, match=r"^training diverged at epoch 3, after its last "
                       r"batch: 1 number is not finite \(NaN or ±Infinity\): "
                       r"model\.layers\.1\.neurons\.4\.w\.2\."):
        training._save_checkpoint(tmp_path, config, 3, model, optimizer, schedule, [])
    assert list(tmp_path.iterdir()) == []


def test_every_json_file_a_run_writes_is_strict(tmp_path):
    train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None)
    for name in ("model.json", "metrics.json", "checkpoint.json"):
        strict(tmp_path / name)


def test_a_checkpoint_holding_nan_or_a_key_twice_is_not_resumed(tmp_path):
    config = TrainConfig(**TINY)
    train(config, tmp_path, progress=False, log=lambda m: None)
    path = tmp_path / "checkpoint.json"
    text = path.read_text()
    path.write_text(re.sub(r'("history": \[\{"epoch": 1, "loss": )[^,]+', r"\1NaN", text))
    with pytest.raises(ValueError, match=r"is damaged: 1 number is not finite \(NaN or "
                                         r"±Infinity\): history\.0\.loss$"):
        train(config, tmp_path, resume=True, progress=False, log=lambda m: None)
    path.write_text(text.replace('"epoch": 3', '"epoch": 3, "epoch": 1', 1))
    with pytest.raises(ValueError, match=r'is corrupt \(the key "epoch" appears twice\)'):
        train(config, tmp_path, resume=True, progress=False, log=lambda m: None)


def test_a_second_run_into_the_same_folder_is_refused(tmp_path):
    """Two real runs: the second must not delete the first's checkpoint temp file mid-write."""
    out = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-m", "demos.digits", "--epochs", "100000", "--size", "4", "--hidden",
         "8", "--out", str(out), "--quiet", "--no-plots"], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert first.stdout.readline().startswith("epoch   1/100000")  # training, lock held
        second = digits("--epochs", "1", "--out", str(out), "--quiet", "--no-plots")
        assert second.returncode == 1
        assert second.stderr == (f"error: {out} is in use by process {first.pid}; use another "
                                 "--out\n")
        assert first.stdout.readline().startswith("epoch   2/100000")  # undisturbed
        assert strict(out / "checkpoint.json")["epoch"] >= 1
    finally:
        first.kill()
        first.communicate()
    # Killed (SIGKILL: no clean-up ran), it holds the folder no longer.
    third = digits("--epochs", "1", "--size", "4", "--out", str(out), "--quiet", "--no-plots")
    assert third.returncode == 0, third.stderr
    assert "Starting afresh" in third.stdout


def test_the_folder_stays_the_runs_while_its_plots_are_written(tmp_path):
    # The command writes its plots in finish(): a second run may not start there meanwhile.
    refused = []

    def finish(result):
        with pytest.raises(RunInUseError) as error:
            train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None)
        refused.append(str(error.value))

    train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None, finish=finish)
    assert refused == [f"{tmp_path} is in use by process {os.getpid()}; use another --out"]


def test_a_link_planted_as_the_lock_is_not_followed(tmp_path):
    victim = tmp_path / "notes.txt"
    victim.write_text("a learner's notes")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".lock").symlink_to(victim)
    result = digits("--epochs", "1", "--size", "4", "--out", str(tmp_path / "run"), "--quiet")
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert victim.read_text() == "a learner's notes"


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    (tmp_path / ".lock").write_text(dead.stdout)
    train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None)
    assert (tmp_path / "model.json").is_file()
    assert (tmp_path / ".lock").read_text() == ""  # released: nobody's


def test_a_held_lock_refuses_and_an_interrupted_run_releases_it(tmp_path):
    with training._lock(tmp_path):
        with pytest.raises(RunInUseError, match=rf"^{re.escape(str(tmp_path))} is in use by "
                                                rf"process {os.getpid()}; use another --out$"):
            train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None)

    def interrupt(epoch):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(**TINY), tmp_path, progress=False, on_epoch_end=interrupt,
              log=lambda m: None)
    train(TrainConfig(**TINY), tmp_path, resume=True, progress=False, log=lambda m: None)


@pytest.fixture
def trained(tmp_path) -> Path:
    train(TrainConfig(**TINY), tmp_path, progress=False, log=lambda m: None)
    return tmp_path / "model.json"


def predict_error(path, capsys) -> str:
    """What ``predict --model path`` says, checked to be one line and exit 1."""
    assert cli.main(["predict", "--model", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_predict_refuses_a_model_with_non_finite_weights(trained, capsys):
    """A diverged run's model (written by hand here) is one line, not a traceback from
    round(p * 40)."""
    text = re.sub(r'("layers\.0\.neurons\.\d+\.b": )[^,\n]+', r"\1NaN", trained.read_text())
    trained.write_text(text)
    err = predict_error(trained, capsys)
    assert err.startswith(f"error: {trained}: 8 weights are not finite (NaN or ±Infinity): "
                          "layers.0.neurons.0.b, layers.0.neurons.1.b, layers.0.neurons.2.b "
                          "and 5 more; its training likely diverged")


def test_predict_refuses_non_finite_normalisation(trained, capsys):
    doc = json.loads(trained.read_text())
    doc["metadata"]["input_std"][3] = float("nan")
    trained.write_text(json.dumps(doc))  # Python writes NaN unless told not to
    assert "1 number is not finite (NaN or ±Infinity): metadata.input_std.3" in predict_error(
        trained, capsys)
    meta = {"side": 4, "input_mean": [0.0] * 16, "input_std": [1.0] * 15 + [float("inf")]}
    with pytest.raises(ModelFileError, match=r"metadata 'input_std': 1 number is not finite "
                                             r"\(NaN or ±Infinity\): 15$"):
        cli.normalisation(meta, 16, "m.json")


def test_predict_with_outputs_that_overflow_is_one_line(trained, capsys):
    model = MLP.load(trained)
    for n in model.layers[0].neurons:
        n.b.data = 1e200  # finite weights, but 1e200 · 1e200 is not
    for n in model.layers[1].neurons:
        n.w[0].data = 1e200
    model.save(trained)
    assert "outputs for image 0 are not finite" in predict_error(trained, capsys)


def test_predict_and_load_say_a_directory_is_one(trained, capsys):
    err = predict_error(trained.parent, capsys)
    assert err == (f"error: {trained.parent}: is a directory, not a model file; did you mean "
                   f"{trained}?\n")


@pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ("starlette", "uvicorn")),
                    reason="the studio needs the [studio] extra")
def test_the_studio_refuses_a_diverged_model_with_one_line(trained):
    """Refused in one line, not served with every page and reading a 500 ("cannot convert
    float NaN")."""
    trained.write_text(re.sub(r'("layers\.1\.neurons\.3\.b": )[^,\n]+', r"\1-Infinity",
                              trained.read_text()))
    for model, says in ((trained, "1 weight is not finite (NaN or ±Infinity): "
                                  "layers.1.neurons.3.b"),
                        (trained.parent, "is a directory, not a model file")):
        result = subprocess.run([sys.executable, "-m", "demos.studio", "--model", str(model),
                                 "--port", "0"], capture_output=True, text=True, cwd=ROOT,
                                timeout=60)
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert says in result.stderr and result.stdout == ""
