"""Duplicate documents: exact (same normalised text) and near (SimHash over word 3-shingles).

A syndicated article stored from two sites stays in the catalogue twice (both URLs are
real sources) but is indexed once: the first one seen is canonical, the others point to
it in doc_duplicates, and `sources_of` lists every site that carries it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from viko.corpus.catalogue import Catalogue, utcnow
from viko.corpus.document import Document
from viko.corpus.textnorm import fold_vi

BITS = 64
BAND_BITS = (8, 7, 7, 7, 7, 7, 7, 7, 7)  # 9 bands: distance <= 8 shares at least one band
MAX_DISTANCE = 8
MIN_LENGTH_RATIO = 0.6  # near-duplicates have similar lengths
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Fingerprint:
    text_hash: str
    simhash: int  # unsigned 64-bit
    length: int


@dataclass(frozen=True)
class Duplicate:
    doc_id: str
    canonical_id: str
    kind: str  # 'exact' or 'near'
    distance: int


@dataclass(frozen=True)
class Source:
    id: str
    url: str
    source: str
    date: str
    kind: str  # 'canonical', 'exact' or 'near'


def _words(text: str) -> list[str]:
    return _WORD.findall(fold_vi(text))


def fingerprint(text: str) -> Fingerprint:
    words = _words(text)
    norm = " ".join(words)
    shingles = {" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))}
    weights = [0] * BITS
    for shingle in shingles:
        h = int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(BITS):
            weights[bit] += 1 if h >> bit & 1 else -1
    simhash = sum(1 << bit for bit in range(BITS) if weights[bit] > 0)
    return Fingerprint(hashlib.sha1(norm.encode("utf-8")).hexdigest(), simhash, len(norm))


def bands(simhash: int) -> list[int]:
    out, shift = [], 0
    for width in BAND_BITS:
        out.append(simhash >> shift & ((1 << width) - 1))
        shift += width
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def register(cat: Catalogue, doc: Document) -> Duplicate | None:
    """Fingerprint doc (replacing an older fingerprint) and record whether it duplicates an
    earlier document of the same language. Call inside a transaction for speed."""
    fp = fingerprint(doc.text)
    conn = cat.conn
    conn.execute("DELETE FROM doc_simhash_bands WHERE doc_id=?", (doc.id,))
    conn.execute("DELETE FROM doc_duplicates WHERE doc_id=?", (doc.id,))
    found = _find(cat, doc, fp)
    conn.execute("INSERT OR REPLACE INTO doc_fingerprints VALUES (?,?,?,?,?,?)",
                 (doc.id, doc.lang, doc.content_hash, fp.text_hash, _signed(fp.simhash), fp.length))
    conn.executemany("INSERT OR IGNORE INTO doc_simhash_bands VALUES (?,?,?)",
                     [(i, v, doc.id) for i, v in enumerate(bands(fp.simhash))])
    if found:
        conn.execute("INSERT INTO doc_duplicates VALUES (?,?,?,?,?)",
                     (found.doc_id, found.canonical_id, found.kind, found.distance, utcnow()))
    return found


def _find(cat: Catalogue, doc: Document, fp: Fingerprint) -> Duplicate | None:
    conn = cat.conn
    row = conn.execute("SELECT doc_id FROM doc_fingerprints WHERE text_hash=? AND doc_id<>? AND lang=?"
                       " ORDER BY rowid LIMIT 1", (fp.text_hash, doc.id, doc.lang)).fetchone()
    if row:
        return Duplicate(doc.id, _canonical(cat, row[0]), "exact", 0)
    clauses = " OR ".join("(b.band=? AND b.value=?)" for _ in BAND_BITS)
    args = [x for i, v in enumerate(bands(fp.simhash)) for x in (i, v)]
    rows = conn.execute(
        f"SELECT DISTINCT f.doc_id, f.simhash, f.length FROM doc_simhash_bands b JOIN doc_fingerprints f"
        f" ON f.doc_id=b.doc_id WHERE ({clauses}) AND f.doc_id<>? AND f.lang=? ORDER BY f.rowid",
        (*args, doc.id, doc.lang)).fetchall()
    best: tuple[int, str] | None = None
    for other_id, simhash, length in rows:
        distance = bin(_unsigned(simhash) ^ fp.simhash).count("1")
        ratio = min(length, fp.length) / max(length, fp.length, 1)
        if distance <= MAX_DISTANCE and ratio >= MIN_LENGTH_RATIO and (best is None or distance < best[0]):
            best = (distance, other_id)
    if best is None:
        return None
    return Duplicate(doc.id, _canonical(cat, best[1]), "near", best[0])


def _canonical(cat: Catalogue, doc_id: str) -> str:
    row = cat.conn.execute("SELECT canonical_id FROM doc_duplicates WHERE doc_id=?", (doc_id,)).fetchone()
    return str(row[0]) if row else doc_id


def refresh(cat: Catalogue) -> int:
    """Fingerprint documents that are new or changed since their last fingerprint (e.g.
    imported from JSONL) and forget deleted ones. Returns how many were fingerprinted."""
    conn = cat.conn
    stale = [r[0] for r in conn.execute(
        "SELECT d.id FROM documents d LEFT JOIN doc_fingerprints f ON f.doc_id=d.id"
        " WHERE f.doc_id IS NULL OR f.content_hash<>d.content_hash ORDER BY d.added_at, d.id")]
    with conn:
        for table, column in (("doc_fingerprints", "doc_id"), ("doc_simhash_bands", "doc_id"),
                              ("doc_duplicates", "doc_id"), ("doc_duplicates", "canonical_id")):
            conn.execute(f"DELETE FROM {table} WHERE {column} NOT IN (SELECT id FROM documents)")
        for doc in cat.get_many(stale).values():
            register(cat, doc)
    return len(stale)


def duplicate_ids(cat: Catalogue) -> set[str]:
    return {r[0] for r in cat.conn.execute("SELECT doc_id FROM doc_duplicates")}


# Why a stored document is not indexed, by its doc_duplicates kind: the one place that decides
# is indexable_documents (every duplicate of another document is left out).
SKIP_REASONS = {"exact": "exact duplicate", "near": "near duplicate"}


@dataclass(frozen=True)
class NotIndexed:
    """The stored documents indexable_documents leaves out: how many per reason, and a few of
    them with the document each one duplicates."""

    by_reason: dict[str, int]
    examples: list[Duplicate]

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def to_json(self) -> dict[str, object]:
        return {"documents": self.total, "by_reason": dict(self.by_reason),
                "examples": [{"id": d.doc_id, "reason": SKIP_REASONS.get(d.kind, d.kind), "of": d.canonical_id}
                             for d in self.examples]}


def not_indexed(cat: Catalogue, examples: int = 5) -> NotIndexed:
    """What indexable_documents leaves out of the index and why (as of the last fingerprinting:
    documents imported since are waiting for `viko index` anyway)."""
    by_reason: dict[str, int] = {}
    for kind, n in cat.conn.execute("SELECT kind, COUNT(*) FROM doc_duplicates GROUP BY kind ORDER BY kind"):
        by_reason[SKIP_REASONS.get(kind, str(kind))] = int(n)
    rows = cat.conn.execute("SELECT doc_id, canonical_id, kind, distance FROM doc_duplicates"
                            " ORDER BY rowid LIMIT ?", (max(0, examples),)).fetchall()
    return NotIndexed(by_reason, [Duplicate(r[0], r[1], r[2], int(r[3])) for r in rows])


def indexable_documents(cat: Catalogue) -> list[Document]:
    """Every document except those that duplicate another: what the indexer should see."""
    refresh(cat)
    skip = duplicate_ids(cat)
    return [doc for doc in cat.iter_documents() if doc.id not in skip]


def sources_of(cat: Catalogue, doc_id: str) -> list[Source]:
    """Every stored copy of a document (itself first when canonical), with URL and site."""
    canonical = _canonical(cat, doc_id)
    rows = cat.conn.execute(
        "SELECT d.id, d.url, d.source, d.date, COALESCE(x.kind, 'canonical') AS kind FROM documents d"
        " LEFT JOIN doc_duplicates x ON x.doc_id=d.id WHERE d.id=? OR x.canonical_id=?"
        " ORDER BY x.kind IS NOT NULL, d.added_at, d.id", (canonical, canonical)).fetchall()
    return [Source(r["id"], r["url"], r["source"], r["date"], r["kind"]) for r in rows]
