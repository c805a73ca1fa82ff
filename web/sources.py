"""Watched sources: `/sources` (editors register a site with its seeds, scope, type,
visibility and schedule) and `/sources/ID` (edit, remove, run now, and its history: pages new,
changed, unchanged, failed, with reasons), with the JSON twins `/api/sources` and
`/api/sources/ID` and `POST`/`PUT`/`DELETE` on them. The crawls themselves are jobs
(viko/jobs.py): the app's runner queues them when due, runs them politely and incrementally
(corpus/sources.py over the crawler) and brings the index up to date. Each change is audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from viko.corpus import sources
from viko.corpus.access import Viewer
from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import Catalogue
from viko.corpus.document import TYPES
from viko.corpus.sources import SCHEDULES, Source, SourceError, SourceRun, check_source
from viko.runtime import open_catalogue
from viko.web.shared import TokenFirstRoute, Web, page_routes

HISTORY_SHOWN = 30


class SourceInput(BaseModel):
    name: str = Field(max_length=100)
    seeds: list[str] = Field(max_length=sources.MAX_SEEDS, description="Seed URLs (http or https)")
    same_host: bool = Field(default=True, description="Stay on the seeds' hosts")
    include: str = Field(default="", max_length=sources.MAX_PATTERN_CHARS, description="Only URLs matching this regex")
    exclude: str = Field(default="", max_length=sources.MAX_PATTERN_CHARS, description="Skip URLs matching this regex")
    type: str = Field(default="", description=f"Type of every document: {', '.join(TYPES)}; empty: guessed per page")
    visibility: str = Field(default="public", description="public, internal or group:NAME")
    schedule: str = Field(default="daily", description="hourly, daily or weekly")
    max_pages: int = Field(default=1000, ge=1, le=sources.MAX_PAGES, description="Pages fetched per run")
    max_depth: int = Field(default=5, ge=0, le=sources.MAX_DEPTH, description="Links away from a seed")


class FailureModel(BaseModel):
    url: str
    outcome: str = Field(default="failed", description="failed or skipped")
    status: int | None = None
    reason: str = ""


class RunModel(BaseModel):
    id: int
    job_id: int | None = None
    state: str = Field(description="running, done or failed")
    started_at: str
    finished_at: str = ""
    fetched: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = Field(default=0, description="Fetched and the same, or answered 304 Not Modified")
    not_modified: int = Field(default=0, description="Of the unchanged, those answered 304 (ETag, Last-Modified)")
    failed: int = 0
    skipped: int = 0
    failures: list[FailureModel] = Field(default=[], description="Pages that failed or were skipped, with reasons")
    message: str = ""


class SourceModel(SourceInput):
    id: int
    last_run_at: str = ""
    next_due_at: str = ""
    created_by: str = ""
    last_run: RunModel | None = None


class SourcesPage(BaseModel):
    sources: list[SourceModel] = []


class SourceDetail(BaseModel):
    source: SourceModel
    runs: list[RunModel] = []


def run_model(run: SourceRun) -> RunModel:
    fields = {k: v for k, v in vars(run).items() if k != "failures"}
    return RunModel(**fields, failures=[FailureModel(**f) for f in run.failures])


def source_model(cat: Catalogue, source: Source) -> SourceModel:
    last = sources.history(cat, source.id, 1)
    return SourceModel(**{**vars(source), "seeds": list(source.seeds)},
                       last_run=run_model(last[0]) if last else None)


def from_form(form: FormData) -> Source:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def number(name: str, default: int) -> int:
        try:
            return int(text(name) or default)
        except ValueError as exc:
            raise SourceError(f"{name.replace('_', ' ')} must be a whole number") from exc

    return check_source(text("name"), text("seeds"), same_host=bool(text("same_host")), include=text("include"),
                        exclude=text("exclude"), type=text("type"), visibility=text("visibility") or "public",
                        schedule=text("schedule") or "daily", max_pages=number("max_pages", 1000),
                        max_depth=number("max_depth", 5))


class SourceDesk:
    """Changes to sources, one at a time (the app's writing lock), each audited; a source
    added or run wakes the app's job runner."""

    def __init__(self, web: Web, app: FastAPI) -> None:
        self.settings, self.writing, self.app = web.settings, web.writing, app

    def change(self, viewer: Viewer, action: str, source_id: int = 0, source: Source | None = None) -> int:
        """Adds, updates, removes or runs a source; the source's id, or the job's for a run."""
        with self.writing, open_catalogue(self.settings) as cat:
            try:
                if action == "add" and source is not None:
                    result = sources.add(cat, source, viewer.name).id
                elif action == "update" and source is not None:
                    result = source_id if sources.update(cat, source_id, source) else 0
                elif action == "remove":
                    result = source_id if sources.remove(cat, source_id) else 0
                else:
                    found = sources.get(cat, source_id)
                    result = sources.queue_crawl(cat, found, viewer.name) if found else 0
            except SourceError as exc:
                raise HTTPException(400, str(exc)) from exc
            if not result:
                raise HTTPException(404, f"no source {source_id}")
            what = source.name if source is not None else str(source_id)
            Accounts(cat).audit(viewer.name, f"source {action}", what, f"job {result}" if action == "run" else "")
        runner = getattr(self.app.state, "job_runner", None)
        if action in ("add", "run") and runner is not None:
            runner.wake()
        return result

    def model(self, source_id: int) -> SourceModel:
        with open_catalogue(self.settings) as cat:
            source = sources.get(cat, source_id)
            if source is None:
                raise HTTPException(404, f"no source {source_id}")
            return source_model(cat, source)


def sources_router(web: Web, app: FastAPI) -> APIRouter:
    router = APIRouter(route_class=TokenFirstRoute, tags=["watched sources"])
    auth, settings, desk = web.auth, web.settings, SourceDesk(web, app)
    choices = {"types": TYPES, "schedules": tuple(SCHEDULES)}

    def listing(request: Request) -> Any:
        auth.require(request, ("edit",))
        with open_catalogue(settings) as cat:
            page = SourcesPage(sources=[source_model(cat, s) for s in sources.all_sources(cat)])
        return web.respond(request, "sources.html", page, choices)

    def detail(request: Request, source_id: int) -> Any:
        auth.require(request, ("edit",))
        page = SourceDetail(source=desk.model(source_id))
        with open_catalogue(settings) as cat:
            page.runs = [run_model(r) for r in sources.history(cat, source_id, HISTORY_SHOWN)]
        return web.respond(request, "source.html", page, choices)

    page_routes(router, "/sources", "/api/sources", listing, SourcesPage, "Watched sources (editors)")
    page_routes(router, "/sources/{source_id}", "/api/sources/{source_id}", detail, SourceDetail,
                "A watched source and its crawls' history (editors)")
    _api_routes(router, web, desk)
    _form_routes(router, web, desk.change)
    return router


def _api_routes(router: APIRouter, web: Web, desk: SourceDesk) -> None:
    auth, editors = web.auth, web.needs("edit")

    def checked(body: SourceInput) -> Source:
        try:
            return check_source(**body.model_dump())
        except SourceError as exc:
            raise HTTPException(400, str(exc)) from exc

    @router.post("/api/sources", status_code=201, response_model=SourceModel, dependencies=[Depends(editors)],
                 summary="Register a watched source (editors); its first crawl is due at once")
    def api_add(request: Request, body: SourceInput) -> Any:
        return desk.model(desk.change(auth.viewer(request), "add", source=checked(body)))

    @router.put("/api/sources/{source_id}", response_model=SourceModel, dependencies=[Depends(editors)],
                summary="Change a watched source (editors)")
    def api_update(request: Request, source_id: int, body: SourceInput) -> Any:
        return desk.model(desk.change(auth.viewer(request), "update", source_id, checked(body)))

    @router.delete("/api/sources/{source_id}", dependencies=[Depends(editors)],
                   summary="Forget a watched source and its history (editors; its documents stay)")
    def api_remove(request: Request, source_id: int) -> dict[str, int]:
        return {"removed": desk.change(auth.viewer(request), "remove", source_id)}

    @router.post("/api/sources/{source_id}/run", status_code=202, dependencies=[Depends(editors)],
                 summary="Queue a crawl of the source now (editors); answers the job id")
    def api_run(request: Request, source_id: int) -> dict[str, Any]:
        job_id = desk.change(auth.viewer(request), "run", source_id)
        return {"job": job_id, "url": f"/jobs/{job_id}"}


def _form_routes(router: APIRouter, web: Web, change: Any) -> None:
    """The pages' forms: add, and save, run or remove a source (CSRF-checked, then redirected)."""

    async def form_of(request: Request) -> tuple[Viewer, FormData]:
        web.auth.require(request, ("edit",), check_csrf=False)
        form = await request.form(max_files=0, max_fields=20)
        csrf = form.get("csrf_token")
        return web.auth.require(request, ("edit",), csrf=csrf if isinstance(csrf, str) else ""), form

    @router.post("/sources", include_in_schema=False)
    async def add_form(request: Request) -> Response:
        viewer, form = await form_of(request)
        try:
            source = from_form(form)
        except SourceError as exc:
            raise HTTPException(400, str(exc)) from exc
        source_id = await run_in_threadpool(change, viewer, "add", source=source)
        return RedirectResponse(f"/sources/{source_id}", status_code=303)

    @router.post("/sources/{source_id}", include_in_schema=False)
    async def edit_form(request: Request, source_id: int) -> Response:
        viewer, form = await form_of(request)
        action = form.get("action")
        if action == "remove":
            await run_in_threadpool(change, viewer, "remove", source_id)
            return RedirectResponse("/sources", status_code=303)
        if action == "run":
            job_id = await run_in_threadpool(change, viewer, "run", source_id)
            return RedirectResponse(f"/jobs/{job_id}", status_code=303)
        try:
            source = from_form(form)
        except SourceError as exc:
            raise HTTPException(400, str(exc)) from exc
        await run_in_threadpool(change, viewer, "update", source_id, source)
        return RedirectResponse(f"/sources/{source_id}", status_code=303)
