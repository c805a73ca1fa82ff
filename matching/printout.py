"""What is printed for the day: the agenda (per table and per party) as CSV, XLSX and HTML,
and a one-page bilingual brief per meeting (both texts side by side, the matched terms
marked in both languages). HTML with print CSS rather than PDF: every browser prints it to
A4 as is, and no PDF library available offline lays out Vietnamese and Korean text as well.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from viko.corpus.glossary import Glossary
from viko.matching.match import Matcher
from viko.matching.plan import Meeting, Plan
from viko.matching.records import MatchRecord

AGENDA_COLUMNS = ("slot", "table", "demand_id", "demand_title", "demand_organisation", "offer_id",
                  "offer_title", "offer_organisation", "score", "locked")


@dataclass(frozen=True)
class Brief:
    meeting: Meeting
    demand: MatchRecord
    offer: MatchRecord
    demand_text: list[tuple[str, bool]]
    offer_text: list[tuple[str, bool]]
    terms: list[str]


def agenda_rows(plan: Plan, records: dict[str, MatchRecord]) -> list[dict[str, object]]:
    rows = []
    for m in plan.meetings:
        d, o = records.get(m.demand), records.get(m.offer)
        rows.append({"slot": m.slot + 1, "table": m.table + 1, "demand_id": m.demand,
                     "demand_title": d.title if d else "", "demand_organisation": d.organisation if d else "",
                     "offer_id": m.offer, "offer_title": o.title if o else "",
                     "offer_organisation": o.organisation if o else "", "score": round(m.score, 3),
                     "locked": "yes" if m.locked else ""})
    return rows


def agenda_csv(plan: Plan, records: dict[str, MatchRecord]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=AGENDA_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(agenda_rows(plan, records))
    return "\ufeff" + out.getvalue()  # the BOM makes spreadsheet programs read UTF-8


def agenda_xlsx(plan: Plan, records: dict[str, MatchRecord]) -> bytes:
    """One sheet by slot and table, one per party (demand or offer) with its meetings."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "agenda"
    rows = agenda_rows(plan, records)
    sheet.append(list(AGENDA_COLUMNS))
    for row in rows:
        sheet.append([row[c] for c in AGENDA_COLUMNS])
    parties = book.create_sheet("parties")
    parties.append(["party", "slot", "table", "meets", "title"])
    for party, slot, table, other in sorted(_party_lines(plan)):
        rec = records.get(other)
        parties.append([party, slot, table, other, rec.title if rec else ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _party_lines(plan: Plan) -> Iterable[tuple[str, int, int, str]]:
    for m in plan.meetings:
        yield m.demand, m.slot + 1, m.table + 1, m.offer
        yield m.offer, m.slot + 1, m.table + 1, m.demand


def mark_terms(text: str, lang: str, glossary: Glossary, glossary_pairs: Iterable[tuple[str, str]],
               latin: Iterable[str]) -> list[tuple[str, bool]]:
    """The text as (piece, marked) runs: the matched glossary terms of its language and the
    shared Latin-script terms are marked."""
    wanted = set(glossary_pairs)
    spans = [(m.start, m.end) for m in glossary.lookup(text, lang) if (m.entry.vi, m.entry.ko) in wanted]
    for word in latin:
        spans += [(m.start(), m.end()) for m in re.finditer(rf"(?<![\w@.]){re.escape(word)}(?![\w@])", text)]
    runs: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        runs += [(text[pos:start], False), (text[start:end], True)]
        pos = end
    runs.append((text[pos:], False))
    return [r for r in runs if r[0]]


def briefs(plan: Plan, matcher: Matcher) -> list[Brief]:
    out = []
    for m in plan.meetings:
        demand, offer = matcher.get(m.demand), matcher.get(m.offer)
        why = matcher.pair(m.demand, m.offer, evidence=0).why
        terms = [f"{vi} ↔ {ko}" for vi, ko in why.glossary] + list(why.shared)
        out.append(Brief(m, demand, offer,
                         mark_terms(demand.text, demand.lang, matcher.glossary, why.glossary, why.shared),
                         mark_terms(offer.text, offer.lang, matcher.glossary, why.glossary, why.shared), terms))
    return out


def _environment() -> Environment:
    return Environment(loader=PackageLoader("viko.matching", "templates"), autoescape=select_autoescape(["html"]))


def agenda_html(plan: Plan, records: dict[str, MatchRecord], title: str = "") -> str:
    by_party: dict[str, list[tuple[int, int, str]]] = {}
    for party, slot, table, other in _party_lines(plan):
        by_party.setdefault(party, []).append((slot, table, other))
    return _environment().get_template("agenda.html").render(
        title=title or "Technology matchmaking session", rows=agenda_rows(plan, records),
        parties=sorted(by_party.items()), records=records)


def briefs_html(plan: Plan, matcher: Matcher, title: str = "") -> str:
    return _environment().get_template("briefs.html").render(
        title=title or "Meeting briefs", briefs=briefs(plan, matcher))


def write_printouts(plan: Plan, matcher: Matcher, folder: Path) -> list[Path]:
    """agenda.csv, agenda.xlsx, agenda.html and briefs.html in the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    records = matcher.records
    files = {"agenda.csv": agenda_csv(plan, records).encode("utf-8"), "agenda.xlsx": agenda_xlsx(plan, records),
             "agenda.html": agenda_html(plan, records).encode("utf-8"),
             "briefs.html": briefs_html(plan, matcher).encode("utf-8")}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]
