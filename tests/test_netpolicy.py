"""The crawler's network policy: no internal address by default, every redirect hop checked
like a link, robots.txt with wildcards and relative sitemaps.

The "internet" here is httpx.MockTransport plus a fake resolver: public names resolve to a
documentation-free public address, the intranet name to 10.0.0.5; nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import httpcore
import httpx
import pytest

from viko.corpus import netpolicy
from viko.corpus.catalogue import Catalogue
from viko.corpus.crawl import Crawler, CrawlOptions
from viko.corpus.fetch import FetchConfig, Fetcher, FetchResult, robots_from
from viko.corpus.frontier import Scope, report_rows

PUBLIC_IP = "93.184.216.34"
NAMES = {"public.test": PUBLIC_IP, "other.test": "93.184.216.35", "intranet.corp": "10.0.0.5"}
CONFIG = FetchConfig(timeout=2.0, retries=0, backoff=0.0, delay=0.0)
PAGE = "<html><head><title>{0}</title></head><body><p>{0} — nội dung trang đủ dài để lưu lại.</p></body></html>"


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    real = netpolicy.resolve

    async def resolve(host: str, port: int) -> list[netpolicy.Address]:
        if host in NAMES:
            return [ipaddress.ip_address(NAMES[host])]
        return await real(host, port)  # IP literals and `localhost` resolve for real

    monkeypatch.setattr(netpolicy, "resolve", resolve)


def site(seen: list[httpx.Request]) -> httpx.MockTransport:
    redirects = {"/meta": "http://169.254.169.254/latest/meta-data/", "/intranet": "http://intranet.corp/wiki",
                 "/loop": "http://127.0.0.1:9/admin", "/away": "http://other.test/page", "/here": "/page", "/topdf": "/files/a.pdf"}

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/robots.txt":
            return httpx.Response(200, text="User-agent: *\nDisallow: /*.pdf$\nDisallow: /private*\n"
                                             "Sitemap: /sitemap.xml\n")
        if path in redirects:
            return httpx.Response(302, headers={"Location": redirects[path]})
        title = f"{request.headers['host']}{path}"
        return httpx.Response(200, text=PAGE.format(title), headers={"Content-Type": "text/html; charset=utf-8"})

    return httpx.MockTransport(handle)


def fetch(url: str, config: FetchConfig = CONFIG) -> tuple[FetchResult, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    async def go() -> FetchResult:
        async with Fetcher(config, site(seen)) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(go()), seen


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"), ("10.1.2.3", "private"),
    ("192.168.0.1", "private"), ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"), ("100.64.0.1", "non-public"), (PUBLIC_IP, ""),
])
def test_address_kinds(address: str, kind: str) -> None:
    assert netpolicy.address_problem(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(("path", "why"), [
    ("/meta", "link-local address 169.254.169.254"), ("/intranet", "private address intranet.corp (10.0.0.5)"),
    ("/loop", "loopback address 127.0.0.1"),
])
def test_redirect_to_an_internal_address_is_refused_by_default(path: str, why: str) -> None:
    result, seen = fetch(f"http://public.test{path}")
    assert not result.ok and why in result.skipped and "--allow-private" in result.skipped
    assert [r.url.path for r in seen] == [path]  # the internal target never got a request


def test_redirect_to_an_internal_address_is_followed_when_allowed() -> None:
    result, seen = fetch("http://public.test/meta", FetchConfig(retries=0, delay=0.0, allow_private=True))
    assert result.ok and result.final_url == "http://169.254.169.254/latest/meta-data/"
    assert len(seen) == 2


def test_a_name_is_checked_on_its_resolved_address() -> None:
    result, seen = fetch("http://localhost:9/")  # a name, not an address: resolves to loopback
    assert not result.ok and "loopback address localhost" in result.skipped and seen == []


def test_connection_goes_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the first answer is public, a later one loopback. The backend asks once
    per connection and connects to the very address it checked."""
    answers = iter([PUBLIC_IP, "127.0.0.1"])
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[netpolicy.Address]:
        asked.append(host)
        return [ipaddress.ip_address(next(answers))]

    class Recorder(httpcore.AsyncNetworkBackend):
        def __init__(self) -> None:
            self.hosts: list[str] = []

        async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                              local_address: str | None = None, socket_options: object = None) -> httpcore.AsyncNetworkStream:
            self.hosts.append(host)
            raise httpcore.ConnectError("recorded")

    monkeypatch.setattr(netpolicy, "resolve", rebinding)
    inner = Recorder()
    backend = netpolicy.PublicOnlyBackend(inner)
    with pytest.raises(httpcore.ConnectError):
        asyncio.run(backend.connect_tcp("rebind.test", 80))
    assert inner.hosts == [PUBLIC_IP] and asked == ["rebind.test"]
    with pytest.raises(netpolicy.BlockedAddress):  # the next connection sees loopback: refused
        asyncio.run(backend.connect_tcp("rebind.test", 80))
    assert inner.hosts == [PUBLIC_IP]


def test_the_real_transport_checks_at_connection_time() -> None:
    transport = netpolicy.PublicOnlyTransport()
    assert isinstance(transport._inner._pool._network_backend, netpolicy.PublicOnlyBackend)  # type: ignore[attr-defined]


def crawl_fake(tmp_path: Path, seeds: list[str], *, allow_private: bool = False,
               scope: Scope | None = None) -> tuple[dict[str, dict[str, object]], list[str], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    config = FetchConfig(retries=0, delay=0.0, allow_private=allow_private)
    options = CrawlOptions(max_pages=20, scope=scope or Scope(max_depth=0))
    with Catalogue.open(tmp_path / "c.sqlite") as cat:
        crawler = Crawler(cat, config, options, transport=site(seen))
        stats = asyncio.run(crawler.run(seeds))
        rows = {str(r["url"]): r for r in report_rows(cat)}
    return rows, stats.refused_seeds, seen


def test_crawler_checks_each_redirect_hop_for_scope_and_address(tmp_path: Path) -> None:
    rows, _, seen = crawl_fake(tmp_path, ["http://public.test/meta", "http://public.test/away",
                                          "http://public.test/here"])
    assert "another host (--same-host)" in str(rows["http://public.test/meta"]["reason"])
    assert rows["http://public.test/away"]["state"] == "skipped"
    assert "another host (--same-host)" in str(rows["http://public.test/away"]["reason"])
    assert rows["http://public.test/here"]["state"] == "done"  # a same-host redirect is fine
    assert not any(r.url.host in ("169.254.169.254", "93.184.216.35") for r in seen)
    rows, _, seen = crawl_fake(tmp_path / "any", ["http://public.test/meta"], scope=Scope(max_depth=0, same_host=False))
    assert rows["http://public.test/meta"]["state"] == "skipped"
    assert "link-local address 169.254.169.254" in str(rows["http://public.test/meta"]["reason"])
    assert not any(r.url.host == "169.254.169.254" for r in seen)


def test_redirect_hop_obeys_exclude_and_robots(tmp_path: Path) -> None:
    rows, _, _ = crawl_fake(tmp_path, ["http://public.test/away"], scope=Scope(max_depth=0, same_host=False,
                                                                                 exclude="other"))
    assert "matches --exclude" in str(rows["http://public.test/away"]["reason"])
    rows, _, seen = crawl_fake(tmp_path / "b", ["http://public.test/topdf"])
    assert rows["http://public.test/topdf"]["state"] == "skipped"
    assert "disallowed by robots.txt" in str(rows["http://public.test/topdf"]["reason"])
    assert "/files/a.pdf" not in [r.url.path for r in seen]


def test_refused_seed_says_why_and_flag_allows_it(tmp_path: Path) -> None:
    rows, refused, seen = crawl_fake(tmp_path, ["http://intranet.corp/wiki"])
    assert refused == ["http://intranet.corp/wiki: private address intranet.corp (10.0.0.5) refused: "
                       "use --allow-private (VIKO_CRAWL_ALLOW_PRIVATE=1) for an intranet crawl"]
    assert rows["http://intranet.corp/wiki"]["state"] == "skipped" and seen == []
    rows, refused, _ = crawl_fake(tmp_path / "b", ["http://intranet.corp/wiki"], allow_private=True)
    assert refused == [] and rows["http://intranet.corp/wiki"]["state"] == "done"


def test_setting_turns_the_flag_on() -> None:
    from viko.settings import Settings

    on = Settings.from_env(env={"VIKO_CRAWL_ALLOW_PRIVATE": "1"})
    assert on.fetch_config.allow_private
    assert not Settings.from_env(env={}).fetch_config.allow_private


def test_robots_wildcards_and_relative_sitemap() -> None:
    text = b"User-agent: *\nDisallow: /*.pdf$\nDisallow: /search*q=\nAllow: /\nSitemap: /maps/sitemap.xml\n"
    rules = robots_from(FetchResult(url="https://a.go.kr/robots.txt", final_url="https://a.go.kr/robots.txt",
                                    status=200, content=text))
    agent = "viko-crawler/0.1"
    assert not rules.allowed("https://a.go.kr/files/report.pdf", agent)
    assert rules.allowed("https://a.go.kr/files/report.pdf?download=1", agent)  # `$` anchors the end
    assert not rules.allowed("https://a.go.kr/search/list?q=x", agent)
    assert rules.allowed("https://a.go.kr/news/1.html", agent)
    assert rules.sitemaps() == ["https://a.go.kr/maps/sitemap.xml"]


def test_relative_sitemap_is_queued_by_the_crawler(tmp_path: Path) -> None:
    rows, _, _ = crawl_fake(tmp_path, ["http://public.test/page"])
    assert "http://public.test/sitemap.xml" in rows


def test_the_real_network_refuses_localhost_before_connecting() -> None:
    async def go() -> FetchResult:
        async with Fetcher(CONFIG) as fetcher:  # no fake transport: httpx's own
            return await fetcher.fetch("http://localhost:9/")

    result = asyncio.run(go())
    assert "loopback address localhost" in result.skipped and result.attempts == 1
