"""The crawl frontier and request log, kept in the catalogue so a killed crawl resumes.

Every URL the crawler meets gets one row; its state moves queued -> fetching -> done,
skipped or failed. Scope (depth, host, --include/--exclude, trap bounds) is judged when
a URL is taken, not when it is found, so a later run with wider options picks up what an
earlier one left out of scope.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass

from viko.corpus.catalogue import Catalogue, utcnow
from viko.corpus.fetch import FetchResult
from viko.corpus.urls import host_of, trap_reason, url_pattern

QUEUED, FETCHING, DONE, SKIPPED, FAILED, OUT_OF_SCOPE = (
    "queued", "fetching", "done", "skipped", "failed", "out_of_scope")


@dataclass(frozen=True)
class Scope:
    max_depth: int = 5
    same_host: bool = True
    include: str = ""
    exclude: str = ""
    max_per_pattern: int = 50


@dataclass(frozen=True)
class QueuedUrl:
    url: str
    depth: int


class Frontier:
    def __init__(self, cat: Catalogue, scope: Scope, seed_hosts: set[str]) -> None:
        self.cat = cat
        self.scope = scope
        self.seed_hosts = seed_hosts
        self._include = re.compile(scope.include) if scope.include else None
        self._exclude = re.compile(scope.exclude) if scope.exclude else None
        self._aside: set[str] = set()  # left out of scope in this run, not queued again since

    @property
    def left_out(self) -> int:
        """URLs this run left out of scope (one queued again by a shorter path no longer counts)."""
        return len(self._aside)

    def set_aside(self, url: str, reason: str) -> None:
        self.finish(url, OUT_OF_SCOPE, reason=reason)
        self._aside.add(url)

    def prepare(self, *, recrawl: bool = False) -> None:
        """Resume: what was being fetched when a run died, and what an earlier run found out
        of scope, is queued again; with recrawl, everything fetched before is checked again."""
        states = [FETCHING, OUT_OF_SCOPE] + ([DONE, FAILED, SKIPPED] if recrawl else [])
        marks = ",".join("?" * len(states))
        with self.cat.conn:
            self.cat.conn.execute(f"UPDATE crawl_frontier SET state='queued', updated_at=? "
                                  f"WHERE state IN ({marks})", (utcnow(), *states))

    def add(self, url: str, depth: int, referrer: str = "", *, state: str = QUEUED,
            reason: str = "") -> bool:
        """Queue url at its shortest known depth: a page first met deep (and perhaps left out of
        scope) is taken again when a shorter path to it turns up, whichever fetch finished first."""
        now = utcnow()
        cur = self.cat.conn.execute(
            "INSERT INTO crawl_frontier (url, depth, state, referrer, pattern, reason, added_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(url) DO UPDATE SET depth=excluded.depth,"
            " referrer=excluded.referrer, state=CASE WHEN state='fetching' THEN state ELSE 'queued' END,"
            " reason='', updated_at=excluded.updated_at"
            " WHERE excluded.state='queued' AND excluded.depth < crawl_frontier.depth"
            " AND crawl_frontier.state IN ('queued', 'out_of_scope', 'fetching')",
            (url, depth, state, referrer, url_pattern(url), reason, now, now))
        if cur.rowcount > 0:
            self._aside.discard(url)
        return cur.rowcount > 0

    def add_seed(self, url: str) -> None:
        """Seeds are always (re)queued at depth 0, whatever an earlier run decided."""
        if not self.add(url, 0):
            self.cat.conn.execute("UPDATE crawl_frontier SET depth=0, state=CASE WHEN state IN"
                                  " ('out_of_scope', 'fetching', 'skipped') THEN 'queued' ELSE state END WHERE url=?", (url,))
        self.cat.conn.commit()

    def take(self, limit: int) -> list[QueuedUrl]:
        rows = self.cat.conn.execute(
            "SELECT url, depth FROM crawl_frontier WHERE state='queued' ORDER BY depth, rowid LIMIT ?",
            (limit,)).fetchall()
        with self.cat.conn:
            self.cat.conn.executemany("UPDATE crawl_frontier SET state='fetching' WHERE url=?",
                                      [(r[0],) for r in rows])
        return [QueuedUrl(r[0], r[1]) for r in rows]

    def pending(self) -> int:
        return int(self.cat.conn.execute("SELECT COUNT(*) FROM crawl_frontier WHERE state='queued'").fetchone()[0])

    def current(self, entry: QueuedUrl) -> QueuedUrl:
        """entry at its depth now: a shorter path may have been found while it was being fetched."""
        row = self.cat.conn.execute("SELECT depth FROM crawl_frontier WHERE url=?", (entry.url,)).fetchone()
        return QueuedUrl(entry.url, min(entry.depth, int(row[0]))) if row else entry

    def out_of_scope(self, entry: QueuedUrl) -> str | None:
        """Why a URL is not for this run (depth, host, filters), or None."""
        if entry.depth > self.scope.max_depth:
            return f"deeper than --max-depth {self.scope.max_depth}"
        return self.outside(entry.url)

    def outside(self, url: str) -> str | None:
        """Why a URL (a link or a redirect target) is outside host and filters, or None."""
        if self.scope.same_host and host_of(url) not in self.seed_hosts:
            return "another host (--same-host)"
        if self._include and not self._include.search(url):
            return "does not match --include"
        if self._exclude and self._exclude.search(url):
            return "matches --exclude"
        return None

    def trap(self, entry: QueuedUrl) -> str | None:
        """Why a URL looks like a crawler trap, or None."""
        reason = trap_reason(entry.url)
        if reason:
            return f"trap: {reason}"
        pattern = url_pattern(entry.url)
        seen = self.cat.conn.execute(
            "SELECT COUNT(*) FROM crawl_frontier WHERE pattern=? AND state IN ('done','failed','fetching')"
            " AND url<>?", (pattern, entry.url)).fetchone()[0]
        if seen >= self.scope.max_per_pattern:
            return f"trap: more than {self.scope.max_per_pattern} URLs like {pattern}"
        return None

    def finish(self, url: str, state: str, *, status: int | None = None, reason: str = "",
               doc_id: str = "") -> None:
        self.cat.conn.execute("UPDATE crawl_frontier SET state=?, http_status=?, reason=?, doc_id=?,"
                              " updated_at=? WHERE url=?", (state, status, reason, doc_id, utcnow(), url))

    def log(self, result: FetchResult, outcome: str, reason: str = "", doc_id: str = "") -> None:
        self.cat.conn.execute(
            "INSERT INTO crawl_log (url, final_url, http_status, outcome, reason, content_type, bytes, doc_id,"
            " redirects, attempts, elapsed_ms, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (result.url, result.final_url, result.status, outcome, reason, result.content_type,
             len(result.content), doc_id, json.dumps(list(result.redirects)), result.attempts,
             result.elapsed_ms, utcnow()))

    def validators(self, url: str) -> tuple[str, str]:
        row = self.cat.conn.execute("SELECT etag, last_modified FROM crawl_pages WHERE url=?", (url,)).fetchone()
        return (row[0], row[1]) if row else ("", "")

    def remember(self, url: str, doc_id: str, result: FetchResult) -> None:
        self.cat.conn.execute("INSERT OR REPLACE INTO crawl_pages VALUES (?,?,?,?,?)",
                              (url, doc_id, result.etag, result.last_modified, utcnow()))


def report_rows(cat: Catalogue, state: str = "") -> list[dict[str, object]]:
    """One row per URL: state, HTTP status, reason, document id, depth, referrer."""
    sql = ("SELECT url, state, http_status, reason, doc_id, depth, referrer, updated_at FROM crawl_frontier"
           + (" WHERE state=?" if state else "") + " ORDER BY rowid")
    return [dict(r) for r in cat.conn.execute(sql, (state,) if state else ())]


def report_summary(cat: Catalogue) -> dict[str, int]:
    return {r[0]: r[1] for r in cat.conn.execute("SELECT state, COUNT(*) FROM crawl_frontier GROUP BY state")}


def log_outcomes(cat: Catalogue) -> dict[str, int]:
    """How many fetches ended each way (stored, skipped, failed...), most frequent first;
    empty for a data directory older than the crawl tables."""
    try:
        rows = cat.conn.execute("SELECT outcome, COUNT(*) FROM crawl_log GROUP BY outcome ORDER BY COUNT(*) DESC")
        return {str(o): int(n) for o, n in rows}
    except sqlite3.OperationalError:
        return {}


def recent_log(cat: Catalogue, limit: int) -> list[dict[str, object]]:
    """The last `limit` fetches: url, outcome, http_status, reason, at; newest first."""
    try:
        rows = cat.conn.execute("SELECT url, outcome, http_status, reason, at FROM crawl_log ORDER BY id DESC LIMIT ?",
                                (limit,)).fetchall()
    except sqlite3.OperationalError:
        return []
    return [dict(r) for r in rows]
