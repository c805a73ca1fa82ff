"""`viko add`: local files and folders (recursively) of every supported format."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from corpus import dedup
from corpus.catalogue import Catalogue
from corpus.document import DocumentError, make_document
from corpus.extract import extract
from corpus.formats import ExtractionError

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


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly (whatever their suffix), and supported files inside folders,
    in a stable order; hidden files and folders are left alone."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if child.is_file() and child.suffix.lower() in SUFFIXES and not any(p.startswith(".") for p in rel):
                    yield child
        else:
            yield path


def file_doc_id(path: Path) -> str:
    return "file-" + hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:12]


def ingest_file(cat: Catalogue, path: Path, overrides: Overrides) -> FileOutcome:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return FileOutcome(name, "skipped", f"larger than {MAX_FILE_BYTES} bytes")
        content = path.read_bytes()
    except OSError as exc:
        return FileOutcome(name, "failed", exc.strerror or str(exc))
    try:
        ex = extract(content)
    except ExtractionError as exc:
        return FileOutcome(name, "skipped", str(exc))
    record: dict[str, object] = {
        "id": file_doc_id(path), "url": path.resolve().as_uri(), "title": ex.title, "text": ex.text,
        "date": ex.date, "type": overrides.doc_type, "lang": overrides.lang, "source": overrides.source,
        "format": ex.format, **({"encoding": ex.encoding} if ex.encoding else {}),
        **({"author": ex.author} if ex.author else {}),
    }
    try:
        doc = make_document(record)
    except DocumentError as exc:
        return FileOutcome(name, "failed", f"invalid document: {exc}")
    with cat.conn:
        outcome = cat.upsert(doc)
        dup = dedup.register(cat, doc) if outcome != "unchanged" else None
    reason = f"{dup.kind} duplicate of {dup.canonical_id}" if dup else ""
    return FileOutcome(name, outcome, reason, doc.id)


def ingest_paths(cat: Catalogue, paths: Iterable[Path], overrides: Overrides | None = None,
                 progress: Callable[[FileOutcome], None] | None = None) -> IngestReport:
    """Ingest every file; each failure is reported and the rest of the batch goes on."""
    report = IngestReport()
    for path in iter_files(paths):
        if not path.exists():
            outcome = FileOutcome(str(path), "failed", "no such file or directory")
        else:
            try:
                outcome = ingest_file(cat, path, overrides or Overrides())
            except Exception as exc:  # a parser bug on one file must not lose the batch
                outcome = FileOutcome(str(path), "failed", f"internal error: {type(exc).__name__}: {exc}")
        report.outcomes.append(outcome)
        if progress:
            progress(outcome)
    return report
