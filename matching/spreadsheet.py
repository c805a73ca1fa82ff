"""Offers and demands from the spreadsheet a session organiser keeps (CSV or XLSX).

The first row names the columns: title, text, organisation, sector, region, contact, lang
(and optionally id, url, date, source). Other columns are kept in the document's metadata.
A row that cannot become a record is reported with its row number and skipped; the rest
of the sheet goes on. JSONL files go through the ordinary importer with the type set.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import Document, DocumentError, make_document
from viko.corpus.importer import ImportReport
from viko.matching.records import KINDS

REQUIRED = ("title", "text")
FIELD_COLUMNS = ("organisation", "sector", "region", "contact")
DOCUMENT_COLUMNS = ("id", "title", "text", "lang", "url", "date", "source")


class SpreadsheetError(ValueError):
    """A file that cannot be read as a table with a header row."""


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: value}) for every non-empty row after the header."""
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        yield from _xlsx_rows(path)
    elif suffix in (".csv", ".tsv"):
        yield from _csv_rows(path, "\t" if suffix == ".tsv" else ",")
    else:
        raise SpreadsheetError(f"{path}: use a .csv, .tsv, .xlsx or .jsonl file")


def _csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SpreadsheetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SpreadsheetError(f"{path} is not UTF-8: save the sheet as 'CSV UTF-8'") from exc
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    yield from _with_header(rows, path)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise SpreadsheetError(f"cannot read {path} as XLSX: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    yield from _with_header(rows, path)


def _with_header(rows: list[list[str]], path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    if not rows:
        raise SpreadsheetError(f"{path} is empty: the first row must name the columns")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SpreadsheetError(f"{path}: the header row has no {', '.join(missing)} column")
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        yield number, {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(header) if name}


def row_document(row: dict[str, str], kind: str, default_source: str) -> Document:
    """A Document of the given kind from one row; DocumentError when it cannot be one."""
    if kind not in KINDS:
        raise DocumentError(f"type must be offer or demand, not {kind!r}")
    record: dict[str, object] = {k: row.get(k, "") for k in DOCUMENT_COLUMNS if row.get(k, "")}
    record["type"] = kind
    record.setdefault("source", default_source)
    if not str(record.get("id", "")).strip():
        seed = json.dumps([kind, row.get("title", ""), row.get("organisation", "")], ensure_ascii=False)
        record["id"] = f"{kind}-{hashlib.sha1(seed.encode()).hexdigest()[:12]}"
    if not str(row.get("title", "")).strip():
        raise DocumentError("the title is empty")
    for name, value in row.items():
        if name not in DOCUMENT_COLUMNS and value:
            record[name] = value  # organisation, sector, region, contact and any unknown column
    return make_document(record)


def import_records(catalogue: Catalogue, path: Path, kind: str) -> ImportReport:
    """Import a CSV/TSV/XLSX sheet or a JSONL file as offers or demands."""
    report = ImportReport()
    docs: dict[str, Document] = {}
    if Path(path).suffix.lower() == ".jsonl":
        from viko.corpus.importer import read_jsonl

        for doc in read_jsonl(path, report):
            docs[doc.id] = doc.with_(type=kind)
    else:
        try:
            for number, row in read_rows(path):
                try:
                    doc = row_document(row, kind, Path(path).name)
                except DocumentError as exc:
                    report.errors.append((number, str(exc)))
                    continue
                docs[doc.id] = doc
        except SpreadsheetError as exc:
            report.errors.append((0, str(exc)))
    counts = catalogue.upsert_many(docs.values())
    report.added, report.updated, report.unchanged = counts["added"], counts["updated"], counts["unchanged"]
    return report
