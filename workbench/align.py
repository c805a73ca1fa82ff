"""Sentence alignment of a document and its translation (Vecalign / Bertalign style).

Both sides are split into sentences, and each sentence is embedded; so is each pair of
adjacent sentences where the 1-1 reading leaves one of them unsettled (not clearly linked to
one sentence of the other side), so that a sentence translated as two (or two as one) is
compared with the concatenation. Joined sentences are most of the tokens embedded, and a
translation's sentences are mostly settled 1-1: only the pairs around the rest are joined.
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
    # ... only where one of the two sentences is not settled: in a 1-1 link of the singles'
    # alignment at this cosine or more that beats the link's neighbours on either side (translated
    # sentences sit at 0.84-0.90, see evidence.ClaimParams.min_cosine). None: join everywhere.
    settled_cosine: float | None = 0.83


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
    a1, b1 = embed(list(a)), embed(list(b))
    links, at_a, at_b = _read_singles(a1, b1, params)
    if links is not None and not at_a and not at_b:  # nothing to join: the singles' reading stands
        return links
    a2, b2 = _joined_vectors(a, at_a, embed, a1.shape[1]), _joined_vectors(b, at_b, embed, b1.shape[1])
    gains, cos = _gains((a1, a2), (b1, b2), params)
    return _trace(len(a), len(b), _best_path(len(a), len(b), gains, params), cos)


def unit_texts(sents: Sequence[str]) -> list[str]:
    """Every text the aligner may embed for one side: the sentences, then each joined with the next."""
    return [*sents, *(f"{x} {y}" for x, y in itertools.pairwise(sents))]


def joins_needed(a: Sequence[str], b: Sequence[str], embed: Embed,
                 params: AlignParams | None = None) -> tuple[list[int], list[int]]:
    """Positions p of each side whose sentence p joined with p + 1 the alignment embeds: all
    of them, none (`joined` off), or those where sentence p or p + 1 is not settled."""
    params = params or AlignParams()
    if not a or not b:
        return ((list(range(len(a) - 1)), list(range(len(b) - 1))) if params.joined else ([], []))
    _, at_a, at_b = _read_singles(embed(list(a)), embed(list(b)), params)
    return at_a, at_b


def _read_singles(a1: np.ndarray, b1: np.ndarray, params: AlignParams,
                  ) -> tuple[list[Link] | None, list[int], list[int]]:
    """The alignment of the single sentences (None when every join is embedded anyway), and
    the positions of each side to join (joins_needed)."""
    n, m = len(a1), len(b1)
    if params.joined and params.settled_cosine is None:
        return None, list(range(n - 1)), list(range(m - 1))
    gains, cos = _gains((a1, None), (b1, None), params)
    links = _trace(n, m, _best_path(n, m, gains, params), cos)
    if not params.joined:
        return links, [], []
    sims = cos[(1, 1)]
    settled_a, settled_b = np.zeros(n, bool), np.zeros(m, bool)
    for link in links:
        if len(link.a) == 1 and len(link.b) == 1:
            i, j = link.a[0], link.b[0]
            # rivals: the neighbours a joined sentence would add (a repeat elsewhere joins nothing here)
            rivals = max(sims[i, max(j - 1, 0): j + 2].max(), sims[max(i - 1, 0): i + 2, j].max())
            if sims[i, j] >= params.settled_cosine and sims[i, j] >= rivals:
                settled_a[i] = settled_b[j] = True
    return (links, [p for p in range(n - 1) if not (settled_a[p] and settled_a[p + 1])],
            [p for p in range(m - 1) if not (settled_b[p] and settled_b[p + 1])])


def joined_texts_at(sents: Sequence[str], positions: Sequence[int]) -> list[str]:
    return [f"{sents[p]} {sents[p + 1]}" for p in positions]


def joined_texts(a: Sequence[str], b: Sequence[str], embed: Embed, params: AlignParams | None = None) -> list[str]:
    """The joined sentences aligning this pair embeds (after its singles: joins_needed reads them),
    so that a run can embed them ahead, in long batches."""
    at_a, at_b = joins_needed(a, b, embed, params)
    return joined_texts_at(a, at_a) + joined_texts_at(b, at_b)


def _joined_vectors(sents: Sequence[str], positions: list[int], embed: Embed, dim: int) -> np.ndarray:
    """One row per adjacent pair (len(sents) - 1 rows); NaN where the pair is not joined."""
    out = np.full((max(len(sents) - 1, 0), dim), np.nan, np.float32)
    if positions:
        out[positions] = embed(joined_texts_at(sents, positions))
    return out


def _gains(a: tuple[np.ndarray, np.ndarray | None], b: tuple[np.ndarray, np.ndarray | None],
           params: AlignParams) -> tuple[Table, Table]:
    """gain[(da, db)][i, j]: value of linking a[i:i+da] with b[j:j+db] (-inf where a joined
    sentence was not embedded), and the raw cosine; from the singles and joined vectors."""
    (a1, a2), (b1, b2) = a, b
    # Neighbourhood of each unit: mean of its k best single-sentence matches on the other side.
    def nn(x: np.ndarray | None, base: np.ndarray) -> np.ndarray:
        if x is None or len(x) == 0:
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
        if x is None or y is None or len(x) == 0 or len(y) == 0:
            continue
        margin = x @ y.T - (na[da][:, None] + nb[db][None, :]) / 2
        penalty = params.multi_penalty if da + db > 2 else 0.0
        out[(da, db)] = np.nan_to_num((margin - params.threshold - penalty).astype(np.float64), nan=-np.inf)
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
                if gain == -np.inf:  # a joined sentence not embedded (settled 1-1)
                    continue
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
