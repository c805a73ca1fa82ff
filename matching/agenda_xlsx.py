"""agenda.xlsx, laid out to print: the whole day by slot and table, then a sheet per table
and a sheet per party (named for the organisation), each with column widths, a bold header
row frozen and repeated on every printed page, landscape A4 fitted to the page width."""

from __future__ import annotations

import io
import re
from typing import Any

from viko.corpus.formats.cells import safe_cell
from viko.matching.agenda import Day, agenda_rows, party_lines, titles

# (key in agenda_rows, header, width in characters)
DAY_COLUMNS = (("time", "Time · Giờ · 시간", 13), ("table", "Table · Bàn · 테이블", 8),
               ("demand_organisation", "Demand: organisation · Đơn vị có nhu cầu · 수요 기업", 30),
               ("demand_title_vi", "Demand (VI) · Nhu cầu", 40), ("demand_title_ko", "Demand (KO) · 수요", 34),
               ("offer_organisation", "Offer: organisation · Đơn vị chào bán · 공급 기업", 30),
               ("offer_title_vi", "Offer (VI) · Chào bán", 40), ("offer_title_ko", "Offer (KO) · 공급", 34),
               ("score", "Score", 7), ("locked", "Locked", 7))
PARTY_COLUMNS = (("Time · Giờ · 시간", 13), ("Table · Bàn · 테이블", 8), ("Meets · Gặp · 상대 기업", 32),
                 ("Title (VI)", 44), ("Title (KO)", 38))
SHEET_NAME_CHARS = 31  # Excel's limit
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def agenda_xlsx(day: Day) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    rows = agenda_rows(day)
    sheet = book.active
    sheet.title = "Agenda"
    _table(sheet, [c[1] for c in DAY_COLUMNS], [c[2] for c in DAY_COLUMNS],
           [[row[key] for key, _, _ in DAY_COLUMNS] for row in rows])
    names: set[str] = {"Agenda"}
    for table in sorted({int(str(r["table"])) for r in rows}):
        sheet = book.create_sheet(_sheet_name(f"Table {table}", names))
        chosen = [r for r in rows if r["table"] == table]
        _table(sheet, [c[1] for c in DAY_COLUMNS], [c[2] for c in DAY_COLUMNS],
               [[row[key] for key, _, _ in DAY_COLUMNS] for row in chosen])
    for pid, lines in party_lines(day):
        party = day.party(pid)
        label = (party.organisation or party.title) if party else pid
        sheet = book.create_sheet(_sheet_name(label, names))
        body = []
        for _slot, time, table, other_id in lines:
            other = day.party(other_id)
            other_titles = titles(other)
            body.append([time, table, (other.organisation or other.title) if other else other_id,
                         other_titles.get("vi", ""), other_titles.get("ko", "")])
        own = titles(party)
        caption = " / ".join(t for t in (label, own.get("vi", ""), own.get("ko", "")) if t)
        _table(sheet, [c[0] for c in PARTY_COLUMNS], [c[1] for c in PARTY_COLUMNS], body, caption=caption)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_name(label: str, taken: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub(" ", label).strip().strip("'") or "party"
    name = base[:SHEET_NAME_CHARS]
    n = 2
    while name.lower() in {t.lower() for t in taken}:
        suffix = f" ({n})"
        name = base[:SHEET_NAME_CHARS - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


def _table(sheet: Any, header: list[str], widths: list[int], body: list[list[object]], caption: str = "") -> None:
    """A header row (bold, shaded, frozen, printed on every page) over the body, wrapped text."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    if caption:
        sheet.append([caption])
        sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    header_row = sheet.max_row + 1 if caption else 1
    sheet.append(header)
    for row in body:
        sheet.append([safe_cell(value) for value in row])
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
        cell = sheet.cell(row=header_row, column=col)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows(min_row=header_row):
        for cell in row:
            cell.alignment = wrap
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
