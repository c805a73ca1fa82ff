"""Translators' workbench pages: side-by-side alignment, concordance, glossary; the same data
as JSON under /api/. Reads are open; changes (glossary edits, counterpart decisions) need the
operator's token (VIKO_ADMIN_TOKEN), in a header for the API and in the form for the pages.
"""

from __future__ import annotations

import hmac
import io
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from corpus.glossary import Glossary, GlossaryError, open_glossary
from corpus.tm import TranslationMemory
from corpus.tmx import write_tmx
from search.concordance import ConcordanceError, concordance
from search.counterpart import CounterpartError, decide, forget, get_counterpart
from viko.runtime import open_catalogue
from viko.settings import Settings
from web.i18n import UI_LANGS, UI_NAMES, negotiate, translator
from web.links import with_param
from web.translate_align import AlignmentService
from web.translate_models import (
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

HERE = Path(__file__).parent


class _Shared:
    """What every route group needs: settings, templates, the token check, one writer lock."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.aligner = AlignmentService(settings)
        self.writing = threading.Lock()

    def render(self, request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        ui = negotiate(request.query_params, request.cookies, request.headers.get("accept-language", ""))
        params = list(request.query_params.multi_items())
        switch = [(c, UI_NAMES[c], with_param(request.url.path, params, "ui", c)) for c in UI_LANGS]
        context = {**context, "t": translator(ui), "ui": ui, "ui_switch": switch}
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    def authorize(self, token: str) -> None:
        if not self.settings.admin_token:
            raise HTTPException(403, "editing is disabled: the operator has not set VIKO_ADMIN_TOKEN")
        if not token or not hmac.compare_digest(token.encode(), self.settings.admin_token.encode()):
            raise HTTPException(401, "a valid admin token is required", headers={"WWW-Authenticate": "Bearer"})


def header_token(authorization: str, x_viko_token: str) -> str:
    return x_viko_token or authorization.removeprefix("Bearer ").strip()


def translate_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["translation"])
    shared = _Shared(settings)
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
        result = concordance_page(q, lang, 20, (page - 1) * 20)
        return render(request, "translate_concordance.html", {"page": result, "page_no": page},
                      400 if result.error else 200)

    @router.get("/api/concordance", response_model=ConcordancePage, summary="Aligned sentence pairs containing a phrase")
    def api_concordance(q: str = Query(..., description="A word or phrase in Vietnamese or Korean"),
                        lang: str = Query("all", pattern="^(all|vi|ko)$"),
                        limit: int = Query(20, ge=1, le=200), offset: int = Query(0, ge=0)) -> Any:
        result = concordance_page(q, lang, limit, offset)
        if result.error or not q.strip():
            raise HTTPException(400, result.error or "the query is empty")
        return result

    @router.get("/api/export.tmx", summary="TMX 1.4b of all units, a document pair (a, b) or a concordance query (q)",
                response_class=Response)
    def export_tmx(q: str = "", a: str = "", b: str = "") -> Response:
        with open_catalogue(settings) as cat:
            if q.strip():
                try:
                    units = [h.unit for h in concordance(cat, q, limit=1_000_000).hits]
                except ConcordanceError as exc:
                    raise HTTPException(400, str(exc)) from exc
            else:
                units = list(TranslationMemory(cat).units(pair=(a, b) if a and b else None))
        buf = io.BytesIO()
        write_tmx(units, buf)
        return Response(buf.getvalue(), media_type="application/x-tmx+xml",
                        headers={"Content-Disposition": 'attachment; filename="viko.tmx"'})


def _glossary_routes(router: APIRouter, shared: _Shared) -> None:
    settings, render, authorize, writing = shared.settings, shared.render, shared.authorize, shared.writing

    def glossary_page(q: str, message: str = "") -> GlossaryPage:
        with open_catalogue(settings) as cat:
            entries = open_glossary(cat, settings.glossary).entries(q)
        return GlossaryPage(query=q, editable=bool(settings.admin_token), message=message,
                            entries=[GlossaryEntryModel(**e.to_json()) for e in entries])  # type: ignore[arg-type]

    @router.get("/glossary", response_class=HTMLResponse, include_in_schema=False)
    def glossary_html(request: Request, q: str = "", msg: str = "") -> Response:
        return render(request, "translate_glossary.html", {"page": glossary_page(q, msg[:200])})

    @router.post("/glossary", include_in_schema=False)
    def glossary_form(vi: str = Form(""), ko: str = Form(""), note: str = Form(""), domain: str = Form(""),
                      remove: int = Form(0), token: str = Form("")) -> Response:
        authorize(token)
        with writing, open_catalogue(settings) as cat:
            store = open_glossary(cat, settings.glossary)
            try:
                done = f"removed {remove}" if remove and store.remove(remove) else \
                    "" if remove else f"saved {store.add(vi, ko, note, domain).vi}"
            except GlossaryError as exc:
                raise HTTPException(400, str(exc)) from exc
        return RedirectResponse("/glossary?" + urlencode({"msg": done}), status_code=303)

    @router.get("/api/glossary", response_model=GlossaryPage, summary="Glossary entries (q filters)")
    def api_glossary(q: str = "") -> Any:
        return glossary_page(q)

    @router.post("/api/glossary", response_model=GlossaryEntryModel, summary="Add or update a term pair (token)")
    def api_glossary_add(entry: GlossaryInput, authorization: str = Header(""), x_viko_token: str = Header("")) -> Any:
        authorize(header_token(authorization, x_viko_token))
        with writing, open_catalogue(settings) as cat:
            try:
                saved = open_glossary(cat, settings.glossary).add(entry.vi, entry.ko, entry.note, entry.domain)
            except GlossaryError as exc:
                raise HTTPException(400, str(exc)) from exc
        return GlossaryEntryModel(**saved.to_json())  # type: ignore[arg-type]

    @router.delete("/api/glossary/{entry_id}", summary="Remove a term pair (token)")
    def api_glossary_remove(entry_id: int, authorization: str = Header(""), x_viko_token: str = Header("")) -> dict[str, Any]:
        authorize(header_token(authorization, x_viko_token))
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
    settings, authorize, writing = shared.settings, shared.authorize, shared.writing

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

    @router.post("/api/counterpart", summary="Confirm, reject or forget a counterpart link (token)")
    def api_decide(body: DecisionInput, authorization: str = Header(""), x_viko_token: str = Header("")) -> dict[str, str]:
        authorize(header_token(authorization, x_viko_token))
        with writing, open_catalogue(settings) as cat:
            try:
                if body.decision == "forget":
                    forget(cat, body.doc_id, body.other_id)
                else:
                    decide(cat, body.doc_id, body.other_id, body.decision, body.note)
            except CounterpartError as exc:
                raise HTTPException(400, str(exc)) from exc
        return {"doc_id": body.doc_id, "other_id": body.other_id, "decision": body.decision}

    @router.post("/align/decide", include_in_schema=False)
    def decide_form(a: str = Form(...), b: str = Form(...), decision: str = Form(...), token: str = Form("")) -> Response:
        api_decide(DecisionInput(doc_id=a, other_id=b, decision=decision), x_viko_token=token, authorization="")
        target = {"a": a, "b": b} if decision != "rejected" else {"a": a}
        return RedirectResponse("/align?" + urlencode(target), status_code=303)
