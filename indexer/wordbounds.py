"""Where a text's Vietnamese words begin and end, so a highlight or a match never splits one.

A Vietnamese word is often several syllables ("sáng tạo", "chất lượng"); the analyser
(indexer.analyze) finds them and gives them joined ("sáng_tạo"). This module finds those
words back in the text as character spans. One rule, used by the snippets and document
pages (search.snippets) and by the translators' concordance (workbench.concordance): a span
that starts or ends strictly inside one of the text's multi-syllable words splits it, so
"tạo" alone is never found in "sáng tạo", while "năng lượng" is found in "năng lượng tái tạo".
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from functools import lru_cache

from viko.corpus.textnorm import fold_vi, normalize_vi

WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*", re.UNICODE)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
_ACRONYM = re.compile(r"^.+[A-Z]|^[A-Z]{2,}")  # IoT, ESS: capitals inside a word
KEY_CACHE = 65_536  # distinct words remembered (a few MB)
# Texts whose word spans were located (a concordance query checks a few hundred sentences;
# the same ones come back on the next page).
SPANS_CACHE = 4096

Span = tuple[int, int]


@lru_cache(maxsize=KEY_CACHE)
def keys(word: str) -> tuple[str, str]:
    """A word's match key (lowercase, one tone placement) and its folded form; cached because
    the same few thousand words recur in every passage shown."""
    key = normalize_vi(word.lower())
    return key, fold_vi(key)


@lru_cache(maxsize=SPANS_CACHE)
def number_bounded(pattern: str, key: str) -> str:
    """A Hangul key's pattern (matched as a substring: particles attach to Korean words) that
    never starts or ends inside a number: "5억" is not in "65억" nor in "1,5억"."""
    head = r"(?<![\d.,])" if key[:1].isdigit() else ""
    tail = r"(?![\d])" if key[-1:].isdigit() else ""
    return head + pattern + tail


def word_spans(text: str, words: tuple[str, ...]) -> tuple[Span, ...]:
    """Character spans of the text's multi-syllable words (`words`: the analyser's, joined
    with '_', in text order); remembered, since locating them costs about as much as the
    match itself."""
    return tuple(Syllables(text, words).unit_spans)


def splits(span: Span, words: Sequence[Span]) -> bool:
    """Whether the character span [start, end) starts or ends strictly inside one of the
    text's multi-syllable words: "tạo" in "sáng tạo", "năng lượng" in "khả năng | lượng".
    `words` in text order and not overlapping, as word_spans gives them: two binary searches,
    since a passage shown asks this of each of its syllables."""
    start, end = span
    return any(_inside(words, at) for at in (start, end))


def _inside(words: Sequence[Span], at: int) -> bool:
    i = bisect_left(words, (at, at)) - 1  # the last word starting before `at`
    return i >= 0 and words[i][0] < at < words[i][1]


class Syllables:
    """The Latin-script words (syllables) of a text with their keys, where each key occurs,
    and, given the analyser's words, the text's multi-syllable words as runs of syllables."""

    def __init__(self, text: str, words: Iterable[str] = ()) -> None:
        self.text = text
        self.found = [m for m in WORD.finditer(text) if not HANGUL.search(m.group(0))]
        pairs = [keys(m.group(0)) for m in self.found]
        self.keys = [k for k, _ in pairs]
        self.folds = [f for _, f in pairs]
        self._at: dict[str, list[int]] = {}
        self._at_folded: dict[str, list[int]] = {}
        for i, (key, fold) in enumerate(pairs):
            self._at.setdefault(key, []).append(i)
            self._at_folded.setdefault(fold, []).append(i)
        self.units = self._locate(words)
        self.unit_spans = [self.span(i, n) for i, n in self.units]

    def span(self, i: int, n: int) -> tuple[int, int]:
        """Character span of the n syllables from position i."""
        return self.found[i].start(), self.found[i + n - 1].end()

    def splits(self, start: int, end: int) -> bool:
        return splits((start, end), self.unit_spans)

    def unit_starts(self, unit: list[str]) -> list[int]:
        """Word positions where the unit's syllables (keys) stand next to each other (only
        spaces between them); an unaccented unit also matches accented text."""
        n = len(unit)
        unaccented = all(keys(p)[1] == p for p in unit)
        starts = self._at_folded.get(unit[0], []) if unaccented else self._at.get(unit[0], [])
        out = []
        for i in starts:
            if i + n > len(self.found):
                break
            window = self.folds[i : i + n] if unaccented else self.keys[i : i + n]
            if window == unit and all(self.text[a.end() : b.start()].isspace()
                                      for a, b in zip(self.found[i : i + n - 1], self.found[i + 1 : i + n], strict=False)):
                out.append(i)
        return out

    def _locate(self, words: Iterable[str]) -> list[tuple[int, int]]:
        """(position, length) of the analyser's multi-syllable words, matched in text order:
        each at its first occurrence after the previous one, so a word is found where the
        analyser saw it ("năng lượng" early in a text) and not at another place where the
        same syllables belong to other words ("khả năng | lượng hóa")."""
        units: list[tuple[int, int]] = []
        cursor = 0
        for word in words:
            if "_" not in word or HANGUL.search(word):
                continue
            unit = [keys(p)[0] for p in word.split("_") if p]
            at = next((i for i in self.unit_starts(unit) if i >= cursor), None) if len(unit) > 1 else None
            if at is None:
                continue
            cursor = at + len(unit)
            if any(_ACRONYM.search(m.group(0)) for m in self.found[at:cursor]):
                continue  # underthesea joins acronyms to a neighbour ("biến IoT"): not a word
            units.append((at, len(unit)))
        return units
