"""The index: immutable segments listed by a generation manifest that switches atomically.

Layout of an index root (inside the data directory):

    index/CURRENT             name of the live generation, replaced atomically
    index/gen-000007/         one generation, small and immutable:
        manifest.json         format version, model, dimension, settings used, live segments,
                              deleted documents per segment (tombstones), centroid counts:
                              one typed record, indexer.manifest.Manifest
        centroids.npy         per-language mean embedding (the cross-language fairness step)
    index/segments/seg-000003/  the data, shared by generations (indexer.segments)

Opening maps each segment's files (vectors, postings, ANN graphs as written) and reads
chunk texts on demand, so it costs the number of segments, not the corpus. A new generation is
written to a temporary folder, made durable, renamed into place, and only then does CURRENT
move to it: a crash mid-index leaves the previous generation live (indexer.generations).
`Index.close` lets go of a generation's files at once (viko.runtime.LiveIndex closes a
replaced one when its last user is done); an index holds no reference cycle, so one that is
simply dropped goes as soon as its last reference does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property, partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from viko.indexer import ann, centring, scoring
from viko.indexer.generations import (  # the generations on disk; re-exported: callers import them here
    TMP_PREFIX,
    current_generation,
    index_exists,
    live_doc_hashes,
    publish,
    remove_leftovers,
)
from viko.indexer.lexical import LexicalIndex
from viko.indexer.manifest import MANIFEST_FILE, Manifest, UnusableIndex
from viko.indexer.segments import LANGS, Segment
from viko.indexer.views import Chunks, DocRows, Layout, Rows

T = TypeVar("T")

__all__ = ["TMP_PREFIX", "Index", "UnusableIndex", "current_generation", "index_exists", "live_doc_hashes",
           "publish", "remove_leftovers"]

# The languages' nearest-neighbour searches of one query run side by side when a language has a
# graph: FAISS releases the GIL while it walks one, so the two graphs of a 1M-passage index (5.5
# ms each at efSearch 768) and the caller's BM25 scoring share the two cores (bench-scale:
# docs/benchmarks.md, "Scale"). Exact search below the ANN threshold takes well under a ms: there
# the hop to a pool thread cost more than it saved, up to a GIL switch interval (5 ms) per hop
# under 20 concurrent clients (bench `web`: 93 requests/s with the hop, 160 without).
_DENSE_POOL = ThreadPoolExecutor(max_workers=len(LANGS), thread_name_prefix="viko-dense")

def _done(value: tuple[np.ndarray, np.ndarray]) -> Future[tuple[np.ndarray, np.ndarray]]:
    future: Future[tuple[np.ndarray, np.ndarray]] = Future()
    future.set_result(value)
    return future


class Index:
    """A generation opened read-only; build and grow it with indexer.build.update_index."""

    def __init__(self, folder: Path, manifest: Manifest, segments: list[Segment],
                 centroids: np.ndarray) -> None:
        self.folder, self.manifest, self.segments = folder, manifest, segments
        sizes = [s.size for s in segments]
        self.bases = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.size = int(self.bases[-1])
        self.langs = (np.concatenate([np.asarray(s.chunk_lang) for s in segments]) if segments
                      else np.zeros(0, np.int8)).astype(np.int8)
        self.centroids = {lang: centroids[i] for i, lang in enumerate(LANGS)}
        self.reference = manifest.reference
        self.deleted = {name: set(docs) for name, docs in manifest.deleted.items()}
        self.live = np.ones(self.size, bool)
        self.doc_ids: list[str] = []
        self.doc_lang: dict[str, str] = {}
        seg_of, local_of = [], []
        for s, seg in enumerate(segments):
            dead = self.deleted.get(seg.name, set())
            for doc in dead:
                rows = seg.doc_rows(doc)
                self.live[self.bases[s] + rows.start : self.bases[s] + rows.stop] = False
            alive = [d for d in range(len(seg.ids)) if d not in dead] if dead else range(len(seg.ids))
            ids = [seg.ids[d] for d in alive] if dead else seg.ids
            self.doc_ids.extend(ids)
            self.doc_lang.update(zip(ids, [seg.doc_langs[d] for d in alive] if dead else seg.doc_langs, strict=True))
            seg_of.append(np.full(len(alive), s, np.int32))
            local_of.append(np.asarray(alive, np.int32))
        self.doc_segment = np.concatenate(seg_of) if seg_of else np.zeros(0, np.int32)
        self.doc_local = np.concatenate(local_of) if local_of else np.zeros(0, np.int32)
        self.doc_position = {d: i for i, d in enumerate(self.doc_ids)}
        layout = Layout(segments, self.bases)
        self.doc_rows = DocRows(layout, self.doc_ids, self.doc_position, self.doc_segment, self.doc_local)
        self.chunks = Chunks(layout)
        self.vectors = Rows(layout, manifest.dim)
        self.centred = Rows(layout, manifest.dim, (np.stack([self.centroids[k] for k in LANGS]), self.langs))
        self.lexical = LexicalIndex([s.postings for s in segments], self.bases[:-1].tolist(),
                                    None if self.live.all() else self.live)
        self._lang_rows: dict[str, np.ndarray] = {}
        self._all_live = bool(self.live.all())
        self.closed = False

    def close(self) -> None:
        """Let go of every file this generation holds (memory maps, FAISS indexes, postings),
        now rather than whenever the object is collected; the index is unusable afterwards.
        Only for an index no search is using (viko.runtime.LiveIndex closes a replaced
        generation once its last user is done). Closing twice is harmless."""
        if self.closed:
            return
        self.closed = True
        for seg in self.segments:
            seg.close()
        self.lexical = LexicalIndex([])
        self.__dict__.pop("doc_matrix", None)
        self._lang_rows.clear()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @cached_property
    def doc_matrix(self) -> np.ndarray:
        """One centred, normalised vector per live document (doc_ids order), mapped per segment."""
        dim = self.manifest.dim
        parts = [np.asarray(seg.doc_vectors)[self.doc_local[self.doc_segment == s]]
                 for s, seg in enumerate(self.segments)]
        return np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)

    # -- queries -------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return self.manifest.model

    def segment_of(self, rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.bases, rows, side="right") - 1

    def doc_of(self, row: int) -> str:
        s = int(np.searchsorted(self.bases, row, side="right")) - 1
        seg = self.segments[s]
        return seg.ids[int(seg.chunk_doc[row - int(self.bases[s])])]

    def doc_ids_of(self, rows: np.ndarray) -> list[str]:
        """The owning document of each chunk row, in order (one gather per segment)."""
        rows = np.asarray(rows, np.int64)
        seg = self.segment_of(rows)
        out: list[str] = [""] * len(rows)
        for s in np.unique(seg).tolist():
            at = np.flatnonzero(seg == s)
            segment = self.segments[s]
            for i, d in zip(at.tolist(), np.asarray(segment.chunk_doc)[rows[at] - self.bases[s]].tolist(), strict=True):
                out[i] = segment.ids[d]
        return out

    def docs_of(self, rows: np.ndarray) -> set[str]:
        """The documents that own these chunk rows (vectorised: relevance asks for thousands)."""
        rows = np.asarray(rows, np.int64)
        seg = self.segment_of(rows)
        out: set[str] = set()
        for s in np.unique(seg).tolist():
            local = rows[seg == s] - self.bases[s]
            docs = np.unique(np.asarray(self.segments[s].chunk_doc)[local])
            out.update(self.segments[s].ids[d] for d in docs.tolist())
        return out

    def doc_vectors_of(self, doc_ids: list[str]) -> np.ndarray:
        """Centred document vectors of live documents, in order, read from each segment's
        memory-mapped matrix (the query path never materialises doc_matrix)."""
        pos = np.fromiter((self.doc_position[d] for d in doc_ids), np.int64, count=len(doc_ids))
        out = np.zeros((len(doc_ids), self.manifest.dim), np.float32)
        seg, local = self.doc_segment[pos], self.doc_local[pos]
        for s in np.unique(seg).tolist():
            at = seg == s
            out[at] = self.segments[s].read_doc_vectors(local[at])
        return out

    def rows_of_docs(self, doc_ids: Collection[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(live documents among doc_ids, owner per row as a position in that list, rows): every
        chunk row of those documents in one vectorised gather (no Python loop per row)."""
        known = [d for d in doc_ids if d in self.doc_position]
        pos = np.fromiter((self.doc_position[d] for d in known), np.int64, count=len(known))
        seg, local = self.doc_segment[pos], self.doc_local[pos]
        starts, stops = np.zeros(len(known), np.int64), np.zeros(len(known), np.int64)
        for s in np.unique(seg).tolist():
            at = seg == s
            doc_start = np.asarray(self.segments[s].doc_start)
            starts[at] = self.bases[s] + doc_start[local[at]]
            stops[at] = self.bases[s] + doc_start[local[at] + 1]
        lengths = stops - starts
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        rows = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
        return known, np.repeat(np.arange(len(known)), lengths), rows

    def centre(self, vectors: np.ndarray, langs: np.ndarray | str) -> np.ndarray:
        """scoring.centre with this index's centroids: a query's language (a name, the query
        centroid of centroid_for) or each row's language code (the chunk's own centroid)."""
        if isinstance(langs, str):
            return scoring.centre(vectors, self.centroid_for(langs))
        table = np.stack([self.centroids[lang] for lang in LANGS])
        return scoring.centre(vectors, table[np.asarray(langs).astype(np.int64)])

    def centroid_for(self, lang: str) -> np.ndarray:
        """What a query in `lang` has subtracted: the one rule lives in indexer.centring."""
        present = [k for k in ("vi", "ko") if self.manifest.chunks_by_lang.get(k)]
        return centring.query_centroid(lang, self.centroids, self.reference, present, self.manifest.dim)

    def search_dense(self, centred_query: np.ndarray, lang: str, k: int,
                     allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(chunk rows, cosine scores) of the k nearest live chunks of one language, over all
        segments (each searched exactly or by its HNSW graph); `allowed`: a mask over the
        rows (live ones only) that the search itself keeps to (ann.search)."""
        query = np.ascontiguousarray(centred_query.reshape(1, -1), dtype=np.float32)
        rows_all, scores_all = [], []
        for s, seg in enumerate(self.segments):
            if lang not in seg.dense:
                continue
            index, local_rows = seg.dense[lang]
            dead = self.deleted.get(seg.name) if allowed is None else None
            keep = None if allowed is None else allowed[np.asarray(local_rows) + self.bases[s]]
            want = min(k + (_dead_rows(seg, dead) if dead else 0), index.ntotal if keep is None else int(keep.sum()))
            if want <= 0:
                continue
            scores, pos = ann.search(index, query, want, partial(self._centred_rows, seg, local_rows, lang), keep)
            rows = np.asarray(local_rows)[pos] + self.bases[s]
            if dead:
                alive = self.live[rows]
                rows, scores = rows[alive], scores[alive]
            rows_all.append(rows)
            scores_all.append(scores)
        if not rows_all:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows, scores = np.concatenate(rows_all), np.concatenate(scores_all)
        order = np.argsort(-scores, kind="stable")[:k]
        return rows[order], scores[order]

    def search_dense_async(self, centred_query: np.ndarray, langs: Sequence[str],
                           k: int) -> dict[str, Future[tuple[np.ndarray, np.ndarray]]]:
        """search_dense for each language at once, on a shared pool, where a language has a
        graph to walk (else at once, here); the caller does its own work (lexical scoring)
        meanwhile and collects each result when it needs it."""
        if not any(ann.is_graph(seg.dense[lang][0]) for seg in self.segments for lang in langs if lang in seg.dense):
            return {lang: _done(self.search_dense(centred_query, lang, k)) for lang in langs}
        return {lang: _DENSE_POOL.submit(self.search_dense, centred_query, lang, k) for lang in langs}

    def submit(self, search: Callable[..., T], *args: Any) -> Future[T]:
        """A dense search of the caller's (a filtered one: search.constraints) on the same
        shared pool, so the languages' searches run side by side as search_dense_async's do."""
        return _DENSE_POOL.submit(search, *args)

    def _centred_rows(self, seg: Segment, local_rows: np.ndarray, lang: str, positions: np.ndarray) -> np.ndarray:
        """Float vectors of a dense index's positions, centred as its graph was built."""
        return scoring.centre(seg.read_vectors(np.asarray(local_rows)[positions]), self.centroids[lang])

    def rows_of_lang(self, lang: str) -> np.ndarray:
        rows = self._lang_rows.get(lang)
        if rows is None:
            rows = np.flatnonzero((self.langs == LANGS.index(lang)) & self.live)
            self._lang_rows[lang] = rows
        return rows

    def chunk_words(self, row: int) -> tuple[str, ...] | None:
        """A chunk's multi-syllable words as indexed (None: its segment predates them)."""
        s = int(self.segment_of(np.asarray([row]))[0])
        return self.segments[s].words(int(row) - int(self.bases[s]))

    def rows_by_lang(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The live rows among `rows`, split by language, in their order: rows_of_lang for a
        query's matching rows, with one gather of their languages (a common term of a query
        matches a third of a million-passage index; the rest of a language is not read)."""
        if not self._all_live:
            rows = rows[self.live[rows]]
        codes = self.langs[rows]
        return {lang: rows[codes == i] for i, lang in enumerate(LANGS)}

    def doc_vector(self, doc_id: str) -> np.ndarray | None:
        pos = self.doc_position.get(doc_id)
        if pos is None:
            return None
        return np.asarray(self.segments[int(self.doc_segment[pos])].doc_vectors[int(self.doc_local[pos])])

    def doc_hashes(self) -> dict[str, str]:
        """Content hash of every live document (what the indexer compares with the catalogue)."""
        out = {}
        for s, local in zip(self.doc_segment.tolist(), self.doc_local.tolist(), strict=True):
            seg = self.segments[s]
            out[seg.ids[local]] = seg.hashes[local]
        return out

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def load(cls, root: Path, *, expect_model: str | None = None, ef_search: int | None = None) -> Index:
        folder = current_generation(root)
        manifest = Manifest.load(folder / MANIFEST_FILE, expect_model=expect_model)
        try:
            segments = [Segment(Path(root) / "segments" / name, ef_search) for name in manifest.segments]
            centroids = np.load(folder / "centroids.npy", allow_pickle=False)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise UnusableIndex(f"index generation {folder} is damaged ({exc}): run `viko index --rebuild`") from exc
        return cls(folder, manifest, segments, centroids)


def _dead_rows(seg: Segment, dead: set[int]) -> int:
    return sum(len(seg.doc_rows(d)) for d in dead)
