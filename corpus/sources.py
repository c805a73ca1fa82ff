"""Watched sources (migration 0013): sites crawled on a schedule, and each crawl's history.

A source is registered with its seed URLs, its scope (same host, include/exclude patterns,
depth, pages per run), the type and visibility its documents get, and a schedule. When it is
due, a `crawl` job is queued (corpus/jobs.py) and `crawl_source` runs the ordinary crawler
(corpus/crawl.py: robots.txt, the network policy, politeness delays) incrementally: the
pages an earlier run of this source reached are checked again with their validators (ETag,
Last-Modified: 304 when unchanged), and nothing another source found is touched. Each run
keeps its counts (new, changed, unchanged, failed, skipped) and its failures with reasons.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from viko.corpus import jobs
from viko.corpus.access import AccessError, parse_visibility
from viko.corpus.catalogue import Catalogue, utcnow
from viko.corpus.crawl import CrawlOptions, CrawlStats, crawl
from viko.corpus.document import TYPES
from viko.corpus.fetch import FetchConfig
from viko.corpus.formats.budget import DEFAULT_BUDGET, Budget
from viko.corpus.frontier import Scope
from viko.corpus.urls import canonicalize

SCHEDULES = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
MAX_SEEDS = 20
MAX_PATTERN_CHARS = 500
MAX_PAGES = 100_000
MAX_DEPTH = 50
FAILURES_KEPT = 200  # per run: the reasons shown in a source's history
_COLUMNS = ("id, name, seeds, same_host, include, exclude, type, visibility, schedule, max_pages, max_depth, "
            "last_run_at, next_due_at, created_by")
_RUN_COLUMNS = ("id, source_id, job_id, state, started_at, finished_at, fetched, new, changed, unchanged, "
                "not_modified, failed, skipped, failures, message")


class SourceError(ValueError):
    """A source that cannot be registered as given; the message says what to change."""


@dataclass(frozen=True)
class Source:
    name: str
    seeds: tuple[str, ...]
    same_host: bool = True
    include: str = ""
    exclude: str = ""
    type: str = ""
    visibility: str = "public"
    schedule: str = "daily"
    max_pages: int = 1000
    max_depth: int = 5
    id: int = 0
    last_run_at: str = ""
    next_due_at: str = ""
    created_by: str = ""


@dataclass(frozen=True)
class SourceRun:
    id: int
    source_id: int
    job_id: int | None
    state: str
    started_at: str
    finished_at: str = ""
    fetched: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    not_modified: int = 0
    failed: int = 0
    skipped: int = 0
    failures: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    message: str = ""


def check_source(name: str, seeds: Any, *, same_host: bool = True, include: str = "", exclude: str = "",
                 type: str = "", visibility: str = "public", schedule: str = "daily", max_pages: int = 1000,
                 max_depth: int = 5) -> Source:
    """A source as given, checked and normalised (seed URLs canonical, patterns compiled once);
    SourceError says what is wrong."""
    name = " ".join(str(name).split())
    if not 1 <= len(name) <= 100:
        raise SourceError("a source needs a name of 1 to 100 characters")
    given = seeds.split() if isinstance(seeds, str) else [str(s) for s in seeds]
    if not given or len(given) > MAX_SEEDS:
        raise SourceError(f"a source needs 1 to {MAX_SEEDS} seed URLs (http or https)")
    canon = []
    for seed in given:
        url = canonicalize(seed)
        if url is None:
            raise SourceError(f"seed {seed[:200]!r} is not an http(s) URL")
        canon.append(url)
    for label, pattern in (("include", include), ("exclude", exclude)):
        if len(pattern) > MAX_PATTERN_CHARS:
            raise SourceError(f"the {label} pattern is longer than {MAX_PATTERN_CHARS} characters")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SourceError(f"the {label} pattern {pattern[:100]!r} is not a regular expression: {exc}") from exc
    if type and type not in TYPES:
        raise SourceError(f"type {type!r}: use one of {', '.join(TYPES)}, or none (guessed per page)")
    if schedule not in SCHEDULES:
        raise SourceError(f"schedule {schedule!r}: use hourly, daily or weekly")
    try:
        visibility = parse_visibility(visibility)
    except AccessError as exc:
        raise SourceError(str(exc)) from exc
    if not (1 <= int(max_pages) <= MAX_PAGES and 0 <= int(max_depth) <= MAX_DEPTH):
        raise SourceError(f"pages per run: 1 to {MAX_PAGES}; depth: 0 to {MAX_DEPTH}")
    return Source(name, tuple(dict.fromkeys(canon)), bool(same_host), include, exclude, type, visibility,
                  schedule, int(max_pages), int(max_depth))


def add(cat: Catalogue, source: Source, created_by: str) -> Source:
    """Registers a source; due at once (its first crawl runs at the runner's next look)."""
    if find(cat, source.name) is not None:
        raise SourceError(f"a source named {source.name!r} exists: choose another name, or edit it")
    now = utcnow()
    with cat.conn:
        cur = cat.conn.execute(
            "INSERT INTO sources (name, seeds, same_host, include, exclude, type, visibility, schedule, max_pages,"
            " max_depth, next_due_at, created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (*_values(source), now, created_by, now, now))
    return replace(source, id=int(cur.lastrowid or 0), next_due_at=now, created_by=created_by)


def update(cat: Catalogue, source_id: int, source: Source) -> Source | None:
    """Changes a source's settings (its schedule restarts from its last run). A new visibility
    applies at once to the documents its crawls stored; None when there is no such source."""
    old = get(cat, source_id)
    if old is None:
        return None
    other = find(cat, source.name)
    if other is not None and other.id != source_id:
        raise SourceError(f"a source named {source.name!r} exists: choose another name")
    due = _due_after(old.last_run_at, source.schedule) if old.last_run_at else old.next_due_at
    with cat.conn:
        cat.conn.execute("UPDATE sources SET name=?, seeds=?, same_host=?, include=?, exclude=?, type=?, visibility=?,"
                         " schedule=?, max_pages=?, max_depth=?, next_due_at=?, updated_at=? WHERE id=?",
                         (*_values(source), due, utcnow(), source_id))
        if source.visibility != old.visibility:
            cat.conn.execute("UPDATE documents SET visibility=?, updated_at=? WHERE id IN (SELECT f.doc_id FROM"
                             " crawl_frontier f JOIN source_pages p ON p.url=f.url WHERE p.source_id=? AND"
                             " f.doc_id<>'')", (source.visibility, utcnow(), source_id))
    return get(cat, source_id)


def remove(cat: Catalogue, source_id: int) -> bool:
    """Forgets a source and its history (its documents stay in the catalogue)."""
    with cat.conn:
        cur = cat.conn.execute("DELETE FROM sources WHERE id=?", (source_id,))
    return cur.rowcount > 0


def get(cat: Catalogue, source_id: int) -> Source | None:
    row = cat.conn.execute(f"SELECT {_COLUMNS} FROM sources WHERE id=?", (source_id,)).fetchone()
    return _source(row) if row else None


def find(cat: Catalogue, key: str) -> Source | None:
    """A source by name, or by id when `key` is a number."""
    row = cat.conn.execute(f"SELECT {_COLUMNS} FROM sources WHERE name=?", (key,)).fetchone()
    if row is None and str(key).isdigit():
        return get(cat, int(key))
    return _source(row) if row else None


def all_sources(cat: Catalogue) -> list[Source]:
    return [_source(r) for r in cat.conn.execute(f"SELECT {_COLUMNS} FROM sources ORDER BY name")]


def due(cat: Catalogue, now: str | None = None) -> list[Source]:
    """The sources whose next crawl is due."""
    rows = cat.conn.execute(f"SELECT {_COLUMNS} FROM sources WHERE next_due_at<=? ORDER BY next_due_at, id",
                            (now or utcnow(),))
    return [_source(r) for r in rows]


def enqueue_due(cat: Catalogue, actor: str = "schedule", now: str | None = None) -> list[int]:
    """Queues a crawl job for every due source that has none queued or running, and moves its
    next due time one period on; the ids of the jobs queued."""
    queued = []
    for source in due(cat, now):
        if jobs.active_for_source(cat, source.id) is not None:
            continue
        queued.append(queue_crawl(cat, source, actor))
    return queued


def queue_crawl(cat: Catalogue, source: Source, actor: str) -> int:
    """A crawl job for the source now (the schedule moves one period on from now)."""
    job_id = jobs.enqueue(cat, "crawl", actor, {"source_id": source.id, "source": source.name})
    with cat.conn:
        cat.conn.execute("UPDATE sources SET next_due_at=? WHERE id=?",
                         (_due_after(utcnow(), source.schedule), source.id))
    return job_id


def failing(cat: Catalogue) -> list[tuple[Source, SourceRun]]:
    """The sources whose last run failed or had failed pages, with that run."""
    out = []
    for source in all_sources(cat):
        runs = history(cat, source.id, 1)
        if runs and (runs[0].state == "failed" or runs[0].failed):
            out.append((source, runs[0]))
    return out


def history(cat: Catalogue, source_id: int, limit: int = 50) -> list[SourceRun]:
    rows = cat.conn.execute(f"SELECT {_RUN_COLUMNS} FROM source_runs WHERE source_id=? ORDER BY id DESC LIMIT ?",
                            (source_id, limit))
    return [_run(r) for r in rows]


def crawl_source(cat: Catalogue, source: Source, fetch_config: FetchConfig, *, job_id: int | None = None,
                 budget: Budget = DEFAULT_BUDGET, workers: int = 8, max_per_pattern: int = 50,
                 progress: Callable[[CrawlStats], None] | None = None) -> SourceRun:
    """One crawl of the source, recorded in its history (a failure too, with its reason, before
    it is raised again). Documents stored get the source's type and visibility."""
    started = utcnow()
    with cat.conn:
        run_id = int(cat.conn.execute("INSERT INTO source_runs (source_id, job_id, started_at) VALUES (?,?,?)",
                                      (source.id, job_id, started)).lastrowid or 0)
        cat.conn.execute("UPDATE sources SET last_run_at=? WHERE id=?", (started, source.id))
        _requeue(cat, source)
    scope = Scope(max_depth=source.max_depth, same_host=source.same_host, include=source.include,
                  exclude=source.exclude, max_per_pattern=max_per_pattern)
    options = CrawlOptions(max_pages=source.max_pages, scope=scope, doc_type=source.type,
                           visibility=source.visibility, workers=workers, budget=budget)
    try:
        stats = crawl(cat, source.seeds, fetch_config, options, progress)
    except BaseException as exc:  # a cancelled or broken run stays in the history with its reason
        cat.conn.commit()
        _end_run(cat, run_id, "failed", CrawlStats(), [], f"{type(exc).__name__}: {exc}".rstrip(": "))
        raise
    # A refused seed (the network policy) is among the skipped pages, with the policy's reason.
    return _end_run(cat, run_id, "done", stats, _reached(cat, source.id, started), stats.summary())


def _requeue(cat: Catalogue, source: Source) -> None:
    """The seeds and the pages earlier runs of this source reached are checked again."""
    cat.conn.execute("UPDATE crawl_frontier SET state='queued' WHERE state IN ('done', 'failed', 'skipped') AND"
                     " url IN (SELECT url FROM source_pages WHERE source_id=?)", (source.id,))
    cat.conn.executemany("UPDATE crawl_frontier SET state='queued', depth=0 WHERE url=?", [(s,) for s in source.seeds])


def _reached(cat: Catalogue, source_id: int, since: str) -> list[dict[str, Any]]:
    """Remembers the URLs this run settled (fetched, skipped or failed; not those out of its
    scope) as the source's pages; its failures and skips with their reasons."""
    rows = cat.conn.execute("SELECT url, state, http_status, reason FROM crawl_frontier WHERE updated_at>=? AND"
                            " state IN ('done', 'failed', 'skipped') ORDER BY updated_at, rowid", (since,)).fetchall()
    with cat.conn:
        cat.conn.executemany("INSERT OR IGNORE INTO source_pages (source_id, url) VALUES (?,?)",
                             [(source_id, r[0]) for r in rows])
    return [{"url": r[0], "outcome": r[1], "status": r[2], "reason": r[3]}
            for r in rows if r[1] in ("failed", "skipped")][:FAILURES_KEPT]


def _end_run(cat: Catalogue, run_id: int, state: str, stats: CrawlStats, failures: list[dict[str, Any]],
             message: str) -> SourceRun:
    with cat.conn:
        cat.conn.execute(
            "UPDATE source_runs SET state=?, finished_at=?, fetched=?, new=?, changed=?, unchanged=?, not_modified=?,"
            " failed=?, skipped=?, failures=?, message=? WHERE id=?",
            (state, utcnow(), stats.fetched, stats.stored, stats.updated, stats.unchanged + stats.not_modified,
             stats.not_modified, stats.failed, stats.skipped + len(stats.refused_seeds),
             json.dumps(failures, ensure_ascii=False), message[:2000], run_id))
    row = cat.conn.execute(f"SELECT {_RUN_COLUMNS} FROM source_runs WHERE id=?", (run_id,)).fetchone()
    return _run(row)


def _due_after(moment: str, schedule: str) -> str:
    try:
        start = datetime.fromisoformat(moment)
    except ValueError:
        start = datetime.now(UTC)
    return (start + SCHEDULES.get(schedule, SCHEDULES["daily"])).replace(microsecond=0).isoformat()


def _values(s: Source) -> tuple[Any, ...]:
    return (s.name, json.dumps(list(s.seeds)), int(s.same_host), s.include, s.exclude, s.type, s.visibility,
            s.schedule, s.max_pages, s.max_depth)


def _source(row: Any) -> Source:
    (sid, name, seeds, same_host, include, exclude, kind, visibility, schedule, pages, depth, last, due_at,
     by) = tuple(row)
    return Source(name, tuple(json.loads(seeds or "[]")), bool(same_host), include, exclude, kind, visibility,
                  schedule, int(pages), int(depth), int(sid), last, due_at, by)


def _run(row: Any) -> SourceRun:
    (run_id, source_id, job_id, state, started, finished, fetched, new, changed, unchanged, not_modified, failed,
     skipped, failures, message) = tuple(row)
    return SourceRun(int(run_id), int(source_id), job_id, state, started, finished, int(fetched), int(new),
                     int(changed), int(unchanged), int(not_modified), int(failed), int(skipped),
                     tuple(json.loads(failures or "[]")), message)
