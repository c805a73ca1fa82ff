"""Snippets: the best passage of a hit, cut around the query's terms, with highlight offsets.

Offsets (not HTML) are returned so that every renderer escapes the text itself: the web
page wraps them in <mark>, the terminal in bold, the JSON API passes them through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from viko.indexer.quantities import amounts, is_scale_word
from viko.indexer.wordbounds import HANGUL as _HANGUL
from viko.indexer.wordbounds import Syllables, keys


def _key(word: str) -> str:
    return keys(word)[0]


def match_spans(text: str, terms: Iterable[str], words: Iterable[str] = ()) -> list[tuple[int, int]]:
    """Character spans in text where a query word occurs.

    Vietnamese words are several syllables. `words` are the text's own multi-syllable words
    as the analyser found them ("sáng_tạo", "chất_lượng"; the index keeps them per chunk);
    together with the query's multi-syllable terms and glossary phrases they are units: a
    unit is marked whole when all its syllables are query syllables, a query unit where it
    does not split a word of the text, and a syllable inside a unit is never marked alone
    (indexer.wordbounds: the concordance keeps the same rule). So "năng lượng tái tạo" marks "năng lượng" and "tái tạo" but not "tạo" in "sáng tạo"
    or "lượng" in "chất lượng". Other Latin-script terms match whole words (tone placement
    and case ignored; an unaccented term also matches its accented form). Hangul terms
    match as substrings, since Korean attaches particles to the word ("협약" in "협약을").
    """
    query_units: list[list[str]] = []
    singles: set[str] = set()
    hangul: list[str] = []
    for term in terms:
        parts = [p for p in term.split("_") if p]
        if any(_HANGUL.search(p) for p in parts):
            hangul.extend(p for p in parts if _HANGUL.search(p))
        elif len(parts) > 1:
            query_units.append([_key(p) for p in parts])
        elif parts:
            singles.add(_key(parts[0]))
    syllables = singles | {p for unit in query_units for p in unit}
    # A syllable of a multi-syllable query word or glossary phrase is marked only inside it:
    # "Hải Phòng" does not mark "Phòng" in "Phòng Hợp tác", nor "lắp đặt" the "đặt" of "đặt trong".
    singles -= {p for unit in query_units for p in unit}
    words_in = Syllables(text, words)
    spans: list[tuple[int, int]] = []
    in_query_unit: set[int] = set()  # positions of syllables marked as part of a query unit
    for unit in query_units:
        for i in words_in.unit_starts(unit):
            span = words_in.span(i, len(unit))
            if not words_in.splits(*span):  # "năng lượng" is not in "khả năng lượng hóa"
                in_query_unit.update(range(i, i + len(unit)))
                spans.append(span)
    for i, n in words_in.units:
        if all(k in syllables for k in words_in.keys[i : i + n]):
            spans.append(words_in.span(i, n))
    folded = {w for w in singles if keys(w)[1] == w}
    for i, (m, key, fold) in enumerate(zip(words_in.found, words_in.keys, words_in.folds, strict=True)):
        if (key in singles or fold in folded) and i not in in_query_unit and not words_in.splits(*m.span()):
            spans.append(m.span())
    for term in sorted(set(hangul), key=len, reverse=True):
        for m in re.finditer(re.escape(term), text):
            spans.append((m.start(), m.end()))
    values = {t for t in terms if t.isdigit()}
    return _merge(_amounts_whole(text, spans, values) if values else spans)


def _amounts_whole(text: str, spans: list[tuple[int, int]], values: set[str]) -> list[tuple[int, int]]:
    """A query with amounts (their values among its terms, indexer.quantities) marks an amount
    of the text whole where it has one of those values ("2000만" for "20 triệu"), and no part of
    any other amount, nor a scale word alone: "5억" marks no "억" of "65억" or "억울", and
    "500 triệu" not the "triệu" of "30 triệu"."""
    found = amounts(text)
    other = [(a, b) for a, b, value in found if value not in values]
    kept = [s for s in spans if not is_scale_word(text[s[0]:s[1]])
            and not any(a <= s[0] and s[1] <= b for a, b in other)]
    return kept + [(a, b) for a, b, value in found if value in values]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def make_snippet(passage: str, terms: Iterable[str], width: int = 260,
                 words: Iterable[str] = ()) -> tuple[str, list[tuple[int, int]]]:
    """A window of about `width` characters over the densest cluster of matches (`words`:
    the passage's multi-syllable words, see match_spans)."""
    passage = " ".join(passage.split())
    spans = match_spans(passage, terms, words)
    if len(passage) <= width:
        return passage, spans
    best_start, best_count = 0, -1
    for start, _ in spans or [(0, 0)]:
        window_start = max(0, start - width // 4)
        count = sum(1 for s, e in spans if window_start <= s and e <= window_start + width)
        if count > best_count:
            best_start, best_count = window_start, count
    if best_start > 0:
        space = passage.rfind(" ", 0, best_start + 1)
        best_start = space + 1 if space > best_start - 20 else best_start
    end = min(len(passage), best_start + width)
    if end < len(passage):
        space = passage.rfind(" ", best_start, end)
        end = space if space > end - 30 else end
    prefix = "… " if best_start > 0 else ""
    suffix = " …" if end < len(passage) else ""
    cut = passage[best_start:end]
    shift = len(prefix) - best_start
    inside = [(s + shift, e + shift) for s, e in spans if s >= best_start and e <= end]
    return prefix + cut + suffix, inside


def highlight(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """Text as (piece, is_match) segments, for templates that escape each piece."""
    out, pos = [], 0
    for start, end in spans:
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out
