"""Matchmaking pages: a demand's offers (or an offer's demands) with the reasons, offers and
demands by sector, and the session planner. Each page builds one response model, served as
JSON under /api/ and rendered by Jinja2. Planner changes (lock, remove, re-plan with other
settings) need the operator's token: `Authorization: Bearer` for the API, a form field for
the page, as for the glossary.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from viko.matching.match import Matcher, MatchError
from viko.matching.plan import PlanError
from viko.matching.printout import agenda_csv, agenda_html, agenda_xlsx, briefs_html
from viko.matching.records import SECTORS
from viko.matching.service import load_matcher
from viko.matching.session import Session, SessionConfig, SessionStore, plan_for
from viko.web.services import Services
from viko.web.shared import Web

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


class MatchModel(BaseModel):
    id: str
    lang: str
    title: str
    score: float
    why: dict[str, Any] = Field(description="passages (own/other text, score), glossary_terms, shared_terms, sectors, region, document")


class MatchPage(BaseModel):
    id: str
    kind: str
    record: RecordModel
    matches: list[MatchModel] = []


class RecordsPage(BaseModel):
    sector: str = ""
    kind: str = ""
    sectors: dict[str, int] = Field(default_factory=dict, description="Records per sector")
    records: list[RecordModel] = []


class MeetingModel(BaseModel):
    demand: str
    offer: str
    slot: int = Field(description="1-based")
    table: int = Field(description="1-based")
    score: float
    locked: bool
    demand_title: str = ""
    offer_title: str = ""
    demand_lang: str = ""
    offer_lang: str = ""


class PlannerPage(BaseModel):
    tables: int
    slots: int
    per_party: int
    floor: float
    demands: list[str]
    offers: list[str]
    absent: list[str]
    removed: list[tuple[str, str]]
    meetings: list[MeetingModel] = []
    total: float = 0.0
    optimum: float = 0.0
    status: str = ""
    errors: list[str] = []
    editable: bool = False


class PlannerAction(BaseModel):
    action: Literal["lock", "unlock", "remove", "replan", "reset"]
    demand: str = ""
    offer: str = ""
    tables: int | None = Field(default=None, ge=1, le=500)
    slots: int | None = Field(default=None, ge=1, le=100)
    per_party: int | None = Field(default=None, ge=1, le=100)
    floor: float | None = None
    absent: list[str] | None = None


class _Matchmaking:
    """The matcher follows the app's one live engine (a new index or catalogue change
    rebuilds it); rendering and the token check are the app's shared ones."""

    def __init__(self, web: Web, services: Services) -> None:
        self.settings = web.settings
        self.web = web
        self.services = services
        self.gate = web.gate
        self.store = SessionStore(web.settings.data_dir)
        self.writing = threading.Lock()
        self._lock = threading.Lock()
        self._cached: tuple[object, Matcher] | None = None

    def matcher(self) -> Matcher:
        engine = self.services.engine()  # 503 while there is no usable index
        with self._lock:
            if self._cached is None or self._cached[0] is not engine:
                self._cached = (engine, load_matcher(self.settings.catalogue_path, engine))
            return self._cached[1]

    def render(self, request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        return self.web.render(request, name, context, status_code)

    def session(self) -> Session:
        try:
            return plan_for(self.matcher(), self.store.load())
        except PlanError as exc:
            return Session(self.store.load(), errors=[str(exc)])


def _record(rec: Any) -> RecordModel:
    return RecordModel.model_validate(rec.to_json())


def match_page(matcher: Matcher, record_id: str, limit: int) -> MatchPage:
    try:
        result = matcher.match(record_id, limit=limit)
    except MatchError as exc:
        raise HTTPException(404, f"{exc}: matches exist for offers and demands only") from exc
    out = result.to_json()
    return MatchPage(id=result.record.id, kind=result.record.kind, record=_record(result.record),
                     matches=[MatchModel.model_validate(m) for m in out["matches"]])  # type: ignore[attr-defined]


def records_page(matcher: Matcher, sector: str, kind: str) -> RecordsPage:
    every = sorted(matcher.records.values(), key=lambda r: (r.kind, r.sector, r.title))
    counts = {s: sum(s in r.sectors for r in every) for s in SECTORS}
    chosen = [r for r in every if (not sector or sector in r.sectors) and (not kind or r.kind == kind)]
    return RecordsPage(sector=sector, kind=kind, sectors={s: n for s, n in counts.items() if n},
                       records=[_record(r) for r in chosen])


def planner_page(session: Session, matcher: Matcher, editable: bool) -> PlannerPage:
    cfg, plan = session.config, session.plan
    meetings = []
    for m in plan.meetings:
        d, o = matcher.records.get(m.demand), matcher.records.get(m.offer)
        meetings.append(MeetingModel(demand=m.demand, offer=m.offer, slot=m.slot + 1, table=m.table + 1,
                                     score=round(m.score, 4), locked=m.locked, demand_title=d.title if d else "",
                                     offer_title=o.title if o else "", demand_lang=d.lang if d else "",
                                     offer_lang=o.lang if o else ""))
    return PlannerPage(tables=cfg.tables, slots=cfg.slots, per_party=cfg.per_party, floor=cfg.floor,
                       demands=list(cfg.demands) or matcher.ids("demand"), offers=list(cfg.offers) or matcher.ids("offer"),
                       absent=list(cfg.absent), removed=[(a, b) for a, b in cfg.removed], meetings=meetings,
                       total=round(plan.total, 4), optimum=round(plan.optimum, 4), status=plan.status,
                       errors=session.errors, editable=editable)


def apply_action(config: SessionConfig, current: Session, action: PlannerAction) -> SessionConfig:
    if action.action == "reset":
        return SessionConfig()
    if action.action == "replan":
        changes = {"tables": action.tables, "slots": action.slots, "per_party": action.per_party,
                   "floor": action.floor, "absent": tuple(action.absent) if action.absent is not None else None}
        return config.with_(**{k: v for k, v in changes.items() if v is not None})
    if not action.demand or not action.offer:
        raise HTTPException(422, f"{action.action} needs a demand and an offer")
    if action.action == "unlock":
        return config.unlock(action.demand, action.offer)
    if action.action == "remove":
        return config.remove(action.demand, action.offer)
    placed = next((m for m in current.plan.meetings if (m.demand, m.offer) == (action.demand, action.offer)), None)
    if placed is None:
        raise HTTPException(404, f"{action.demand} – {action.offer} is not a meeting of the current plan")
    return config.lock(action.demand, action.offer, placed.slot, placed.table)


def matching_router(web: Web, services: Services) -> APIRouter:
    """The matchmaking routes, over the app's shared renderer, token gate and engine."""
    router = APIRouter(tags=["matchmaking"])
    mm = _Matchmaking(web, services)
    _read_routes(router, mm)
    _planner_routes(router, mm)
    return router


def _read_routes(router: APIRouter, mm: _Matchmaking) -> None:
    @router.get("/match/{record_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def match_html(request: Request, record_id: str, limit: int = Query(10, ge=1, le=MAX_MATCHES)) -> Response:
        return mm.render(request, "match.html", {"page": match_page(mm.matcher(), record_id, limit)})

    @router.get("/api/match/{record_id:path}", response_model=MatchPage,
                summary="A demand's offers (or an offer's demands), best first, with why")
    def api_match(record_id: str, limit: int = Query(10, ge=1, le=MAX_MATCHES)) -> Any:
        return match_page(mm.matcher(), record_id, limit)

    @router.get("/matching", response_class=HTMLResponse, include_in_schema=False)
    def records_html(request: Request, sector: str = "", kind: str = Query("", pattern="^(|offer|demand)$")) -> Response:
        return mm.render(request, "matching_records.html", {"page": records_page(mm.matcher(), sector, kind)})

    @router.get("/api/matching", response_model=RecordsPage, summary="Offers and demands by sector")
    def api_records(sector: str = "", kind: str = Query("", pattern="^(|offer|demand)$")) -> Any:
        return records_page(mm.matcher(), sector, kind)


def _planner_routes(router: APIRouter, mm: _Matchmaking) -> None:
    def act(action: PlannerAction) -> PlannerPage:
        with mm.writing:
            current = mm.session()
            config = apply_action(current.config, current, action)
            mm.store.save(config)
            return planner_page(mm.session(), mm.matcher(), True)

    @router.get("/planner", response_class=HTMLResponse, include_in_schema=False)
    def planner_html(request: Request, msg: str = "") -> Response:
        page = planner_page(mm.session(), mm.matcher(), mm.gate.open)
        return mm.render(request, "planner.html", {"page": page, "message": msg[:200]})

    @router.get("/api/planner", response_model=PlannerPage, summary="The proposed session schedule")
    def api_planner() -> Any:
        return planner_page(mm.session(), mm.matcher(), mm.gate.open)

    @router.post("/api/planner", response_model=PlannerPage, summary="Lock, unlock or remove a meeting, or re-plan (token)",
                 dependencies=[Depends(mm.gate.header_check)])
    def api_planner_action(action: PlannerAction) -> Any:
        return act(action)

    @router.post("/planner", include_in_schema=False)
    def planner_form(action: str = Form(...), demand: str = Form(""), offer: str = Form(""), token: str = Form(""),
                     tables: int | None = Form(None), slots: int | None = Form(None),
                     per_party: int | None = Form(None), floor: float | None = Form(None),
                     absent: str | None = Form(None)) -> Response:
        mm.gate.authorize(token)
        absent_ids = [a.strip() for a in absent.replace("\n", ",").split(",") if a.strip()] if absent is not None else None
        try:
            act(PlannerAction.model_validate({"action": action, "demand": demand, "offer": offer, "tables": tables,
                                              "slots": slots, "per_party": per_party, "floor": floor,
                                              "absent": absent_ids}))
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return RedirectResponse(f"/planner?msg={action}", status_code=303)

    @router.get("/api/planner/agenda.{fmt}", summary="The agenda to print: csv, xlsx or html")
    def download_agenda(fmt: str) -> Response:
        session, records = mm.session(), mm.matcher().records
        if fmt == "csv":
            return _download(agenda_csv(session.plan, records).encode("utf-8"), "agenda.csv", "text/csv; charset=utf-8")
        if fmt == "xlsx":
            return _download(agenda_xlsx(session.plan, records), "agenda.xlsx",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        if fmt == "html":
            return _download(agenda_html(session.plan, records).encode("utf-8"), "agenda.html", "text/html; charset=utf-8")
        raise HTTPException(404, "the agenda comes as csv, xlsx or html")

    @router.get("/api/planner/briefs.html", summary="One printable bilingual brief per meeting")
    def download_briefs() -> Response:
        matcher = mm.matcher()
        return _download(briefs_html(mm.session().plan, matcher).encode("utf-8"), "briefs.html", "text/html; charset=utf-8")


def _download(data: bytes, name: str, media_type: str) -> Response:
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})
