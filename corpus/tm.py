"""Translation memory in the catalogue: aligned sentence pairs with their provenance.

Every unit keeps both texts as given plus search keys (lowercase, NFC, one Vietnamese tone
placement; and an accent-folded copy of the Vietnamese side) that the trigram FTS5 index in
migration 0003 covers, so concordance search is a substring match in either language.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from viko.corpus.catalogue import Catalogue, utcnow
from viko.corpus.textnorm import fold_vi, nfc, normalize_vi

ORIGINS = ("aligned", "mined", "tmx")
# What each origin means, for the pages, the CLI and the TMX export (x-origin).
ORIGIN_NOTES = {"aligned": "aligned from a confirmed or claimed translation pair",
                "mined": "mined: a look-alike sentence pair from two documents that are not translations",
                "tmx": "imported from a translation memory"}
SEARCH_COLUMNS = ("vi_key", "ko_key", "vi_fold")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def search_key(text: str) -> str:
    """The one search form of a text: NFC, lowercase, one tone placement per Vietnamese
    syllable ('Hoà' and 'hòa' are both 'hòa'), accents kept. The translation memory stores it
    (vi_key, ko_key), concordance queries and glossary terms are put in it. It keeps the
    length of NFC text, so offsets found in the key are offsets in the text."""
    return normalize_vi(nfc(text).lower())


def fold_key(text: str) -> str:
    """The accent-folded form ('Hợp tác' -> 'hop tac', the vi_fold column): an unaccented
    query matches accented text through it. Also length-preserving for Vietnamese."""
    return fold_vi(nfc(text))


@dataclass(frozen=True)
class Unit:
    """One translation unit: a Vietnamese segment and its Korean translation."""

    vi: str
    ko: str
    origin: str = "aligned"
    score: float = 0.0
    vi_doc: str = ""
    ko_doc: str = ""
    vi_sents: tuple[int, ...] = ()
    ko_sents: tuple[int, ...] = ()
    source: str = ""
    id: int = 0
    created_at: str = field(default="", compare=False)

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "vi": self.vi, "ko": self.ko, "origin": self.origin,
                "score": round(self.score, 4), "vi_doc": self.vi_doc, "ko_doc": self.ko_doc,
                "vi_sents": list(self.vi_sents), "ko_sents": list(self.ko_sents), "source": self.source}


_COLUMNS = "id, vi, ko, score, origin, vi_doc, ko_doc, vi_sents, ko_sents, source, created_at"


def row_to_unit(r: sqlite3.Row) -> Unit:
    return Unit(vi=r["vi"], ko=r["ko"], origin=r["origin"], score=float(r["score"]),
                vi_doc=r["vi_doc"], ko_doc=r["ko_doc"],
                vi_sents=tuple(json.loads(r["vi_sents"])), ko_sents=tuple(json.loads(r["ko_sents"])),
                source=r["source"], id=int(r["id"]), created_at=r["created_at"])


class TranslationMemory:
    """Facade over the tm_units table of a catalogue."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.cat = catalogue
        self.conn = catalogue.conn

    def add_many(self, units: Iterable[Unit]) -> int:
        """Insert units (the caller wraps this in a transaction when it also deletes)."""
        now = utcnow()
        rows = [(u.vi, u.ko, search_key(u.vi), search_key(u.ko), fold_key(u.vi), float(u.score),
                 u.origin, u.vi_doc, u.ko_doc, json.dumps(list(u.vi_sents)), json.dumps(list(u.ko_sents)),
                 u.source, now) for u in units if u.vi.strip() and u.ko.strip()]
        for u in rows:
            if u[6] not in ORIGINS:
                raise ValueError(f"unknown translation unit origin {u[6]!r}")
        self.conn.executemany(
            "INSERT INTO tm_units (vi, ko, vi_key, ko_key, vi_fold, score, origin, vi_doc, ko_doc,"
            " vi_sents, ko_sents, source, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        return len(rows)

    def replace_pair(self, vi_doc: str, ko_doc: str, units: Iterable[Unit], *, origin: str = "aligned") -> int:
        """Swap the stored units of one document pair for new ones, atomically."""
        with self.conn:
            self.conn.execute("DELETE FROM tm_units WHERE origin=? AND vi_doc=? AND ko_doc=?",
                              (origin, vi_doc, ko_doc))
            return self.add_many(units)

    def delete(self, *, origin: str, source: str | None = None) -> int:
        sql, args = "DELETE FROM tm_units WHERE origin=?", [origin]
        if source is not None:
            sql, args = sql + " AND source=?", [*args, source]
        with self.conn:
            return self.conn.execute(sql, args).rowcount

    def replace_source(self, *, origin: str, source: str, units: Iterable[Unit]) -> int:
        """The units of one imported file replace those of its previous import."""
        with self.conn:
            self.conn.execute("DELETE FROM tm_units WHERE origin=? AND source=?", (origin, source))
            return self.add_many(units)

    def units(self, *, origin: str | None = None, pair: tuple[str, str] | None = None,
              ids: Iterable[int] | None = None, include_mined: bool = True,
              visible: Sequence[str] | None = None) -> Iterator[Unit]:
        """Stored units, filtered by origin, by document pair (either order), or by id; without
        `include_mined`, the mined sentence pairs (look-alikes found across documents, not
        translations by anyone's word) are left out; with `visible` (the visibilities a reader
        may see, viko.corpus.access), the units of a document they may not see are too."""
        where: list[str] = []
        args: list[str | int] = []
        if visible is not None:
            where.append(visible_clause(visible))
            args += list(visible)
        if origin:
            where.append("origin=?")
            args.append(origin)
        if not include_mined:
            where.append("origin!='mined'")
        if pair:
            where.append("((vi_doc=? AND ko_doc=?) OR (vi_doc=? AND ko_doc=?))")
            args += [pair[0], pair[1], pair[1], pair[0]]
        if ids is not None:
            wanted = [int(i) for i in ids]
            if not wanted:
                return
            where.append(f"id IN ({','.join('?' * len(wanted))})")
            args += wanted
        sql = f"SELECT {_COLUMNS} FROM tm_units"
        if where:
            sql += " WHERE " + " AND ".join(where)
        for row in self.conn.execute(sql + " ORDER BY id", args):
            yield row_to_unit(row)

    def containing(self, column: str, needle: str, limit: int) -> list[int]:
        """Ids of units whose search key `column` (vi_key, ko_key, vi_fold) contains `needle`:
        the trigram FTS index for 3+ characters, a LIKE scan below that."""
        if column not in SEARCH_COLUMNS:
            raise ValueError(f"unknown search column {column!r}")
        # A control character is a separator (SQLite's FTS parser stops a string at NUL).
        needle = _CONTROL.sub(" ", needle)
        if len(needle) >= 3:
            phrase = '"' + needle.replace('"', '""') + '"'
            sql = f"SELECT rowid FROM tm_fts WHERE {column} MATCH ? LIMIT {int(limit)}"
            return [r[0] for r in self.conn.execute(sql, (phrase,))]
        like = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        sql = f"SELECT id FROM tm_units WHERE {column} LIKE ? ESCAPE '\\' LIMIT {int(limit)}"
        return [r[0] for r in self.conn.execute(sql, (f"%{like}%",))]

    def search_keys(self, column: str, ids: Sequence[int], batch: int = 900) -> dict[int, str]:
        """The stored search key `column` (vi_key, ko_key, vi_fold) of the units `ids`."""
        if column not in SEARCH_COLUMNS:
            raise ValueError(f"unknown search column {column!r}")
        out: dict[int, str] = {}
        wanted = [int(i) for i in ids]
        for start in range(0, len(wanted), batch):
            chunk = wanted[start : start + batch]
            out.update((int(r[0]), r[1]) for r in self.conn.execute(
                f"SELECT id, {column} FROM tm_units WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        return out

    # -- which document pairs are aligned, and which documents mined ---------------------
    def aligned_pairs(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(vi doc, ko doc) -> (vi content hash, ko content hash) each pair was aligned against."""
        return {(r[0], r[1]): (r[2], r[3]) for r in self.conn.execute(
            "SELECT vi_doc, ko_doc, vi_hash, ko_hash FROM aligned_pairs")}

    def store_alignment(self, vi_doc: str, ko_doc: str, hashes: tuple[str, str], units: Iterable[Unit]) -> int:
        """Replace one pair's aligned units and remember the contents they came from."""
        units = list(units)
        score = sum(u.score for u in units) / len(units) if units else 0.0
        with self.conn:
            self.conn.execute("DELETE FROM tm_units WHERE origin='aligned' AND vi_doc=? AND ko_doc=?", (vi_doc, ko_doc))
            n = self.add_many(units)
            self.conn.execute("INSERT OR REPLACE INTO aligned_pairs (vi_doc, ko_doc, vi_hash, ko_hash, links,"
                              " score, aligned_at) VALUES (?,?,?,?,?,?,?)",
                              (vi_doc, ko_doc, hashes[0], hashes[1], n, score, utcnow()))
        return n

    def drop_pairs(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Forget the aligned units of document pairs that are no longer counterparts."""
        with self.conn:
            for vi_doc, ko_doc in pairs:
                self.conn.execute("DELETE FROM tm_units WHERE origin='aligned' AND vi_doc=? AND ko_doc=?",
                                  (vi_doc, ko_doc))
                self.conn.execute("DELETE FROM aligned_pairs WHERE vi_doc=? AND ko_doc=?", (vi_doc, ko_doc))

    def mined_docs(self) -> dict[str, str]:
        """Documents already compared by mining, with the content hash they had then."""
        return {r[0]: r[1] for r in self.conn.execute("SELECT doc_id, content_hash FROM mined_docs")}

    def store_mined(self, docs: Mapping[str, str], units: Iterable[Unit], forget: Iterable[str] = ()) -> int:
        """Atomically: drop the mined units touching `docs` or `forget` (changed or deleted
        documents), add the new ones, and mark `docs` (id -> hash) as mined."""
        stale = sorted(set(docs) | set(forget))
        now = utcnow()
        with self.conn:
            for start in range(0, len(stale), 400):
                part = stale[start : start + 400]
                marks = ",".join("?" * len(part))
                self.conn.execute(f"DELETE FROM tm_units WHERE origin='mined' AND (vi_doc IN ({marks})"
                                  f" OR ko_doc IN ({marks}))", part + part)
                self.conn.execute(f"DELETE FROM mined_docs WHERE doc_id IN ({marks})", part)
            n = self.add_many(units)
            self.conn.executemany("INSERT INTO mined_docs (doc_id, content_hash, mined_at) VALUES (?,?,?)",
                                  [(d, h, now) for d, h in docs.items()])
        return n

    def count(self, visible: Sequence[str] | None = None) -> dict[str, int]:
        where = "" if visible is None else " WHERE " + visible_clause(visible)
        return {r[0]: int(r[1]) for r in self.conn.execute(
            f"SELECT origin, COUNT(*) FROM tm_units{where} GROUP BY origin", list(visible or ()))}


def visible_clause(visible: Sequence[str]) -> str:
    """SQL: a unit none of whose documents has a visibility outside `visible` (its ? marks)."""
    marks = ",".join("?" * len(visible))
    return ("NOT EXISTS (SELECT 1 FROM documents d WHERE d.id IN (tm_units.vi_doc, tm_units.ko_doc)"
            f" AND d.visibility NOT IN ({marks}))")
