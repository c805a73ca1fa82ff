"""The crawler against the fixture site on 127.0.0.1: what is stored, skipped and why."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from viko.cli import main
from viko.corpus.catalogue import Catalogue
from viko.corpus.crawl import CrawlOptions, crawl
from viko.corpus.dedup import duplicate_ids, indexable_documents, sources_of
from viko.corpus.fetch import FetchConfig, FetchResult, robots_from
from viko.corpus.frontier import Frontier, QueuedUrl, Scope, report_rows
from viko.corpus.urls import canonicalize

from fixtures.server import FixtureSite

# The timeout leaves a loaded CI machine time to answer the ordinary pages; /slow sleeps well past it.
FAST = FetchConfig(timeout=1.0, retries=1, backoff=0.01, max_bytes=200_000, delay=0.0, per_host=4,
                   allow_private=True)  # the fixture sites are on 127.0.0.1
OPTIONS = CrawlOptions(max_pages=200, scope=Scope(max_per_pattern=4))


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[FixtureSite, FixtureSite]]:
    with FixtureSite(slow_seconds=2.5) as site, FixtureSite(mirror=True) as mirror:
        site.mirror_host = mirror.host
        yield site, mirror


@pytest.fixture(scope="module")
def crawled(sites: tuple[FixtureSite, FixtureSite], tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    site, mirror = sites
    cat = Catalogue.open(tmp_path_factory.mktemp("crawl") / "catalogue.sqlite")
    stats = crawl(cat, [site.url("/"), mirror.url("/bai-viet/hop-tac-nang-luong.html")], FAST, OPTIONS)
    assert stats.fetched > 30 and stats.stored > 15
    return cat


def rows(cat: Catalogue, site: FixtureSite) -> dict[str, dict[str, object]]:
    return {str(r["url"]).replace(site.url(""), "/").replace("//", "/"): r for r in report_rows(cat)}


def doc_at(cat: Catalogue, url: str):  # type: ignore[no-untyped-def]
    doc = cat.find_by_url(canonicalize(url) or url)
    assert doc is not None, url
    return doc


def test_pages_of_every_format_are_stored(crawled: Catalogue, sites: tuple[FixtureSite, FixtureSite]) -> None:
    site, _ = sites
    expect = {
        "/tin-tuc/hai-phong-jeollanam.html": ("vi", "agreement", "html"),
        "/tin-tuc/nong-nghiep.html": ("vi", "news", "html"),
        "/ko/press-2024.html": ("ko", "news", "html"),
        "/ko/mou.html": ("ko", "agreement", "html"),
        "/en/about.html": ("other", "news", "html"),
        "/files/bao-cao-2024.pdf": ("vi", "report", "pdf"),
        "/files/bien-ban-ghi-nho.docx": ("vi", "agreement", "docx"),
        "/files/ruling.hwp": ("ko", "news", "hwp"),
        "/files/jeonnam-press.hwpx": ("ko", "news", "hwpx"),
    }
    for path, (lang, kind, fmt) in expect.items():
        doc = doc_at(crawled, site.url(path))
        assert (doc.lang, doc.type, doc.extra["format"]) == (lang, kind, fmt), path
    news = doc_at(crawled, site.url("/tin-tuc/nong-nghiep.html"))
    assert news.source == "Cổng thông tin điện tử Hải Phòng" and news.date == "2024-03-02"
    assert "Bản quyền thuộc" not in news.text and "Tin liên quan" not in news.text


def test_skips_and_failures_have_reasons(crawled: Catalogue, sites: tuple[FixtureSite, FixtureSite]) -> None:
    site, _ = sites
    r = rows(crawled, site)
    assert r["/private/noi-bo.html"]["state"] == "skipped"
    assert r["/private/noi-bo.html"]["reason"] == "disallowed by robots.txt"
    assert site.fetched("/private/noi-bo.html") == 0
    assert (r["/missing.html"]["state"], r["/missing.html"]["http_status"]) == ("failed", 404)
    assert (r["/error"]["state"], r["/error"]["reason"]) == ("failed", "HTTP 500")
    assert site.fetched("/error") == 2  # one retry
    assert r["/slow"]["state"] == "failed" and "timeout" in str(r["/slow"]["reason"])
    assert "PNG image" in str(r["/image.html"]["reason"]) and r["/image.html"]["state"] == "skipped"
    assert "too large" in str(r["/big.html"]["reason"])
    assert "no text layer" in str(r["/files/ban-scan.pdf"]["reason"])
    assert r["/flaky"]["state"] == "done" and site.fetched("/flaky") == 2  # 503 + Retry-After, then 200
    traps = [u for u, row in r.items() if u.startswith("/lich") and str(row["reason"]).startswith("trap")]
    fetched_calendar = [u for u, row in r.items() if u.startswith("/lich") and row["state"] == "done"]
    assert traps and len(fetched_calendar) <= 5


def test_discovery_by_sitemap_and_feed(crawled: Catalogue, sites: tuple[FixtureSite, FixtureSite]) -> None:
    site, _ = sites
    r = rows(crawled, site)
    assert r["/sitemap-news.xml.gz"]["reason"] == "sitemap: 2 URLs"
    assert r["/rss.xml"]["reason"] == "rss: 2 URLs"
    assert doc_at(crawled, site.url("/tin-tuc/only-in-sitemap.html")).type == "report"
    assert doc_at(crawled, site.url("/tin-tuc/only-in-feed.html")).lang == "vi"


def test_one_page_is_stored_once_whatever_its_url(crawled: Catalogue, sites: tuple[FixtureSite, FixtureSite]) -> None:
    site, _ = sites
    assert site.fetched("/tin-tuc/hai-phong-jeollanam.html") == 1  # utm, fragment, slash, sitemap variants
    assert site.fetched("/tin-tuc/nong-nghiep.html") == 2  # its own link, and the /old-news redirect
    r = rows(crawled, site)
    assert "redirected to" in str(r["/old-news"]["reason"])
    main_doc = doc_at(crawled, site.url("/tin-tuc/hai-phong-jeollanam.html"))
    assert r["/tin-tuc/ban-in?id=1"]["doc_id"] == main_doc.id  # <link rel=canonical>
    assert not [d for d in crawled.iter_documents() if "ban-in" in d.url]


def test_encodings_without_mojibake(crawled: Catalogue, sites: tuple[FixtureSite, FixtureSite]) -> None:
    site, _ = sites
    for variant in ("header", "meta", "undeclared"):
        doc = doc_at(crawled, site.url(f"/ko/euckr-{variant}.html"))
        assert doc.lang == "ko" and "한글이 깨지지 않고" in doc.text and doc.extra["encoding"] == "cp949"
    doc = doc_at(crawled, site.url("/nocharset.html"))
    assert "lưu trữ năng lượng" in doc.text and doc.extra["encoding"] == "utf-8"


def test_syndicated_article_is_one_result_with_two_sources(
        crawled: Catalogue, sites: tuple[FixtureSite, FixtureSite]) -> None:
    site, mirror = sites
    portal = doc_at(crawled, site.url("/tin-tuc/hai-phong-jeollanam.html"))
    copy = doc_at(crawled, mirror.url("/bai-viet/hop-tac-nang-luong.html"))
    sources = sources_of(crawled, portal.id)
    assert {s.id for s in sources} == {portal.id, copy.id}
    assert {s.source for s in sources} == {"Cổng thông tin điện tử Hải Phòng", "Báo Kinh tế Đô thị"}
    dups = duplicate_ids(crawled)
    assert len({portal.id, copy.id} & dups) == 1
    indexed = {d.id for d in indexable_documents(crawled)}
    assert len({portal.id, copy.id} & indexed) == 1


def test_resume_after_interruption_does_not_refetch(tmp_path: Path) -> None:
    with FixtureSite(slow_seconds=2.5) as site:
        cat = Catalogue.open(tmp_path / "c.sqlite")
        options = CrawlOptions(max_pages=5, scope=Scope(max_depth=2, include=r"/(tin-tuc|ko)\b|\d/$"))
        first = crawl(cat, [site.url("/")], FAST, options)
        assert first.fetched == 5
        done = {r["url"] for r in report_rows(cat) if r["state"] == "done"}
        assert len(done) >= 3  # pages the resumed crawl must not fetch again
        before = dict(site.hits)
        crawl(cat, [site.url("/")], FAST, CrawlOptions(max_pages=100, scope=options.scope))
        for url in done:
            path = url.replace(site.url(""), "/").replace("//", "/").split("?")[0]
            assert site.hits.get(path, 0) == before.get(path, 0), path
        assert not [r for r in report_rows(cat) if r["state"] in ("queued", "fetching")]
        assert cat.find_by_url(site.url("/ko/mou.html")) is not None


def test_recrawl_is_conditional_and_updates_changed_pages(tmp_path: Path) -> None:
    with FixtureSite() as site:
        cat = Catalogue.open(tmp_path / "c.sqlite")
        options = CrawlOptions(max_pages=10, scope=Scope(max_depth=0))
        crawl(cat, [site.url("/changing.html")], FAST, options)
        doc = doc_at(cat, site.url("/changing.html"))
        assert "tuần 1" in doc.text
        again = crawl(cat, [site.url("/changing.html")], FAST, CrawlOptions(max_pages=10, recrawl=True,
                                                                            scope=Scope(max_depth=0)))
        conditional = [h for path, h in site.requests if path == "/changing.html"][-1]
        assert again.not_modified == 1 and conditional.get("if-none-match") == '"v1"'
        site.version = 2
        again = crawl(cat, [site.url("/changing.html")], FAST, CrawlOptions(max_pages=10, recrawl=True,
                                                                            scope=Scope(max_depth=0)))
        assert again.updated == 1 and "tuần 2" in doc_at(cat, site.url("/changing.html")).text
        assert all("viko-crawler" in h.get("user-agent", "") for _, h in site.requests)


def test_a_page_is_judged_at_its_shortest_depth_whichever_path_finished_first(tmp_path: Path) -> None:
    # Pages are fetched concurrently: a link two hops deep may be met before the sitemap that
    # lists the same page one hop from the seed; the crawl must not depend on which came first.
    cat = Catalogue.open(tmp_path / "c.sqlite")
    fr = Frontier(cat, Scope(max_depth=1), {"example.org"})
    page = "http://example.org/news/a.html"
    fr.add(page, 2, "http://example.org/deep/")
    [taken] = fr.take(5)
    assert taken == QueuedUrl(page, 2) and fr.out_of_scope(taken)
    fr.set_aside(page, fr.out_of_scope(taken) or "")
    assert fr.left_out == 1
    assert fr.add(page, 1, "http://example.org/sitemap.xml")
    assert fr.left_out == 0  # the crawl's count of links out of scope no longer holds it
    assert fr.take(5) == [QueuedUrl(page, 1)]
    fr.finish(page, "done")
    assert not fr.add(page, 0, "http://example.org/") and fr.take(5) == []  # fetched once is enough
    assert not fr.add(page, 3, "http://example.org/x/")
    other = "http://example.org/news/b.html"  # being fetched when the shorter path turns up
    fr.add(other, 2, "http://example.org/deep/")
    [taken] = fr.take(5)
    assert fr.add(other, 1, "http://example.org/sitemap.xml") and fr.take(5) == []  # not fetched twice
    assert fr.current(taken) == QueuedUrl(other, 1) and not fr.out_of_scope(fr.current(taken))


def test_robots_rules_follow_rfc_9309() -> None:
    ok = FetchResult(url="u", final_url="u", status=200,
                     content=b"User-agent: viko-crawler\nCrawl-delay: 3\nDisallow: /x/\n")
    rules = robots_from(ok)
    assert not rules.allowed("http://a/x/1", "viko-crawler/0.1") and rules.allowed("http://a/y", "viko-crawler/0.1")
    assert rules.crawl_delay("viko-crawler/0.1") == 3
    assert robots_from(FetchResult(url="u", final_url="u", status=404, error="HTTP 404")).allowed("http://a/x", "v")
    assert not robots_from(FetchResult(url="u", final_url="u", status=503, error="HTTP 503")).allowed("http://a/", "v")


def test_cli_crawl_report_and_get(sites: tuple[FixtureSite, FixtureSite], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    site, _ = sites
    monkeypatch.setenv("VIKO_CRAWL_TIMEOUT", "0.4")
    monkeypatch.setenv("VIKO_CRAWL_RETRIES", "0")
    data = str(tmp_path / "data")
    runner = CliRunner()
    refused = runner.invoke(main, ["--data", data, "crawl", "--delay", "0", site.url("/ko/")])
    assert refused.exit_code == 0 and "seed refused" in refused.output and "loopback address 127.0.0.1" in refused.output
    out = runner.invoke(main, ["--data", data, "crawl", "--delay", "0", "--max-depth", "1", "--allow-private",
                               "--exclude", "/lich|/slow", "--type", "news", site.url("/ko/")])
    assert out.exit_code == 0, out.output
    assert "stored" in out.output
    report = json.loads(runner.invoke(main, ["--data", data, "crawl-report", "--json"]).output)
    states = {r["url"].replace(site.url(""), "/").replace("//", "/"): r for r in report["urls"]}
    assert states["/ko/mou.html"]["state"] == "done" and report["summary"]["done"] >= 3
    out = runner.invoke(main, ["--data", data, "get", "--json", site.url("/ko/mou.html;jsessionid=X#top")])
    got = json.loads(out.output)
    assert got["lang"] == "ko" and got["type"] == "news" and got["title"].startswith("전라남도-하이퐁시")
    assert got["sources"][0]["url"] == got["url"]
    out = runner.invoke(main, ["--data", data, "get", "http://nowhere.example/x"])
    assert out.exit_code == 1 and "no document" in out.output
    out = runner.invoke(main, ["--data", data, "crawl", "ftp://x"])
    assert out.exit_code == 2 and "not an http(s) URL" in out.output
