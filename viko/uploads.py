"""Files uploaded in the browser or through `POST /api/upload`: kept until their job runs
(viko/jobs.py), then stored as `viko add` stores files, or, for sheets of offers and demands, as
`viko import-records` stores rows; each file's outcome and reason go to the job's detail.

Documents (HTML, text, PDF, DOCX, HWP, HWPX) are kept under the data directory at
`uploads/files/SHA256/NAME` (the content's digest), so they stay readable after the upload and
the same file uploaded again is the same document (unchanged), never a second copy. Until the
job runs, each upload waits in `uploads/incoming/KEY/` (KEY random), removed when it ends.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from viko.corpus import jobs
from viko.corpus.access import AccessError, parse_visibility
from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import Catalogue, storage_failure
from viko.corpus.document import LANGS, TYPES
from viko.corpus.formats import ExtractionError
from viko.corpus.formats.budget import Meter
from viko.corpus.importer import import_jsonl
from viko.corpus.ingest import SUFFIXES as DOCUMENT_SUFFIXES
from viko.corpus.ingest import Overrides, ingest_file
from viko.matching.spreadsheet import read_records
from viko.runtime import open_catalogue
from viko.settings import Settings

RECORD_SUFFIXES = frozenset({".csv", ".tsv", ".xlsx"})
ACCEPTED = DOCUMENT_SUFFIXES | RECORD_SUFFIXES | {".jsonl"}
RECORD_KINDS = ("offer", "demand")
MAX_FILES = 50
_KEY = re.compile(r"[0-9a-f]{32}")
_UNSAFE = re.compile(r"[^\w.\- ]+")
Progress = Callable[[str, int, int], None]


class UploadError(ValueError):
    """An upload refused as a whole (bad options, no file that can be stored); says why."""


@dataclass(frozen=True)
class UploadOptions:
    """What the uploader says about every file: empty means guessed (type) or detected (language)."""

    doc_type: str = ""
    lang: str = ""
    visibility: str = "public"
    records: str = ""  # offer or demand: what every row of a sheet (CSV, TSV, XLSX) or JSONL file is
    source: str = ""


def check_options(doc_type: str = "", lang: str = "", visibility: str = "", records: str = "",
                  source: str = "") -> UploadOptions:
    doc_type, lang, records = doc_type.strip().lower(), lang.strip().lower(), records.strip().lower()
    if doc_type and doc_type not in TYPES:
        raise UploadError(f"type {doc_type[:40]!r}: use one of {', '.join(TYPES)}, or leave it to be guessed")
    if lang and lang not in LANGS:
        raise UploadError(f"language {lang[:40]!r}: use vi, ko or other, or leave it to be detected")
    if records and records not in RECORD_KINDS:
        raise UploadError(f"records {records[:40]!r}: a sheet's rows are offers or demands (offer, demand)")
    try:
        visibility = parse_visibility(visibility)
    except AccessError as exc:
        raise UploadError(str(exc)) from exc
    return UploadOptions(doc_type, lang, visibility, records, " ".join(source.split())[:200])


def safe_name(filename: str) -> str:
    """The file's name without folders or odd characters."""
    name = _UNSAFE.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")[-120:]
    return name or "file"


def uploads_root(settings: Settings) -> Path:
    return Path(settings.data_dir) / "uploads"


def stage(settings: Settings, files: list[tuple[str, IO[bytes]]], options: UploadOptions, actor: str) -> int:
    """Keeps the files for their job and queues it (audited); the job's id. A file of a type
    that cannot be stored, or an empty one, is refused at once with its reason; UploadError
    when none is left."""
    if not files:
        raise UploadError("choose one or more files to upload")
    if len(files) > MAX_FILES:
        raise UploadError(f"at most {MAX_FILES} files per upload")
    key = secrets.token_hex(16)
    folder = uploads_root(settings) / "incoming" / key
    entries = []
    for number, (filename, stream) in enumerate(files):
        name = safe_name(filename)
        entry: dict[str, Any] = {"name": name, "size": 0, "outcome": "queued", "reason": "", "doc_id": ""}
        if Path(name).suffix.lower() not in ACCEPTED:
            entry.update(outcome="skipped", reason=f"not a supported type ({Path(name).suffix or 'no suffix'}): "
                         "use HTML, text, PDF, DOCX, HWP, HWPX, or CSV, TSV, XLSX, JSONL")
        else:
            entry.update(stored=f"{number:03d}/{name}", size=_keep(stream, folder / f"{number:03d}" / name))
            if entry["size"] == 0:
                entry.update(outcome="skipped", reason="the file is empty")
        entries.append(entry)
    if all(e["outcome"] == "skipped" for e in entries):
        shutil.rmtree(folder, ignore_errors=True)
        raise UploadError("nothing to store: " + "; ".join(f"{e['name']}: {e['reason']}" for e in entries[:5]))
    with open_catalogue(settings) as cat:
        job_id = jobs.enqueue(cat, "upload", actor, {"folder": key, "files": entries, "options": asdict(options)})
        names = ", ".join(e["name"] for e in entries)
        Accounts(cat).audit(actor, "upload", f"job {job_id}", f"{len(entries)} files ({options.visibility}): {names}")
    return job_id


def _keep(stream: IO[bytes], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    with part.open("wb") as out:
        shutil.copyfileobj(stream, out)
    os.replace(part, path)
    return path.stat().st_size


def drop_staged(settings: Settings, detail: dict[str, Any]) -> None:
    """Removes an upload's waiting files (its job ended, or never will)."""
    key = str(detail.get("folder", ""))
    if _KEY.fullmatch(key):
        shutil.rmtree(uploads_root(settings) / "incoming" / key, ignore_errors=True)


def run_upload(settings: Settings, cat: Catalogue, detail: dict[str, Any], progress: Progress,
               save: Callable[[], None]) -> tuple[str, bool]:
    """Stores an upload job's files, each outcome and reason written into `detail` (saved after
    each file); its summary, and whether anything was added or changed (so the index is due)."""
    options = UploadOptions(**detail.get("options", {}))
    folder = uploads_root(settings) / "incoming" / str(detail.get("folder", ""))
    todo = [e for e in detail.get("files", []) if e.get("outcome") == "queued"]
    for number, entry in enumerate(todo):
        progress("storing files", number, len(todo))
        path = folder / str(entry.get("stored", ""))
        entry.update(store_file(settings, cat, path, str(entry["name"]), options))
        save()
    progress("storing files", len(todo), len(todo))
    counts = Counter(str(e.get("outcome")) for e in detail.get("files", []))
    summary = f"{sum(counts.values())} files: " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    return summary, bool(counts["added"] or counts["updated"])


def store_file(settings: Settings, cat: Catalogue, path: Path, name: str, options: UploadOptions) -> dict[str, str]:
    """One uploaded file stored: {outcome, reason, doc_id}; a disk that refuses the write is
    raised (the job fails and says so), any other failure is this file's outcome."""
    suffix = path.suffix.lower()
    try:
        if not path.is_file():
            return {"outcome": "failed", "reason": "the uploaded file is no longer there"}
        if suffix in RECORD_SUFFIXES or (suffix == ".jsonl" and options.records):
            return _records(settings, cat, path, name, options)
        if suffix == ".jsonl":
            report = import_jsonl(cat, path, options.visibility)
            return _outcome(report.added, report.updated, report.unchanged, report.errors, name, path, "documents")
        return _document(settings, cat, path, name, options)
    except Exception as exc:
        if storage_failure(exc):
            raise
        return {"outcome": "failed", "reason": f"internal error: {type(exc).__name__}: {exc}".replace(str(path), name)}


def _document(settings: Settings, cat: Catalogue, path: Path, name: str, options: UploadOptions) -> dict[str, str]:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    kept = uploads_root(settings) / "files" / digest.hexdigest()[:32] / name
    kept.parent.mkdir(parents=True, exist_ok=True)
    if kept.exists():
        path.unlink()
    else:
        os.replace(path, kept)
    overrides = Overrides(options.doc_type, options.lang, options.source, options.visibility)
    done = ingest_file(cat, kept, overrides, settings.extract_budget)
    if done.outcome in ("skipped", "failed"):
        shutil.rmtree(kept.parent, ignore_errors=True)
    return {"outcome": done.outcome, "reason": done.reason.replace(str(kept), name), "doc_id": done.doc_id}


def _records(settings: Settings, cat: Catalogue, path: Path, name: str, options: UploadOptions) -> dict[str, str]:
    if not options.records:
        return {"outcome": "skipped", "reason": "a sheet is read as offers or demands: choose what its rows are "
                                                 "(records: offer or demand)"}
    if path.suffix.lower() == ".xlsx":
        try:
            with zipfile.ZipFile(path) as book:
                Meter(settings.extract_budget).check_zip(book)
        except zipfile.BadZipFile:
            return {"outcome": "skipped", "reason": "not an XLSX workbook: save it as .xlsx, or as 'CSV UTF-8'"}
        except ExtractionError as exc:
            return {"outcome": "skipped", "reason": str(exc)}
    found, report = read_records(path, options.records)
    docs = [d if d.visibility != "public" else d.with_(visibility=options.visibility) for _n, d in found.values()]
    counts = cat.upsert_many(docs)
    return _outcome(counts["added"], counts["updated"], counts["unchanged"], report.errors, name, path,
                    options.records + "s")


def _outcome(added: int, updated: int, unchanged: int, errors: list[tuple[int, str]], name: str, path: Path,
             what: str) -> dict[str, str]:
    """A file of many records: its outcome is the strongest of theirs, its reason the counts and
    the first rejected rows."""
    outcome = "added" if added else "updated" if updated else "unchanged" if unchanged else "skipped"
    reason = f"{added + updated + unchanged} {what}: {added} added, {updated} updated, {unchanged} unchanged"
    if errors:
        rows = "; ".join((f"row {n}: " if n else "") + message for n, message in errors[:3])
        reason += f"; {len(errors)} rejected ({rows})"
    return {"outcome": outcome, "reason": reason.replace(str(path), name)}
