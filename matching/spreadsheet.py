"""Offers and demands from the spreadsheet a session organiser keeps (CSV or XLSX).

A header row names the columns: title, text, organisation, sector, region, contact, lang,
group (and optionally id, url, date, source), in English or as registration forms write them
in Vietnamese or Korean ("Tên doanh nghiệp", "Nhu cầu công nghệ", "Lĩnh vực", "기업명",
"기술명", "분야": COLUMN_ALIASES). The header is the row among the first few that names the
most known columns, so a title row above it ("DANH SÁCH NHU CẦU CÔNG NGHỆ ...") is skipped;
merged cells (a sector written once for several rows) count for every row they cover. Columns
naming one field are joined (two description columns make one text). A sheet without a text
column gets the title and the other columns as 'Label: value' lines. Other
columns are kept in the document's metadata. `column_mapping` says how the columns were read
(the command prints it). A CSV's delimiter is the one that splits its rows into the same
number of columns (comma, semicolon, tab: Excel writes semicolons where the comma is the decimal
mark); a CSV that is not UTF-8 but reads as CP949 with Hangul in it (Korean Excel's "CSV") is
read so. A row that cannot become a record is reported with its row number and skipped; the
rest of the sheet goes on. JSONL files go through the ordinary importer.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import Document, DocumentError, make_document
from viko.corpus.importer import ImportReport
from viko.matching.records import KINDS

REQUIRED = ("title",)
FIELD_COLUMNS = ("organisation", "sector", "region", "contact", "group")
DOCUMENT_COLUMNS = ("id", "title", "text", "lang", "url", "date", "source")
# Document keys a sheet's column cannot set: the import's --type is the type (a column named
# "type" used to replace it, and the record left the matchmaking).
IGNORED_COLUMNS = ("type", "segmented")
# Column names as registration sheets write them (compared lowercased, without ':' or '*').
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("tên công nghệ", "nhu cầu công nghệ", "công nghệ chào bán", "tên nhu cầu", "tên sản phẩm",
              "기술명", "수요 기술", "공급 기술", "기술 명칭", "과제명", "technology", "name of technology"),
    "text": ("mô tả", "nội dung", "mô tả công nghệ", "mô tả nhu cầu", "nội dung nhu cầu", "thông tin chi tiết",
             "기술 개요", "수요 내용", "내용", "설명", "상세 내용", "description", "details"),
    "organisation": ("tên doanh nghiệp", "doanh nghiệp", "đơn vị", "tên đơn vị", "tổ chức", "기업명", "기관명",
                     "회사명", "기업", "기관", "company", "organization"),
    "sector": ("lĩnh vực", "ngành", "분야", "기술 분야", "field"),
    "region": ("địa phương", "tỉnh/thành phố", "tỉnh", "khu vực", "지역", "소재지", "province", "city"),
    "contact": ("liên hệ", "người liên hệ", "thông tin liên hệ", "điện thoại", "email", "연락처", "담당자", "전화",
                "이메일", "phone"),
    "lang": ("ngôn ngữ", "언어", "language"),
    "group": ("nhóm", "mã nhóm", "그룹", "묶음"),
}
HEADER_SCAN_ROWS = 10
DELIMITERS = (",", ";", "\t")  # a .csv's; a .tsv is read with tabs
SNIFFED_ROWS = 20  # rows read to find a CSV's delimiter
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


class SpreadsheetError(ValueError):
    """A file that cannot be read as a table with a header row."""


def column_name(header: str) -> str:
    """The field a header cell names ('Tên doanh nghiệp' -> organisation), else the header as written."""
    label = " ".join(header.replace("\n", " ").split()).strip(" :*").lower()
    if label in DOCUMENT_COLUMNS or label in FIELD_COLUMNS:
        return label
    for name, aliases in COLUMN_ALIASES.items():
        if label in aliases:
            return name
    # a description however qualified ("Mô tả chi tiết", "내용 요약") is text: searchable
    if any(label.startswith(alias) and not label[len(alias)].isalnum() for alias in COLUMN_ALIASES["text"]):
        return "text"
    return label


def column_mapping(path: Path) -> tuple[int, list[tuple[str, str]]]:
    """(header row number, [(column as written, field)]) of a sheet: how it will be read."""
    rows = _raw_rows(path)
    index = _header_index(rows, path)
    return index + 1, [(h.strip(), column_name(h)) for h in rows[index] if h.strip()]


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: value}) for every non-empty row after the header."""
    yield from _with_header(_raw_rows(path), path)


def _raw_rows(path: Path) -> list[list[str]]:
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_rows(path)
    if suffix in (".csv", ".tsv"):
        return _csv_rows(path, "\t" if suffix == ".tsv" else None)
    raise SpreadsheetError(f"{path}: use a .csv, .tsv, .xlsx or .jsonl file")


def _csv_rows(path: Path, delimiter: str | None) -> list[list[str]]:
    """The rows of a CSV (`delimiter` None: the one its rows agree on, _delimiter)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SpreadsheetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    text = _decoded(data, path)
    return list(csv.reader(io.StringIO(text), delimiter=delimiter or _delimiter(text)))


def _decoded(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:  # Korean Excel saves "CSV" in CP949; only Hangul text makes that reading plausible
            text = data.decode("cp949")
        except UnicodeDecodeError:
            text = ""
        if _HANGUL.search(text) and "\x00" not in text:
            return text
        raise SpreadsheetError(f"{path} is not UTF-8: save the sheet as 'CSV UTF-8'") from exc


def _delimiter(text: str) -> str:
    """The delimiter among DELIMITERS for which most of the first rows split into one number
    (more than one) of columns: a comma inside a quoted description does not count."""
    lines = [line for line in text.splitlines()[:SNIFFED_ROWS] if line.strip()]

    def agreement(delimiter: str) -> tuple[int, int]:
        widths = Counter(len(row) for row in csv.reader(lines, delimiter=delimiter))
        width, rows = max(widths.items(), key=lambda item: (item[1], item[0]), default=(1, 0))
        return (rows, width) if width > 1 else (0, 1)

    return max(DELIMITERS, key=agreement)  # ties: the first (the comma)


def _xlsx_rows(path: Path) -> list[list[str]]:
    """The first sheet's cells as text; a merged range's value fills every cell it covers."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise SpreadsheetError(f"cannot read {path} as XLSX: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        for merged in sheet.merged_cells.ranges:
            value = rows[merged.min_row - 1][merged.min_col - 1]
            for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
                for c in range(merged.min_col - 1, min(merged.max_col, len(rows[r]))):
                    rows[r][c] = value
    finally:
        book.close()
    return rows


def _header_index(rows: list[list[str]], path: Path) -> int:
    """The row among the first few that names the most known columns (a title row above it is skipped)."""
    if not rows:
        raise SpreadsheetError(f"{path} is empty: the first row must name the columns")
    known = set(DOCUMENT_COLUMNS) | set(FIELD_COLUMNS)

    def score(row: list[str]) -> int:
        names = [column_name(h) for h in row if h.strip()]
        return len(set(names) & known) if len(set(row)) > 1 else 0  # a merged title row repeats one value

    best = max(range(min(HEADER_SCAN_ROWS, len(rows))), key=lambda i: (score(rows[i]), -i))
    return best if score(rows[best]) else 0


def _with_header(rows: list[list[str]], path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    index = _header_index(rows, path)
    raw = rows[index]
    header = [column_name(h) if h.strip() else "" for h in raw]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SpreadsheetError(f"{path}: the header row has no {', '.join(missing)} column")
    labels = {name: h.strip() for h, name in zip(raw, header, strict=True) if name}
    for number, row in enumerate(rows[index + 1:], start=index + 2):
        if not any(cell.strip() for cell in row):
            continue
        values: dict[str, str] = {}
        for i, name in enumerate(header):
            value = row[i].strip() if i < len(row) else ""
            if name and value and values.get(name) and value != values[name]:  # two columns, one field
                values[name] += ("\n\n" if name == "text" else "; ") + value
            elif name and not values.get(name):
                values[name] = value
        if not values.get("text"):
            lines = [f"{labels[k]}: {v}" for k, v in values.items() if v and k not in ("title", "text", "lang", "id")]
            values["text"] = "\n".join([values.get("title", ""), *lines]).strip()
        yield number, values


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
        if name not in DOCUMENT_COLUMNS and name not in IGNORED_COLUMNS and value:
            record[name] = value  # organisation, sector, region, contact and any unknown column
    return make_document(record)


def import_records(catalogue: Catalogue, path: Path, kind: str) -> ImportReport:
    """Import a CSV/TSV/XLSX sheet or a JSONL file as offers or demands."""
    records, report = read_records(path, kind)
    counts = catalogue.upsert_many(doc for _row, doc in records.values())
    report.added, report.updated, report.unchanged = counts["added"], counts["updated"], counts["unchanged"]
    return report


def read_records(path: Path, kind: str) -> tuple[dict[str, tuple[int, Document]], ImportReport]:
    """What a file would import, storing nothing: {id: (row number, record)} (a later row with
    the same id wins; JSONL records have row 0) and the report of its bad rows. The import
    stores these; the web import page shows them first."""
    report = ImportReport()
    docs: dict[str, tuple[int, Document]] = {}
    if Path(path).suffix.lower() == ".jsonl":
        from viko.corpus.importer import read_jsonl

        for doc in read_jsonl(path, report):
            docs[doc.id] = (0, doc.with_(type=kind))
    else:
        try:
            for number, row in read_rows(path):
                try:
                    doc = row_document(row, kind, Path(path).name)
                except DocumentError as exc:
                    report.errors.append((number, str(exc)))
                    continue
                docs[doc.id] = (number, doc)
        except SpreadsheetError as exc:
            report.errors.append((0, str(exc)))
    return docs, report
