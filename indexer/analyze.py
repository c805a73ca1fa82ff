"""Analyzers: text -> index terms, per language.

Vietnamese: syllables (tone placement normalised) plus underthesea's multi-syllable words
(joined with '_'), so both "hợp tác" and "hợp_tác" evidence is available.
Korean: kiwipiepy morphemes of content classes (nouns, roots, verb and adjective stems).
Both: Latin-script words, acronyms and numbers come from one shared rule, so "IoT",
"Jeollanam-do", "5G" or "Hải Phòng" are the same terms in a Korean and a Vietnamese text —
the lexical side's only bridge across the two languages.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from viko.corpus import textnorm
from viko.corpus.textnorm import nfc, normalize_vi
from viko.indexer import visegment
from viko.indexer.kiwidict import save_index
from viko.indexer.kiwilean import KiwiHelper, LeanKiwi
from viko.indexer.memo import Recent
from viko.indexer.quantities import amounts, quantity_terms
from viko.indexer.visegment import vi_segmenter

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_NOT_HANGUL_WORD = r"[^\W_\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]+"
_SHARED_WORD = re.compile(rf"{_NOT_HANGUL_WORD}(?:[-.'’]{_NOT_HANGUL_WORD})*", re.UNICODE)
_KO_KEEP = {"NNG", "NNP", "NR", "XR", "VV", "VA", "SH", "NP"}
# Province, city, county, district, town, township, village: Gyeonggi-do, Suwon-si, Gangnam-gu.
_KO_PLACE_SUFFIXES = frozenset({"do", "si", "gun", "gu", "eup", "myeon", "ri"})
# Kiwi tags a unit after a number as a bound noun (NNB): "5억 달러", "20킬로그램". The bound
# nouns of two or more syllables are mostly units and counters, which are terms; these few are
# grammar ("때문에", "만큼"), as are the one-syllable ones (것, 수, 등) and the ambiguous 원.
_KO_GRAMMAR_NNB = frozenset("때문 대로 만큼 이래 여지 즈음 나위 무렵 따름 나름 노릇 터이 지경 듯이 마련 바람".split())
# What the analyses are, bumped when a change gives some text other terms: an index records the
# version it was analysed with, and `viko index` re-analyses one of another version (its vectors
# kept). 2: a noun Kiwi splits into a determiner and a noun is also a term as written.
# 3: an amount with a scale word or digit grouping is also a term as its value (20 triệu, 2000만).
# 4: a unit after a number is a term (달러 of "5억 달러"). 5: the suffix of a romanised Korean
# place is no term of its own (the "do" of Jeollanam-do).
ANALYSIS_VERSION = 5
VI_STOPWORDS = frozenset(
    "và của các những được trong với cho là có này đã sẽ về theo tại từ một để đến khi như"
    " thì mà cũng nhiều ra vào lại đó nên bị do trên dưới hơn rất nhưng hoặc".split()
)


QUERY_TOKENS_CACHE = 256
# Texts whose multi-syllable words were asked for (snippets, document pages, concordance
# candidates): a results page needs about ten, a concordance query a few hundred.
WORDS_CACHE = 4096


class _Segmenters:
    """underthesea's and Kiwi's models, loaded once per process on first use and shared by
    every Analyzer (Kiwi alone takes 2-3 s and ~400 MB; a Vietnamese query never needs it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # loading, and underthesea's CRF tagger is not re-entrant
        self.kiwi: Any = None
        self.vi_tokenize: Any = None


_SEGMENTERS = _Segmenters()


class Analyzer:
    """Language-aware tokenizer; thread-safe; loads underthesea/kiwi lazily, each only when a
    text of its language comes. `memo` (a one-shot search's analyser): analyses of known texts
    kept on disk (TermsMemo), and Korean from a Kiwi holding only the dictionary entries the
    texts need (indexer.kiwilean.LeanKiwi: the same analysis, a third of the load), loaded by
    `helper` where the command started one for its query (KiwiHelper.start)."""

    def __init__(self, memo: TermsMemo | None = None, helper: KiwiHelper | None = None) -> None:
        self._lock = _SEGMENTERS.lock
        self._queries: Recent[tuple[str, ...]] = Recent(QUERY_TOKENS_CACHE)
        self._words: Recent[tuple[str, ...]] = Recent(WORDS_CACHE)
        self._names: Recent[tuple[str, ...]] = Recent(QUERY_TOKENS_CACHE)
        self.memo = memo
        self._lean = LeanKiwi(memo.dictionaries, helper) if memo is not None else None
        if memo is None and helper is not None:
            helper.end()

    def tokens(self, text: str, lang: str) -> list[str]:
        """A text's index terms, its amounts' values among them (indexer.quantities)."""
        text = nfc(text)
        if lang == "vi":
            terms = self._vietnamese(text)
        elif lang == "ko":
            terms = self._korean(text)
        else:
            terms = shared_terms(text)
        return terms + quantity_terms(text)

    def warm_up(self) -> None:
        """Load both analyzers now (about 3 s) rather than inside the first user's query."""
        self.tokens("khởi động", "vi")
        self.tokens("준비", "ko")

    def query_tokens(self, text: str, lang: str) -> list[str]:
        """Terms of a query: its own language's analysis plus the shared Latin/number terms.
        Remembered for the last QUERY_TOKENS_CACHE queries: ranking and the relevance floor
        both analyse the query (~3 ms of word segmentation each on a loaded core)."""
        cached = self._queries.get((text, lang), lambda: self._query_terms(text, lang))
        return list(cached)  # a fresh list: callers extend it

    def _query_terms(self, text: str, lang: str) -> tuple[str, ...]:
        known = self.memo.get(text, lang) if self.memo is not None else None
        terms = known if known is not None else tuple(dict.fromkeys(self.tokens(text, lang)))
        return self._amounts_as_values(nfc(text), lang, terms)

    def _amounts_as_values(self, text: str, lang: str, terms: tuple[str, ...]) -> tuple[str, ...]:
        """A query's amount is its value alone: the "5" and "억" of "5억" would match "4억 5천만"
        and any 5 (documents keep both; a number asked for plainly still matches its digits)."""
        found = amounts(text)
        if not found:
            return terms
        rest, last = [], 0
        for start, end, _ in found:
            rest.append(text[last:start])
            last = end
        outside = set(self.tokens(" ".join([*rest, text[last:]]), lang))
        parts = {t for a, b, _ in found for t in self.tokens(text[a:b], lang)} - {v for _, _, v in found}
        return tuple(t for t in terms if t not in parts or t in outside)

    def proper_nouns(self, text: str) -> tuple[str, ...]:
        """The Korean proper nouns of a query (Kiwi's NNP: 에르도안, 멕시코; not 고양이), the
        words search.names may look up in Latin letters. Remembered as query_tokens is."""
        if not _HANGUL.search(text):
            return ()
        return self._names.get(text, lambda: tuple(dict.fromkeys(
            form for form, tag in self._kiwi_tokens(nfc(text)) if tag == "NNP")))

    def words(self, text: str) -> tuple[str, ...]:
        """The multi-syllable Vietnamese words of a text ("sáng_tạo"), so highlights and
        concordance matches never split one (indexer.wordbounds). The index keeps terms only
        as postings, so the texts shown are re-analysed (about 1 ms for a 100-character
        sentence) and the last WORDS_CACHE of them remembered."""
        return self._words.get(text, lambda: tuple(self._joined_words(normalize_vi(nfc(text)))))

    def forget_queries(self) -> None:
        """Drop the remembered query analyses (benchmarks time the analysis itself)."""
        self._queries.clear()
        self._names.clear()

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
        if _SEGMENTERS.vi_tokenize is None:
            with self._lock:
                if _SEGMENTERS.vi_tokenize is None:
                    _SEGMENTERS.vi_tokenize = vi_segmenter()
        words: list[str] = []
        for line in text.split("\n"):
            if line.strip():
                with self._lock:  # underthesea's CRF tagger is not re-entrant
                    words.extend(_SEGMENTERS.vi_tokenize(line))
        return words

    # -- Korean -------------------------------------------------------------------
    def _korean(self, text: str) -> list[str]:
        terms = shared_terms(text)
        tokens = self._kiwi_tokens(text)
        for i, (form, tag) in enumerate(tokens):
            if (tag in _KO_KEEP or (tag == "NNB" and len(form) > 1 and form not in _KO_GRAMMAR_NNB)) \
                    and _HANGUL.search(form):
                terms.append(form)
            elif tag == "MM" and i + 1 < len(tokens) and tokens[i + 1][1] in ("NNG", "NNP") \
                    and (word := form + tokens[i + 1][0]) in text:
                # Kiwi reads some nouns as a determiner and a noun by their context ("양측은 온실"
                # as 온 + 실; 세척, 단결정): the word as written is a term too, so a query or
                # glossary word that Kiwi reads whole still matches it.
                terms.append(word)
        return terms

    def _kiwi_tokens(self, text: str) -> list[tuple[str, str]]:
        if self._lean is not None and (found := self._lean.tokens(text)) is not None:
            return found
        if _SEGMENTERS.kiwi is None:
            with self._lock:
                if _SEGMENTERS.kiwi is None:
                    from kiwipiepy import Kiwi

                    _SEGMENTERS.kiwi = Kiwi()
        return [(t.form, t.tag) for t in _SEGMENTERS.kiwi.tokenize(text)]


class TermsMemo:
    """Query analyses (Analyzer.query_tokens) of known texts, kept in a JSON file.

    A query's glossary expansion analyses the other language's side of every glossary term it
    holds (search.expansion): an English query needs both segmenters, a Vietnamese one Kiwi
    (2-3 s to load) for a few Korean words. Those texts are known in advance, so `viko index`,
    whose process has both segmenters loaded, writes their analyses here and a one-shot
    `viko search` reads them instead of loading a segmenter. The file holds the analyser's
    fingerprint (this module's and corpus.textnorm's source, underthesea's and Kiwi's versions):
    any change and it is ignored, so an answer from it is always the one the analyser gives.
    A text it does not hold is analysed as usual. Beside it, `dictionaries`: the index of Kiwi's
    dictionaries a one-shot search's Korean needs (indexer.kiwidict), written by `save`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.dictionaries = self.path.with_name("kiwi-dictionaries.idx")
        self._terms: dict[str, list[str]] = {}
        self._changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("analyser") == analyser_fingerprint():
                self._terms = {k: list(v) for k, v in data["terms"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # none yet, or unreadable: every text is analysed

    def __len__(self) -> int:
        return len(self._terms)

    def get(self, text: str, lang: str) -> tuple[str, ...] | None:
        found = self._terms.get(f"{lang}\t{text}")
        return None if found is None else tuple(found)

    def add(self, analyzer: Analyzer, text: str, lang: str) -> None:
        """Remember `analyzer.query_tokens(text, lang)` (computed unless already held)."""
        key = f"{lang}\t{text}"
        if key not in self._terms:
            self._terms[key] = list(dict.fromkeys(analyzer.tokens(text, lang)))
            self._changed = True

    def save(self) -> bool:
        """Write the file (atomically) if something was added, and the dictionaries' index if
        missing or stale (a cache: without it, Korean gets the full Kiwi); False when the
        file cannot be written."""
        save_index(self.dictionaries)
        if not self._changed:
            return True
        data = {"analyser": analyser_fingerprint(), "terms": self._terms}
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
            return False
        self._changed = False
        return True


@lru_cache(maxsize=1)
def analyser_fingerprint() -> str:
    """What the analyses depend on: this module's, the Vietnamese segmenter's and
    corpus.textnorm's source and the segmenters' package versions. It keys caches, which any
    edit may invalidate; an index is re-analysed only when ANALYSIS_VERSION changes."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    for source in (__file__, visegment.__file__, textnorm.__file__):
        digest.update(Path(source).read_bytes())
    for package in ("underthesea", "kiwipiepy", "kiwipiepy_model"):
        try:
            digest.update(f"{package} {version(package)};".encode())
        except PackageNotFoundError:
            digest.update(f"{package} -;".encode())
    return digest.hexdigest()


def shared_terms(text: str) -> list[str]:
    """Lowercased words; hyphenated names also give their parts ('jeollanam-do', 'jeollanam'),
    but not the suffix of a romanised Korean place (_KO_PLACE_SUFFIXES): the "do" of
    Jeollanam-do would match the DO (dissolved oxygen) of an aquaculture report."""
    out: list[str] = []
    for match in _SHARED_WORD.finditer(text):
        word = match.group(0).lower().replace("’", "'")
        out.append(word)
        if "-" in word or "." in word:
            out.extend(p for p in re.split(r"[-.']", word) if len(p) > 1 and p not in _KO_PLACE_SUFFIXES)
    return out


@lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    return Analyzer()
