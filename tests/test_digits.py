"""The digits demo: data integrity, downsampling, IDX files, split, training, resume, CLI."""

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from demos.digits import cli
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
from demos.digits.train import TrainConfig, train
from nn import MLP, load

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
    other = TrainConfig(**{**TINY, "lr": 0.01})
    with pytest.raises(ValueError, match=r"other settings: --lr 0.05 \(now 0.01\)"):
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
