"""Concordance: a word or phrase in either language -> translation units that contain it.

The trigram FTS5 index (migration 0003) finds candidate units by substring in the
tone-normalised, lowercased text; candidates are then checked here so that a Latin-script
query matches whole words ("an" is not found inside "loan"), and on the Vietnamese side
whole words as the analyser segments the sentence: a match may not start or end inside a
multi-syllable word (indexer.wordbounds, the rule the search snippets follow), so "tạo" is
not found in "sáng tạo" but "năng lượng" is in "năng lượng tái tạo". Korean matches as a
substring (particles attach to the noun: 협약 in 협약을). An unaccented Vietnamese query
("hop tac") also matches the accented text ("hợp tác"). Results are keyword-in-context:
the match highlighted on its side, the other side shown whole, with the query's equivalents
marked on it: the glossary's (and a Latin-script term or number kept as it is), and in a
unit where none of those occurs, the forms that the memory's own word alignment links to the
query (workbench.wordalign; nothing where the association is weak). Each mark says where it
comes from: the query, the glossary, or the alignment.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from viko.corpus.catalogue import Catalogue
from viko.corpus.glossary import Glossary
from viko.corpus.textnorm import nfc
from viko.corpus.tm import TranslationMemory, Unit, fold_key, search_key
from viko.indexer.analyze import Analyzer, default_analyzer
from viko.indexer.wordbounds import number_bounded, splits, word_spans
from viko.workbench.wordalign import LinkedTerm, LinkParams, linked_terms, term_spans

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
# Latin-script terms with a capital or a digit (IoT, MES, 2030): kept as they are in translation.
_LATIN_OR_NUMBER = re.compile(r"\b(?:[A-Za-z]*[A-Z0-9][A-Za-z0-9]*)\b")
_ORIGIN_RANK = {"tmx": 0, "aligned": 0, "mined": 1}
MAX_CANDIDATES = 5000
PAGE_SIZE = 20  # aligned pairs per page of the concordance (web, CLI default)

Spans = tuple[tuple[int, int], ...]
# Where a mark comes from: the query's own match, the glossary (or a term kept as it is),
# the memory's word alignment.
MARK_ORIGINS = ("query", "glossary", "alignment")


class ConcordanceError(ValueError):
    """A query that cannot be run; the message is meant for the user."""


@dataclass(frozen=True)
class ConcordanceHit:
    unit: Unit
    side: str       # 'vi' or 'ko': the side the query matched
    vi_spans: Spans  # [start, end) of the match in unit.vi
    ko_spans: Spans
    vi_title: str = ""
    ko_title: str = ""
    vi_origins: tuple[str, ...] = ()  # one per span, MARK_ORIGINS (empty: all of the query or glossary)
    ko_origins: tuple[str, ...] = ()

    def origins(self, lang: str) -> tuple[str, ...]:
        spans, given = (self.vi_spans, self.vi_origins) if lang == "vi" else (self.ko_spans, self.ko_origins)
        default = "query" if lang == self.side else "glossary"
        return given if len(given) == len(spans) else (default,) * len(spans)

    def to_json(self) -> dict[str, object]:
        return {**self.unit.to_json(), "side": self.side, "vi_spans": [list(s) for s in self.vi_spans],
                "ko_spans": [list(s) for s in self.ko_spans], "vi_span_origins": list(self.origins("vi")),
                "ko_span_origins": list(self.origins("ko")), "vi_title": self.vi_title,
                "ko_title": self.ko_title}


@dataclass(frozen=True)
class ConcordanceResults:
    query: str
    hits: list[ConcordanceHit]
    total: int
    took_ms: float
    linked: tuple[LinkedTerm, ...] = ()  # the forms the word alignment marked on this page
    look_alikes: int = 0  # of `total`, the mined pairs: look-alikes, not translations

    def to_json(self) -> dict[str, object]:
        return {"query": self.query, "total": self.total, "look_alikes": self.look_alikes,
                "took_ms": round(self.took_ms, 2),
                "hits": [h.to_json() for h in self.hits], "alignment": [t.to_json() for t in self.linked]}


@dataclass(frozen=True)
class _Matcher:
    column: str          # FTS column
    needle: str          # in that column's form
    pattern: re.Pattern[str]
    side: str


def _matchers(query: str) -> list[_Matcher]:
    key = search_key(query)
    if _HANGUL.search(query):
        return [_Matcher("ko_key", key, re.compile(number_bounded(re.escape(key), key)), "ko")]
    words = re.compile(rf"(?<!\w){re.escape(key)}(?!\w)")
    out = [_Matcher("vi_key", key, words, "vi"), _Matcher("ko_key", key, words, "ko")]
    folded = fold_key(query)
    if folded == nfc(query).lower():  # typed without accents: match the accented forms too
        out.append(_Matcher("vi_fold", folded, re.compile(rf"(?<!\w){re.escape(folded)}(?!\w)"), "vi"))
    return out


def _candidates(tm: TranslationMemory, m: _Matcher) -> list[int]:
    """Unit ids whose column contains the needle (trigram index for 3+ characters)."""
    return tm.containing(m.column, m.needle, MAX_CANDIDATES)


def _spans(text: str, m: _Matcher, analyzer: Analyzer) -> Spans:
    form = fold_key(text) if m.column == "vi_fold" else search_key(text)
    if len(form) != len(text):  # a rare character changed length: fall back to a plain search
        form, pattern = text.lower(), re.compile(re.escape(m.needle), re.I)
    else:
        pattern = m.pattern
    spans = tuple(x.span() for x in pattern.finditer(form))
    if spans and m.side == "vi":  # segmented only when the syllables matched (~1 ms a sentence)
        words = word_spans(text, analyzer.words(text))
        spans = tuple(s for s in spans if not splits(s, words))
    return spans


def concordance(cat: Catalogue, query: str, *, lang: str = "all", limit: int = PAGE_SIZE,
                offset: int = 0, max_chars: int = 200, analyzer: Analyzer | None = None,
                glossary: Glossary | None = None, visible: Sequence[str] | None = None,
                links: LinkParams | None = None) -> ConcordanceResults:
    """Units containing the query, best first: human and aligned units before mined ones,
    then the shortest matching segment (a concise example reads best). `analyzer` segments
    the Vietnamese candidates (the shared default one, which remembers recent sentences).
    The other side of each hit is marked too: the glossary's equivalents of the query (or of
    the glossary terms in it, or of the terms that contain it), and a Latin-script term or
    number of the query that the translation keeps as it is; where none of those occurs, the
    forms the memory's word alignment links to the query (`links`: when it may). `visible`:
    the visibilities the reader may see (viko.corpus.access.Viewer.visibilities; None: all)."""
    started = time.perf_counter()
    query = nfc(" ".join(str(query).split()))
    if not query:
        raise ConcordanceError("the query is empty: type a word or phrase in Vietnamese or Korean")
    if len(query) > max_chars:
        raise ConcordanceError(f"the query is {len(query)} characters long; the limit is {max_chars}")
    if lang not in ("all", "vi", "ko"):
        raise ConcordanceError(f"unknown language {lang!r}: use all, vi or ko")
    matchers = [m for m in _matchers(query) if lang == "all" or m.side == lang]
    found: dict[int, tuple[str, Spans]] = {}
    units: dict[int, Unit] = {}
    tm = TranslationMemory(cat)
    analyzer = analyzer or default_analyzer()
    for m in matchers:
        ids = [i for i in _candidates(tm, m) if i not in found]
        for unit in (u for start in range(0, len(ids), 900) for u in tm.units(ids=ids[start : start + 900], visible=visible)):
            spans = _spans(unit.vi if m.side == "vi" else unit.ko, m, analyzer)
            if spans:
                found[unit.id], units[unit.id] = (m.side, spans), unit
    order = sorted(found, key=lambda i: (_ORIGIN_RANK.get(units[i].origin, 2),
                                         len(getattr(units[i], found[i][0])), -units[i].score, i))
    page = order[offset : offset + limit]
    titles = cat.titles([units[i].vi_doc for i in page] + [units[i].ko_doc for i in page])
    marker = _OtherSide(query, glossary, tm, analyzer, links or LinkParams(),
                        {i: (found[i][0], units[i]) for i in order})
    hits = []
    for i in page:
        side, spans = found[i]
        u = units[i]
        other, origins = marker.spans(side, u.ko if side == "vi" else u.vi)
        mine = ("query",) * len(spans)
        hits.append(ConcordanceHit(u, side, spans if side == "vi" else other, spans if side == "ko" else other,
                                   titles.get(u.vi_doc, ""), titles.get(u.ko_doc, ""),
                                   mine if side == "vi" else origins, mine if side == "ko" else origins))
    return ConcordanceResults(query, hits, len(order), (time.perf_counter() - started) * 1000, marker.used(),
                              sum(units[i].origin == "mined" for i in order))


class _OtherSide:
    """The marks on the other side of a page's units: the glossary's equivalents, else the
    word alignment's forms (computed once per side, only when a unit needs them)."""

    def __init__(self, query: str, glossary: Glossary | None, tm: TranslationMemory, analyzer: Analyzer,
                 params: LinkParams, matched: dict[int, tuple[str, Unit]]) -> None:
        self.patterns = {side: counterpart_patterns(query, side, glossary) for side in ("vi", "ko")}
        self.tm, self.analyzer, self.params, self.matched = tm, analyzer, params, matched
        self.links: dict[str, list[LinkedTerm]] = {}
        self.marked: dict[str, LinkedTerm] = {}

    def spans(self, side: str, text: str) -> tuple[Spans, tuple[str, ...]]:
        found = other_side_spans(text, self.patterns[side])
        if found:
            return found, ("glossary",) * len(found)
        other = "ko" if side == "vi" else "vi"
        if side not in self.links:
            units = [u for s, u in self.matched.values() if s == side and u.origin != "mined"]
            keys = self.tm.search_keys(f"{other}_key", [u.id for u in units])
            self.links[side] = linked_terms(self.tm, [(keys[u.id], f"{u.vi_doc}|{u.ko_doc}" if u.vi_doc or u.ko_doc
                                                       else f"#{u.id}") for u in units], other, self.params)
        keep = self._whole_words(text) if other == "vi" else (lambda span: True)
        aligned = term_spans(text, self.links[side], keep=keep)
        for term in self.links[side]:
            if any(search_key(text[a:b]) == term.form for a, b in aligned):
                self.marked[term.form] = term
        return aligned, ("alignment",) * len(aligned)

    def _whole_words(self, text: str) -> Callable[[tuple[int, int]], bool]:
        words = word_spans(text, self.analyzer.words(text))
        return lambda span: not splits(span, words)

    def used(self) -> tuple[LinkedTerm, ...]:
        return tuple(self.marked.values())


def counterpart_patterns(query: str, side: str, glossary: Glossary | None) -> list[re.Pattern[str]]:
    """What to mark on the other side of a unit whose `side` matched the query: the glossary's
    equivalents of the query's terms (or of the entries containing the query: 협약 is part of
    협력 협약 -> thỏa thuận hợp tác), and the query's Latin-script terms and numbers, which a
    translation usually keeps (IoT, 2030). Longest first; Korean as substrings."""
    other = "ko" if side == "vi" else "vi"
    forms: dict[str, None] = {}
    if glossary is not None:
        for _, equivalents in glossary.translations(query, side):
            forms.update(dict.fromkeys(equivalents))
        key = search_key(query)
        if not forms and len(key) >= 2:
            for entry in glossary.entries:
                if key in search_key(entry.side(side)):
                    forms[entry.side(other)] = None
    forms.update(dict.fromkeys(w for w in _LATIN_OR_NUMBER.findall(query) if len(w) >= 2))
    out = []
    for form in sorted((search_key(f) for f in forms if f.strip()), key=len, reverse=True):
        body = re.escape(form)
        out.append(re.compile(body if other == "ko" else rf"(?<!\w){body}(?!\w)"))
    return out


def other_side_spans(text: str, patterns: list[re.Pattern[str]]) -> Spans:
    """Non-overlapping [start, end) of the patterns in the text (its search form)."""
    form = search_key(text)
    if len(form) != len(text) or not patterns:
        return ()
    taken: list[tuple[int, int]] = []
    for pattern in patterns:
        for m in pattern.finditer(form):
            if all(m.end() <= a or m.start() >= b for a, b in taken):
                taken.append(m.span())
    return tuple(sorted(taken))
