"""A document's page, `/doc/ID` as HTML and `/api/doc/ID` as JSON (one handler serves both),
and its whole text as plain text (`/text/ID`).

The page shows the text with its best-matching passages, related documents of both
languages, and the counterpart one click away. A long document is shown a page at a time
(paragraphs of about `web_doc_page_chars` characters), never whole: a 10 MB text would
otherwise cost tens of megabytes of HTML per view. The full text stays one link away."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from viko.corpus.access import AccessError, Viewer, parse_visibility, shown_text
from viko.corpus.accounts import Accounts
from viko.corpus.counterparts import Counterpart, get_counterpart
from viko.corpus.document import Document
from viko.runtime import open_catalogue
from viko.search.engine import DocMeta, QueryError, Scored, SearchEngine
from viko.search.facets import Filters
from viko.search.snippets import match_spans
from viko.web.auth import may_see
from viko.web.links import SearchLinks
from viko.web.search import HitModel, hit_model
from viko.web.services import Services
from viko.web.shared import Web, doc_href, error_responses, page_routes


class ParagraphModel(BaseModel):
    text: str
    start: int = Field(description="Offset of the paragraph in the document text")
    best: bool = Field(default=False, description="Part of a passage that best matches the query")
    highlights: list[tuple[int, int]] = []


class DocumentPage(BaseModel):
    id: str
    lang: str
    title: str
    text: str = Field(description="The text of this page of the document (all of it when it has one page)")
    url: str
    type: str
    date: str
    source: str
    query: str = ""
    paragraphs: list[ParagraphModel]
    counterpart: HitModel | None = None
    counterpart_confirmed: bool = Field(default=False, description="A person confirmed the counterpart link")
    counterpart_kind: str = Field(default="", description="confirmed, claimed (a detected translation) or possible "
                                                          "(a guess to confirm or reject: never 'the same document')")
    counterpart_confidence: float = Field(default=0.0, description="The link's confidence (1 when confirmed)")
    counterpart_reasons: list[str] = Field(default=[], description="Why the detector links the two, in words")
    related: list[HitModel] = []
    page: int = Field(default=1, description="This page of the document (1-based)")
    pages: int = Field(default=1, description="Pages of the document; /text/ID has the whole text")
    text_chars: int = Field(default=0, description="Length of the whole text in characters")
    visibility: str = Field(default="public", description="Who may see it: public, internal or group:NAME")


class VisibilityInput(BaseModel):
    doc_id: str
    visibility: str = Field(description="public, internal or group:NAME", max_length=80)


@dataclass(frozen=True)
class DocumentParams:
    """A document request: which document, the query whose passages to mark (cut to the
    longest query accepted), and the page (0: the page with the best passage)."""

    doc_id: str
    q: str = ""
    page: int = 0


def document_params(request: Request, doc_id: str,
                    q: str = Query("", description="Mark the passages that best match this query"),
                    page: int = Query(0, ge=0, description="Page of a long document (1-based); "
                                                           "0 = the page with the best passage")) -> DocumentParams:
    return DocumentParams(doc_id, q[: request.app.state.settings.max_query_chars], page)


DocumentQuery = Annotated[DocumentParams, Depends(document_params)]


def paragraphs_of(text: str) -> list[tuple[int, str]]:
    """(offset, paragraph) for every non-blank line of the text."""
    out, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((pos, line))
        pos += len(line) + 1
    return out


def page_spans(paragraphs: list[tuple[int, str]], size: int) -> list[list[tuple[int, str]]]:
    """The paragraphs cut into pages of at most `size` characters (a longer paragraph is cut)."""
    pages: list[list[tuple[int, str]]] = [[]]
    used = 0
    for start, text in paragraphs:
        for cut in range(0, len(text), max(1, size)):
            piece = text[cut: cut + size]
            if pages[-1] and used + len(piece) > size:
                pages.append([])
                used = 0
            pages[-1].append((start + cut, piece))
            used += len(piece)
    return pages


def best_passages(engine: SearchEngine, services: Services, doc_id: str, query: str) -> tuple[list[tuple[int, int]], list[str]]:
    """Character ranges of the chunks that match the query best (by meaning and by words),
    and the query's terms. Nothing when the query is empty or invalid."""
    try:
        query = engine.validate(query)
    except QueryError:
        return [], []
    ranked = services.ranked(engine, query)
    rows = engine.index.doc_rows.get(doc_id, [])
    if not rows:
        return [], ranked.terms
    rows_arr = np.asarray(rows, dtype=np.int64)
    qvec = ranked.vector
    centred = engine.index.centre(qvec, ranked.qlang)[0]
    picked = {int(rows_arr[int(np.argmax(engine.index.centred[rows_arr] @ centred))])}
    lexical = engine.index.lexical.scores(ranked.terms)[rows_arr] if ranked.terms else np.zeros(0)
    if len(lexical) and float(lexical.max()) > 0:
        picked.add(int(rows_arr[int(np.argmax(lexical))]))
    chunks = engine.index.chunks
    return sorted((chunks[r].start, chunks[r].end) for r in picked), ranked.terms


def _link_hit(engine: SearchEngine, link: Counterpart) -> HitModel | None:
    rows = engine.index.doc_rows.get(link.other_id)
    meta = engine.meta.get(link.other_id)
    if meta is None:
        return None
    if rows:
        lang = engine.index.doc_lang[link.other_id]
        return hit_model(engine, Scored(link.other_id, lang, link.confidence, rows[0]), [])
    return HitModel(id=link.other_id, lang="", title=meta.title, score=link.confidence, snippet="", highlights=[],
                    url=meta.url, type=meta.type, date=meta.date, source=meta.source)


def _chosen_page(pages: list[list[tuple[int, str]]], passages: list[tuple[int, int]], page_no: int) -> int:
    """1-based page to show: the one asked for, else the one holding the best passage."""
    if page_no:
        return min(page_no, len(pages))
    for number, paras in enumerate(pages, 1):
        if any(s < start + len(text) and start < e for start, text in paras for s, e in passages):
            return number
    return 1


def document_page(engine: SearchEngine, services: Services, doc: Document, link: Counterpart | None,
                  query: str = "", related: int = 6, *, page_no: int = 0, page_chars: int = 50_000) -> DocumentPage:
    """The page of a document the engine's viewer may see (its text as they may read it)."""
    doc = doc.with_(text=shown_text(doc.text, doc.type, engine.viewer))
    link = link if link is not None and engine.sees(link.other_id) else None
    passages, terms = best_passages(engine, services, doc.id, query) if query.strip() else ([], [])
    pages = page_spans(paragraphs_of(doc.text), page_chars)
    number = _chosen_page(pages, passages, page_no)
    paragraphs = []
    for start, text in pages[number - 1]:
        end = start + len(text)
        best = any(s < end and start < e for s, e in passages)
        spans = match_spans(text, terms)
        if spans and doc.lang == "vi":  # re-marked on whole words: see SearchEngine.words_of
            spans = match_spans(text, terms, engine.words_of(text, doc.lang))
        paragraphs.append(ParagraphModel(text=text, start=start, best=best, highlights=spans))
    page_text = "\n".join(text for _, text in pages[number - 1])
    page = DocumentPage(id=doc.id, lang=doc.lang, title=doc.title, text=page_text, url=doc.url, type=doc.type,
                        date=doc.date, source=doc.source, query=query, paragraphs=paragraphs,
                        page=number, pages=len(pages), text_chars=len(doc.text), visibility=doc.visibility)
    if link is not None:
        page.counterpart = _link_hit(engine, link)
        page.counterpart_confirmed = link.status == "confirmed"
        page.counterpart_kind, page.counterpart_reasons = link.kind, link.reasons()
        page.counterpart_confidence = round(link.confidence, 2)
    shown = {doc.id, link.other_id if link else ""}
    for hit in engine.related(doc.id, limit=related + 1):
        if hit.id not in shown and len(page.related) < related:
            meta = engine.meta.get(hit.id, DocMeta())
            page.related.append(HitModel(id=hit.id, lang=hit.lang, title=meta.title or hit.title,
                                         score=round(hit.score, 4), snippet=hit.snippet, highlights=list(hit.highlights),
                                         url=hit.url, type=hit.type, date=hit.date, source=hit.source))
    return page


def load_document(services: Services, params: DocumentParams, viewer: Viewer) -> DocumentPage:
    eng = services.engine(viewer)
    with services.reader.read() as cat:
        doc = cat.get(params.doc_id)
        link = get_counterpart(cat, params.doc_id) if doc is not None else None
    if doc is None or not viewer.sees(doc.visibility):  # the same answer as for no document at all
        raise HTTPException(404, f"no document with id {params.doc_id!r}")
    return document_page(eng, services, doc, link, params.q, page_no=params.page,
                         page_chars=max(1, services.settings.web_doc_page_chars))


def document_router(web: Web, services: Services) -> APIRouter:
    router = APIRouter()

    def document(request: Request, params: DocumentQuery) -> Any:
        page = load_document(services, params, web.auth.viewer(request))
        back = SearchLinks(params.q, Filters()).url() if params.q else ""
        return web.respond(request, "document.html", page, {"back": back})

    page_routes(router, "/doc/{doc_id:path}", "/api/doc/{doc_id:path}", document, DocumentPage,
                "A document (one page of a long one), its counterpart and related documents")

    _visibility_routes(router, web)

    @router.get("/text/{doc_id:path}", response_class=Response, summary="A document's whole text",
                responses={200: {"description": "The text", "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def doc_text(request: Request, doc_id: str) -> Response:
        viewer = web.auth.viewer(request)
        with services.reader.read() as cat:
            doc = cat.get(doc_id)
        if doc is None or not viewer.sees(doc.visibility):
            raise HTTPException(404, f"no document with id {doc_id!r}")
        return PlainTextResponse(shown_text(doc.text, doc.type, viewer))

    return router


def _visibility_routes(router: APIRouter, web: Web) -> None:
    """Editors change who may see a document they see (search follows at once: the engine
    is rebuilt with the catalogue); each change goes to the audit log."""

    def change(viewer: Viewer, doc_id: str, visibility: str) -> str:
        try:
            value = parse_visibility(visibility)
        except AccessError as exc:
            raise HTTPException(400, str(exc)) from exc
        with web.writing, open_catalogue(web.settings) as cat:
            if not may_see(cat, doc_id, viewer) or not cat.set_visibility(doc_id, value):
                raise HTTPException(404, f"no document with id {doc_id!r}")
            Accounts(cat).audit(viewer.name, "visibility", doc_id, value)
        return value

    @router.post("/api/visibility", summary="Set who may see a document (editors)",
                 dependencies=[Depends(web.needs("edit"))], responses=error_responses(401, 403))
    def api_visibility(request: Request, body: VisibilityInput) -> dict[str, str]:
        return {"doc_id": body.doc_id, "visibility": change(web.auth.viewer(request), body.doc_id, body.visibility)}

    @router.post("/doc-visibility", include_in_schema=False)
    def visibility_form(request: Request, doc_id: str = Form(""), visibility: str = Form(""),
                        token: str = Form(""), csrf_token: str = Form("")) -> Response:
        viewer = web.auth.require(request, ("edit",), token=token, csrf=csrf_token)
        change(viewer, doc_id, visibility)
        return RedirectResponse(doc_href(doc_id), status_code=303)
