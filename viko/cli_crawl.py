"""Commands that bring documents in: crawl, add, crawl-report, get."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from viko.cli_common import STORAGE_ERRORS, Context, fail, pass_ctx, storage_failed
from viko.corpus.document import TYPES

_TYPE = click.Choice(list(TYPES))


def _visibility(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from viko.corpus.access import AccessError, parse_visibility

    try:
        return parse_visibility(value)
    except AccessError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command("crawl")
@click.argument("seeds", nargs=-1, required=True)
@click.option("--max-pages", type=click.IntRange(1), default=1000, show_default=True,
              help="Pages to fetch in this run (the rest stays queued for the next run).")
@click.option("--max-depth", type=click.IntRange(0), default=5, show_default=True, help="Links away from a seed.")
@click.option("--same-host/--any-host", default=True, show_default=True, help="Stay on the seeds' hosts.")
@click.option("--include", default="", help="Only URLs matching this regular expression.")
@click.option("--exclude", default="", help="Skip URLs matching this regular expression.")
@click.option("--recrawl", is_flag=True, help="Check every known page again (conditional requests: 304 if unchanged).")
@click.option("--type", "doc_type", type=_TYPE, default=None, help="Document type for every stored page.")
@click.option("--delay", type=float, default=None, help="Seconds between requests to one host ($VIKO_CRAWL_DELAY).")
@click.option("--index", "then_index", is_flag=True, help="Run `viko index` when the crawl ends.")
@click.option("--visibility", callback=_visibility, default="public", show_default=True, metavar="VIS",
              help="Who may see the stored documents: public, internal or group:NAME.")
@click.option("--allow-private", is_flag=True, default=None,
              help="Reach loopback, private and link-local addresses: an intranet crawl ($VIKO_CRAWL_ALLOW_PRIVATE).")
@pass_ctx
def crawl_cmd(c: Context, seeds: tuple[str, ...], max_pages: int, max_depth: int, same_host: bool,
              include: str, exclude: str, recrawl: bool, doc_type: str | None, delay: float | None,
              then_index: bool, visibility: str, allow_private: bool | None) -> None:
    """Crawl from SEED URLs, extract and store documents. Resumable: run it again after an
    interruption and it continues from its frontier. See `viko crawl-report` for details."""
    import re

    from viko.corpus.crawl import CrawlOptions, CrawlStats, crawl
    from viko.corpus.frontier import Scope
    from viko.runtime import open_catalogue

    for pattern in (include, exclude):
        try:
            re.compile(pattern)
        except re.error as exc:
            fail(f"bad regular expression {pattern!r}: {exc}", 2)
    settings = c.settings if delay is None else c.settings.replace(crawl_delay=delay)
    if allow_private:
        settings = settings.replace(crawl_allow_private=1)
    scope = Scope(max_depth=max_depth, same_host=same_host, include=include, exclude=exclude,
                  max_per_pattern=settings.crawl_max_per_pattern)
    options = CrawlOptions(max_pages=max_pages, scope=scope, recrawl=recrawl, doc_type=doc_type or "",
                           visibility=visibility,
                           workers=settings.crawl_workers, budget=settings.extract_budget)
    tty = sys.stderr.isatty()

    def progress(s: CrawlStats) -> None:
        if tty:
            click.echo(f"\rfetched {s.fetched}  stored {s.stored + s.updated}  skipped {s.skipped}  "
                       f"failed {s.failed}  {s.rate:.1f} pages/s ", nl=False, err=True)

    with open_catalogue(settings) as cat:
        try:
            stats = crawl(cat, seeds, settings.fetch_config, options, progress)
        except ValueError as exc:
            fail(str(exc), 2)
        except KeyboardInterrupt:
            cat.conn.commit()
            fail("interrupted: run the same command again to continue", 130)
    if tty:
        click.echo("", err=True)
    click.echo(stats.summary())
    if then_index:
        _index(c)


def _index(c: Context) -> None:
    from viko.align_all import index_and_align
    from viko.cli_workbench import after_index

    try:  # what `viko index` does: index, then counterparts, alignment, mining
        run = index_and_align(c.settings, on_indexed=lambda stats: click.echo(stats.summary()))
    except Exception as exc:  # every failure gets one clear line
        fail(f"indexing failed, the previous index is still live: {exc}")
    after_index(run)


@click.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--type", "doc_type", type=_TYPE, default=None, help="Document type for every file (else by rules).")
@click.option("--lang", type=click.Choice(["vi", "ko", "other"]), default=None, help="Language (else detected).")
@click.option("--source", default="", help="Publisher or origin to record for every file.")
@click.option("--index", "then_index", is_flag=True, help="Run `viko index` afterwards.")
@click.option("--visibility", callback=_visibility, default="public", show_default=True, metavar="VIS",
              help="Who may see the stored documents: public, internal or group:NAME.")
@pass_ctx
def add_cmd(c: Context, paths: tuple[Path, ...], doc_type: str | None, lang: str | None, source: str,
            then_index: bool, visibility: str) -> None:
    """Add local files and folders (recursively): HTML, text, PDF, DOCX, HWP, HWPX.
    Each file that cannot be read is reported with its reason; the rest go on."""
    from viko.corpus.ingest import FileOutcome, Overrides, ingest_paths
    from viko.runtime import open_catalogue

    stored: list[str] = []

    def show(o: FileOutcome) -> None:
        if o.outcome in ("skipped", "failed") or o.reason:  # a partial text says so too
            click.echo(f"  {o.outcome} {o.path}: {o.reason}", err=True)
        if o.outcome in ("added", "updated", "unchanged"):
            stored.append(o.path)

    try:
        with open_catalogue(c.settings) as cat:
            report = ingest_paths(cat, paths, Overrides(doc_type or "", lang or "", source, visibility), show,
                                  budget=c.settings.extract_budget)
    except STORAGE_ERRORS as exc:  # a full disk, a read-only or failing one: no traceback
        storage_failed(c.settings, exc, "the file being stored and the rest were not",
                       f"{len(stored)} files stored before it")
    click.echo(report.summary())
    if then_index:
        _index(c)
    if report.stored == 0 and report.outcomes:
        sys.exit(1)


@click.command("crawl-report")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: summary and every URL.")
@click.option("--state", type=click.Choice(["queued", "done", "skipped", "failed", "out_of_scope"]),
              default=None, help="Only URLs in this state.")
@pass_ctx
def crawl_report_cmd(c: Context, as_json: bool, state: str | None) -> None:
    """What the crawler did: per URL its state, HTTP status or error, and the reason."""
    from viko.corpus.frontier import report_rows, report_summary
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        summary, rows = report_summary(cat), report_rows(cat, state or "")
    if as_json:
        click.echo(json.dumps({"summary": summary, "urls": rows}, ensure_ascii=False, indent=1))
        return
    click.echo("  ".join(f"{k} {v}" for k, v in sorted(summary.items())) or "nothing crawled yet")
    for row in rows:
        code = row["http_status"] if row["http_status"] is not None else "-"
        click.echo(f"{row['state']:<12} {code!s:>4}  {row['url']}" + (f"\n{'':18}{row['reason']}" if row["reason"] else ""))


@click.command("get")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def get_cmd(c: Context, key: str, as_json: bool) -> None:
    """One stored document by id or URL (any variant of a crawled page's URL)."""
    from viko.corpus.dedup import sources_of
    from viko.corpus.urls import canonicalize
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        doc = cat.get(key) or cat.find_by_url(key) or _local_file(cat, key)
        if doc is None and (url := canonicalize(key)):
            doc = cat.find_by_url(url) or cat.find_by_crawled_url(url)
        if doc is None:
            fail(f"no document {key!r} (try `viko search` or `viko crawl-report`)")
            return
        sources = [asdict(s) for s in sources_of(cat, doc.id)]
    out: dict[str, Any] = {"id": doc.id, "url": doc.url, "lang": doc.lang, "title": doc.title, "type": doc.type,
                           "date": doc.date, "source": doc.source, "text": doc.text, "extra": doc.extra,
                           "sources": sources}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    click.echo(click.style(doc.title or doc.id, bold=True))
    click.echo(f"{doc.id}  [{doc.lang}] {doc.type or '-'}  {doc.date or 'undated'}  {doc.source}  {doc.url}")
    for s in sources[1:] if len(sources) > 1 else []:
        click.echo(f"  also at {s['url']} ({s['source']}, {s['kind']} duplicate)")
    click.echo("\n" + doc.text)


def _local_file(cat: Any, key: str) -> Any:
    """A file added by `viko add`, named by its path."""
    from viko.corpus.ingest import file_doc_id

    path = Path(key)
    return cat.get(file_doc_id(path)) if path.is_file() else None


def register(group: click.Group) -> None:
    for command in (crawl_cmd, add_cmd, crawl_report_cmd, get_cmd):
        group.add_command(command)
