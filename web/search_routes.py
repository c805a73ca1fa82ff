"""The search page and its JSON twin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from viko.search.facets import FACETS, Filters
from viko.web.links import SearchLinks, page_window
from viko.web.models import SearchPage
from viko.web.searching import SearchRequest
from viko.web.services import Services
from viko.web.shared import Web

FacetValues = Annotated[list[str] | None,
                        Query(description="Repeat to choose several values; values of one facet are alternatives")]


def search_router(web: Web, services: Services) -> APIRouter:
    router = APIRouter()
    settings = web.settings

    def run_search(q: str, filters: Filters, sort: str, limit: int, offset: int, page: int) -> SearchPage:
        if page > 1:
            offset = (page - 1) * limit
        req = SearchRequest(q=q, filters=filters, sort=sort, limit=limit, offset=offset)
        if not q.strip():
            return SearchPage(query=q, filters={k: list(v) for k, v in vars(filters).items() if v}, sort=sort)
        return services.searcher.search(services.engine(), req)

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, q: str = "", lang: FacetValues = None, type: FacetValues = None,
             source: FacetValues = None, year: FacetValues = None, sort: str = "relevance",
             page: int = Query(1, ge=1), limit: int = Query(0, ge=0)) -> Response:
        filters = Filters.of(lang=lang or [], type=type or [], source=source or [], year=year or [])
        result = run_search(q, filters, sort, limit or settings.page_size, 0, page)
        links = SearchLinks(result.query, filters, sort)
        context = {"page": result, "links": links, "facet_names": FACETS,
                   "window": page_window(result.page, result.pages)}
        return web.render(request, "search.html", context, status_code=400 if result.error else 200)

    @router.get("/api/search", response_model=SearchPage, summary="Search both languages with facets")
    def api_search(q: str = Query(..., description="Query in Vietnamese or Korean (language detected)"),
                   lang: FacetValues = None, type: FacetValues = None, source: FacetValues = None,
                   year: FacetValues = None, sort: str = Query("relevance", pattern="^(relevance|date)$"),
                   limit: int = Query(10, ge=1), offset: int = Query(0, ge=0),
                   page: int = Query(1, ge=1, description="1-based page; overrides offset when above 1")) -> Any:
        bad = [v for v in lang or [] if v not in ("all", "vi", "ko", "other")]
        if bad:
            raise HTTPException(422, f"unknown language {bad[0]!r}: use vi, ko or other")
        filters = Filters.of(lang=lang or [], type=type or [], source=source or [], year=year or [])
        result = run_search(q, filters, sort, limit, offset, page)
        if result.error or not q.strip():
            return JSONResponse({"detail": result.error or "the query is empty"}, status_code=400)
        return result

    return router
