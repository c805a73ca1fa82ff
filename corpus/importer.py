"""JSONL import: one JSON object per line; bad lines are reported and skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import Document, DocumentError, make_document


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.added + self.updated + self.unchanged

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.errors)} skipped")


def read_jsonl(path: Path, report: ImportReport) -> Iterator[Document]:
    """Documents from a JSONL file; every bad line lands in report.errors with its number."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        report.errors.append((0, f"cannot read {path}: {exc.strerror or exc}"))
        return
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
            yield make_document(record)
        except UnicodeDecodeError as exc:
            report.errors.append((number, f"not UTF-8 (byte {exc.start}): re-save the file as UTF-8"))
        except json.JSONDecodeError as exc:
            report.errors.append((number, f"invalid JSON: {exc.msg} at column {exc.colno}"))
        except DocumentError as exc:
            report.errors.append((number, str(exc)))


def import_jsonl(catalogue: Catalogue, path: Path, visibility: str | None = None) -> ImportReport:
    """`visibility`: who may see the documents whose lines do not say (viko.corpus.access)."""
    report = ImportReport()
    batch: list[Document] = []
    seen: dict[str, Document] = {}
    for doc in read_jsonl(path, report):
        if visibility is not None and not _states_visibility(doc):
            doc = doc.with_(visibility=visibility)
        seen[doc.id] = doc  # a later line with the same id wins, as a re-import would
    batch = list(seen.values())
    counts = catalogue.upsert_many(batch)
    report.added, report.updated, report.unchanged = counts["added"], counts["updated"], counts["unchanged"]
    return report


def _states_visibility(doc: Document) -> bool:
    return doc.visibility != "public"  # a line saying "public" and one saying nothing read the same
