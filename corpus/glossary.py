"""Glossary / termbase: bilingual term pairs with notes, kept in the catalogue.

The bundled glossary (corpus/data/glossary.tsv, columns vi, ko, note[, domain][, en]) and the file
named by VIKO_GLOSSARY seed the table once per file content, so a term the user removed does
not come back on the next start. `Glossary` is the in-memory matcher: terms found in a text
(to highlight them in documents) and other-language equivalents of the terms in a query (to
expand a search). The optional `en` column holds English forms ("solar power; solar PV"),
so a query in English finds both languages' documents; files without it load as before.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from viko.corpus.catalogue import Catalogue, utcnow
from viko.corpus.textnorm import nfc
from viko.corpus.tm import search_key

ORIGINS = ("bundled", "user", "tbx", "file")


class GlossaryError(ValueError):
    """An entry or file that cannot be used; the message says why."""


@dataclass(frozen=True)
class Entry:
    vi: str
    ko: str
    note: str = ""
    domain: str = ""
    origin: str = "user"
    id: int = 0
    en: str = ""  # English forms separated by ";"

    def side(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.ko

    def forms(self, lang: str) -> list[str]:
        """The entry's terms in one language (English may have several)."""
        if lang == "en":
            return [f.strip() for f in self.en.split(";") if f.strip()]
        return [self.side(lang)]

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "vi": self.vi, "ko": self.ko, "note": self.note,
                "domain": self.domain, "origin": self.origin}


@dataclass(frozen=True)
class TermMatch:
    start: int
    end: int
    entry: Entry
    lang: str  # the language of the text the term was found in


def term_key(text: str) -> str:
    return search_key(" ".join(nfc(text).split()))


def bundled_path() -> Path:
    return Path(str(resources.files("viko.corpus") / "data" / "glossary.tsv"))


def parse_tsv(lines: Iterable[str], source: str, origin: str = "file") -> tuple[list[Entry], list[str]]:
    """Entries and 'file:line: why' problems from TSV text whose header names vi and ko."""
    rows = list(csv.reader(lines, delimiter="\t"))
    if not rows:
        return [], []
    header = [h.strip().lower() for h in rows[0]]
    if "vi" not in header or "ko" not in header:
        return [], [f"{source}:1: the header must name the columns vi and ko (optionally note, domain)"]
    col = {name: header.index(name) for name in ("vi", "ko", "note", "domain", "en") if name in header}
    entries, problems = [], []
    for number, row in enumerate(rows[1:], 2):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        cells = {name: (row[i].strip() if i < len(row) else "") for name, i in col.items()}
        if not cells["vi"] or not cells["ko"]:
            problems.append(f"{source}:{number}: needs both a vi and a ko term")
            continue
        entries.append(Entry(nfc(cells["vi"]), nfc(cells["ko"]), nfc(cells.get("note", "")),
                             nfc(cells.get("domain", "")), origin, en=nfc(cells.get("en", ""))))
    return entries, problems


class GlossaryStore:
    """The glossary table of a catalogue."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.conn = cat.conn

    def seed(self, path: Path, origin: str = "bundled") -> list[str]:
        """Merge a TSV file once per content: returns the problems found in it."""
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            return [f"{path}: cannot read the glossary ({exc.strerror or exc})"]
        digest = hashlib.sha1(raw).hexdigest()
        meta_key = f"glossary_seed:{Path(path).resolve()}"
        if self.cat.get_meta(meta_key) == digest:
            return []
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [f"{path}: not UTF-8: re-save the file as UTF-8"]
        entries, problems = parse_tsv(text.splitlines(), str(path), origin)
        self.add_many(entries, replace=False)
        self.cat.set_meta(meta_key, digest)
        return problems

    def add(self, vi: str, ko: str, note: str = "", domain: str = "", origin: str = "user") -> Entry:
        entry = _valid(Entry(nfc(vi.strip()), nfc(ko.strip()), nfc(note.strip()), nfc(domain.strip()), origin))
        with self.conn:
            self._upsert(entry, replace=True)
        found = self.find(entry.vi, entry.ko)
        assert found is not None
        return found

    def add_many(self, entries: Iterable[Entry], *, replace: bool = True) -> int:
        """Insert entries; with replace, an existing pair takes the new note and domain."""
        n = 0
        with self.conn:
            for entry in entries:
                self._upsert(_valid(entry), replace=replace)
                n += 1
        return n

    def _upsert(self, e: Entry, *, replace: bool) -> None:
        conflict = "DO UPDATE SET note=excluded.note, domain=excluded.domain, updated_at=excluded.updated_at" \
            if replace else "DO NOTHING"
        self.conn.execute(
            "INSERT INTO glossary (vi, ko, vi_key, ko_key, note, domain, origin, updated_at)"
            f" VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (vi_key, ko_key) {conflict}",
            (e.vi, e.ko, term_key(e.vi), term_key(e.ko), e.note, e.domain, e.origin, utcnow()))

    def find(self, vi: str, ko: str) -> Entry | None:
        row = self.conn.execute("SELECT * FROM glossary WHERE vi_key=? AND ko_key=?",
                                (term_key(vi), term_key(ko))).fetchone()
        return _entry(row) if row else None

    def remove(self, entry_id: int) -> bool:
        with self.conn:
            return self.conn.execute("DELETE FROM glossary WHERE id=?", (entry_id,)).rowcount > 0

    def entries(self, query: str = "") -> list[Entry]:
        """All entries, or those whose either side or note contains the query."""
        rows = self.conn.execute("SELECT * FROM glossary ORDER BY vi_key, ko_key")
        out = [_entry(r) for r in rows]
        if query.strip():
            key = term_key(query)
            out = [e for e in out if key in term_key(e.vi) or key in term_key(e.ko) or key in term_key(e.note)]
        return out


def _valid(entry: Entry) -> Entry:
    if not entry.vi.strip() or not entry.ko.strip():
        raise GlossaryError("a glossary entry needs both a Vietnamese and a Korean term")
    if len(entry.vi) > 200 or len(entry.ko) > 200:
        raise GlossaryError("a glossary term is at most 200 characters long")
    if entry.origin not in ORIGINS:
        raise GlossaryError(f"unknown glossary origin {entry.origin!r}")
    return entry


def _entry(r: sqlite3.Row) -> Entry:
    return Entry(r["vi"], r["ko"], r["note"], r["domain"], r["origin"], int(r["id"]))


def open_glossary(cat: Catalogue, extra: Path | None = None) -> GlossaryStore:
    """The store, seeded from the bundled file (and an extra TSV) when they changed."""
    store = GlossaryStore(cat)
    for path, origin in ((bundled_path(), "bundled"), (extra, "file")):
        if path is not None and Path(path).exists():
            store.seed(Path(path), origin)
    return store


class Glossary:
    """In-memory term matcher over a list of entries."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        # Per language, (term key, entry), longest first. A term's pattern is compiled the first
        # time a text holds its key: a one-shot search meets a few of a thousand terms.
        self._terms: dict[str, list[tuple[str, Entry]]] = {}
        self._compiled: dict[tuple[str, str], re.Pattern[str]] = {}
        # Entries sharing a form (반도체: chất bán dẫn and bán dẫn; rooftop solar: áp mái and mái
        # nhà): lookup marks the form once, expansion gives every entry's other side.
        self._sharing: dict[tuple[str, str], list[Entry]] = {}
        for lang in ("vi", "ko", "en"):
            forms = [(form, e) for e in self.entries for form in e.forms(lang)]
            for form, e in forms:
                self._sharing.setdefault((lang, term_key(form)), []).append(e)
            keyed = ((term_key(form), e) for form, e in sorted(forms, key=lambda x: -len(x[0])))
            self._terms[lang] = [(key, e) for key, e in keyed if key]

    def _pattern(self, lang: str, key: str) -> re.Pattern[str]:
        pattern = self._compiled.get((lang, key))
        if pattern is None:
            # Korean terms match as substrings (particles attach: 하이퐁시와), others on word edges.
            body = re.escape(key)
            pattern = re.compile(body if lang == "ko" else rf"(?<!\w){body}(?!\w)")
            self._compiled[(lang, key)] = pattern
        return pattern

    def lookup(self, text: str, lang: str) -> list[TermMatch]:
        """Glossary terms in a text of the given language, longest first, no overlaps;
        offsets are into the given text."""
        if lang not in self._terms:
            return []
        form = search_key(text)
        if len(form) != len(text):
            return []
        taken: list[TermMatch] = []
        for key, entry in self._terms[lang]:
            if key not in form:  # most terms: no pattern to run
                continue
            for m in self._pattern(lang, key).finditer(form):
                if all(m.end() <= t.start or m.start() >= t.end for t in taken):
                    taken.append(TermMatch(m.start(), m.end(), entry, lang))
        return sorted(taken, key=lambda t: t.start)

    def expand_query_terms(self, query: str, lang: str) -> list[str]:
        """Other-language equivalents of the glossary terms in a query (in query order, no
        repeats): what a search should add to find the other language's documents. An
        English query gets both the Vietnamese and the Korean term."""
        seen: dict[str, None] = {}
        for _, others in self.translations(query, lang):
            seen.update(dict.fromkeys(others))
        return list(seen)

    def translations(self, query: str, lang: str) -> list[tuple[str, list[str]]]:
        """Each glossary term found in the query (as the query writes it) with its
        other-language equivalents, in query order; entries sharing a form all count."""
        others = ("vi", "ko") if lang == "en" else ("ko" if lang == "vi" else "vi",)
        text = " ".join(nfc(query).split())
        out = []
        for match in self.lookup(text, lang):
            found = text[match.start:match.end]
            entries = self._sharing.get((lang, search_key(found)), [match.entry])
            sides = dict.fromkeys(entry.side(other) for entry in entries for other in others)
            out.append((found, list(sides)))
        return out


def with_english(entries: Iterable[Entry], files: Iterable[Entry]) -> list[Entry]:
    """Entries kept in a catalogue, with the English forms the glossary files give the same
    pair (the catalogue's glossary table has no English column)."""
    english = {(term_key(e.vi), term_key(e.ko)): e.en for e in files if e.en}
    return [e if e.en else replace(e, en=english.get((term_key(e.vi), term_key(e.ko)), "")) for e in entries]


def load_glossary(cat: Catalogue, extra: Path | None = None) -> Glossary:
    return Glossary(open_glossary(cat, extra).entries())
