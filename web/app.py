"""FastAPI app: HTML pages and the same data as JSON under /api/ (OpenAPI at /docs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from search.engine import Hit, QueryError, SearchEngine
from viko.runtime import LiveEngine, open_catalogue
from viko.settings import Settings
from viko.status import collect_status
from web.models import DocumentPage, HitModel, SearchPage, StatusPage

HERE = Path(__file__).parent
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def hit_model(hit: Hit) -> HitModel:
    return HitModel(id=hit.id, lang=hit.lang, title=hit.title, score=round(hit.score, 4),
                    snippet=hit.snippet, highlights=list(hit.highlights), url=hit.url,
                    type=hit.type, date=hit.date, source=hit.source)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="viko", description="Bilingual Vietnamese–Korean document search",
                  version="0.1.0")
    live = LiveEngine(settings)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def engine() -> SearchEngine:
        try:
            return live.get()
        except Exception as exc:  # no index yet, wrong model...
            raise HTTPException(503, f"search is not available: {exc}") from exc

    def search_page(q: str, lang: str, limit: int, offset: int) -> SearchPage:
        page = SearchPage(query=q, lang=lang, limit=limit, offset=offset)
        if not q.strip():
            return page
        if limit > settings.max_limit:
            page.error = f"limit must be at most {settings.max_limit}"
            return page
        try:
            res = engine().search(q, lang=lang, limit=limit, offset=offset)
        except QueryError as exc:
            page.error = str(exc)
            return page
        page.query_lang, page.total, page.took_ms = res.query_lang, res.total, round(res.took_ms, 2)
        page.hits = [hit_model(h) for h in res.hits]
        return page

    def document_page(doc_id: str) -> DocumentPage:
        eng = engine()
        with open_catalogue(settings, readonly=True) as cat:
            doc = cat.get(doc_id)
        if doc is None:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        page = DocumentPage(id=doc.id, lang=doc.lang, title=doc.title, text=doc.text, url=doc.url,
                            type=doc.type, date=doc.date, source=doc.source,
                            paragraphs=[p for p in doc.text.split("\n") if p.strip()])
        link = eng.index.counterparts.get(doc.id)
        related = eng.related(doc.id, limit=6)
        if link is not None:
            page.counterpart = next((hit_model(h) for h in related if h.id == link.other_id), None)
        page.related = [hit_model(h) for h in related if not page.counterpart or h.id != page.counterpart.id]
        return page

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, q: str = "", lang: str = Query("all", pattern="^(all|vi|ko)$"),
             limit: int = Query(10, ge=1), offset: int = Query(0, ge=0)) -> Response:
        page = search_page(q, lang, limit, offset)
        return templates.TemplateResponse(request, "search.html", {"page": page},
                                          status_code=400 if page.error else 200)

    @app.get("/api/search", response_model=SearchPage)
    def api_search(q: str = Query(..., description="Query in Vietnamese or Korean"),
                   lang: str = Query("all", pattern="^(all|vi|ko)$"),
                   limit: int = Query(10, ge=1), offset: int = Query(0, ge=0)) -> Any:
        page = search_page(q, lang, limit, offset)
        if page.error or not q.strip():
            return JSONResponse({"detail": page.error or "the query is empty"}, status_code=400)
        return page

    @app.get("/doc/{doc_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def doc_html(request: Request, doc_id: str) -> Response:
        try:
            page = document_page(doc_id)
        except HTTPException as exc:
            return templates.TemplateResponse(request, "error.html", {"message": exc.detail},
                                              status_code=exc.status_code)
        return templates.TemplateResponse(request, "document.html", {"page": page})

    @app.get("/api/doc/{doc_id:path}", response_model=DocumentPage)
    def api_doc(doc_id: str) -> Any:
        return document_page(doc_id)

    @app.get("/status", response_class=HTMLResponse, include_in_schema=False)
    def status_html(request: Request) -> Response:
        return templates.TemplateResponse(request, "status.html", {"page": StatusPage(**collect_status(settings))})

    @app.get("/api/status", response_model=StatusPage)
    def api_status() -> Any:
        return StatusPage(**collect_status(settings))

    return app
