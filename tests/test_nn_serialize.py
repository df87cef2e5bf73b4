"""Save/load: bit-identical round trips, atomic writes, and clear errors for bad files."""

import json
import os
import re

import pytest

import nn
from nn import MLP, Layer, ModelFileError, Neuron


def bits(model):
    return [p.data.hex() for p in model.parameters()]


@pytest.mark.parametrize("model", [
    MLP(5, [7, 3], activation="tanh", rng=0), Layer(3, 2, activation="sigmoid", rng=1),
    Neuron(4, activation="linear", rng=2),
])
def test_round_trip_is_bit_identical(tmp_path, model):
    # Awkward floats too: subnormal, huge, negative zero, many digits.
    params = model.parameters()
    params[0].data, params[1].data, params[2].data = 5e-324, -1.7976931348623157e308, -0.0
    path = model.save(tmp_path / "model.json")
    loaded = type(model).load(path)
    assert type(loaded) is type(model) and bits(loaded) == bits(model)
    assert loaded.config() == model.config()
    assert nn.load(path).state_dict() == model.state_dict()
    assert repr(loaded) == repr(model)


def test_file_is_readable_json_with_architecture(tmp_path):
    path = MLP(2, [3, 1], rng=0).save(tmp_path / "m.json")
    doc = json.loads(path.read_text())
    assert doc["format"] == "glassgrad-model" and doc["version"] == 1
    assert doc["class"] == "MLP"
    assert doc["config"] == {"nin": 2, "nouts": [3, 1], "activation": "relu"}
    assert len(doc["state"]["layers.0.neurons.0.w"]) == 2
    assert doc["metadata"] == {}
    assert path.read_text().count("\n") == 7 + 8 + 2  # one line per parameter slot


def test_metadata_round_trip(tmp_path):
    meta = {"input_mean": [0.0, 0.25], "classes": ["zero", "one"], "note": "ünïcode"}
    path = MLP(2, [2], rng=0).save(tmp_path / "m.json", metadata=meta)
    loaded = MLP.load(path)
    assert loaded.metadata == meta
    loaded.save(tmp_path / "again.json")  # a loaded model keeps its metadata when re-saved
    assert MLP.load(tmp_path / "again.json").metadata == meta
    with pytest.raises(TypeError, match="metadata must be a dict, got list"):
        MLP(2, [2]).save(tmp_path / "x.json", metadata=[1])


def test_a_model_with_non_finite_weights_is_not_saved(tmp_path):
    """A diverged model is refused with one line naming its weights; nothing is written (a
    file holding NaN and Infinity would not be JSON)."""
    model = MLP(3, [4, 2], rng=0)
    for p in model.parameters()[:6]:
        p.data = float("nan")
    model.layers[1].neurons[1].b.data = float("-inf")
    with pytest.raises(ValueError, match=r"cannot save a MLP: 7 weights are not finite "
                       r"\(NaN or ±Infinity\): layers\.0\.neurons\.0\.w\.0, "
                       r"layers\.0\.neurons\.0\.w\.1, layers\.0\.neurons\.0\.w\.2 and 4 more; "
                       r"its training likely diverged \(try a smaller learning rate\)$"):
        model.save(tmp_path / "m.json")
    with pytest.raises(ValueError, match=r"1 number is not finite .*: metadata\.std\.1$"):
        MLP(2, [2]).save(tmp_path / "m.json", metadata={"std": [1.0, float("inf")]})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "9" * 400])
def test_a_file_with_non_finite_weights_is_refused_naming_them(tmp_path, number):
    path = MLP(2, [3, 2], rng=0).save(tmp_path / "m.json")
    text = path.read_text()
    for name in ("layers.0.neurons.2.b", "layers.1.neurons.0.b"):
        text = re.sub(rf'("{re.escape(name)}": )[^,\n]+', rf"\g<1>{number}", text)
    path.write_text(text)
    with pytest.raises(ModelFileError, match=rf"^{re.escape(str(path))}: 2 weights are not finite"
                       r" \(NaN or ±Infinity\): layers\.0\.neurons\.2\.b, "
                       r"layers\.1\.neurons\.0\.b; its training likely diverged"):
        nn.load(path)


def test_non_finite_metadata_in_a_file_is_refused_naming_it(tmp_path):
    path = MLP(2, [2], rng=0).save(tmp_path / "m.json", metadata={"input_std": [1.0, 2.0]})
    path.write_text(path.read_text().replace("2.0]", "NaN]"))
    with pytest.raises(ModelFileError, match=r"1 number is not finite .*: "
                                             r"metadata\.input_std\.1$"):
        MLP.load(path)


@pytest.mark.parametrize("key, edit", [
    ("layers.0.neurons.0.b", lambda t: t.replace('\n  "layers.0.neurons.0.b": ',
                                                  '\n  "layers.0.neurons.0.b": 5.0,'
                                                  '\n  "layers.0.neurons.0.b": ', 1)),
    ("config", lambda t: t.replace(' "config": ', ' "config": {"nin": 9, "nouts": [1]},\n'
                                                  ' "config": ', 1)),
    ("nin", lambda t: t.replace('{"nin": 2, ', '{"nin": 2, "nin": 3, ', 1)),
    ("format", lambda t: t.replace('{\n', '{\n "format": "glassgrad-model",\n', 1)),
])
def test_a_key_named_twice_is_refused_naming_it(tmp_path, key, edit):
    """A person reading the file sees the first value; json.loads kept the last."""
    path = MLP(2, [2], rng=0).save(tmp_path / "m.json")
    path.write_text(edit(path.read_text()))
    with pytest.raises(ModelFileError, match=rf'^{re.escape(str(path))}: the key "{key}" '
                                             "appears twice; .* refused: keep one$"):
        MLP.load(path)


def test_a_directory_is_said_to_be_one(tmp_path):
    with pytest.raises(ModelFileError, match=rf"^{re.escape(str(tmp_path))}: is a directory, "
                                             "not a model file$"):
        MLP.load(tmp_path)
    MLP(2, [2]).save(tmp_path / "model.json")
    with pytest.raises(ModelFileError, match=r"is a directory, not a model file; did you mean "
                                             r".*model\.json\?"):
        nn.load(tmp_path)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [2], rng=0).save(path)
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk on fire"):
        MLP(2, [2], rng=1).save(path)
    assert path.read_bytes() == before            # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]  # no temp file left


def test_save_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory .*nowhere does not exist"):
        MLP(2, [2]).save(tmp_path / "nowhere" / "m.json")

    class Custom(nn.Module):
        pass

    with pytest.raises(TypeError, match="cannot save a Custom"):
        nn.save(Custom(), tmp_path / "c.json")


@pytest.fixture
def saved(tmp_path):
    return MLP(3, [4, 2], rng=0).save(tmp_path / "model.json")


def rewrite(path, edit):
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("corrupt, message", [
    (lambda p: p.write_text(p.read_text()[:200]),
     "not valid JSON, so not a glassgrad model file, or one that is truncated or corrupt"),
    (lambda p: p.write_text(""), "not valid JSON"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff"), "not a text file"),
    (lambda p: p.write_text('{"hello": 1}'), "not a glassgrad model file"),
    (lambda p: p.write_text("[1, 2]"), "not a glassgrad model file"),
    (lambda p: rewrite(p, lambda d: d.update(version=99)), "format version 99 is not supported"),
    (lambda p: rewrite(p, lambda d: d.pop("state")), "missing field"),
    (lambda p: rewrite(p, lambda d: d.update({"class": "Transformer"})),
     "unknown model class 'Transformer'"),
    (lambda p: rewrite(p, lambda d: d["config"].update(nin=-1)), "bad architecture"),
    (lambda p: rewrite(p, lambda d: d["config"].update(depth=3)), "bad architecture"),
    (lambda p: rewrite(p, lambda d: d["config"].update(nouts=[5, 2])),
     "(?s)weights do not match the architecture.*expects 5 numbers, got 4"),
    (lambda p: rewrite(p, lambda d: d["state"].pop("layers.1.neurons.0.b")),
     "(?s)weights do not match.*missing keys: layers.1.neurons.0.b"),
    (lambda p: rewrite(p, lambda d: d.update(state=[1, 2])), "weights do not match"),
    (lambda p: rewrite(p, lambda d: d.update(metadata=[1])), "metadata must be an object"),
])
def test_bad_files_get_one_clear_error_naming_the_file(saved, corrupt, message):
    corrupt(saved)
    with pytest.raises(ModelFileError, match=message) as info:
        MLP.load(saved)
    assert str(info.value).startswith(str(saved))


def test_wrong_class_and_missing_file(saved, tmp_path):
    with pytest.raises(ModelFileError, match="holds a MLP, not a Layer"):
        Layer.load(saved)
    with pytest.raises(FileNotFoundError, match="model file .*absent.json does not exist"):
        MLP.load(tmp_path / "absent.json")


def test_saved_files_respect_the_umask_and_long_names(tmp_path):
    old = os.umask(0o022)
    try:
        path = MLP(2, [2], rng=0).save(tmp_path / "m.json")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    long_name = "m" * 240 + ".json"
    assert MLP.load(MLP(2, [2], rng=0).save(tmp_path / long_name)).nin == 2


@pytest.mark.parametrize("text, message", [
    ('{"format": "glassgrad-model", "version": 1, "class": "MLP", "config": {"nin": 100000, '
     '"nouts": [100000]}, "state": {}}', "needs 10,000,100,000 weights; this glassgrad loads at "
                                         "most 5,000,000"),
    ('{"format": "glassgrad-model", "version": 1, "class": "MLP", "config": {"nin": 900, '
     '"nouts": [900]}, "state": {}}', "it needs 810,900 numbers, the file holds 0"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"format": "glassgrad-model", "version": 1, "n": ' + "9" * 5000 + "}",
     "not a glassgrad model file: Exceeds the limit"),
    ('{"format": "glassgrad-model", "version": 1, "class": ["MLP"], "config": {}, '
     '"state": {}}', r"unknown model class \['MLP'\]"),
    ('{"format": "glassgrad-model", "version": 1, "class": "MLP", "config": {"nin": 2, '
     '"nouts": "big"}, "state": {}}', "nouts must be a list of layer sizes"),
    ('{"format": "glassgrad-model", "version": 1, "class": "Layer", "config": {"nin": 1e9, '
     '"nout": 2}, "state": {}}', "nin must be a whole number from 1 to 1,000,000"),
])
def test_hostile_files_are_refused_quickly_before_anything_is_built(text, message):
    import time

    started = time.perf_counter()
    with pytest.raises(ModelFileError, match=message):
        nn.serialize.loads(text, "hostile.json")
    assert time.perf_counter() - started < 1.0
