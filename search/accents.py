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
import re
from dataclasses import dataclass

from corpus.textnorm import fold_vi, looks_unaccented_vietnamese
from indexer.analyze import VI_STOPWORDS
from indexer.lexical import LexicalIndex

MAX_WORD_SYLLABLES = 4  # the analyser's longest multi-syllable word
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


@dataclass(frozen=True)
class AccentTable:
    """Folded form -> the most frequent accented form, for words of 1..4 syllables."""

    best: dict[str, str]

    @classmethod
    def from_lexicon(cls, lexical: LexicalIndex) -> AccentTable:
        df = lexical.weights.indptr[1:] - lexical.weights.indptr[:-1]
        counts: dict[str, tuple[int, str]] = {}
        for term, col in lexical.vocab.items():
            if not _is_vietnamese_term(term):
                continue
            key = fold_vi(term.replace("_", " "))
            freq = int(df[col])
            if key not in counts or freq > counts[key][0]:
                counts[key] = (freq, term.replace("_", " "))
        best = {key: form for key, (_, form) in counts.items()}
        for word in VI_STOPWORDS:  # the most frequent words of the language
            best[fold_vi(word)] = word
        return cls(best)

    def restore(self, query: str) -> str:
        """The query with its syllables' diacritics restored where the index knows them."""
        if not looks_unaccented_vietnamese(query):
            return query
        words = list(_WORD.finditer(query))
        out, pos, i = [], 0, 0
        while i < len(words):
            for n in range(min(MAX_WORD_SYLLABLES, len(words) - i), 0, -1):
                run = words[i : i + n]
                joined = all(query[a.end() : b.start()].isspace() for a, b in itertools.pairwise(run))
                form = self.best.get(fold_vi(" ".join(m.group(0) for m in run))) if joined else None
                if form is not None or n == 1:
                    parts = form.split(" ") if form is not None else [run[0].group(0)]
                    for m, part in zip(run, parts, strict=True):
                        out.append(query[pos : m.start()] + _with_case(m.group(0), part))
                        pos = m.end()
                    i += n
                    break
        return "".join(out) + query[pos:]


def _is_vietnamese_term(term: str) -> bool:
    parts = term.split("_")
    return 0 < len(parts) <= MAX_WORD_SYLLABLES and all(p.isalpha() and not _HANGUL.search(p) for p in parts)


def _with_case(typed: str, form: str) -> str:
    return form[:1].upper() + form[1:] if typed[:1].isupper() else form
