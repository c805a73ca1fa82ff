"""Analyzers: text -> index terms, per language.

Vietnamese: syllables (tone placement normalised) plus underthesea's multi-syllable words
(joined with '_'), so both "hợp tác" and "hợp_tác" evidence is available.
Korean: kiwipiepy morphemes of content classes (nouns, roots, verb and adjective stems).
Both: Latin-script words, acronyms and numbers come from one shared rule, so "IoT",
"Jeollanam-do", "5G" or "Hải Phòng" are the same terms in a Korean and a Vietnamese text —
the lexical side's only bridge across the two languages.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from viko.corpus.textnorm import nfc, normalize_vi
from viko.indexer.memo import Recent

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_NOT_HANGUL_WORD = r"[^\W_\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]+"
_SHARED_WORD = re.compile(rf"{_NOT_HANGUL_WORD}(?:[-.'’]{_NOT_HANGUL_WORD})*", re.UNICODE)
_KO_KEEP = {"NNG", "NNP", "NR", "XR", "VV", "VA", "SH", "NP"}
VI_STOPWORDS = frozenset(
    "và của các những được trong với cho là có này đã sẽ về theo tại từ một để đến khi như"
    " thì mà cũng nhiều ra vào lại đó nên bị do trên dưới hơn rất nhưng hoặc".split()
)


QUERY_TOKENS_CACHE = 256
# Texts whose multi-syllable words were asked for (snippets, document pages, concordance
# candidates): a results page needs about ten, a concordance query a few hundred.
WORDS_CACHE = 4096


class Analyzer:
    """Language-aware tokenizer; thread-safe; loads underthesea/kiwi lazily."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kiwi: Any = None
        self._vi_tokenize: Any = None
        self._queries: Recent[tuple[str, ...]] = Recent(QUERY_TOKENS_CACHE)
        self._words: Recent[tuple[str, ...]] = Recent(WORDS_CACHE)

    def tokens(self, text: str, lang: str) -> list[str]:
        text = nfc(text)
        if lang == "vi":
            return self._vietnamese(text)
        if lang == "ko":
            return self._korean(text)
        return shared_terms(text)

    def warm_up(self) -> None:
        """Load both analyzers now (about 3 s) rather than inside the first user's query."""
        self.tokens("khởi động", "vi")
        self.tokens("준비", "ko")

    def query_tokens(self, text: str, lang: str) -> list[str]:
        """Terms of a query: its own language's analysis plus the shared Latin/number terms.
        Remembered for the last QUERY_TOKENS_CACHE queries: ranking and the relevance floor
        both analyse the query (~3 ms of word segmentation each on a loaded core)."""
        cached = self._queries.get((text, lang), lambda: tuple(dict.fromkeys(self.tokens(text, lang))))
        return list(cached)  # a fresh list: callers extend it

    def words(self, text: str) -> tuple[str, ...]:
        """The multi-syllable Vietnamese words of a text ("sáng_tạo"), so highlights and
        concordance matches never split one (indexer.wordbounds). The index keeps terms only
        as postings, so the texts shown are re-analysed (about 1 ms for a 100-character
        sentence) and the last WORDS_CACHE of them remembered."""
        return self._words.get(text, lambda: tuple(self._joined_words(normalize_vi(nfc(text)))))

    def forget_queries(self) -> None:
        """Drop the remembered query analyses (benchmarks time the analysis itself)."""
        self._queries.clear()

    # -- Vietnamese -------------------------------------------------------------------
    def _vietnamese(self, text: str) -> list[str]:
        text = normalize_vi(text)
        return [t for t in shared_terms(text) if t not in VI_STOPWORDS] + self._joined_words(text)

    def _joined_words(self, text: str) -> list[str]:
        """underthesea's words of two to four alphabetic syllables, lowercased and joined."""
        out = []
        for word in self._vi_words(text):
            parts = word.lower().split()
            if 1 < len(parts) <= 4 and all(p.isalpha() for p in parts):
                out.append("_".join(parts))
        return out

    def _vi_words(self, text: str) -> list[str]:
        if self._vi_tokenize is None:
            with self._lock:
                if self._vi_tokenize is None:
                    from underthesea import word_tokenize

                    self._vi_tokenize = word_tokenize
        words: list[str] = []
        for line in text.split("\n"):
            if line.strip():
                with self._lock:  # underthesea's CRF tagger is not re-entrant
                    words.extend(self._vi_tokenize(line))
        return words

    # -- Korean -------------------------------------------------------------------
    def _korean(self, text: str) -> list[str]:
        terms = shared_terms(text)
        for token in self._kiwi_tokens(text):
            form, tag = token
            if tag in _KO_KEEP and _HANGUL.search(form):
                terms.append(form)
        return terms

    def _kiwi_tokens(self, text: str) -> list[tuple[str, str]]:
        if self._kiwi is None:
            with self._lock:
                if self._kiwi is None:
                    from kiwipiepy import Kiwi

                    self._kiwi = Kiwi()
        return [(t.form, t.tag) for t in self._kiwi.tokenize(text)]


def shared_terms(text: str) -> list[str]:
    """Lowercased words; hyphenated names also give their parts ('jeollanam-do', 'jeollanam')."""
    out: list[str] = []
    for match in _SHARED_WORD.finditer(text):
        word = match.group(0).lower().replace("’", "'")
        out.append(word)
        if "-" in word or "." in word:
            out.extend(p for p in re.split(r"[-.']", word) if len(p) > 1)
    return out


@lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    return Analyzer()
