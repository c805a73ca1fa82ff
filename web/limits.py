"""What one anonymous client may cost the server.

- Expensive routes (search, documents, alignment, concordance, export, matchmaking, the
  planner): each client address gets a sliding-window request budget per minute and a cap on
  requests running at once; over either, the answer is 429 with Retry-After. Whether a
  request is expensive is decided on the decoded query string (`/?%71=...` is a search).
- Failed admin-token attempts: past `FAILED_TOKENS_PER_MINUTE` in a minute an address gets
  429 for the rest of the minute, whatever token it sends (web/shared.py, Gate).
- Request bodies: one limit for every route (`web_max_body_kb`, the admin import's own larger
  one above it), checked on the declared Content-Length before anything is read and counted
  on a streamed body, which is cut off past the limit (413).
- Query strings with control characters (NUL...) are refused with a clear 400 (web/app.py).

The state is in process and small (one entry per recent client). The client address is the
connection's, or the one a trusted proxy gave (`trusted_proxies`, read by `viko serve`).
Under `viko serve --workers N` each worker process counts on its own, and a client's
connections land on any of them: a client gets at least the limits as set and at most N times
them (requests a minute, requests at once, failed tokens). A hard cap across workers belongs
in the reverse proxy in front, which sees every request (README, "Security and limits").
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WINDOW_SECONDS = 60.0
MAX_CLIENTS = 10_000  # beyond this many tracked addresses, idle ones are forgotten first
# Paths whose cost grows with the data: the search page counts only with a query.
EXPENSIVE_PREFIXES = ("/api/search", "/doc/", "/api/doc/", "/text/", "/align", "/api/align",
                      "/api/export.tmx", "/concordance", "/api/concordance",
                      "/match/", "/api/match/", "/matching", "/api/matching", "/planner", "/api/planner")
FAILED_TOKENS_PER_MINUTE = 10
# C0 and C1 controls and DEL, except tab, line feed and carriage return (a pasted query may
# hold them); NUL in particular ends a string in SQLite's FTS query parser.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass
class _Client:
    times: deque[float] = field(default_factory=deque)
    running: int = 0
    failures: deque[float] = field(default_factory=deque)  # failed token attempts


class ClientLimiter:
    def __init__(self, per_minute: int, concurrent: int) -> None:
        self.per_minute = per_minute
        self.concurrent = concurrent
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    def acquire(self, client: str, now: float | None = None) -> float:
        """0 when the request may run (call release after), else seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            state = self._state(client, now)
            _forget_older(state.times, now)
            if self.per_minute and len(state.times) >= self.per_minute:
                return max(1.0, WINDOW_SECONDS - (now - state.times[0]))
            if self.concurrent and state.running >= self.concurrent:
                return 1.0
            state.times.append(now)
            state.running += 1
            return 0.0

    def token_wait(self, client: str, now: float | None = None) -> float:
        """0 when the client may try a token, else seconds until it may try again."""
        now = time.monotonic() if now is None else now
        with self._lock:
            state = self._clients.get(client)
            if state is None:
                return 0.0
            _forget_older(state.failures, now)
            if len(state.failures) >= FAILED_TOKENS_PER_MINUTE:
                return max(1.0, WINDOW_SECONDS - (now - state.failures[0]))
            return 0.0

    def token_failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._state(client, now).failures.append(now)

    def _state(self, client: str, now: float) -> _Client:
        """The client's entry, made on its first request (under the lock)."""
        state = self._clients.get(client)
        if state is None:
            self._forget_idle(now)
            state = self._clients[client] = _Client()
        return state

    def release(self, client: str) -> None:
        with self._lock:
            state = self._clients.get(client)
            if state is not None:
                state.running = max(0, state.running - 1)

    def _forget_idle(self, now: float) -> None:
        if len(self._clients) < MAX_CLIENTS:
            return
        for key in [k for k, c in self._clients.items()
                    if not c.running and (not c.times or now - c.times[-1] >= WINDOW_SECONDS)
                    and (not c.failures or now - c.failures[-1] >= WINDOW_SECONDS)]:
            del self._clients[key]
        while len(self._clients) >= MAX_CLIENTS:  # all busy: drop the oldest entries
            del self._clients[next(iter(self._clients))]


def query_items(query_string: bytes) -> list[tuple[str, str]]:
    """The query string decoded as the app decodes it (`%71=x` is `q=x`)."""
    return parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")


def _forget_older(times: deque[float], now: float) -> None:
    """Drops the times that have left the sliding window."""
    while times and now - times[0] >= WINDOW_SECONDS:
        times.popleft()


def is_expensive(path: str, query_string: bytes) -> bool:
    if path == "/":
        return any(name == "q" for name, _ in query_items(query_string))
    return path.startswith(EXPENSIVE_PREFIXES)


def client_address(scope: Scope) -> str:
    return (scope.get("client") or ("unknown", 0))[0]


class RateLimit:
    """ASGI middleware applying a ClientLimiter to the expensive paths. The slot is held
    until the response has been sent completely (a streamed export counts while it streams)."""

    def __init__(self, app: ASGIApp, limiter: ClientLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_expensive(scope["path"], scope.get("query_string", b"")):
            await self.app(scope, receive, send)
            return
        client = client_address(scope)
        wait = self.limiter.acquire(client)
        if wait:
            await _too_many(scope, send, wait)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limiter.release(client)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit // 1024} KiB")


class BodyLimit:
    """ASGI middleware: one request-size limit for every route, `limit` bytes unless the path
    has its own (`larger`). A declared Content-Length over it is answered 413 before anything
    is read; a streamed (chunked) body is counted as the app reads it and cut off past it."""

    def __init__(self, app: ASGIApp, limit: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.limit)
        declared = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                await answer(scope, send, 400, "the Content-Length header is not a number")
                return
            if length > limit:
                await answer(scope, send, 413, BodyTooLarge(limit).detail)
                return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # raised where no exception handler answered it
            if started:
                raise
            await answer(scope, send, 413, exc.detail)


async def answer(scope: Scope, send: Send, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
    """A JSON error answer from a middleware (before the app's error pages can be reached),
    the same body as the app's: detail and the request id."""
    request_id = (scope.get("state") or {}).get("request_id", "")
    body = json.dumps({"detail": detail, "request_id": request_id}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _too_many(scope: Scope, send: Send, wait: float) -> None:
    seconds = math.ceil(wait)
    await answer(scope, send, 429, f"too many requests from your address: try again in {seconds} s",
                 {"Retry-After": str(seconds)})
