"""The status page's data: what is indexed (per language and type), when, with which model,
and what the crawler did recently. Crawl tables arrive with migration 0002; an older data
directory simply has no crawls yet."""

from __future__ import annotations

import sqlite3

from viko.runtime import open_catalogue
from viko.settings import Settings
from viko.status import collect_status
from web.models import CrawlOutcome, StatusPage

RECENT_CRAWLS = 15


def _lang_type(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for lang, kind, n in conn.execute("SELECT lang, type, COUNT(*) FROM documents GROUP BY lang, type"):
        out.setdefault(lang or "other", {})[kind or "unknown"] = int(n)
    return out


def _crawls(conn: sqlite3.Connection) -> tuple[dict[str, int], list[CrawlOutcome]]:
    try:
        counts = {str(o): int(n) for o, n in conn.execute(
            "SELECT outcome, COUNT(*) FROM crawl_log GROUP BY outcome ORDER BY COUNT(*) DESC")}
        rows = conn.execute("SELECT url, outcome, http_status, reason, at FROM crawl_log "
                            "ORDER BY id DESC LIMIT ?", (RECENT_CRAWLS,)).fetchall()
    except sqlite3.OperationalError:  # no crawl tables in this data directory yet
        return {}, []
    recent = [CrawlOutcome(url=r["url"], outcome=r["outcome"], http_status=r["http_status"],
                           reason=r["reason"] or "", at=r["at"] or "") for r in rows]
    return counts, recent


def status_page(settings: Settings) -> StatusPage:
    page = StatusPage(**collect_status(settings))
    with open_catalogue(settings) as cat:
        page.by_lang_type = _lang_type(cat.conn)
        page.catalogue_updated = cat.last_change()
        page.crawl_outcomes, page.recent_crawls = _crawls(cat.conn)
    return page
