"""Hybrid cross-language search: dense and BM25 candidates, calibrated per language, fused,
aggregated from chunks to documents.

Why per-language calibration: a multilingual encoder scores every text in the query's own
language higher than any translation. Centring (indexer.store) removes most of that; then
each language's candidate scores are standardised against that language's own score
distribution for this query, so "best Vietnamese match" and "best Korean match" are
compared on one scale. The fused scores (dense plus lexical) are standardised once more per
language, since words reach mostly the query's own language and would otherwise spread it wider.

The lexical query also carries the other-language side of glossary terms found in the query
(search/expansion.py), so BM25 sees 전라남도 in a query that says Jeollanam-do. What each of
these steps is worth, and the weights chosen on the dev splits, are in docs/benchmarks.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from viko.corpus.counterparts import Counterparts
from viko.corpus.textnorm import nfc, query_language
from viko.indexer import centring, scoring
from viko.indexer.analyze import Analyzer
from viko.indexer.encoders import Encoder
from viko.indexer.lexical import top_k
from viko.indexer.memo import Recent
from viko.indexer.store import LANGS, Index
from viko.search.accents import AccentTable
from viko.search.expansion import Expansion, NoExpansion, TermExpander, expand
from viko.search.ranked import DENSE_WEIGHT, LEXICAL_WEIGHT, Scored
from viko.search.relevance import MIN_LEXICAL_EVIDENCE, above_floor
from viko.search.snippets import make_snippet, match_spans

__all__ = ["DocMeta", "Hit", "QueryError", "Results", "Scored", "SearchEngine"]

MODES = ("full", "dense", "plain", "bm25")
# Candidates' weight against the background when standardising dense scores: n / (n + 20)
# of a language's own score distribution. Chosen on dev (docs/benchmarks.md, "firstday").
CALIBRATION_WEIGHT = 20.0
# A detected counterpart link at or above this confidence bridges fully; a weaker one in
# proportion. All 62 NTREX dev links score 0.49 to 1.0 and full bridging of each is what the
# documents table measures (scaling by the raw confidence cost 0.03 to 0.05 of both@2 on dev).
FULL_BRIDGE_CONFIDENCE = 0.45
# Bridging sums a document's and its translation's evidence, so both sides of a weaker pair
# outranked an untranslated document that matches better (a Korean query about rooftop solar
# panels: the Vietnamese demand for exactly that ranked 7th). A document without a counterpart
# counts this share of its own positive evidence in place of the missing side's; all-paired
# (NTREX) or unpaired (XQuAD, "firstday") collections rank as before. Demo corpus, 24 queries
# (dev; nDCG@10 / other-language recall@10, extended glossary): 0.931 / 0.918 with 0, 0.933 /
# 0.928 with 0.5, 0.918 / 0.928 with 1 (0.5 for other-language documents only: 0.926 / 0.928);
# without the glossary 0.863 / 0.782 -> 0.866 / 0.779. Through the benchmark's cached encoder
# (docs/benchmarks.md, "quality") 0.931 / 0.918 -> 0.930 / 0.918, without the glossary 0.878 /
# 0.824 -> 0.870 / 0.789: within what the encoder path alone moves here (0.015 of nDCG).
UNLINKED_SHARE = 0.5
FUSIONS = ("zscore", "rrf")
# Query vectors kept for the relevance floor and the document page of a recent search; a
# results page needs one, a busy server a few dozen.
QUERY_CACHE = 64
# Reciprocal-rank fusion's damping constant, the usual value from Cormack et al. (2009); RRF
# lost to z-score fusion on every dev task (docs/benchmarks.md, ablation), so it is not tuned.
RRF_K = 60.0
# Each language's fused scores are standardised once more before the languages are merged
# (_restandardised), against their own spread shrunk toward N(0, 1) (the dense scores' scale)
# with weight FUSED_SHRINK, so three documents are not stretched into a distribution. Measured
# on dev (docs/benchmarks.md, "firstday"): recall@3 at 6/20/60 NTREX documents without the
# floor 1.0/0.974/0.667 -> 1.0/0.974/0.846, with or without the shrinkage; without it the
# six-document salt-tolerant rice query of tests/test_firstday.py ranks a Korean farm report
# first, and 20 instead of 5 lost one demo query at 20 documents. NTREX documents both@2 ko
# 0.903 -> 0.887 (one near tie of two North Korea articles), nDCG@10 0.932 -> 0.929; XQuAD
# unchanged (one language); demo corpus nDCG@10 0.890 -> 0.916. `False`: the previous ranking.
FUSED_CALIBRATION = True
FUSED_PRIOR = (0.0, 1.0)
FUSED_SHRINK = 5.0


class QueryError(ValueError):
    """A query that cannot be run; the message is meant for the user."""


@dataclass(frozen=True)
class Hit:
    id: str
    lang: str
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    passage: tuple[int, int]
    title: str = ""
    url: str = ""
    type: str = ""
    date: str = ""
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "lang": self.lang, "title": self.title, "score": round(self.score, 4),
                "snippet": self.snippet, "highlights": [list(h) for h in self.highlights],
                "url": self.url, "type": self.type, "date": self.date, "source": self.source}


@dataclass(frozen=True)
class Results:
    query: str
    query_lang: str
    hits: list[Hit]
    total: int
    took_ms: float
    terms: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "query_lang": self.query_lang, "total": self.total,
                "took_ms": round(self.took_ms, 2), "hits": [h.to_json() for h in self.hits]}


@dataclass(frozen=True)
class DocMeta:
    title: str = ""
    url: str = ""
    type: str = ""
    date: str = ""
    source: str = ""


class SearchEngine:
    def __init__(self, index: Index, encoder: Encoder, analyzer: Analyzer,
                 meta: dict[str, DocMeta] | None = None, *, candidates: int = 200,
                 dense_weight: float = DENSE_WEIGHT, lexical_weight: float = LEXICAL_WEIGHT,
                 bridge_weight: float = 1.0, max_query_chars: int = 500,
                 glossary: TermExpander | None = None, fusion: str = "zscore",
                 document_weight: float = 0.0, min_dense_evidence: float | None = None,
                 min_lexical_evidence: float = MIN_LEXICAL_EVIDENCE, counterparts: Counterparts | None = None) -> None:
        if index.model != encoder.name:
            raise ValueError(f"index built with {index.model!r}, encoder is {encoder.name!r}")
        self.index = index
        self.encoder = encoder
        self.analyzer = analyzer
        self.meta = meta or {}
        self.candidates = candidates
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight
        self.bridge_weight = bridge_weight
        self.max_query_chars = max_query_chars
        self.glossary: TermExpander = glossary or NoExpansion()
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}: use one of {', '.join(FUSIONS)}")
        self.fusion = fusion
        self.document_weight = document_weight
        # None: every candidate is a result (evaluations rank everything); else see search.relevance.
        self.min_dense_evidence = min_dense_evidence
        self.min_lexical_evidence = min_lexical_evidence
        # Counterpart links as stored in the catalogue (detected, and the translators'
        # decisions): bridging, the floor and related documents read them, nothing recomputes.
        self.counterparts = counterparts or Counterparts()
        self._query_vectors: Recent[np.ndarray] = Recent(QUERY_CACHE)
        self._expansions: Recent[Expansion] = Recent(QUERY_CACHE)
        self._vector_lock = threading.Lock()
        self._accents: AccentTable | None = None

    # -- public ----------------------------------------------------------------------
    def search(self, query: str, *, lang: str = "all", limit: int = 10, offset: int = 0,
               mode: str = "full") -> Results:
        started = time.perf_counter()
        query = self.validate(query)
        if lang not in ("all", *LANGS):
            raise QueryError(f"unknown language filter {lang!r}: use all, vi or ko")
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        qlang = query_language(query)
        ranked, terms = self.rank(query, qlang, [lang] if lang != "all" else list(LANGS), mode)
        if mode == "full":
            ranked = self.matching(ranked, terms, query, qlang)
        page = ranked[offset : offset + limit]
        hits = [self.hit(s, terms) for s in page]
        took = (time.perf_counter() - started) * 1000
        return Results(query, qlang, hits, len(ranked), took, terms)

    def validate(self, query: str) -> str:
        if not isinstance(query, str):
            raise QueryError("the query must be text")
        query = nfc(" ".join(query.split()))
        if not query:
            raise QueryError("the query is empty: type a few words in Vietnamese or Korean")
        if len(query) > self.max_query_chars:
            raise QueryError(f"the query is {len(query)} characters long; the limit is {self.max_query_chars}")
        return query

    def rank(self, query: str, qlang: str, langs: Sequence[str], mode: str = "full") -> tuple[list[Scored], list[str]]:
        """Every candidate document of the given languages, best first. A query in English
        (or another language) is compared densely with both languages and lexically on the
        Latin-script terms they share."""
        terms = self.query_terms(query, qlang, expand=mode == "full")
        qvec = self.query_vector(query)
        # Counterpart bridging needs the other language's scores even under a language filter.
        scored_langs = LANGS if mode == "full" else langs
        nearest = (self.index.search_dense_async(self.index.centre(qvec, qlang)[0], scored_langs, self.candidates)
                   if mode in ("full", "dense") else {})
        lexical = self.index.lexical.scores(terms) if mode in ("full", "bm25") else None
        # the matching rows of each language, found once for all of them
        matched = self.index.rows_by_lang(np.flatnonzero(lexical > 0)) if lexical is not None else None
        merged: list[Scored] = []
        for lang in scored_langs:
            dense_hits = nearest[lang].result() if lang in nearest else None
            merged.extend(self._rank_language(qvec, qlang, lexical, matched, lang, mode, dense_hits))
        if mode == "full":
            merged = self._bridge(merged)
        merged = [s for s in merged if s.lang in langs]
        merged.sort(key=lambda s: (-s.score, s.doc_id))
        return merged, terms

    def query_vector(self, query: str) -> np.ndarray:
        """The encoded query, remembered briefly: ranking and the relevance floor both need it."""
        return self._query_vectors.get(query, lambda: self.encoder.encode_queries([self.as_searched(query)])[0])

    def as_searched(self, query: str) -> str:
        """The query as it is encoded and analysed: Vietnamese typed without diacritics gets
        them back from the index's own words (search.accents); anything else is unchanged."""
        if self._accents is None:
            table = AccentTable.from_lexicon(self.index.lexical)
            with self._vector_lock:
                self._accents = table
        return self._accents.restore(query)

    def matching(self, ranked: list[Scored], terms: list[str], query: str, qlang: str) -> list[Scored]:
        """The ranked documents with real evidence of matching (search.relevance): the same
        floor for the CLI, the API and the web pages, so a nonsense query gets no results."""
        if self.min_dense_evidence is None:
            return ranked
        qvec = self.query_vector(query)
        stats = {lang: self._background(qvec, qlang, lang, floor=True) for lang in LANGS}
        expansion = self.expansion(query, qlang)
        return above_floor(self.index, ranked, terms, qvec, qlang, self.counterparts.other, self.min_dense_evidence,
                           self.min_lexical_evidence, stats.get, list(expansion.own), expansion.translated)

    def query_terms(self, query: str, lang: str, *, expand: bool = True) -> list[str]:
        """The query's own terms, plus the other-language side of glossary entries found in
        it, so BM25 can match documents of both languages. A query that is neither Vietnamese
        nor Korean contributes its Latin-script words and numbers (IoT, ESS, Hai Phong)."""
        expansion = self.expansion(query, lang)
        return list(expansion.terms if expand else expansion.own)

    def expansion(self, query: str, lang: str) -> Expansion:
        """The query's terms and glossary translations (search.expansion), from one lookup
        remembered briefly: ranking and the relevance floor both need them."""
        return self._expansions.get((query, lang), lambda: expand(self.analyzer, self.glossary,
                                                                  self.as_searched(query), lang))

    def _bridge(self, scored: list[Scored]) -> list[Scored]:
        """A document and its translation share evidence: each gets its counterpart's
        (positive) calibrated score, weighted by how sure the counterpart link is. The
        strong same-language match thus lifts its translation, and the reverse. A confirmed
        link counts fully; a rejected one is not a link. A document without one counts
        UNLINKED_SHARE of its own evidence instead."""
        by_doc = {s.doc_id: s.score for s in scored}
        out = []
        for s in scored:
            link = self.counterparts.get(s.doc_id)
            if link is not None:
                strength = min(1.0, link.confidence / FULL_BRIDGE_CONFIDENCE)
                bonus = self.bridge_weight * strength * max(by_doc.get(link.other_id, 0.0), 0.0)
            else:
                bonus = self.bridge_weight * UNLINKED_SHARE * max(s.score, 0.0)
            out.append(Scored(s.doc_id, s.lang, s.score + bonus, s.best_row))
        return out

    def related(self, doc_id: str, limit: int = 6) -> list[Hit]:
        """Documents of both languages closest in content, counterpart first when there is one.
        Compared on centred document vectors, so the other language is not at a disadvantage."""
        index = self.index
        vec = index.doc_vector(doc_id)
        if vec is None:
            return []
        sims = index.doc_matrix @ vec
        link = self.counterparts.get(doc_id)
        order = [i for i in np.argsort(-sims).tolist() if index.doc_ids[i] != doc_id]
        picked = [index.doc_position[link.other_id]] if link and link.other_id in index.doc_position else []
        picked += [i for i in order if i not in picked][: max(limit - len(picked), 0)]
        hits = []
        for i in picked:
            other = index.doc_ids[i]
            row = index.doc_rows[other][0]
            hits.append(self.hit(Scored(other, index.doc_lang[other], float(sims[i]), row), []))
        return hits

    # -- internals -----------------------------------------------------------------------
    def _rank_language(self, qvec: np.ndarray, qlang: str, lexical: np.ndarray | None,
                       matched: dict[str, np.ndarray] | None, lang: str, mode: str,
                       dense_hits: tuple[np.ndarray, np.ndarray] | None = None) -> list[Scored]:
        """One language's candidates, fused; `dense_hits`: its nearest chunks (rows, centred
        cosines) as Index.search_dense_async found them (modes full and dense)."""
        index = self.index
        dense: dict[str, tuple[float, int]] = {}
        if mode == "plain":
            rows = index.rows_of_lang(lang)
            sims = index.vectors[rows] @ qvec
            order = top_k(sims, self.candidates, positive_only=False)
            dense = _best_per_doc(index, rows[order], sims[order])
        elif dense_hits is not None:
            dense = _best_per_doc(index, *dense_hits)
            if mode == "full" and self.document_weight > 0:
                dense = self._with_document_vectors(dense, index.centre(qvec, qlang)[0])
        lex: dict[str, tuple[float, int]] = {}
        if lexical is not None and matched is not None:
            rows = matched[lang]
            scores = lexical[rows]
            top = top_k(scores, self.candidates)
            lex = _best_per_doc(index, rows[top], scores[top])
        if mode in ("plain", "dense"):
            return [Scored(d, lang, s, r) for d, (s, r) in dense.items()]
        if mode == "bm25":
            return [Scored(d, lang, s, r) for d, (s, r) in lex.items()]
        return self._fuse(dense, lex, lang, self._background(qvec, qlang, lang))

    def _with_document_vectors(self, dense: dict[str, tuple[float, int]],
                               centred_query: np.ndarray) -> dict[str, tuple[float, int]]:
        """Blend each document's best-passage score with its whole-document similarity
        (the mean of its centred chunk vectors): a query that sums up a document, like a
        headline, matches the whole better than any one passage."""
        w = self.document_weight
        docs = list(dense)
        wholes = (self.index.doc_vectors_of(docs) @ centred_query).tolist() if docs else []
        return {doc: ((1 - w) * dense[doc][0] + w * whole, dense[doc][1]) for doc, whole in zip(docs, wholes, strict=True)}

    def _background(self, qvec: np.ndarray, qlang: str, lang: str, *, floor: bool = False) -> tuple[float, float] | None:
        """The query's similarity to everyday text of `lang` (indexer.centring.background)."""
        if (not floor and CALIBRATION_WEIGHT <= 0) or lang not in self.index.centroids:
            return None
        reference = centring.reference_vectors(self.encoder).get(lang if lang in ("vi", "ko") else "en")
        if reference is None:
            return None
        centred = self.index.centre(qvec, qlang)[0]
        return centring.background(centred, reference, self.index.centroids[lang])

    def _fuse(self, dense: dict[str, tuple[float, int]], lex: dict[str, tuple[float, int]],
              lang: str, background: tuple[float, float] | None = None) -> list[Scored]:
        if self.fusion == "rrf":
            return self._fuse_ranks(dense, lex, lang)
        zd = _standardise({d: s for d, (s, _) in dense.items()}, background)
        zl = _standardise({d: s for d, (s, _) in lex.items()}) if len(lex) > 1 else {d: 1.0 for d in lex}
        floor_d = min(zd.values(), default=0.0)
        out = []
        for doc in set(dense) | set(lex):
            score = self.dense_weight * zd.get(doc, floor_d) + self.lexical_weight * max(zl.get(doc, 0.0), 0.0)
            row = dense[doc][1] if doc in dense else lex[doc][1]
            out.append(Scored(doc, lang, score, row))
        return _restandardised(out) if FUSED_CALIBRATION else out

    def _fuse_ranks(self, dense: dict[str, tuple[float, int]], lex: dict[str, tuple[float, int]],
                    lang: str) -> list[Scored]:
        """Reciprocal-rank fusion; ranks within one language are comparable across languages
        by construction, so this is also a per-language calibration."""
        lists = [sorted(part, key=lambda d: (-part[d][0], d)) for part in (dense, lex)]
        fused = scoring.rrf(lists, k=RRF_K, weights=[self.dense_weight, self.lexical_weight])
        return [Scored(d, lang, score, dense[d][1] if d in dense else lex[d][1]) for d, score in fused.items()]

    def words_of(self, text: str, lang: str) -> tuple[str, ...]:
        """The multi-syllable Vietnamese words of a text, so highlights never cut one
        (search.snippets; re-analysed and remembered by the analyser)."""
        return self.analyzer.words(text) if lang == "vi" else ()

    def hit(self, scored: Scored, terms: Sequence[str]) -> Hit:
        chunk = self.index.chunks[scored.best_row]
        words = self.index.chunk_words(scored.best_row)
        if words is not None:  # the passage's words as indexed: marked on whole words at once
            snippet, spans = make_snippet(chunk.text, terms, words=words)
        else:
            snippet, spans = make_snippet(chunk.text, terms)
            if spans and chunk.lang == "vi":  # an older segment: analyse the shown window
                spans = match_spans(snippet, terms, self.words_of(snippet, chunk.lang))
        meta = self.meta.get(scored.doc_id, DocMeta())
        return Hit(id=scored.doc_id, lang=scored.lang, score=float(scored.score), snippet=snippet,
                   highlights=tuple(spans), passage=(chunk.start, chunk.end), title=meta.title,
                   url=meta.url, type=meta.type, date=meta.date, source=meta.source)


def _best_per_doc(index: Index, rows: np.ndarray, scores: np.ndarray) -> dict[str, tuple[float, int]]:
    best: dict[str, tuple[float, int]] = {}
    for row, score, doc in zip(rows.tolist(), scores.tolist(), index.doc_ids_of(rows), strict=True):
        if doc not in best or score > best[doc][0]:
            best[doc] = (float(score), int(row))
    return best


def _restandardised(scored: list[Scored]) -> list[Scored]:
    """One language's fused scores as z-scores. The lexical term reaches the query's own
    language (and the few shared Latin terms) only, so that language's fused scores spread
    wider: its second and third matches outranked the other language's best. Standardised,
    the best Vietnamese and the best Korean match stand on one scale, as the dense scores do."""
    if len(scored) < 2:
        return scored
    values = np.fromiter((s.score for s in scored), dtype=np.float64, count=len(scored))
    mean, std = centring.shrunk_stats(float(values.mean()), float(values.std()), len(values), FUSED_PRIOR,
                                      FUSED_SHRINK)
    z = (values - mean) / std
    return [Scored(s.doc_id, s.lang, v, s.best_row) for s, v in zip(scored, z.tolist(), strict=True)]


def _standardise(scores: dict[str, float], background: tuple[float, float] | None = None) -> dict[str, float]:
    """z-scores against this language's candidates; with a background, their mean and spread
    are shrunk toward it, so three candidates of a small collection are not scored as if
    they were a whole distribution (the best of three always looked like a match)."""
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    if background is None or not len(values):
        z = scoring.standardise(values)
    else:
        mean, std = centring.shrunk_stats(float(values.mean()), float(values.std()), len(values),
                                          background, CALIBRATION_WEIGHT)
        z = (values - mean) / std
    return dict(zip(scores, z.tolist(), strict=True))
