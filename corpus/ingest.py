"""`viko add`: local files and folders (recursively) of every supported format."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from viko.corpus import dedup
from viko.corpus.catalogue import Catalogue, storage_failure
from viko.corpus.document import DocumentError, make_document
from viko.corpus.extract import extract
from viko.corpus.formats import ExtractionError
from viko.corpus.formats.budget import DEFAULT_BUDGET, Budget

SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".txt", ".text", ".md", ".pdf", ".docx", ".hwp", ".hwpx"})
MAX_FILE_BYTES = 500_000_000


@dataclass(frozen=True)
class FileOutcome:
    path: str
    outcome: str  # added, updated, unchanged, skipped, failed
    reason: str = ""
    doc_id: str = ""


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(o.outcome for o in self.outcomes)

    @property
    def stored(self) -> int:
        c = self.counts()
        return c["added"] + c["updated"] + c["unchanged"]

    def summary(self) -> str:
        c = self.counts()
        return (f"{c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged, "
                f"{c['skipped']} skipped, {c['failed']} failed")


@dataclass(frozen=True)
class Overrides:
    """What the user says about every file of one `viko add`, winning over detection."""
    doc_type: str = ""
    lang: str = ""
    source: str = ""
    visibility: str = ""  # who may see the files' documents (viko.corpus.access; "" = public)


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path | None]]:
    """(file, folder it was found in) for supported files inside folders, in a stable
    order, and (file, None) for files named directly (whatever their suffix). Hidden files
    and folders are left alone; linked folders are not entered."""
    for path in paths:
        if not path.is_dir():
            yield path, None
            continue
        for folder, dirs, files in os.walk(path, followlinks=False):
            base = Path(folder)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                child = base / name
                if not name.startswith(".") and child.suffix.lower() in SUFFIXES:
                    yield child, path


def file_doc_id(path: Path) -> str:
    return "file-" + hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:12]


def _escapes(path: Path, root: Path) -> bool:
    """A link inside a folder that points out of it (to /etc, a home directory...)."""
    return path.is_symlink() and not path.resolve().is_relative_to(root.resolve())


def _display_path(path: Path, root: Path | None) -> str:
    """What a reader sees as the source: the path inside the folder that was added, never an
    absolute file:// URL (it names the machine's folders and no browser opens it)."""
    return path.relative_to(root).as_posix() if root is not None else path.name


def ingest_file(cat: Catalogue, path: Path, overrides: Overrides, budget: Budget = DEFAULT_BUDGET,
                root: Path | None = None) -> FileOutcome:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return FileOutcome(name, "skipped", f"larger than {MAX_FILE_BYTES} bytes")
        content = path.read_bytes()
    except OSError as exc:
        return FileOutcome(name, "failed", exc.strerror or str(exc))
    try:
        ex = extract(content, budget=budget)
    except ExtractionError as exc:
        return FileOutcome(name, "skipped", str(exc))
    del content  # the file's bytes are not needed while its text is stored
    record: dict[str, object] = {
        "id": file_doc_id(path), "url": "", "path": _display_path(path, root),
        "title": ex.title, "text": ex.text,
        "date": ex.date, "type": overrides.doc_type, "lang": overrides.lang, "source": overrides.source,
        "visibility": overrides.visibility,
        "format": ex.format, **({"encoding": ex.encoding} if ex.encoding else {}),
        **({"author": ex.author} if ex.author else {}), **({"extract_note": ex.note} if ex.note else {}),
    }
    try:
        doc = make_document(record)
    except DocumentError as exc:
        return FileOutcome(name, "failed", f"invalid document: {exc}")
    with cat.conn:
        outcome = cat.upsert(doc)
        dup = dedup.register(cat, doc) if outcome != "unchanged" else None
    reasons = [ex.note, f"{dup.kind} duplicate of {dup.canonical_id}" if dup else ""]
    return FileOutcome(name, outcome, "; ".join(r for r in reasons if r), doc.id)


def ingest_paths(cat: Catalogue, paths: Iterable[Path], overrides: Overrides | None = None,
                 progress: Callable[[FileOutcome], None] | None = None,
                 budget: Budget = DEFAULT_BUDGET) -> IngestReport:
    """Ingest every file; each failure is reported and the rest of the batch goes on."""
    report = IngestReport()
    for path, root in iter_files(paths):
        if root is not None and _escapes(path, root):
            outcome = FileOutcome(str(path), "skipped", f"symbolic link out of {root}: not followed")
        elif not path.exists():
            outcome = FileOutcome(str(path), "failed", "no such file or directory")
        else:
            try:
                outcome = ingest_file(cat, path, overrides or Overrides(), budget, root)
            except Exception as exc:  # a parser bug on one file must not lose the batch
                if storage_failure(exc):  # but a full or failing disk ends it: the caller says so
                    raise
                outcome = FileOutcome(str(path), "failed", f"internal error: {type(exc).__name__}: {exc}")
        report.outcomes.append(outcome)
        if progress:
            progress(outcome)
    return report
