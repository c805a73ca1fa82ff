"""A document's page (paged), its JSON twin, and its whole text as plain text."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from viko.search.facets import Filters
from viko.web.counterparts import counterpart_for
from viko.web.documents import document_page
from viko.web.links import SearchLinks
from viko.web.models import DocumentPage
from viko.web.services import Services
from viko.web.shared import Web

PageNo = Query(0, ge=0, description="Page of a long document (1-based); 0 = the page with the best passage")


def document_router(web: Web, services: Services) -> APIRouter:
    router = APIRouter()
    settings = web.settings

    def load_document(doc_id: str, q: str, page: int) -> DocumentPage:
        eng = services.engine()
        with services.reader.read() as cat:
            doc = cat.get(doc_id)
            link = counterpart_for(cat, doc_id) if doc is not None else None
        if doc is None:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        return document_page(eng, services.searcher, doc, link, q[: settings.max_query_chars],
                             page_no=page, page_chars=max(1, settings.web_doc_page_chars))

    @router.get("/doc/{doc_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def doc_html(request: Request, doc_id: str, q: str = "", page: int = PageNo) -> Response:
        result = load_document(doc_id, q, page)
        return web.render(request, "document.html",
                          {"page": result, "back": SearchLinks(q, Filters()).url() if q else ""})

    @router.get("/api/doc/{doc_id:path}", response_model=DocumentPage,
                summary="A document (one page of a long one), its counterpart and related documents")
    def api_doc(doc_id: str, q: str = Query("", description="Mark the passages that best match this query"),
                page: int = PageNo) -> Any:
        return load_document(doc_id, q, page)

    @router.get("/text/{doc_id:path}", response_class=PlainTextResponse, summary="A document's whole text")
    def doc_text(doc_id: str) -> Response:
        with services.reader.read() as cat:
            doc = cat.get(doc_id)
        if doc is None:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        return PlainTextResponse(doc.text)

    return router
