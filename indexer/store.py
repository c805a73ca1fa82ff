"""The index: immutable segments listed by a generation manifest that switches atomically.

Layout of an index root (inside the data directory):

    index/CURRENT             name of the live generation, replaced atomically
    index/gen-000007/         one generation, small and immutable:
        manifest.json         format version, model, dimension, settings used, live segments,
                              deleted documents per segment (tombstones), centroid counts
        centroids.npy         per-language mean embedding (the cross-language fairness step)
    index/segments/seg-000003/  the data, shared by generations (indexer.segments)

Opening maps each segment's files (vectors, postings, ANN graphs as written) and reads
chunk texts on demand, so it costs the number of segments, not the corpus. A new generation is
written to a temporary folder, renamed into place, and only then does CURRENT move to it: a
crash mid-index leaves the previous generation live.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import numpy as np
from viko.indexer import ann, centring
from viko.indexer.lexical import LexicalIndex
from viko.indexer.segments import LANGS, Segment, normalize
from viko.indexer.views import Chunks, DocRows, Rows

# The languages' nearest-neighbour searches of one query run side by side when a language has a
# graph: FAISS releases the GIL while it walks one, so the two graphs of a 1M-passage index (5.5
# ms each at efSearch 768) and the caller's BM25 scoring share the two cores (bench-scale:
# docs/benchmarks.md, "Scale"). Exact search below the ANN threshold takes well under a ms: there
# the hop to a pool thread cost more than it saved, up to a GIL switch interval (5 ms) per hop
# under 20 concurrent clients (bench `web`: 93 requests/s with the hop, 160 without).
_DENSE_POOL = ThreadPoolExecutor(max_workers=len(LANGS), thread_name_prefix="viko-dense")

FORMAT_VERSION = 2


def _done(value: tuple[np.ndarray, np.ndarray]) -> Future[tuple[np.ndarray, np.ndarray]]:
    future: Future[tuple[np.ndarray, np.ndarray]] = Future()
    future.set_result(value)
    return future


class UnusableIndex(RuntimeError):
    """The index is missing, damaged, or was built with another model."""


def corpus_centroids(sums: np.ndarray, counts: np.ndarray,
                     reference: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Per-language mean embedding (rows in LANGS order). Subtracting it removes the 'this is
    Korean' direction that otherwise makes every Korean text closer to a Korean query than any
    Vietnamese one. With reference centroids, each mean is shrunk toward its language's
    reference (indexer.centring), so a collection of a few documents is not centred on its
    own topic."""
    rows = []
    for i, lang in enumerate(LANGS):
        ref = (reference or {}).get(lang)
        if ref is None or centring.REFERENCE_WEIGHT <= 0:
            rows.append(sums[i] / max(int(counts[i]), 1))
        else:
            rows.append((sums[i] + centring.REFERENCE_WEIGHT * ref) / (counts[i] + centring.REFERENCE_WEIGHT))
    return np.stack(rows).astype(np.float32)


class Index:
    """A generation opened read-only; build and grow it with indexer.build.update_index."""

    def __init__(self, folder: Path, manifest: dict[str, Any], segments: list[Segment],
                 centroids: np.ndarray) -> None:
        self.folder, self.manifest, self.segments = folder, manifest, segments
        sizes = [s.size for s in segments]
        self.bases = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.size = int(self.bases[-1])
        self.langs = (np.concatenate([np.asarray(s.chunk_lang) for s in segments]) if segments
                      else np.zeros(0, np.int8)).astype(np.int8)
        self.centroids = {lang: centroids[i] for i, lang in enumerate(LANGS)}
        self.reference = centring.from_manifest(manifest)
        self.deleted = {name: set(docs) for name, docs in manifest.get("deleted", {}).items()}
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
        self.doc_rows = DocRows(self)
        self.chunks = Chunks(self)
        self.vectors = Rows(self, centred=False)
        self.centred = Rows(self, centred=True)
        self.lexical = LexicalIndex([s.postings for s in segments], self.bases[:-1].tolist(),
                                    None if self.live.all() else self.live)
        self._lang_rows: dict[str, np.ndarray] = {}
        self._all_live = bool(self.live.all())

    @cached_property
    def doc_matrix(self) -> np.ndarray:
        """One centred, normalised vector per live document (doc_ids order), mapped per segment."""
        dim = int(self.manifest["dim"])
        parts = [np.asarray(seg.doc_vectors)[self.doc_local[self.doc_segment == s]]
                 for s, seg in enumerate(self.segments)]
        return np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)


    # -- queries -------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return str(self.manifest["model"])

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
        out = np.zeros((len(doc_ids), int(self.manifest["dim"])), np.float32)
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
        vectors = np.atleast_2d(vectors).astype(np.float32)
        if isinstance(langs, str):
            return normalize(vectors - self.centroid_for(langs))
        table = np.stack([self.centroids[lang] for lang in LANGS])
        return normalize(vectors - table[np.asarray(langs).astype(np.int64)])

    def centroid_for(self, lang: str) -> np.ndarray:
        """What a query in `lang` has subtracted: the one rule lives in indexer.centring."""
        present = [k for k in ("vi", "ko") if self.manifest["chunks_by_lang"].get(k)]
        return centring.query_centroid(lang, self.centroids, self.reference, present, int(self.manifest["dim"]))

    def search_dense(self, centred_query: np.ndarray, lang: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(chunk rows, cosine scores) of the k nearest live chunks of one language, over all
        segments (each searched exactly or by its HNSW graph)."""
        query = np.ascontiguousarray(centred_query.reshape(1, -1), dtype=np.float32)
        rows_all, scores_all = [], []
        for s, seg in enumerate(self.segments):
            if lang not in seg.dense:
                continue
            index, local_rows = seg.dense[lang]
            dead = self.deleted.get(seg.name)
            want = min(k + (_dead_rows(seg, dead) if dead else 0), index.ntotal)
            if want <= 0:
                continue
            scores, pos = ann.search(index, query, want, partial(self._centred_rows, seg, local_rows, lang))
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

    def _centred_rows(self, seg: Segment, local_rows: np.ndarray, lang: str, positions: np.ndarray) -> np.ndarray:
        """Float vectors of a dense index's positions, centred as its graph was built."""
        return normalize(seg.read_vectors(np.asarray(local_rows)[positions]) - self.centroids[lang])

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
        manifest = read_manifest(folder)
        if expect_model and manifest["model"] != expect_model:
            raise UnusableIndex(
                f"the index in {folder} was built with model {manifest['model']!r} but the encoder is "
                f"{expect_model!r}; run `viko index --rebuild` (or set VIKO_ENCODER to the index's model)"
            )
        try:
            segments = [Segment(Path(root) / "segments" / name, ef_search) for name in manifest["segments"]]
            centroids = np.load(folder / "centroids.npy", allow_pickle=False)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise UnusableIndex(f"index generation {folder} is damaged ({exc}): run `viko index --rebuild`") from exc
        return cls(folder, manifest, segments, centroids)


def _dead_rows(seg: Segment, dead: set[int]) -> int:
    return sum(len(seg.doc_rows(d)) for d in dead)


def publish(root: Path, manifest: dict[str, Any], centroids: np.ndarray) -> Path:
    """Write a generation and switch CURRENT to it atomically; prune what nothing refers to."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"tmp-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        _write_generation(tmp, manifest, centroids)
        final = root / f"gen-{_next_generation(root):06d}"
        os.replace(tmp, final)
        _fsync_dir(root)
        pointer = root / "CURRENT.tmp"
        pointer.write_text(final.name + "\n", encoding="utf-8")
        with open(pointer, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(pointer, root / "CURRENT")
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, keep=final.name)
    return final


def _write_generation(folder: Path, manifest: dict[str, Any], centroids: np.ndarray) -> None:
    np.save(folder / "centroids.npy", centroids.astype(np.float32), allow_pickle=False)
    # The manifest goes last: a generation without one is never considered complete.
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": FORMAT_VERSION},
                                                     ensure_ascii=False, indent=1), encoding="utf-8")


def current_generation(root: Path) -> Path:
    pointer = Path(root) / "CURRENT"
    if not pointer.exists():
        raise UnusableIndex(f"no index in {root}: run `viko index` first")
    folder = Path(root) / pointer.read_text(encoding="utf-8").strip()
    if not (folder / "manifest.json").exists():
        raise UnusableIndex(f"index generation {folder} is incomplete: run `viko index --rebuild`")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UnusableIndex(f"cannot read {folder / 'manifest.json'}: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise UnusableIndex(f"index format {manifest.get('format_version')} in {folder} is not the "
                          f"supported format {FORMAT_VERSION}: run `viko index --rebuild`")
    return dict(manifest)


def live_doc_hashes(root: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """Content hash of every live document of a generation, read from the segments' lists
    only (what `viko status` compares with the catalogue)."""
    out: dict[str, str] = {}
    for name in manifest.get("segments", []):
        docs = json.loads((Path(root) / "segments" / name / "docs.json").read_text(encoding="utf-8"))
        dead = set(manifest.get("deleted", {}).get(name, []))
        out.update((d, h) for i, (d, h) in enumerate(zip(docs["ids"], docs["hashes"], strict=True)) if i not in dead)
    return out


def index_exists(root: Path) -> bool:
    try:
        current_generation(root)
        return True
    except UnusableIndex:
        return False


def _next_generation(root: Path) -> int:
    numbers = [int(p.name[4:]) for p in root.glob("gen-*") if p.name[4:].isdigit()]
    return max(numbers, default=0) + 1


def _prune(root: Path, keep: str) -> None:
    """Keep the live generation and the one before it (a reader may still have it open), the
    segments they list, and drop the rest and stale temporary folders."""
    gens = sorted(p for p in root.glob("gen-*") if p.is_dir())
    for old in gens[:-2]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    used: set[str] = set()
    for gen in root.glob("gen-*"):
        try:
            used.update(json.loads((gen / "manifest.json").read_text(encoding="utf-8")).get("segments", []))
        except (OSError, json.JSONDecodeError):
            continue
    for seg in (root / "segments").glob("seg-*"):
        if seg.name not in used:
            shutil.rmtree(seg, ignore_errors=True)
    for tmp in [*root.glob("tmp-*"), *(root / "segments").glob("tmp-*")]:
        if tmp.is_dir() and time.time() - tmp.stat().st_mtime > 3600:
            shutil.rmtree(tmp, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
