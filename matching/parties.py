"""Parties: an organisation's offer or demand in all the languages it was filed in.

A session's forms often exist twice, once in Vietnamese and once in Korean, for one company
and one need. Matching, planning and printing count such records as one party: the planner's
limits (meetings per party, one table per slot, each pair once) hold for the company, and the
match of a party is computed from all its versions, so either version gets the same offers.

Records are one party when
- an import gave them the same `group` column (same kind), or
- they are counterparts in the catalogue (corpus/counterparts.py, the one truth for links and
  decisions): a translator's confirmed pair always; a detected link only when the two forms
  also name the same organisation (an e-mail address, a phone number or a web domain in
  common, or one's organisation name written inside the other's). The detector links
  documents by content, and two offers of one technology by two companies read alike: the
  organisation is what makes them one party. A rejected pair is never a link (the store's rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from viko.corpus.textnorm import normalize_vi
from viko.matching.records import MatchRecord

# The order versions are listed and printed in: the session's two languages first.
LANG_ORDER = ("vi", "ko", "en")
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_URL = re.compile(r"(?:https?://|www\.)([\w-]+(?:\.[\w-]+)+)", re.IGNORECASE)
_PHONE = re.compile(r"\+?\d[\d .()-]{7,}\d")
# Phone numbers compare on their last digits: '0225 3555 018' is '+84 225 3555 018'.
PHONE_DIGITS = 9
# An organisation name counts inside another when it has at least this many characters.
MIN_NAME_CHARS = 8


@dataclass(frozen=True)
class Party:
    """One organisation's offer or demand: its records (versions), listed vi, ko, others; the
    party's id is its first version's (so the Vietnamese one where there is one)."""

    id: str
    kind: str
    members: tuple[MatchRecord, ...]

    @property
    def first(self) -> MatchRecord:
        return self.members[0]

    @property
    def title(self) -> str:
        return self.first.title

    @property
    def titles(self) -> tuple[tuple[str, str], ...]:
        """(lang, title) of every version."""
        return tuple((m.lang, m.title) for m in self.members)

    @property
    def organisation(self) -> str:
        return next((m.organisation for m in self.members if m.organisation), "")

    @property
    def organisations(self) -> tuple[str, ...]:
        """The organisation's name as each version writes it (duplicates once)."""
        return tuple(dict.fromkeys(m.organisation for m in self.members if m.organisation))

    @property
    def region(self) -> str:
        return next((m.region for m in self.members if m.region), "")

    @property
    def langs(self) -> tuple[str, ...]:
        return tuple(m.lang for m in self.members)

    @property
    def sectors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for m in self.members for s in m.sectors))

    def version(self, lang: str) -> MatchRecord | None:
        return next((m for m in self.members if m.lang == lang), None)

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "organisation": self.organisation,
                "versions": [{"id": m.id, "lang": m.lang, "title": m.title} for m in self.members]}


def _order(record: MatchRecord) -> tuple[int, str]:
    rank = LANG_ORDER.index(record.lang) if record.lang in LANG_ORDER else len(LANG_ORDER)
    return rank, record.id


def _identities(record: MatchRecord) -> set[str]:
    text = f"{record.contact}\n{record.text}"
    found = {f"mail:{m.group(0).lower()}" for m in _EMAIL.finditer(text)}
    found |= {f"web:{m.group(1).lower().removeprefix('www.')}" for m in _URL.finditer(text)}
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= PHONE_DIGITS:
            found.add(f"tel:{digits[-PHONE_DIGITS:]}")
    return found


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", normalize_vi(text).casefold()).strip()


def same_organisation(a: MatchRecord, b: MatchRecord) -> bool:
    """Whether two forms name one organisation: contact details in common, or one's
    organisation name inside the other's ('도선그린수산 유한회사(Công ty TNHH Thủy sản Đồ Sơn Xanh)')."""
    if _identities(a) & _identities(b):
        return True
    name_a, name_b = _fold(a.organisation), _fold(b.organisation)
    if min(len(name_a), len(name_b)) < MIN_NAME_CHARS:
        return False
    return name_a in name_b or name_b in name_a


class Parties:
    """Every record's party. `Parties.build(records, links)`; links are (id, other id,
    confirmed) counterpart links, in either or both directions."""

    def __init__(self, parties: Iterable[Party]) -> None:
        self._parties = {p.id: p for p in parties}
        self._of = {m.id: p.id for p in self._parties.values() for m in p.members}

    @classmethod
    def build(cls, records: Iterable[MatchRecord], links: Iterable[tuple[str, str, bool]] = ()) -> Parties:
        by_id = {r.id: r for r in records}
        parent = {rid: rid for rid in by_id}

        def root(rid: str) -> str:
            while parent[rid] != rid:
                parent[rid] = parent[parent[rid]]
                rid = parent[rid]
            return rid

        def join(a: str, b: str) -> None:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

        groups: dict[tuple[str, str], str] = {}
        for rid, rec in sorted(by_id.items()):
            if rec.group.strip():
                join(rid, groups.setdefault((rec.kind, _fold(rec.group)), rid))
        for a, b, confirmed in links:
            ra, rb = by_id.get(a), by_id.get(b)
            if ra is not None and rb is not None and ra.kind == rb.kind and (confirmed or same_organisation(ra, rb)):
                join(a, b)
        members: dict[str, list[MatchRecord]] = {}
        for rid in by_id:
            members.setdefault(root(rid), []).append(by_id[rid])
        ordered = [tuple(sorted(group, key=_order)) for group in members.values()]
        return cls(Party(group[0].id, group[0].kind, group) for group in ordered)

    def of(self, record_id: str) -> Party | None:
        """The party of a record, or a party by its own id."""
        party_id = self._of.get(record_id)
        return self._parties.get(party_id) if party_id is not None else None

    def get(self, party_id: str) -> Party | None:
        return self._parties.get(party_id)

    def ids(self, kind: str) -> list[str]:
        return sorted(pid for pid, p in self._parties.items() if p.kind == kind)

    def shown(self, records: Mapping[str, MatchRecord]) -> Parties:
        """The same parties with each member replaced by `records`' version of it (a reader's
        view: contacts masked), so who is one party never depends on who is reading."""
        return Parties(Party(p.id, p.kind, tuple(records.get(m.id, m) for m in p.members)) for p in self._parties.values())

    def __iter__(self) -> Iterator[Party]:
        return iter(self._parties.values())

    def __len__(self) -> int:
        return len(self._parties)
