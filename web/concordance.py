"""The concordance page, `/concordance` as HTML and `/api/concordance` as JSON (one handler
serves both): aligned sentence pairs containing a word or phrase; and the TMX export
(`/api/export.tmx`) of everything, a document pair or a concordance query: translations
(aligned pairs, imported memories), mined look-alikes only with `include_mined=1`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

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
    origin: str = Field(description="aligned (a confirmed or claimed translation pair), mined (a look-alike "
                                    "sentence pair across documents that are not translations), or tmx (imported)")
    origin_note: str = Field(default="", description="What the origin means, in words")
    score: float
    vi_doc: str
    ko_doc: str
    vi_title: str
    ko_title: str
    source: str


class ConcordancePage(BaseModel):
    query: str = ""
    lang: str = "all"
    total: int = 0
    limit: int = 20
    offset: int = 0
    took_ms: float = 0.0
    hits: list[ConcordanceHitModel] = []
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


def concordance_page(settings: Settings, params: ConcordanceParams) -> ConcordancePage:
    page = ConcordancePage(query=params.q, lang=params.lang, limit=params.limit, offset=params.offset)
    with open_catalogue(settings) as cat:
        page.memory = TranslationMemory(cat).count()
        if not params.q.strip():
            return page
        try:
            res = concordance(cat, params.q, lang=params.lang, limit=params.limit, offset=params.offset,
                              glossary=load_glossary(cat, settings.glossary))
        except ConcordanceError as exc:
            page.error = str(exc)
            return page
    page.total, page.took_ms = res.total, round(res.took_ms, 2)
    page.hits = [ConcordanceHitModel.model_validate(
        {**{k: v for k, v in h.to_json().items() if k in ConcordanceHitModel.model_fields},
         "origin_note": ORIGIN_NOTES.get(h.unit.origin, h.unit.origin)}) for h in res.hits]
    return page


def concordance_router(web: Web) -> APIRouter:
    router = APIRouter(tags=["translation"])
    settings = web.settings

    def concordance_view(request: Request, params: ConcordanceQuery) -> Any:
        page = concordance_page(settings, params)
        return web.respond(request, "concordance.html", page, {"page_no": params.page}, error=page.error,
                           blank="" if params.q.strip() else "the query is empty")

    page_routes(router, "/concordance", "/api/concordance", concordance_view, ConcordancePage,
                "Aligned sentence pairs containing a phrase")

    @router.get("/api/export.tmx", summary="TMX 1.4b of all units, a document pair (a, b) or a concordance query (q)",
                response_class=Response,  # the errors are JSON; the 200 is TMX
                responses={200: {"description": "TMX 1.4b", "content": {"application/x-tmx+xml": {"schema": {"type": "string"}}}}})
    def export_tmx(q: str = "", a: str = "", b: str = "",
                   include_mined: bool = Query(False, description="Also the mined sentence pairs (look-alikes "
                                                                  "across documents that are not translations)")) -> Response:
        units: list[Unit] | None = None
        if q.strip():  # errors must be known before the first byte is sent
            with open_catalogue(settings, readonly=True) as cat:
                try:
                    units = [h.unit for h in concordance(cat, q, limit=EXPORT_MAX_HITS).hits
                             if include_mined or h.unit.origin != "mined"]
                except ConcordanceError as exc:
                    raise HTTPException(400, str(exc)) from exc

        def pieces() -> Iterator[bytes]:
            if units is not None:
                yield from tmx_chunks(units)
                return
            with open_catalogue(settings, readonly=True) as cat:
                yield from tmx_chunks(TranslationMemory(cat).units(pair=(a, b) if a and b else None,
                                                                   include_mined=include_mined))

        return StreamingResponse(pieces(), media_type="application/x-tmx+xml",
                                 headers={"Content-Disposition": 'attachment; filename="viko.tmx"'})

    return router
