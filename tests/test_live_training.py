"""The studio's live training (issue 23, items 1, 3 and 6): frames streamed by a real server at
the stated rate, equal to an independent replay of the same training; pause, teach and read on
the exact state; sessions apart; the doors of the stream; a weight's story."""

import json
import threading
import time

import numpy as np
import pytest

pytest.importorskip("sse_starlette", reason="the studio needs sse-starlette: "
                    "pip install -e '.[studio]'")
httpx = pytest.importorskip("httpx2", reason="the tests' client is httpx2: pip install httpx2")

import engine  # noqa: E402
from demos.how_it_works import frames  # noqa: E402
from demos.studio import app as studio_app  # noqa: E402
from demos.studio import live, teaching  # noqa: E402
from demos.studio.cli import samples  # noqa: E402
from engine import Value  # noqa: E402
from nn import MLP, Adam, cross_entropy, softmax  # noqa: E402
from nn.compiled import compile_step  # noqa: E402
from tests.test_studio import app_of, browser_of, learner, norm  # noqa: E402, F401

DIGIT = samples()[3]


@pytest.fixture(scope="module")
def starts(norm):  # noqa: F811
    return teaching.starting_points(MLP(64, [16, 16, 10], rng=0), norm)


@pytest.fixture()
def studio(norm, starts, tmp_path):  # noqa: F811
    return studio_app.Studio(starts["trained"], norm, tmp_path / "run", samples(),
                             starts=starts)


def session_of(client, url: str) -> dict:
    """Headers of a new session on the real server at ``url``."""
    return {studio_app.HEADER: client.post(url + "api/session", json={}).json()["session"]}


def stream_frames(client, url, headers, seconds: float, most: int = 10**9):
    """Frames (and the time each came) from the session's stream for ``seconds``."""
    got = []
    token = headers[studio_app.HEADER]
    with client.stream("GET", f"{url}api/stream?session={token}") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        end = time.monotonic() + seconds
        for line in response.iter_lines():
            if line.startswith("data:"):
                got.append((time.monotonic(), json.loads(line[5:])))
            if time.monotonic() > end or len(got) >= most:
                break
    return got


class Replay:
    """An independent replay of the studio's recipe: the untrained network, Adam (lr 0.02),
    batches of 32 in the run's order, each step the compiled step and optimizer.step() on the
    Values (no training block), the drawing read by the eager engine."""

    def __init__(self, starts, norm):  # noqa: F811
        self.model = teaching.copy_model(starts["untrained"])
        self.optimizer = Adam(self.model.parameters(), lr=0.02)
        self.step = compile_step(self.model, exact=True)
        self.data = live.training_set(self.model, norm)
        self.x = (np.array(DIGIT) / 16.0 - norm.mean) / norm.std
        self.steps = 0

    def batch(self) -> float:
        epoch, b = divmod(self.steps, -(-len(self.data.x) // 32))
        order = np.random.default_rng([0, epoch]).permutation(len(self.data.x))
        rows = order[b * 32:(b + 1) * 32]
        self.optimizer.zero_grad()
        loss = self.step(self.data.x[rows], self.data.labels[rows])
        self.optimizer.step()
        self.steps += 1
        return loss

    def weights(self):
        return [np.array([[w.data for w in n.w] for n in layer.neurons])
                for layer in self.model.layers]

    def shading(self):
        x = [Value(float(v)) for v in self.x]
        hidden = []
        with engine.no_grad():
            for layer in self.model.layers:
                x = layer(x)
                hidden.append(np.array([v.data for v in x]))
            p = [float(v) for v in softmax(x)]
        return frames.shading(hidden[:-1], np.array(p)), p


def test_the_stream_gives_20_frames_a_second_and_the_loss_falls_over_an_epoch(studio):
    with studio_app.running(studio) as url, httpx.Client(timeout=20) as client:
        headers = session_of(client, url)
        played = client.post(url + "api/train", headers=headers, json={
            "action": "play", "speed": 30, "start": "untrained", "pixels": DIGIT}).json()
        assert played["playing"] and played["frame"]["step"] == 0
        got = stream_frames(client, url, headers, 3.2)
    times = [t for t, _ in got if t - got[0][0] <= 3.0]
    assert len(times) / 3.0 >= 20, f"{len(times) / 3.0:.1f} frames a second"
    steps = [f["step"] for _, f in got]
    assert steps == list(range(1, len(got) + 1))  # normal: one batch a frame, none lost
    per_epoch = studio.training_set().per_epoch
    losses = [f["loss"] for _, f in got][:per_epoch]
    assert len(losses) == per_epoch and got[per_epoch][1]["epoch"] == 1
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    assert [f["accuracy"] is not None for _, f in got[:20]] == [s % 10 == 0 for s in steps[:20]]


def test_slow_sends_5_frames_a_second_each_one_batch_further(studio):
    with studio_app.running(studio) as url, httpx.Client(timeout=20) as client:
        headers = session_of(client, url)
        played = client.post(url + "api/train", headers=headers, json={
            "action": "play", "speed": 5, "start": "untrained", "pixels": DIGIT}).json()
        assert played["speed"] == 5
        got = stream_frames(client, url, headers, 2.1)
    times = [t for t, _ in got]
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 4 <= rate <= 6, f"{rate:.1f} frames a second"
    assert 0.17 <= float(np.median(np.diff(times))) <= 0.23
    assert [f["step"] for _, f in got] == list(range(1, len(got) + 1))  # never a frame again


def test_the_pace_of_each_speed():
    assert live.SPEEDS == (5, 30, 300)
    assert [live.pace(speed) for speed in live.SPEEDS] == [(1, 0.2), (1, 1 / 30), (10, 1 / 30)]


def test_streamed_frames_equal_an_independent_replay(studio, starts, norm):  # noqa: F811
    with studio_app.running(studio) as url, httpx.Client(timeout=20) as client:
        headers = session_of(client, url)
        client.post(url + "api/train", headers=headers, json={
            "action": "play", "speed": 300, "start": "untrained", "pixels": DIGIT})
        got = [f for _, f in stream_frames(client, url, headers, 10, most=8)]
        paused = client.post(url + "api/train", headers=headers,
                             json={"action": "pause"}).json()
        read = client.post(url + "api/read", headers=headers, json={"pixels": DIGIT}).json()
    replay = Replay(starts, norm)
    test = studio.watched.x[studio.watched.samples:], studio.watched.labels[studio.watched.samples:]
    for frame in got:
        loss = [replay.batch() for _ in range(10)][-1]  # fast: 10 batches a frame
        assert frame["step"] == replay.steps and frame["loss"] == float(f"{loss:.7g}")
        assert frame["lines"] == frames.line_codes(replay.weights())
        shading, p = replay.shading()
        assert frame["digits"] == {"drawing": shading} and frame["probabilities"] == p
        if frame["accuracy"] is not None:
            right = replay.step.logits(test[0]).argmax(axis=1) == test[1]
            assert frame["accuracy"] == float(f"{right.mean():.7g}")
    # Paused, the Values hold the state it stopped at (a frame or so after the last one read:
    # the stream trains on until the pause arrives), the replay's at that step, and a read
    # gives its probabilities.
    stopped = paused["frame"]
    assert stopped["step"] >= got[-1]["step"] and not paused["playing"]
    while replay.steps < stopped["step"]:
        replay.batch()
    assert stopped["lines"] == frames.line_codes(replay.weights())
    assert stopped["probabilities"] == replay.shading()[1]
    assert read["probabilities"] == stopped["probabilities"]


def test_one_batch_then_teach_works_on_that_exact_state(studio, norm):  # noqa: F811
    client = learner(app_of(studio))
    client.post("/api/reset", json={"start": "untrained"})
    for step in (1, 2, 3):
        frame = client.post("/api/train", json={"action": "batch", "pixels": DIGIT}).json()
        assert frame["frame"]["step"] == step and not frame["playing"]
    p = frame["frame"]["probabilities"]
    assert client.post("/api/read", json={"pixels": DIGIT}).json()["probabilities"] == p
    taught = client.post("/api/teach", json={"pixels": DIGIT, "label": 3}).json()
    assert taught["before"] == p[3] and taught["after"] > taught["before"]
    after = client.post("/api/train", json={"action": "pause"}).json()["frame"]
    assert after["step"] == 3 and after["probabilities"][3] == taught["after"]
    assert client.post("/api/train", json={"action": "batch"}).json()["frame"]["step"] == 4


def test_two_sessions_train_apart(studio):
    app = app_of(studio)
    one, two, fresh = learner(app), learner(app), learner(app)
    for client in (one, two, fresh):
        client.post("/api/reset", json={"start": "untrained"})
    for _ in range(3):
        a = one.post("/api/train", json={"action": "batch", "pixels": DIGIT}).json()["frame"]
    b = two.post("/api/train", json={"action": "batch", "pixels": DIGIT}).json()["frame"]
    c = fresh.post("/api/train", json={"action": "batch", "pixels": DIGIT}).json()["frame"]
    assert (a["step"], b["step"]) == (3, 1) and b == c and a["lines"] != b["lines"]


def test_a_reset_or_start_while_playing_starts_the_training_afresh(studio):
    client = learner(app_of(studio))
    client.post("/api/train", json={"action": "play", "start": "untrained", "pixels": DIGIT})
    client.post("/api/train", json={"action": "batch"})
    reset = client.post("/api/reset", json={"start": "half-trained"}).json()
    assert reset["start"] == "half-trained"
    assert client.post("/api/train", json={"action": "pause"}).status_code == 409  # none yet
    answer = client.post("/api/train", json={"action": "batch"}).json()
    assert answer["frame"]["step"] == 1 and not answer["playing"]


def test_bad_train_requests_get_one_line(studio):
    client = learner(app_of(studio))
    for body, words in [({"action": "fly"}, "'action' must be one of"),
                        ({"action": "speed", "speed": 3}, "'speed' must be one of 5, 30, 300"),
                        ({"action": "pause", "start": "untrained"}, "'start' goes with"),
                        ({"action": "play", "start": "wise"}, "'start' must be one of")]:
        answer = client.post("/api/train", json=body)
        assert answer.status_code == 422 and words in answer.json()["error"]
    story = client.post("/api/story", json={"layer": 1, "j": 0, "k": 0})
    assert story.status_code == 409 and "press play" in story.json()["error"]
    client.post("/api/train", json={"action": "batch"})
    story = client.post("/api/story", json={"layer": 3, "j": 10, "k": 0})
    assert story.status_code == 422 and "'j' must be a whole number from 0 to 9" in story.text


def test_the_streams_doors(studio):
    app = app_of(studio)
    client = learner(app)
    token = client.headers[studio_app.HEADER]
    path = f"/api/stream?session={token}"
    stranger = browser_of(app)
    stranger.base_url = "http://evil.example:8765"
    assert stranger.get(path).status_code == 421
    for header, status in [({"sec-fetch-site": "cross-site"}, 403),
                           ({"sec-fetch-site": "same-site"}, 403),
                           ({"origin": "http://evil.example"}, 403),
                           ({"origin": "http://127.0.0.1:9"}, 403)]:
        answer = client.get(path, headers=header)
        assert answer.status_code == status and len(answer.json()["error"].splitlines()) == 1
        assert answer.headers["x-frame-options"] == "DENY"
    unknown = client.get("/api/stream?session=nobody")
    assert unknown.status_code == 409 and "reload the page" in unknown.json()["error"]
    assert client.get("/api/stream").status_code == 409


@pytest.mark.slow
def test_a_second_stream_ends_the_first_and_leaving_stops_the_training(studio):
    with studio_app.running(studio) as url, httpx.Client(timeout=20) as client:
        headers = session_of(client, url)
        token = headers[studio_app.HEADER]
        client.post(url + "api/train", headers=headers, json={"action": "play", "speed": 30})
        ended = threading.Event()

        def first():
            with client.stream("GET", f"{url}api/stream?session={token}") as response:
                assert response.headers["x-frame-options"] == "DENY"
                assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
                for _ in response.iter_lines():
                    pass
            ended.set()

        thread = threading.Thread(target=first, daemon=True)
        thread.start()
        time.sleep(0.5)
        assert not ended.is_set()
        got = stream_frames(client, url, headers, 0.5)
        assert ended.wait(3), "the first stream was not ended by the second"
        assert got
        # The second went away too: the training stands still, though it still "plays".
        time.sleep(0.3)
        before = client.post(url + "api/train", headers=headers,
                             json={"action": "speed", "speed": 30}).json()
        time.sleep(0.6)
        after = client.post(url + "api/train", headers=headers,
                            json={"action": "speed", "speed": 30}).json()
        assert before["playing"] and after["frame"]["step"] == before["frame"]["step"] > 0


@pytest.mark.slow
def test_streams_at_once_are_capped_and_the_server_stops_with_one_open(studio, monkeypatch):
    monkeypatch.setattr(studio_app, "STREAMS", 1)
    client = httpx.Client(timeout=20)
    with studio_app.running(studio) as url:
        one, two = session_of(client, url), session_of(client, url)
        client.post(url + "api/train", headers=one, json={"action": "play"})
        opened = client.stream("GET", f"{url}api/stream?session={one[studio_app.HEADER]}")
        response = opened.__enter__()
        # The lines' iterator is kept: dropped, it would close the stream's connection, and
        # the server could end the first stream before the second asks.
        lines = response.iter_lines()
        first = next(lines)
        # Streamed: were it let through, its body would never end (a failure, not a hang).
        with client.stream("GET", f"{url}api/stream?session={two[studio_app.HEADER]}") as refused:
            assert refused.status_code == 429, (refused.status_code, len(studio.streams), first,
                                                studio.closing.is_set(),
                                                studio_app.AppStatus.should_exit)
            assert "at once" in json.loads(refused.read())["error"]
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 3  # running() returned with the stream open
    opened.__exit__(None, None, None)
    client.close()


def test_a_weights_story_equals_an_independent_loops_values_and_grads(studio, starts, norm):  # noqa: F811
    client = learner(app_of(studio))
    client.post("/api/reset", json={"start": "untrained"})
    for _ in range(4):
        client.post("/api/train", json={"action": "batch", "pixels": DIGIT, "label": 5})
    weight = client.post("/api/story", json={"layer": 2, "j": 3, "k": 4}).json()
    neuron = client.post("/api/story", json={"layer": 1, "j": 2}).json()
    replay = Replay(starts, norm)
    values, grads, a, delta = [], [], [], []
    for step in range(5):
        if step:
            replay.batch()
        model = replay.model
        x = [Value(float(v)) for v in replay.x]
        for p in model.parameters():
            p.grad = 0.0
        cross_entropy(model(x), 5).backward()  # the eager engine's backward, on the digit
        w = model.layers[1].neurons[3].w[4]
        values.append(w.data)
        grads.append(w.grad)
        delta.append(model.layers[0].neurons[2].b.grad)
        with engine.no_grad():
            a.append(model.layers[0]([Value(float(v)) for v in replay.x])[2].data)
    assert weight["steps"] == neuron["steps"] == [0, 1, 2, 3, 4]
    assert weight["value"] == values and weight["grad"] == grads
    assert neuron["a"] == a and neuron["delta"] == delta
    assert weight["now"]["grad"] == studio_app.explorer.show(grads[-1])
    assert "layer 1" in weight["now"]["aFrom"] and weight["label"] == 5


@pytest.mark.slow
def test_ctrl_c_stops_the_studio_command_with_a_stream_open(tmp_path):
    # The real command: uvicorn waits for open connections, so a stream that never ended
    # would hang it (sse-starlette's word of the signal ends the stream).
    import signal
    import subprocess
    import sys

    from demos.studio.app import listening_socket

    with listening_socket() as sock:
        port = sock.getsockname()[1]  # a free port, closed again before the studio takes it
    studio = subprocess.Popen([sys.executable, "-m", "demos.studio", "--port", str(port),
                               "--out", str(tmp_path / "run")], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        with httpx.Client(timeout=20) as client:
            for _ in range(600):
                try:
                    client.get(url)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            headers = session_of(client, url)
            client.post(url + "api/train", headers=headers, json={"action": "play"})
            token = headers[studio_app.HEADER]
            with client.stream("GET", f"{url}api/stream?session={token}") as response:
                lines = response.iter_lines()  # kept: dropped, it would close the stream
                next(lines)
                stopping = time.monotonic()
                studio.send_signal(signal.SIGINT)
                out, _ = studio.communicate(timeout=10)
        assert time.monotonic() - stopping < 5 and "studio stopped" in out
    finally:
        if studio.poll() is None:
            studio.kill()
            studio.wait()


def test_the_history_is_thinned_keeping_the_first_and_the_last(studio, monkeypatch):
    monkeypatch.setattr(live, "HISTORY", 10)
    client = learner(app_of(studio))
    client.post("/api/reset", json={"start": "untrained"})
    for _ in range(25):
        client.post("/api/train", json={"action": "batch", "pixels": DIGIT, "label": 3})
    steps = client.post("/api/story", json={"layer": 3, "j": 3, "k": 0}).json()["steps"]
    assert steps[0] == 0 and steps[-1] == 25 and len(steps) <= 10
    assert steps == sorted(set(steps))
    # A teach while paused replaces the moment at its step (the taught state is the state
    # now): the steps stay strictly increasing, and the last point is the taught state.
    before = client.post("/api/story", json={"layer": 3, "j": 3}).json()
    taught = client.post("/api/teach", json={"pixels": DIGIT, "label": 3}).json()
    story = client.post("/api/story", json={"layer": 3, "j": 3}).json()
    assert story["steps"] == steps and taught["after"] > taught["before"]
    assert story["a"][-1] > before["a"][-1] and story["a"][:-1] == before["a"][:-1]


@pytest.mark.slow
def test_a_dropped_sessions_stream_ends(studio, monkeypatch):
    monkeypatch.setattr(studio_app, "SESSIONS", 1)  # one taught model kept: B's drops A's
    with studio_app.running(studio) as url, httpx.Client(timeout=20) as client:
        one, two = session_of(client, url), session_of(client, url)
        client.post(url + "api/train", headers=one, json={"action": "play"})
        with client.stream("GET", f"{url}api/stream?session={one[studio_app.HEADER]}") as r:
            lines = r.iter_lines()
            next(lines)
            client.post(url + "api/train", headers=two, json={"action": "batch"})
            ended = time.monotonic()
            for _ in lines:
                assert time.monotonic() - ended < 3, "the dropped session's stream goes on"
        gone = client.post(url + "api/train", headers=one, json={"action": "pause"})
        assert gone.status_code == 409


def live_of(studio, client) -> live.Live:
    """The live training of the in-process ``client``'s session."""
    return studio._sessions[client.headers[studio_app.HEADER]].live


@pytest.mark.slow
def test_closed_streams_give_their_slots_back(studio, monkeypatch):
    # Each reload of a page closes its stream: the cap counts the streams open now, so that
    # after STREAMS of them were closed (or asked with HEAD, which never starts one), one opens.
    monkeypatch.setattr(studio_app, "STREAMS", 2)
    with studio_app.running(studio) as url, httpx.Client(timeout=20) as client:
        for _ in range(3):
            for _ in range(2):
                token = session_of(client, url)[studio_app.HEADER]
                with client.stream("GET", f"{url}api/stream?session={token}") as response:
                    assert response.status_code == 200
            for _ in range(40):  # the server sees the client leave within a frame or two
                if not studio.streams:
                    break
                time.sleep(0.05)
            token = session_of(client, url)[studio_app.HEADER]
            assert client.head(f"{url}api/stream?session={token}").status_code == 200
        time.sleep(0.3)
        token = session_of(client, url)[studio_app.HEADER]
        with client.stream("GET", f"{url}api/stream?session={token}") as response:
            assert response.status_code == 200, response.read()
        time.sleep(0.3)
        assert not studio.streams


def test_a_long_runs_kept_moments_are_spread_evenly(studio):
    client = learner(app_of(studio))
    client.post("/api/reset", json={"start": "untrained"})
    client.post("/api/train", json={"action": "batch", "pixels": DIGIT, "label": 3})
    training = live_of(studio, client)
    for batches in [10] * 250 + [1] * 7:  # fast (10 batches a frame), then one at a time
        training.advance(batches)
    training.pause()
    steps = client.post("/api/story", json={"layer": 3, "j": 3}).json()["steps"]
    assert steps[0] == 0 and steps[-1] == training.steps == 2508
    assert len(steps) <= live.HISTORY + 1 and steps == sorted(set(steps))
    assert max(np.diff(steps)) <= 2 * 2508 / live.HISTORY, steps
    assert len(steps) >= live.HISTORY / 2


def test_a_story_is_told_on_the_drawing_and_label_it_is_sent(studio):
    app = app_of(studio)
    other = samples()[7]
    one, two = learner(app), learner(app)
    for client, pixels in ((one, DIGIT), (two, other)):
        client.post("/api/reset", json={"start": "untrained"})
        for _ in range(3):
            client.post("/api/train", json={"action": "batch", "pixels": pixels, "label": 5})
    # One trained following DIGIT toward 5; its story on `other` toward 7 is two's own.
    two.post("/api/train", json={"action": "pause", "pixels": other, "label": 7})
    for question in ({"layer": 2, "j": 3, "k": 4}, {"layer": 1, "j": 2}):
        sent = one.post("/api/story", json={**question, "pixels": other, "label": 7}).json()
        assert sent == two.post("/api/story", json=question).json() and sent["label"] == 7
    # Without a label, a drawing's story is toward the network's answer on it.
    read = one.post("/api/read", json={"pixels": other}).json()
    guess = int(np.argmax(read["probabilities"]))
    assert one.post("/api/story", json={"layer": 1, "j": 2, "pixels": other}).json()["label"] \
        == guess
    # Nothing sent: the live training's digit and label, as before.
    assert one.post("/api/story", json={"layer": 1, "j": 2}).json()["label"] == 5
    bad = one.post("/api/story", json={"layer": 1, "j": 2, "pixels": [99] * 64})
    assert bad.status_code == 422 and len(bad.json()["error"].splitlines()) == 1


def test_stories_at_once_compute_each_pass_once_and_the_cache_stays_bounded(studio,
                                                                             monkeypatch):
    counted = []
    real = live.cross_entropy
    monkeypatch.setattr(live, "cross_entropy", lambda *a: counted.append(1) or real(*a))
    with studio_app.running(studio) as url, httpx.Client(timeout=30) as client:
        headers = session_of(client, url)
        client.post(url + "api/reset", headers=headers, json={"start": "untrained"})
        for _ in range(30):
            client.post(url + "api/train", headers=headers, json={
                "action": "batch", "pixels": DIGIT, "label": 3})
        session = studio._sessions[headers[studio_app.HEADER]]
        answers, start = [], threading.Barrier(4)

        def ask(j):
            start.wait()
            answers.append(client.post(url + "api/story", headers=headers,
                                       json={"layer": 2, "j": j}).json())

        threads = [threading.Thread(target=ask, args=(j,)) for j in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [len(a["steps"]) for a in answers] == [31] * 4
        assert len(counted) == 31, f"{len(counted)} eager passes for 31 moments"
        for pixels in samples().values():  # other drawings: the cache holds the last one's
            client.post(url + "api/story", headers=headers,
                        json={"layer": 2, "j": 0, "pixels": pixels})
        assert len(session.live.passes.by) == 31


def test_pause_or_speed_before_any_training_is_refused_and_makes_nothing(studio):
    client = learner(app_of(studio))
    client.post("/api/read", json={"pixels": DIGIT})
    for body in ({"action": "pause"}, {"action": "speed", "speed": 5}):
        answer = client.post("/api/train", json=body)
        assert answer.status_code == 409 and "press play or one batch" in answer.json()["error"]
    session = studio._sessions[client.headers[studio_app.HEADER]]
    assert session.live is None and session.model is None


@pytest.mark.slow
def test_a_failing_training_ends_its_stream_with_one_error_event(studio, monkeypatch, capfd):
    def broken(self, batches):
        raise RuntimeError("the training broke at /some/private/path")

    monkeypatch.setattr(live.Live, "advance", broken)
    with studio_app.running(studio) as url, httpx.Client(timeout=20) as client:
        headers = session_of(client, url)
        client.post(url + "api/train", headers=headers, json={"action": "play"})
        token = headers[studio_app.HEADER]
        started = time.monotonic()
        with client.stream("GET", f"{url}api/stream?session={token}") as response:
            lines = [line for line in response.iter_lines() if line.strip()]
        assert time.monotonic() - started < 5  # it ended
        paused = client.post(url + "api/train", headers=headers,
                             json={"action": "speed", "speed": 30}).json()
    assert lines[0] == "event: error" and len(lines) == 2, lines
    assert "RuntimeError" in lines[1] and "/some/private" not in lines[1]
    assert not paused["playing"]
    assert "the training broke at /some/private/path" in capfd.readouterr().err
