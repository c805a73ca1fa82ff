"""What SearchEngine asks of an index, and the local index that answers it.

`Retriever` is the one interface between the ranking (calibration, fusion, bridging, the floor,
snippets: search.engine, search.fusion, search.relevance) and the index: candidates per
language, dense (centred cosines, k nearest) and lexical (BM25), under a viewer's mask and a
query's filters; the few figures the relevance floor reads; document vectors for related
documents; and the passages a page shows. `LocalRetriever` is its one implementation, over the
segmented on-disk index (indexer.store.Index: FAISS per language and segment, BM25 postings)
and the filters of search.constraints. How an OpenSearch index would answer each call:
docs/scale-out.md, "The Retriever seam".

A chunk is named by its key, the generation's chunk row (an int: a remote index stores it as a
field of each passage), so `Scored.best_row` is the same for every implementation. `Allowed` is
opaque to the engine: here a mask over the rows, remotely a filter clause; None is every chunk
the engine's viewer may see.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from viko.corpus.counterparts import Counterparts
from viko.indexer.chunking import Chunk
from viko.indexer.lexical import LexicalIndex, top_k
from viko.indexer.store import Index
from viko.search.constraints import Terms, allowed_rows, browse, dense_within
from viko.search.doctable import DocTable
from viko.search.expansion import TranslationWeights, weighted_scores
from viko.search.ranked import Scored
from viko.search.results import DocMeta
from viko.search.syntax import ParsedQuery

Allowed = Any  # what a query and a viewer may retrieve: a row mask here, a filter clause remotely
ADMITS_CACHE = 65_536  # terms remembered per audience (restoring diacritics asks for the same ones)


@dataclass(frozen=True)
class Hits:
    """Chunks and their scores, best first (or in the index's order where said so)."""

    keys: np.ndarray  # int64 chunk keys
    doc_ids: list[str]  # each chunk's document
    scores: np.ndarray  # float32: centred cosines (dense) or BM25 scores (lexical)


class Retriever(Protocol):
    """What the engine asks of an index; every call of one phase (dense, lexical) is made for
    all the languages at once, so a remote index can answer each phase with one request."""

    @property
    def model(self) -> str: ...  # the encoder the vectors were made with

    @property
    def lexicon(self) -> LexicalIndex: ...  # terms, document frequencies: spelling and diacritics

    @property
    def size(self) -> int: ...  # chunks indexed (the IDF of a term the index never saw)

    def centre(self, query_vector: np.ndarray, qlang: str) -> np.ndarray: ...

    def centroid(self, lang: str) -> np.ndarray | None: ...  # a language's mean chunk vector

    def visible(self, hidden: frozenset[str]) -> Allowed: ...  # every chunk but those documents'

    def admits(self, visible: Allowed) -> Callable[[str], bool]: ...  # a term occurs in a visible chunk

    def allowed(self, parsed: ParsedQuery, terms: Terms, counterparts: Counterparts,
                within: Allowed | None) -> Allowed | None: ...

    def browse(self, allowed: Allowed | None, langs: Sequence[str], limit: int) -> list[tuple[str, str, int]]: ...

    def dense(self, centred_query: np.ndarray, langs: Sequence[str], k: int,
              allowed: Allowed | None) -> Mapping[str, Callable[[], Hits]]: ...

    def plain(self, query_vector: np.ndarray, lang: str, k: int) -> Hits: ...

    def lexical(self, terms: Sequence[str], langs: Sequence[str], k: int,
                allowed: Allowed | None, weights: TranslationWeights | None = None) -> dict[str, Hits]: ...

    def lexical_top(self, terms: Sequence[str], weights: TranslationWeights | None = None,
                    within: Allowed | None = None) -> float: ...

    def lexical_of(self, terms: Sequence[str], docs: Collection[str] | None,
                   weights: TranslationWeights | None = None) -> Hits: ...

    def holding(self, term: str, keys: np.ndarray) -> np.ndarray: ...

    def idf_of(self, term: str) -> float: ...

    def cosines(self, centred_query: np.ndarray, keys: np.ndarray) -> np.ndarray: ...

    def doc_vectors(self, doc_ids: list[str]) -> np.ndarray: ...

    def documents_like(self, doc_id: str) -> list[Scored] | None: ...

    def passage(self, key: int) -> tuple[Chunk, tuple[str, ...] | None]: ...

    def chunks_of(self, doc_id: str) -> Sequence[int]: ...  # a document's chunk keys, in order


class LocalRetriever:
    """The Retriever of one opened index generation and the catalogue records its filters
    read (`meta`: type, source, title, date per document)."""

    def __init__(self, index: Index, meta: dict[str, DocMeta]) -> None:
        self.index = index
        self.meta = meta
        self._table: DocTable | None = None
        self._weighted: tuple[tuple[tuple[str, ...], TranslationWeights], np.ndarray] | None = None

    @property
    def model(self) -> str:
        return self.index.model

    @property
    def lexicon(self) -> LexicalIndex:
        return self.index.lexical

    @property
    def size(self) -> int:
        return self.index.lexical.size

    def centre(self, query_vector: np.ndarray, qlang: str) -> np.ndarray:
        """The query with its language's centroid taken away (indexer.store.Index.centre)."""
        return self.index.centre(query_vector, qlang)[0]

    def centroid(self, lang: str) -> np.ndarray | None:
        return self.index.centroids.get(lang)

    def hits(self, rows: np.ndarray, scores: np.ndarray) -> Hits:
        return Hits(rows, self.index.doc_ids_of(rows), scores)

    # -- who may see what, and what a query allows ------------------------------------------
    def visible(self, hidden: frozenset[str]) -> np.ndarray:
        """The live chunk rows of every document but the hidden ones."""
        index = self.index
        mask = index.live.copy()
        present = [d for d in hidden if d in index.doc_rows]
        if present:
            _, _, rows = index.rows_of_docs(present)
            mask[rows] = False
        return mask

    def admits(self, visible: np.ndarray) -> Callable[[str], bool]:
        """Whether an index term occurs in at least one visible row (remembered: a common
        syllable's postings are long, and the answer holds as long as the scope does)."""
        lexical = self.index.lexical

        @functools.lru_cache(maxsize=ADMITS_CACHE)
        def admits(term: str) -> bool:
            return any(bool(visible[rows].any()) for rows, _, _ in lexical.postings(term))
        return admits

    def table(self) -> DocTable:
        """The documents as arrays for the filters (search.doctable), built on first use."""
        if self._table is None:
            self._table = DocTable(self.index, self.meta)
        return self._table

    def allowed(self, parsed: ParsedQuery, terms: Terms, counterparts: Counterparts,
                within: np.ndarray | None) -> np.ndarray | None:
        """The rows the query's filters, phrases and exclusions allow (search.constraints),
        within the viewer's visible rows (None: all of them)."""
        allowed = allowed_rows(self.index, self.table(), parsed, terms, counterparts)
        if within is None:
            return allowed
        return within if allowed is None else allowed & within

    def browse(self, allowed: np.ndarray | None, langs: Sequence[str], limit: int) -> list[tuple[str, str, int]]:
        return browse(self.index, self.meta, allowed, langs, limit)

    # -- candidates ------------------------------------------------------------------------
    def dense(self, centred_query: np.ndarray, langs: Sequence[str], k: int,
              allowed: np.ndarray | None) -> dict[str, Callable[[], Hits]]:
        """The k nearest allowed chunks of each language, searched side by side on the index's
        pool (graphs walked, or exact); each language's hits when collected."""
        index = self.index
        found = (index.search_dense_async(centred_query, langs, k) if allowed is None else
                 {lang: index.submit(dense_within, index, centred_query, lang, k, allowed) for lang in langs})
        return {lang: functools.partial(self._collect, future) for lang, future in found.items()}

    def _collect(self, future: Future[tuple[np.ndarray, np.ndarray]]) -> Hits:
        return self.hits(*future.result())

    def plain(self, query_vector: np.ndarray, lang: str, k: int) -> Hits:
        """The k nearest chunks of a language by uncentred cosine, scanned exactly (the
        `plain` ablation: what centring is measured against)."""
        rows = self.index.rows_of_lang(lang)
        sims = self.index.vectors[rows] @ query_vector
        order = top_k(sims, k, positive_only=False)
        return self.hits(rows[order], sims[order])

    def lexical(self, terms: Sequence[str], langs: Sequence[str], k: int,
                allowed: np.ndarray | None, weights: TranslationWeights | None = None) -> dict[str, Hits]:
        """The k best allowed chunks of each language by BM25 (the matching rows of every
        language found in one pass); `weights`: how glossary translations count."""
        scores = self._scores(terms, weights)
        matching = scores > 0 if allowed is None else (scores > 0) & allowed
        by_lang = self.index.rows_by_lang(np.flatnonzero(matching))
        out = {}
        for lang in langs:
            rows = by_lang[lang]
            mine = scores[rows]
            top = top_k(mine, k)
            out[lang] = self.hits(rows[top], mine[top])
        return out

    def _scores(self, terms: Sequence[str], weights: TranslationWeights | None) -> np.ndarray:
        """BM25 per chunk (search.expansion.weighted_scores), the last query's remembered: the
        ranking and the floor ask for the same one."""
        if weights is None:
            return self.index.lexical.scores(list(terms))
        key = (tuple(terms), weights)
        last = self._weighted
        if last is None or last[0] != key:
            last = (key, weighted_scores(self.index.lexical, terms, weights))
            self._weighted = last
        return last[1]

    # -- what the relevance floor reads ------------------------------------------------------
    def lexical_top(self, terms: Sequence[str], weights: TranslationWeights | None = None,
                    within: np.ndarray | None = None) -> float:
        """The best BM25 score of any chunk `within` the viewer's visible rows (None: of all;
        0: no such chunk holds a term)."""
        if not terms or not self.index.size:
            return 0.0
        scores = self._scores(terms, weights)
        if not len(scores):
            return 0.0
        best = int(scores.argmax())
        if within is None or within[best]:  # the common case: the best chunk is visible
            return float(scores[best])
        return float(np.where(within, scores, 0.0).max())

    def lexical_of(self, terms: Sequence[str], docs: Collection[str] | None,
                   weights: TranslationWeights | None = None) -> Hits:
        """Every chunk with a positive BM25 score (of the given documents; None: of all), in
        the index's order."""
        scores = self._scores(terms, weights)
        if docs is None:
            rows = np.flatnonzero(scores > 0)
            return self.hits(rows, scores[rows])
        known, owner, rows = self.index.rows_of_docs(docs)
        positive = scores[rows] > 0
        return Hits(rows[positive], [known[i] for i in owner[positive].tolist()], scores[rows][positive])

    def holding(self, term: str, keys: np.ndarray) -> np.ndarray:
        """Which of the chunks hold the term."""
        return self.index.lexical.holds(term, keys)

    def idf_of(self, term: str) -> float:
        return self.index.lexical.idf_of(term)

    def cosines(self, centred_query: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """The centred cosine of each chunk with the (centred) query."""
        return np.asarray(self.index.centred[keys] @ centred_query, dtype=np.float32)

    # -- documents and passages --------------------------------------------------------------
    def doc_vectors(self, doc_ids: list[str]) -> np.ndarray:
        """Each document's centred vector (the mean of its centred chunk vectors)."""
        return self.index.doc_vectors_of(doc_ids)

    def documents_like(self, doc_id: str) -> list[Scored] | None:
        """Every other document, closest first on centred document vectors, with its first
        chunk; None when the document is not indexed."""
        index = self.index
        vec = index.doc_vector(doc_id)
        if vec is None:
            return None
        sims = index.doc_matrix @ vec
        out = []
        for i in np.argsort(-sims).tolist():
            other = index.doc_ids[i]
            if other != doc_id:
                out.append(Scored(other, index.doc_lang[other], float(sims[i]), index.doc_rows[other][0]))
        return out

    def passage(self, key: int) -> tuple[Chunk, tuple[str, ...] | None]:
        """A chunk, and its multi-syllable words as indexed (None: its segment predates them)."""
        return self.index.chunks[key], self.index.chunk_words(key)

    def chunks_of(self, doc_id: str) -> Sequence[int]:
        return self.index.doc_rows.get(doc_id, ())
