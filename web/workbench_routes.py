"""Translators' workbench pages: side-by-side alignment, concordance, glossary; the same data
as JSON under /api/. Reads are open; changes (glossary edits, counterpart decisions) need the
operator's token (VIKO_ADMIN_TOKEN), in a header for the API and in the form for the pages;
it is checked before the request's fields are validated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from viko.corpus.glossary import Glossary, GlossaryError, open_glossary
from viko.corpus.tm import TranslationMemory, Unit
from viko.web.shared import Web
from viko.web.workbench_align import AlignmentService
from viko.web.workbench_models import (
    AlignmentPage,
    ConcordanceHitModel,
    ConcordancePage,
    CounterpartModel,
    DecisionInput,
    ExpansionModel,
    GlossaryEntryModel,
    GlossaryInput,
    GlossaryPage,
)
from viko.workbench.concordance import PAGE_SIZE as CONCORDANCE_PAGE
from viko.workbench.concordance import ConcordanceError, concordance
from viko.workbench.counterparts import CounterpartError, decide, forget, get_counterpart
from viko.workbench.tmx import tmx_chunks

from viko.runtime import open_catalogue

# A concordance export lists at most this many units (a phrase as common as "và" matches
# most of the memory; the whole memory has its own export, streamed).
EXPORT_MAX_HITS = 100_000


class _Shared:
    """What every route group needs: settings, the shared renderer and token gate, one writer lock."""

    def __init__(self, web: Web) -> None:
        self.settings = web.settings
        self.render = web.render
        self.gate = web.gate
        self.aligner = AlignmentService(web.settings)
        self.writing = threading.Lock()


def workbench_router(web: Web) -> APIRouter:
    router = APIRouter(tags=["translation"])
    shared = _Shared(web)
    for add_routes in (_alignment_routes, _concordance_routes, _glossary_routes, _counterpart_routes):
        add_routes(router, shared)
    return router


def _alignment_routes(router: APIRouter, shared: _Shared) -> None:
    aligner, render = shared.aligner, shared.render

    @router.get("/align", response_class=HTMLResponse, include_in_schema=False)
    def align_html(request: Request, a: str = "", b: str = "") -> Response:
        page = aligner.page(a, b) if a else AlignmentPage()
        return render(request, "translate_align.html", {"page": page}, 404 if page.error else 200)

    @router.get("/api/align", response_model=AlignmentPage, summary="Sentence alignment of a document and its counterpart")
    def api_align(a: str = Query(..., description="Document id"),
                  b: str = Query("", description="The other document (default: a's counterpart)")) -> Any:
        page = aligner.page(a, b)
        if page.error:
            raise HTTPException(404, page.error)
        return page


def _concordance_routes(router: APIRouter, shared: _Shared) -> None:
    settings, render = shared.settings, shared.render

    def concordance_page(q: str, lang: str, limit: int, offset: int) -> ConcordancePage:
        page = ConcordancePage(query=q, lang=lang, limit=limit, offset=offset)
        with open_catalogue(settings) as cat:
            page.memory = TranslationMemory(cat).count()
            if not q.strip():
                return page
            try:
                res = concordance(cat, q, lang=lang, limit=limit, offset=offset)
            except ConcordanceError as exc:
                page.error = str(exc)
                return page
        page.total, page.took_ms = res.total, round(res.took_ms, 2)
        page.hits = [ConcordanceHitModel.model_validate(
            {k: v for k, v in h.to_json().items() if k in ConcordanceHitModel.model_fields}) for h in res.hits]
        return page

    @router.get("/concordance", response_class=HTMLResponse, include_in_schema=False)
    def concordance_html(request: Request, q: str = "", lang: str = Query("all", pattern="^(all|vi|ko)$"),
                         page: int = Query(1, ge=1)) -> Response:
        result = concordance_page(q, lang, CONCORDANCE_PAGE, (page - 1) * CONCORDANCE_PAGE)
        return render(request, "translate_concordance.html", {"page": result, "page_no": page},
                      400 if result.error else 200)

    @router.get("/api/concordance", response_model=ConcordancePage, summary="Aligned sentence pairs containing a phrase")
    def api_concordance(q: str = Query(..., description="A word or phrase in Vietnamese or Korean"),
                        lang: str = Query("all", pattern="^(all|vi|ko)$"),
                        limit: int = Query(CONCORDANCE_PAGE, ge=1, le=200), offset: int = Query(0, ge=0)) -> Any:
        result = concordance_page(q, lang, limit, offset)
        if result.error or not q.strip():
            raise HTTPException(400, result.error or "the query is empty")
        return result

    @router.get("/api/export.tmx", summary="TMX 1.4b of all units, a document pair (a, b) or a concordance query (q)",
                response_class=StreamingResponse)
    def export_tmx(q: str = "", a: str = "", b: str = "") -> Response:
        units: list[Unit] | None = None
        if q.strip():  # errors must be known before the first byte is sent
            with open_catalogue(settings, readonly=True) as cat:
                try:
                    units = [h.unit for h in concordance(cat, q, limit=EXPORT_MAX_HITS).hits]
                except ConcordanceError as exc:
                    raise HTTPException(400, str(exc)) from exc

        def pieces() -> Iterator[bytes]:
            if units is not None:
                yield from tmx_chunks(units)
                return
            with open_catalogue(settings, readonly=True) as cat:
                yield from tmx_chunks(TranslationMemory(cat).units(pair=(a, b) if a and b else None))

        return StreamingResponse(pieces(), media_type="application/x-tmx+xml",
                                 headers={"Content-Disposition": 'attachment; filename="viko.tmx"'})


def _glossary_routes(router: APIRouter, shared: _Shared) -> None:
    settings, render, gate, writing = shared.settings, shared.render, shared.gate, shared.writing

    def glossary_page(q: str, message: str = "") -> GlossaryPage:
        with open_catalogue(settings) as cat:
            entries = open_glossary(cat, settings.glossary).entries(q)
        return GlossaryPage(query=q, editable=gate.open, message=message,
                            entries=[GlossaryEntryModel(**e.to_json()) for e in entries])  # type: ignore[arg-type]

    @router.get("/glossary", response_class=HTMLResponse, include_in_schema=False)
    def glossary_html(request: Request, q: str = "", msg: str = "") -> Response:
        return render(request, "translate_glossary.html", {"page": glossary_page(q, msg[:200])})

    @router.post("/glossary", include_in_schema=False)
    def glossary_form(vi: str = Form(""), ko: str = Form(""), note: str = Form(""), domain: str = Form(""),
                      remove: str = Form(""), token: str = Form("")) -> Response:
        gate.authorize(token)
        if not remove.strip().isdigit() and remove.strip():
            raise HTTPException(400, f"remove must be an entry number, not {remove[:40]!r}")
        remove_id = int(remove.strip() or 0)
        with writing, open_catalogue(settings) as cat:
            store = open_glossary(cat, settings.glossary)
            try:
                done = f"removed {remove_id}" if remove_id and store.remove(remove_id) else \
                    "" if remove_id else f"saved {store.add(vi, ko, note, domain).vi}"
            except GlossaryError as exc:
                raise HTTPException(400, str(exc)) from exc
        return RedirectResponse("/glossary?" + urlencode({"msg": done}), status_code=303)

    @router.get("/api/glossary", response_model=GlossaryPage, summary="Glossary entries (q filters)")
    def api_glossary(q: str = "") -> Any:
        return glossary_page(q)

    @router.post("/api/glossary", response_model=GlossaryEntryModel, summary="Add or update a term pair (token)",
                 dependencies=[Depends(gate.header_check)])
    def api_glossary_add(entry: GlossaryInput) -> Any:
        with writing, open_catalogue(settings) as cat:
            try:
                saved = open_glossary(cat, settings.glossary).add(entry.vi, entry.ko, entry.note, entry.domain)
            except GlossaryError as exc:
                raise HTTPException(400, str(exc)) from exc
        return GlossaryEntryModel(**saved.to_json())  # type: ignore[arg-type]

    @router.delete("/api/glossary/{entry_id}", summary="Remove a term pair (token)",
                   dependencies=[Depends(gate.header_check)])
    def api_glossary_remove(entry_id: int) -> dict[str, Any]:
        with writing, open_catalogue(settings) as cat:
            if not open_glossary(cat, settings.glossary).remove(entry_id):
                raise HTTPException(404, f"no glossary entry with id {entry_id}")
        return {"removed": entry_id}

    @router.get("/api/glossary/expand", response_model=ExpansionModel, summary="Other-language terms for a query")
    def api_expand(q: str, lang: str = Query(..., pattern="^(vi|ko)$")) -> Any:
        with open_catalogue(settings) as cat:
            glossary = Glossary(open_glossary(cat, settings.glossary).entries())
        return ExpansionModel(query=q, lang=lang, terms=glossary.expand_query_terms(q, lang))


def _counterpart_routes(router: APIRouter, shared: _Shared) -> None:
    settings, gate, writing = shared.settings, shared.gate, shared.writing

    @router.get("/api/counterpart/{doc_id:path}", response_model=CounterpartModel, summary="A document's counterpart")
    def api_counterpart(doc_id: str) -> Any:
        with open_catalogue(settings) as cat:
            if cat.get(doc_id) is None:
                raise HTTPException(404, f"no document with id {doc_id!r}")
            link = get_counterpart(cat, doc_id)
        if link is None:
            return CounterpartModel(doc_id=doc_id)
        return CounterpartModel(doc_id=doc_id, other_id=link.other_id, confidence=link.confidence,
                                status=link.status, features=dict(link.features))

    def apply(body: DecisionInput) -> dict[str, str]:
        with writing, open_catalogue(settings) as cat:
            try:
                if body.decision == "forget":
                    forget(cat, body.doc_id, body.other_id)
                else:
                    decide(cat, body.doc_id, body.other_id, body.decision, body.note)
            except CounterpartError as exc:
                raise HTTPException(400, str(exc)) from exc
        return {"doc_id": body.doc_id, "other_id": body.other_id, "decision": body.decision}

    @router.post("/api/counterpart", summary="Confirm, reject or forget a counterpart link (token)",
                 dependencies=[Depends(gate.header_check)])
    def api_decide(body: DecisionInput) -> dict[str, str]:
        return apply(body)

    @router.post("/align/decide", include_in_schema=False)
    def decide_form(a: str = Form(""), b: str = Form(""), decision: str = Form(""), token: str = Form("")) -> Response:
        gate.authorize(token)
        try:
            body = DecisionInput(doc_id=a, other_id=b, decision=decision)
        except ValidationError as exc:
            raise HTTPException(400, f"not a valid decision: {exc.errors()[0]['msg']}") from exc
        apply(body)
        target = {"a": a, "b": b} if decision != "rejected" else {"a": a}
        return RedirectResponse("/align?" + urlencode(target), status_code=303)
