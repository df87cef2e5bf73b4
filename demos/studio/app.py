"""The studio's web app (Starlette): the explorer's page with a drawing pad, and a JSON API
whose every number comes from :mod:`demos.studio.lesson`, computed by the engine.

    GET  /              the page, with a new session of its own
    POST /api/session   a new session, for other clients: {"session": id}
    POST /api/read      {"bitmap": 32×32 of 0/1 | "pixels": 64 counts, "label"?: 0..9}
    POST /api/teach     {… the drawing, "label": 0..9, "steps": 1 | 10}
    POST /api/reset     back to the loaded model
    POST /api/save      {"name": "mine"}: the taught model as run_dir/mine.json (new files only)

Every page (every tab) teaches its own copy of the model: its session id comes with the page
and goes back in the ``X-Studio-Session`` header of each request (a header another site's
page cannot send without the studio's permission, which it never gives). At most
``SESSIONS`` are kept, the least recently used dropped first. Requests are JSON
(``Content-Type: application/json``). A bad request is a 4xx with a one-line
``{"error": …}``; nothing a request holds can crash the server.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from demos.how_it_works import explorer
from demos.studio import lesson
from nn import MLP

MAX_BODY = 64 * 1024  # bytes: a 32×32 bitmap as JSON is about 2 KB
SESSIONS = 32  # taught models kept in memory, one per browser session
HEADER = "x-studio-session"
PAGE = Path(__file__).with_name("studio.html")


class Studio:
    """The loaded model, its normalisation, the run directory, and each session's copy."""

    def __init__(self, model: MLP, norm: lesson.Normalisation, run_dir: Path,
                 samples: dict[int, list[int]]):
        lesson.check_model(model)
        self.model, self.norm, self.run_dir, self.samples = model, norm, Path(run_dir), samples
        self._taught: OrderedDict[str, MLP] = OrderedDict()
        self.lock = threading.Lock()  # the engine's work runs one request at a time
        self._page: str | None = None

    def new_session(self) -> str:
        """A new session, teaching a fresh copy of the loaded model; the least recently used
        one is dropped when there are more than SESSIONS."""
        token = secrets.token_urlsafe(16)
        self._taught[token] = lesson.copy_model(self.model)
        while len(self._taught) > SESSIONS:
            self._taught.popitem(last=False)
        return token

    def session(self, token: str | None) -> MLP:
        """The session's model; a Refused (409) for one that is unknown or was dropped."""
        if token not in self._taught:
            raise lesson.Refused("this page's session is not known here (the studio keeps "
                                 f"{SESSIONS}, or it was restarted): reload the page", 409)
        self._taught.move_to_end(token)
        return self._taught[token]

    def reset(self, token: str) -> None:
        self._taught[token] = lesson.copy_model(self.model)

    def page(self, token: str) -> str:
        """The page for a new session ``token`` (the page itself is made once: the loaded
        model it shows never changes)."""
        if self._page is None:
            self._page = self._make_page()
        return self._page.replace("@SESSION@", json.dumps(token))

    def _make_page(self) -> str:
        """The explorer's page on a sample '3', with the pad and its script added (its
        session left as ``@SESSION@``)."""
        digit = self.norm.digit(np.array(self.samples[3]).reshape(8, 8))
        guess = int(np.argmax(lesson.probabilities(self.model, digit)))
        extra = PAGE.read_text(encoding="utf-8").replace(
            "@SAMPLES@", json.dumps(self.samples, separators=(",", ":")))
        return explorer.page([lesson.explorer_run(self.model, digit, guess)],
                             "glassgrad studio: draw a digit, teach the network", extra)


async def _body(request: Request) -> dict:
    """The request's JSON object, at most MAX_BODY bytes."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise lesson.Refused("the body must be JSON, sent as Content-Type: application/json",
                             415)
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()
                                     and int(declared[:12]) <= MAX_BODY):
        raise lesson.Refused(f"the body must be at most {MAX_BODY:,} bytes", 413)
    size, chunks = 0, []
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise lesson.Refused(f"the body must be at most {MAX_BODY:,} bytes", 413)
            chunks.append(chunk)
    except ClientDisconnect:  # the client left: nobody to answer
        raise lesson.Refused("the client went away", 400) from None
    try:
        body = json.loads(b"".join(chunks) or b"null")
    except (ValueError, RecursionError):
        raise lesson.Refused("the body must be JSON", 400) from None
    if not isinstance(body, dict):
        raise lesson.Refused("the body must be a JSON object", 400)
    return body


def create_app(studio: Studio) -> Starlette:
    """The studio's routes around ``studio``."""

    async def home(request: Request) -> Response:
        return HTMLResponse(studio.page(studio.new_session()))

    async def api(request: Request) -> Response:
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
            token = request.headers.get(HEADER)
            with studio.lock:
                return JSONResponse(action(studio, token, studio.session(token), body))
        except lesson.Refused as e:
            return JSONResponse({"error": str(e)}, status_code=e.status)

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [Route("/", home, methods=["GET"]), Route("/favicon.ico", no_icon),
              Route("/api/{action:str}", api, methods=["POST"])]
    return Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed,
                                                        500: _failed})


def _read(studio, token, model, body) -> dict:
    return lesson.read(model, lesson.parse_digit(body, studio.norm),
                       lesson.parse_label(body, required=False))


def _teach(studio, token, model, body) -> dict:
    digit = lesson.parse_digit(body, studio.norm)
    label, steps = lesson.parse_label(body, required=True), lesson.parse_steps(body)
    before = lesson.samples_right(model, studio.norm, studio.samples)
    taught = lesson.teach(model, digit, label, steps)
    # Teaching one digit moves every weight: how the other digits fare says what it cost.
    return {**taught, "samplesBefore": before, "samplesAfter": lesson.samples_right(
        model, studio.norm, studio.samples), "samples": len(studio.samples)}


def _reset(studio, token, model, body) -> dict:
    studio.reset(token)
    return {"reset": True}


def _save(studio, token, model, body) -> dict:
    path = lesson.save_path(studio.run_dir, body.get("name"))
    if path.exists() or path.is_symlink():  # never over a file, the loaded model's least
        raise lesson.Refused(f"{path.name} exists in the run directory: choose another name",
                             409)
    try:
        studio.run_dir.mkdir(parents=True, exist_ok=True)
        model.save(path, metadata=model.metadata)
    except OSError as e:
        raise lesson.Refused(f"cannot save: {e.strerror or e}", 409) from None
    return {"saved": str(path)}


ACTIONS = {"read": _read, "teach": _teach, "reset": _reset, "save": _save}


async def _not_found(request: Request, exc) -> Response:
    return JSONResponse({"error": f"no such page: {request.url.path}"}, status_code=404)


async def _not_allowed(request: Request, exc) -> Response:
    return JSONResponse({"error": f"{request.method} is not allowed here"}, status_code=405)


async def _failed(request: Request, exc) -> Response:
    return JSONResponse({"error": f"the studio failed on this request: {exc}"},
                        status_code=500)


def listening_socket(port: int = 0) -> socket.socket:
    """A socket on 127.0.0.1 only (port 0: a free one), already listening, so that a browser
    opened at once waits in line rather than being refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


@contextmanager
def running(studio: Studio) -> Iterator[str]:
    """The studio served from a background thread on a free port, for the length of a
    ``with`` block (the tests and the docs script): yields its address."""
    import uvicorn

    sock = listening_socket()
    server = uvicorn.Server(uvicorn.Config(create_app(studio), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
