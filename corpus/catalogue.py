"""The SQLite catalogue: every document viko knows, plus numbered schema migrations.

WAL mode lets the web server read while `viko import` or the crawler writes.
Migrations are plain SQL files in corpus/migrations named NNNN_name.sql, applied in order.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from viko.corpus.document import Document


class CatalogueError(RuntimeError):
    pass


# The disk or file system refusing a write: what `storage_failure` recognises.
_FULL = {errno.ENOSPC, errno.EDQUOT}
_STORAGE_ERRNOS = _FULL | {errno.EROFS, errno.EIO, errno.EFBIG}
_SQLITE_STORAGE = {13: "the disk is full", 10: "disk I/O error", 8: "the catalogue is read-only",
                   14: "the catalogue file cannot be opened"}  # SQLITE_FULL, _IOERR, _READONLY, _CANTOPEN
_SQLITE_WORDS = {13: "database or disk is full", 10: "disk I/O error", 8: "readonly database",
                 14: "unable to open database"}


def storage_failure(exc: BaseException) -> str | None:
    """A short reason when exc is the disk refusing a write (a full disk or quota, a read-only or
    failing file system), raised by the file system or by SQLite; None for anything else. A
    write that fails so is rolled back whole: SQLite never keeps half a transaction."""
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        what = "the disk is full" if exc.errno in _FULL else "the disk refused the write"
        return f"{what} ({exc.strerror or os.strerror(exc.errno or 0)})"
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:  # raised without a code: SQLite's own words
            code = next((c for c, words in _SQLITE_WORDS.items() if words in str(exc)), None)
        if code is not None and code & 0xFF in _SQLITE_STORAGE:
            return f"{_SQLITE_STORAGE[code & 0xFF]} ({exc})"
    return None


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("viko.corpus.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def utcnow() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Catalogue:
    """Facade over the SQLite file; open with `Catalogue.open(path)` and close when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> Catalogue:
        path = Path(path)
        if readonly and not path.exists():
            raise CatalogueError(f"no catalogue at {path}: run `viko import` or `viko add` first")
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        cat = cls(conn, path)
        cat.migrate()
        return cat

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------
    def schema_version(self) -> int:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> None:
        """Apply every migration not yet recorded; each runs in its own transaction.
        Tracked by number, not by 'highest so far', so one added later with a lower number
        (parallel branches of work) is still applied."""
        self.schema_version()
        applied = {int(r[0]) for r in self.conn.execute("SELECT version FROM schema_version")}
        for version, name, sql in _migrations():
            if version in applied:
                continue
            try:
                with self.conn:
                    self.conn.executescript("BEGIN;" + sql + f";INSERT INTO schema_version VALUES ({version});COMMIT;")
            except sqlite3.Error as exc:
                self.conn.rollback()
                raise CatalogueError(f"migration {name} failed: {exc}") from exc

    # -- documents ----------------------------------------------------------------------
    def upsert(self, doc: Document) -> str:
        """Insert or update; returns 'added', 'updated' or 'unchanged'."""
        row = self.conn.execute(
            "SELECT content_hash, title, url, date, type, source, extra, visibility FROM documents WHERE id=?",
            (doc.id,),
        ).fetchone()
        now = utcnow()
        extra = json.dumps(doc.extra, ensure_ascii=False, sort_keys=True)
        values = (doc.lang, doc.title, doc.text, doc.url, doc.date, doc.type, doc.source,
                  int(doc.segmented), extra, doc.content_hash, doc.visibility)
        if row is None:
            self.conn.execute(
                "INSERT INTO documents (lang, title, text, url, date, type, source, segmented,"
                " extra, content_hash, visibility, id, added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*values, doc.id, now, now),
            )
            return "added"
        same = (row["content_hash"], row["title"], row["url"], row["date"], row["type"],
                row["source"], row["extra"], row["visibility"]) == (doc.content_hash, doc.title, doc.url, doc.date,
                                                                    doc.type, doc.source, extra, doc.visibility)
        if same:
            return "unchanged"
        self.conn.execute(
            "UPDATE documents SET lang=?, title=?, text=?, url=?, date=?, type=?, source=?,"
            " segmented=?, extra=?, content_hash=?, visibility=?, updated_at=? WHERE id=?",
            (*values, now, doc.id),
        )
        return "updated"

    def upsert_many(self, docs: Iterable[Document]) -> dict[str, int]:
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        with self.conn:
            for doc in docs:
                counts[self.upsert(doc)] += 1
        return counts

    def get(self, doc_id: str) -> Document | None:
        row = self.conn.execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()
        return _row_to_doc(row) if row else None

    def get_many(self, ids: Iterable[str]) -> dict[str, Document]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, Document] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.conn.execute(f"SELECT * FROM documents WHERE id IN ({marks})", part):
                out[row["id"]] = _row_to_doc(row)
        return out

    def find_by_url(self, url: str) -> Document | None:
        row = self.conn.execute("SELECT * FROM documents WHERE url=? LIMIT 1", (url,)).fetchone()
        return _row_to_doc(row) if row else None

    def listing_fields(self) -> Iterator[tuple[str, tuple[str, str, str, str, str, str]]]:
        """(id, (title, url, type, date, source, visibility)) of every document: what a result
        list shows, and who may see it."""
        for r in self.conn.execute("SELECT id, title, url, type, date, source, visibility FROM documents"):
            yield r["id"], (r["title"], r["url"], r["type"], r["date"], r["source"], r["visibility"])

    def set_visibility(self, doc_id: str, visibility: str) -> bool:
        """Change who may see a document (already parsed by viko.corpus.access); False when
        there is no such document. The index is not touched: search reads it from here."""
        with self.conn:
            cur = self.conn.execute("UPDATE documents SET visibility=?, updated_at=? WHERE id=?",
                                    (visibility, utcnow(), doc_id))
        return cur.rowcount > 0

    def visibilities(self) -> dict[str, str]:
        """{doc id: visibility} of the documents that are not public."""
        return {r[0]: r[1] for r in self.conn.execute("SELECT id, visibility FROM documents WHERE visibility<>'public'")}

    def find_by_crawled_url(self, url: str) -> Document | None:
        """The document a crawled URL led to (after a redirect, or via its canonical page)."""
        row = self.conn.execute("SELECT doc_id FROM crawl_frontier WHERE url=? AND doc_id<>''", (url,)).fetchone()
        return self.get(row[0]) if row else None

    def delete(self, doc_id: str) -> bool:
        with self.conn:
            cur = self.conn.execute("DELETE FROM documents WHERE id=?", (doc_id,))
        return cur.rowcount > 0

    def iter_documents(self, lang: str | None = None) -> Iterator[Document]:
        sql, args = "SELECT * FROM documents", tuple[str, ...]()
        if lang:
            sql, args = sql + " WHERE lang=?", (lang,)
        for row in self.conn.execute(sql + " ORDER BY id", args):
            yield _row_to_doc(row)

    def hashes(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.conn.execute("SELECT id, content_hash FROM documents")}

    def titles(self, ids: Iterable[str]) -> dict[str, str]:
        wanted = sorted({d for d in ids if d})
        out: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            out.update((r[0], r[1]) for r in self.conn.execute(f"SELECT id, title FROM documents WHERE id IN ({marks})", part))
        return out

    def langs(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.conn.execute("SELECT id, lang FROM documents")}

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    def counts(self) -> dict[str, dict[str, int]]:
        """{'lang': {...}, 'type': {...}} document counts."""
        out: dict[str, dict[str, int]] = {"lang": {}, "type": {}}
        for col in ("lang", "type"):
            for key, n in self.conn.execute(f"SELECT {col}, COUNT(*) FROM documents GROUP BY {col}"):
                out[col][key or "unknown"] = n
        return out

    def lang_type_counts(self) -> dict[str, dict[str, int]]:
        """{lang: {type: documents}}; a missing language is 'other', a missing type 'unknown'."""
        out: dict[str, dict[str, int]] = {}
        for lang, kind, n in self.conn.execute("SELECT lang, type, COUNT(*) FROM documents GROUP BY lang, type"):
            out.setdefault(lang or "other", {})[kind or "unknown"] = int(n)
        return out

    def visible_counts(self, sees: Callable[[str], bool]) -> dict[str, dict[str, int]]:
        """{lang: {type: documents}} of the documents whose visibility `sees` accepts."""
        out: dict[str, dict[str, int]] = {}
        for lang, kind, visibility, n in self.conn.execute(
                "SELECT lang, type, visibility, COUNT(*) FROM documents GROUP BY lang, type, visibility"):
            if sees(visibility):
                row = out.setdefault(lang or "other", {})
                row[kind or "unknown"] = row.get(kind or "unknown", 0) + int(n)
        return out

    def last_change(self) -> str:
        row = self.conn.execute("SELECT MAX(updated_at) FROM documents").fetchone()
        return str(row[0] or "")

    # -- meta -------------------------------------------------------------------------
    def set_meta(self, key: str, value: str) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def get_meta(self, key: str, default: str = "") -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else default


def _row_to_doc(row: sqlite3.Row) -> Document:
    return Document(
        id=row["id"], text=row["text"], lang=row["lang"], title=row["title"], url=row["url"],
        date=row["date"], type=row["type"], source=row["source"],
        segmented=bool(row["segmented"]), visibility=row["visibility"], extra=json.loads(row["extra"] or "{}"),
    )
