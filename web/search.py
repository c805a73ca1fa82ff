"""The search page, `/` as HTML and `/api/search` as JSON: one handler serves both.

`search_params` parses and checks the request into a `SearchParams` record (the same
defaults, limits and errors for both formats), `search_page` builds the `SearchPage` model
from the cached ranking (filter, count, sort and page), and `Web.respond` renders it or
returns it, by the path.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from viko.corpus.access import Viewer
from viko.indexer.store import LANGS
from viko.search.engine import QueryError, Scored, SearchEngine
from viko.search.facets import FACETS, SORTS, Filters, apply_filters, count_facets, sort_items, year_of
from viko.search.syntax import check_date, in_range
from viko.settings import Settings
from viko.web.links import SearchLinks, page_window
from viko.web.search_export import EXPORT_MAX_ROWS, XLSX_TYPE, export_response
from viko.web.services import Ranked, Services
from viko.web.shared import Web, page_routes, wants_json

MAX_OFFSET = 10_000

# Facet filters a search may combine: each one costs a pass over the candidates and a value in
# every link of the page, so a URL with a thousand of them is refused (400) rather than served.
MAX_VALUES_PER_FACET = 20
MAX_FILTERS = 50
FacetValues = Annotated[list[str] | None,
                        Query(description="Repeat to choose several values; values of one facet are alternatives")]


class HitModel(BaseModel):
    id: str
    lang: str
    title: str
    score: float
    snippet: str = Field(description="The best-matching passage of the document, in the document's language")
    highlights: list[tuple[int, int]] = Field(description="[start, end) character spans of query terms in the snippet")
    url: str
    type: str
    date: str
    source: str
    counterpart_id: str = Field(default="", description="The same document in the other language, when known")
    possible: bool = Field(default=False, description="A possible match: kept on weak evidence only (no shared word, "
                                                      "a modest embedding similarity), shown as such")


class FacetValueModel(BaseModel):
    value: str
    count: int
    selected: bool


class SearchPage(BaseModel):
    query: str
    query_lang: str = ""
    filters: dict[str, list[str]] = Field(default_factory=dict, description="Chosen facet values (lang, type, source, year)")
    sort: str = "relevance"
    total: int = 0
    possible_total: int = Field(default=0, description="Of total, the possible matches (kept on weak evidence only)")
    limit: int = 10
    offset: int = 0
    page: int = 1
    pages: int = 0
    took_ms: float = 0.0
    hits: list[HitModel] = []
    facets: dict[str, list[FacetValueModel]] = {}
    suggestions: list[str] = Field(default_factory=list, description="Spelling corrections from the index's own words, "
                                                                   "offered when nothing matches")
    unfiltered_total: int = Field(default=0, description="Matches without the facet filters (offered when filters hide everything)")
    searched_as: str = Field(default="", description="The words as searched when they differ from the typed ones "
                                                     "(diacritics restored, spelling corrected); '' otherwise")
    rewritten: bool = Field(default=False, description="Whether the query was searched as `searched_as`; "
                                                       "exact=1 searches it as typed")
    exact: bool = Field(default=False, description="Searched exactly as typed")
    after: str = Field(default="", description="Date-range facet: dated on or after (YYYY[-MM[-DD]])")
    before: str = Field(default="", description="Date-range facet: dated before (YYYY[-MM[-DD]])")
    max_query_chars: int = 0
    error: str = ""


@dataclass(frozen=True)
class SearchParams:
    """A search request, parsed and checked. `error` is its first problem in words (with the
    status to answer it with); a request with one is shown or answered, never searched."""

    q: str = ""
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"
    limit: int = 10
    offset: int = 0
    error: str = ""
    status: int = 200
    after: str = ""
    before: str = ""
    exact: bool = False

    @property
    def page(self) -> int:
        return self.offset // max(self.limit, 1) + 1

    @property
    def links(self) -> SearchLinks:
        return SearchLinks(self.q, self.filters, self.sort, self.after, self.before, self.exact)


def parse_search(settings: Settings, q: str, filters: Filters, sort: str, limit: int | None,
                 offset: int, page: int, after: str = "", before: str = "", exact: bool = False) -> SearchParams:
    """The one check of a search request's parameters, for the page and the API alike."""
    try:
        after, before = check_date(after.strip(), "after"), check_date(before.strip(), "before")
    except QueryError as exc:
        return SearchParams(q, filters, sort, settings.page_size, 0, str(exc), 422)
    params = _checked(settings, q, filters, sort, limit, offset, page)
    return SearchParams(params.q, params.filters, params.sort, params.limit, params.offset, params.error,
                        params.status, after, before, exact)


def _checked(settings: Settings, q: str, filters: Filters, sort: str, limit: int | None,
             offset: int, page: int) -> SearchParams:
    limit = settings.page_size if limit is None else limit
    if page > 1:
        offset = (page - 1) * limit
    error, status = "", 400
    counts = {facet: len(filters.get(facet)) for facet in FACETS}
    if max(counts.values()) > MAX_VALUES_PER_FACET or sum(counts.values()) > MAX_FILTERS:
        error = (f"too many filters ({sum(counts.values())}): at most {MAX_VALUES_PER_FACET} values per facet "
                 f"and {MAX_FILTERS} in all")
        return SearchParams(q, Filters(), sort, limit, offset, error, status)
    if bad := [v for v in filters.lang if v not in LANGS]:
        error, status = f"unknown language {bad[0]!r}: use vi, ko or other", 422
    elif bad := [v for v in filters.year if year_of(v) != v]:
        error, status = f"year {bad[0]!r} is not a year: use four digits, as in year=2025", 422
    elif not 1 <= limit <= settings.max_limit:
        error = f"the page size must be between 1 and {settings.max_limit}"
    elif not 0 <= offset <= MAX_OFFSET:
        error = f"the result offset must be between 0 and {MAX_OFFSET}"
    elif sort not in SORTS:
        error, status = f"unknown sort {sort!r}: use {' or '.join(SORTS)}", 422
    return SearchParams(q, filters, sort, limit, offset, error, status if error else 200)


def search_params(request: Request, q: str = Query("", description="Query in Vietnamese or Korean (language detected)"),
                  lang: FacetValues = None, type: FacetValues = None, source: FacetValues = None,
                  year: FacetValues = None, sort: str = Query("relevance", pattern="^(relevance|date)$"),
                  limit: int | None = Query(None, ge=1, description="Results per page (default: VIKO_PAGE_SIZE, "
                                                                     "at most VIKO_MAX_LIMIT)"),
                  offset: int = Query(0, ge=0),
                  page: int = Query(1, ge=1, description="1-based page; overrides offset when above 1"),
                  after: str = Query("", description="Date-range facet: dated on or after YYYY[-MM[-DD]]"),
                  before: str = Query("", description="Date-range facet: dated before YYYY[-MM[-DD]]"),
                  exact: bool = Query(False, description="Search the words exactly as typed (no diacritics restored, "
                                                         "no spelling corrected)")) -> SearchParams:
    """The FastAPI dependency declaring the parameters once, for both paths."""
    filters = Filters.of(lang=lang or [], type=type or [], source=source or [], year=year or [])
    return parse_search(request.app.state.settings, q, filters, sort, limit, offset, page, after, before, exact)


SearchQuery = Annotated[SearchParams, Depends(search_params)]


def counterpart_id(engine: SearchEngine, doc_id: str) -> str:
    """The counterpart's id for a search hit, or '' when it has none (the engine's copy of
    the catalogue's links; the document page reads corpus.counterparts.get_counterpart)."""
    return engine.counterparts.other(doc_id) or ""


def hit_model(engine: SearchEngine, item: Scored, terms: Sequence[str]) -> HitModel:
    hit = engine.hit(item, terms)
    return HitModel(id=hit.id, lang=hit.lang, title=hit.title, score=round(hit.score, 4), snippet=hit.snippet,
                    highlights=list(hit.highlights), url=hit.url, type=hit.type, date=hit.date,
                    source=hit.source, counterpart_id=counterpart_id(engine, hit.id), possible=hit.possible)


def search_page(services: Services, params: SearchParams, viewer: Viewer) -> SearchPage:
    """The page's model; empty (with the request's problem, if any) when there is nothing to search."""
    page = SearchPage(query=params.q, filters={k: list(v) for k, v in vars(params.filters).items() if v},
                      sort=params.sort, limit=params.limit, offset=params.offset, page=params.page,
                      error=params.error, exact=params.exact, after=params.after, before=params.before,
                      max_query_chars=services.settings.max_query_chars)
    if params.error or not params.q.strip():
        return page
    started = time.perf_counter()
    found = ranked_page(services, params, page, viewer)
    if found is not None:
        chosen, terms = found
        engine = services.engine(viewer)
        page.hits = [hit_model(engine, s, terms) for s in chosen[params.offset : params.offset + params.limit]]
    page.took_ms = round((time.perf_counter() - started) * 1000, 2)
    return page


def ranked_page(services: Services, params: SearchParams, page: SearchPage,
                viewer: Viewer) -> tuple[list[Scored], list[str]] | None:
    """Every result of the search in its order (facets, dates and sort applied) and the terms
    to highlight, with the page's counts and messages filled in; None (and page.error) for a
    query that cannot run. Only what the viewer may see is searched (search.visibility)."""
    engine = services.engine(viewer)
    try:
        ranked = services.ranked(engine, engine.validate(params.q), params.exact)
    except QueryError as exc:
        page.error = str(exc)
        return None
    return fill_results(page, engine, ranked, params), ranked.terms


def fill_results(page: SearchPage, engine: SearchEngine, ranked: Ranked, params: SearchParams) -> list[Scored]:
    items = ranked.items
    if params.after or params.before:
        items = [s for s in items if in_range(engine.meta[s.doc_id].date if s.doc_id in engine.meta else "",
                                              params.after, params.before)]
    chosen = sort_items(apply_filters(items, engine.meta, params.filters), engine.meta, params.sort)
    page.query_lang, page.total = ranked.qlang, len(chosen)
    page.possible_total = sum(s.possible for s in chosen)
    page.pages = math.ceil(len(chosen) / params.limit)
    page.facets = {f: [FacetValueModel(value=v.value, count=v.count, selected=v.selected) for v in values]
                   for f, values in count_facets(items, engine.meta, params.filters).items()}
    if ranked.ranking is not None:
        page.rewritten = ranked.ranking.rewritten
        page.searched_as = ranked.ranking.searched if ranked.ranking.rewritten else ""
        page.suggestions = list(ranked.ranking.suggestions)
    if not chosen:
        page.unfiltered_total = len(ranked.items) if params.filters.active or params.after or params.before else 0
    return chosen


def dropped(params: SearchParams, drop: str) -> str:
    """The page's URL without the filter a remove button names (`drop=FACET:VALUE`): the
    buttons of one form replace per-value links, each of which repeated every filter."""
    facet, _, value = drop.partition(":")
    filters = params.filters
    if facet in FACETS and value in filters.get(facet):
        filters = filters.toggled(facet, value)
    return replace(params, filters=filters).links.url()


def search_router(web: Web, services: Services) -> APIRouter:
    router = APIRouter()

    def search(request: Request, params: SearchQuery) -> Any:
        if (drop := request.query_params.get("drop")) and not wants_json(request):
            return RedirectResponse(dropped(params, drop), status_code=303)
        page = search_page(services, params, web.auth.viewer(request))
        context = {"links": params.links, "facet_names": FACETS, "window": page_window(page.page, page.pages),
                   "export_max": EXPORT_MAX_ROWS}
        return web.respond(request, "search.html", page, context, error=page.error,
                           status=params.status if params.error else 400,
                           blank="" if params.q.strip() else "the query is empty")

    def export(request: Request, params: SearchQuery) -> Any:
        fmt = request.url.path.rsplit(".", 1)[-1]
        if params.error or not params.q.strip():
            raise HTTPException(params.status if params.error else 400, params.error or "the query is empty")
        page = SearchPage(query=params.q)
        viewer = web.auth.viewer(request)
        found = ranked_page(services, params, page, viewer)
        if found is None:
            raise HTTPException(400, page.error)
        engine, (chosen, terms) = services.engine(viewer), found
        hits = [hit_model(engine, s, terms) for s in chosen[:EXPORT_MAX_ROWS]]
        return export_response(fmt, params.q, [h.model_dump() for h in hits], len(chosen))

    page_routes(router, "/", "/api/search", search, SearchPage, "Search both languages with facets")
    for fmt, media in (("csv", "text/csv"), ("xlsx", XLSX_TYPE)):
        router.add_api_route(f"/api/search.{fmt}", export, methods=["GET"], response_class=Response,
                             summary=f"Every result of a search (all pages, its filters) as {fmt.upper()}, "
                                     f"at most {EXPORT_MAX_ROWS:,} rows",
                             responses={200: {"content": {media: {}}}})
    return router
