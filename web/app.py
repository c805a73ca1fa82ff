"""FastAPI app: HTML pages and the same data as JSON under /api/ (OpenAPI at /docs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from search.engine import SearchEngine
from search.facets import FACETS, Filters
from viko.runtime import LiveEngine
from viko.settings import Settings
from web.admin import admin_router
from web.counterparts import counterpart_for
from web.documents import document_page
from web.i18n import COOKIE, UI_LANGS, UI_NAMES, negotiate, translator
from web.links import SearchLinks, page_window, with_param
from web.models import DocumentPage, SearchPage, StatusPage
from web.reader import CatalogueReader
from web.searching import Searcher, SearchRequest
from web.statuspage import status_page
from web.translate_routes import translate_router

HERE = Path(__file__).parent
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
FacetValues = Annotated[list[str] | None,
                        Query(description="Repeat to choose several values; values of one facet are alternatives")]


def create_app(settings: Settings) -> FastAPI:
    # FastAPI's own /docs loads Swagger UI from a CDN: offline sites (and the CSP) forbid that,
    # so /docs is a server-rendered list of the endpoints and /openapi.json stays as is.
    app = FastAPI(title="viko", description="Bilingual Vietnamese–Korean document search",
                  version="0.1.0", docs_url=None, redoc_url=None)
    live = LiveEngine(settings)
    searcher = Searcher(settings)
    reader = CatalogueReader(settings)
    app.router.add_event_handler("shutdown", reader.close)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(admin_router(settings))
    app.include_router(translate_router(settings))  # issue 6: /align, /concordance, /glossary

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        ui = negotiate(request.query_params, request.cookies, request.headers.get("accept-language", ""))
        params = list(request.query_params.multi_items())
        switch = [(code, UI_NAMES[code], with_param(request.url.path, params, "ui", code)) for code in UI_LANGS]
        context = {**context, "t": translator(ui), "ui": ui, "ui_switch": switch}
        response = templates.TemplateResponse(request, name, context, status_code=status_code)
        if request.query_params.get("ui") in UI_LANGS:
            response.set_cookie(COOKIE, ui, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def html_errors(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(("/api/", "/static/", "/docs", "/openapi")):
            return await http_exception_handler(request, exc)
        return render(request, "error.html", {"status": exc.status_code, "message": exc.detail}, exc.status_code)

    def engine() -> SearchEngine:
        try:
            eng = live.get()
            with reader.read():  # opened with the engine, kept open: see web/reader.py
                pass
            return eng
        except Exception as exc:  # no index yet, wrong model...
            raise HTTPException(503, f"search is not available: {exc}") from exc

    def run_search(q: str, filters: Filters, sort: str, limit: int, offset: int, page: int) -> SearchPage:
        if page > 1:
            offset = (page - 1) * limit
        req = SearchRequest(q=q, filters=filters, sort=sort, limit=limit, offset=offset)
        if not q.strip():
            return SearchPage(query=q, filters={k: list(v) for k, v in vars(filters).items() if v}, sort=sort)
        return searcher.search(engine(), req)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, q: str = "", lang: FacetValues = None, type: FacetValues = None,
             source: FacetValues = None, year: FacetValues = None, sort: str = "relevance",
             page: int = Query(1, ge=1), limit: int = Query(0, ge=0)) -> Response:
        filters = Filters.of(lang=lang or [], type=type or [], source=source or [], year=year or [])
        result = run_search(q, filters, sort, limit or settings.page_size, 0, page)
        links = SearchLinks(result.query, filters, sort)
        context = {"page": result, "links": links, "facet_names": FACETS,
                   "window": page_window(result.page, result.pages)}
        return render(request, "search.html", context, status_code=400 if result.error else 200)

    @app.get("/api/search", response_model=SearchPage, summary="Search both languages with facets")
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

    def load_document(doc_id: str, q: str) -> DocumentPage:
        eng = engine()
        with reader.read() as cat:
            doc = cat.get(doc_id)
            link = counterpart_for(cat, doc_id) if doc is not None else None
        if doc is None:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        return document_page(eng, searcher, doc, link, q[: settings.max_query_chars])

    @app.get("/doc/{doc_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def doc_html(request: Request, doc_id: str, q: str = "") -> Response:
        page = load_document(doc_id, q)
        return render(request, "document.html", {"page": page, "back": SearchLinks(q, Filters()).url() if q else ""})

    @app.get("/api/doc/{doc_id:path}", response_model=DocumentPage, summary="A document, its counterpart and related documents")
    def api_doc(doc_id: str, q: str = Query("", description="Mark the passages that best match this query")) -> Any:
        return load_document(doc_id, q)

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request) -> Response:
        return render(request, "api.html", {"spec": app.openapi()})

    @app.get("/status", response_class=HTMLResponse, include_in_schema=False)
    def status_html(request: Request) -> Response:
        return render(request, "status.html", {"page": status_page(settings)})

    @app.get("/api/status", response_model=StatusPage, summary="What is indexed, when, with which model; recent crawls")
    def api_status() -> Any:
        return status_page(settings)

    return app
