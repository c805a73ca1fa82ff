"""A relevance floor: which ranked candidates actually match the query.

The engine's fused scores are standardised per query and language, so the best candidate of
a nonsense query still scores a few deviations above the rest: a threshold on that score
cannot tell "no match" from "a match". The floor therefore asks for evidence that does not
depend on the other candidates:

* lexical: one of the document's chunks has a BM25 score of at least `min_lexical` times the
  best chunk's (so that one shared common syllable, "máy" or "của", is not enough), or
* bridged: its counterpart (the same document in the other language) does, or
* dense: its best chunk's centred cosine with the query reaches `min_dense`, or stands
  `MIN_BACKGROUND_Z` standard deviations above the query's cosine with everyday sentences of
  the document's language (indexer.centring.background). The first rule was calibrated on
  a corpus of 53 documents; in a collection of six, centring by the collection's own mean
  leaves a real cross-language match near 0.2, so the second rule, which does not depend on
  the collection, lets it through while nonsense stays below it.

Measured on the demo corpus and its 24 queries: nonsense and out-of-domain queries reach a
centred cosine of at most 0.27, so `min_dense` = 0.30 keeps them empty; `min_lexical` = 0.2
keeps 114 of the 126 relevant documents (115 with any lexical match) while listing 22 of 53
documents per query instead of 37.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np
from viko.indexer.store import Index
from viko.search.ranked import Scored

CounterpartOf = Callable[[str], str | None]
Background = Callable[[str], "tuple[float, float] | None"]
# Measured on dev collections of 6 to 60 documents (demo corpus and NTREX, docs/benchmarks.md,
# "firstday"): gibberish queries reach 3.2-3.9 background deviations at the 90th percentile
# (4.7 at most, once), the right document of a cross-language query 4.3-6.3 at the 10th.
MIN_BACKGROUND_Z = 4.5
# The two floors measured in the docstring above; settings and the engine read these.
MIN_DENSE_EVIDENCE = 0.30
MIN_LEXICAL_EVIDENCE = 0.2


def lexical_docs(index: Index, terms: Sequence[str], min_ratio: float = 0.0,
                 among: Collection[str] | None = None) -> set[str]:
    """Documents with a chunk whose BM25 score is positive and at least min_ratio x the best;
    with `among`, only those documents are looked at (the floor asks about a few hundred
    candidates, while a common term's chunks can be a third of a million-passage index)."""
    if not terms or not index.chunks:
        return set()
    scores = index.lexical.scores(list(terms))
    top = float(scores.max()) if len(scores) else 0.0
    if top <= 0:
        return set()
    threshold = max(min_ratio * top, 1e-9)
    if among is None:
        return index.docs_of(np.flatnonzero(scores >= threshold))
    return {doc for doc, best in index.best_row_scores(among, scores).items() if best >= threshold}


def dense_similarity(index: Index, query_vector: np.ndarray, qlang: str, items: Sequence[Scored]) -> np.ndarray:
    """Centred cosine between the query and each item's best chunk."""
    if not items:
        return np.zeros(0, np.float32)
    centred = index.centre(query_vector, qlang)[0]
    rows = np.fromiter((s.best_row for s in items), dtype=np.int64, count=len(items))
    return np.asarray(index.centred[rows] @ centred, dtype=np.float32)


def above_floor(index: Index, items: Sequence[Scored], terms: Sequence[str], query_vector: np.ndarray,
                qlang: str, counterpart_of: CounterpartOf, min_dense: float = MIN_DENSE_EVIDENCE,
                min_lexical: float = MIN_LEXICAL_EVIDENCE, background: Background | None = None) -> list[Scored]:
    """The items with lexical, bridged or dense evidence, in their original order."""
    others = [counterpart_of(item.doc_id) for item in items]
    candidates = {item.doc_id for item in items} | {o for o in others if o is not None}
    lexical = lexical_docs(index, terms, min_lexical, candidates)
    dense = dense_similarity(index, query_vector, qlang, items)
    kept = []
    for item, sim, other in zip(items, dense.tolist(), others, strict=True):
        if item.doc_id in lexical or (other is not None and other in lexical) or sim >= min_dense \
                or _above_background(sim, background(item.lang) if background else None):
            kept.append(item)
    return kept


def _above_background(sim: float, stats: tuple[float, float] | None) -> bool:
    return stats is not None and (sim - stats[0]) / stats[1] >= MIN_BACKGROUND_Z
