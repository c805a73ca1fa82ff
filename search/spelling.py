""""Did you mean": a query's unknown words replaced by the closest words the index holds.

The index's own vocabulary is the dictionary, in both languages: Vietnamese syllables and
Latin-script words are compared without diacritics and case ("nang luongg" -> "năng lượng"),
Korean words letter by letter (jamo, so one wrong vowel is one edit: "태얀광" -> "태양광"). Of
close words the more similar wins, then the more frequent. Only words the index does not hold
are replaced; a query whose words are all known has no correction.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from viko.corpus.textnorm import fold_vi, looks_unaccented_vietnamese, normalize_vi
from viko.indexer.analyze import VI_STOPWORDS
from viko.indexer.lexical import LexicalIndex

MAX_TYPO_EDITS = 1
# The most frequent words of each length compared with an unknown word: difflib costs a pass
# per candidate, and a million passages hold hundreds of thousands of words (a nonsense query
# would otherwise scan them all on the request path).
PER_LENGTH = 5_000
CUTOFF = 0.8  # difflib similarity a correction needs (one edit in a word of five or more letters)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _key(word: str) -> str:
    return unicodedata.normalize("NFD", fold_vi(word))


@dataclass(frozen=True)
class Speller:
    """Folded key -> the most frequent indexed word with it, and the keys by length."""

    words: dict[str, str]
    by_length: dict[int, list[str]]
    # Who reads the correction (search.visibility): a word is offered only when the reader
    # may see a passage holding it.
    admits: Callable[[str], bool] | None = None

    @classmethod
    def from_lexicon(cls, lexical: LexicalIndex) -> Speller:
        best: dict[str, tuple[int, str]] = {}
        for term in lexical.vocab:
            if "_" in term or len(term) < 2 or any(c.isdigit() for c in term):
                continue
            key = _key(term)
            df = sum(p.df(term) for p in lexical.parts)
            if key not in best or df > best[key][0]:
                best[key] = (df, term)
        by_length: dict[int, list[str]] = {}
        for key in sorted(best, key=lambda k: -best[k][0]):
            by_length.setdefault(len(key), []).append(key)
        return cls({k: t for k, (_, t) in best.items()}, by_length)

    def known(self, word: str) -> bool:
        key = _key(word)
        return key in self.words and (self.admits is None or self.admits(self.words[key]))

    def closest(self, word: str) -> str | None:
        """The indexed word closest to an unknown one, or None."""
        key = _key(word)
        pool = [k for n in range(len(key) - 2, len(key) + 3) for k in self.by_length.get(n, [])[:PER_LENGTH]]
        found = difflib.get_close_matches(key, pool, n=1 if self.admits is None else 5, cutoff=CUTOFF)
        return next((self.words[k] for k in found if self.admits is None or self.admits(self.words[k])), None)

    def correct(self, query: str, *, typos_only: bool = False) -> str | None:
        """The query with each unknown word replaced by its closest indexed word (case kept
        for Latin words typed with a capital), or None when nothing changes. `typos_only`:
        only Latin-script words that cannot be Vietnamese syllables ("cảmm", "luongg"), each at
        most MAX_TYPO_EDITS edits from the correction: a real word the index lacks ("nấu",
        "사진") is not a typo, and searching it as another word would answer a question
        nobody asked (the engine searches these corrections, and offers the others)."""
        out, pos, changed = [], 0, False
        for m in _WORD.finditer(query):
            word = m.group(0)
            fixed = word if self._skip(word) or (typos_only and not _typo(word)) else self._fix(word)
            if typos_only and fixed != word and edits(_key(word.lower()), _key(fixed)) > MAX_TYPO_EDITS:
                fixed = word
            if fixed != word and fold_vi(word) == word.lower():
                fixed = fold_vi(fixed)  # typed without diacritics: restored with the rest of the query
            if fixed != word:
                changed = True
                if word[:1].isupper() and not _HANGUL.search(fixed):
                    fixed = fixed[:1].upper() + fixed[1:]
            out.append(query[pos : m.start()] + fixed)
            pos = m.end()
        return "".join(out) + query[pos:] if changed else None

    def _skip(self, word: str) -> bool:
        low = normalize_vi(word.lower())
        return len(word) < 2 or low in VI_STOPWORDS or self.known(low) or word.isupper()

    def _fix(self, word: str) -> str:
        if _HANGUL.search(word):
            # Korean attaches particles: a known stem followed by one or two syllables is fine
            for cut in (1, 2):
                if len(word) > cut + 1 and self.known(word[:-cut]):
                    return word
        return self.closest(word) or word


def _typo(word: str) -> bool:
    """A Latin-script word no Vietnamese syllable spells (Hangul: never taken for a typo). A
    word of one letter repeated ("aaaa") is nobody's typo: one edit makes it "aaa", the
    placeholder name a tax ruling gives a company."""
    if _HANGUL.search(word) or len(set(word.lower())) < 2:
        return False
    return not all(looks_unaccented_vietnamese(fold_vi(part)) for part in word.lower().split("-"))


def edits(a: str, b: str) -> int:
    """Levenshtein distance (short words only: a few dozen letters)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]
