"""A search's results as a file: `/api/search.csv` and `/api/search.xlsx` take the search
page's parameters (query, operators, facets, dates, sort) and give every result of every page,
at most EXPORT_MAX_ROWS, best first. A cut list says so in the `X-Viko-Total` and
`X-Viko-Truncated` headers and, in the workbook, on its second sheet.

Every text cell goes through `safe_cell`: a title cannot be read as a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from fastapi.responses import Response

from viko.corpus.formats.cells import safe_cell

EXPORT_MAX_ROWS = 1000
COLUMNS = ("rank", "id", "lang", "title", "type", "date", "source", "url", "score", "counterpart_id", "snippet",
           "possible")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def rows(hits: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[rank, *(safe_cell(hit.get(c, "")) for c in COLUMNS[1:])] for rank, hit in enumerate(hits, 1)]


def to_csv(hits: Sequence[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows(hits))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM: spreadsheets then read UTF-8


def to_xlsx(query: str, hits: Sequence[dict[str, Any]], total: int) -> bytes:
    from openpyxl import Workbook  # only an export needs it

    book = Workbook(write_only=True)
    sheet = book.create_sheet("results")
    sheet.append(list(COLUMNS))
    for row in rows(hits):
        sheet.append(row)
    about = book.create_sheet("about")
    about.append(["query", safe_cell(query)])
    about.append(["results", total])
    about.append(["rows exported", len(hits)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_response(fmt: str, query: str, hits: Sequence[dict[str, Any]], total: int) -> Response:
    name = re.sub(r"[^\w-]+", "-", query, flags=re.ASCII).strip("-")[:40] or "search"
    body, media = (to_csv(hits), "text/csv; charset=utf-8") if fmt == "csv" else (to_xlsx(query, hits, total), XLSX_TYPE)
    headers = {"Content-Disposition": f'attachment; filename="viko-{name}.{fmt}"',
               "X-Viko-Total": str(total), "X-Viko-Truncated": "1" if total > len(hits) else "0"}
    return Response(body, media_type=media, headers=headers)
