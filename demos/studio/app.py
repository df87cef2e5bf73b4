"""The studio's web app (Starlette): the explorer's page with a drawing pad, and a JSON API
whose every number comes from :mod:`demos.studio.teaching`, computed by the engine.

    GET  /              the page, with a new session of its own
    POST /api/session   a new session, for other clients: {"session": id}
    POST /api/read      {"bitmap": 32×32 of 0/1 | "pixels": 64 counts, "label"?: 0..9,
                        "have"?: id}: the answer's data.weights is {"same": id} when the
                        network's drawing is the one the page holds (its data.weights' id)
    POST /api/line      {"reading": n, "layer": 1.., "j": …, "k": …}: one weight's ∂loss/∂w,
                        Δw and w after the step in the session's last read (which its answer
                        numbers as data.reading; the read sends no weight's, 4,320 numbers)
    POST /api/teach     {… the drawing, "label": 0..9, "steps": 1 | 10}: with its ripple,
                        the digits whose answers it changed (teaching.ripple)
    POST /api/reset     {"start"?: "untrained" | "half-trained" | "trained"}: back to that
                        network (default: the one the session started from)
    POST /api/save      {"name": "mine"}: the taught model as run_dir/mine.json (new files only)
    POST /api/train     {"action": "play" | "pause" | "batch" | "speed", "speed"?: 5 | 30 |
                        300 (batches a second), "start"?: a network (with play: train from
                        it), the drawing?}: the session's live training (demos.studio.live),
                        with its frame now
    GET  /api/stream?session=ID   server-sent events "frame" while the session plays (its
                        training advances only while this is open): one a batch up to 30
                        batches a second (5 frames a second at 5), 30 a second beyond
    POST /api/story     {"layer": 1.., "j": …, "k"?: …, the drawing?, "label"?: 0..9}: a
                        weight's (or a neuron's) story over the live training: its value and
                        grad (or a and δ) at each kept moment and now, on the drawing toward
                        the label sent (default: the training's; with a drawing and no label,
                        the network's answer on it)

The doors: a request must name the studio itself as its Host (127.0.0.1, localhost or [::1],
with the studio's port), or it is a 421 that no route sees, since a page on another site whose
name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own name. Every response
forbids framing and any script or style but the page's own (:func:`policy`).

Every page (every tab) teaches its own copy of the model: its session id comes with the page
and goes back in the ``X-Studio-Session`` header of each request (a header another site's
page cannot send without the studio's permission, which it never gives). Loading a page costs
nothing but the id (any site can make a browser load it); a session reads the loaded model
until it first teaches, when it gets its copy, and at most ``SESSIONS`` copies are kept, the
least recently used dropped first. Requests are JSON (``Content-Type: application/json``). A
bad request is a 4xx with a one-line ``{"error": …}``; nothing a request holds can crash the
server, and no answer shows where the run directory is.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import html
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import numpy as np
from sse_starlette import EventSourceResponse
from sse_starlette.sse import AppStatus
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from demos.how_it_works import explorer
from demos.how_it_works.readings import Backprop
from demos.studio import live as training
from demos.studio import teaching
from demos.studio.teaching import RequestError
from nn import MLP
from nn.compiled import CompiledStep, compile_step

MAX_BODY = 64 * 1024  # bytes: a 32×32 bitmap as JSON is about 2 KB
SESSIONS = 32  # taught models kept in memory, one per browser session that taught
KNOWN = 1024  # sessions that have asked something but never taught (an id and a count each)
ISSUED = 1024  # ids handed out with a page and not yet used (any site can make a browser
#                load the page, so these are the first forgotten, oldest first)
MAX_SAVES = 100  # files one session may write, so that a runaway client cannot fill the disk
MAX_SAVES_IN_ALL = 1000  # and all sessions together, in one run of the studio
HEADER = "x-studio-session"
PAGE = Path(__file__).with_name("studio.html")
HOSTS = ("127.0.0.1", "localhost", "[::1]")  # the names of this machine a browser sends
STREAMS = 8  # live training streams open at once (each trains while its page plays)
# The shortest time between two frames of a stream (training.PERIOD): 30 a second, so that a
# busy machine (a frame waits for the lock while a read runs) still shows the 20 a second a
# moving picture needs; slower speeds space their frames further (training.pace).
PERIOD = training.PERIOD


@dataclass
class Session:
    """One page's session: the network it starts from, its own model once it has taught
    (before, it reads that one), and how many files it has saved."""

    model: MLP | None = None
    saves: int = 0
    start: str = teaching.NETWORK
    last: tuple[int, Backprop] | None = None  # its last read, numbered, for /api/line
    compiled: tuple[MLP, CompiledStep] | None = None  # its model's traced forward (ripple)
    live: training.Live | None = None  # its live training, once it has pressed play
    stream: object | None = None  # its open stream (a new one ends the old)


class Studio:
    """The loaded model, its normalisation, the run directory, and each session. ``starts``:
    the other networks a session may start from by name (:func:`teaching.starting_points`);
    the loaded model is always one, "trained"."""

    def __init__(self, model: MLP, norm: teaching.Normalisation, run_dir: Path,
                 samples: dict[int, list[int]], starts: dict[str, MLP] | None = None,
                 held_out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
        self.starts = {**(starts or {}), teaching.NETWORK: model}
        for start in self.starts.values():
            teaching.check_model(start)
        self.model, self.norm, self.run_dir, self.samples = model, norm, Path(run_dir), samples
        # The digits a teach's ripple is told on: the samples, and the run's test split.
        self.watched = teaching.watched(norm, samples, held_out or teaching.held_out(model))
        teaching.remove_unfinished_saves(self.run_dir)  # left by a save that was killed
        self._issued: OrderedDict[str, None] = OrderedDict()
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self.lock = threading.Lock()  # the engine's work runs one request at a time
        # Made once, at start (the loaded model it shows never changes): a model that cannot
        # be drawn is refused here with one line, not served as a page of 500s.
        self._page = studio_page(model, norm, samples)
        self.policy = policy(self._page)  # the Content-Security-Policy of every response
        self.saves = 0  # files saved by every session of this run
        self._training_set: training.TrainingSet | None = None  # made at the first play
        self.streams: set = set()  # the open streams' generators (each gives its slot back)
        self.closing = threading.Event()  # set when the server stops: streams end
        self.reads = 0  # reads answered, which number them

    def training_set(self) -> training.TrainingSet:
        """The run's training images, standardised: prepared once, for every session."""
        if self._training_set is None:
            self._training_set = training.training_set(self.model, self.norm)
        return self._training_set

    def live(self, session: Session) -> training.Live:
        """The session's live training, on its own model (made, with fresh Adam state and
        counters, when the session's model changed: a reset or a new start)."""
        model = self.taught(session)
        if session.live is None or session.live.model is not model:
            n = self.watched.samples  # the held-out digits follow the samples
            digit = (session.live.digit if session.live is not None else
                     self.norm.digit(np.array(self.samples[3]).reshape(8, 8)))
            session.live = training.Live(model, self.training_set(),
                                         (self.watched.x[n:], self.watched.labels[n:]), digit)
        return session.live

    def alive(self, session: Session) -> bool:
        """Whether the session is still kept (beyond SESSIONS taught ones, it was dropped)."""
        return any(s is session for s in self._sessions.values())

    def new_session(self) -> str:
        """A new session's id. It costs no model: only the ISSUED newest unused ids are
        remembered, apart from the sessions in use, which loading pages never drops."""
        token = secrets.token_urlsafe(16)
        self._issued[token] = None
        while len(self._issued) > ISSUED:
            self._issued.popitem(last=False)
        return token

    def session(self, token: str | None) -> Session:
        """The session of a request's id (its first use starts it); a RequestError (409) for an id
        that is unknown or was dropped."""
        if token in self._issued:
            del self._issued[token]
            self._sessions[token] = Session()
            self._drop(lambda s: s.model is None, KNOWN)
        elif token not in self._sessions:
            raise RequestError("this page's session is not known here (the studio keeps "
                               f"{SESSIONS} taught models, or it was restarted): reload the "
                               "page", 409)
        self._sessions.move_to_end(token)
        return self._sessions[token]

    def model_of(self, session: Session) -> MLP:
        """The model a session reads: its own once it has taught, else the one it starts
        from."""
        return self.starts[session.start] if session.model is None else session.model

    def taught(self, session: Session) -> MLP:
        """The session's own model, copied from its start when it first teaches; beyond
        SESSIONS taught models, the least recently used taught session is dropped (never one
        for a session that only reads)."""
        if session.model is None:
            session.model = teaching.copy_model(self.starts[session.start])
            self._drop(lambda s: s.model is not None, SESSIONS)
        return session.model

    def _drop(self, which: Callable[[Session], bool], most: int) -> None:
        """Forget the least recently used sessions ``which`` picks, beyond ``most`` of them."""
        picked = [token for token, s in self._sessions.items() if which(s)]
        for token in picked[:max(len(picked) - most, 0)]:
            del self._sessions[token]

    def page(self, token: str) -> str:
        """The page for a new session ``token``."""
        return self._page.replace("@SESSION@", json.dumps(token))

def studio_page(model: MLP, norm: teaching.Normalisation,
                samples: dict[int, list[int]]) -> str:
    """The explorer's page on a sample '3', with the pad and its script added (its session
    left as ``@SESSION@``, in a data block: the scripts never change); a ValueError in one
    line for a model whose numbers overflow when it reads a digit."""
    try:
        digit = norm.digit(np.array(samples[3]).reshape(8, 8))
        guess = int(np.argmax(teaching.probabilities(model, digit)))
        extra = PAGE.read_text(encoding="utf-8").replace(
            "@SAMPLES@", json.dumps(samples, separators=(",", ":")))
        return explorer.page([teaching.explorer_run(model, digit, guess)],
                             "glassgrad studio: draw a digit, teach the network", extra)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"the model cannot be drawn: its numbers overflow when it reads a "
                         f"digit ({e}); train it again with a smaller --lr") from None


def policy(page: str) -> str:
    """A Content-Security-Policy that lets ``page`` run its own inline scripts and styles
    (named by their SHA-256, with the ``style="…"`` attributes it has) and ask the studio
    itself, and nothing else: no other code, no framing, no forms, no base URL."""
    scripts = [body for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
               if "application/json" not in attrs]  # data blocks are never run
    styles = re.findall(r"<style[^>]*>(.*?)</style>", page, re.S)
    attributes = [html.unescape(v) for v in re.findall(r'\sstyle="([^"]*)"', page)]

    def hashes(texts: list[str]) -> str:
        return " ".join(sorted({"'sha256-" + base64.b64encode(hashlib.sha256(
            text.encode("utf-8")).digest()).decode("ascii") + "'" for text in texts}))

    # A style attribute may match a hash only with 'unsafe-hashes' (CSP level 3).
    style = ("'unsafe-hashes' " if attributes else "") + hashes(styles + attributes)
    none = "'none'"
    return (f"default-src 'none'; script-src {hashes(scripts) or none}; "
            f"style-src {style or none}; connect-src 'self'; img-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class Doors:
    """ASGI middleware around the whole app (its 500s too): a request whose ``Host`` is not
    the studio's own address is a 421 that reaches no route, and every response carries
    the headers that keep other sites out (the policy, no framing, no sniffing, no
    referrer, no caching of a page's session)."""

    def __init__(self, app, port: int, policy: str):
        self.app, self.port = app, port
        # A browser leaves out the port only when it is the scheme's own.
        self.hosts = {f"{name}:{port}" for name in HOSTS} | (set(HOSTS) if port == 80 else set())
        self.headers = [(b"content-security-policy", policy.encode("ascii")),
                        (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                        (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] != "http":  # a WebSocket, say: no route takes one, and no other site
            return await send({"type": "websocket.close", "code": 1008})  # may open one
        headers = self.headers

        async def guarded(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        hosts = [v.decode("latin-1") for k, v in scope["headers"] if k == b"host"]
        if len(hosts) != 1 or hosts[0].lower() not in self.hosts:
            named = repr(hosts[0][:80]) if len(hosts) == 1 else "none" if not hosts else "two"
            response = JSONResponse({"error": f"this studio answers as 127.0.0.1:{self.port}, "
                                     f"localhost:{self.port} or [::1]:{self.port} only, and "
                                     f"this request named Host {named}"}, status_code=421)
            return await response(scope, receive, guarded)
        await self.app(scope, receive, guarded)


async def _body(request: Request) -> dict:
    """The request's JSON object, at most MAX_BODY bytes."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise RequestError("the body must be JSON, sent as Content-Type: application/json",
                           415)
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()
                                     and int(declared[:12]) <= MAX_BODY):
        raise RequestError(f"the body must be at most {MAX_BODY:,} bytes", 413)
    size, chunks = 0, []
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise RequestError(f"the body must be at most {MAX_BODY:,} bytes", 413)
            chunks.append(chunk)
    except ClientDisconnect:  # the client left: nobody to answer
        raise RequestError("the client went away", 400) from None
    try:
        body = json.loads(b"".join(chunks) or b"null")
    except (ValueError, RecursionError):
        raise RequestError("the body must be JSON", 400) from None
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object", 400)
    return body


def create_app(studio: Studio, port: int) -> Doors:
    """The studio's routes around ``studio``, answering as 127.0.0.1:``port`` only."""
    # What is made by now (the models, the page) lasts as long as the server: frozen, the
    # collector's full passes skip it. They walked it all, 35 ms once every 15 or so reads
    # (each read's graph is 30,000 Values), and a drawing's answer waited for them.
    gc.collect()
    gc.freeze()

    async def home(request: Request) -> Response:
        return HTMLResponse(studio.page(studio.new_session()))

    async def api(request: Request) -> Response:
        return await _answer(studio, request)

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    async def stream(request: Request) -> Response:
        return await _stream(studio, request)

    routes = [Route("/", home, methods=["GET"]), Route("/favicon.ico", no_icon),
              Route("/api/stream", stream, methods=["GET"]),
              Route("/api/{action:str}", api, methods=["POST"])]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed,
                                                       500: _failed})
    return Doors(app, port, studio.policy)  # the policy of the page made at start


async def _answer(studio: Studio, request: Request) -> Response:
    """A POST to /api/ACTION: the session's answer as JSON, or the error that refused it."""
    name = request.path_params["action"]
    try:
        body = await _body(request)
        if name == "session":
            return JSONResponse({"session": studio.new_session()})
        action = ACTIONS.get(name)
        if action is None:
            return JSONResponse({"error": f"no such request: {request.url.path} (the "
                                 f"studio answers session, {', '.join(ACTIONS)})"},
                                status_code=404)
        with studio.lock:
            session = studio.session(request.headers.get(HEADER))
            answer = action(studio, session, body)
        if isinstance(answer, training.Story):  # the engine's passes, without the lock
            told = await anyio.to_thread.run_sync(training.tell, answer)
            answer = {"layer": answer.layer, "j": answer.j, "k": answer.k, **told}
        return JSONResponse(answer)
    except RequestError as e:
        return JSONResponse({"error": str(e)}, status_code=e.status)


async def _stream(studio: Studio, request: Request) -> Response:
    """GET /api/stream: the session's frames as server-sent events, while it plays."""
    try:
        _same_site(request)
        with studio.lock:
            session = studio.session(request.query_params.get("session"))
            if session.stream is None and len(studio.streams) >= STREAMS:
                raise RequestError(f"the studio streams {STREAMS} trainings at once, "
                                   "the most it does: close another page's", 429)
            events = _frames(studio, session)
            session.stream = events  # a stream already open sees it and ends
            studio.streams.add(events)
    except RequestError as e:
        return JSONResponse({"error": str(e)}, status_code=e.status)
    return _released(studio, session, events, EventSourceResponse(events, ping=15))


def _same_site(request: Request) -> None:
    """Refuse (403) a request another site's page made: its browser says so in
    Sec-Fetch-Site, or names the page's origin in Origin (a stream's GET carries no header
    of ours: EventSource cannot send one)."""
    site = request.headers.get("sec-fetch-site")
    if site in ("cross-site", "same-site"):
        raise RequestError(f"the studio's stream opens from its own page only, and this "
                           f"request came from another site (Sec-Fetch-Site: {site})", 403)
    origin = request.headers.get("origin")
    if origin is not None and origin != f"http://{request.headers.get('host')}":
        raise RequestError(f"the studio's stream opens from its own page only, and this "
                           f"request came from Origin {origin[:80]!r}", 403)


async def _frames(studio: Studio, session: Session):
    """A session's stream: while it plays, a frame of the batches its speed asks, at the pace
    it asks (``training.pace``: one batch every 0.2 s at 5 batches a second, 10 batches every
    PERIOD at 300), trained in a worker thread under the studio's lock, so that reads
    interleave; it ends when a newer stream of the session opens, the session is dropped or
    the server stops, and its training block is closed then (the Values hold the exact
    state)."""
    me = session.stream  # this generator: the route set it before the first frame
    due = time.monotonic()
    try:
        # AppStatus: sse-starlette's word that uvicorn was told to stop (Ctrl-C).
        while session.stream is me and not (studio.closing.is_set() or AppStatus.should_exit):
            try:
                frame, period = await anyio.to_thread.run_sync(_advance, studio, session, me)
            except Exception as e:  # noqa: BLE001 (any failure: the terminal, then one line)
                yield _failure(studio, session, e)
                return
            if frame is not None:
                yield {"event": "frame", "data": frame}
            due = max(due + period, time.monotonic())
            await anyio.sleep(max(due - time.monotonic(), 0))
    finally:
        if session.stream is me:
            session.stream = None
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_settle, studio, session)


def _released(studio: Studio, session: Session, events, response: Response):
    """The stream's response as an ASGI app that, however it ends, gives the stream's slot
    back (and ends its training block): its generator's own ``finally`` never runs when it
    never started (a HEAD request, a client gone at once), and a set of weak references
    kept an ended one until a full collection (a reference cycle), so that 8 reloads
    filled the STREAMS slots for everyone."""

    async def app(scope, receive, send) -> None:
        try:
            await response(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await events.aclose()  # its finally, if it started
                studio.streams.discard(events)
                if session.stream is events:
                    session.stream = None
                    await anyio.to_thread.run_sync(_settle, studio, session)

    return app


def _failure(studio: Studio, session: Session, e: Exception) -> dict:
    """A training that failed: the traceback to the terminal, as a failed request's (its text
    may name files), the session paused, and one ``error`` event for the page."""
    logging.getLogger("uvicorn.error").error("The live training failed", exc_info=e)
    with studio.lock:
        if session.live is not None:
            session.live.playing = False
    return {"event": "error", "data": f"the live training failed ({type(e).__name__}; the "
                                      "studio's terminal says more): it is paused"}


def _advance(studio: Studio, session: Session, me: object) -> tuple[str | None, float]:
    """One frame of the session's training as JSON, if it plays (and this stream is its), and
    the seconds until the next one (its speed's, ``training.pace``; PERIOD if none)."""
    with studio.lock:
        if not studio.alive(session):  # dropped (beyond SESSIONS taught): its stream ends
            session.stream = None
        live = session.live
        if live is None or not live.playing or session.stream is not me:
            return None, PERIOD
        batches, period = training.pace(live.speed)
        return json.dumps(live.advance(batches), separators=(",", ":")), period


def _settle(studio: Studio, session: Session) -> None:
    """End the session's training block (its stream went away): the Values are exact."""
    with studio.lock:
        if session.live is not None and session.stream is None:
            session.live.pause()


def _stop(session: Session) -> None:
    """Pause the session's training (a teach or a reset works on the exact state)."""
    if session.live is not None:
        session.live.playing = False
        session.live.pause()


def _train(studio: Studio, session: Session, body: dict) -> dict:
    """Play, pause, one batch or a speed for the session's live training; "start" with play
    trains from that network afresh; the drawing, if sent, is the one each frame reads."""
    action = body.get("action")
    if action not in ("play", "pause", "batch", "speed"):
        raise RequestError("'action' must be one of play, pause, batch, speed")
    speed = body.get("speed")
    if (action == "speed" or speed is not None) and (type(speed) is not int
                                                     or speed not in training.SPEEDS):
        raise RequestError(f"'speed' must be one of {', '.join(map(str, training.SPEEDS))}")
    if "start" in body:
        if action != "play":
            raise RequestError("'start' goes with 'action': 'play' (it trains from there)")
        _reset(studio, session, {"start": body["start"]})
    if action in ("pause", "speed") and session.live is None:  # nothing to pause: make no
        raise RequestError(_UNTRAINED, 409)  # model copy, nor load the training set, for it
    drawing = ({"digit": teaching.parse_digit(body, studio.norm),
                "label": teaching.parse_label(body, required=False)}
               if "pixels" in body or "bitmap" in body else None)
    live = studio.live(session)
    if drawing is not None:
        live.digit, live.label = drawing["digit"], drawing["label"]
    live.speed = speed if speed is not None else live.speed
    frame = None
    if action == "play":
        live.playing = True
    elif action in ("pause", "batch"):
        _stop(session)
        if action == "batch":
            frame = live.advance(1)
            live.pause()
    session.last = None  # the model moves: a line of the last read no longer holds
    return {"playing": live.playing, "speed": live.speed, "frame": frame or live.frame(),
            "recipe": {"batch": training.BATCH, "optimizer": "Adam", "lr": f"{training.LR:g}",
                       "epochSteps": live.data.per_epoch},
            **_starts(studio, session)}


_UNTRAINED = "this page has not trained yet: press play or one batch first"


def _story(studio: Studio, session: Session, body: dict) -> training.Story:
    """A weight's (``k`` given) or a neuron's story over the session's live training, on the
    body's drawing and label if it sends them, to be told (``training.tell``: an eager pass
    per kept moment, once) outside the lock."""
    live = session.live
    if live is None or live.model is not session.model:
        raise RequestError(_UNTRAINED, 409)
    sizes = [live.model.nin, *live.model.nouts]
    layer = _index(body, "layer", 1, len(sizes) - 1)
    j = _index(body, "j", 0, sizes[layer] - 1)
    k = None if body.get("k") is None else _index(body, "k", 0, sizes[layer - 1] - 1)
    # The page's drawing and label, as a read's: after a pause the learner draws and reads
    # without training, and the story's "now" is about the digit on the panel.
    digit = (teaching.parse_digit(body, studio.norm) if "pixels" in body or "bitmap" in body
             else None)
    return training.plan(live, layer, j, k, digit, teaching.parse_label(body, required=False))


def _read(studio: Studio, session: Session, body: dict) -> dict:
    """The drawing read, numbered, without each weight's printed numbers: its 4,320 would
    be a large part of the answer, formatted and sent for the one line a learner selects
    (the page asks for it with ``line``). Nor the network's drawing (its weights and line
    styles) when the page holds it (``have``: its id), as it does between teaches."""
    have = body.get("have")
    if have is not None and type(have) is not int:
        raise RequestError("'have' must be a whole number: the id of the network's drawing "
                           "the page holds")
    answer, bp = teaching.reading(
        studio.model_of(session), teaching.parse_digit(body, studio.norm),
        teaching.parse_label(body, required=False), session.start, tables=False)
    studio.reads += 1
    session.last = (studio.reads, bp)
    answer["data"]["reading"] = studio.reads
    drawn = answer["data"]["weights"]
    if [d["id"] for d in drawn.values()] == [have]:
        answer["data"]["weights"] = {"same": have}
    return {**answer, **_starts(studio, session)}


def _line(studio: Studio, session: Session, body: dict) -> dict:
    """One weight's ∂loss/∂w, Δw and w after the step, printed as the explorer prints them,
    in the session's last read (the body names its number, and the weight's layer, j, k)."""
    reading = body.get("reading")
    if session.last is None or type(reading) is not int or reading != session.last[0]:
        raise RequestError("'reading' must be the number of this page's last read (a newer "
                           "read or a teach replaced it): read again", 409)
    bp = session.last[1]
    layer = _index(body, "layer", 1, len(bp.sizes) - 1)
    j = _index(body, "j", 0, bp.sizes[layer] - 1)
    k = _index(body, "k", 0, bp.sizes[layer - 1] - 1)
    return {"reading": reading, "layer": layer, "j": j, "k": k,
            **explorer.line_numbers(bp, layer, j, k)}


def _index(body: dict, key: str, low: int, high: int) -> int:
    """The body's whole number ``key``, from ``low`` to ``high``."""
    value = body.get(key)
    if type(value) is not int or not low <= value <= high:
        raise RequestError(f"'{key}' must be a whole number from {low} to {high}")
    return value


def _starts(studio: Studio, session: Session) -> dict:
    """Which network the session started from, and the ones it may start from."""
    return {"start": session.start, "starts": list(studio.starts)}


def _teach(studio: Studio, session: Session, body: dict) -> dict:
    digit = teaching.parse_digit(body, studio.norm)
    label, steps = teaching.parse_label(body, required=True), teaching.parse_steps(body)
    _stop(session)  # a teach while playing pauses first: it works on the exact state
    model = studio.taught(session)  # only a request that teaches costs a model
    session.last = None  # its answer holds every weight's numbers: none to ask for
    if session.compiled is None or session.compiled[0] is not model:  # traced once: 35 ms
        session.compiled = (model, compile_step(model, exact=True))
    answers = teaching.answers(session.compiled[1], studio.watched)
    kept = model.state_dict()
    try:
        taught = teaching.teach(model, digit, label, steps, session.start)
    except RequestError as e:  # a network that can be neither drawn nor saved: undo it
        model.load_state_dict(kept)
        raise RequestError(f"{e}, so it was undone: the network is as it was", 422) from None
    # Teaching one digit moves every weight: how the other digits fare says what it cost
    # (the samples read once, with the held-out digits, before the teach and after it).
    after = teaching.answers(session.compiled[1], studio.watched)
    return {**taught, "samplesBefore": teaching.samples_right(studio.watched, answers),
            "samplesAfter": teaching.samples_right(studio.watched, after),
            "samples": len(studio.samples),
            "ripple": teaching.ripple(studio.watched, answers, after), **_starts(studio, session)}


def _reset(studio: Studio, session: Session, body: dict) -> dict:
    """Back to the network the body's "start" names (default: the session's own start),
    forgetting what the session taught."""
    start = body.get("start", session.start)
    if not isinstance(start, str) or start not in studio.starts:
        raise RequestError(f"'start' must be one of {', '.join(studio.starts)}")
    _stop(session)
    session.start, session.model, session.last, session.live = start, None, None, None
    return {"reset": True, **_starts(studio, session)}


def _save(studio: Studio, session: Session, body: dict) -> dict:
    """Save the session's model as a new file; the answer names the file only (a page has
    no business knowing where the run directory is)."""
    path = teaching.save_path(studio.run_dir, body.get("name"))
    if session.saves >= MAX_SAVES:
        raise RequestError(f"this page has saved {MAX_SAVES} files, the most one page may "
                           "save: reload the page to save more", 429)
    if studio.saves >= MAX_SAVES_IN_ALL:
        raise RequestError(f"the studio has saved {MAX_SAVES_IN_ALL:,} files since it "
                           "started, the most it saves in one run: restart it to save more",
                           429)
    if path.exists() or path.is_symlink():  # never over a file, the loaded model's least
        raise RequestError(f"{path.name} exists in the run directory: choose another name",
                           409)
    model = studio.model_of(session)
    try:
        studio.run_dir.mkdir(parents=True, exist_ok=True)
        model.save(path, metadata=getattr(model, "metadata", None) or {})
    except OSError as e:  # its text names the run directory: say the reason only
        reason = os.strerror(e.errno) if e.errno else "the system refused"
        raise RequestError(f"cannot save {path.name}: {reason}", 409) from None
    session.saves += 1
    studio.saves += 1
    return {"saved": path.name}


ACTIONS = {"read": _read, "line": _line, "teach": _teach, "reset": _reset, "save": _save,
           "train": _train, "story": _story}


async def _not_found(request: Request, exc) -> Response:
    return JSONResponse({"error": f"no such page: {request.url.path}"}, status_code=404)


async def _not_allowed(request: Request, exc) -> Response:
    return JSONResponse({"error": f"{request.method} is not allowed here"}, status_code=405)


async def _failed(request: Request, exc) -> Response:
    # The exception's text may name files or internals: it goes to the terminal (uvicorn
    # logs it), and the page gets its kind only.
    return JSONResponse({"error": f"the studio failed on this request ({type(exc).__name__}; "
                         "its terminal says more)"}, status_code=500)


def listening_socket(port: int = 0) -> socket.socket:
    """A socket on 127.0.0.1 only (port 0: a free one), already listening, so that a browser
    opened at once waits in line rather than being refused. Its protocol is named TCP so that
    asyncio turns Nagle's algorithm off on each connection (it does only when ``proto`` says
    TCP, and a socket made with ``socket.socket()`` says 0): with it on, an answer's last
    segment waits for the browser's delayed ACK on every other drawing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # As servers do: the port is free again at once after a studio on it stops (its closed
    # connections wait a minute), while one still listening there keeps it busy.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


@contextmanager
def running(studio: Studio) -> Iterator[str]:
    """The studio served from a background thread on a free port, for the length of a
    ``with`` block (the tests and the docs script): yields its address."""
    import uvicorn

    sock = listening_socket()
    app = create_app(studio, sock.getsockname()[1])
    # A stream ends when the studio closes; the grace period is a last resort.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning",
                                           timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        studio.closing.set()  # open streams end (uvicorn waits for them)
        server.should_exit = True
        thread.join(10)
        sock.close()
