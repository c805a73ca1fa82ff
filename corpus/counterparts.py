"""A document's counterpart (its translation in the other language): one truth, in the catalogue.

Two kinds of facts are stored, and only here:
- the detector's links (`viko index` / `align-all` write them; one row per direction, with the
  confidence and the features that produced it), and the content hash of every document the
  detector has matched, so the next run re-matches only new or changed documents;
- the translators' decisions (confirmed / rejected pairs), kept across re-indexing.

Every reader (ranking and its relevance floor, related documents, the API's `counterpart_id`,
the document page, the workbench) asks the same question through `resolve`: a confirmed pair
wins with confidence 1, a rejected pair is never used, and a detected link stands only when
neither document is confirmed with a third one. `get_counterpart` answers it for one document,
`Counterparts.load` for all of them; `decide` and `forget` record a translator's decision.
The detector that writes the links runs in the workbench (workbench.detect, workbench.pairing).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

from viko.corpus.catalogue import Catalogue, utcnow

DECISIONS = ("confirmed", "rejected")
STATUSES = ("detected", "confirmed")
# A detected link is *claimed* (shown as the counterpart, bridged fully, aligned into the
# translation memory) only at or above this confidence and only when its sentences were
# compared (workbench.evidence); below it the link is a "possible translation" that a person
# may confirm or reject. Chosen on the dev mix for precision >= 0.98 (docs/benchmarks.md).
CLAIM_CONFIDENCE = 0.85
# Features whose name starts with this are measurements (share of aligned sentences...), not
# log-odds contributions; they travel in the same stored JSON.
EVIDENCE_PREFIX = "evidence:"
KINDS = ("confirmed", "claimed", "possible")


class CounterpartError(ValueError):
    """A decision that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class Counterpart:
    """A link from a document to its counterpart. status: 'detected' (by the feature detector,
    with `confidence` in 0..1) or 'confirmed' (by a person, confidence 1)."""

    doc_id: str
    other_id: str
    confidence: float
    status: str = "detected"
    margin: float = 0.0
    features: tuple[tuple[str, float], ...] = ()  # (name, contribution to the log-odds)

    @property
    def verified(self) -> bool:
        """The detector compared the two documents sentence by sentence."""
        return any(name == "sentences" for name, _ in self.features)

    @property
    def claimed(self) -> bool:
        """Confirmed by a person, or detected as a translation on sentence-level evidence."""
        return self.status == "confirmed" or (self.verified and self.confidence >= CLAIM_CONFIDENCE)

    @property
    def kind(self) -> str:
        """confirmed, claimed (a translation by the detector) or possible (a guess to check)."""
        return "confirmed" if self.status == "confirmed" else "claimed" if self.claimed else "possible"

    def contributions(self) -> dict[str, float]:
        return {k: v for k, v in self.features if not k.startswith(EVIDENCE_PREFIX)}

    def evidence(self) -> dict[str, float]:
        return {k[len(EVIDENCE_PREFIX):]: v for k, v in self.features if k.startswith(EVIDENCE_PREFIX)}

    def reasons(self) -> list[str]:
        """Why the detector says what it says, in words (the document page, `counterpart show`)."""
        return link_reasons(self)

    def to_json(self) -> dict[str, object]:
        return {"doc_id": self.doc_id, "other_id": self.other_id, "confidence": round(self.confidence, 4),
                "status": self.status, "kind": self.kind, "claimed": self.claimed,
                "features": self.contributions(), "evidence": self.evidence(), "reasons": self.reasons()}


def link_reasons(link: Counterpart) -> list[str]:
    if link.status == "confirmed":
        return ["confirmed by a person"]
    ev, feats = link.evidence(), link.contributions()
    out = []
    if "sent_share" in ev:
        out.append(f"{int(ev.get('sent_strong', 0))} of {int(ev.get('sent_total', 0))} sentences align 1-1 "
                   f"in order with a clear margin ({ev['sent_share']:.0%})")
    else:
        out.append("not compared sentence by sentence yet (document similarity only; `viko align-all` compares)")
    if "order" in ev:
        out.append(f"numbers and names in the same order: {ev['order']:.0%}")
    if feats.get("length_far", 0.0) < 0:
        out.append("lengths differ more than translations usually do")
    if "cosine" in feats:
        out.append(f"document similarity adds {feats.get('cosine', 0) + feats.get('margin', 0) + feats.get('lead', 0):+.2f}"
                   " to the log-odds")
    return out


@dataclass(frozen=True)
class Decision:
    doc_id: str  # the smaller id of the pair
    other_id: str
    decision: str
    note: str = ""


def ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def resolve(doc_id: str, detected: Counterpart | None, decisions: Iterable[Decision],
            confirmed_elsewhere: Mapping[str, str]) -> Counterpart | None:
    """The one rule. `decisions` are those naming doc_id; `confirmed_elsewhere` maps a
    document to its confirmed counterpart (for the detected partner's side)."""
    rejected = set()
    for d in decisions:
        other = d.other_id if d.doc_id == doc_id else d.doc_id
        if d.decision == "confirmed":
            return Counterpart(doc_id, other, 1.0, "confirmed")
        rejected.add(other)
    if detected is None or detected.other_id in rejected:
        return None
    if confirmed_elsewhere.get(detected.other_id, doc_id) != doc_id:
        return None  # the partner is confirmed with a third document
    return detected


class Counterparts:
    """Every document's counterpart, read once from the catalogue (a lookup for ranking, which
    asks for every ranked candidate). `Counterparts.load(cat)` or `Counterparts.of(links)`."""

    def __init__(self, links: Mapping[str, Counterpart] | None = None) -> None:
        self._links = dict(links or {})

    @classmethod
    def load(cls, cat: Catalogue) -> Counterparts:
        return CounterpartStore(cat).lookup()

    @classmethod
    def of(cls, links: Iterable[Counterpart], decisions: Iterable[Decision] = ()) -> Counterparts:
        """Detected links (both directions) with decisions applied, without a catalogue."""
        detected = {c.doc_id: c for c in links}
        by_doc: dict[str, list[Decision]] = {}
        confirmed: dict[str, str] = {}
        for d in decisions:
            by_doc.setdefault(d.doc_id, []).append(d)
            by_doc.setdefault(d.other_id, []).append(d)
            if d.decision == "confirmed":
                confirmed[d.doc_id], confirmed[d.other_id] = d.other_id, d.doc_id
        out = {}
        for doc_id in set(detected) | set(by_doc):
            link = resolve(doc_id, detected.get(doc_id), by_doc.get(doc_id, ()), confirmed)
            if link is not None:
                out[doc_id] = link
        return cls(out)

    def get(self, doc_id: str) -> Counterpart | None:
        return self._links.get(doc_id)

    def without(self, hidden: Collection[str]) -> Counterparts:
        """The links that touch none of the hidden documents (what a viewer may follow)."""
        return Counterparts({d: c for d, c in self._links.items() if d not in hidden and c.other_id not in hidden})

    def other(self, doc_id: str) -> str | None:
        link = self._links.get(doc_id)
        return link.other_id if link is not None else None

    def __len__(self) -> int:
        return len(self._links)

    def __iter__(self) -> Iterator[Counterpart]:
        return iter(self._links.values())


class CounterpartStore:
    """Facade over the `counterparts`, `counterpart_matched` and `counterpart_decisions` tables."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.conn = cat.conn

    # -- reading -----------------------------------------------------------------------
    def get(self, doc_id: str) -> Counterpart | None:
        """One document's counterpart, by the same rule as `lookup` (a handful of rows)."""
        mine = self.decisions(doc_id)
        detected = self.detected(doc_id)
        confirmed: dict[str, str] = {}
        if detected is not None:
            for d in self.decisions(detected.other_id):
                if d.decision == "confirmed":
                    confirmed[d.doc_id], confirmed[d.other_id] = d.other_id, d.doc_id
        return resolve(doc_id, detected, mine, confirmed)

    def lookup(self) -> Counterparts:
        return Counterparts.of(self.detected_links(), self.decisions())

    def detected(self, doc_id: str) -> Counterpart | None:
        row = self.conn.execute("SELECT doc_id, other_id, confidence, margin, features FROM counterparts"
                                " WHERE doc_id=?", (doc_id,)).fetchone()
        return _row_to_link(row) if row is not None else None

    def detected_links(self) -> list[Counterpart]:
        return [_row_to_link(r) for r in self.conn.execute(
            "SELECT doc_id, other_id, confidence, margin, features FROM counterparts ORDER BY doc_id")]

    def decisions(self, doc_id: str | None = None) -> list[Decision]:
        sql, args = "SELECT doc_id, other_id, decision, note FROM counterpart_decisions", ()
        if doc_id:
            sql, args = sql + " WHERE doc_id=? OR other_id=?", (doc_id, doc_id)  # type: ignore[assignment]
        return [Decision(r[0], r[1], r[2], r[3]) for r in self.conn.execute(sql + " ORDER BY doc_id, other_id", args)]

    def matched_hashes(self) -> dict[str, str]:
        """Content hash of every document as the detector last saw it."""
        return {r[0]: r[1] for r in self.conn.execute("SELECT doc_id, content_hash FROM counterpart_matched")}

    # -- the detector's results ---------------------------------------------------------
    def replace_detected(self, dropped: Iterable[str], links: Iterable[Counterpart],
                         matched: Mapping[str, str]) -> None:
        """Atomically: forget the links of `dropped` documents (either direction), store the
        new links, and record the hashes the detector saw (documents not in `matched` that
        are in `dropped` are forgotten altogether: deleted documents)."""
        dropped = list(dropped)
        now = utcnow()
        with self.conn:
            for start in range(0, len(dropped), 400):
                part = dropped[start : start + 400]
                marks = ",".join("?" * len(part))
                self.conn.execute(f"DELETE FROM counterparts WHERE doc_id IN ({marks}) OR other_id IN ({marks})",
                                  part + part)
                self.conn.execute(f"DELETE FROM counterpart_matched WHERE doc_id IN ({marks})", part)
            self.conn.executemany(
                "INSERT OR REPLACE INTO counterparts (doc_id, other_id, confidence, margin, features, detected_at)"
                " VALUES (?,?,?,?,?,?)",
                [(c.doc_id, c.other_id, c.confidence, c.margin, json.dumps(dict(c.features)), now) for c in links])
            self.conn.executemany("INSERT OR REPLACE INTO counterpart_matched (doc_id, content_hash) VALUES (?,?)",
                                  list(matched.items()))

    # -- decisions -----------------------------------------------------------------------
    def decide(self, doc_id: str, other_id: str, decision: str, note: str = "") -> None:
        """Record (or replace) a decision. Confirming a pair withdraws other confirmations of
        either document, since a document has one counterpart."""
        if decision not in DECISIONS:
            raise CounterpartError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        if doc_id == other_id:
            raise CounterpartError("a document cannot be its own counterpart")
        docs = self.cat.get_many([doc_id, other_id])
        for d in (doc_id, other_id):
            if d not in docs:
                raise CounterpartError(f"no document with id {d!r}")
        if decision == "confirmed" and docs[doc_id].lang == docs[other_id].lang:
            raise CounterpartError(f"both documents are in {docs[doc_id].lang!r}: a counterpart is in the other language")
        a, b = ordered(doc_id, other_id)
        with self.conn:
            if decision == "confirmed":
                self.conn.execute("DELETE FROM counterpart_decisions WHERE decision='confirmed' AND "
                                  "(doc_id IN (?,?) OR other_id IN (?,?))", (a, b, a, b))
            self.conn.execute("INSERT OR REPLACE INTO counterpart_decisions (doc_id, other_id, decision, note,"
                              " decided_at) VALUES (?,?,?,?,?)", (a, b, decision, note, utcnow()))

    def forget(self, doc_id: str, other_id: str) -> bool:
        """Withdraw a decision; the detector's view applies again."""
        a, b = ordered(doc_id, other_id)
        with self.conn:
            cur = self.conn.execute("DELETE FROM counterpart_decisions WHERE doc_id=? AND other_id=?", (a, b))
        return cur.rowcount > 0


def get_counterpart(cat: Catalogue, doc_id: str) -> Counterpart | None:
    """The counterpart to show and align for one document (confirmed > rejected > detected)."""
    return CounterpartStore(cat).get(doc_id)


def decide(cat: Catalogue, doc_id: str, other_id: str, decision: str, note: str = "") -> None:
    """Record a translator's decision on a pair (see CounterpartStore.decide)."""
    CounterpartStore(cat).decide(doc_id, other_id, decision, note)


def forget(cat: Catalogue, doc_id: str, other_id: str) -> bool:
    """Withdraw a decision; the detector's view applies again."""
    return CounterpartStore(cat).forget(doc_id, other_id)


def _row_to_link(r: sqlite3.Row) -> Counterpart:
    feats = tuple((k, float(v)) for k, v in json.loads(r[4] or "{}").items())
    return Counterpart(r[0], r[1], float(r[2]), "detected", float(r[3]), feats)
