"""The studio: its JSON API against the engine, its refusals, its sessions, and the page driven
by a real browser (headless Chromium) that draws with the mouse."""

import json
import math
import os
import random
import re
import time

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the studio needs Starlette: pip install -e '.[studio]'")
pytest.importorskip("uvicorn", reason="the studio needs uvicorn: pip install -e '.[studio]'")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2: pip install httpx2")

from starlette.testclient import TestClient  # noqa: E402

import engine  # noqa: E402
from demos.digits.data import counts  # noqa: E402
from demos.digits.train import TrainConfig, prepare  # noqa: E402
from demos.studio import app as studio_app  # noqa: E402
from demos.studio import teaching  # noqa: E402
from demos.studio.cli import samples  # noqa: E402
from engine import Value  # noqa: E402
from engine.viz.style import percent  # noqa: E402
from nn import MLP, SGD, Adam, cross_entropy, softmax  # noqa: E402
from tests.browser import launch, needs_chromium  # noqa: E402


@pytest.fixture(scope="module")
def norm():
    data = prepare(TrainConfig())
    return teaching.Normalisation(data.mean, data.std)


def base_model() -> MLP:
    return MLP(64, [16, 16, 10], rng=0)


@pytest.fixture()
def studio(norm, tmp_path):
    return studio_app.Studio(base_model(), norm, tmp_path / "run", samples())


PORT = 8765  # the port the apps under test answer as (a TestClient sends no request out)
THREE = [(0.25, 0.15), (0.75, 0.12), (0.8, 0.3), (0.45, 0.48), (0.8, 0.65), (0.75, 0.88),
         (0.25, 0.85)]  # a '3', as fractions of the pad


def draw(page, points=THREE) -> None:
    """One stroke with the mouse on the page's pad through ``points`` (fractions of it)."""
    box = page.locator("#pad").bounding_box()
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for point in at[1:]:
        page.mouse.move(*point, steps=6)
    page.mouse.up()


def app_of(studio):
    return studio_app.create_app(studio, PORT)


def browser_of(app) -> TestClient:
    """A client that names the studio's own address as its Host, as a browser does."""
    return TestClient(app, base_url=f"http://127.0.0.1:{PORT}")


def session_of(page: str) -> str:
    """The session id a page carries."""
    import re

    return json.loads(re.search(r'<script id="session" type="application/json">([^<]+)<',
                                page)[1])


def learner(app) -> TestClient:
    """A client with a session of its own, as a page (a tab) has."""
    client = browser_of(app)
    client.headers[studio_app.HEADER] = client.post("/api/session", json={}).json()["session"]
    return client


@pytest.fixture()
def client(studio):
    return learner(app_of(studio))


def engine_probabilities(model, norm, image) -> list[float]:
    x = (np.asarray(image).ravel() / 16.0 - norm.mean) / norm.std
    with engine.no_grad():
        return [float(p) for p in softmax(model([Value(float(v)) for v in x]))]


def one_sgd_step(model, norm, image, label, steps=1):
    """An independent teaching step: the eager engine and nn's SGD, by hand."""
    x = (np.asarray(image).ravel() / 16.0 - norm.mean) / norm.std
    optimizer = SGD(model.parameters(), lr=teaching.LR)
    for _ in range(steps):
        loss = cross_entropy(model([Value(float(v)) for v in x]), label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_reading_pixels_gives_the_engines_probabilities(client, norm):
    image = samples()[3]
    answer = client.post("/api/read", json={"pixels": image}).json()
    assert answer["counts"] == np.reshape(image, (8, 8)).tolist()
    assert answer["probabilities"] == engine_probabilities(base_model(), norm, image)
    assert answer["guess"] == int(np.argmax(answer["probabilities"])) == answer["label"]
    assert answer["data"]["digits"] == [answer["guess"]]  # the explorer's pass toward it
    labelled = client.post("/api/read", json={"pixels": image, "label": 8}).json()
    assert labelled["label"] == 8 and labelled["data"]["digits"] == [8]


def test_a_bitmap_is_counted_in_4x4_blocks_as_the_uci_digits(client):
    rng = np.random.default_rng(0)
    bitmap = (rng.random((32, 32)) < 0.3).astype(int)
    answer = client.post("/api/read", json={"bitmap": bitmap.tolist()}).json()
    assert answer["counts"] == counts(bitmap).tolist()
    assert answer["counts"][0][0] == int(bitmap[:4, :4].sum())


def test_teaching_raises_p_label_as_an_independent_step_does(client, norm):
    image = samples()[5]
    for steps in (1, 10):
        independent = base_model()
        one_sgd_step(independent, norm, image, 5, steps)
        client.post("/api/reset", json={})
        taught = client.post("/api/teach", json={"pixels": image, "label": 5,
                                                 "steps": steps}).json()
        assert taught["before"] == engine_probabilities(base_model(), norm, image)[5]
        assert taught["after"] == engine_probabilities(independent, norm, image)[5]
        assert taught["after"] > taught["before"]
        assert taught["probabilities"][5] == taught["after"]  # read by the taught model
        assert taught["lossAfter"] < taught["loss"] and taught["predictedChange"] < 0
        assert taught["samples"] == 10 and 0 <= taught["samplesAfter"] <= 10
        assert taught["samplesAfter"] == sum(  # each sample read again by the eager engine
            int(np.argmax(engine_probabilities(independent, norm, image))) == d
            for d, image in samples().items())


def test_each_session_teaches_its_own_model_and_reset_restores_it(studio, norm):
    app = app_of(studio)
    a, b = learner(app), learner(app)
    image = samples()[2]
    first = a.post("/api/read", json={"pixels": image}).json()["probabilities"]
    b.post("/api/read", json={"pixels": image})
    a.post("/api/teach", json={"pixels": image, "label": 7, "steps": 10})
    assert b.post("/api/read", json={"pixels": image}).json()["probabilities"] == first
    assert a.post("/api/read", json={"pixels": image}).json()["probabilities"] != first
    a.post("/api/reset", json={})
    assert a.post("/api/read", json={"pixels": image}).json()["probabilities"] == first
    assert studio.model.state_dict() == base_model().state_dict()  # the loaded one untouched


@pytest.fixture(scope="module")
def starts(norm):
    """The networks a learner may start from, for the loaded model of the tests."""
    return teaching.starting_points(base_model(), norm)


def test_the_starting_points_are_the_runs_first_weights_and_first_batches(starts, norm):
    from demos.digits.train import TrainConfig, prepare

    assert list(starts) == ["untrained", "half-trained", "trained"]
    untrained, half = starts["untrained"], starts["half-trained"]
    assert untrained.state_dict() == MLP(64, [16, 16, 10], rng=0).state_dict()  # its seed's
    # An independent half-training: the eager engine and nn's Adam on the run's first
    # batches (its shuffle of epoch 0), from the same first weights.
    data = prepare(TrainConfig(hidden=[16, 16]))
    x = (data.train.inputs - norm.mean) / norm.std
    order = np.random.default_rng([0, 0]).permutation(len(x))
    model = MLP(64, [16, 16, 10], rng=0)
    optimizer = Adam(model.parameters(), lr=0.02)
    for batch in range(teaching.HALF_TRAINED):
        rows = order[batch * 32:(batch + 1) * 32]
        loss = engine.sum([cross_entropy(model([Value(float(v)) for v in x[i]]),
                                         int(data.train.labels[i])) for i in rows]) / len(rows)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, value in half.state_dict().items():
        assert np.allclose(value, model.state_dict()[name], atol=1e-9), name
    # On the sample '3', neither is sure yet: Step 1's arrow (1 − P('3')) is long.
    three = np.reshape(samples()[3], (8, 8))
    for start in (untrained, half):
        assert teaching.probabilities(start, norm.digit(three))[3] < 0.8


def test_a_session_starts_from_the_network_it_picks(norm, starts, tmp_path):
    studio = studio_app.Studio(base_model(), norm, tmp_path / "run", samples(), starts)
    a, b = learner(app_of(studio)), learner(app_of(studio))
    image = samples()[3]
    first = a.post("/api/read", json={"pixels": image}).json()
    assert first["start"] == "trained" and first["starts"] == list(starts)
    kept = {name: model.state_dict() for name, model in starts.items()}
    for name in ("untrained", "half-trained"):
        answer = a.post("/api/reset", json={"start": name}).json()
        assert answer == {"reset": True, "start": name, "starts": list(starts)}
        read = a.post("/api/read", json={"pixels": image, "label": 3}).json()
        assert read["start"] == name
        assert read["probabilities"] == engine_probabilities(starts[name], norm, image)
        assert read["data"]["networks"] == [name]  # the explorer names what it shows
        assert f"the {name} network" in read["data"]["passes"][f"{name}/3"]["stages"][0]["title"]
    # Teaching starts from the chosen network; reset, with no name, goes back to it.
    independent = teaching.copy_model(starts["half-trained"])
    one_sgd_step(independent, norm, image, 3)
    taught = a.post("/api/teach", json={"pixels": image, "label": 3, "steps": 1}).json()
    assert taught["start"] == "half-trained"
    assert taught["after"] == engine_probabilities(independent, norm, image)[3]
    a.post("/api/reset", json={})
    again = a.post("/api/read", json={"pixels": image}).json()
    assert again["start"] == "half-trained"
    assert again["probabilities"] == engine_probabilities(starts["half-trained"], norm, image)
    assert {name: model.state_dict() for name, model in starts.items()} == kept  # untouched
    assert b.post("/api/read", json={"pixels": image}).json()["probabilities"] == \
        first["probabilities"]  # another page: still the loaded network
    for bad in ("best", 3, None, ["untrained"]):
        refused = a.post("/api/reset", json={"start": bad})
        assert refused.status_code == 422 and refused.json() == {
            "error": "'start' must be one of untrained, half-trained, trained"}
    assert a.post("/api/read", json={"pixels": image}).json()["start"] == "half-trained"


def taught_models(studio) -> int:
    return sum(session.model is not None for session in studio._sessions.values())


def test_taught_models_are_capped_least_recently_used_first(studio, monkeypatch):
    monkeypatch.setattr(studio_app, "SESSIONS", 4)  # (32 in use: the same rule, sooner)
    app = app_of(studio)
    first, second = learner(app), learner(app)
    image = samples()[1]
    first.post("/api/teach", json={"pixels": image, "label": 4, "steps": 10})
    second.post("/api/teach", json={"pixels": image, "label": 4})
    for _ in range(100):  # sessions that only ask cost no model and drop none
        assert learner(app).post("/api/reset", json={}).status_code == 200
    assert learner(app).post("/api/read", json={"pixels": image}).status_code == 200
    assert taught_models(studio) == 2
    for _ in range(studio_app.SESSIONS - 1):
        learner(app).post("/api/teach", json={"pixels": image, "label": 4})
    assert taught_models(studio) == studio_app.SESSIONS
    # The first session was the least recently used: it is gone, and its page says so.
    response = first.post("/api/read", json={"pixels": image})
    assert response.status_code == 409 and "reload the page" in response.json()["error"]
    assert second.post("/api/read", json={"pixels": image}).status_code == 200


def test_loading_the_page_costs_no_learner_their_model(studio):
    # Any site can make a browser load the page (an <img> pointing at it) or send a plain
    # request: forty of each used to drop the least recently used taught model (a 409 next).
    app = app_of(studio)
    taught = learner(app)
    image = samples()[6]
    taught.post("/api/teach", json={"pixels": image, "label": 6, "steps": 10})
    reading = taught.post("/api/read", json={"pixels": image}).json()["probabilities"]
    other_site = browser_of(app)
    for _ in range(studio_app.SESSIONS + 10):
        assert "Draw a digit" in other_site.get("/").text
        assert other_site.post("/api/teach", content=b'{"pixels": []}',
                               headers={"content-type": "text/plain"}).status_code == 415
        assert other_site.post("/api/read", json={"pixels": image}).status_code == 409
    response = taught.post("/api/read", json={"pixels": image})
    assert response.status_code == 200 and response.json()["probabilities"] == reading
    assert taught_models(studio) == 1 and len(studio._sessions) == 1  # no model for a page


def test_every_page_is_a_session_of_its_own_and_other_sites_cannot_act(studio):
    app = app_of(studio)
    plain = browser_of(app)
    tokens = [session_of(plain.get("/").text)
              for _ in range(2)]  # two tabs of one browser: one cookie jar, two sessions
    tab1, tab2 = ({studio_app.HEADER: t} for t in tokens)
    image = samples()[7]
    before = plain.post("/api/read", json={"pixels": image}, headers=tab2).json()
    plain.post("/api/teach", json={"pixels": image, "label": 1, "steps": 10}, headers=tab1)
    assert plain.post("/api/read", json={"pixels": image},
                      headers=tab2).json()["probabilities"] == before["probabilities"]
    # A page elsewhere can send a plain-text body without asking, but no header of ours:
    # refused either way, and no session is made (none is dropped) for it.
    count = len(studio._sessions)
    forged = plain.post("/api/save", content=b'{"name": "x"}',
                        headers={"content-type": "text/plain"})
    assert forged.status_code == 415
    assert plain.post("/api/save", json={"name": "x"}).status_code == 409
    assert len(studio._sessions) == count and not (studio.run_dir / "x.json").exists()


def test_save_writes_the_taught_model_inside_the_run_directory_only(client, studio):
    image = samples()[0]
    client.post("/api/teach", json={"pixels": image, "label": 0, "steps": 1})
    answer = client.post("/api/save", json={"name": "mine"}).json()
    path = studio.run_dir / "mine.json"
    assert answer == {"saved": "mine.json"} and path.is_file()  # where the run is, unsaid
    saved = MLP.load(path)
    taught = next(s.model for s in studio._sessions.values() if s.model is not None)
    assert saved.state_dict() == taught.state_dict()
    assert saved.metadata == taught.metadata
    for name in ["../escape", "/etc/passwd", "", "a" * 65, "a/b", ".hidden", 5, None, "x.y",
                 "model", "Metrics"]:
        response = client.post("/api/save", json={"name": name})
        assert response.status_code == 422, name
        assert "name" in response.json()["error"]
    again = client.post("/api/save", json={"name": "mine"})  # never over a file
    assert again.status_code == 409 and "exists" in again.json()["error"]
    assert str(studio.run_dir.parent) not in again.text
    assert sorted(p.name for p in studio.run_dir.iterdir()) == ["mine.json"]


def test_a_page_saves_at_most_a_hundred_files(client, studio):
    for i in range(studio_app.MAX_SAVES):
        assert client.post("/api/save", json={"name": f"mine{i}"}).status_code == 200
        if i == 0:  # a save refused writes nothing and counts for nothing
            assert client.post("/api/save", json={"name": "mine0"}).status_code == 409
    response = client.post("/api/save", json={"name": "one-more"})
    assert response.status_code == 429 and "100 files" in response.json()["error"]
    assert "\n" not in response.json()["error"]
    assert len(list(studio.run_dir.iterdir())) == studio_app.MAX_SAVES == 100


def test_all_pages_together_save_at_most_a_thousand_files(studio, monkeypatch):
    # A script on the page could open session after session: the studio counts them all.
    monkeypatch.setattr(studio_app, "MAX_SAVES_IN_ALL", 12)
    app = app_of(studio)
    pages = [learner(app) for _ in range(3)]
    for i in range(12):
        assert pages[i % 3].post("/api/save", json={"name": f"m{i}"}).status_code == 200
    response = learner(app).post("/api/save", json={"name": "more"})
    assert response.status_code == 429
    assert response.json()["error"] == ("the studio has saved 12 files since it started, the "
                                        "most it saves in one run: restart it to save more")
    assert len(list(studio.run_dir.iterdir())) == 12


def test_teaching_that_overflows_the_weights_is_undone(client, studio, monkeypatch):
    # A step too large for the numbers (η = 1e300 here) would leave a network that can be
    # neither drawn nor saved: it is undone, with one line, and the page goes on.
    monkeypatch.setattr(teaching, "SGD", lambda parameters, lr: SGD(parameters, lr=1e300))
    three = samples()[3]
    before = client.post("/api/read", json={"pixels": three}).json()
    response = client.post("/api/teach", json={"pixels": three, "label": 8, "steps": 10})
    assert response.status_code == 422
    assert "not finite), so it was undone" in response.json()["error"]
    again = client.post("/api/read", json={"pixels": three}).json()  # (reads are numbered)
    assert again["data"].pop("reading") > before["data"].pop("reading") and again == before
    assert client.post("/api/save", json={"name": "after"}).status_code == 200
    assert all(math.isfinite(p.data) for p in MLP.load(studio.run_dir / "after.json")
               .parameters())


def killed_save(path) -> None:
    """A save of ``path`` killed (SIGKILL) after writing its temporary file, before the
    rename: what a save leaves when the machine or the studio dies half-way."""
    import subprocess
    import sys

    code = ("import os, signal\nfrom nn import MLP\n"
            "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
            f"MLP(64, [16, 16, 10], rng=0).save({str(path)!r})")
    assert subprocess.run([sys.executable, "-c", code]).returncode == -9


def test_unfinished_saves_are_removed_when_the_studio_starts(norm, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ["mine", "b" * 40, "model", "checkpoint", "metrics"]:
        killed_save(run / f"{name}.json")
    killed = sorted(p.name for p in run.iterdir())
    assert len(killed) == 5 and all(n.endswith(".tmp") for n in killed)
    others = [".notes.txt.abcd1234.tmp", "notes.tmp", ".mine.json.tmp", "mine.json",
              ".loss.svg.abcd1234.tmp"]
    for name in others:
        (run / name).write_text("not ours")
    for path in run.iterdir():  # all killed two minutes ago
        os.utime(path, (time.time() - 120, time.time() - 120))
    killed_save(run / "now.json")  # as if another studio on this folder were saving now
    under_way = next(p.name for p in run.iterdir() if p.name.startswith(".now.json."))
    studio_app.Studio(base_model(), norm, run, samples())
    # The saves' are gone; the run's own files may be being written by a training run now,
    # and the rest are not the studio's: they stay.
    theirs = [n for n in killed if n.startswith((".model.", ".checkpoint.", ".metrics."))]
    assert len(theirs) == 3
    assert sorted(p.name for p in run.iterdir()) == sorted([*others, *theirs, under_way])
    assert all((run / name).read_text() == "not ours" for name in others)


@pytest.mark.parametrize("body, status, words", [
    (b"not json", 400, "must be JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (json.dumps({"pixels": [1] * 63}).encode(), 422, "64 whole numbers"),
    (json.dumps({"pixels": [17] * 64}).encode(), 422, "64 whole numbers"),
    (json.dumps({"pixels": [1.5] * 64}).encode(), 422, "64 whole numbers"),
    (json.dumps({"pixels": [True] * 64}).encode(), 422, "64 whole numbers"),
    (json.dumps({"bitmap": [[2] * 32] * 32}).encode(), 422, "0 or 1"),
    (json.dumps({"bitmap": [[0] * 32] * 31}).encode(), 422, "32 rows"),
    (json.dumps({"pixels": [0] * 64, "bitmap": [[0] * 32] * 32}).encode(), 422, "exactly one"),
    (json.dumps({}).encode(), 422, "exactly one"),
    (json.dumps({"pixels": [0] * 64, "label": 10}).encode(), 422, "'label'"),
    (json.dumps({"pixels": [0] * 64, "label": "3"}).encode(), 422, "'label'"),
    (b"[" * 100_000 + b"]" * 100_000, 413, "at most"),
    (b" " * (studio_app.MAX_BODY + 1), 413, "at most"),
    (json.dumps({"pixels": [0] * 64, "steps": 1.0, "label": 1}).encode(), 422, "'steps'"),
    (json.dumps({"bitmap": [[True] * 32] * 32}).encode(), 422, "0 or 1"),
])
def test_bad_requests_get_one_line_errors(client, body, status, words):
    path = "/api/teach" if b"steps" in body else "/api/read"
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert words in response.json()["error"] and "\n" not in response.json()["error"]


def test_teach_needs_a_label_and_a_known_step_count(client):
    image = samples()[1]
    assert "'label'" in client.post("/api/teach", json={"pixels": image}).json()["error"]
    response = client.post("/api/teach", json={"pixels": image, "label": 1, "steps": 3})
    assert response.status_code == 422 and "'steps'" in response.json()["error"]
    assert client.post("/api/nothing", json={}).status_code == 404
    assert client.get("/api/read").status_code == 405
    response = client.post("/api/teach", json={"pixels": image, "label": 1, "steps": 10.0})
    assert response.status_code == 422  # 10.0 == 10, but it is no count of steps


def random_json(rng: random.Random, depth: int = 0):
    kinds = ["int", "float", "str", "bool", "none", "list", "dict", "big"]
    kind = rng.choice(kinds if depth < 3 else kinds[:5])
    if kind == "int":
        return rng.randint(-5, 40)
    if kind == "float":
        return rng.choice([rng.uniform(-1e3, 1e3), float("inf"), float("nan"), -0.0, 1e308])
    if kind == "str":
        return rng.choice(["", "3", "pixels", "../x", "\u0000", "é" * 50])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "big":
        return [rng.randint(0, 1)] * rng.choice([32, 64, 1024])
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 40))]
    keys = ["pixels", "bitmap", "label", "steps", "name", "x"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_body(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.15:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
    body = random_json(rng)
    if r < 0.5 and isinstance(body, dict):  # often almost right
        body["pixels" if rng.random() < 0.5 else "bitmap"] = (
            [rng.randint(-1, 17) for _ in range(64)] if rng.random() < 0.5 else
            [[rng.randint(0, 2) for _ in range(32)] for _ in range(rng.choice([31, 32]))])
        body["label"] = rng.choice([0, 9, -1, 10, "7", None, 3.0])
        body["steps"] = rng.choice([1, 10, 0, 2, None, True])
    return json.dumps(body, allow_nan=True).encode()


def test_the_server_survives_a_thousand_random_and_malformed_requests(client, studio):
    rng = random.Random(0)
    statuses = []
    for _ in range(1000):
        path = rng.choice(["/api/read", "/api/teach", "/api/reset", "/api/save", "/api/x",
                           "/api/line",
                           "/", "/favicon.ico"])
        method = rng.choice(["POST", "POST", "POST", "GET", "PUT"])
        response = client.request(method, path, content=random_body(rng),
                                  headers={"content-type": "application/json"})
        statuses.append(response.status_code)
        assert response.status_code < 500, (method, path, response.text[:200])
        if response.status_code >= 400:
            assert response.json()["error"]
    assert statuses.count(200) > 20 and sum(s >= 400 for s in statuses) > 600
    image = samples()[3]  # and it still answers as before
    assert client.post("/api/read", json={"pixels": image}).status_code == 200
    written = list(studio.run_dir.iterdir()) if studio.run_dir.exists() else []
    assert all(teaching.NAME.fullmatch(p.stem) and p.suffix == ".json" for p in written)


# --- the doors, on a real server ------------------------------------------------------------

def ask(url: str, method: str, path: str, host: str | None, body: dict | None = None,
        session: str | None = None):
    """``(status, headers, text)`` of one request to the server at ``url``, naming ``host``
    as its Host (None: no Host at all, as HTTP/1.0 allows)."""
    import socket
    from urllib.parse import urlsplit

    data = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.0", f"Content-Length: {len(data)}",
             "Content-Type: application/json", "Connection: close"]
    lines += [f"Host: {host}"] * (host is not None)
    lines += [f"X-Studio-Session: {session}"] * (session is not None)
    with socket.create_connection((urlsplit(url).hostname, urlsplit(url).port), 10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, text = answer.decode().partition("\r\n\r\n")
    status, *fields = head.split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
    return int(status.split()[1]), headers, text


def test_a_model_that_overflows_when_it_reads_is_refused_at_start(norm, tmp_path):
    # Finite weights of 1e300 overflow to inf and nan inside the network: the page cannot be
    # drawn, so the studio says so at start (it used to answer every request with a 500).
    model = base_model()
    for p in model.parameters():
        p.data = 1e300 if p.data >= 0 else -1e300
    with pytest.raises(ValueError, match=r"^the model cannot be drawn: its numbers overflow "
                       r"when it reads a digit \(.*\); train it again with a smaller --lr$"):
        studio_app.Studio(model, norm, tmp_path / "run", samples())


def test_a_websocket_is_closed_at_the_door(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/"):
        pass
    assert closed.value.code == 1008


def test_a_request_naming_another_host_is_refused_and_writes_nothing(studio):
    # DNS rebinding: a page on evil.example, whose name now resolves to 127.0.0.1, sends
    # its own name as Host. Even knowing a session id, it reaches no route.
    image = samples()[4]
    with studio_app.running(studio) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        mine = f"127.0.0.1:{port}"
        session = json.loads(ask(url, "POST", "/api/session", mine, {})[2])["session"]
        reading = json.loads(ask(url, "POST", "/api/read", mine, {"pixels": image},
                                 session)[2])["data"]["reading"]
        sessions = dict(studio._sessions)
        for host in [f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}",
                     f"localhost.evil.example:{port}", "127.0.0.1", None, ""]:
            for method, path, body in [("GET", "/", None), ("POST", "/api/session", {}),
                                       ("POST", "/api/teach", {"pixels": image, "label": 1}),
                                       ("POST", "/api/save", {"name": "evil"}),
                                       ("POST", "/api/reset", {}), ("GET", "/nothing", None),
                                       ("POST", "/api/line",
                                        {"reading": reading, "layer": 1, "j": 0, "k": 0})]:
                status, headers, text = ask(url, method, path, host, body, session)
                assert status == 421, (host, path, text)
                error = json.loads(text)["error"]
                assert error.startswith(f"this studio answers as 127.0.0.1:{port}"), error
                assert "\n" not in error and headers["x-frame-options"] == "DENY"
        assert not studio.run_dir.exists() and dict(studio._sessions) == sessions
        assert studio._sessions[session].model is None  # taught nothing
        for host in [mine, f"localhost:{port}", f"[::1]:{port}", f"LocalHost:{port}"]:
            assert ask(url, "GET", "/", host)[0] == 200, host
            assert ask(url, "POST", "/api/read", host, {"pixels": image}, session)[0] == 200


def test_every_response_forbids_framing_and_any_code_but_the_pages_own(studio):
    import base64
    import hashlib
    import re

    with studio_app.running(studio) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        host = f"localhost:{port}"
        status, headers, page = ask(url, "GET", "/", host)
        session = session_of(page)
        answers = [(status, headers), *(ask(url, *request)[:2] for request in [
            ("POST", "/api/read", host, {"pixels": samples()[1]}, session),
            ("POST", "/api/read", host, {"pixels": [99]}, session),
            ("POST", "/api/nothing", host, {}, session), ("GET", "/api/read", host),
            ("GET", "/favicon.ico", host), ("POST", "/api/read", "evil.example", {})])]
    assert [status for status, _ in answers] == [200, 200, 422, 404, 405, 204, 421]
    policy = headers["content-security-policy"]
    for _, headers in answers:
        assert headers["content-security-policy"] == policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    for name in ["default-src", "base-uri", "form-action", "frame-ancestors"]:
        assert directives[name] == "'none'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-hashes" not in policy
    # The page's scripts are named by their hashes (its data blocks are not scripts).
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 2
    assert directives["script-src"].split() == sorted(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts)


def test_the_command_checks_its_port_before_it_trains(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "demos.studio", "--port", str(port),
                                 "--out", str(tmp_path / "run")], capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""  # it trained nothing
    assert result.stderr == (f"error: cannot listen on 127.0.0.1:{port}: Address already in "
                             "use\n")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("when", ["training", "serving", "serving, started in the background"])
def test_ctrl_c_stops_the_studio_with_one_line(tmp_path, when):
    import signal
    import subprocess
    import sys
    import urllib.request

    # A shell script's `… &` starts a command that ignores SIGINT; uvicorn still stops on it.
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if "background" in when \
        else None
    process = subprocess.Popen([sys.executable, "-m", "demos.studio", "--out",
                                str(tmp_path / "run")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=ignore)
    try:
        first = process.stdout.readline()
        assert first.startswith("No --model given: training")
        if when != "training":
            process.stdout.readline()
            url = process.stdout.readline().split()[2]
            assert url.startswith("http://127.0.0.1:")
            urllib.request.urlopen(url, timeout=10).read()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert err.strip() == "studio stopped" and "Traceback" not in out
    if when != "training":  # and its port is free again at once, for the next studio
        studio_app.listening_socket(int(url.rsplit(":", 1)[1].strip("/"))).close()


# --- the page, in a real browser ------------------------------------------------------------

playwright = pytest.importorskip("playwright.sync_api")
PEN = 1.9  # the page's pen radius, in cells of the 32×32 bitmap


def rasterise(strokes) -> np.ndarray:
    """The pad's rule in Python: a cell is on if its centre is within PEN of a stroke's path."""
    bitmap = np.zeros((32, 32), dtype=int)
    centres = np.stack(np.meshgrid(np.arange(32) + 0.5, np.arange(32) + 0.5), axis=-1)
    for stroke in strokes:
        for a, b in zip([stroke[0], *stroke[:-1]], stroke, strict=True):
            a, b = np.array(a), np.array(b)
            d = b - a
            length = float(d @ d)
            t = np.zeros(centres.shape[:2]) if length == 0 else np.clip(
                ((centres - a) @ d) / length, 0, 1)
            nearest = a + t[..., None] * d
            bitmap[((nearest - centres) ** 2).sum(-1) <= PEN * PEN] = 1
    return bitmap


# Every Content-Security-Policy violation the page reports, kept for the test to read. (The
# policy forbids eval(), through which Playwright runs a predicate given as an expression: the
# tests give functions, "() => …", which it calls directly.)
WATCH_POLICY = """window.violations = [];
document.addEventListener("securitypolicyviolation",
                          e => window.violations.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture()
def served(studio):
    with studio_app.running(studio) as url:
        yield url


@needs_chromium
def test_a_learner_draws_a_digit_and_teaches_the_network(served, studio, norm):
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors, violations = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.add_init_script(WATCH_POLICY)
        page.goto(served)
        page.wait_for_function("() => window.studio && window.studio.last")
        page.click("#clear")
        page.wait_for_function("() => window.studio.last.counts.flat().every(v => v === 0)")
        draw(page)
        page.wait_for_timeout(400)
        page.wait_for_function("() => !document.querySelector('#status').textContent"
                               ".startsWith('refused')")
        strokes = page.evaluate("window.studio.strokes()")
        want = counts(rasterise(strokes))
        page.wait_for_function(f"() => JSON.stringify(window.studio.last.counts) === "
                               f"'{json.dumps(want.tolist(), separators=(',', ':'))}'")
        shown = page.eval_on_selector_all("#read8 div", "cells => cells.map(c => +c.dataset.count)")
        assert np.array_equal(np.reshape(shown, (8, 8)), want)  # the 8×8 shown is Python's
        probabilities = engine_probabilities(base_model(), norm, want)
        printed = [page.text_content(f"#p{j}") for j in range(10)]
        assert printed == [f"P {p:.3f}" for p in probabilities]
        # Teaching before saying what the drawing is would teach the network its own guess.
        page.click("#teach")
        assert page.text_content("#status") == "first pick the digit you drew: 'It is a …'"
        # Teach it that this is a 3: P('3') rises, by the numbers an independent step gives.
        page.click("#labels button[data-label='3']")
        page.wait_for_function("() => window.studio.last.label === 3")
        page.click("#teach")
        page.wait_for_function("() => window.studio.last.steps === 1")
        taught = page.evaluate("window.studio.last")
        independent = base_model()
        one_sgd_step(independent, norm, want, 3)
        assert taught["before"] == probabilities[3]
        assert taught["after"] == engine_probabilities(independent, norm, want)[3]
        assert taught["after"] > taught["before"]
        text = page.text_content("#taught")
        # Plain words first, with the engine's numbers; the maths folded (closed) after them.
        assert taught["words"] in text and taught["title"] in text
        assert any(f"from {percent(taught['before'], d)} to {percent(taught['after'], d)}"
                   in text for d in range(3))  # the decimals the preview's need too
        assert page.evaluate("() => document.querySelector('#taught details.maths').open") \
            is False and not page.is_visible("#taught details.maths p")
        # What the explorer's figure shows now is the taught network's reading.
        assert page.text_content("#p3") == f"P {taught['after']:.3f}"
        # A malformed request from the page itself is refused with its reason.
        refused = page.evaluate("""fetch('/api/read', {method: 'POST', body: '{"pixels": [99]}',
            headers: {'Content-Type': 'application/json',
                      'X-Studio-Session': window.studio.session}})
            .then(async r => [r.status, (await r.json()).error])""")
        assert refused == [422, "'pixels' must be 64 whole numbers from 0 to 16"]
        page.click("#save")
        page.wait_for_function("() => document.querySelector('#status').textContent"
                               ".startsWith('saved')")
        assert page.text_content("#status") == "saved taught.json in the run directory"
        assert (studio.run_dir / "taught.json").is_file()
        # Under the policy every style and script of the page's own still works, and
        # nothing was refused.
        assert page.evaluate("getComputedStyle(document.querySelector('header b.apart'))"
                             ".marginLeft") != "0px"
        assert page.evaluate("getComputedStyle(document.querySelector('#taught')).borderStyle")\
            == "solid"
        assert page.evaluate("window.violations") == [] and violations == []
        assert errors == []
        browser.close()


def test_the_command_trains_a_network_prints_its_address_and_serves(tmp_path):
    import subprocess
    import sys
    import urllib.request

    process = subprocess.Popen([sys.executable, "-m", "demos.studio", "--out",
                                str(tmp_path / "run")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("No --model given: training MLP(64, [16, 16, 10])")
        assert lines[1].startswith("trained: ")
        url = lines[2].split()[2]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and b"Draw a digit" in response.read()
        assert (tmp_path / "run" / "model.json").is_file()
    finally:
        process.terminate()
        process.wait(10)


def test_the_command_refuses_a_model_it_cannot_draw(tmp_path, capsys):
    from demos.studio.cli import main

    assert main(["--model", str(tmp_path / "none.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    path = MLP(64, [32, 10], rng=0).save(tmp_path / "wide.json", metadata={
        "input_mean": [0.0] * 64, "input_std": [1.0] * 64, "side": 8})
    assert main(["--model", str(path)]) == 1
    err = capsys.readouterr().err
    assert "MLP(64, [16, 16, 10])" in err and "is MLP(64, [32, 10])" in err
    assert err.count("\n") == 1
    assert "python -m demos.digits --hidden 16,16 --out DIR" in err  # one it can use
    assert "--model DIR/model.json" in err


@needs_chromium
def test_two_tabs_of_one_browser_teach_their_own_models(served):
    with playwright.sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(WATCH_POLICY)
        tabs = [context.new_page(), context.new_page()]
        for tab in tabs:
            tab.goto(served)
            tab.wait_for_function("() => window.studio && window.studio.last")
        before = tabs[1].evaluate("window.studio.last.probabilities")
        tabs[0].click("#labels button[data-label='8']")
        tabs[0].wait_for_function("() => window.studio.last.label === 8")
        tabs[0].click("#teach10")
        tabs[0].wait_for_function("() => window.studio.last.steps === 10")
        assert tabs[0].evaluate("window.studio.last.probabilities") != before
        tabs[1].click("#samples button[data-sample='3']")  # the same sample, read again
        tabs[1].wait_for_timeout(300)
        tabs[1].wait_for_function("() => window.studio.last.label !== undefined")
        assert tabs[1].evaluate("window.studio.last.probabilities") == before
        assert [tab.evaluate("window.violations") for tab in tabs] == [[], []]
        browser.close()


@needs_chromium
def test_the_learner_picks_the_network_to_start_from(norm, starts, tmp_path):
    studio = studio_app.Studio(base_model(), norm, tmp_path / "run", samples(), starts)
    with studio_app.running(studio) as url, playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(WATCH_POLICY)
        page.goto(url)
        page.wait_for_function("() => window.studio && window.studio.last")
        on = "() => [...document.querySelectorAll('#starts button.on')].map(b => b.textContent)"
        assert page.evaluate(on) == ["trained"]
        assert page.evaluate("() => [...document.querySelectorAll('#starts button')]"
                             ".map(b => b.textContent)") == list(starts)
        page.click("#starts button[data-start='half-trained']")
        page.wait_for_function("() => window.studio.last.start === 'half-trained'")
        assert page.evaluate(on) == ["half-trained"]
        p3 = engine_probabilities(starts["half-trained"], norm, samples()[3])[3]
        assert page.text_content("#p3") == f"P {p3:.3f}"  # the figure reads that network
        assert page.text_content("#networks button.on") == "half-trained"
        page.click("#samples button[data-sample='3']")  # a sample knows its label
        page.wait_for_function("() => window.studio.last.label === 3")
        page.click("#teach")
        page.wait_for_function("() => window.studio.last.steps === 1")
        page.click("#reset")  # back to the chosen network, not the loaded one
        page.wait_for_function("() => window.studio.last.steps === undefined")
        assert page.text_content("#p3") == f"P {p3:.3f}" and page.evaluate(on) == ["half-trained"]
        assert page.evaluate("window.violations") == [] and errors == []
        browser.close()


# --- the pad column: projector, phone, keyboard, assistive technology (issue 22) -----------

COLUMN = """() => {
  const col = document.getElementById("studio"), px = e => parseFloat(getComputedStyle(e).fontSize);
  const worded = [...col.querySelectorAll("*")].filter(e => e.getClientRects().length &&
      [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()));
  const captions = [...col.querySelectorAll("h2, h3, b, #answer")]
      .filter(e => e.getClientRects().length);
  return {text: Math.min(...worded.map(px)), caption: Math.min(...captions.map(px)),
          cells: Math.min(...[...document.querySelectorAll("#read8 div")].map(px)),
          pad: document.getElementById("pad").getBoundingClientRect().width,
          scroll: document.documentElement.scrollWidth,
          touch: getComputedStyle(document.getElementById("pad")).touchAction,
          small: [...col.querySelectorAll("button, input, canvas")]
            .filter(e => e.getClientRects().length).map(e => [e.id || e.textContent,
                                                              e.getBoundingClientRect()])
            .filter(([, r]) => r.width < 24 || r.height < 24).map(([name]) => name)};
}"""
READY = "() => window.studio && window.studio.last"


def studio_page(browser, url, **context):
    """A new tab on the studio at ``url``, once it has read its sample; CSP reports kept."""
    page = browser.new_page(**context)
    page.add_init_script(WATCH_POLICY)
    page.goto(url)
    page.wait_for_function(READY)
    return page


@needs_chromium
def test_the_pad_column_reads_on_a_projector_and_fits_a_phone(browser, served):
    sizes = {}
    for name, context in [("1280", {"viewport": {"width": 1280, "height": 900}}),
                          ("1920", {"viewport": {"width": 1920, "height": 1080}}),
                          ("phone", {"viewport": {"width": 390, "height": 844},
                                     "is_mobile": True, "has_touch": True,
                                     "device_scale_factor": 2})]:
        page = studio_page(browser, served, **context)
        page.click("#labels button[data-label='3']")
        page.click("#teach")
        page.wait_for_function("() => window.studio.last.steps === 1")
        sizes[name] = page.evaluate(COLUMN)
        page.close()
    projector = sizes["1280"]
    # The 8×8 reading's numbers were 8 px; every word is now 14 px or more, captions 16.
    assert projector["text"] >= 14 and projector["cells"] >= 14, projector
    assert projector["caption"] >= 16, projector
    # The pad grows with its column: wider on a wide window, the width of a phone.
    assert sizes["1920"]["pad"] > projector["pad"] >= 220, sizes
    phone = sizes["phone"]
    assert phone["pad"] >= 350 and phone["scroll"] <= 390, phone
    assert phone["small"] == [] and projector["small"] == [], sizes
    assert phone["touch"] == "none"  # a finger draws on the pad; it does not scroll the page


def cell_of(page, i: int, j: int) -> int:
    return page.evaluate(f"() => window.studio.bitmap()[{i}][{j}]")


@needs_chromium
def test_the_pad_draws_without_dragging_by_a_click_or_by_keys(browser, served):
    page = studio_page(browser, served, viewport={"width": 1280, "height": 900})
    page.click("#clear")
    page.wait_for_function("() => window.studio.last.counts.flat().every(v => v === 0)")
    box = page.locator("#pad").bounding_box()
    # One click (no drag) inks the cell under it and the pen's spot around it.
    page.mouse.click(box["x"] + box["width"] * 10.5 / 32, box["y"] + box["height"] * 5.5 / 32)
    assert cell_of(page, 5, 10) == 1 and cell_of(page, 5, 12) == 0
    page.wait_for_function("() => window.studio.last.counts[1][2] > 0")
    # The pad is named, explained and focusable; the reading is announced politely.
    pad = page.locator("#pad")
    assert pad.get_attribute("tabindex") == "0" and "drawing pad" in pad.get_attribute(
        "aria-label")
    help_text = page.text_content("#" + pad.get_attribute("aria-describedby"))
    assert "arrow keys" in help_text and "Space or Enter" in help_text
    assert page.get_attribute("#answer", "aria-live") == "polite"
    stage = page.evaluate("() => window.explorer.stage()")
    page.focus("#pad")
    # The cursor is where the click was, (5, 10); the arrows move it (Shift: 4 cells) and
    # never step the stage.
    for key in ["Shift+ArrowDown"] * 3 + ["ArrowDown"] + ["ArrowRight"] * 3:
        page.keyboard.press(key)
    assert page.evaluate("() => window.explorer.stage()") == stage
    assert cell_of(page, 18, 13) == 0
    page.keyboard.press("Space")
    assert cell_of(page, 18, 13) == 1 and cell_of(page, 19, 14) == 1  # the pen's 3×3 spot
    page.keyboard.press("Enter")  # on an inked cell: erased
    assert cell_of(page, 18, 13) == 0 and cell_of(page, 19, 14) == 0
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.studio.last.counts[4][3] > 0")
    assert page.text_content("#answer").endswith("from ink in 2 of the 64 blocks.")
    assert "row 5:" in page.get_attribute("#read8", "aria-label")
    # Keys typed in the file-name field are the field's: the stage does not change.
    page.click("#name")
    page.keyboard.press("End")
    for key in ["ArrowLeft", "ArrowLeft", "ArrowRight"]:
        page.keyboard.press(key)
    page.keyboard.type("x")
    assert page.evaluate("() => window.explorer.stage()") == stage
    assert page.input_value("#name") == "taughxt"
    assert page.evaluate("window.violations") == []
    page.close()


@needs_chromium
def test_after_teaching_what_happened_and_the_preview_are_two_boxes(browser, served):
    page = studio_page(browser, served, viewport={"width": 1280, "height": 900})
    assert not page.is_visible("#taught") and not page.is_visible("#preview")
    page.click("#labels button[data-label='3']")
    page.wait_for_function("() => window.studio.last.label === 3")
    page.click("#teach")
    page.wait_for_function("() => window.studio.last.steps === 1")
    taught = page.evaluate("window.studio.last")
    assert page.is_visible("#taught") and page.is_visible("#preview")
    assert page.text_content("#taught h3") == "What teaching did"
    assert page.text_content("#preview h3") == "Preview: the next step (not taken yet)"
    done, preview = page.text_content("#taught"), page.text_content("#preview")
    assert taught["words"] in done and "Press 'teach' again" not in done
    # In words, not "the 10 sample digits read right: 1 → 2".
    assert (f"Of the 10 sample digits, the network read {taught['samplesBefore']} right before "
            f"this step and {taught['samplesAfter']} after it.") in done
    # The two boxes' percents with the same decimals: "went from 12% to 13%" stood beside
    # "would go from 12.6% to 13.4%", which read as a fall.
    d = next(d for d in range(3) if f"from {percent(taught['before'], d)} to "
             f"{percent(taught['after'], d)}" in done)
    shown = re.findall(r"from ([\d.]+)% to ([\d.]+)%", done + preview)
    assert len(shown) == 2, (done, preview)
    assert all((len(p.split(".")[1]) if "." in p else 0) == d for pair in shown for p in pair)
    assert preview.endswith(taught["preview"]) and "Press 'teach' again" in preview
    assert taught["title"] not in preview
    # Told apart by the frame's style, not only its colour.
    frames = page.evaluate("() => ['taught', 'preview'].map(id => getComputedStyle("
                           "document.getElementById(id)).borderTopStyle)")
    assert frames == ["solid", "dashed"]
    page.click("#clear")  # a new drawing: both boxes go
    assert not page.is_visible("#taught") and not page.is_visible("#preview")
    page.close()


@needs_chromium
def test_axe_finds_nothing_on_the_studio_at_any_stage_after_drawing_and_teaching(browser,
                                                                               served):
    from tests.browser import axe_violations

    page = studio_page(browser, served, viewport={"width": 1280, "height": 900})
    found = {}
    for stage in page.evaluate("() => window.explorer.stages()"):
        page.evaluate(f"() => window.explorer.go(window.explorer.stages().indexOf('{stage}'))")
        found[stage] = axe_violations(page)
    page.click("#clear")
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8, steps=8)
    page.mouse.up()
    page.wait_for_function("() => window.studio.last.counts.flat().some(v => v > 0)")
    found["drawn"] = axe_violations(page)
    page.click("#labels button[data-label='7']")
    page.wait_for_function("() => window.studio.last.label === 7")
    page.click("#teach")
    page.wait_for_function("() => window.studio.last.steps === 1")
    found["taught"] = axe_violations(page)
    assert all(v == [] for v in found.values()), found
    page.close()


@needs_chromium
def test_a_keyboard_only_learner_inks_a_digit_and_teaches_it(browser, served):
    page = studio_page(browser, served, viewport={"width": 1280, "height": 900})
    page.click("#clear")
    page.wait_for_function("() => window.studio.last.counts.flat().every(v => v === 0)")
    page.evaluate("() => document.activeElement.blur()")

    def tab_to(selector: str) -> None:
        for _ in range(200):
            page.keyboard.press("Tab")
            if page.evaluate(f"() => document.activeElement.matches({json.dumps(selector)})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#pad")
    # A '1': a vertical stroke of spots down the middle, two cells apart.
    for _ in range(6):
        page.keyboard.press("Shift+ArrowUp" if _ == 0 else "ArrowDown")
    for _ in range(7):
        page.keyboard.press("Space")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
    page.wait_for_function("() => window.studio.last.counts.flat().filter(v => v > 0)"
                           ".length >= 4")
    assert page.evaluate("() => window.studio.bitmap().flat().reduce((a, b) => a + b)") > 30
    tab_to("#labels button[data-label='1']")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.studio.last.label === 1")
    before = page.evaluate("window.studio.last.probabilities[1]")
    tab_to("#teach10")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.studio.last.steps === 10")
    after = page.evaluate("window.studio.last.probabilities[1]")
    assert after > before
    assert page.text_content("#p1") == f"P {after:.3f}"  # the figure reads the taught network
    page.close()


@needs_chromium
def test_a_teach_brings_both_boxes_into_view_on_a_projector(browser, served):
    page = studio_page(browser, served, viewport={"width": 1280, "height": 900})
    page.click("#labels button[data-label='3']")
    page.wait_for_function("() => window.studio.last.label === 3")
    page.click("#teach")
    page.wait_for_function("() => window.studio.last.steps === 1")
    page.wait_for_timeout(100)
    seen = page.evaluate("() => ['taught', 'preview'].map(id => { const r = document"
                         ".getElementById(id).getBoundingClientRect();"
                         " return r.top >= 0 && r.bottom <= innerHeight; })")
    assert seen == [True, True]  # the preview's foot was at 1,320 px, under the window's
    page.close()


def test_a_read_sends_no_weight_table_and_a_line_is_asked_with_the_same_numbers(client, studio,
                                                                               norm):
    # A read left out each weight's ∂loss/∂w, Δw and w after (4,320 numbers, 41 of its
    # 148 KB); /api/line gives one, printed as the explorer's own tables print it.
    image = samples()[5]
    answer = client.post("/api/read", json={"pixels": image}).json()
    data, reading = answer["data"], answer["data"]["reading"]
    assert "weights" not in next(iter(data["passes"].values()))
    full = teaching.read(studio.model, teaching.parse_digit({"pixels": image}, norm), None)["data"]
    tables = next(iter(full["passes"].values()))["weights"]
    sizes = data["sizes"]
    for layer, j, k in [(1, 0, 0), (1, 15, 63), (2, 3, 7), (3, 9, 15)]:
        line = client.post("/api/line", json={"reading": reading, "layer": layer, "j": j,
                                               "k": k})
        assert line.status_code == 200, line.text
        assert {key: line.json()[key] for key in ("grad", "dw", "after")} == {
            key: tables[layer - 1][key][j][k] for key in ("grad", "dw", "after")}
    # Only the session's last read, a weight that exists, and whole numbers; one line each.
    for body, status, words in [
            ({"reading": reading - 1, "layer": 1, "j": 0, "k": 0}, 409, "'reading'"),
            ({"reading": str(reading), "layer": 1, "j": 0, "k": 0}, 409, "'reading'"),
            ({"reading": reading, "layer": 0, "j": 0, "k": 0}, 422, "'layer'"),
            ({"reading": reading, "layer": 4, "j": 0, "k": 0}, 422, "'layer'"),
            ({"reading": reading, "layer": True, "j": 0, "k": 0}, 422, "'layer'"),
            ({"reading": reading, "layer": 1, "j": sizes[1], "k": 0}, 422, "'j'"),
            ({"reading": reading, "layer": 1, "j": 0, "k": -1}, 422, "'k'"),
            ({"reading": reading, "layer": 2, "j": 0, "k": 16.0}, 422, "'k'"),
            ({"reading": reading, "layer": 1, "j": 0}, 422, "'k'")]:
        response = client.post("/api/line", json=body)
        error = response.json()["error"]
        assert response.status_code == status and words in error and "\n" not in error, body
    # Another site's page sends no session header: refused, as every other request is.
    other = browser_of(app_of(studio))
    assert other.post("/api/line", json={"reading": reading, "layer": 1, "j": 0,
                                         "k": 0}).status_code == 409
    assert other.post("/api/line", content=b'{}', headers={
        "content-type": "text/plain", studio_app.HEADER: client.headers[studio_app.HEADER]}
    ).status_code == 415
    # Nor the network's drawing (its weights, line styles) when the page holds it.
    held = next(iter(data["weights"].values()))["id"]
    again = client.post("/api/read", json={"pixels": samples()[6], "have": held}).json()
    assert again["data"]["weights"] == {"same": held} and again["data"]["reading"] > reading
    other = client.post("/api/read", json={"pixels": image, "have": held + 1}).json()
    assert other["data"]["weights"] == data["weights"]
    bad = client.post("/api/read", json={"pixels": image, "have": "1"})
    assert bad.status_code == 422 and bad.json()["error"].startswith("'have' must be")
    assert client.post("/api/line", json={"reading": reading, "layer": 1, "j": 0,
                                          "k": 0}).status_code == 409


@needs_chromium
def test_a_selected_line_shows_in_the_studio_what_the_full_tables_show(browser, served,
                                                                       studio, norm):
    # The panel of a line the page asks for, against the same reading with every table in
    # its data (as the studio sent it before, and as explore.html holds it), for a line of
    # each layer, and an arrow's spoken name.
    page = studio_page(browser, served, viewport={"width": 1280, "height": 900})
    lines = ["w1-4-27", "w2-3-7", "w3-2-11"]

    def panels() -> list[str]:
        texts = []
        for line in lines:
            page.evaluate("id => window.explorer.select(id)", line)
            page.wait_for_function("() => !document.querySelector('#details')"
                                   ".textContent.includes('…')")
            page.evaluate("() => document.querySelectorAll('#details details')"
                          ".forEach(d => { d.open = true; })")  # its maths, unfolded
            texts.append(page.inner_text("#details"))
        page.evaluate("() => window.explorer.go(window.explorer.stages().indexOf('step4'))")
        arrow = page.evaluate("() => [...document.querySelectorAll('[id^=dw]')]"
                              ".find(el => el.style.display !== 'none').id")
        page.evaluate("id => window.explorer.select(id)", arrow)
        page.wait_for_function("id => !document.getElementById(id).getAttribute('aria-label')"
                               ".includes('…')", arg=arrow)
        texts.append(page.get_attribute(f"#{arrow}", "aria-label"))
        page.evaluate("() => window.explorer.go(0)")
        return texts

    # A second read of it is sent without the network's drawing, which the page holds.
    sample = page.evaluate("() => window.studio.last.label")
    with page.expect_response("**/api/read") as again:
        page.click(f"#samples button[data-sample='{sample}']")  # (read as that digit)
    assert set(again.value.json()["data"]["weights"]) == {"same"}
    page.wait_for_function("n => window.studio.last.data.reading === n",
                           arg=again.value.json()["data"]["reading"])
    counts, label = page.evaluate("() => [window.studio.last.counts, window.studio.last.label]")
    asked = panels()
    assert not page.evaluate("() => 'weights' in Object.values(DATA.passes)[0]")
    full = teaching.read(studio.model, teaching.parse_digit(
        {"pixels": [v for row in counts for v in row]}, norm), label)["data"]
    page.evaluate("data => window.explorer.load(data)", full)
    assert panels() == asked
    assert "w after the step = " in asked[0] and page.evaluate("window.violations") == []
    page.close()


def test_the_studios_connections_send_without_waiting_for_an_ack():
    # Nagle's algorithm held an answer's last segment until the browser's delayed ACK: 40 ms
    # more on half the drawings (asyncio turns it off only on sockets whose proto says TCP).
    import asyncio
    import socket

    sock = studio_app.listening_socket()

    async def accepted_nodelay() -> int:
        seen = asyncio.get_running_loop().create_future()

        def connected(_reader, writer):
            seen.set_result(writer.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname())
        try:
            return await asyncio.wait_for(seen, 5)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    # In a thread of its own: the browser tests' Playwright keeps an event loop running here.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, accepted_nodelay()).result(timeout=10) != 0
