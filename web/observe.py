"""Every request leaves one log line (request id, method, path, status, milliseconds), every
unexpected exception its traceback, and the error page shows the request id, so a visitor's
report ("it failed, request 3f2a...") leads straight to the log line. Nothing is turned
silently into another status.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from viko.web.shared import SECURITY_HEADERS, Web

log = logging.getLogger("viko.web")
API_PREFIXES = ("/api/", "/static/", "/docs", "/openapi", "/text/")


def configure_logging() -> None:
    """Request lines go to stderr at INFO unless the host application configured logging."""
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        log.addHandler(handler)
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


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
        scope.setdefault("state", {})["request_id"] = request_id
        started, status = time.perf_counter(), [500]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            ms = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %d %.1fms", request_id, scope["method"], scope["path"], status[0], ms)


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def install_error_pages(app: FastAPI, web: Web) -> None:
    """HTML error pages for pages, JSON for the API; both carry the request id."""

    @app.exception_handler(StarletteHTTPException)
    async def http_errors(request: Request, exc: StarletteHTTPException) -> Response:
        request_id = getattr(request.state, "request_id", "")
        if exc.status_code >= 500:  # expected (no index yet...), but the operator should see it
            log.warning("%s %s %s: %s", request_id, request.method, request.url.path, exc.detail)
        if is_api(request.url.path):
            return JSONResponse({"detail": exc.detail, "request_id": request_id}, status_code=exc.status_code,
                                headers=exc.headers)
        return web.render(request, "error.html", {"status": exc.status_code, "message": exc.detail},
                          exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", "") or new_request_id()
        log.error("%s %s %s failed", request_id, request.method, request.url.path, exc_info=exc)
        message = f"an unexpected error occurred (request {request_id}); it has been logged"
        headers = {**SECURITY_HEADERS, "X-Request-ID": request_id}
        if is_api(request.url.path):
            body: dict[str, Any] = {"detail": message, "request_id": request_id}
            return JSONResponse(body, status_code=500, headers=headers)
        response = web.render(request, "error.html", {"status": 500, "message": message}, 500)
        response.headers.update(headers)
        return response
