"""The concordance page, `/concordance` as HTML and `/api/concordance` as JSON (one handler
serves both): aligned sentence pairs containing a word or phrase; and the TMX export
(`/api/export.tmx`) of everything, a document pair or a concordance query: translations
(aligned pairs, imported memories), mined look-alikes only with `include_mined=1`."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from viko.corpus.access import RECORD_TYPES, Viewer, mask_contacts
from viko.corpus.catalogue import Catalogue
from viko.corpus.glossary import load_glossary
from viko.corpus.tm import ORIGIN_NOTES, TranslationMemory, Unit
from viko.runtime import open_catalogue
from viko.settings import Settings
from viko.web.shared import Web, page_routes
from viko.workbench.concordance import PAGE_SIZE, ConcordanceError, concordance
from viko.workbench.tmx import tmx_chunks

MAX_LIMIT = 200
# A concordance export lists at most this many units (a phrase as common as "và" matches
# most of the memory; the whole memory has its own export, streamed).
EXPORT_MAX_HITS = 100_000
Span = tuple[int, int]


class ConcordanceHitModel(BaseModel):
    id: int
    vi: str
    ko: str
    side: str = Field(description="The side the query matched: vi or ko")
    vi_spans: list[Span]
    ko_spans: list[Span]
    vi_span_origins: list[str] = Field(default=[], description="Where each of vi_spans comes from: query (the "
                                       "match), glossary (an equivalent in the glossary, or a term kept as it is) "
                                       "or alignment (linked to the query by the memory's word alignment)")
    ko_span_origins: list[str] = Field(default=[], description="Where each of ko_spans comes from (as vi_span_origins)")
    origin: str = Field(description="aligned (a confirmed or claimed translation pair), mined (a look-alike "
                                    "sentence pair across documents that are not translations), or tmx (imported)")
    origin_note: str = Field(default="", description="What the origin means, in words")
    score: float
    vi_doc: str
    ko_doc: str
    vi_title: str
    ko_title: str
    source: str


class LinkedTermModel(BaseModel):
    form: str = Field(description="The form marked on the other side (search form: lowercase)")
    lang: str
    dice: float = Field(description="Dice association with the query over the memory's translations")
    together: int = Field(description="Translation units holding the query and the form")
    units: int = Field(description="Translation units holding the query")
    count: int = Field(description="Units of the whole memory holding the form")


class ConcordancePage(BaseModel):
    query: str = ""
    lang: str = "all"
    total: int = 0
    look_alikes: int = Field(default=0, description="Of total, the mined look-alike pairs (not translations)")
    limit: int = 20
    offset: int = 0
    took_ms: float = 0.0
    hits: list[ConcordanceHitModel] = []
    alignment: list[LinkedTermModel] = Field(default=[], description="What the word alignment marked on this page")
    memory: dict[str, int] = Field(default={}, description="Translation units by origin")
    error: str = ""


@dataclass(frozen=True)
class ConcordanceParams:
    """A concordance request: the phrase, the side to look in, and the page of pairs."""

    q: str = ""
    lang: str = "all"
    limit: int = PAGE_SIZE
    offset: int = 0

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1


def concordance_params(q: str = Query("", description="A word or phrase in Vietnamese or Korean"),
                       lang: str = Query("all", pattern="^(all|vi|ko)$"),
                       limit: int = Query(PAGE_SIZE, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0),
                       page: int = Query(1, ge=1, description="1-based page; overrides offset when above 1"),
                       ) -> ConcordanceParams:
    return ConcordanceParams(q, lang, limit, (page - 1) * limit if page > 1 else offset)


ConcordanceQuery = Annotated[ConcordanceParams, Depends(concordance_params)]


def readable_units(cat: Catalogue, units: Iterable[Unit], viewer: Viewer, batch: int = 900) -> Iterator[Unit]:
    """The units as the viewer may read them: the anonymous visitor reads the sentences of an
    offer or a demand without its contact details (masked to the same length, so the
    concordance's spans still hold)."""
    if viewer.signed_in:
        yield from units
        return
    remaining = iter(units)
    while chunk := list(itertools.islice(remaining, batch)):
        docs = sorted({d for u in chunk for d in (u.vi_doc, u.ko_doc) if d})
        records = {r[0] for r in cat.conn.execute(
            f"SELECT id FROM documents WHERE type IN ({','.join('?' * len(RECORD_TYPES))}) "
            f"AND id IN ({','.join('?' * len(docs))})", [*RECORD_TYPES, *docs])} if docs else set()
        yield from (dataclasses.replace(u, vi=mask_contacts(u.vi), ko=mask_contacts(u.ko))
                    if {u.vi_doc, u.ko_doc} & records else u for u in chunk)


def concordance_page(settings: Settings, params: ConcordanceParams, viewer: Viewer) -> ConcordancePage:
    """Only the units of documents the viewer may see are counted and shown."""
    page = ConcordancePage(query=params.q, lang=params.lang, limit=params.limit, offset=params.offset)
    with open_catalogue(settings) as cat:
        page.memory = TranslationMemory(cat).count(viewer.visibilities)
        if not params.q.strip():
            return page
        try:
            res = concordance(cat, params.q, lang=params.lang, limit=params.limit, offset=params.offset,
                              glossary=load_glossary(cat, settings.glossary), visible=viewer.visibilities)
        except ConcordanceError as exc:
            page.error = str(exc)
            return page
        shown = list(readable_units(cat, [h.unit for h in res.hits], viewer))
    page.total, page.look_alikes, page.took_ms = res.total, res.look_alikes, round(res.took_ms, 2)
    page.alignment = [LinkedTermModel.model_validate(t.to_json()) for t in res.linked]
    page.hits = [ConcordanceHitModel.model_validate(
        {**{k: v for k, v in h.to_json().items() if k in ConcordanceHitModel.model_fields},
         "vi": unit.vi, "ko": unit.ko, "origin_note": ORIGIN_NOTES.get(h.unit.origin, h.unit.origin)})
        for h, unit in zip(res.hits, shown, strict=True)]
    return page


def concordance_router(web: Web) -> APIRouter:
    router = APIRouter(tags=["translation"])
    settings = web.settings

    def concordance_view(request: Request, params: ConcordanceQuery) -> Any:
        page = concordance_page(settings, params, web.auth.viewer(request))
        return web.respond(request, "concordance.html", page, {"page_no": params.page}, error=page.error,
                           blank="" if params.q.strip() else "the query is empty")

    page_routes(router, "/concordance", "/api/concordance", concordance_view, ConcordancePage,
                "Aligned sentence pairs containing a phrase")

    @router.get("/api/export.tmx", summary="TMX 1.4b of all units, a document pair (a, b) or a concordance query (q)",
                response_class=Response,  # the errors are JSON; the 200 is TMX
                responses={200: {"description": "TMX 1.4b", "content": {"application/x-tmx+xml": {"schema": {"type": "string"}}}}})
    def export_tmx(request: Request, q: str = "", a: str = "", b: str = "",
                   include_mined: bool = Query(False, description="Also the mined sentence pairs (look-alikes "
                                                                  "across documents that are not translations)")) -> Response:
        units: list[Unit] | None = None
        viewer = web.auth.viewer(request)
        visible = viewer.visibilities
        if q.strip():  # errors must be known before the first byte is sent
            with open_catalogue(settings, readonly=True) as cat:
                try:
                    units = list(readable_units(cat, [
                        h.unit for h in concordance(cat, q, limit=EXPORT_MAX_HITS, visible=visible).hits
                        if include_mined or h.unit.origin != "mined"], viewer))
                except ConcordanceError as exc:
                    raise HTTPException(400, str(exc)) from exc

        def pieces() -> Iterator[bytes]:
            if units is not None:
                yield from tmx_chunks(units)
                return
            with open_catalogue(settings, readonly=True) as cat:
                every = TranslationMemory(cat).units(pair=(a, b) if a and b else None, include_mined=include_mined,
                                                     visible=visible)
                yield from tmx_chunks(readable_units(cat, every, viewer))

        return StreamingResponse(pieces(), media_type="application/x-tmx+xml",
                                 headers={"Content-Disposition": 'attachment; filename="viko.tmx"'})

    return router
