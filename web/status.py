"""The status page, `/status` as HTML and `/api/status` as JSON (one handler serves both):
what is indexed (per language and type), when, with which model, and what the crawler did
recently; and `/docs`, the server-rendered API description. Crawl tables arrive with
migration 0002; an older data directory simply has no crawls yet."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

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


def status_page(settings: Settings) -> StatusPage:
    facts = collect_status(settings)
    facts.pop("data_dir", None)  # where the data lives on the server is nobody else's business
    page = StatusPage(**facts)
    with open_catalogue(settings) as cat:
        page.by_lang_type = cat.lang_type_counts()
        page.catalogue_updated = cat.last_change()
        page.crawl_outcomes = log_outcomes(cat)
        page.recent_crawls = [CrawlOutcome(url=str(r["url"]), outcome=str(r["outcome"]),
                                           http_status=r["http_status"],  # type: ignore[arg-type]
                                           reason=str(r["reason"] or ""), at=str(r["at"] or ""))
                              for r in recent_log(cat, RECENT_CRAWLS)]
    return page


def status_router(web: Web, app: FastAPI) -> APIRouter:
    router = APIRouter()

    @router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request) -> Response:
        return web.render(request, "api.html", {"spec": app.openapi()})

    def status(request: Request) -> Any:
        return web.respond(request, "status.html", status_page(web.settings))

    page_routes(router, "/status", "/api/status", status, StatusPage,
                "What is indexed, when, with which model; recent crawls")
    return router
