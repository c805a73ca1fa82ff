"""Bring the index up to date with the catalogue, embedding only new or changed documents."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.document import Document
from indexer import centring
from indexer.analyze import Analyzer
from indexer.chunking import Chunk, chunk_document
from indexer.encoders import Encoder
from indexer.store import Index, IndexError_, index_exists

Progress = Callable[[int, int], None]


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


def passage_text(doc: Document, chunk: Chunk) -> str:
    """What the encoder sees for a chunk: the title gives short passages their context."""
    if doc.title and not chunk.text.startswith(doc.title):
        return f"{doc.title}\n{chunk.text}"
    return chunk.text


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def update_index(documents: Iterable[Document], root: Path, encoder: Encoder, analyzer: Analyzer, *,
                 chunk_chars: int = 600, overlap: int = 1, batch_size: int = 32,
                 rebuild: bool = False, progress: Progress | None = None,
                 max_chunks: int = 0) -> IndexStats:
    started = time.perf_counter()
    params = {"chunk_chars": chunk_chars, "overlap": overlap}
    previous = _previous(root, encoder, params, rebuild)
    cache: dict[str, tuple[np.ndarray, list[str]]] = {}
    if previous is not None:
        for row, digest in enumerate(previous.chunk_hashes):
            cache[digest] = (previous.vectors[row], previous.terms[row])

    chunks: list[Chunk] = []
    hashes: list[str] = []
    texts: list[str] = []
    doc_hashes: dict[str, str] = {}
    truncated: list[str] = []
    for doc in documents:
        doc_hashes[doc.id] = doc.content_hash
        doc_chunks = chunk_document(doc.id, doc.lang, doc.text, target_chars=chunk_chars,
                                    overlap=overlap, segmented=doc.segmented)
        if max_chunks and len(doc_chunks) > max_chunks:
            # A huge page (a dump, a scraped archive) would otherwise take hours to embed.
            truncated.append(doc.id)
            doc_chunks = doc_chunks[:max_chunks]
        for chunk in doc_chunks:
            text = passage_text(doc, chunk)
            chunks.append(chunk)
            texts.append(text)
            hashes.append(_digest(f"{doc.lang}\x1f{text}"))

    old_docs = previous.manifest.get("doc_hashes", {}) if previous else {}
    # An index from before reference centroids gets a new generation (nothing re-embedded).
    current = previous is not None and "reference_centroids" in previous.manifest
    if previous is not None and old_docs == doc_hashes and current:
        return IndexStats(len(doc_hashes), len(chunks), 0, len(chunks), 0,
                          time.perf_counter() - started, changed=False)

    todo = [i for i, h in enumerate(hashes) if h not in cache]
    vectors = np.zeros((len(chunks), encoder.dim), np.float32)
    terms: list[list[str]] = [[] for _ in chunks]
    for i, digest in enumerate(hashes):
        if digest in cache:
            vectors[i], terms[i] = cache[digest]
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        vectors[batch] = encoder.encode_passages([texts[i] for i in batch])
        for i in batch:
            terms[i] = analyzer.tokens(texts[i], chunks[i].lang)
        if progress:
            progress(min(start + batch_size, len(todo)), len(todo))

    index = Index.build(model=encoder.name, dim=encoder.dim, chunks=chunks, hashes=hashes,
                        terms=terms, vectors=vectors, doc_hashes=doc_hashes, params=params,
                        reference=centring.reference_centroids(encoder))
    index.save(root)
    removed = len(set(old_docs) - set(doc_hashes))
    return IndexStats(len(doc_hashes), len(chunks), len(todo), len(chunks) - len(todo), removed,
                      time.perf_counter() - started, changed=True, truncated=tuple(truncated))


def _previous(root: Path, encoder: Encoder, params: dict[str, int], rebuild: bool) -> Index | None:
    """The live index, when its vectors can be reused (same model and chunking)."""
    if rebuild or not index_exists(root):
        return None
    try:
        index = Index.load(root)
    except IndexError_:
        return None
    if index.model != encoder.name or index.manifest.get("params") != params:
        return None
    return index
