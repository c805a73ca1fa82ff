"""The admin page, `/admin` as HTML and `/api/admin/overview` as JSON (admins only): the
live index generation and its age, the documents per language, type and visibility, the jobs
running and queued, the watched sources due and failing, the users (names, roles, groups;
never a password hash, which the accounts' records do not even carry) and the newest entries
of the audit log. Everything is read when asked, from the app's catalogue reader and the
index's manifest: nothing here is kept up to date in between.
Its "Take a backup" form (`POST /admin/backup`) and `POST /api/backup` queue a backup job
(viko/jobs.py's run_backup, into backup_dir), audited.
"""

from __future__ import annotations

import time
from calendar import timegm
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from viko.corpus import jobs, sources
from viko.corpus.access import Viewer
from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import Catalogue
from viko.runtime import open_catalogue
from viko.status import collect_status
from viko.web.account import AuditEntryModel
from viko.web.services import Services
from viko.web.shared import Web, page_routes
from viko.web.sources import RunModel, run_model
from viko.web.upload import JobModel, UploadAnswer, job_model

AUDIT_SHOWN = 20


class IndexModel(BaseModel):
    generation: str
    created: str
    age_seconds: int = Field(description="Seconds since the generation was built")
    model: str = ""
    documents: int = 0
    chunks: int = 0
    pending: int = Field(default=0, description="Documents stored but not (or not in this form) in the index")


class SourceDueModel(BaseModel):
    id: int
    name: str
    schedule: str
    next_due_at: str
    last_run_at: str = ""


class SourceFailingModel(SourceDueModel):
    last_run: RunModel


class UserModel(BaseModel):
    name: str
    role: str
    groups: list[str] = []
    created_at: str = ""


class AdminOverview(BaseModel):
    index: IndexModel | None = Field(default=None, description="null: no usable index yet")
    documents: int = 0
    by_lang: dict[str, int] = {}
    by_type: dict[str, int] = {}
    by_visibility: dict[str, int] = {}
    jobs: dict[str, int] = Field(default={}, description="Jobs by state")
    active_jobs: list[JobModel] = Field(default=[], description="Running and queued, in the order they run")
    sources_due: list[SourceDueModel] = []
    sources_failing: list[SourceFailingModel] = Field(default=[], description="Last run failed or had failed pages")
    users: list[UserModel] = []
    audit: list[AuditEntryModel] = Field(default=[], description=f"The newest {AUDIT_SHOWN} entries; /audit has all")


def document_counts(cat: Catalogue) -> dict[str, dict[str, int]]:
    """Documents per language, type and visibility: one GROUP BY over the documents (indexed
    on lang, type and visibility), whatever their number."""
    out: dict[str, dict[str, int]] = {"lang": {}, "type": {}, "visibility": {}}
    rows = cat.conn.execute("SELECT lang, type, visibility, COUNT(*) FROM documents GROUP BY lang, type, visibility")
    for lang, kind, visibility, n in rows:
        for facet, value in (("lang", lang or "other"), ("type", kind or "unknown"), ("visibility", visibility)):
            out[facet][value] = out[facet].get(value, 0) + int(n)
    return out


def index_model(facts: dict[str, Any] | None) -> IndexModel | None:
    if not facts:
        return None
    try:
        built = timegm(time.strptime(str(facts["created"]), "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        built = int(time.time())
    return IndexModel(generation=str(facts["generation"]), created=str(facts["created"]),
                      age_seconds=max(0, int(time.time() - built)), model=str(facts.get("model", "")),
                      documents=int(facts.get("documents", 0)), chunks=int(facts.get("chunks", 0)),
                      pending=int(facts.get("pending", 0)))


def overview(web: Web, services: Services) -> AdminOverview:
    index = index_model(collect_status(web.settings).get("index"))
    with services.reader.read() as cat:
        counts = document_counts(cat)
        accounts = Accounts(cat)
        page = AdminOverview(
            index=index, documents=sum(counts["lang"].values()), by_lang=counts["lang"], by_type=counts["type"],
            by_visibility=counts["visibility"], jobs=jobs.counts(cat),
            active_jobs=[job_model(j) for j in jobs.running_or_queued(cat)],
            sources_due=[SourceDueModel(id=s.id, name=s.name, schedule=s.schedule, next_due_at=s.next_due_at,
                                        last_run_at=s.last_run_at) for s in sources.due(cat)],
            sources_failing=[SourceFailingModel(id=s.id, name=s.name, schedule=s.schedule, next_due_at=s.next_due_at,
                                                last_run_at=s.last_run_at, last_run=run_model(run))
                             for s, run in sources.failing(cat)],
            users=[UserModel(name=u.name, role=u.role, groups=list(u.groups), created_at=u.created_at)
                   for u in accounts.users()],
            audit=[AuditEntryModel(**vars(e)) for e in accounts.audit_log(AUDIT_SHOWN)])
    return page


def admin_page_router(web: Web, services: Services) -> APIRouter:
    router = APIRouter(tags=["admin (signed in or token)"])

    def admin(request: Request) -> Any:
        web.auth.require(request, ("admin",))
        return web.respond(request, "admin.html", overview(web, services))

    page_routes(router, "/admin", "/api/admin/overview", admin, AdminOverview,
                "Index, documents, jobs, sources, users and the audit log at a glance (admins)")

    def queue_backup(request: Request, viewer: Viewer) -> int:
        """A backup job (viko/jobs.py's run_backup: into backup_dir), audited; the runner woken."""
        with open_catalogue(web.settings) as cat:
            job_id = jobs.enqueue(cat, "backup", viewer.name, {})
            Accounts(cat).audit(viewer.name, "backup", f"job {job_id}", "queued")
        runner = getattr(request.app.state, "job_runner", None)
        if runner is not None:
            runner.wake()
        return job_id

    @router.post("/api/backup", status_code=202, response_model=UploadAnswer,
                 summary="Take a backup of the data directory in the background, into backup_dir (admins)")
    def api_backup(request: Request) -> Any:
        job_id = queue_backup(request, web.auth.require(request, ("admin",)))
        return UploadAnswer(job=job_id, url=f"/jobs/{job_id}")

    @router.post("/admin/backup", include_in_schema=False)
    def backup_form(request: Request, csrf_token: str = Form("")) -> Response:
        job_id = queue_backup(request, web.auth.require(request, ("admin",), csrf=csrf_token))
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)
    return router
