"""Uploads and background jobs: `/upload` (editors: several files at once, dropped on the page
or chosen, with their type, language and visibility) and its API twin `POST /api/upload`
(multipart, answering the job's id); `/jobs` and `/jobs/ID` with `/api/jobs` and `/api/jobs/ID`
(state, progress, time left, each file's outcome and reason).

Who sends an upload is checked from its headers and cookies before a byte of the body is read
(401 anonymous, 403 without the editor role); the body is bounded by `upload_max_mb` (web/app.py
gives these two paths that limit), and a session's upload carries the form's CSRF token. The
files wait under the data directory for the job runner (viko/jobs.py, started with the app
here), which stores them as `viko add` would and brings the index up to date while search
keeps serving the live generation. A job's details are shown to its uploader, editors and
admins; each upload goes to the audit log. A running job's page reloads itself (a `Refresh`
header: no script needed).
"""

from __future__ import annotations

from typing import IO, Any

from fastapi import APIRouter, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from viko.corpus import jobs
from viko.corpus.access import Viewer
from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import CatalogueError
from viko.corpus.jobs import Job
from viko.jobs import JobRunner
from viko.runtime import open_catalogue
from viko.uploads import ACCEPTED, MAX_FILES, RECORD_KINDS, UploadError, check_options, stage
from viko.web.shared import Web, page_routes, wants_json

JOBS_SHOWN = 50
REFRESH_SECONDS = 2
UPLOAD_PATHS = ("/upload", "/api/upload")


def upload_limits(max_mb: int) -> dict[str, int]:
    """The body limit of the upload paths (web/app.py's BodyLimit `larger`)."""
    return {path: max(1, max_mb) * 2**20 for path in UPLOAD_PATHS}


class FileModel(BaseModel):
    name: str
    size: int = 0
    outcome: str = Field(description="queued, added, updated, unchanged, skipped or failed")
    reason: str = Field(default="", description="Why it was skipped or failed, or what it held")
    doc_id: str = ""


class JobModel(BaseModel):
    id: int
    kind: str = Field(description="upload, index, crawl or backup")
    state: str = Field(description="queued, running, done or failed")
    actor: str = ""
    created_at: str = ""
    started_at: str = ""
    finished_at: str = ""
    stage: str = Field(default="", description="What the progress counts: storing files, embedding, crawling...")
    done: int = 0
    total: int = 0
    percent: int = 0
    seconds_left: float | None = Field(default=None, description="Estimated from the stage's rate; null: not known")
    message: str = Field(default="", description="The outcome in words, or why it failed")
    files: list[FileModel] = Field(default=[], description="An upload's files, each with its outcome and reason")
    source: str = Field(default="", description="A crawl's watched source")
    counts: dict[str, int] = Field(default={}, description="A crawl's pages: new, changed, unchanged, failed...")


class JobsPage(BaseModel):
    jobs: list[JobModel] = []


class UploadAnswer(BaseModel):
    job: int = Field(description="The job's id: GET /api/jobs/ID follows it")
    url: str = ""


def job_model(job: Job) -> JobModel:
    detail = job.detail
    files = [FileModel(**{k: f.get(k, "") for k in ("name", "outcome", "reason", "doc_id")}, size=int(f.get("size", 0)))
             for f in detail.get("files", []) if isinstance(f, dict)]
    return JobModel(id=job.id, kind=job.kind, state=job.state, actor=job.actor, created_at=job.created_at,
                    started_at=job.started_at, finished_at=job.finished_at, stage=job.stage, done=job.done,
                    total=job.total, percent=job.percent, seconds_left=job.seconds_left, message=job.message,
                    files=files, source=str(detail.get("source", "")),
                    counts={k: int(v) for k, v in dict(detail.get("counts", {})).items()})


def sees_job(viewer: Viewer, job: Job) -> bool:
    """A job's details are its uploader's, the editors' and the admins'."""
    return viewer.may("edit") or viewer.may("admin") or (viewer.signed_in and job.actor == viewer.name)


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


MULTIPART_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": f"Up to {MAX_FILES} files: HTML, text, PDF, DOCX, HWP, HWPX; CSV, TSV, XLSX "
                                 "(offers or demands: set records); JSONL"},
        "type": {"type": "string", "description": "Document type of every file (empty: guessed)"},
        "lang": {"type": "string", "description": "vi, ko or other (empty: detected)"},
        "visibility": {"type": "string", "description": "public (default), internal or group:NAME"},
        "records": {"type": "string", "description": "offer or demand: what every row of a sheet is"},
        "source": {"type": "string", "description": "Publisher or origin recorded for every file"}}}}}}}


def upload_router(web: Web, app: FastAPI) -> APIRouter:
    """The upload and jobs pages; starts the app's job runner with it and stops it with it."""
    router = APIRouter(tags=["uploads and jobs"])
    auth, settings = web.auth, web.settings
    runner = JobRunner(settings)
    app.state.job_runner = runner
    app.router.add_event_handler("startup", runner.start)
    app.router.add_event_handler("shutdown", runner.stop)

    def form_page(request: Request, error: str = "", status: int = 200) -> Response:
        context = {"error": error, "max_mb": settings.upload_max_mb, "max_files": MAX_FILES,
                   "accept": ",".join(sorted(ACCEPTED)), "record_kinds": RECORD_KINDS}
        response = web.render(request, "upload.html", context, status)
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/upload", response_class=HTMLResponse, include_in_schema=False)
    def upload_form(request: Request) -> Response:
        auth.require(request, ("edit",))
        return form_page(request)

    async def upload(request: Request) -> Any:
        auth.require(request, ("edit",), check_csrf=False)  # headers and cookies only: the body is not read yet
        form = await request.form(max_files=MAX_FILES + 1, max_fields=20)
        viewer = auth.require(request, ("edit",), csrf=form_text(form, "csrf_token"))
        files: list[tuple[str, IO[bytes]]] = [(f.filename or "", f.file) for name in ("files", "file")
                                              for f in form.getlist(name)
                                              if isinstance(f, UploadFile) and (f.filename or f.size)]
        visibility = form_text(form, "visibility")
        if visibility == "group":
            visibility = "group:" + form_text(form, "group")
        try:
            options = check_options(form_text(form, "type"), form_text(form, "lang"), visibility,
                                    form_text(form, "records"), form_text(form, "source"))
            job_id = await run_in_threadpool(stage, settings, files, options, viewer.name)
        except UploadError as exc:
            if wants_json(request):
                raise HTTPException(400, str(exc)) from exc
            return form_page(request, str(exc), 400)
        runner.wake()
        if wants_json(request):
            return JSONResponse(UploadAnswer(job=job_id, url=f"/jobs/{job_id}").model_dump(), status_code=202)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    router.add_api_route("/upload", upload, methods=["POST"], include_in_schema=False)
    router.add_api_route("/api/upload", upload, methods=["POST"], status_code=202, response_model=UploadAnswer,
                         openapi_extra=MULTIPART_BODY,
                         summary="Upload files to store and index in the background (editors); answers the job id")
    _job_routes(router, web, runner)
    return router


def _job_routes(router: APIRouter, web: Web, runner: JobRunner) -> None:
    auth = web.auth

    def read_jobs(call: Any) -> Any:
        try:
            with auth.accounts() as cat:
                return call(cat)
        except CatalogueError:
            return None

    def job_list(request: Request, limit: int = Query(JOBS_SHOWN, ge=1, le=500)) -> Any:
        viewer = auth.require(request, ("read",))
        mine = None if viewer.may("edit") else viewer.name
        found = read_jobs(lambda cat: jobs.recent(cat, limit, mine)) or []
        page = JobsPage(jobs=[job_model(j) for j in found])
        refresh = any(j.active for j in found)
        answer = web.respond(request, "jobs.html", page, {"may_index": viewer.may("admin")})
        if refresh and not wants_json(request):
            answer.headers["Refresh"] = str(REFRESH_SECONDS * 2)
        return answer

    def job_page(request: Request, job_id: int) -> Any:
        viewer = auth.require(request, ("read",))
        job = read_jobs(lambda cat: jobs.get(cat, job_id))
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        if not sees_job(viewer, job):
            raise HTTPException(403, f"job {job_id}'s details are shown to its uploader, editors and admins")
        answer = web.respond(request, "job.html", job_model(job))
        if job.active and not wants_json(request):
            answer.headers["Refresh"] = str(REFRESH_SECONDS)
        return answer

    page_routes(router, "/jobs", "/api/jobs", job_list, JobsPage,
                "Recent jobs, newest first (editors see every job, others their own)")
    page_routes(router, "/jobs/{job_id}", "/api/jobs/{job_id}", job_page, JobModel,
                "One job: state, progress, time left, each file's outcome (its uploader, editors, admins)")

    def queue_index(viewer: Viewer) -> int:
        with open_catalogue(web.settings) as cat:
            job_id = jobs.enqueue(cat, "index", viewer.name, {})
            Accounts(cat).audit(viewer.name, "index", f"job {job_id}", "queued")
        runner.wake()
        return job_id

    @router.post("/api/jobs/index", status_code=202, response_model=UploadAnswer,
                 summary="Queue an index run (admins): the index brought up to date in the background")
    def api_index(request: Request) -> Any:
        job_id = queue_index(auth.require(request, ("admin",)))
        return UploadAnswer(job=job_id, url=f"/jobs/{job_id}")

    @router.post("/jobs/index", include_in_schema=False)
    def index_form(request: Request, csrf_token: str = Form("")) -> Response:
        job_id = queue_index(auth.require(request, ("admin",), csrf=csrf_token))
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)
