"""The records import page, `/matching/import`, and its API twin `POST /api/matching/import`:
organisers upload the registration sheet they keep (CSV, TSV, XLSX or JSONL) as offers or
demands and see, before anything is stored, how its columns are read (each column → a record
field, kept as extra, or ignored), the records it holds (the first PREVIEW_ROWS, each marked
new or already stored) and the rows it rejects with their reasons; then they import it. The
file is read by the functions `viko import-records` uses (matching/spreadsheet.py).

Both need the operator's token. The API takes it from the headers before the body is read
(TokenFirstRoute); the page's form carries it in the body, so the page refuses a server
without a token (403) and a throttled address (429) before reading the body, and checks the
token before the file is looked at. Between the page's preview and its import the upload is
kept under the data directory (`matching/uploads/KEY/NAME`, KEY random) for STAGE_SECONDS,
and removed by the import. An XLSX file's parts must fit the extraction budget before
openpyxl opens it. The body may be MAX_UPLOAD_BYTES on these two paths (web/app.py).
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from viko.corpus.accounts import Accounts
from viko.corpus.document import Document
from viko.corpus.formats import ExtractionError
from viko.corpus.formats.budget import Meter
from viko.corpus.importer import ImportReport
from viko.matching.records import KINDS, record_from_document
from viko.matching.spreadsheet import (
    DOCUMENT_COLUMNS,
    FIELD_COLUMNS,
    IGNORED_COLUMNS,
    SpreadsheetError,
    column_mapping,
    read_records,
)
from viko.runtime import open_catalogue
from viko.settings import Settings
from viko.web.auth import Auth
from viko.web.limits import client_address
from viko.web.shared import TokenFirstRoute, Web

MAX_UPLOAD_BYTES = 20 * 2**20
PREVIEW_ROWS = 50
STAGE_SECONDS = 3600
MAX_STAGED = 20
SUFFIXES = (".csv", ".tsv", ".xlsx", ".jsonl")
TEMPLATE = "matching_import.html"
_KEY = re.compile(r"[0-9a-f]{32}")
_UNSAFE = re.compile(r"[^\w.\- ]+")


class ColumnModel(BaseModel):
    column: str = Field(description="The column's name as the sheet writes it")
    field: str = Field(description="The record field it fills; for an extra column, the name it is kept under")
    use: Literal["field", "extra", "ignored"] = Field(
        description="field: a record field; extra: kept in the record's metadata; ignored: not stored")


class RowModel(BaseModel):
    row: int = Field(description="The row number in the sheet (0 for a JSONL file)")
    id: str
    lang: str
    title: str
    organisation: str = ""
    sectors: list[str] = Field(default=[], description="As matching will see them (inferred when not given)")
    region: str = ""
    contact: str = ""
    group: str = ""
    exists: bool = Field(default=False, description="A record with this id is stored already: updated if it changed")


class RejectedModel(BaseModel):
    row: int = Field(description="The row (or JSONL line) number; 0 for the whole file")
    error: str


class ImportPage(BaseModel):
    kind: str = ""
    file: str = Field(default="", description="The uploaded file's name")
    dry_run: bool = True
    header_row: int = Field(default=0, description="The row holding the column names (0 for JSONL)")
    columns: list[ColumnModel] = []
    text_from_columns: bool = Field(default=False, description="No text column: each record's text is its title "
                                                                "and the other columns as 'Label: value' lines")
    records: int = Field(default=0, description="Records the file holds, to be (or that were) stored")
    new: int = Field(default=0, description="Of those, the ones not stored before")
    rows: list[RowModel] = Field(default=[], description=f"The first {PREVIEW_ROWS} records")
    rejected: list[RejectedModel] = []
    stored: bool = False
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    summary: str = ""


class BadFile(ValueError):
    """An upload that cannot be imported at all (the reason is the answer's 400)."""


@dataclass(frozen=True)
class Outcome:
    page: ImportPage
    error: str = ""
    staged: str = ""  # the key of the kept upload, for the page's import button


def safe_name(filename: str) -> str:
    """The upload's file name without folders or odd characters; BadFile for another type."""
    name = _UNSAFE.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")[-120:]
    if Path(name).suffix.lower() not in SUFFIXES:
        raise BadFile(f"{name or 'the file'}: use a .csv, .tsv, .xlsx or .jsonl file")
    return name


def columns_of(mapping: list[tuple[str, str]]) -> list[ColumnModel]:
    """How each column is used: a record field, kept as extra metadata, or ignored (a reserved
    name, or a field that a later column fills again: the later one wins)."""
    last = {name: i for i, (_shown, name) in enumerate(mapping)}
    known = set(DOCUMENT_COLUMNS) | set(FIELD_COLUMNS)
    out = []
    for i, (shown, name) in enumerate(mapping):
        use = "ignored" if last[name] != i or name in IGNORED_COLUMNS else "field" if name in known else "extra"
        out.append(ColumnModel(column=shown, field=name, use=use))  # type: ignore[arg-type]
    return out


def check_file(path: Path, name: str, settings: Settings) -> None:
    if path.stat().st_size == 0:
        raise BadFile(f"{name} is empty")
    if path.suffix.lower() == ".xlsx":
        try:
            with zipfile.ZipFile(path) as book:
                Meter(settings.extract_budget).check_zip(book)
        except zipfile.BadZipFile as exc:
            raise BadFile(f"{name} is not an XLSX workbook: save it as .xlsx, or as 'CSV UTF-8'") from exc
        except ExtractionError as exc:
            raise BadFile(f"{name} {exc}") from exc


def read_upload(path: Path, name: str, kind: str, settings: Settings) -> tuple[ImportPage, list[Document]]:
    """What the file would import, storing nothing: the page's model and the records."""
    def named(message: str) -> str:  # the server's folders stay out of the answer
        return message.replace(str(path), name)

    check_file(path, name, settings)
    header_row, columns = 0, []
    if path.suffix.lower() != ".jsonl":
        try:
            header_row, mapping = column_mapping(path)
        except SpreadsheetError as exc:
            raise BadFile(named(str(exc))) from exc
        columns = columns_of(mapping)
    records, report = read_records(path, kind)
    rejected = [RejectedModel(row=n, error=named(message)) for n, message in report.errors]
    stored: set[str] = set()
    if settings.catalogue_path.exists():
        with open_catalogue(settings, readonly=True) as cat:
            stored = set(cat.hashes())
    rows = []
    for number, doc in list(records.values())[:PREVIEW_ROWS]:
        rec = record_from_document(doc)
        rows.append(RowModel(row=number, id=doc.id, lang=doc.lang, title=doc.title, organisation=rec.organisation,
                             sectors=list(rec.sectors), region=rec.region, contact=rec.contact, group=rec.group,
                             exists=doc.id in stored))
    page = ImportPage(kind=kind, file=name, header_row=header_row, columns=columns,
                      text_from_columns=bool(columns) and "text" not in {c.field for c in columns},
                      records=len(records), new=sum(i not in stored for i in records), rows=rows, rejected=rejected)
    return page, [doc for _number, doc in records.values()]


def refusal(page: ImportPage) -> str:
    """Why nothing of the file can be imported ('' when something can)."""
    if whole := [r.error for r in page.rejected if r.row == 0]:
        return whole[0]
    if page.records:
        return ""
    if page.rejected:
        reasons = "; ".join(f"row {r.row}: {r.error}" for r in page.rejected[:3])
        return f"no row of {page.file} can be imported: {reasons}"
    return f"{page.file} holds no records" + (f" under its header (row {page.header_row})" if page.header_row else "")


class Staging:
    """Uploads kept between the page's preview and its import, each in a folder named by a
    random key; removed by the import, or after STAGE_SECONDS, and never more than MAX_STAGED."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "matching" / "uploads"

    def put(self, name: str, source: IO[bytes]) -> tuple[str, Path]:
        self.purge(MAX_STAGED - 1)
        key = secrets.token_hex(16)
        path = self.root / key / name
        path.parent.mkdir(parents=True)
        with path.open("wb") as out:
            shutil.copyfileobj(source, out)
        return key, path

    def get(self, key: str) -> Path:
        self.purge(MAX_STAGED)
        folder = self.root / key if _KEY.fullmatch(key) else None
        files = sorted(folder.iterdir()) if folder is not None and folder.is_dir() else []
        if not files:
            raise BadFile(f"the uploaded file is no longer kept (after {STAGE_SECONDS // 60} minutes, "
                          "or once imported): choose it again")
        return files[0]

    def drop(self, key: str) -> None:
        if _KEY.fullmatch(key):
            shutil.rmtree(self.root / key, ignore_errors=True)

    def purge(self, keep: int) -> None:
        """Removes the expired uploads, and the oldest beyond the newest `keep`."""
        folders = sorted(self.root.iterdir(), key=lambda p: p.stat().st_mtime) if self.root.is_dir() else []
        now = time.time()
        for number, folder in enumerate(reversed(folders)):
            if number >= keep or now - folder.stat().st_mtime > STAGE_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)


class Importer:
    """Reads uploads and stores their records (one writer at a time, as other web changes)."""

    def __init__(self, web: Web) -> None:
        self.settings = web.settings
        self.writing: threading.Lock = web.writing
        self.staging = Staging(web.settings.data_dir)

    def run(self, path: Path, name: str, kind: str, *, dry_run: bool) -> Outcome:
        try:
            page, docs = read_upload(path, name, kind, self.settings)
        except BadFile as exc:
            return Outcome(ImportPage(kind=kind, file=name), str(exc))
        if error := refusal(page):
            return Outcome(page, error)
        if dry_run:
            return Outcome(page)
        with self.writing, open_catalogue(self.settings) as cat:
            counts = cat.upsert_many(docs)
        report = ImportReport(errors=[(r.row, r.error) for r in page.rejected], **counts)
        return Outcome(page.model_copy(update={**counts, "stored": True, "dry_run": False,
                                               "summary": report.summary()}))

    def upload(self, upload: UploadFile, kind: str, *, dry_run: bool, keep: bool = False) -> Outcome:
        """An uploaded file read, and stored unless dry_run; kept for a later import when `keep`."""
        try:
            name = safe_name(upload.filename or "")
        except BadFile as exc:
            return Outcome(ImportPage(kind=kind), str(exc))
        if keep:
            key, path = self.staging.put(name, upload.file)
            done = self.run(path, name, kind, dry_run=dry_run)
            if done.error:
                self.staging.drop(key)
            return Outcome(done.page, done.error, "" if done.error else key)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            with path.open("wb") as out:
                shutil.copyfileobj(upload.file, out)
            return self.run(path, name, kind, dry_run=dry_run)

    def audit(self, actor: str, outcome: Outcome) -> None:
        if outcome.page.stored:
            with open_catalogue(self.settings) as cat:
                Accounts(cat).audit(actor, f"import {outcome.page.kind}s", outcome.page.file, outcome.page.summary)

    def staged(self, key: str, kind: str) -> Outcome:
        """The upload kept by a preview, imported; removed once stored."""
        try:
            path = self.staging.get(key)
        except BadFile as exc:
            return Outcome(ImportPage(kind=kind), str(exc))
        done = self.run(path, path.name, kind, dry_run=False)
        if not done.error:
            self.staging.drop(key)
        return done


IMPORTERS = ("edit", "organise")  # editors import documents, organisers their session's records


def before_body(auth: Auth, request: Request) -> None:
    """Before the page's body is read: 403 when nobody can change anything, 429 for a
    throttled address, and, when the request says who sends it (a token header or a session
    cookie), 401/403 unless they may import (a form's own token field is checked after)."""
    if not auth.open or auth.limiter.token_wait(client_address(request.scope)):
        auth.require(request, IMPORTERS, check_csrf=False)
    if request.headers.get("x-viko-token") or request.headers.get("authorization") or \
            auth.viewer(request).signed_in:
        auth.require(request, IMPORTERS, check_csrf=False)


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_file(form: FormData) -> UploadFile | None:
    value = form.get("file")
    return value if isinstance(value, UploadFile) and (value.filename or value.size) else None


MULTIPART_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "A .csv, .tsv, .xlsx or .jsonl file (the name's suffix says which)"}}}}}}}


def matching_import_router(web: Web) -> APIRouter:
    router = APIRouter(route_class=TokenFirstRoute, tags=["matchmaking"])
    importer, auth = Importer(web), web.auth

    def answer(request: Request, outcome: Outcome, status: int = 200) -> Response:
        editable = any(auth.viewer(request).may(a) for a in IMPORTERS)
        context = {"page": outcome.page, "editable": editable, "error": outcome.error, "staged": outcome.staged,
                   "max_mb": MAX_UPLOAD_BYTES // 2**20, "preview_rows": PREVIEW_ROWS}
        response = web.render(request, TEMPLATE, context, 400 if outcome.error else status)
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/matching/import", response_class=HTMLResponse, include_in_schema=False)
    def import_form(request: Request) -> Response:
        return answer(request, Outcome(ImportPage()))

    @router.post("/matching/import", response_class=HTMLResponse, include_in_schema=False)
    async def import_page(request: Request) -> Response:
        before_body(auth, request)
        form = await request.form(max_files=1, max_fields=10)
        viewer = auth.require(request, IMPORTERS, token=form_text(form, "token"),
                              csrf=form_text(form, "csrf_token"))  # before the file is looked at
        action, kind, upload = form_text(form, "action") or "preview", form_text(form, "kind"), form_file(form)
        if action not in ("preview", "import"):
            raise HTTPException(400, f"action must be preview or import, not {action[:40]!r}")
        if kind not in KINDS:
            return answer(request, Outcome(ImportPage(), "choose what every row is: offer or demand"))
        if upload is not None:
            outcome = await run_in_threadpool(importer.upload, upload, kind, dry_run=action == "preview",
                                              keep=action == "preview")
        elif action == "import" and form_text(form, "staged"):
            outcome = await run_in_threadpool(importer.staged, form_text(form, "staged"), kind)
        else:
            outcome = Outcome(ImportPage(kind=kind), "choose a file to import (.csv, .tsv, .xlsx or .jsonl)")
        importer.audit(viewer.name, outcome)
        return answer(request, outcome)

    @router.post("/api/matching/import", response_model=ImportPage, openapi_extra=MULTIPART_BODY,
                 dependencies=[Depends(web.needs(*IMPORTERS))],
                 summary="Import offers or demands from a registration sheet (editors, organisers; dry_run=1 stores nothing)")
    async def api_import(request: Request, kind: Literal["offer", "demand"] = Query(description="What every row is"),
                         dry_run: bool = Query(False, description="Only say what would be imported")) -> Any:
        form = await request.form(max_files=1, max_fields=10)
        upload = form_file(form)
        if upload is None:
            raise HTTPException(400, "send the file as the multipart/form-data field 'file'")
        outcome = await run_in_threadpool(importer.upload, upload, kind, dry_run=dry_run)
        if outcome.error:
            raise HTTPException(400, outcome.error)
        importer.audit(auth.viewer(request).name, outcome)
        return outcome.page

    return router
