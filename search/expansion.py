"""Query expansion with the bilingual glossary (Hải Phòng ↔ 하이퐁, năng lượng tái tạo ↔ 재생에너지).

BM25 can only match a Korean document for a Vietnamese query on the few terms both
languages write alike (names in Latin script, numbers, "IoT"). A glossary entry found in
the query adds its other-language side to the lexical query, so the Korean document that
says 전라남도 is found by a query that says Jeollanam-do, and the reverse.

The glossary itself (data model, matching, user edits) is corpus.glossary; this module
only chooses which glossary a search uses and turns its matches into index terms.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from viko.corpus.catalogue import Catalogue
from viko.corpus.glossary import Entry, Glossary, GlossaryStore, bundled_path, parse_tsv, with_english
from viko.corpus.textnorm import detect_language
from viko.indexer.analyze import Analyzer
from viko.indexer.lexical import LexicalIndex
from viko.indexer.wordbounds import HANGUL as _HANGUL
from viko.indexer.wordbounds import Syllables
from viko.search.names import query_names

log = logging.getLogger(__name__)

# Syllables of the shortest part a Korean compound is split into (decompounded).
COMPOUND_PART = 2
_ALL_HANGUL = re.compile(f"(?:{_HANGUL.pattern})+")  # a word of Hangul syllables only


class TermExpander(Protocol):
    def expand_query_terms(self, query: str, lang: str) -> list[str]: ...

    def translations(self, query: str, lang: str) -> list[tuple[str, list[str]]]: ...


class NoExpansion:
    def expand_query_terms(self, query: str, lang: str) -> list[str]:
        return []

    def translations(self, query: str, lang: str) -> list[tuple[str, list[str]]]:
        return []


def file_glossary(extra: Path | None = None, *, bundled: Path | None = None) -> tuple[Glossary, list[str]]:
    """The bundled TSV plus an optional user TSV (its entries first), without a catalogue:
    for benchmarks, tests and a data directory whose catalogue has no glossary yet.
    Unreadable files and bad lines become problem messages, never errors."""
    entries: list[Entry] = []
    problems: list[str] = []
    for path in (extra, bundled or bundled_path()):
        if path is None:
            continue
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read the glossary ({exc})")
            continue
        found, bad = parse_tsv(text.splitlines(), str(path))
        entries.extend(found)
        problems.extend(bad)
    return Glossary(entries), problems


def product_glossary(cat: Catalogue, extra: Path | None = None) -> Glossary:
    """The glossary as the user keeps it in the catalogue (`viko glossary ...`), with the
    English forms of the glossary files; the bundled file (plus VIKO_GLOSSARY) while the
    catalogue has none yet. Reads only. A catalogue whose glossary cannot be read (an old
    read-only copy without the table) is logged with the reason, then the files are used."""
    files, problems = file_glossary(extra)
    for problem in problems:
        log.warning("glossary: %s", problem)
    try:
        entries = GlossaryStore(cat).entries()
    except sqlite3.Error as exc:
        log.warning("glossary: cannot read the catalogue's glossary (%s); using the glossary files", exc)
        entries = []
    return Glossary(with_english(entries, files.entries)) if entries else files


@dataclass(frozen=True)
class Expansion:
    """A query's lexical side, from one glossary lookup: its own terms; the terms BM25 scores
    (its own, then its glossary terms' other-language equivalents); and, for the relevance
    floor, each own term's translations as the index terms a passage must all hold; and the terms
    that highlights mark."""

    own: tuple[str, ...]
    terms: tuple[str, ...]
    translated: Mapping[str, tuple[frozenset[str], ...]]
    marked: tuple[str, ...] = ()  # the terms highlights mark (search.snippets), see _without_acronym_words
    # an own term that is a name -> the index's spellings of it in the other script (search.names).
    # Not among `terms` or `translated`: a spelling is evidence for the relevance floor
    # (search.relevance.lexical_evidence) and is highlighted, but ranking on it put another
    # report of the same event above the one asked for (docs/benchmarks.md, "Why these parameters").
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def expand(analyzer: Analyzer, glossary: TermExpander, query: str, lang: str,
           known: Callable[[str], bool] | None = None,
           spellings: Callable[[str], Sequence[str]] | None = None) -> Expansion:
    """Equivalents are analysed as their own language, so they are the very terms the other
    language's index holds; a multi-word one is also kept whole ("năng_lượng_tái_tạo": no
    document holds that term, but highlighting then marks the phrase rather than its
    syllables). A translation counts as said only where all its terms are: "nhà" or "mặt"
    alone is not "điện mặt trời mái nhà". `known`: the index's terms, for Korean compounds
    (`decompounded`): a Korean word of the query or of a translation also counts where its
    parts are, as a translation does. `spellings`: a name's spellings in the other script
    (search.names.NameTable), asked for the query's words that may be names
    (search.names.query_names): `names`, and marked by highlights."""
    mode = lang if lang in ("vi", "ko") else "other"
    own = analyzer.query_tokens(query, mode)
    terms = list(own)
    seen: set[str] = set()
    phrases: dict[str, list[str]] = {}  # a Korean translation with one-syllable words: those words
    translated: dict[str, list[frozenset[str]]] = {}
    for term in own:
        if parts := decompounded(term, known):
            translated.setdefault(term, []).append(frozenset(parts))
            terms.extend(parts)
    for found, others in glossary.translations(query, lang):
        alternatives = []
        for text in others:
            words = _own_terms(analyzer, text)
            alternatives.append(frozenset(words))
            split = [(w, parts) for w in words if (parts := decompounded(w, known))]
            alternatives.extend(frozenset(set(words) - {w} | set(parts)) for w, parts in split)
            if text not in seen:
                seen.add(text)
                terms.extend(words)
                terms.extend(t for _, parts in split for t in parts)
                if detect_language(text) == "vi" and len(text.split()) > 1:
                    terms.append("_".join(text.lower().split()))
                if len(words) > 1 and (short := [w for w in words if len(w) == 1 and _HANGUL.search(w)]):
                    phrases[text] = short
        tokens = set(analyzer.query_tokens(found, mode))
        plain = found.lower()
        # the query's terms inside the glossary term ("하이퐁시" holds the term "하이퐁")
        for source in (t for t in own if t in tokens or plain in t.replace("_", " ")):
            translated.setdefault(source, []).extend(a for a in alternatives if a)
    unique = tuple(dict.fromkeys(terms))
    names = _names(analyzer, query, own, spellings)
    marked = _marked(query, list(unique), own, phrases) + [s for spelt in names.values() for s in spelt]
    return Expansion(tuple(own), unique, {k: tuple(v) for k, v in translated.items()},
                     tuple(dict.fromkeys(marked)), names)


def _names(analyzer: Analyzer, query: str, own: Sequence[str],
           spellings: Callable[[str], Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    """The query's words that may be names (search.names.query_names) -> their spellings."""
    if spellings is None:
        return {}
    named = query_names(query, analyzer.proper_nouns(query))
    found = {term: tuple(spellings(term)) for term in own if term in named}
    return {term: spelt for term, spelt in found.items() if spelt}


def _marked(query: str, terms: list[str], own: Sequence[str], phrases: Mapping[str, list[str]]) -> list[str]:
    """What highlights mark. Hangul terms are matched inside words (particles attach), so the
    one-syllable word of a Korean translation, the "인" of "인적 자원" (nguồn nhân lực), marked
    every 인력, 확인 and 인천: such a translation is marked as written, with and without its
    spaces, and its one-syllable word only where something else asks for it alone."""
    words = {w for short in phrases.values() for w in short}
    alone = set(own) | {t for t in terms if t not in words}
    shown = [t for t in _without_acronym_words(query, terms, own) if t in alone]
    return shown + list(dict.fromkeys(form for p in phrases for form in (" ".join(p.split()), "".join(p.split()))))


def decompounded(term: str, known: Callable[[str], bool] | None) -> tuple[str, ...]:
    """The parts of a Korean compound noun, as the index holds them: Kiwi reads 그린수소 alone
    as one noun and as 그린 + 수소 inside a sentence (온실가스, 비닐하우스, 지식재산 likewise), so
    a query word and a document's word differ by their context. The split into two (else
    three) parts of at least COMPOUND_PART syllables that the index all knows, the most even
    first; () when there is none (a one-syllable part, 과 + 일 of 과일, would stand for any word)."""
    n = len(term)
    if known is None or n < 2 * COMPOUND_PART or not _ALL_HANGUL.fullmatch(term):
        return ()
    cuts = range(COMPOUND_PART, n - COMPOUND_PART + 1)
    pairs = sorted(((term[:i], term[i:]) for i in cuts), key=lambda p: abs(len(p[0]) - len(p[1])))
    for parts in pairs:
        if all(known(p) for p in parts):
            return parts
    for i in cuts:
        for j in range(i + COMPOUND_PART, n - COMPOUND_PART + 1):
            three = (term[:i], term[i:j], term[j:])
            if all(known(p) for p in three):
                return three
    return ()


@dataclass(frozen=True)
class TranslationWeights:
    """How a glossary translation's terms count in BM25: in each passage, by the share of the
    translation's IDF weight the passage holds, to the power `exponent`. Its syllables are
    common Vietnamese words: "nhà" of "mái nhà" (roof) counts fully beside "mái", and little
    in "nhà máy" (factory), where the flat term list counted it the same."""

    own: frozenset[str]  # the query's own terms: always counted fully
    groups: tuple[frozenset[str], ...]  # each translation's index terms
    exponent: float

    @classmethod
    def of(cls, own: Sequence[str], translated: Mapping[str, Sequence[Collection[str]]],
           exponent: float) -> TranslationWeights | None:
        groups = tuple(dict.fromkeys(frozenset(g) for alternatives in translated.values() for g in alternatives if g))
        return cls(frozenset(own), groups, exponent) if groups and exponent > 0 else None


def weighted_scores(lexicon: LexicalIndex, terms: Sequence[str], weights: TranslationWeights | None) -> np.ndarray:
    """BM25 of every chunk for the terms, each translation term weighted per chunk
    (TranslationWeights); a term of several translations takes the best weight."""
    if weights is None:
        return lexicon.scores(terms)
    translation = {t for g in weights.groups for t in g} - weights.own
    terms = list(dict.fromkeys(terms))
    out = np.array(lexicon.scores([t for t in terms if t not in translation]), dtype=np.float32)
    columns = {t: lexicon.scores([t]) for t in terms if t in translation}
    share: dict[str, np.ndarray] = {}
    for group in weights.groups:
        idf = {t: lexicon.idf_of(t) for t in group}
        total = sum(idf.values())
        if total <= 0:
            continue
        held = sum(((columns[t] if t in columns else lexicon.scores([t])) > 0) * np.float32(w)
                   for t, w in idf.items())
        part = (np.asarray(held, np.float32) / np.float32(total)) ** np.float32(weights.exponent)
        for t in group & columns.keys():
            share[t] = part if t not in share else np.maximum(share[t], part)
    for t, column in columns.items():
        out += column * share[t] if t in share else column
    return out


def expanded_terms(analyzer: Analyzer, glossary: TermExpander, query: str, lang: str) -> list[str]:
    """The terms BM25 scores for a query (Expansion.terms)."""
    return list(expand(analyzer, glossary, query, lang).terms)


def translated_terms(analyzer: Analyzer, glossary: TermExpander, query: str,
                     lang: str) -> Mapping[str, tuple[frozenset[str], ...]]:
    """Each own term a glossary term of the query covers -> its translations (Expansion.translated):
    "벼" -> ({"lúa"}, {"cây", "lúa", "cây_lúa"})."""
    return expand(analyzer, glossary, query, lang).translated


def _without_acronym_words(query: str, terms: list[str], own: Sequence[str]) -> list[str]:
    """The terms without the query's own multi-syllable words that underthesea made by joining
    an acronym to its neighbour ("tôm_iot" of "nuôi tôm IoT"; indexer.wordbounds skips them in
    passages too): a highlight would otherwise mark neither "tôm" nor "IoT" alone. BM25 keeps them
    (a passage segmented the same way holds them). A glossary translation's phrase ("bảng_anh"
    for 파운드) is no word of the query and stays: its syllables are marked only inside it."""
    joined = [t for t in own if "_" in t and not _HANGUL.search(t)]
    if not joined:
        return terms
    found = Syllables(query, joined)
    kept = {"_".join(found.keys[i : i + n]) for i, n in found.units}
    return [t for t in terms if t not in joined or t in kept]


def _own_terms(analyzer: Analyzer, text: str) -> list[str]:
    other = detect_language(text)
    return analyzer.query_tokens(text, other if other in ("vi", "ko") else "other")
