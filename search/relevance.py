"""A relevance floor: which ranked candidates actually match the query.

The engine's fused scores are standardised per query and language, so the best candidate of
a nonsense query still scores a few deviations above the rest: a threshold on that score
cannot tell "no match" from "a match". The floor therefore asks for evidence that does not
depend on the other candidates:

* lexical: one of the document's chunks has a BM25 score of at least `min_lexical` times the
  best chunk's (so that one shared common syllable, "máy" or "của", is not enough) and
  holds `MIN_TERM_COVERAGE` of the query's term weight (so that the best chunk matching only
  "mua" and "giá" of "mua vé máy bay giá rẻ" is not a match either), or
* bridged: its counterpart (the same document in the other language) does, or
* dense: its best chunk's centred cosine with the query reaches `min_dense`, or stands
  `MIN_BACKGROUND_Z` standard deviations above the query's cosine with everyday sentences of
  the document's language (indexer.centring.background). The first rule was calibrated on
  a corpus of 53 documents; in a collection of six, centring by the collection's own mean
  leaves a real cross-language match near 0.2, so the second rule, which does not depend on
  the collection, lets it through while nonsense stays below it.

Supporting evidence: a real cross-language match in a collection of 20 sits at 2.3-4.4
background deviations, where nonsense also reaches (3.2-3.9 at the 90th percentile). What
tells them apart is the query, not the document: a real query has evidence somewhere in the
collection (a strong match, or at least its words occur), nonsense has none. So when the
query has such evidence, `MIN_SUPPORT_Z` deviations suffice for each language's best match,
and for a document nearly as close to the query as its language's best kept one
(`NEAR_BEST_DENSE`): a second cross-language match of the same query.

Measured on the demo corpus and its 24 queries: nonsense and out-of-domain queries reach a
centred cosine of at most 0.27, so `min_dense` = 0.30 keeps them empty; `min_lexical` = 0.2
keeps 114 of the 126 relevant documents (115 with any lexical match) while listing 22 of 53
documents per query instead of 37.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
from viko.indexer.lexical import LexicalIndex
from viko.indexer.store import Index
from viko.search.ranked import Scored

CounterpartOf = Callable[[str], str | None]
# a query's own term -> its glossary translations, each as the index terms a passage must all hold
Translations = Mapping[str, Sequence[Collection[str]]]
Background = Callable[[str], "tuple[float, float] | None"]
# Measured on dev collections of 6 to 60 documents (demo corpus and NTREX, docs/benchmarks.md,
# "firstday"): gibberish queries reach 3.2-3.9 background deviations at the 90th percentile
# (4.7 at most, once), the right document of a cross-language query 4.3-6.3 at the 10th.
MIN_BACKGROUND_Z = 4.5
# Supporting dense evidence: the best-ranked document of each language, for a query that
# means something in the collection (see above_floor), passes at MIN_SUPPORT_Z background
# deviations. Measured on dev collections of 6/20/60 NTREX documents (docs/benchmarks.md,
# "firstday"): the right document of a cross-language query that the floor dropped sat at
# 2.3-4.4 deviations; recall@3 0.903/0.821/0.718 -> 1.0/0.974/0.821 with 2.5 for any of the
# first three ranks (2.0: 0.846 at 60 documents but more kept), and 1.0/0.974/0.846 for the
# best of each language, which keeps 0.03-0.08 of the collection per query instead of
# 0.04-0.10 and no unrelated third document of a four-document collection (tests/test_cli.py).
MIN_SUPPORT_Z = 2.5
# Near the best: for a query with evidence, a document at MIN_SUPPORT_Z deviations whose centred
# cosine is within NEAR_BEST_DENSE of its language's best kept document passes too (a second
# cross-language match stands as close to the query as the first: a Korean query about rooftop
# solar panels and three Vietnamese solar documents). Nonsense keeps nothing, so nothing is
# near. Measured on dev collections (docs/benchmarks.md, "firstday"): NTREX recall@3 at 60
# documents 0.846 -> 0.872 with 0.02, 0.04 or 0.08, 6/20 documents and the demo corpus
# unchanged, nonsense and out-of-domain empty unchanged; documents kept per query 0.033 ->
# 0.039 of the collection at 60 NTREX documents with 0.04 (0.047 with 0.08).
NEAR_BEST_DENSE = 0.04
# A lexical match must hold this share of the IDF weight of the query's own terms
# (term_coverage). Measured on the same dev collections, with the supporting rule anchored on
# any lexical match: out-of-domain queries answered with nothing 0.48/0.17/0.25 ->
# 0.64/0.42/0.38 (NTREX) and 0.75/0.67/0.63 -> 0.95/0.92/1.0 (demo corpus; its nonsense at 60
# documents 0.86 -> 1.0), documents kept per query about halved, recall unchanged. Anchored on
# strong evidence only, 0.3 lost recall (0.92/0.82 at 20/60) and 0.5 more (0.92/0.80).
MIN_TERM_COVERAGE = 0.3
# The two floors measured in the docstring above; settings and the engine read these.
MIN_DENSE_EVIDENCE = 0.30
MIN_LEXICAL_EVIDENCE = 0.2


def lexical_docs(index: Index, terms: Sequence[str], min_ratio: float = 0.0,
                 own: Sequence[str] = (), min_coverage: float = 0.0,
                 among: Collection[str] | None = None, translated: Translations | None = None) -> set[str]:
    """Documents with a chunk whose BM25 score is positive and at least min_ratio x the best,
    and which holds at least min_coverage of the weight of the query's own terms (or their
    glossary translations, `translated`; see term_coverage). With `among`, only those
    documents are looked at: the floor asks about a few hundred candidates, while a common
    term's chunks can be a third of a million-passage index."""
    if not terms or not index.chunks:
        return set()
    scores = index.lexical.scores(list(terms))
    top = float(scores.max()) if len(scores) else 0.0
    if top <= 0:
        return set()
    threshold = max(min_ratio * top, 1e-9)
    if among is None:
        keep = scores >= threshold
        if own and min_coverage > 0:
            keep &= term_coverage(index.lexical, own, translated=translated) >= min_coverage
        return index.docs_of(np.flatnonzero(keep))
    docs, owner, rows = index.rows_of_docs(among)
    ok = scores[rows] >= threshold
    if own and min_coverage > 0:
        ok &= term_coverage(index.lexical, own, rows, translated) >= min_coverage
    return {docs[i] for i in np.unique(owner[ok]).tolist()}


def any_lexical(index: Index, terms: Sequence[str]) -> bool:
    """Whether any chunk holds a query term (the best chunk always passes any ratio floor)."""
    return bool(terms) and index.size > 0 and float(index.lexical.scores(list(terms)).max()) > 0


def term_coverage(lexical: LexicalIndex, own: Sequence[str], rows: np.ndarray | None = None,
                  translated: Translations | None = None) -> np.ndarray:
    """Per chunk (or per given row): the IDF of the query's own terms it holds over the IDF of
    all of them, a term the index never saw counted at the highest IDF (it is the most
    specific of all). So "mua" alone does not stand for "mua vé máy bay giá rẻ" however few
    documents the collection has; and a term missing from a small collection still counts as
    missing. A term the glossary translates is held where one of its translations is, all its
    index terms (`translated`: search.expansion.translated_terms), and counts once however
    many terms the translation has: "벼" is held by a passage that says "lúa"."""
    rarest = math.log(1.0 + (lexical.size + 0.5) / 0.5)
    size = lexical.size if rows is None else len(rows)
    held = np.zeros(size, np.float32)
    mass = 0.0
    for term in dict.fromkeys(own):
        weight = lexical.idf_of(term) or rarest
        mass += weight
        has = _holding(lexical, term, rows, size)
        for alternative in (translated or {}).get(term, ()):
            has |= np.logical_and.reduce([_holding(lexical, t, rows, size) for t in sorted(alternative)])
        held[has] += weight
    return held / max(mass, 1e-9)


def _holding(lexical: LexicalIndex, term: str, rows: np.ndarray | None, size: int) -> np.ndarray:
    """Which chunks (or given rows) hold the term."""
    if rows is not None:
        return lexical.holds(term, rows)
    has = np.zeros(size, bool)
    for posted, _, _ in lexical.postings(term):
        has[posted] = True
    return has


def dense_similarity(index: Index, query_vector: np.ndarray, qlang: str, items: Sequence[Scored]) -> np.ndarray:
    """Centred cosine between the query and each item's best chunk."""
    if not items:
        return np.zeros(0, np.float32)
    centred = index.centre(query_vector, qlang)[0]
    rows = np.fromiter((s.best_row for s in items), dtype=np.int64, count=len(items))
    return np.asarray(index.centred[rows] @ centred, dtype=np.float32)


def above_floor(index: Index, items: Sequence[Scored], terms: Sequence[str], query_vector: np.ndarray,
                qlang: str, counterpart_of: CounterpartOf, min_dense: float = MIN_DENSE_EVIDENCE,
                min_lexical: float = MIN_LEXICAL_EVIDENCE, background: Background | None = None,
                own: Sequence[str] = (), translated: Translations | None = None) -> list[Scored]:
    """The items with lexical, bridged or dense evidence, in their original (ranked) order;
    `own` are the query's own terms, before glossary expansion, and `translated` their
    glossary translations (the lexical coverage)."""
    others = [counterpart_of(item.doc_id) for item in items]
    candidates = {item.doc_id for item in items} | {o for o in others if o is not None}
    lexical = lexical_docs(index, terms, min_lexical, own, MIN_TERM_COVERAGE, among=candidates, translated=translated)
    dense = dense_similarity(index, query_vector, qlang, items)
    strong, zs = [], []
    for item, sim, other in zip(items, dense.tolist(), others, strict=True):
        stats = background(item.lang) if background else None
        z = (sim - stats[0]) / stats[1] if stats is not None else float("-inf")
        zs.append(z)
        strong.append(item.doc_id in lexical or (other is not None and other in lexical) or sim >= min_dense
                      or z >= MIN_BACKGROUND_Z)
    # The query means something here: a document has strong evidence, or its words occur in
    # the collection at all (any lexical match, however weak). Nonsense has neither. Then the
    # best-ranked document of each language may pass on supporting evidence: the one match a
    # language without words in common with the query can offer.
    if not (any(strong) or any_lexical(index, terms)):
        return [item for item, keep in zip(items, strong, strict=True) if keep]
    best: dict[str, int] = {}
    for i, item in enumerate(items):
        best.setdefault(item.lang, i)
    first = set(best.values())
    keep = [strong[i] or (i in first and zs[i] >= MIN_SUPPORT_Z) for i in range(len(items))]
    near = near_best(items, keep, dense.tolist(), zs)
    return [item for i, item in enumerate(items) if keep[i] or near[i]]


def near_best(items: Sequence[Scored], keep: Sequence[bool], sims: Sequence[float], zs: Sequence[float]) -> list[bool]:
    """Which items stand, on supporting evidence, within NEAR_BEST_DENSE of the centred cosine
    of their language's best kept item (none where a language keeps nothing)."""
    anchor: dict[str, float] = {}
    for item, kept, sim in zip(items, keep, sims, strict=True):
        if kept:
            anchor[item.lang] = max(anchor.get(item.lang, sim), sim)
    return [z >= MIN_SUPPORT_Z and item.lang in anchor and sim >= anchor[item.lang] - NEAR_BEST_DENSE
            for item, sim, z in zip(items, sims, zs, strict=True)]
