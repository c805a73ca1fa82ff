"""The session planner, `/planner` as HTML and `/api/planner` as JSON (one handler serves
both): the proposed schedule by slot and table. Changes (lock, remove, re-plan with other
settings) need the operator's token: `Authorization: Bearer` for the API, a form field for
the page, as for the glossary; both parse into one `PlannerAction`. Downloads: the agenda
(csv, xlsx, html) and the meeting briefs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from viko.corpus.access import Viewer
from viko.corpus.accounts import Accounts
from viko.matching.agenda import Day, agenda_csv, day_of
from viko.matching.agenda_xlsx import agenda_xlsx
from viko.matching.clock import DEFAULT_SLOT_MINUTES, DEFAULT_START, ClockError, format_breaks, parse_breaks
from viko.matching.match import Matcher
from viko.matching.parties import Party
from viko.matching.plan import PlanError
from viko.matching.printout import agenda_html, briefs_html
from viko.matching.session import Session, SessionConfig, SessionStore, plan_for
from viko.runtime import open_catalogue
from viko.web.auth import Auth, Needs
from viko.web.services import Services
from viko.web.shared import TokenFirstRoute, Web, page_routes

MAX_MESSAGE = 200


class VersionModel(BaseModel):
    id: str
    lang: str
    title: str


class MeetingModel(BaseModel):
    demand: str
    offer: str
    slot: int = Field(description="1-based")
    table: int = Field(description="1-based")
    score: float
    locked: bool
    time: str = Field(default="", description="The slot's clock time, HH:MM–HH:MM")
    demand_organisation: str = ""
    offer_organisation: str = ""
    demand_titles: list[VersionModel] = Field(default=[], description="The demand party's versions, vi first")
    offer_titles: list[VersionModel] = Field(default=[], description="The offer party's versions, vi first")


class PlannerPage(BaseModel):
    tables: int
    slots: int
    per_party: int
    floor: float
    demands: list[str]
    offers: list[str]
    absent: list[str]
    removed: list[tuple[str, str]]
    start: str = DEFAULT_START
    slot_minutes: int = DEFAULT_SLOT_MINUTES
    breaks: str = Field(default="", description="Breaks as SLOT:MINUTES, comma-separated")
    slot_times: list[str] = Field(default=[], description="Clock time of every slot")
    meetings: list[MeetingModel] = []
    total: float = 0.0
    optimum: float = 0.0
    status: str = ""
    errors: list[str] = []
    editable: bool = False
    message: str = Field(default="", description="A notice to show: the page's last form action")


class PlannerAction(BaseModel):
    action: Literal["lock", "unlock", "remove", "replan", "reset"]
    demand: str = ""
    offer: str = ""
    tables: int | None = Field(default=None, ge=1, le=500)
    slots: int | None = Field(default=None, ge=1, le=100)
    per_party: int | None = Field(default=None, ge=1, le=100)
    floor: float | None = None
    absent: list[str] | None = None
    start: str | None = Field(default=None, pattern=r"^\s*\d{1,2}[:h.]\d{2}\s*$")
    slot_minutes: int | None = Field(default=None, ge=1, le=600)
    breaks: str | None = Field(default=None, max_length=400, description="SLOT:MINUTES, comma-separated")


@dataclass(frozen=True)
class PlannerParams:
    msg: str = ""


def planner_params(msg: str = Query("", description="A notice to show (set by the page's form)")) -> PlannerParams:
    return PlannerParams(msg[:MAX_MESSAGE])


PlannerQuery = Annotated[PlannerParams, Depends(planner_params)]


def _versions(party: Party | None) -> list[VersionModel]:
    return [VersionModel(id=m.id, lang=m.lang, title=m.title) for m in party.members] if party else []


def planner_page(session: Session, matcher: Matcher, editable: bool, message: str = "") -> PlannerPage:
    cfg, plan, clock = session.config, session.plan, session.config.clock
    times = [f"{a}–{b}" for a, b in clock.times(cfg.slots)]
    meetings = []
    for m in plan.meetings:
        d, o = matcher.parties.get(m.demand), matcher.parties.get(m.offer)
        meetings.append(MeetingModel(demand=m.demand, offer=m.offer, slot=m.slot + 1, table=m.table + 1,
                                     score=round(m.score, 4), locked=m.locked, time=times[m.slot],
                                     demand_organisation=d.organisation if d else "",
                                     offer_organisation=o.organisation if o else "",
                                     demand_titles=_versions(d), offer_titles=_versions(o)))
    return PlannerPage(tables=cfg.tables, slots=cfg.slots, per_party=cfg.per_party, floor=cfg.floor,
                       demands=list(cfg.demands) or matcher.party_ids("demand"),
                       offers=list(cfg.offers) or matcher.party_ids("offer"),
                       absent=list(cfg.absent), removed=[(a, b) for a, b in cfg.removed], start=cfg.start,
                       slot_minutes=cfg.slot_minutes, breaks=format_breaks(cfg.breaks), slot_times=times,
                       meetings=meetings, total=round(plan.total, 4), optimum=round(plan.optimum, 4),
                       status=plan.status, errors=session.errors, editable=editable, message=message)


def apply_action(config: SessionConfig, current: Session, action: PlannerAction) -> SessionConfig:
    """The session's settings after an action; meetings are named by party id (that of any
    version of the party is accepted by the caller, see Planner.act)."""
    if action.action == "reset":
        return SessionConfig()
    if action.action == "replan":
        changes: dict[str, object] = {"tables": action.tables, "slots": action.slots, "per_party": action.per_party,
                   "floor": action.floor, "absent": tuple(action.absent) if action.absent is not None else None,
                   "start": action.start.strip() if action.start else None, "slot_minutes": action.slot_minutes}
        try:
            changes["breaks"] = parse_breaks(action.breaks) if action.breaks is not None else None
            changed = config.with_(**{k: v for k, v in changes.items() if v is not None})
            changed.clock.check()
        except ClockError as exc:
            raise HTTPException(422, str(exc)) from exc
        return changed
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


def form_action(action: str, demand: str, offer: str, tables: int | None, slots: int | None, per_party: int | None,
                floor: float | None, absent: str | None, clock: tuple[str | None, int | None, str | None] = (None, None, None),
                ) -> PlannerAction:
    """The page's form as the API's PlannerAction (absent: ids separated by commas or lines;
    clock: start, slot minutes, breaks)."""
    absent_ids = [a.strip() for a in absent.replace("\n", ",").split(",") if a.strip()] if absent is not None else None
    start, slot_minutes, breaks = clock
    return PlannerAction.model_validate({"action": action, "demand": demand, "offer": offer, "tables": tables,
                                         "slots": slots, "per_party": per_party, "floor": floor, "absent": absent_ids,
                                         "start": start or None, "slot_minutes": slot_minutes, "breaks": breaks})


class Planner:
    """The session's decisions on disk (one writer at a time) over the live engine's matcher.

    Solving is the expensive part (an integer program), and every view of the planner, its
    JSON and its downloads need the plan: it is solved once per state and kept, the state
    being the session's decisions as the file holds them now (re-read on every request, so
    `viko plan-session` edits count) and the index generation (the matcher's records and
    scores come from it; the engine over it is rebuilt whenever the catalogue file changes)."""

    def __init__(self, web: Web, services: Services) -> None:
        self.services = services
        self.store = SessionStore(web.settings.data_dir)
        self.writing = threading.Lock()
        self._solving = threading.Lock()  # concurrent views of one new state solve it once
        # per audience: an organiser plans over the offers and demands they may see
        self._solved: dict[str, tuple[object, SessionConfig, Session]] = {}

    def session(self, viewer: Viewer) -> Session:
        index, matcher, config = self.services.engine(viewer).index, self.services.matcher(viewer), self.store.load()
        with self._solving:
            solved = self._solved.get(viewer.audience)
            if solved is not None and solved[0] is index and solved[1] == config:
                return solved[2]
            try:
                session = plan_for(matcher, config)
            except PlanError as exc:
                session = Session(config, errors=[str(exc)])
            self._solved[viewer.audience] = (index, config, session)
            return session

    def act(self, action: PlannerAction, viewer: Viewer) -> PlannerPage:
        parties = self.services.matcher(viewer).parties
        action = action.model_copy(update={name: getattr(parties.of(getattr(action, name)), "id", getattr(action, name))
                                           for name in ("demand", "offer")})
        with self.writing:
            current = self.session(viewer)
            self.store.save(apply_action(current.config, current, action))
            with open_catalogue(self.services.settings) as cat:
                Accounts(cat).audit(viewer.name, "planner " + action.action,
                                    " / ".join(x for x in (action.demand, action.offer) if x))
            return planner_page(self.session(viewer), self.services.matcher(viewer), True)

    def day(self, viewer: Viewer) -> Day:
        session = self.session(viewer)
        return day_of(session.plan, self.services.matcher(viewer), session.config.clock, session.config.slots)


def planner_router(web: Web, services: Services) -> APIRouter:
    router = APIRouter(route_class=TokenFirstRoute, tags=["matchmaking"])
    planner, auth = Planner(web, services), web.auth
    organisers = web.needs("organise")

    def planner_view(request: Request, params: PlannerQuery) -> Any:
        viewer = auth.require(request, ("organise",))  # organisers plan the session
        page = planner_page(planner.session(viewer), services.matcher(viewer), True, params.msg)
        return web.respond(request, "planner.html", page)

    page_routes(router, "/planner", "/api/planner", planner_view, PlannerPage, "The proposed session schedule")

    @router.post("/api/planner", response_model=PlannerPage, summary="Lock, unlock or remove a meeting, or re-plan (organisers)",
                 dependencies=[Depends(organisers)])
    def api_planner_action(request: Request, action: PlannerAction) -> Any:
        return planner.act(action, auth.viewer(request))

    @router.post("/planner", include_in_schema=False)
    def planner_form(request: Request, token: str = Form(""), csrf_token: str = Form(""), action: str = Form(...),
                     demand: str = Form(""),
                     offer: str = Form(""),
                     tables: int | None = Form(None), slots: int | None = Form(None),
                     per_party: int | None = Form(None), floor: float | None = Form(None),
                     absent: str | None = Form(None), start: str | None = Form(None),
                     slot_minutes: int | None = Form(None), breaks: str | None = Form(None)) -> Response:
        viewer = auth.require(request, ("organise",), token=token, csrf=csrf_token)  # before the fields are validated
        try:
            planner.act(form_action(action, demand, offer, tables, slots, per_party, floor, absent,
                                    (start, slot_minutes, breaks)), viewer)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return RedirectResponse(f"/planner?msg={action}", status_code=303)

    _download_routes(router, planner, organisers, auth)
    return router


def _download_routes(router: APIRouter, planner: Planner, organisers: Needs, auth: Auth) -> None:
    @router.get("/api/planner/agenda.{fmt}", summary="The agenda to print: csv, xlsx or html", response_class=Response,
                responses={200: {"description": "The agenda file", "content": {
                    "text/csv": {"schema": {"type": "string"}}, "text/html": {"schema": {"type": "string"}},
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                        "schema": {"type": "string", "format": "binary"}}}}}, dependencies=[Depends(organisers)])
    def download_agenda(request: Request, fmt: str) -> Response:
        day = planner.day(auth.viewer(request))
        if fmt == "csv":
            return _download(agenda_csv(day).encode("utf-8"), "agenda.csv", "text/csv; charset=utf-8")
        if fmt == "xlsx":
            return _download(agenda_xlsx(day), "agenda.xlsx",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        if fmt == "html":
            return _download(agenda_html(day).encode("utf-8"), "agenda.html", "text/html; charset=utf-8")
        raise HTTPException(404, "the agenda comes as csv, xlsx or html")

    @router.get("/api/planner/briefs.html", summary="One printable bilingual brief per meeting", response_class=Response,
                responses={200: {"description": "The briefs", "content": {"text/html": {"schema": {"type": "string"}}}}},
                dependencies=[Depends(organisers)])
    def download_briefs(request: Request) -> Response:
        viewer = auth.viewer(request)
        return _download(briefs_html(planner.day(viewer), planner.services.matcher(viewer)).encode("utf-8"), "briefs.html",
                         "text/html; charset=utf-8")


def _download(data: bytes, name: str, media_type: str) -> Response:
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})
