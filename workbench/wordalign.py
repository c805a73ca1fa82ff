"""Word alignment from the translation memory: which words of the other side translate a query.

The concordance marks the glossary's equivalents of a query on the other side of each unit.
Where the glossary has none, the memory itself says which words go with the query: a form
that turns up on the other side of most units containing the query, and rarely elsewhere, is
its translation (Dice association between the query and each candidate form, over the
translations in the memory: aligned and imported units, not the mined look-alikes). A mark
is a statement, so a form is linked only when the evidence is strong: enough units with the
query, the form in most of them, and few units with the form but not the query; otherwise
nothing is marked. The thresholds were chosen on dev data (NTREX documents 0-61 and SIB-200
train+dev as a memory, the bundled glossary's equivalents as the truth; docs/benchmarks.md,
section "translate").

Candidate forms: on a Korean side every substring (2+ syllables) of a word, since particles
and endings attach to the noun (협약을) and compounds hold their parts (신재생에너지); on a
Vietnamese side runs of one to four whole syllables. A longer form with the same count among
the query's units is preferred to its parts (it can only be rarer elsewhere). The count of a
form over the whole memory includes units the reader may not see (and mined ones): only a
number, which can only make a mark less likely, never their text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from viko.corpus.tm import TranslationMemory, search_key

_KO_WORD = re.compile(r"[0-9A-Za-z\uac00-\ud7a3]+")
_VI_RUN = re.compile(r"[^\W_]+(?:\s+[^\W_]+)*")  # syllables between punctuation
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass(frozen=True)
class LinkParams:
    """When the memory's word alignment may mark a span (chosen on dev data, see above)."""

    min_together: int = 4    # units with both the query and the form, at least ...
    min_sources: int = 3     # ... from this many document pairs (a document's names go with all its words)
    min_dice: float = 0.6    # 2 * together / (units with the query + units with the form)
    max_terms: int = 2       # linked forms per query (a second one: a synonym the translators use)
    sample: int = 150        # units read to propose forms (the counts are then exact)
    candidates: int = 16     # forms counted over the whole memory
    max_syllables: int = 4   # longest Vietnamese form
    max_ko_chars: int = 8    # longest Korean form


@dataclass(frozen=True)
class LinkedTerm:
    """A form on the other side (`lang`, in its search form) linked to the query."""

    form: str
    lang: str
    dice: float
    together: int   # translation units with the query and the form
    units: int      # translation units with the query
    count: int      # units of the whole memory with the form

    def to_json(self) -> dict[str, object]:
        return {"form": self.form, "lang": self.lang, "dice": round(self.dice, 3), "together": self.together,
                "units": self.units, "count": self.count}


def candidate_forms(key: str, lang: str, params: LinkParams) -> set[str]:
    """The forms of one text (given in its search form, corpus.tm.search_key) that could
    translate a word of the other side."""
    out: set[str] = set()
    if lang == "ko":
        for word in _KO_WORD.findall(key):
            if not _HANGUL.search(word):
                continue
            for i in range(len(word)):
                for j in range(i + 2, min(len(word), i + params.max_ko_chars) + 1):
                    out.add(word[i:j])
        return out
    for run in _VI_RUN.findall(key):
        syllables = run.split()
        for i in range(len(syllables)):
            for n in range(1, min(params.max_syllables, len(syllables) - i) + 1):
                out.add(" ".join(syllables[i : i + n]))
    return out


def _contains(form: str, lang: str) -> Callable[[str], bool]:
    if lang == "ko":
        return lambda key: form in key
    pattern = re.compile(rf"(?<!\w){re.escape(form)}(?!\w)")
    return lambda key: pattern.search(key) is not None


def _proposals(keys: Sequence[str], lang: str, params: LinkParams) -> list[str]:
    """The forms most frequent on the other side of the query's units (a sample of them),
    leaving out a form when a longer one containing it is as frequent."""
    counts: Counter[str] = Counter()
    for key in keys[: params.sample]:
        counts.update(candidate_forms(key, lang, params))
    floor = max(2, round(0.3 * min(len(keys), params.sample)))
    frequent = {f: n for f, n in counts.items() if n >= floor}
    kept = [f for f, n in frequent.items()
            if not any(len(g) > len(f) and m == n and f in g for g, m in frequent.items())]
    kept.sort(key=lambda f: (-frequent[f], -len(f), f))
    return kept[: params.candidates]


def linked_terms(tm: TranslationMemory, units: Sequence[tuple[str, str]], lang: str,
                 params: LinkParams | None = None) -> list[LinkedTerm]:
    """The forms of language `lang` that the memory links to a query, strongest first.
    `units`: (the `lang` side in its search form, where it comes from) of every translation
    unit containing the query (not the mined ones); where: its document pair, or a key of its
    own when it has none. A second form must stand in units without the first (a synonym, not a word that
    merely keeps the first one company: 첨단농업 beside 신재생에너지)."""
    p = params or LinkParams()
    if len(units) < p.min_together:
        return []
    keys = [key for key, _ in units]
    scored = [found for form in _proposals(keys, lang, p) if (found := _score(tm, form, lang, len(units), keys, p))]
    chosen: list[tuple[LinkedTerm, set[int]]] = []
    for term, rows in sorted(scored, key=lambda t: (-t[0].dice, -len(t[0].form))):
        if len(chosen) >= p.max_terms or any(term.form in c.form or c.form in term.form for c, _ in chosen):
            continue
        alone = rows.difference(*(r for _, r in chosen))
        if len(alone) >= p.min_together and len({units[i][1] for i in alone}) >= p.min_sources:
            chosen.append((term, rows))
    return [term for term, _ in chosen]


def _score(tm: TranslationMemory, form: str, lang: str, m: int, keys: Sequence[str], p: LinkParams) -> tuple[LinkedTerm, set[int]] | None:
    """The form's Dice association with the query, with the query's units that hold it; None
    when it cannot reach `min_dice`. Counted over the whole memory through its trigram index,
    only up to the count at which the form could no longer qualify."""
    has = _contains(form, lang)
    rows = {i for i, k in enumerate(keys) if has(k)}
    together = len(rows)
    most = int(2 * together / p.min_dice) - m  # more units with the form: below min_dice
    if most < together:
        return None
    found = tm.containing("ko_key" if lang == "ko" else "vi_key", form, most + 1)
    if len(found) > most:  # too common (a Vietnamese count is of substrings: refused as well)
        return None
    count = len(found) if lang == "ko" else sum(1 for k in tm.search_keys("vi_key", found).values() if has(k))
    # count <= most, so the Dice is at least min_dice
    return LinkedTerm(form, lang, 2 * together / (m + max(count, together)), together, m, count), rows


def term_spans(text: str, terms: Iterable[LinkedTerm], taken: Sequence[tuple[int, int]] = (),
               keep: Callable[[tuple[int, int]], bool] = lambda span: True) -> tuple[tuple[int, int], ...]:
    """Where the linked forms occur in the text (longest first, not overlapping `taken` or
    each other); `keep` can refuse a span (a Vietnamese one that splits a word)."""
    form_key = search_key(text)
    if len(form_key) != len(text):
        return ()
    spans = list(taken)
    out = []
    for term in sorted(terms, key=lambda t: -len(t.form)):
        body = re.escape(term.form)
        pattern = re.compile(body if term.lang == "ko" else rf"(?<!\w){body}(?!\w)")
        for m in pattern.finditer(form_key):
            if keep(m.span()) and all(m.end() <= a or m.start() >= b for a, b in spans):
                spans.append(m.span())
                out.append(m.span())
    return tuple(sorted(out))
