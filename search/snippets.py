"""Snippets: the best passage of a hit, cut around the query's terms, with highlight offsets.

Offsets (not HTML) are returned so that every renderer escapes the text itself: the web
page wraps them in <mark>, the terminal in bold, the JSON API passes them through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from corpus.textnorm import fold_vi, normalize_vi

_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*", re.UNICODE)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _key(word: str) -> str:
    return normalize_vi(word.lower())


def match_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans in text where a query term occurs.

    Latin-script terms match whole words (tone placement and case ignored; an unaccented
    query term also matches its accented form). Hangul terms match as substrings, since
    Korean attaches particles to the word ("협약" in "협약을").
    """
    latin: set[str] = set()
    folded: set[str] = set()
    hangul: list[str] = []
    for term in terms:
        for part in term.split("_"):
            if not part:
                continue
            if _HANGUL.search(part):
                hangul.append(part)
            else:
                latin.add(_key(part))
                if fold_vi(part) == part.lower():
                    folded.add(part.lower())
    spans = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        if _HANGUL.search(word):
            continue
        if _key(word) in latin or fold_vi(word) in folded:
            spans.append((m.start(), m.end()))
    for term in sorted(set(hangul), key=len, reverse=True):
        if len(term) < 1:
            continue
        for m in re.finditer(re.escape(term), text):
            spans.append((m.start(), m.end()))
    return _merge(spans)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def make_snippet(passage: str, terms: Iterable[str], width: int = 260) -> tuple[str, list[tuple[int, int]]]:
    """A window of about `width` characters over the densest cluster of matches."""
    passage = " ".join(passage.split())
    spans = match_spans(passage, terms)
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
