"""The matchmaking pages, each one handler for its HTML path and its `/api/` twin: a demand's
offers (or an offer's demands) with the reasons, `/match/ID` and `/api/match/ID`; offers and
demands by sector, `/matching` and `/api/matching`. The session planner is web/planner.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from viko.corpus.access import mask_contacts
from viko.matching.match import Matcher, MatchError
from viko.matching.records import SECTORS
from viko.web.services import Services
from viko.web.shared import Web, page_routes

MAX_MATCHES = 100


class RecordModel(BaseModel):
    id: str
    kind: str
    lang: str
    title: str
    organisation: str = ""
    sectors: list[str] = []
    region: str = ""
    contact: str = ""


class VersionModel(BaseModel):
    id: str
    lang: str
    title: str


class MatchModel(BaseModel):
    id: str = Field(description="The version of the other party that matched best")
    lang: str
    title: str
    score: float
    weak: bool = Field(default=False, description="Scored where unrelated pairs score too: listed for reference, not a fit")
    party: str = Field(default="", description="The other party's id (one row per party)")
    organisation: str = ""
    versions: list[VersionModel] = Field(default=[], description="Every version of the other party, vi first")
    why: dict[str, Any] = Field(description="passages (own/other text, score), glossary_terms, shared_terms, sectors, region, document")


class MatchPage(BaseModel):
    id: str
    kind: str
    record: RecordModel
    party: str = Field(default="", description="The asking record's party: its versions are matched together")
    versions: list[VersionModel] = Field(default=[], description="Every version of the asking party")
    matches: list[MatchModel] = []


class RecordsPage(BaseModel):
    sector: str = ""
    kind: str = ""
    sectors: dict[str, int] = Field(default_factory=dict, description="Records per sector")
    records: list[RecordModel] = []


@dataclass(frozen=True)
class MatchParams:
    record_id: str
    limit: int = 10


def match_params(record_id: str, limit: int = Query(10, ge=1, le=MAX_MATCHES)) -> MatchParams:
    return MatchParams(record_id, limit)


MatchQuery = Annotated[MatchParams, Depends(match_params)]


@dataclass(frozen=True)
class RecordsParams:
    sector: str = ""
    kind: str = ""


def records_params(sector: str = "", kind: str = Query("", pattern="^(|offer|demand)$")) -> RecordsParams:
    return RecordsParams(sector, kind)


RecordsQuery = Annotated[RecordsParams, Depends(records_params)]


def record_model(rec: Any) -> RecordModel:
    return RecordModel.model_validate(rec.to_json())


def match_page(matcher: Matcher, record_id: str, limit: int) -> MatchPage:
    try:
        result = matcher.match(record_id, limit=limit)
    except MatchError as exc:
        raise HTTPException(404, f"{exc}: matches exist for offers and demands only") from exc
    out = result.to_json()
    party = result.party
    versions = [VersionModel(id=m.id, lang=m.lang, title=m.title) for m in party.members] if party else []
    return MatchPage(id=result.record.id, kind=result.record.kind, record=record_model(result.record),
                     party=party.id if party else result.record.id, versions=versions,
                     matches=[MatchModel.model_validate(m) for m in out["matches"]])  # type: ignore[attr-defined]


def without_contacts(page: MatchPage) -> MatchPage:
    """The page as the anonymous visitor may read it: the passages that explain a match are the
    index's text, so their contact details are masked here (the records' own are by the matcher)."""
    for m in page.matches:
        m.why["passages"] = [{**p, "own": mask_contacts(p["own"]), "other": mask_contacts(p["other"])}
                             for p in m.why.get("passages", [])]
    return page


def records_page(matcher: Matcher, sector: str, kind: str) -> RecordsPage:
    every = sorted(matcher.records.values(), key=lambda r: (r.kind, r.sector, r.title))
    counts = {s: sum(s in r.sectors for r in every) for s in SECTORS}
    chosen = [r for r in every if (not sector or sector in r.sectors) and (not kind or r.kind == kind)]
    return RecordsPage(sector=sector, kind=kind, sectors={s: n for s, n in counts.items() if n},
                       records=[record_model(r) for r in chosen])


def matching_router(web: Web, services: Services) -> APIRouter:
    """The matchmaking pages, over the app's shared renderer and the matcher of its live engine."""
    router = APIRouter(tags=["matchmaking"])

    def match(request: Request, params: MatchQuery) -> Any:
        viewer = web.auth.viewer(request)
        page = match_page(services.matcher(viewer), params.record_id, params.limit)
        return web.respond(request, "match.html", page if viewer.signed_in else without_contacts(page))

    def records(request: Request, params: RecordsQuery) -> Any:
        viewer = web.auth.viewer(request)
        return web.respond(request, "matching.html", records_page(services.matcher(viewer), params.sector, params.kind),
                           {"importable": viewer.may("edit") or viewer.may("organise")})  # who may import

    page_routes(router, "/match/{record_id:path}", "/api/match/{record_id:path}", match, MatchPage,
                "A demand's offers (or an offer's demands), best first, with why")
    page_routes(router, "/matching", "/api/matching", records, RecordsPage, "Offers and demands by sector")
    return router
