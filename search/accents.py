"""Diacritics for a Vietnamese query typed without them, restored from the index's own words.

"dien mat troi ap mai" shares no term with a document that says "điện mặt trời áp mái", and
the encoder reads the unaccented string as a different, vaguer text. The index already
knows which accented words occur: its lexical vocabulary holds every Vietnamese syllable
and underthesea word ("mặt_trời") with its document frequency. Each run of the query's
syllables is replaced by the most frequent indexed word whose folded form is the same,
longest words first, so the word "mặt trời" decides "mat troi" rather than the more
frequent syllable "mất". Syllables the index does not know are kept as typed; Vietnamese
function words (của, được, các), which the index leaves out, come from the stopword list.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from viko.corpus.textnorm import fold_vi, fold_vi_fast, looks_unaccented_vietnamese, normalize_vi
from viko.indexer.lexical import LexicalIndex

MAX_WORD_SYLLABLES = 4  # the analyser's longest multi-syllable word
# Words the index does not hold (indexer.analyze.VI_STOPWORDS) or hardly holds (question words:
# documents state, queries ask), restored before any indexed word with the same letters, most
# frequent first where two fold alike ("nhung": những before nhưng; "do": đó before do). An
# ordered tuple, not the stopword set: a set's order changes with the hash seed, and so did the
# restoration of "nhung" and "do" from one process to the next. Question words come last, so
# gì, đâu and ai are not lost to gỉ, đầu, ái (figures: docs/benchmarks.md, "Why these parameters").
RESTORED_FIRST = (
    "của", "và", "có", "là", "các", "được", "trong", "cho", "những", "với", "một", "đã", "này",
    "để", "khi", "về", "từ", "theo", "như", "đến", "tại", "ra", "thì", "cũng", "nhiều", "sẽ",
    "vào", "lại", "đó", "nên", "do", "bị", "mà", "trên", "hơn", "rất", "nhưng", "dưới", "hoặc",
    "gì", "ai", "nào", "đâu",
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


@dataclass(frozen=True)
class AccentTable:
    """Folded form -> the accented forms the index holds (most frequent first), for words of
    1..4 syllables, with the index's posting lists to choose among them by context."""

    forms: dict[str, list[str]]
    lexical: LexicalIndex | None = None
    # Who reads the restored query (search.visibility): an index form is offered only when the
    # reader may see a passage holding it; the glossary's and the built-in forms always are.
    admits: Callable[[str], bool] | None = None
    curated: frozenset[str] = frozenset()

    @classmethod
    def from_lexicon(cls, lexical: LexicalIndex, extra: Iterable[str] = ()) -> AccentTable:
        """`extra`: Vietnamese words known beyond the index (the glossary's), after the
        index's own forms of the same letters: a collection of six documents does not hold
        "nhà kính thông minh", and "nha kinh thong minh" should not become "nhà kinh thống minh"."""
        found: dict[str, list[tuple[int, str]]] = {}
        for term in lexical.vocab:
            if _is_vietnamese_term(term):
                df = sum(p.df(term) for p in lexical.parts)
                found.setdefault(fold_vi_fast(term.replace("_", " ")), []).append((df, term))
        forms = {key: [t.replace("_", " ") for _, t in sorted(v, reverse=True)] for key, v in found.items()}
        curated = set(RESTORED_FIRST)
        for word in extra:
            word = " ".join(normalize_vi(word.lower()).split())
            if word and _is_vietnamese_term(word.replace(" ", "_")) and fold_vi(word) != word:
                curated.add(word)
                options = forms.setdefault(fold_vi(word), [])
                if word not in options:
                    options.append(word)
        for word in reversed(RESTORED_FIRST):  # so the first of two alike ends up in front
            options = forms.setdefault(fold_vi(word), [])
            if word in options:
                options.remove(word)
            options.insert(0, word)
        return cls(forms, lexical, curated=frozenset(curated))

    def options(self, folded: str) -> list[str]:
        """The accented forms of a folded word this table may offer its reader."""
        found = self.forms.get(folded, [])
        if self.admits is None:
            return found
        return [f for f in found if f in self.curated or self.admits(f.replace(" ", "_"))]

    def restore(self, query: str) -> str:
        """The query with its syllables' diacritics restored where the index knows them."""
        if not looks_unaccented_vietnamese(query):
            return query
        words = list(_WORD.finditer(query))
        runs: list[tuple[list[re.Match[str]], list[str]]] = []
        i = 0
        while i < len(words):
            for n in range(min(MAX_WORD_SYLLABLES, len(words) - i), 0, -1):
                run = words[i : i + n]
                joined = all(query[a.end() : b.start()].isspace() for a, b in itertools.pairwise(run))
                options = self.options(fold_vi(" ".join(m.group(0) for m in run))) if joined else []
                if options or n == 1:
                    runs.append((run, options))
                    i += n
                    break
        chosen = [options[0] if options else None for _, options in runs]
        chosen = [self._in_context(options, chosen, k) for k, (_, options) in enumerate(runs)]
        out, pos = [], 0
        for (run, _), form in zip(runs, chosen, strict=True):
            parts = form.split(" ") if form is not None else [m.group(0) for m in run]
            for m, part in zip(run, parts, strict=True):
                out.append(query[pos : m.start()] + _with_case(m.group(0), part))
                pos = m.end()
        return "".join(out) + query[pos:]

    def _in_context(self, options: list[str], chosen: list[str | None], k: int) -> str | None:
        """Of several accented forms, the one most associated with the query's other words
        ("doi" is "đội" beside "bóng" and "trận", "đối" beside "thủ"); the most frequent when
        the context says nothing. Association: the chunks a form shares with the context
        words, each weighted by its IDF (a rare context word says more), over the square root
        of the form's own chunk count (a cosine between their chunk sets, so that the most
        frequent form does not win on frequency alone; the variants compared on dev are in
        docs/benchmarks.md, "Why these parameters")."""
        if len(options) < 2 or self.lexical is None or options[0] in _RESTORED_FIRST:
            return options[0] if options else None  # function words are the most frequent of all
        context = {f.replace(" ", "_") for j, f in enumerate(chosen) if j != k and f is not None}
        rows, weights = [], []
        for term in context:
            for posted, _, _ in self.lexical.postings(term):
                rows.append(posted)
                weights.append(np.full(len(posted), self.lexical.idf_of(term)))
        if not rows:
            return options[0]
        held, inverse = np.unique(np.concatenate(rows), return_inverse=True)
        mass = np.bincount(inverse, weights=np.concatenate(weights))  # context weight per chunk row
        best, best_score = options[0], 0.0
        for form in options:
            found = [r for r, _, _ in self.lexical.postings(form.replace(" ", "_"))]
            if not found:
                continue
            mine = np.concatenate(found)
            at = np.minimum(np.searchsorted(held, mine), len(held) - 1)
            score = float(mass[at][held[at] == mine].sum()) / math.sqrt(len(mine))
            if score > best_score:
                best, best_score = form, score
        return best


_RESTORED_FIRST = frozenset(RESTORED_FIRST)


def _is_vietnamese_term(term: str) -> bool:
    parts = term.split("_")
    return 0 < len(parts) <= MAX_WORD_SYLLABLES and all(p.isalpha() and not _HANGUL.search(p) for p in parts)


def _with_case(typed: str, form: str) -> str:
    if fold_vi(form) == form or any(c.isupper() for c in typed[1:]):
        return typed  # nothing to restore, or an acronym (AFC) that only looks like a syllable
    return form[:1].upper() + form[1:] if typed[:1].isupper() else form
