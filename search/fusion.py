"""Fusion of one language's dense and lexical candidates into one score per document.

Why per-language calibration: a multilingual encoder scores every text in the query's own
language higher than any translation. Centring (indexer.store) removes most of that; then
each language's candidate scores are standardised against that language's own score
distribution for this query (shrunk toward the query's background similarity, so three
candidates are not taken for a distribution), and "best Vietnamese match" and "best Korean
match" are compared on one scale. The fused scores are standardised once more per language,
since words reach mostly the query's own language and would otherwise spread it wider.
Parameters: search.params.RankingParams; their measurements: docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from viko.indexer import centring, scoring
from viko.search.params import RankingParams
from viko.search.ranked import Scored
from viko.search.retriever import Hits, Retriever

# Candidates per document: (best score, the key of the chunk that scored it: search.retriever).
PerDoc = dict[str, tuple[float, int]]
# The scale fused scores are shrunk toward when re-standardised: the dense z-scores' N(0, 1).
FUSED_PRIOR = (0.0, 1.0)


def best_per_doc(hits: Hits) -> PerDoc:
    best: PerDoc = {}
    for row, score, doc in zip(hits.keys.tolist(), hits.scores.tolist(), hits.doc_ids, strict=True):
        if doc not in best or score > best[doc][0]:
            best[doc] = (float(score), int(row))
    return best


def with_document_vectors(retriever: Retriever, dense: PerDoc, centred_query: np.ndarray, weight: float) -> PerDoc:
    """Blend each document's best-passage score with its whole-document similarity (the mean
    of its centred chunk vectors): a query that sums up a document, like a headline, matches
    the whole better than any one passage."""
    docs = list(dense)
    wholes = (retriever.doc_vectors(docs) @ centred_query).tolist() if docs else []
    return {doc: ((1 - weight) * dense[doc][0] + weight * whole, dense[doc][1])
            for doc, whole in zip(docs, wholes, strict=True)}


def fuse(dense: PerDoc, lex: PerDoc, lang: str, params: RankingParams,
         background: tuple[float, float] | None = None, coverage: Mapping[str, float] | None = None) -> list[Scored]:
    """One language's documents with their fused score (`params.fusion`); `coverage`: the
    factor by which each document's lexical evidence counts (params.lexical_coverage)."""
    if params.fusion == "rrf":
        return fuse_ranks(dense, lex, lang, params)
    zd = standardise({d: s for d, (s, _) in dense.items()}, background, params.calibration_weight)
    zl = standardise({d: s for d, (s, _) in lex.items()}) if len(lex) > 1 else {d: 1.0 for d in lex}
    floor_d = min(zd.values(), default=0.0)
    out = []
    for doc in set(dense) | set(lex):
        lexical = max(zl.get(doc, 0.0), 0.0) * (coverage.get(doc, 1.0) if coverage is not None else 1.0)
        score = params.dense_weight * zd.get(doc, floor_d) + params.lexical_weight * lexical
        row = dense[doc][1] if doc in dense else lex[doc][1]
        # shown: the passage holding the query's words where one does (people read a snippet
        # for why it matched; the closest passage in meaning may be a title-like tail)
        out.append(Scored(doc, lang, score, row, shown_row=lex[doc][1] if doc in lex else -1))
    return restandardised(out, params.fused_shrink) if params.fused_calibration else out


def fuse_ranks(dense: PerDoc, lex: PerDoc, lang: str, params: RankingParams) -> list[Scored]:
    """Reciprocal-rank fusion; ranks within one language are comparable across languages
    by construction, so this is also a per-language calibration."""
    lists = [sorted(part, key=lambda d: (-part[d][0], d)) for part in (dense, lex)]
    fused = scoring.rrf(lists, k=params.rrf_k, weights=[params.dense_weight, params.lexical_weight])
    return [Scored(d, lang, score, dense[d][1] if d in dense else lex[d][1]) for d, score in fused.items()]


def restandardised(scored: list[Scored], shrink: float) -> list[Scored]:
    """One language's fused scores as z-scores. The lexical term reaches the query's own
    language (and the few shared Latin terms) only, so that language's fused scores spread
    wider: its second and third matches outranked the other language's best. Standardised,
    the best Vietnamese and the best Korean match stand on one scale, as the dense scores do;
    the spread is shrunk toward FUSED_PRIOR with weight `shrink`, so three documents are not
    stretched into a distribution."""
    if len(scored) < 2:
        return scored
    values = np.fromiter((s.score for s in scored), dtype=np.float64, count=len(scored))
    mean, std = centring.shrunk_stats(float(values.mean()), float(values.std()), len(values), FUSED_PRIOR, shrink)
    z = (values - mean) / std
    return [Scored(s.doc_id, s.lang, v, s.best_row, shown_row=s.shown_row) for s, v in zip(scored, z.tolist(), strict=True)]


def standardise(scores: dict[str, float], background: tuple[float, float] | None = None,
                weight: float = 0.0) -> dict[str, float]:
    """z-scores against this language's candidates; with a background, their mean and spread
    are shrunk toward it with `weight` (n / (n + weight) of the candidates' own), so three
    candidates of a small collection are not scored as if they were a whole distribution (the
    best of three always looked like a match)."""
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    if background is None or not len(values):
        z = scoring.standardise(values)
    else:
        mean, std = centring.shrunk_stats(float(values.mean()), float(values.std()), len(values),
                                          background, weight)
        z = (values - mean) / std
    return dict(zip(scores, z.tolist(), strict=True))
