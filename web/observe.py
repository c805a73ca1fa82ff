"""Every request leaves one log line, every unexpected exception its traceback, and the error
page shows the request id, so a visitor's report ("it failed, request 3f2a...") leads straight
to the log line. Nothing is turned silently into another status.

The lines are JSON (`JsonLines`): time, level, request id, client address, method, path as
sent (still percent-encoded), status, response bytes, milliseconds and the user (`admin`
after a valid token). json.dumps escapes every control character, so a `%0A` in a path
cannot forge a line. `viko serve` turns uvicorn's own access log off: one line per request.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from viko.web.limits import client_address
from viko.web.shared import SECURITY_HEADERS, Web

log = logging.getLogger("viko.web")
API_PREFIXES = ("/api/", "/static/", "/docs", "/openapi", "/text/")


class JsonLines(logging.Formatter):
    """One JSON object per record: a request's fields (`extra={"request": {...}}`), or the
    logger, message and traceback of any other record; ASCII only, so no character of a
    visitor's input can start a line of its own."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(
                                    timespec="milliseconds"),
                                "level": record.levelname}
        fields = getattr(record, "request", None)
        if isinstance(fields, dict):
            line.update(fields)
        else:
            line.update(logger=record.name, message=record.getMessage())
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=True, default=str)


def configure_logging() -> None:
    """JSON lines to stderr at INFO unless the host application configured logging (then its
    handlers get the records, whose messages hold no raw control characters either)."""
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonLines())
        log.addHandler(handler)
        log.propagate = False  # one line per request, not a second copy from a root handler
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


_UNSAFE = re.compile(r"[^\x21-\x7e]")


def raw_path(scope: Scope) -> str:
    """The path as the client sent it (percent-encoded), anything not printable ASCII encoded."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else str(scope.get("path", ""))
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), path)


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


class RequestLog:
    """ASGI middleware: request id, security headers, one outcome line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started, status, size = time.perf_counter(), [500], [0]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                size[0] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            ms = round((time.perf_counter() - started) * 1000, 1)
            fields = {"request_id": request_id, "client": client_address(scope), "method": scope["method"],
                      "path": raw_path(scope), "status": status[0], "bytes": size[0], "ms": ms,
                      "user": state.get("user", "")}
            log.info("%s %s %s %d %.1fms", request_id, scope["method"], fields["path"], status[0], ms,
                     extra={"request": fields})
            for observer in getattr(getattr(scope.get("app"), "state", None), "request_observers", ()):
                observer(scope, status[0], time.perf_counter() - started)  # /metrics (web/operations.py)


def observe_requests(app: FastAPI, observer: Callable[[Scope, int, float], None]) -> None:
    """observer(scope, status, seconds) is called after each request RequestLog logs; the list
    is the app's, so each app in a process counts its own."""
    if not hasattr(app.state, "request_observers"):
        app.state.request_observers = []
    app.state.request_observers.append(observer)


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def install_error_pages(app: FastAPI, web: Web) -> None:
    """HTML error pages for pages, JSON for the API; both carry the request id."""

    @app.exception_handler(StarletteHTTPException)
    async def http_errors(request: Request, exc: StarletteHTTPException) -> Response:
        request_id = getattr(request.state, "request_id", "")
        if exc.status_code >= 500:  # expected (no index yet...), but the operator should see it
            log.warning("%s %s %s: %s", request_id, request.method, raw_path(request.scope), exc.detail)
        if is_api(request.url.path):
            return JSONResponse({"detail": exc.detail, "request_id": request_id}, status_code=exc.status_code,
                                headers=exc.headers)
        page = web.render(request, "error.html", {"status": exc.status_code, "message": exc.detail},
                          exc.status_code)
        page.headers.update(exc.headers or {})  # a page's 429 keeps its Retry-After, a 401 its WWW-Authenticate
        return page

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        """A parameter of the wrong type or out of its declared range: 422 in both formats
        (an ErrorBody for the API, the error page for a page)."""
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
                             for e in exc.errors())
        if is_api(request.url.path):  # the ErrorBody of every API error, the parameters listed in `errors`
            body = {"detail": f"invalid request: {problems}", "request_id": getattr(request.state, "request_id", ""),
                    "errors": jsonable_encoder(exc.errors())}
            return JSONResponse(body, status_code=422)
        return web.render(request, "error.html", {"status": 422, "message": f"invalid request: {problems}"}, 422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", "") or new_request_id()
        log.error("%s %s %s failed", request_id, request.method, raw_path(request.scope), exc_info=exc)
        message = f"an unexpected error occurred (request {request_id}); it has been logged"
        headers = {**SECURITY_HEADERS, "X-Request-ID": request_id}
        if is_api(request.url.path):
            body: dict[str, Any] = {"detail": message, "request_id": request_id}
            return JSONResponse(body, status_code=500, headers=headers)
        response = web.render(request, "error.html", {"status": 500, "message": message}, 500)
        response.headers.update(headers)
        return response
