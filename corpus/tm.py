"""Translation memory in the catalogue: aligned sentence pairs with their provenance.

Every unit keeps both texts as given plus search keys (lowercase, NFC, one Vietnamese tone
placement; and an accent-folded copy of the Vietnamese side) that the trigram FTS5 index in
migration 0003 covers, so concordance search is a substring match in either language.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from corpus.catalogue import Catalogue, utcnow
from corpus.textnorm import fold_vi, nfc, normalize_vi

ORIGINS = ("aligned", "mined", "tmx")


def search_key(text: str) -> str:
    """The form both the index and the query use; keeps the length of NFC text, so offsets
    found in the key are offsets in the text."""
    return normalize_vi(nfc(text).lower())


def fold_key(text: str) -> str:
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

    def units(self, *, origin: str | None = None, pair: tuple[str, str] | None = None,
              ids: Iterable[int] | None = None) -> Iterator[Unit]:
        """Stored units, filtered by origin, by document pair (either order), or by id."""
        where: list[str] = []
        args: list[str | int] = []
        if origin:
            where.append("origin=?")
            args.append(origin)
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

    def count(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self.conn.execute("SELECT origin, COUNT(*) FROM tm_units GROUP BY origin")}
