"""The glossary page, `/glossary` as HTML and `/api/glossary` as JSON (one handler serves
both), and its changes: a form on the page, POST and DELETE on the API. Reads are open;
changes need the operator's token (VIKO_ADMIN_TOKEN), in a header for the API and in the
form for the page; it is checked before the request's fields are validated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from viko.corpus.access import Viewer
from viko.corpus.accounts import Accounts
from viko.corpus.glossary import Glossary, GlossaryError, open_glossary
from viko.runtime import open_catalogue
from viko.settings import Settings
from viko.web.shared import TokenFirstRoute, Web, page_routes

MAX_MESSAGE = 200


class GlossaryEntryModel(BaseModel):
    id: int
    vi: str
    ko: str
    note: str
    domain: str
    origin: str


class GlossaryPage(BaseModel):
    query: str = ""
    entries: list[GlossaryEntryModel] = []
    editable: bool = Field(default=False, description="Whether the operator configured an admin token")
    message: str = ""


class GlossaryInput(BaseModel):
    vi: str = Field(min_length=1, max_length=200)
    ko: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=1000)
    domain: str = Field(default="", max_length=100)


class ExpansionModel(BaseModel):
    query: str
    lang: str
    terms: list[str] = Field(description="Other-language equivalents of the glossary terms in the query")


@dataclass(frozen=True)
class GlossaryParams:
    """Which entries to list (q filters) and the notice a form redirect left (msg)."""

    q: str = ""
    msg: str = ""


def glossary_params(q: str = Query("", description="Show the entries containing this text"),
                    msg: str = Query("", description="A notice to show (set by the page's form)")) -> GlossaryParams:
    return GlossaryParams(q, msg[:MAX_MESSAGE])


GlossaryQuery = Annotated[GlossaryParams, Depends(glossary_params)]


def glossary_page(settings: Settings, viewer: Viewer, params: GlossaryParams) -> GlossaryPage:
    with open_catalogue(settings) as cat:
        entries = open_glossary(cat, settings.glossary).entries(params.q)
    return GlossaryPage(query=params.q, editable=viewer.may("edit"), message=params.msg,
                        entries=[GlossaryEntryModel(**e.to_json()) for e in entries])  # type: ignore[arg-type]


def glossary_router(web: Web) -> APIRouter:
    router = APIRouter(route_class=TokenFirstRoute, tags=["translation"])

    def glossary(request: Request, params: GlossaryQuery) -> Any:
        return web.respond(request, "glossary.html", glossary_page(web.settings, web.auth.viewer(request), params))

    page_routes(router, "/glossary", "/api/glossary", glossary, GlossaryPage, "Glossary entries (q filters)")
    _change_routes(router, web)

    @router.get("/api/glossary/expand", response_model=ExpansionModel, summary="Other-language terms for a query")
    def api_expand(q: str, lang: str = Query(..., pattern="^(vi|ko)$")) -> Any:
        with open_catalogue(web.settings) as cat:
            glossary = Glossary(open_glossary(cat, web.settings.glossary).entries())
        return ExpansionModel(query=q, lang=lang, terms=glossary.expand_query_terms(q, lang))

    return router


def _change_routes(router: APIRouter, web: Web) -> None:
    settings, auth = web.settings, web.auth

    @router.post("/glossary", include_in_schema=False)
    def glossary_form(request: Request, vi: str = Form(""), ko: str = Form(""), note: str = Form(""),
                      domain: str = Form(""), remove: str = Form(""), token: str = Form(""),
                      csrf_token: str = Form("")) -> Response:
        viewer = auth.require(request, ("edit",), token=token, csrf=csrf_token)
        if not remove.strip().isdigit() and remove.strip():
            raise HTTPException(400, f"remove must be an entry number, not {remove[:40]!r}")
        remove_id = int(remove.strip() or 0)
        with web.writing, open_catalogue(settings) as cat:
            store = open_glossary(cat, settings.glossary)
            try:
                done = f"removed {remove_id}" if remove_id and store.remove(remove_id) else \
                    "" if remove_id else f"saved {store.add(vi, ko, note, domain).vi}"
            except GlossaryError as exc:
                raise HTTPException(400, str(exc)) from exc
            if done:
                Accounts(cat).audit(viewer.name, "glossary " + done.split()[0], done.split(maxsplit=1)[1], f"{vi} = {ko}")
        return RedirectResponse("/glossary?" + urlencode({"msg": done}), status_code=303)

    @router.post("/api/glossary", response_model=GlossaryEntryModel, summary="Add or update a term pair (editors)",
                 dependencies=[Depends(web.needs("edit"))])
    def api_glossary_add(request: Request, entry: GlossaryInput) -> Any:
        with web.writing, open_catalogue(settings) as cat:
            try:
                saved = open_glossary(cat, settings.glossary).add(entry.vi, entry.ko, entry.note, entry.domain)
            except GlossaryError as exc:
                raise HTTPException(400, str(exc)) from exc
            Accounts(cat).audit(auth.viewer(request).name, "glossary saved", saved.vi, f"{saved.vi} = {saved.ko}")
        return GlossaryEntryModel(**saved.to_json())  # type: ignore[arg-type]

    @router.delete("/api/glossary/{entry_id}", summary="Remove a term pair (editors)",
                   dependencies=[Depends(web.needs("edit"))])
    def api_glossary_remove(request: Request, entry_id: int) -> dict[str, Any]:
        with web.writing, open_catalogue(settings) as cat:
            if not open_glossary(cat, settings.glossary).remove(entry_id):
                raise HTTPException(404, f"no glossary entry with id {entry_id}")
            Accounts(cat).audit(auth.viewer(request).name, "glossary removed", str(entry_id))
        return {"removed": entry_id}
