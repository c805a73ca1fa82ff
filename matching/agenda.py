"""The agenda of a planned day: one row per meeting with its clock time, the parties'
organisations and their titles in both languages (CSV here, XLSX in agenda_xlsx.py, HTML in
printout.py), and each party's own list of meetings."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from viko.corpus.formats.cells import safe_cell
from viko.matching.clock import Clock
from viko.matching.match import Matcher
from viko.matching.parties import Parties, Party
from viko.matching.plan import Plan

AGENDA_COLUMNS = ("slot", "time", "table", "demand_organisation", "demand_title_vi", "demand_title_ko",
                  "offer_organisation", "offer_title_vi", "offer_title_ko", "score", "locked",
                  "demand_party", "offer_party")
SESSION_LANGS = ("vi", "ko")


@dataclass(frozen=True)
class Day:
    """A planned day to print: the plan, its parties and its clock."""

    plan: Plan
    parties: Parties
    clock: Clock = field(default_factory=Clock)
    slots: int = 0  # 0: as many as the plan uses

    @property
    def slot_count(self) -> int:
        return max(self.slots, max((m.slot + 1 for m in self.plan.meetings), default=0))

    def time(self, slot: int) -> str:
        """The clock time of a 1-based slot: '09:20–09:40'."""
        return self.clock.label(slot, self.slot_count)

    def party(self, party_id: str) -> Party | None:
        return self.parties.get(party_id) or self.parties.of(party_id)


def day_of(plan: Plan, matcher: Matcher, clock: Clock | None = None, slots: int = 0) -> Day:
    return Day(plan, matcher.parties, clock or Clock(), slots)


def titles(party: Party | None) -> dict[str, str]:
    """The party's title in each session language; a version in another language fills the
    first free one."""
    if party is None:
        return {}
    out = {lang: title for lang, title in party.titles if lang in SESSION_LANGS}
    for lang, title in party.titles:
        if lang not in SESSION_LANGS:
            free = next((x for x in SESSION_LANGS if x not in out), None)
            if free is not None:
                out[free] = title
    return out


def agenda_rows(day: Day) -> list[dict[str, object]]:
    rows = []
    for m in day.plan.meetings:
        d, o = day.party(m.demand), day.party(m.offer)
        dt, ot = titles(d), titles(o)
        rows.append({"slot": m.slot + 1, "time": day.time(m.slot + 1), "table": m.table + 1,
                     "demand_organisation": d.organisation if d else "", "demand_title_vi": dt.get("vi", ""),
                     "demand_title_ko": dt.get("ko", ""), "offer_organisation": o.organisation if o else "",
                     "offer_title_vi": ot.get("vi", ""), "offer_title_ko": ot.get("ko", ""),
                     "score": round(m.score, 3), "locked": "yes" if m.locked else "",
                     "demand_party": m.demand, "offer_party": m.offer})
    return rows


def agenda_csv(day: Day) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=AGENDA_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: safe_cell(value) for key, value in row.items()} for row in agenda_rows(day))
    return "\ufeff" + out.getvalue()  # the BOM makes spreadsheet programs read UTF-8


def party_lines(day: Day) -> list[tuple[str, list[tuple[int, str, int, str]]]]:
    """(party id, [(slot, time, table, other party id)]) for every party with a meeting, by name."""
    lines: dict[str, list[tuple[int, str, int, str]]] = {}
    for m in day.plan.meetings:
        time = day.time(m.slot + 1)
        lines.setdefault(m.demand, []).append((m.slot + 1, time, m.table + 1, m.offer))
        lines.setdefault(m.offer, []).append((m.slot + 1, time, m.table + 1, m.demand))

    def name(pid: str) -> tuple[str, str, str]:
        party = day.party(pid)
        return (party.kind if party else "", (party.organisation or party.title) if party else pid, pid)

    return [(pid, sorted(lines[pid])) for pid in sorted(lines, key=name)]
