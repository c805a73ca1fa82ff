"""What is printed for the day: the agenda (per slot and table, per table, per party) as CSV,
XLSX and HTML, and a one-page bilingual brief per meeting (both records side by side, the
matched terms marked in both languages). Every printout names parties by organisation, with
their titles in both languages, and slots by clock time. HTML with print CSS rather than a
PDF library: every browser prints it to A4 as is (tests print the briefs with headless
Chromium and count the pages), and no PDF library available offline lays out Vietnamese and
Korean text as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from viko.corpus.glossary import Glossary
from viko.matching.agenda import Day, agenda_csv, agenda_rows, party_lines, titles
from viko.matching.agenda_xlsx import agenda_xlsx
from viko.matching.match import Matcher
from viko.matching.parties import Party
from viko.matching.plan import Meeting
from viko.matching.records import MatchRecord


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


@dataclass(frozen=True)
class Side:
    party: Party
    record: MatchRecord  # the version printed in full
    runs: list[tuple[str, bool]]
    titles: dict[str, str]


@dataclass(frozen=True)
class Brief:
    meeting: Meeting
    time: str
    demand: Side
    offer: Side
    terms: list[str]


def shown_versions(demand: Party, offer: Party) -> tuple[MatchRecord, MatchRecord]:
    """The versions a brief prints: the demand's first (Vietnamese when it has one), and the
    offer's in the other language where it has one, so both languages are on the page."""
    first = demand.first
    other = next((m for m in offer.members if m.lang != first.lang), offer.first)
    return first, other


def briefs(day: Day, matcher: Matcher) -> list[Brief]:
    out = []
    for m in day.plan.meetings:
        demand, offer = matcher.party(m.demand), matcher.party(m.offer)
        d, o = shown_versions(demand, offer)
        why = matcher.pair(d.id, o.id, evidence=0).why
        terms = [f"{vi} ↔ {ko}" for vi, ko in why.glossary] + list(why.shared)
        out.append(Brief(m, day.time(m.slot + 1),
                         Side(demand, d, mark_terms(d.text, d.lang, matcher.glossary, why.glossary, why.shared),
                              titles(demand)),
                         Side(offer, o, mark_terms(o.text, o.lang, matcher.glossary, why.glossary, why.shared),
                              titles(offer)), terms))
    return out


def _environment() -> Environment:
    return Environment(loader=PackageLoader("viko.matching", "templates"), autoescape=select_autoescape(["html"]))


def agenda_html(day: Day, title: str = "") -> str:
    rows = agenda_rows(day)
    slots = [(s, day.time(s), [r for r in rows if r["slot"] == s]) for s in range(1, day.slot_count + 1)]
    return _environment().get_template("agenda.html").render(
        title=title or "Technology matchmaking session", slots=slots, clock=day.clock,
        parties=[(day.party(pid), lines) for pid, lines in party_lines(day)], party=day.party, titles=titles)


def briefs_html(day: Day, matcher: Matcher, title: str = "") -> str:
    return _environment().get_template("briefs.html").render(title=title or "Meeting briefs", briefs=briefs(day, matcher))


def write_printouts(day: Day, matcher: Matcher, folder: Path) -> list[Path]:
    """agenda.csv, agenda.xlsx, agenda.html and briefs.html in the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"agenda.csv": agenda_csv(day).encode("utf-8"), "agenda.xlsx": agenda_xlsx(day),
             "agenda.html": agenda_html(day).encode("utf-8"), "briefs.html": briefs_html(day, matcher).encode("utf-8")}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]
