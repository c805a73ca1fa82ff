"""The crawl loop: take URLs from the frontier, fetch politely, extract, store, discover.

One bad page never stops a crawl: every outcome (stored, unchanged, not modified,
discovered, skipped, failed) is logged with its reason and the loop goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from viko.corpus import dedup
from viko.corpus.catalogue import Catalogue
from viko.corpus.discover import discover
from viko.corpus.document import DocumentError, make_document
from viko.corpus.extract import extract, sniff
from viko.corpus.fetch import FetchConfig, Fetcher, FetchResult, RobotsRules, robots_from, robots_url
from viko.corpus.formats import Extracted, ExtractionError
from viko.corpus.formats.budget import DEFAULT_BUDGET, Budget
from viko.corpus.frontier import DONE, FAILED, SKIPPED, Frontier, QueuedUrl, Scope
from viko.corpus.netpolicy import BlockedAddress, checked_address
from viko.corpus.urls import canonicalize, doc_id_for_url, host_of


@dataclass(frozen=True)
class CrawlOptions:
    max_pages: int = 1000
    scope: Scope = field(default_factory=Scope)
    recrawl: bool = False
    doc_type: str = ""   # overrides the rule-based type of every stored document
    visibility: str = ""  # who may see every stored document (viko.corpus.access; "" = public)
    workers: int = 8
    budget: Budget = DEFAULT_BUDGET  # what one fetched file may cost to extract


@dataclass
class CrawlStats:
    fetched: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    not_modified: int = 0
    discovered: int = 0
    skipped: int = 0
    failed: int = 0
    out_of_scope: int = 0
    duplicates: int = 0
    refused_seeds: list[str] = field(default_factory=list)  # "URL: reason" for each seed not crawled
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        return self.fetched / max(1e-9, time.monotonic() - self.started)

    def summary(self) -> str:
        return (f"fetched {self.fetched} pages ({self.rate:.1f}/s): {self.stored} stored, {self.updated} updated, "
                f"{self.unchanged + self.not_modified} unchanged, {self.discovered} sitemaps/feeds, "
                f"{self.skipped} skipped, {self.failed} failed, {self.duplicates} duplicates; "
                f"{self.out_of_scope} links out of scope"
                + "".join(f"\nseed refused: {line}" for line in self.refused_seeds))


Progress = Callable[[CrawlStats], None]


@dataclass(frozen=True)
class _Page:
    """What the worker thread made of a response body."""
    extracted: Extracted | None = None
    links: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    canonical: str = ""
    noindex: bool = False
    nofollow: bool = False
    discovered: tuple[str, ...] = ()
    discovery_kind: str = ""
    error: str = ""
    link_list: bool = False  # its links are followed, the list itself is not stored


def analyse(content: bytes, content_type: str, url: str, budget: Budget = DEFAULT_BUDGET) -> _Page:
    """CPU-bound part, run in a thread: sniff, then discovery lists or extracted text."""
    try:
        kind = "xml" if content[:2] == b"\x1f\x8b" else sniff(content, content_type)
        if kind == "xml":
            found = discover(content)
            if not found.kind:
                return _Page(error="XML that is neither a sitemap nor a feed")
            return _Page(discovered=found.urls, discovery_kind=found.kind)
        extracted = extract(content, content_type=content_type, url=url, budget=budget)
    except ExtractionError as exc:
        return _Page(error=str(exc))
    if extracted.format != "html":
        return _Page(extracted=extracted)
    from viko.corpus.formats.encoding import charset_from_content_type, decode_bytes
    from viko.corpus.formats.html import is_link_list, page_links

    html, _ = decode_bytes(content, charset_from_content_type(content_type), html=True)
    links = page_links(html, url)
    return _Page(extracted=extracted, links=links.links, feeds=links.feeds, canonical=links.canonical,
                 noindex=links.noindex, nofollow=links.nofollow, link_list=is_link_list(extracted.text, links))


class Crawler:
    def __init__(self, cat: Catalogue, fetch_config: FetchConfig, options: CrawlOptions,
                 progress: Progress | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.cat = cat
        self._transport = transport  # tests put a fake network here
        self.config = fetch_config
        self.options = options
        self.progress = progress
        self.stats = CrawlStats()
        self.frontier = Frontier(cat, options.scope, set())
        self._robots: dict[str, RobotsRules] = {}
        self._robots_lock: dict[str, asyncio.Lock] = {}
        self._agent = fetch_config.user_agent
        self.fetcher: Fetcher | None = None

    async def run(self, seeds: Sequence[str]) -> CrawlStats:
        self.frontier.seed_hosts = {host_of(s) for s in seeds}
        self.frontier.prepare(recrawl=self.options.recrawl)
        for seed in seeds:
            self.frontier.add_seed(seed)
        async with Fetcher(self.config, self._transport) as fetcher:
            self.fetcher = fetcher
            for seed in seeds:
                refused = await self._address_refused(seed)
                if refused:
                    self.frontier.finish(seed, SKIPPED, reason=refused)
                    self.stats.refused_seeds.append(f"{seed}: {refused}")
            await self._loop()
        return self.stats

    async def _loop(self) -> None:
        running: set[asyncio.Task[None]] = set()
        while True:
            # Out-of-scope and robots-skipped URLs cost no fetch, so only fetches use the budget.
            budget = self.options.max_pages - self.stats.fetched - len(running)
            room = min(self.options.workers - len(running), budget)
            for entry in self.frontier.take(room) if room > 0 else []:
                running.add(asyncio.create_task(self._visit(entry)))
            if not running:
                return
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # _visit catches everything; a bug should surface, not hide
            if self.progress:
                self.progress(self.stats)

    async def _visit(self, entry: QueuedUrl) -> None:
        try:
            await self._visit_inner(entry)
        except Exception as exc:  # one bad page never stops the crawl
            self.frontier.finish(entry.url, FAILED, reason=f"internal error: {type(exc).__name__}: {exc}")
            self.stats.failed += 1
        self.cat.conn.commit()

    async def _visit_inner(self, entry: QueuedUrl) -> None:
        entry = self.frontier.current(entry)
        reason = self.frontier.out_of_scope(entry)
        if reason:
            self.frontier.set_aside(entry.url, reason)
            self.stats.out_of_scope = self.frontier.left_out
            return
        reason = (self.frontier.trap(entry) or await self._address_refused(entry.url)
                  or await self._disallowed(entry.url))
        if reason:
            self.frontier.finish(entry.url, SKIPPED, reason=reason)
            self.stats.skipped += 1
            return
        etag, modified = self.frontier.validators(entry.url)
        assert self.fetcher is not None
        result = await self.fetcher.fetch(entry.url, etag=etag, last_modified=modified, allow=self._hop_refused)
        self.stats.fetched += 1
        await self._handle(entry, result)
        self.stats.out_of_scope = self.frontier.left_out  # its links may have taken one back

    async def _hop_refused(self, url: str) -> str | None:
        """A redirect target passes what a link passes: scope, network policy, robots.txt."""
        canon = canonicalize(url)
        if canon is None:
            return f"redirect to a non-http(s) URL {url[:200]!r}"
        outside = self.frontier.outside(canon)
        if outside:
            return f"redirect to {canon} refused: {outside}"
        return await self._address_refused(canon) or await self._disallowed(canon)

    async def _address_refused(self, url: str) -> str | None:
        """Why the network policy refuses url's host (checked again at connection time)."""
        if self.config.allow_private:
            return None
        parts = urlsplit(url)
        try:
            await checked_address(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        except BlockedAddress as exc:
            return str(exc)
        except httpx.HTTPError:
            return None  # unresolvable: the fetch itself reports it
        return None

    async def _disallowed(self, url: str) -> str | None:
        rules = await self._rules(url)
        return None if rules.allowed(url, self._agent) else "disallowed by robots.txt"

    async def _rules(self, url: str) -> RobotsRules:
        host = host_of(url)
        lock = self._robots_lock.setdefault(host, asyncio.Lock())
        async with lock:
            if host not in self._robots:
                assert self.fetcher is not None
                result = await self.fetcher.fetch(robots_url(url))
                rules = robots_from(result)
                self.frontier.log(result, "robots", rules.note)
                self.fetcher.set_host_delay(host, rules.crawl_delay(self._agent))
                for sitemap in rules.sitemaps():
                    if (canon := canonicalize(sitemap)) is not None:
                        self.frontier.add(canon, 0, robots_url(url))
                self._robots[host] = rules
            return self._robots[host]

    async def _handle(self, entry: QueuedUrl, result: FetchResult) -> None:
        fr = self.frontier
        hops = f" (redirected to {result.final_url})" if result.redirects else ""
        if result.skipped or result.error:
            state, reason = (SKIPPED, result.skipped) if result.skipped else (FAILED, result.error)
            fr.log(result, state, reason)
            fr.finish(entry.url, state, status=result.status, reason=reason + hops)
            self.stats.skipped += state == SKIPPED
            self.stats.failed += state == FAILED
            return
        if result.not_modified:
            fr.log(result, "not_modified")
            fr.finish(entry.url, DONE, status=304, reason="not modified since last crawl",
                      doc_id=self._doc_of(entry.url))
            self.stats.not_modified += 1
            return
        final = canonicalize(result.final_url) or entry.url
        page = await asyncio.get_running_loop().run_in_executor(
            None, analyse, result.content, result.content_type, final, self.options.budget)
        if page.error:
            fr.log(result, SKIPPED, page.error)
            fr.finish(entry.url, SKIPPED, status=result.status, reason=page.error + hops)
            self.stats.skipped += 1
            return
        self._enqueue(self.frontier.current(entry), final, page)
        if page.discovery_kind:
            note = f"{page.discovery_kind}: {len(page.discovered)} URLs"
            fr.log(result, "discovered", note)
            fr.finish(entry.url, DONE, status=result.status, reason=note + hops)
            self.stats.discovered += 1
            return
        self._store(entry, final, result, page, hops)

    def _enqueue(self, entry: QueuedUrl, final: str, page: _Page) -> None:
        if page.discovery_kind:
            # Sitemap indexes and feeds are signposts: what they list is one step further.
            depth = entry.depth if page.discovery_kind == "sitemapindex" else entry.depth + 1
            for url in page.discovered:
                if (canon := canonicalize(url, final)) is not None:
                    self.frontier.add(canon, depth, entry.url)
            return
        if final != entry.url:
            self.frontier.add(final, entry.depth, entry.url, state=DONE, reason=f"redirect target of {entry.url}")
        for url in page.feeds:
            self.frontier.add(url, entry.depth, entry.url)
        if not page.nofollow:
            for url in page.links:
                self.frontier.add(url, entry.depth + 1, entry.url)

    def _store(self, entry: QueuedUrl, final: str, result: FetchResult, page: _Page, hops: str) -> None:
        fr = self.frontier
        assert page.extracted is not None
        if page.noindex or page.link_list:
            why = "robots meta noindex" if page.noindex else "a list of links: its links followed, the list not stored"
            fr.log(result, SKIPPED, why)
            fr.finish(entry.url, SKIPPED, status=result.status, reason=why + hops)
            self.stats.skipped += 1
            return
        doc_url = final
        if page.canonical and page.canonical != final and host_of(page.canonical) == host_of(final):
            doc_url = page.canonical  # the site says which URL this content lives at
            fr.add(doc_url, entry.depth, entry.url, state=DONE, reason=f"content stored from {entry.url}")
        try:
            doc = make_document(self._record(doc_url, page.extracted))
        except DocumentError as exc:
            fr.log(result, FAILED, f"invalid document: {exc}")
            fr.finish(entry.url, FAILED, status=result.status, reason=f"invalid document: {exc}")
            self.stats.failed += 1
            return
        outcome = self.cat.upsert(doc)
        dup = dedup.register(self.cat, doc) if outcome != "unchanged" else None
        note = f"{outcome}" + (f"; {dup.kind} duplicate of {dup.canonical_id}" if dup else "")
        fr.remember(entry.url, doc.id, result)
        fr.log(result, "stored" if outcome == "added" else outcome, note, doc.id)
        fr.finish(entry.url, DONE, status=result.status, reason=note + hops, doc_id=doc.id)
        self.stats.stored += outcome == "added"
        self.stats.updated += outcome == "updated"
        self.stats.unchanged += outcome == "unchanged"
        self.stats.duplicates += dup is not None

    def _record(self, url: str, ex: Extracted) -> dict[str, object]:
        extra = {k: v for k, v in (("format", ex.format), ("encoding", ex.encoding), ("author", ex.author)) if v}
        return {"id": doc_id_for_url(url), "url": url, "title": ex.title, "text": ex.text, "date": ex.date,
                "source": ex.sitename or host_of(url), "type": self.options.doc_type,
                "visibility": self.options.visibility, **extra}

    def _doc_of(self, url: str) -> str:
        row = self.cat.conn.execute("SELECT doc_id FROM crawl_pages WHERE url=?", (url,)).fetchone()
        return str(row[0]) if row else ""


def crawl(cat: Catalogue, seeds: Sequence[str], fetch_config: FetchConfig, options: CrawlOptions,
          progress: Progress | None = None) -> CrawlStats:
    """Run a crawl to completion (or until max_pages); safe to interrupt and run again."""
    canon = [c for s in seeds if (c := canonicalize(s)) is not None]
    if len(canon) != len(seeds):
        bad = [s for s in seeds if canonicalize(s) is None]
        raise ValueError(f"not an http(s) URL: {', '.join(bad)}")
    return asyncio.run(Crawler(cat, fetch_config, options, progress).run(canon))
