"""Bring the index up to date with the catalogue: new and changed documents go into one new
segment, removed and replaced ones become tombstones, and a small merge policy keeps the
number of segments low. Work is proportional to what changed, except for the rare merges."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from viko.corpus.document import Document
from viko.indexer import centring
from viko.indexer.analyze import Analyzer
from viko.indexer.ann import ANN_THRESHOLD
from viko.indexer.chunking import CHUNK_CHARS, Chunk, chunk_document
from viko.indexer.encoders import Encoder
from viko.indexer.merge import MAX_SEGMENTS, live_by_lang, merge_segments, plan_merges, recompute_centroids
from viko.indexer.segments import LANGS, Segment, SegmentWriter, lang_code
from viko.indexer.store import Index, UnusableIndex, corpus_centroids, index_exists, publish

Progress = Callable[[str, int, int], None]
# Centroids are recomputed (and every segment re-centred in one merge) when a language's chunk
# count moved by more than this share since they were computed: growth is geometric between
# two recomputations, so their cost stays linear in the corpus overall.
RECENTRE_DRIFT = 0.25
EMBED_WINDOW = 8  # encoder batches per step: documents are written once their chunks are embedded


@dataclass(frozen=True)
class IndexStats:
    documents: int
    chunks: int
    embedded: int
    reused: int
    removed: int
    seconds: float
    changed: bool
    truncated: tuple[str, ...] = ()

    def summary(self) -> str:
        if not self.changed:
            return f"index is up to date ({self.documents} documents, {self.chunks} chunks)"
        text = (f"indexed {self.documents} documents as {self.chunks} chunks: {self.embedded} "
                f"embedded, {self.reused} reused, {self.removed} documents removed "
                f"in {self.seconds:.1f}s")
        if self.truncated:
            shown = ", ".join(self.truncated[:5]) + (" ..." if len(self.truncated) > 5 else "")
            text += (f"\n{len(self.truncated)} very long documents are searchable by their opening part "
                     f"only (VIKO_MAX_CHUNKS_PER_DOC; their full text stays in the catalogue): {shown}")
        return text


@dataclass(frozen=True)
class Chunking:
    chars: int = CHUNK_CHARS
    overlap: int = 1
    max_chunks: int = 0


def passage_text(doc: Document, chunk: Chunk) -> str:
    """What the encoder sees for a chunk: the title gives short passages their context."""
    if doc.title and not chunk.text.startswith(doc.title):
        return f"{doc.title}\n{chunk.text}"
    return chunk.text


def chunk_words(analyzer: Analyzer, chunk: Chunk, passage: str, terms: Sequence[str]) -> tuple[str, ...]:
    """The chunk's multi-syllable Vietnamese words in text order, kept in the segment so that
    highlighting a result never segments its passage again (~10 ms a results page). They are
    the passage's own terms when the encoder saw the chunk alone; with a title in front, the
    chunk is analysed apart, so the title's words do not stand first."""
    if chunk.lang != "vi":
        return ()
    if passage == chunk.text:
        return tuple(t for t in terms if "_" in t)
    return analyzer.words(chunk.text)


def _digest(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


def update_index(documents: Iterable[Document], root: Path, encoder: Encoder, analyzer: Analyzer, *,
                 chunk_chars: int = CHUNK_CHARS, overlap: int = 1, batch_size: int = 32,
                 rebuild: bool = False, progress: Progress | None = None,
                 max_chunks: int = 0, ann_threshold: int = ANN_THRESHOLD,
                 max_segments: int = MAX_SEGMENTS) -> IndexStats:
    started = time.perf_counter()
    root = Path(root)
    params = {"chunk_chars": chunk_chars, "overlap": overlap}
    previous = _previous(root, encoder, params, rebuild)
    live = previous.doc_hashes() if previous else {}
    changed: list[Document] = []
    seen: set[str] = set()
    for doc in documents:
        seen.add(doc.id)
        if live.get(doc.id) != doc.content_hash:
            changed.append(doc)
    gone = [d for d in live if d not in seen]
    if previous is not None and not changed and not gone:
        return IndexStats(len(live), int(previous.live.sum()), 0, 0, 0, time.perf_counter() - started, False)

    replaced = [d.id for d in changed if d.id in live] + gone
    writer = SegmentWriter(root / "segments", encoder.dim)
    try:
        work = _write_documents(writer, changed, encoder, analyzer, _reusable(previous, replaced),
                                Chunking(chunk_chars, overlap, max_chunks), batch_size, progress)
    except BaseException:
        writer.abort()
        raise
    reference = centring.reference_centroids(encoder)
    centroids = (np.stack([previous.centroids[k] for k in LANGS]) if previous is not None
                 else corpus_centroids(work.sums, work.counts, reference))
    segments = {s.name: s for s in (previous.segments if previous else [])}
    if changed or previous is None:
        new_name = writer.finish(centroids, ann_threshold, progress)
        segments[new_name] = Segment(root / "segments" / new_name)
    else:  # only removals: tombstones, no new segment
        writer.abort()
    deleted = {k: set(v) for k, v in (previous.deleted if previous else {}).items()}
    for doc_id in replaced:
        assert previous is not None
        pos = previous.doc_position[doc_id]
        name = previous.segments[int(previous.doc_segment[pos])].name
        deleted.setdefault(name, set()).add(int(previous.doc_local[pos]))
    manifest_base = dict(previous.manifest) if previous else {"centroid_counts": work.counts.tolist()}
    names, deleted, centroids, recentred = _maintain(root, list(segments), segments, deleted, centroids,
                                                  manifest_base["centroid_counts"], ann_threshold,
                                                  max_segments, progress, reference)
    if recentred:  # the counts the new centroids stand for
        manifest_base["centroid_counts"] = _counts(names, segments, deleted, root).tolist()
    by_lang = _counts(names, segments, deleted, root)
    manifest: dict[str, Any] = {
        "model": encoder.name, "dim": encoder.dim, "params": params,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "segments": names, "deleted": {k: sorted(v) for k, v in deleted.items() if v},
        "documents": len(live) - len(replaced) + len(changed), "chunks": int(by_lang.sum()),
        "chunks_by_lang": {lang: int(n) for lang, n in zip(LANGS, by_lang, strict=True) if n},
        "centroid_counts": manifest_base["centroid_counts"],
        "reference_centroids": centring.to_manifest(reference),
    }
    publish(root, manifest, centroids)
    return IndexStats(manifest["documents"], manifest["chunks"], work.embedded, work.reused, len(gone),
                      time.perf_counter() - started, True, tuple(work.truncated))


def _counts(names: Sequence[str], segments: dict[str, Segment], deleted: dict[str, set[int]], root: Path) -> np.ndarray:
    total = np.zeros(len(LANGS), np.int64)
    for name in names:
        seg = segments.get(name) or Segment(root / "segments" / name)
        segments[name] = seg
        total += live_by_lang(seg, deleted.get(name, set()))
    return total


def _maintain(root: Path, names: list[str], segments: dict[str, Segment], deleted: dict[str, set[int]],
              centroids: np.ndarray, centroid_counts: Sequence[int], threshold: int, max_segments: int,
              progress: Progress | None,
              reference: centring.Centroids | None = None) -> tuple[list[str], dict[str, set[int]], np.ndarray, bool]:
    """Re-centre everything when the languages' sizes drifted, else merge what the policy says.
    Returns the live segment names, tombstones, centroids, and whether it re-centred."""
    counts = _counts(names, segments, deleted, root)
    then = np.asarray(centroid_counts, np.int64)
    recentre = bool(np.any((np.abs(counts - then) > RECENTRE_DRIFT * np.maximum(then, 1)) & (counts > 0)))
    if recentre:
        centroids = recompute_centroids([segments[n] for n in names], deleted, reference)
        groups = [names]
    else:
        groups = plan_merges({n: int(live_by_lang(segments[n], deleted.get(n, set())).sum()) for n in names},
                             {n: segments[n].size for n in names}, max_segments)
    for group in groups:
        new = merge_segments(root / "segments", [segments[n] for n in group], deleted, centroids, threshold, progress)
        segments[new] = Segment(root / "segments" / new)
        at = names.index(group[0])
        names = [n for n in names if n not in group]
        names.insert(min(at, len(names)), new)
        for n in group:
            deleted.pop(n, None)
    return names, deleted, centroids, recentre


@dataclass
class _Work:
    embedded: int
    reused: int
    truncated: list[str]
    sums: np.ndarray
    counts: np.ndarray


def _reusable(previous: Index | None, doc_ids: Sequence[str]) -> dict[bytes, np.ndarray]:
    """Vectors of the chunks of documents about to be replaced, by text digest: an edit that
    keeps most passages re-embeds only the edited ones."""
    out: dict[bytes, np.ndarray] = {}
    if previous is None:
        return out
    for doc_id in doc_ids:
        pos = previous.doc_position[doc_id]
        seg = previous.segments[int(previous.doc_segment[pos])]
        for row in seg.doc_rows(int(previous.doc_local[pos])):
            out[bytes(seg.chunk_hash[row])] = np.asarray(seg.vectors[row])
    return out


def _write_documents(writer: SegmentWriter, docs: Sequence[Document], encoder: Encoder, analyzer: Analyzer,
                     reuse: dict[bytes, np.ndarray], chunking: Chunking, batch_size: int,
                     progress: Progress | None) -> _Work:
    work = _Work(0, 0, [], np.zeros((len(LANGS), encoder.dim), np.float64), np.zeros(len(LANGS), np.int64))
    window: list[tuple[Document, list[Chunk], list[str], list[bytes]]] = []
    todo = 0
    for n, doc in enumerate(docs, 1):
        chunks = chunk_document(doc.id, doc.lang, doc.text, target_chars=chunking.chars,
                                overlap=chunking.overlap, segmented=doc.segmented)
        if chunking.max_chunks and len(chunks) > chunking.max_chunks:
            # A huge page (a dump, a scraped archive) would otherwise take hours to embed.
            work.truncated.append(doc.id)
            chunks = chunks[: chunking.max_chunks]
        texts = [passage_text(doc, c) for c in chunks]
        hashes = [_digest(f"{doc.lang}\x1f{t}") for t in texts]
        window.append((doc, chunks, texts, hashes))
        todo += sum(h not in reuse for h in hashes)
        if todo >= batch_size * EMBED_WINDOW or n == len(docs):
            _flush(writer, window, encoder, analyzer, reuse, batch_size, work)
            window, todo = [], 0
            if progress:
                progress("embedding", n, len(docs))
    return work


def _flush(writer: SegmentWriter, window: list[tuple[Document, list[Chunk], list[str], list[bytes]]],
           encoder: Encoder, analyzer: Analyzer, reuse: dict[bytes, np.ndarray], batch_size: int,
           work: _Work) -> None:
    pending = [t for _, _, texts, hashes in window for t, h in zip(texts, hashes, strict=True) if h not in reuse]
    encoded = [encoder.encode_passages(pending[i : i + batch_size]) for i in range(0, len(pending), batch_size)]
    fresh = iter(np.concatenate(encoded) if encoded else np.zeros((0, encoder.dim), np.float32))
    for doc, chunks, texts, hashes in window:
        vectors = np.zeros((len(chunks), encoder.dim), np.float32)
        for i, digest in enumerate(hashes):
            known = reuse.get(digest)
            vectors[i] = known if known is not None else next(fresh)
        work.reused += sum(h in reuse for h in hashes)
        work.embedded += sum(h not in reuse for h in hashes)
        terms = [analyzer.tokens(t, c.lang) for t, c in zip(texts, chunks, strict=True)]
        words = [chunk_words(analyzer, c, t, tokens) for c, t, tokens in zip(chunks, texts, terms, strict=True)]
        writer.add_document(doc.id, doc.lang, doc.content_hash, chunks, hashes, vectors, terms, words)
        work.sums[lang_code(doc.lang)] += vectors.sum(axis=0)
        work.counts[lang_code(doc.lang)] += len(chunks)


def _previous(root: Path, encoder: Encoder, params: dict[str, int], rebuild: bool) -> Index | None:
    """The live index, when it can grow (same model and chunking); else a fresh start."""
    if rebuild or not index_exists(root):
        return None
    try:
        index = Index.load(root)
    except UnusableIndex:
        return None
    if index.model != encoder.name or index.manifest.get("params") != params:
        return None
    return index
