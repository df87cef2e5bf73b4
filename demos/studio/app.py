"""The studio's web app (Starlette): the explorer's page with a drawing pad, and a JSON API
whose every number comes from :mod:`demos.studio.lesson`, computed by the engine.

    GET  /            the page (it sets the browser's session cookie)
    POST /api/read    {"bitmap": 32×32 of 0/1 | "pixels": 64 counts, "label"?: 0..9}
    POST /api/teach   {… the drawing, "label": 0..9, "steps": 1 | 10}
    POST /api/reset   back to the loaded model
    POST /api/save    {"name": "mine"}: the taught model as run_dir/mine.json

Each browser session (a cookie) teaches its own copy of the model; at most ``SESSIONS`` are
kept, the least recently used dropped first. A bad request is a 4xx with a one-line
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
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from demos.how_it_works import explorer
from demos.studio import lesson
from nn import MLP

MAX_BODY = 64 * 1024  # bytes: a 32×32 bitmap as JSON is about 2 KB
SESSIONS = 32  # taught models kept in memory, one per browser session
COOKIE = "glassgrad_studio"
PAGE = Path(__file__).with_name("studio.html")


class Studio:
    """The loaded model, its normalisation, the run directory, and each session's copy."""

    def __init__(self, model: MLP, norm: lesson.Normalisation, run_dir: Path,
                 samples: dict[int, list[int]]):
        lesson.check_model(model)
        self.model, self.norm, self.run_dir, self.samples = model, norm, Path(run_dir), samples
        self._taught: OrderedDict[str, MLP] = OrderedDict()
        self.lock = threading.Lock()  # the engine's work runs one request at a time

    def session(self, token: str | None) -> tuple[str, MLP]:
        """The session's model (a fresh copy of the loaded one for a new or dropped token)."""
        if token not in self._taught:
            token = secrets.token_urlsafe(16)
            self._taught[token] = lesson.copy_model(self.model)
            while len(self._taught) > SESSIONS:
                self._taught.popitem(last=False)
        self._taught.move_to_end(token)
        return token, self._taught[token]

    def reset(self, token: str) -> None:
        self._taught[token] = lesson.copy_model(self.model)

    def page(self) -> str:
        """The explorer's page on a sample '3', with the pad and its script added."""
        digit = self.norm.digit(np.array(self.samples[3]).reshape(8, 8))
        guess = int(np.argmax(lesson.probabilities(self.model, digit)))
        extra = PAGE.read_text(encoding="utf-8").replace(
            "@SAMPLES@", json.dumps(self.samples, separators=(",", ":")))
        return explorer.page([lesson.explorer_run(self.model, digit, guess)],
                             "glassgrad studio: draw a digit, teach the network", extra)


async def _body(request: Request) -> dict:
    """The request's JSON object, at most MAX_BODY bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise lesson.Refused(f"the body must be at most {MAX_BODY:,} bytes", 413)
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise lesson.Refused(f"the body must be at most {MAX_BODY:,} bytes", 413)
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks) or b"null")
    except (ValueError, RecursionError):
        raise lesson.Refused("the body must be JSON", 400) from None
    if not isinstance(body, dict):
        raise lesson.Refused("the body must be a JSON object", 400)
    return body


def create_app(studio: Studio) -> Starlette:
    """The studio's routes around ``studio``."""

    def answer(request: Request, work) -> Response:
        token, model = studio.session(request.cookies.get(COOKIE))
        try:
            with studio.lock:
                result = work(token, model)
            response = JSONResponse(result)
        except lesson.Refused as e:
            response = JSONResponse({"error": str(e)}, status_code=e.status)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    async def home(request: Request) -> Response:
        token, _ = studio.session(request.cookies.get(COOKIE))
        response = HTMLResponse(studio.page())
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    async def api(request: Request) -> Response:
        try:
            body = await _body(request)
        except lesson.Refused as e:
            return JSONResponse({"error": str(e)}, status_code=e.status)
        action = ACTIONS.get(request.path_params["action"])
        if action is None:
            return JSONResponse({"error": f"no such request: {request.url.path} (the studio "
                                 f"answers {', '.join(ACTIONS)})"}, status_code=404)
        return answer(request, lambda token, model: action(studio, token, model, body))

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [Route("/", home, methods=["GET"]), Route("/favicon.ico", no_icon),
              Route("/api/{action:str}", api, methods=["POST"])]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed,
                                                       500: _failed})
    return app


def _read(studio, token, model, body) -> dict:
    return lesson.read(model, lesson.parse_digit(body, studio.norm),
                       lesson.parse_label(body, required=False))


def _teach(studio, token, model, body) -> dict:
    digit = lesson.parse_digit(body, studio.norm)
    return lesson.teach(model, digit, lesson.parse_label(body, required=True),
                        lesson.parse_steps(body))


def _reset(studio, token, model, body) -> dict:
    studio.reset(token)
    return {"reset": True}


def _save(studio, token, model, body) -> dict:
    path = lesson.save_path(studio.run_dir, body.get("name"))
    try:
        studio.run_dir.mkdir(parents=True, exist_ok=True)
        model.save(path, metadata=model.metadata)
    except OSError as e:
        raise lesson.Refused(f"cannot save {path}: {e.strerror or e}", 409) from None
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
