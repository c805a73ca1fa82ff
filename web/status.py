"""The status page, `/status` as HTML and `/api/status` as JSON (one handler serves both):
what is indexed (per language and type), when, with which model, and what the crawler did
recently; and `/docs`, the server-rendered API description. Crawl tables arrive with
migration 0002; an older data directory simply has no crawls yet."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from viko.corpus.access import Viewer
from viko.corpus.frontier import log_outcomes, recent_log
from viko.runtime import open_catalogue
from viko.settings import Settings
from viko.status import collect_status
from viko.web.shared import Web, page_routes

RECENT_CRAWLS = 15


class CrawlOutcome(BaseModel):
    url: str
    outcome: str
    http_status: int | None = None
    reason: str = ""
    at: str = ""


class StatusPage(BaseModel):
    """What anyone may see: counts, dates, the model; not the server's paths."""

    documents: int
    by_lang: dict[str, int]
    by_type: dict[str, int]
    by_lang_type: dict[str, dict[str, int]] = {}
    catalogue_updated: str = ""
    encoder: str
    index: dict[str, object] | None
    # stored documents left out of the index on purpose (duplicates): count, by reason, examples
    not_indexed: dict[str, object] = {}
    crawl_outcomes: dict[str, int] = {}
    recent_crawls: list[CrawlOutcome] = []
    pid: int = 0  # the process that answered: which worker, under `viko serve --workers N`


def status_page(settings: Settings, viewer: Viewer) -> StatusPage:
    facts = collect_status(settings)
    facts.pop("data_dir", None)  # where the data lives on the server is nobody else's business
    page = StatusPage(**facts, pid=os.getpid())
    if not viewer.sees_all:
        return visible_status(settings, viewer, page)
    with open_catalogue(settings) as cat:
        page.by_lang_type = cat.lang_type_counts()
        page.catalogue_updated = cat.last_change()
        page.crawl_outcomes = log_outcomes(cat)
        page.recent_crawls = [CrawlOutcome(url=str(r["url"]), outcome=str(r["outcome"]),
                                           http_status=r["http_status"],  # type: ignore[arg-type]
                                           reason=str(r["reason"] or ""), at=str(r["at"] or ""))
                              for r in recent_log(cat, RECENT_CRAWLS)]
    return page


def visible_status(settings: Settings, viewer: Viewer, page: StatusPage) -> StatusPage:
    """The counts of what the viewer may see; the index's size, the duplicates left out and
    the crawl log (which name documents and sources of every visibility) are for admins."""
    with open_catalogue(settings, readonly=True) as cat:
        table = cat.visible_counts(viewer.sees)
        updated = cat.last_change()
    by_type: dict[str, int] = {}
    for kinds in table.values():
        for kind, n in kinds.items():
            by_type[kind] = by_type.get(kind, 0) + n
    index = None if page.index is None else {k: page.index[k] for k in ("generation", "created", "model", "fresh")}
    return StatusPage(documents=sum(by_type.values()), by_lang={lang: sum(k.values()) for lang, k in table.items()},
                      by_type=by_type, by_lang_type=table, catalogue_updated=updated, encoder=page.encoder,
                      index=index, pid=page.pid)


def status_router(web: Web, app: FastAPI) -> APIRouter:
    router = APIRouter()

    @router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request) -> Response:
        return web.render(request, "api.html", {"spec": app.openapi()})

    def status(request: Request) -> Any:
        return web.respond(request, "status.html", status_page(web.settings, web.auth.viewer(request)))

    page_routes(router, "/status", "/api/status", status, StatusPage,
                "What is indexed, when, with which model; recent crawls")
    return router
