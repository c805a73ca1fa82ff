"""Per-client limits on the expensive routes (search, documents, alignment, export).

One visitor (or one script) must not hold every worker thread or the alignment lock: each
client address gets a sliding-window request budget per minute and a cap on requests running
at once; over either, the answer is 429 with Retry-After. The state is in process and
small (one entry per recent client); behind a reverse proxy every visitor shares the proxy's
address, so there the proxy should do this job instead.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

WINDOW_SECONDS = 60.0
MAX_CLIENTS = 10_000  # beyond this many tracked addresses, idle ones are forgotten first
# Paths whose cost grows with the data: the search page counts only with a query.
EXPENSIVE_PREFIXES = ("/api/search", "/doc/", "/api/doc/", "/text/", "/align", "/api/align",
                      "/api/export.tmx", "/concordance", "/api/concordance")


@dataclass
class _Client:
    times: deque[float] = field(default_factory=deque)
    running: int = 0


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
            state = self._clients.get(client)
            if state is None:
                self._forget_idle(now)
                state = self._clients[client] = _Client()
            while state.times and now - state.times[0] >= WINDOW_SECONDS:
                state.times.popleft()
            if self.per_minute and len(state.times) >= self.per_minute:
                return max(1.0, WINDOW_SECONDS - (now - state.times[0]))
            if self.concurrent and state.running >= self.concurrent:
                return 1.0
            state.times.append(now)
            state.running += 1
            return 0.0

    def release(self, client: str) -> None:
        with self._lock:
            state = self._clients.get(client)
            if state is not None:
                state.running = max(0, state.running - 1)

    def _forget_idle(self, now: float) -> None:
        if len(self._clients) < MAX_CLIENTS:
            return
        for key in [k for k, c in self._clients.items()
                    if not c.running and (not c.times or now - c.times[-1] >= WINDOW_SECONDS)]:
            del self._clients[key]
        while len(self._clients) >= MAX_CLIENTS:  # all busy: drop the oldest entries
            del self._clients[next(iter(self._clients))]


def is_expensive(path: str, query_string: bytes) -> bool:
    if path == "/":
        return b"q=" in query_string
    return path.startswith(EXPENSIVE_PREFIXES)


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
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.limiter.acquire(client)
        if wait:
            await _too_many(send, wait)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limiter.release(client)


async def _too_many(send: Send, wait: float) -> None:
    body = json.dumps({"detail": f"too many requests from your address: try again in {math.ceil(wait)} s"}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", str(math.ceil(wait)).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
