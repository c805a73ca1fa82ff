"""The status page's data: what is indexed (per language and type), when, with which model,
and what the crawler did recently. Crawl tables arrive with migration 0002; an older data
directory simply has no crawls yet."""

from __future__ import annotations

from viko.corpus.frontier import log_outcomes, recent_log
from viko.web.models import CrawlOutcome, StatusPage

from viko.runtime import open_catalogue
from viko.settings import Settings
from viko.status import collect_status

RECENT_CRAWLS = 15


def status_page(settings: Settings) -> StatusPage:
    page = StatusPage(**collect_status(settings))
    with open_catalogue(settings) as cat:
        page.by_lang_type = cat.lang_type_counts()
        page.catalogue_updated = cat.last_change()
        page.crawl_outcomes = log_outcomes(cat)
        page.recent_crawls = [CrawlOutcome(url=str(r["url"]), outcome=str(r["outcome"]),
                                           http_status=r["http_status"],  # type: ignore[arg-type]
                                           reason=str(r["reason"] or ""), at=str(r["at"] or ""))
                              for r in recent_log(cat, RECENT_CRAWLS)]
    return page
