"""A document's counterpart: detection over the whole corpus, and a translator's decisions.

Precedence for one document: a confirmed link, then the detector's link unless the user
rejected that pair, then the index's vector-only link (same rejection rule). Decisions live
in the catalogue (`counterpart_decisions`), so re-indexing never loses them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from corpus.catalogue import Catalogue, utcnow
from indexer.counterparts import Counterpart, DocInfo, FeatureWeights, detect_counterparts, doc_info
from indexer.store import Index

DECISIONS = ("confirmed", "rejected")
DETECTED_KEY = "counterparts_detected_at"


class CounterpartError(ValueError):
    """A decision that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class CounterpartLink:
    doc_id: str
    other_id: str
    confidence: float
    status: str  # 'confirmed', 'detected' (catalogue, with features) or 'index' (vectors only)
    features: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"doc_id": self.doc_id, "other_id": self.other_id, "confidence": round(self.confidence, 4),
                "status": self.status, "features": dict(self.features)}


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def decide(cat: Catalogue, doc_id: str, other_id: str, decision: str, note: str = "") -> None:
    """Record (or replace) a decision. Confirming a pair withdraws other confirmations of
    either document, since a document has one counterpart."""
    if decision not in DECISIONS:
        raise CounterpartError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if doc_id == other_id:
        raise CounterpartError("a document cannot be its own counterpart")
    docs = cat.get_many([doc_id, other_id])
    for d in (doc_id, other_id):
        if d not in docs:
            raise CounterpartError(f"no document with id {d!r}")
    if decision == "confirmed" and docs[doc_id].lang == docs[other_id].lang:
        raise CounterpartError(f"both documents are in {docs[doc_id].lang!r}: a counterpart is in the other language")
    a, b = _ordered(doc_id, other_id)
    with cat.conn:
        if decision == "confirmed":
            cat.conn.execute("DELETE FROM counterpart_decisions WHERE decision='confirmed' AND "
                             "(doc_id IN (?,?) OR other_id IN (?,?))", (a, b, a, b))
        cat.conn.execute("INSERT OR REPLACE INTO counterpart_decisions (doc_id, other_id, decision, note,"
                         " decided_at) VALUES (?,?,?,?,?)", (a, b, decision, note, utcnow()))


def forget(cat: Catalogue, doc_id: str, other_id: str) -> bool:
    """Withdraw a decision; the detector's view applies again."""
    a, b = _ordered(doc_id, other_id)
    with cat.conn:
        cur = cat.conn.execute("DELETE FROM counterpart_decisions WHERE doc_id=? AND other_id=?", (a, b))
    return cur.rowcount > 0


def decisions(cat: Catalogue, doc_id: str | None = None) -> list[tuple[str, str, str]]:
    """(doc_id, other_id, decision) rows, for one document or all."""
    sql, args = "SELECT doc_id, other_id, decision FROM counterpart_decisions", ()
    if doc_id:
        sql, args = sql + " WHERE doc_id=? OR other_id=?", (doc_id, doc_id)  # type: ignore[assignment]
    return [(r[0], r[1], r[2]) for r in cat.conn.execute(sql + " ORDER BY doc_id, other_id", args)]


def get_counterpart(index: Index | None, cat: Catalogue, doc_id: str) -> CounterpartLink | None:
    """The counterpart to show and align for a document: confirmed > rejected > detected."""
    rejected = set()
    for a, b, decision in decisions(cat, doc_id):
        other = b if a == doc_id else a
        if decision == "confirmed":
            return CounterpartLink(doc_id, other, 1.0, "confirmed")
        rejected.add(other)
    row = cat.conn.execute("SELECT other_id, confidence, features FROM counterparts WHERE doc_id=?",
                           (doc_id,)).fetchone()
    if row is not None and row["other_id"] not in rejected:
        feats = tuple((k, float(v)) for k, v in json.loads(row["features"]).items())
        return CounterpartLink(doc_id, row["other_id"], float(row["confidence"]), "detected", feats)
    # Once align-all has run, its detector (which saw more than the vectors) has the last word.
    link = index.counterparts.get(doc_id) if index is not None and not cat.get_meta(DETECTED_KEY) else None
    if link is not None and link.other_id not in rejected:
        return CounterpartLink(doc_id, link.other_id, link.confidence, "index")
    return None


def all_links(index: Index | None, cat: Catalogue, min_confidence: float = 0.0) -> list[tuple[str, str, CounterpartLink]]:
    """Every (vi_id, ko_id, link) pair to align: confirmed pairs, plus detected pairs at or
    above min_confidence that no decision rejects or overrides."""
    langs = {r[0]: r[1] for r in cat.conn.execute("SELECT id, lang FROM documents")}
    seen: set[str] = set()
    out = []
    for doc_id in sorted(d for d, lang in langs.items() if lang == "vi"):
        link = get_counterpart(index, cat, doc_id)
        if link is None or link.other_id in seen or langs.get(link.other_id) != "ko":
            continue
        if link.status != "confirmed" and link.confidence < min_confidence:
            continue
        back = get_counterpart(index, cat, link.other_id)
        if back is None or back.other_id != doc_id:
            continue  # the Korean side is confirmed with another document
        seen.add(link.other_id)
        out.append((doc_id, link.other_id, link))
    return out


def detect_all(index: Index, cat: Catalogue, weights: FeatureWeights | None = None) -> list[Counterpart]:
    """Run the feature-aware detector over the indexed documents and store its links."""
    ids = {lang: [d for d in index.doc_ids if index.doc_lang[d] == lang] for lang in ("vi", "ko")}
    docs = cat.get_many(ids["vi"] + ids["ko"])
    ids = {lang: [d for d in group if d in docs] for lang, group in ids.items()}
    infos: dict[str, DocInfo] = {d: doc_info(d, doc.lang, doc.title + "\n" + doc.text, doc.date)
                                 for d, doc in docs.items()}
    vecs = {lang: index.doc_matrix[[index.doc_position[d] for d in group]] for lang, group in ids.items()}
    found = detect_counterparts(ids["vi"], vecs["vi"], ids["ko"], vecs["ko"], infos, weights=weights)
    now = utcnow()
    with cat.conn:
        cat.conn.execute("DELETE FROM counterparts")
        cat.conn.executemany(
            "INSERT INTO counterparts (doc_id, other_id, confidence, margin, features, detected_at)"
            " VALUES (?,?,?,?,?,?)",
            [(c.doc_id, c.other_id, c.confidence, c.margin, json.dumps(dict(c.features)), now) for c in found])
    cat.set_meta(DETECTED_KEY, now)
    return found
