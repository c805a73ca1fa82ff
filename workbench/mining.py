"""Parallel sentence mining across documents that are not counterparts (margin-based, as in
LASER / Artetxe & Schwenk 2019).

A sentence translated inside a different report is still a translation. Every Vietnamese
sentence is compared with every Korean one through k-nearest-neighbour search; a pair scores
the ratio margin cos(x, y) / mean(kNN similarity of x, kNN similarity of y), which discounts
sentences that are close to everything (hubs: boilerplate, dates, short headings). Only
mutual best matches above a threshold are kept. An offer and a demand are never paired: they are
two parties' records, and the lines they share (the session form's fields, a warranty, a
cooperation mode) are what matchmaking reads, not a translation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from viko.indexer import scoring
from viko.workbench.detect import mutual_margin_pairs

Embed = Callable[[Sequence[str]], np.ndarray]
PARTIES = frozenset({"offer", "demand"})  # document types mining never pairs with each other
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Sentence:
    doc_id: str
    index: int  # position among the document's sentences (as the aligner splits them)
    text: str


@dataclass(frozen=True)
class MinedPair:
    vi: Sentence
    ko: Sentence
    margin: float


@dataclass(frozen=True)
class MineParams:
    k: int = 4
    # Ratio margin a pair must reach. 1.15 (tuned on shuffled SIB-200 dev alone) mined 12% wrong
    # pairs among same-topic sentences that are not translations (the dev mix, bench/translate_mix.py);
    # 1.25 keeps precision >= 0.95 there (docs/benchmarks.md, section "translate").
    threshold: float = 1.25
    min_chars: int = 20       # shorter sentences (headings, dates) match too easily
    max_length_ratio: float = 2.5  # vi/ko character ratio may differ this much from the typical one
    min_number_overlap: float = 0.5  # Dice of the numbers when either side has some
    floor: float = 0.2        # least neighbourhood similarity in the margin's denominator


def mine(vi: Sequence[Sentence], ko: Sequence[Sentence], embed: Embed,
         params: MineParams | None = None, exclude: set[tuple[str, str]] | None = None,
         only: Collection[str] | None = None, kinds: Mapping[str, str] | None = None) -> list[MinedPair]:
    """Mutual-best sentence pairs by ratio margin; pairs whose (vi doc, ko doc) is in
    `exclude` (counterparts, aligned separately) are not reported, nor, with `only`, pairs
    that touch none of those documents (mined in an earlier run), nor pairs of an offer and a
    demand (`kinds`: a document's type)."""
    p = params or MineParams()
    exclude = exclude or set()
    kinds = kinds or {}
    vi, ko = minable(vi, ko, p)
    if len(vi) < 2 or len(ko) < 2:
        return []
    # Each side centred on its own mean, so the two languages meet on one scale.
    x, y = embed([s.text for s in vi]), embed([s.text for s in ko])
    x, y = scoring.centre(x, x.mean(axis=0)), scoring.centre(y, y.mean(axis=0))
    # The floor keeps sparse neighbourhoods (few sentences, unrelated texts) from turning a
    # small cosine into a large ratio.
    out = [MinedPair(vi[i], ko[j], margin) for i, j, margin in mutual_margin_pairs(x, y, p.k, p.floor)
           if margin >= p.threshold and (vi[i].doc_id, ko[j].doc_id) not in exclude
           and (only is None or vi[i].doc_id in only or ko[j].doc_id in only)
           and {kinds.get(vi[i].doc_id), kinds.get(ko[j].doc_id)} != PARTIES]
    return _plausible(out, p)


def minable(vi: Sequence[Sentence], ko: Sequence[Sentence],
            params: MineParams | None = None) -> tuple[list[Sentence], list[Sentence]]:
    """The sentences mining compares (and so embeds): long enough, and, where a sentence has
    numbers, with a sentence on the other side sharing enough of them to pass _plausible (a
    tax ruling's "제15조 제2항 ... 2019. 3. 5." beside news: never a pair, so never embedded)."""
    p = params or MineParams()
    vi = [s for s in vi if len(s.text) >= p.min_chars]
    ko = [s for s in ko if len(s.text) >= p.min_chars]
    nums_vi = [frozenset(_numbers(s.text)) for s in vi]
    nums_ko = [frozenset(_numbers(s.text)) for s in ko]
    ok_vi, ok_ko = _partnered(nums_vi, nums_ko, p), _partnered(nums_ko, nums_vi, p)
    return ([s for s, n in zip(vi, nums_vi, strict=True) if not n or n in ok_vi],
            [s for s, n in zip(ko, nums_ko, strict=True) if not n or n in ok_ko])


def _partnered(numbers: Sequence[frozenset[str]], others: Sequence[frozenset[str]],
               p: MineParams) -> set[frozenset[str]]:
    """The number sets of one side that a number set of the other side matches as _plausible asks."""
    holding: dict[str, set[frozenset[str]]] = {}
    for other in set(others):
        for n in other:
            holding.setdefault(n, set()).add(other)
    out = set()
    for own in set(numbers):
        near = set().union(*(holding.get(n, set()) for n in own)) if own else set()
        if any(2 * len(own & o) / (len(own) + len(o)) >= p.min_number_overlap for o in near):
            out.add(own)
    return out


def _numbers(text: str) -> set[str]:
    return {n for n in (re.sub(r"[.,]", "", m) for m in _NUMBER.findall(text)) if len(n) >= 2}


def _plausible(pairs: list[MinedPair], p: MineParams) -> list[MinedPair]:
    """Drop pairs a translation would not produce. In a corpus on one subject the encoder
    finds many sentences that say similar things ("Price: ...", "Period: 2021-2023"); a
    translation keeps the numbers and a typical length ratio, a look-alike usually does not."""
    if not pairs:
        return []
    ratios = [len(x.vi.text) / max(len(x.ko.text), 1) for x in pairs]
    typical = float(np.median(ratios))
    out = []
    for pair, ratio in zip(pairs, ratios, strict=True):
        if not 1 / p.max_length_ratio <= ratio / typical <= p.max_length_ratio:
            continue
        a, b = _numbers(pair.vi.text), _numbers(pair.ko.text)
        if (a or b) and 2 * len(a & b) / (len(a) + len(b)) < p.min_number_overlap:
            continue
        out.append(pair)
    return out
