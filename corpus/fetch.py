"""Polite asynchronous HTTP: per-host concurrency and delay, retries, redirects, size cap,
conditional requests, and robots.txt (RFC 9309) rules per host.

Redirects are followed here, hop by hop, so each hop passes the same checks as a link
(scope, robots.txt, the network policy of corpus/netpolicy.py); httpx never follows one.
Robots rules are parsed by protego, which knows the `*` and `$` patterns that the standard
library's parser ignores (Korean government sites use them)."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from viko.corpus.netpolicy import BlockedAddress, PublicOnlyTransport
from viko.corpus.urls import host_of

Allow = Callable[[str], Awaitable[str | None]]  # URL -> reason it may not be fetched, or None


@dataclass(frozen=True)
class FetchConfig:
    user_agent: str = "viko-crawler/0.1 (+https://github.com/viko-search/viko)"
    timeout: float = 20.0
    retries: int = 2
    backoff: float = 1.0
    max_retry_after: float = 60.0
    max_bytes: int = 20_000_000
    per_host: int = 2
    delay: float = 1.0
    max_redirects: int = 10
    allow_private: bool = False  # loopback, private, link-local... addresses (intranet crawls)


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: int | None = None
    content: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    redirects: tuple[str, ...] = ()
    attempts: int = 0
    elapsed_ms: int = 0
    error: str = ""      # the fetch failed (network, HTTP error status)
    skipped: str = ""    # the fetch was refused by policy (robots.txt, size cap)

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error and not self.skipped

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _TooLarge(Exception):
    pass


@dataclass
class _Host:
    gate: asyncio.Semaphore
    next_at: float = 0.0
    delay: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Fetcher:
    """One shared httpx.AsyncClient; use as `async with Fetcher(config) as f`."""

    def __init__(self, config: FetchConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        if not config.allow_private:
            transport = PublicOnlyTransport(transport)
        self._client = httpx.AsyncClient(
            headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(config.timeout), follow_redirects=False, transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
        self._hosts: dict[str, _Host] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    def set_host_delay(self, host: str, seconds: float) -> None:
        """robots.txt Crawl-delay raises (never lowers) the configured delay for one host."""
        self._host(host).delay = max(self.config.delay, seconds)

    def _host(self, host: str) -> _Host:
        if host not in self._hosts:
            self._hosts[host] = _Host(asyncio.Semaphore(max(1, self.config.per_host)), delay=self.config.delay)
        return self._hosts[host]

    async def _polite(self, host: str) -> None:
        slot = self._host(host)
        async with slot.lock:
            wait = slot.next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            slot.next_at = time.monotonic() + slot.delay

    async def fetch(self, url: str, *, etag: str = "", last_modified: str = "",
                    allow: Allow | None = None) -> FetchResult:
        """GET url following redirects (each hop checked by `allow`), with retries."""
        started = time.monotonic()
        chain: list[str] = []
        current, attempts = url, 0
        headers = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}
        while True:
            refused = await allow(current) if allow else None
            if refused:
                return self._done(url, current, chain, attempts, started, skipped=refused)
            result, tries = await self._with_retries(current, headers)
            attempts += tries
            location = result.pop("location", "")
            status = result.get("status")
            if isinstance(status, int) and 300 <= status < 400 and status != 304 and location:
                nxt = urljoin(current, str(location))
                chain.append(current)
                if nxt in chain or len(chain) > self.config.max_redirects:
                    return self._done(url, nxt, chain, attempts, started, status=status,
                                      error="redirect loop" if nxt in chain else "too many redirects")
                current = nxt
                continue
            return self._done(url, current, chain, attempts, started, **result)

    def _done(self, url: str, final: str, chain: list[str], attempts: int, started: float,
              **fields: object) -> FetchResult:
        elapsed = int((time.monotonic() - started) * 1000)
        return FetchResult(url=url, final_url=final, redirects=tuple(chain), attempts=attempts,
                           elapsed_ms=elapsed, **fields)  # type: ignore[arg-type]

    async def _with_retries(self, url: str, headers: dict[str, str]) -> tuple[dict[str, object], int]:
        host = host_of(url)
        slot = self._host(host)
        attempt = 0
        while True:
            attempt += 1
            async with slot.gate:
                await self._polite(host)
                result = await self._once(url, headers)
            retriable = result.get("retriable", False)
            if not retriable or attempt > self.config.retries:
                result.pop("retriable", None)
                result.pop("retry_after", None)
                return result, attempt
            wait = result.get("retry_after")
            pause = self.config.backoff * 2 ** (attempt - 1) if wait is None else float(str(wait))
            await asyncio.sleep(min(pause, self.config.max_retry_after))

    async def _once(self, url: str, headers: dict[str, str]) -> dict[str, object]:
        try:
            async with self._client.stream("GET", url, headers=headers) as resp:
                out: dict[str, object] = {
                    "status": resp.status_code,
                    "content_type": resp.headers.get("content-type", ""),
                    "etag": resp.headers.get("etag", ""),
                    "last_modified": resp.headers.get("last-modified", ""),
                    "location": resp.headers.get("location", ""),
                }
                if resp.status_code == 429 or resp.status_code >= 500:
                    out.update(retriable=True, error=f"HTTP {resp.status_code}",
                               retry_after=_retry_after(resp.headers.get("retry-after", "")))
                    return out
                if resp.status_code >= 400:
                    out["error"] = f"HTTP {resp.status_code}"
                    return out
                if resp.status_code == 200:
                    out["content"] = await self._read_capped(resp)
                return out
        except _TooLarge as exc:
            return {"status": 200, "skipped": str(exc)}
        except BlockedAddress as exc:
            return {"skipped": str(exc)}
        except httpx.TimeoutException:
            return {"retriable": True, "error": f"timeout after {self.config.timeout:g}s"}
        except httpx.HTTPError as exc:
            return {"retriable": isinstance(exc, httpx.TransportError),
                    "error": f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__}

    async def _read_capped(self, resp: httpx.Response) -> bytes:
        cap = self.config.max_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _TooLarge(f"too large: {int(declared)} bytes declared, limit {cap}")
        body = bytearray()
        async for chunk in resp.aiter_bytes():
            body += chunk
            if len(body) > cap:
                raise _TooLarge(f"too large: more than {cap} bytes")
        return bytes(body)


def _retry_after(value: str) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class RobotsRules:
    parser: Protego
    base: str = ""  # the robots.txt URL: relative Sitemap lines are resolved against it
    note: str = ""  # how the rules were obtained, for the crawl report

    def allowed(self, url: str, agent: str) -> bool:
        return bool(self.parser.can_fetch(url, agent))

    def crawl_delay(self, agent: str) -> float:
        value = self.parser.crawl_delay(agent)
        return float(value) if value else 0.0

    def sitemaps(self) -> list[str]:
        return [urljoin(self.base, url.strip()) for url in self.parser.sitemaps if url.strip()]


def robots_from(result: FetchResult) -> RobotsRules:
    """Rules from a robots.txt fetch, as RFC 9309 says: 4xx allows all, 5xx or no answer
    disallows all (the site may be overloaded)."""
    base = result.final_url or result.url
    if result.ok:
        text = result.content[:512_000].decode("utf-8", errors="replace")
        return RobotsRules(Protego.parse(text), base, "robots.txt applied")
    if result.status is not None and 400 <= result.status < 500:
        return RobotsRules(Protego.parse(""), base, f"no robots.txt (HTTP {result.status}): all allowed")
    why = result.skipped or result.error or result.status
    return RobotsRules(Protego.parse("User-agent: *\nDisallow: /"), base,
                       f"robots.txt unavailable ({why}): host skipped")


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"
