"""Section "crawl": HWP/HWPX extraction on ../shared data, crawl throughput on the fixture site."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.report import table, write_section
from viko.corpus.extract import extract
from viko.corpus.formats import ExtractionError

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def hwp_rulings() -> str:
    folder = SHARED / "hwp" / "nts-rulings"
    files = sorted(folder.glob("*.hwp")) if folder.is_dir() else []
    if not files:
        return "HWP rulings: `../shared/data/hwp/nts-rulings` is absent; not measured."
    ok, chars, failures = 0, 0, []
    started = time.perf_counter()
    for path in files:
        try:
            chars += len(extract(path.read_bytes()).text)
            ok += 1
        except ExtractionError as exc:
            failures.append((path.name, str(exc)))
    seconds = time.perf_counter() - started
    lines = [f"**HWP 5 rulings** (`../shared/data/hwp/nts-rulings`): {ok} of {len(files)} files gave text "
             f"({chars:,} characters) in {seconds:.2f} s: **{len(files) / seconds:.0f} files/s** "
             "(read + OLE parse + inflate + record decode, one core).", ""]
    if failures:
        lines += [f"Files without text ({len(failures)}):", "", table(["file", "reason"], [list(f) for f in failures])]
    return "\n".join(lines)


def hwpx_documents() -> str:
    folder = SHARED / "hwpx"
    files = sorted(folder.glob("*.hwpx")) if folder.is_dir() else []
    if not files:
        return "HWPX: `../shared/data/hwpx` is absent; not measured."
    rows: list[list[object]] = []
    for path in files:
        try:
            ex = extract(path.read_bytes())
            rows.append([path.name, len(ex.text), ex.title[:50] or "-", "ok"])
        except ExtractionError as exc:
            rows.append([path.name, 0, "-", str(exc)])
    return "**HWPX** (`../shared/data/hwpx`):\n\n" + table(["file", "characters", "title", "result"], rows)


def crawl_throughput(runs: int = 3) -> str:
    from tests.fixtures.server import FixtureSite
    from viko.corpus.catalogue import Catalogue
    from viko.corpus.crawl import CrawlOptions, crawl
    from viko.corpus.fetch import FetchConfig
    from viko.corpus.frontier import Scope

    config = FetchConfig(timeout=2.0, retries=0, backoff=0.0, max_bytes=200_000, delay=0.0, per_host=8,
                         allow_private=True)
    options = CrawlOptions(max_pages=500, scope=Scope(max_per_pattern=20), workers=8)
    rates, fetched, stored = [], 0, 0
    for _ in range(runs):
        with FixtureSite(slow_seconds=0.0) as site, FixtureSite(mirror=True) as mirror, \
                tempfile.TemporaryDirectory() as tmp:
            site.mirror_host = mirror.host
            cat = Catalogue.open(Path(tmp) / "catalogue.sqlite")
            started = time.perf_counter()
            stats = crawl(cat, [site.url("/"), mirror.url("/bai-viet/hop-tac-nang-luong.html")], config, options)
            rates.append(stats.fetched / (time.perf_counter() - started))
            fetched, stored = stats.fetched, stats.stored
            cat.close()
    return (f"**Crawl throughput**, fixture site on 127.0.0.1 (two hosts, politeness off: delay 0, 8 workers, "
            f"8 per host, no retries), {fetched} pages fetched per run ({stored} stored; the rest are "
            f"sitemaps, feeds, deliberate errors, skipped pages and duplicates): "
            f"**{statistics.median(rates):.1f} pages/s** (median of {runs} runs, range "
            f"{min(rates):.1f}-{max(rates):.1f}; the first run includes loading the extraction libraries).")


def run() -> None:
    parts = ["## Crawling and document extraction", hwp_rulings(), hwpx_documents(), crawl_throughput()]
    write_section("crawl", "\n\n".join(parts))


if __name__ == "__main__":
    run()
