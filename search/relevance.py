"""A relevance floor: which ranked candidates actually match the query.

The engine's fused scores are standardised per query and language, so the best candidate of
a nonsense query still scores a few deviations above the rest: a threshold on that score
cannot tell "no match" from "a match". The floor therefore asks for evidence that does not
depend on the other candidates (the thresholds are fields of search.params.RankingParams):

* lexical: one of the document's chunks has a BM25 score of at least `min_lexical_evidence`
  times the best chunk's (so that one shared common syllable, "máy" or "của", is not enough)
  and holds `min_term_coverage` of the query's term weight (so that the best chunk matching
  only "mua" and "giá" of "mua vé máy bay giá rẻ" is not a match either), or
* bridged: its counterpart (the same document in the other language) does, or
* dense: its best chunk's centred cosine with the query reaches `min_dense_evidence`, or
  stands `min_background_z` standard deviations above the query's cosine with everyday
  sentences of the document's language (indexer.centring.background). The cosine depends on
  the collection: in a small one, centring by the collection's own mean leaves a real
  cross-language match below it, so the second rule, which does not depend on the
  collection, lets it through while nonsense stays below it. In a mixed one the cosine can be
  an offset: where one genre (a thousand tax rulings) makes most of a language's centroid,
  every other text of the language shares its offset from it, and a Korean nonsense query
  reaches 0.33 with Korean news. Everyday text shares that offset too, so the first rule also
  asks for `min_dense_z` deviations above it.

Supporting evidence: in a small collection a real cross-language match and nonsense reach
overlapping background deviations. What tells them apart is the query, not the document: a
real query has evidence somewhere in the collection (a strong match, or at least its words
occur), nonsense has none. So when the query has such evidence, `min_support_z` deviations
suffice for each language's best dense match (highest above everyday text), and for a document nearly as close to the query as
its language's best kept one (`near_best_dense`): a second cross-language match of the same
query. The measurements behind each threshold: docs/benchmarks.md, "Why these parameters".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np

from viko.search.expansion import Expansion, TranslationWeights
from viko.search.params import DEFAULTS, RankingParams
from viko.search.ranked import Scored
from viko.search.retriever import Allowed, Retriever

CounterpartOf = Callable[[str], str | None]
# a query's own term -> its glossary translations, each as the index terms a passage must all hold
Translations = Mapping[str, Sequence[Collection[str]]]
Background = Callable[[str], "tuple[float, float] | None"]
Names = Mapping[str, Sequence[str]]  # a query's name -> its spellings in the other script (search.names)


def lexical_docs(retriever: Retriever, terms: Sequence[str], min_ratio: float = 0.0,
                 own: Sequence[str] = (), min_coverage: float = 0.0,
                 among: Collection[str] | None = None, translated: Translations | None = None,
                 weights: TranslationWeights | None = None, within: Allowed | None = None) -> set[str]:
    """Documents with a chunk whose BM25 score is positive and at least min_ratio x the best
    chunk's `within` the viewer's visible rows (None: all; a hidden passage sets no bar),
    and which holds at least min_coverage of the weight of the query's own terms (or their
    glossary translations, `translated`; see term_coverage). With `among`, only those
    documents are looked at: the floor asks about a few hundred candidates, while a common
    term's chunks can be a third of a million-passage index."""
    top = retriever.lexical_top(terms, weights, within)
    if top <= 0:
        return set()
    threshold = max(min_ratio * top, 1e-9)
    hits = retriever.lexical_of(terms, among, weights)
    ok = hits.scores >= threshold
    if own and min_coverage > 0:
        ok &= term_coverage(retriever, own, hits.keys, translated) >= min_coverage
    return {hits.doc_ids[i] for i in np.flatnonzero(ok).tolist()}


def any_lexical(retriever: Retriever, terms: Sequence[str], names: Names | None = None,
                within: Allowed | None = None) -> bool:
    """Whether any chunk `within` the viewer's visible rows (None: any) holds a query term, or
    a spelling of its names in the other script (the best chunk always passes any ratio
    floor): a word only a hidden document holds is no evidence for this viewer."""
    return retriever.lexical_top([*terms, *spelled(names)], within=within) > 0


def term_coverage(retriever: Retriever, own: Sequence[str], keys: np.ndarray | None = None,
                  translated: Translations | None = None) -> np.ndarray:
    """Per chunk (or per given chunk key): the IDF of the query's own terms it holds over the
    IDF of all of them, a term the index never saw counted at the highest IDF (it is the most
    specific of all). So "mua" alone does not stand for "mua vé máy bay giá rẻ" however few
    documents the collection has; and a term missing from a small collection still counts as
    missing. A term the glossary translates is held where one of its translations is, all its
    index terms (`translated`: search.expansion.translated_terms), and counts once however
    many terms the translation has: "벼" is held by a passage that says "lúa"."""
    rarest = math.log(1.0 + (retriever.size + 0.5) / 0.5)
    if keys is None:
        keys = np.arange(retriever.size, dtype=np.int64)
    held = np.zeros(len(keys), np.float32)
    mass = 0.0
    for term in dict.fromkeys(own):
        weight = retriever.idf_of(term) or rarest
        mass += weight
        has = retriever.holding(term, keys)
        for alternative in (translated or {}).get(term, ()):
            has |= np.logical_and.reduce([retriever.holding(t, keys) for t in sorted(alternative)])
        held[has] += weight
    return held / max(mass, 1e-9)


def shared_word_coverage(retriever: Retriever, lex: Mapping[str, tuple[float, int]], expansion: Expansion,
                         power: float) -> dict[str, float]:
    """Per document of a language other than the query's: the factor by which its lexical
    evidence counts. Where the evidence is only words the languages share (the "West" of a
    sports article for "Trump tại West Virginia", a name written in Latin letters), it counts
    by the share of the query's term weight its best passage holds, to `power`; where the
    passage holds a word of a glossary translation, fully (the glossary is curated)."""
    rows = np.fromiter((r for _, r in lex.values()), dtype=np.int64, count=len(lex))
    translation = np.zeros(len(rows), bool)
    for term in {t for alternatives in expansion.translated.values() for alt in alternatives for t in alt}:
        translation |= retriever.holding(term, rows)
    shared = term_coverage(retriever, list(expansion.own), rows)
    return {doc: 1.0 if t else float(c) ** power
            for doc, t, c in zip(lex, translation.tolist(), shared.tolist(), strict=True)}


def dense_similarity(retriever: Retriever, query_vector: np.ndarray, qlang: str, items: Sequence[Scored]) -> np.ndarray:
    """Centred cosine between the query and each item's best chunk."""
    if not items:
        return np.zeros(0, np.float32)
    keys = np.fromiter((s.best_row for s in items), dtype=np.int64, count=len(items))
    return retriever.cosines(retriever.centre(query_vector, qlang), keys)


def lexical_evidence(retriever: Retriever, terms: Sequence[str], own: Sequence[str], translated: Translations,
                     among: Collection[str], params: RankingParams = DEFAULTS,
                     names: Names | None = None, within: Allowed | None = None) -> tuple[set[str], set[str]]:
    """The documents with a lexical match (lexical_docs), and those that match only through
    the spelling of a query's name in the other script (`names`: search.names), each spelling
    counted as a translation of its name: a word that sounds like the name is no proof of it,
    so those pass as possible matches."""
    def matching(terms: Sequence[str], translated: Translations) -> set[str]:
        weights = TranslationWeights.of(own, translated, params.translation_coverage)
        return lexical_docs(retriever, terms, params.min_lexical_evidence, own, params.min_term_coverage,
                            among=among, translated=translated, weights=weights, within=within)

    plain = matching(terms, translated)
    if not names:
        return plain, set()
    spelt = {name: [frozenset({s}) for s in found] for name, found in names.items()}
    with_names = {term: [*translated.get(term, ()), *spelt.get(term, ())] for term in {*translated, *spelt}}
    return plain, matching([*terms, *spelled(names)], with_names) - plain


def spelled(names: Names | None) -> list[str]:
    """Every spelling of the query's names (search.expansion.Expansion.names)."""
    return [s for found in (names or {}).values() for s in found]


def above_floor(retriever: Retriever, items: Sequence[Scored], terms: Sequence[str], query_vector: np.ndarray,
                qlang: str, counterpart_of: CounterpartOf, params: RankingParams = DEFAULTS,
                background: Background | None = None, own: Sequence[str] = (),
                translated: Translations | None = None, names: Names | None = None,
                visible: Allowed | None = None) -> list[Scored]:
    """The items with lexical, bridged or dense evidence, in their original (ranked) order;
    `own` are the query's own terms, before glossary expansion, `translated` their glossary
    translations (the lexical coverage), `names` the spellings of its names in the other
    script (lexical_evidence) and `visible` the viewer's rows (search.visibility)."""
    others = [counterpart_of(item.doc_id) for item in items]
    candidates = {item.doc_id for item in items} | {o for o in others if o is not None}
    lexical, named = lexical_evidence(retriever, terms, own, translated or {}, candidates, params, names, visible)
    dense = dense_similarity(retriever, query_vector, qlang, items)
    strong, zs = [], []
    for item, sim, other in zip(items, dense.tolist(), others, strict=True):
        stats = background(item.lang) if background else None
        z = (sim - stats[0]) / stats[1] if stats is not None else float("-inf")
        zs.append(z)
        close = sim >= params.min_dense_evidence and (stats is None or z >= params.min_dense_z)
        strong.append(item.doc_id in lexical or (other is not None and other in lexical)
                      or close or z >= params.min_background_z)
    # The query means something here: a document has strong evidence, or its words (or its
    # names' spellings) occur in the collection at all (any lexical match, however weak).
    # Nonsense has neither. Then the
    # document of each language standing highest above everyday text may pass on supporting
    # evidence: the one match a language without words in common with the query can offer
    # (not the best-ranked one, which a shared word or a counterpart's may have put first).
    if not (any(strong) or any_lexical(retriever, terms, names, visible)):
        return [item for item, keep in zip(items, strong, strict=True) if keep]
    best: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.lang not in best or zs[i] > zs[best[item.lang]]:
            best[item.lang] = i
    first = set(best.values())
    keep = [strong[i] or items[i].doc_id in named or (i in first and zs[i] >= params.min_support_z)
            for i in range(len(items))]
    near = near_best(items, keep, dense.tolist(), zs, params)
    return [item if strong[i] else dataclasses.replace(item, possible=True)
            for i, item in enumerate(items) if keep[i] or near[i]]


def near_best(items: Sequence[Scored], keep: Sequence[bool], sims: Sequence[float], zs: Sequence[float],
              params: RankingParams = DEFAULTS) -> list[bool]:
    """Which items stand, on supporting evidence, within `near_best_dense` of the centred
    cosine of their language's best kept item (none where a language keeps nothing)."""
    anchor: dict[str, float] = {}
    for item, kept, sim in zip(items, keep, sims, strict=True):
        if kept:
            anchor[item.lang] = max(anchor.get(item.lang, sim), sim)
    return [z >= params.min_support_z and item.lang in anchor and sim >= anchor[item.lang] - params.near_best_dense
            for item, sim, z in zip(items, sims, zs, strict=True)]
