"""Sentence alignment of a document and its translation (Vecalign / Bertalign style).

Both sides are split into sentences; every sentence and every pair of adjacent sentences is
embedded, so a sentence translated as two (or two as one) is compared with the concatenation.
Raw cosines are margin-normalised: each candidate's similarity minus the mean similarity of
its two ends to their nearest neighbours on the other side, which removes the
"everything in this document looks alike" offset that makes fixed thresholds fail. A dynamic
programme then picks the monotone path of 1-1, 1-2, 2-1 links and unmatched sentences with
the highest total gain (a link's gain is its normalised score minus a threshold; an
unmatched sentence gains nothing).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from viko.corpus.document import Document
from viko.indexer.chunking import sentences

Embed = Callable[[Sequence[str]], np.ndarray]
# (sentences taken from a, from b); (1, 0) and (0, 1) leave a sentence unmatched.
MOVES = ((1, 1), (1, 2), (2, 1), (1, 0), (0, 1))
Table = dict[tuple[int, int], np.ndarray]


@dataclass(frozen=True)
class AlignParams:
    threshold: float = -0.02   # a link may fall this far below its neighbourhood (tuned on NTREX dev)
    multi_penalty: float = -0.005  # cost of a 1-2 / 2-1 link over a 1-1 (negative: concatenations embed a little blurred)
    k: int = 5                 # neighbours in the margin
    band: int = 30             # for long documents: cells this far from the diagonal
    # Embed each sentence joined with the next, for 1-2 / 2-1 links (most of the tokens
    # embedded); without, only 1-1 links and unmatched sentences.
    joined: bool = True


@dataclass(frozen=True)
class Link:
    a: tuple[int, ...]
    b: tuple[int, ...]
    score: float

    def to_json(self) -> dict[str, object]:
        return {"a": list(self.a), "b": list(self.b), "score": round(self.score, 4)}


@dataclass(frozen=True)
class Alignment:
    links: list[Link]
    a_sentences: list[str]
    b_sentences: list[str]

    def to_json(self) -> dict[str, object]:
        return {"links": [link.to_json() for link in self.links],
                "a_sentences": self.a_sentences, "b_sentences": self.b_sentences}

    def pairs(self) -> list[tuple[Link, str, str]]:
        """Links that join both sides, with their texts (what goes into translation memory)."""
        out = []
        for link in self.links:
            if link.a and link.b:
                out.append((link, " ".join(self.a_sentences[i] for i in link.a),
                            " ".join(self.b_sentences[j] for j in link.b)))
        return out


def doc_sentences(doc: Document) -> list[str]:
    """Sentences as the aligner sees them: one per line for segmented documents."""
    return sentences(doc.text, doc.segmented)


def align_documents(a: Document, b: Document, embed: Embed, params: AlignParams | None = None) -> Alignment:
    sa, sb = doc_sentences(a), doc_sentences(b)
    return Alignment(align_sentences(sa, sb, embed, params), sa, sb)


def align_sentences(a: Sequence[str], b: Sequence[str], embed: Embed,
                    params: AlignParams | None = None) -> list[Link]:
    """Links covering every sentence of both sides exactly once, in order."""
    params = params or AlignParams()
    if not a or not b:
        return [Link((i,), (), 0.0) for i in range(len(a))] + [Link((), (j,), 0.0) for j in range(len(b))]
    gains, cos = _gains(list(a), list(b), embed, params)
    return _trace(len(a), len(b), _best_path(len(a), len(b), gains, params), cos)


def unit_texts(sents: Sequence[str]) -> list[str]:
    """What the aligner embeds for one side: the sentences, then each joined with the next."""
    return [*sents, *(f"{x} {y}" for x, y in itertools.pairwise(sents))]


def _embed_units(sents: list[str], embed: Embed, joined: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Singles, and concatenations of each sentence with the next (none unless `joined`)."""
    vecs = embed(unit_texts(sents) if joined else sents)
    return vecs[: len(sents)], vecs[len(sents) :]


def _gains(a: list[str], b: list[str], embed: Embed, params: AlignParams) -> tuple[Table, Table]:
    """gain[(da, db)][i, j]: value of linking a[i:i+da] with b[j:j+db]; and the raw cosine."""
    a1, a2 = _embed_units(a, embed, params.joined)
    b1, b2 = _embed_units(b, embed, params.joined)
    # Neighbourhood of each unit: mean of its k best single-sentence matches on the other side.
    def nn(x: np.ndarray, base: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, np.float32)
        sims = x @ base.T
        k = min(params.k, base.shape[0])
        return np.sort(sims, axis=1)[:, -k:].mean(axis=1)

    na = {1: nn(a1, b1), 2: nn(a2, b1)}
    nb = {1: nn(b1, a1), 2: nn(b2, a1)}
    va, vb = {1: a1, 2: a2}, {1: b1, 2: b2}
    out, cos = {}, {}
    for da, db in ((1, 1), (1, 2), (2, 1)):
        x, y = va[da], vb[db]
        if len(x) == 0 or len(y) == 0:
            continue
        margin = x @ y.T - (na[da][:, None] + nb[db][None, :]) / 2
        penalty = params.multi_penalty if da + db > 2 else 0.0
        out[(da, db)] = (margin - params.threshold - penalty).astype(np.float64)
        cos[(da, db)] = (x @ y.T).astype(np.float64)
    return out, cos


def _best_path(n: int, m: int, gains: Table, params: AlignParams) -> np.ndarray:
    """Highest-gain monotone path, restricted to a band around the diagonal for long inputs."""
    neg = -1e18
    best = np.full((n + 1, m + 1), neg)
    move = np.zeros((n + 1, m + 1), np.int8)
    best[0, 0] = 0.0
    slope = m / n
    width = max(params.band, abs(n - m) + 5)
    for i in range(n + 1):
        centre = i * slope
        lo, hi = max(0, int(centre - width)), min(m, int(centre + width) + 1)
        for j in range(lo, hi + 1):
            if i == 0 and j == 0:
                continue
            top, arg = neg, 0
            for t, (da, db) in enumerate(MOVES):
                pi, pj = i - da, j - db
                if pi < 0 or pj < 0 or best[pi, pj] <= neg or (da and db and (da, db) not in gains):
                    continue
                gain = gains[(da, db)][pi, pj] if da and db else 0.0
                value = best[pi, pj] + gain
                if value > top:
                    top, arg = value, t
            best[i, j], move[i, j] = top, arg
    return move


def _trace(n: int, m: int, move: np.ndarray, cos: Table) -> list[Link]:
    """Links from the move table; a link's score is the cosine of its two sides' embeddings."""
    links = []
    i, j = n, m
    while i > 0 or j > 0:
        da, db = MOVES[int(move[i, j])]
        pi, pj = i - da, j - db
        score = float(cos[(da, db)][pi, pj]) if da and db else 0.0
        links.append(Link(tuple(range(pi, i)), tuple(range(pj, j)), score))
        i, j = pi, pj
    return links[::-1]
