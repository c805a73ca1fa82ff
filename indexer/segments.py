"""Immutable index segments: written once, memory-mapped when opened, merged in the background
of an index run.

New documents go into a new segment, so indexing costs what was added, not the corpus; an
open maps files instead of parsing them, so it costs the number of segments, not of chunks.
Layout of `index/segments/seg-<n>/`:

    meta.json              chunk and document counts, dimension, chunks per language
    docs.json              document ids, content hashes, languages (segment order)
    doc-start.npy          first chunk row of each document (+ the end); a document's chunks are contiguous
    chunk-doc.npy ...      per chunk: document, language, seq/start/end, text digest
    text.bin, text-offsets.npy   chunk texts, UTF-8, read on demand
    words.bin, words-offsets.npy the analyser's multi-syllable Vietnamese words of each chunk, in
                           text order (highlights never re-segment a shown passage)
    vectors.f32            raw chunk embeddings (rows x dim float32, L2-normalised), memory-mapped
    doc-vectors.npy        centred, normalised mean of each document's chunks
    dense-<lang>.faiss     ANN/exact index of the centred vectors of one language (+ -rows.npy)
    lex-*                  BM25 postings (indexer.lexical)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from viko.corpus.document import LANGS
from viko.indexer.ann import ANN_THRESHOLD, Progress, build_dense, read_dense, write_dense
from viko.indexer.chunking import Chunk
from viko.indexer.files import TMP_PREFIX, fsync_dir, fsync_tree, numbered
from viko.indexer.lexical import Postings
from viko.indexer.scoring import centre, normalize

# A merged chunk from a segment written before words were kept: its words are not known.
UNKNOWN_WORDS = b"\x00"
DIGEST_BYTES = 20  # a chunk's digest: sha1 of what the encoder saw (indexer.build)
READ_MAX_ROWS = 4096  # read_rows: more rows than this (a bulk pass) go through the memory map
BLOCK = 50_000  # rows per step when streaming vectors: bounds memory while writing a segment


def lang_code(lang: str) -> int:
    return LANGS.index(lang) if lang in LANGS else 2


# Files a query reads at random places (the dense graphs, first: every query walks them; then
# postings and document vectors): their pages are asked of the disk when a segment opens. On a
# cold page cache the first query after opening the 1M-passage bench index took 23 s of random
# reads, 1.2 s warm (the disk here reads ~65 MB/s in sequence).
PREFETCH = ("lex-rows.npy", "lex-tf.npy", "doc-vectors.npy")


# One background reader of dense indexes for the process: segments open in order and their
# graphs come off the disk in that order, without competing with each other for it.
_GRAPH_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="viko-graphs")


def prefetch(paths: list[Path]) -> None:
    """Ask the kernel to read these files ahead, from a background thread: the advice can block
    until the reads are queued, and opening must not wait. The pages stay the kernel's cache,
    dropped again under memory pressure."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        threading.Thread(target=_advise, args=(advise, paths), name="viko-prefetch", daemon=True).start()


def _advise(advise: Callable[[int, int, int, int], None], paths: list[Path]) -> None:
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:  # pragma: no cover - a file system without advice
            pass
        finally:
            os.close(fd)


class Segment:
    """One segment opened read-only: arrays are memory maps, texts are read per chunk."""

    def __init__(self, folder: Path, ef_search: int | None = None) -> None:
        self.folder = folder
        self.name = folder.name
        self.closed = False
        self.meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        docs = json.loads((folder / "docs.json").read_text(encoding="utf-8"))
        self.ids: list[str] = docs["ids"]
        self.hashes: list[str] = docs["hashes"]
        self.doc_langs: list[str] = docs["langs"]
        self.size = int(self.meta["chunks"])
        dim = int(self.meta["dim"])

        def arr(name: str) -> np.ndarray:
            return np.load(folder / name, mmap_mode="r", allow_pickle=False)

        self.doc_start, self.chunk_doc, self.chunk_lang = arr("doc-start.npy"), arr("chunk-doc.npy"), arr("chunk-lang.npy")
        self.chunk_pos, self.chunk_hash = arr("chunk-pos.npy"), arr("chunk-hash.npy")
        self.text_offsets = arr("text-offsets.npy")
        self.doc_vectors = arr("doc-vectors.npy")
        self.vectors = (np.memmap(folder / "vectors.f32", np.float32, "r", shape=(self.size, dim))
                        if self.size else np.zeros((0, dim), np.float32))
        self._text = np.memmap(folder / "text.bin", np.uint8, "r") if (folder / "text.bin").stat().st_size else None
        # segments written before words were kept have neither file: their words are None
        has_words = (folder / "words-offsets.npy").exists()
        self.words_offsets = arr("words-offsets.npy") if has_words else None
        self._words = (np.memmap(folder / "words.bin", np.uint8, "r")
                       if has_words and (folder / "words.bin").stat().st_size else None)
        self.postings = Postings.load(folder)
        prefetch(sorted(folder.glob("dense-*.faiss")) + [folder / name for name in PREFETCH])
        # The row maps are opened here, not in the reader thread: numpy parses .npy headers with
        # ast.literal_eval, and CPython 3.11's AST constructor is not safe in two threads at once
        # ("SystemError: AST constructor recursion depth mismatch").
        rows = {lang: arr(f"dense-{lang}-rows.npy") for lang in LANGS if (folder / f"dense-{lang}.faiss").exists()}
        self._dense: Future[dict[str, tuple[faiss.Index, np.ndarray]]] = _GRAPH_READER.submit(
            self._read_dense, rows, ef_search)

    @property
    def dense(self) -> dict[str, tuple[faiss.Index, np.ndarray]]:
        """Per language: the dense index and its chunk rows. They are read in the background
        from the moment the segment opens: FAISS reads a graph's whole neighbour lists, which
        took 4.9 s of a 5.3 s cold open of the 1M-passage bench index (the disk reads ~65 MB/s),
        so opening returns at once and the first query waits for what is left."""
        return self._dense.result()

    def _read_dense(self, rows: dict[str, np.ndarray], ef_search: int | None) -> dict[str, tuple[faiss.Index, np.ndarray]]:
        out = {}
        for lang, local in rows.items():
            path = self.folder / f"dense-{lang}.faiss"
            out[lang] = (read_dense(path) if ef_search is None else read_dense(path, ef_search), local)
        return out

    # What close() lets go of: every attribute that maps or holds a file of the segment.
    _FILES = ("doc_start", "chunk_doc", "chunk_lang", "chunk_pos", "chunk_hash", "text_offsets", "doc_vectors",
              "vectors", "_text", "words_offsets", "_words", "postings", "_dense")

    def close(self) -> None:
        """Drop the segment's memory maps and FAISS indexes (a FAISS index read with
        IO_FLAG_MMAP_IFC keeps its file open until it is freed): the maps and descriptors go
        as soon as no array taken from them is left. The segment is unusable afterwards."""
        if self.closed:
            return
        self.closed = True
        dense = self._dense
        if not dense.cancel():  # being read: wait, so the reader does not hand back a live index
            with contextlib.suppress(Exception):  # a graph that failed to read holds nothing
                dense.result()
        for name in self._FILES:
            self.__dict__.pop(name, None)

    def digest(self, row: int) -> bytes:
        """A chunk's digest (sha1 of what the encoder saw) as it was written: numpy gives a
        stored S20 value back without its trailing zero bytes, 1 digest in 256."""
        return bytes(self.chunk_hash[row]).ljust(DIGEST_BYTES, b"\0")

    def text(self, row: int) -> str:
        lo, hi = int(self.text_offsets[row]), int(self.text_offsets[row + 1])
        return bytes(self._text[lo:hi]).decode("utf-8") if self._text is not None and hi > lo else ""

    def words(self, row: int) -> tuple[str, ...] | None:
        """The chunk's multi-syllable words as the analyser found them when indexing (None for
        a segment written before they were kept)."""
        if self.words_offsets is None:
            return None
        lo, hi = int(self.words_offsets[row]), int(self.words_offsets[row + 1])
        blob = bytes(self._words[lo:hi]) if self._words is not None and hi > lo else b""
        return None if blob == UNKNOWN_WORDS else tuple(blob.decode("utf-8").split())

    def chunk(self, row: int) -> Chunk:
        seq, start, end = (int(x) for x in self.chunk_pos[row])
        doc = int(self.chunk_doc[row])
        return Chunk(self.ids[doc], self.doc_langs[doc], seq, start, end, self.text(row))

    def doc_rows(self, doc: int) -> range:
        return range(int(self.doc_start[doc]), int(self.doc_start[doc + 1]))

    def read_vectors(self, rows: np.ndarray) -> np.ndarray:
        """Raw vectors of some rows (see read_rows)."""
        return read_rows(self.vectors, rows)

    def read_doc_vectors(self, docs: np.ndarray) -> np.ndarray:
        """Document vectors of some documents (see read_rows)."""
        return read_rows(self.doc_vectors, docs)


def read_rows(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Some rows of a memory-mapped matrix, read from its file rather than through the map: a
    query reads a few hundred scattered rows (rescoring, document vectors, the relevance
    floor), and pages read through the map would stay in the process's resident set, query
    after query, for as long as the kernel keeps them; read so, they are the kernel's cache
    only. A bulk pass (more than READ_MAX_ROWS rows) and a matrix that is not a file map are
    indexed as usual."""
    rows = np.asarray(rows, np.int64)
    path = getattr(matrix, "filename", None)
    if path is None or not len(rows) or len(rows) > READ_MAX_ROWS:
        return np.asarray(matrix[rows])
    width = matrix.shape[1] * matrix.dtype.itemsize
    base = int(getattr(matrix, "offset", 0))
    out = np.empty((len(rows), matrix.shape[1]), matrix.dtype)
    fd = os.open(path, os.O_RDONLY)
    try:
        for i in np.argsort(rows, kind="stable").tolist():
            out[i] = np.frombuffer(os.pread(fd, width, base + int(rows[i]) * width), matrix.dtype)
    finally:
        os.close(fd)
    return out


class SegmentWriter:
    """Accumulates documents (texts and vectors streamed to disk) and publishes a segment."""

    def __init__(self, parent: Path, dim: int) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self.parent, self.dim = parent, dim
        self.tmp = parent / f"{TMP_PREFIX}{os.getpid()}-{time.time_ns()}"
        self.tmp.mkdir()
        self.ids: list[str] = []
        self.hashes: list[str] = []
        self.doc_langs: list[str] = []
        self.doc_start = array("q", [0])
        self.chunk_doc, self.chunk_lang = array("i"), array("b")
        self.chunk_pos = array("i")
        self.chunk_hash: list[bytes] = []
        self.text_offsets = array("q", [0])
        self.words_offsets = array("q", [0])
        self.vocab: dict[str, int] = {}
        self.lex_rows, self.lex_cols, self.lex_tf = array("q"), array("q"), array("f")
        self.lengths = array("f")
        self._text = open(self.tmp / "text.bin", "wb")  # noqa: SIM115 - closed in finish/abort
        self._words = open(self.tmp / "words.bin", "wb")  # noqa: SIM115
        self._vectors = open(self.tmp / "vectors.f32", "wb")  # noqa: SIM115
        self.rows = 0

    def add_document(self, doc_id: str, lang: str, doc_hash: str, chunks: Sequence[Chunk],
                     hashes: Sequence[bytes], vectors: np.ndarray, terms: Sequence[Sequence[str]],
                     words: Sequence[Sequence[str]] | None = None) -> None:
        """`terms`: each chunk's index terms; `words`: its multi-syllable words in text order."""
        words = words if words is not None else [()] * len(chunks)
        for i, (chunk, digest, chunk_terms, chunk_words) in enumerate(zip(chunks, hashes, terms, words, strict=True)):
            for term, freq in Counter(chunk_terms).items():
                self.lex_rows.append(self.rows + i)
                self.lex_cols.append(self.vocab.setdefault(term, len(self.vocab)))
                self.lex_tf.append(freq)
            self.lengths.append(len(chunk_terms))
            self._chunk(chunk.seq, chunk.start, chunk.end, lang_code(chunk.lang), digest, chunk.text.encode("utf-8"),
                        " ".join(chunk_words).encode("utf-8"))
        self._document(doc_id, lang, doc_hash, len(chunks))
        self._vectors.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())

    def _chunk(self, seq: int, start: int, end: int, code: int, digest: bytes, text: bytes, words: bytes) -> None:
        self.chunk_doc.append(len(self.ids))
        self.chunk_lang.append(code)
        self.chunk_pos.extend((seq, start, end))
        self.chunk_hash.append(digest)
        self._text.write(text)
        self.text_offsets.append(self.text_offsets[-1] + len(text))
        self._words.write(words)
        self.words_offsets.append(self.words_offsets[-1] + len(words))

    def _document(self, doc_id: str, lang: str, doc_hash: str, n_chunks: int) -> None:
        self.ids.append(doc_id)
        self.hashes.append(doc_hash)
        self.doc_langs.append(lang)
        self.rows += n_chunks
        self.doc_start.append(self.rows)

    def copy_documents(self, source: Segment, docs: Sequence[int]) -> None:
        """Copy whole documents of another segment (a merge): no re-embedding, no re-analysis."""
        if not docs:
            return
        new_row = np.full(source.size, -1, np.int64)
        for doc in docs:
            rows = source.doc_rows(doc)
            new_row[rows.start : rows.stop] = np.arange(self.rows, self.rows + len(rows))
            for r in rows:
                seq, start, end = (int(x) for x in source.chunk_pos[r])
                lo, hi = int(source.text_offsets[r]), int(source.text_offsets[r + 1])
                raw = bytes(source._text[lo:hi]) if source._text is not None else b""
                known = source.words(r)
                words = UNKNOWN_WORDS if known is None else " ".join(known).encode("utf-8")
                self._chunk(seq, start, end, int(source.chunk_lang[r]), source.digest(r), raw, words)
                self.lengths.append(float(source.postings.lengths[r]))
            self._document(source.ids[doc], source.doc_langs[doc], source.hashes[doc], len(rows))
            self._vectors.write(np.ascontiguousarray(source.vectors[rows.start : rows.stop]).tobytes())
        lex_rows, cols, tf = source.postings.coo()
        terms = sorted(source.postings.vocab, key=source.postings.vocab.__getitem__)
        remap = np.fromiter((self.vocab.setdefault(t, len(self.vocab)) for t in terms), np.int64, len(terms))
        keep = new_row[lex_rows] >= 0
        self.lex_rows.extend(new_row[lex_rows[keep]].tolist())
        self.lex_cols.extend(remap[cols[keep]].tolist())
        self.lex_tf.extend(tf[keep].tolist())

    def finish(self, centroids: np.ndarray, threshold: int = ANN_THRESHOLD,
               progress: Progress | None = None) -> str:
        """Write the arrays and the dense indexes, then rename into place; returns the name."""
        try:
            self._text.close()
            self._words.close()
            self._vectors.close()
            self._write_arrays()
            vectors = (np.memmap(self.tmp / "vectors.f32", np.float32, "r", shape=(self.rows, self.dim))
                       if self.rows else np.zeros((0, self.dim), np.float32))
            langs = np.frombuffer(self.chunk_lang, dtype=np.int8) if self.rows else np.zeros(0, np.int8)
            self._write_doc_vectors(vectors, langs, centroids)
            for code, lang in enumerate(LANGS):
                rows = np.flatnonzero(langs == code)
                if len(rows):
                    self._write_dense(lang, vectors, rows, centroids[code], threshold, progress)
            by_lang = {lang: int(np.sum(langs == i)) for i, lang in enumerate(LANGS) if np.any(langs == i)}
            meta = {"chunks": self.rows, "docs": len(self.ids), "dim": self.dim, "by_lang": by_lang,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            (self.tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            # Every file reaches the disk before the segment takes its name, and the name before
            # any generation lists it: a power cut cannot leave a listed segment torn.
            fsync_tree(self.tmp)
            final = numbered(self.parent, "seg")
            os.replace(self.tmp, final)
            fsync_dir(self.parent)
            return final.name
        except BaseException:
            self.abort()
            raise

    def _write_arrays(self) -> None:
        docs = {"ids": self.ids, "hashes": self.hashes, "langs": self.doc_langs}
        (self.tmp / "docs.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
        save: dict[str, Any] = {
            "doc-start.npy": np.asarray(self.doc_start, np.int64),
            "chunk-doc.npy": np.asarray(self.chunk_doc, np.int32),
            "chunk-lang.npy": np.asarray(self.chunk_lang, np.int8),
            "chunk-pos.npy": np.asarray(self.chunk_pos, np.int32).reshape(-1, 3),
            "chunk-hash.npy": np.asarray(self.chunk_hash, dtype=f"S{DIGEST_BYTES}").reshape(-1),
            "text-offsets.npy": np.asarray(self.text_offsets, np.int64),
            "words-offsets.npy": np.asarray(self.words_offsets, np.int64),
        }
        for name, value in save.items():
            np.save(self.tmp / name, value, allow_pickle=False)
        postings = Postings.from_coo(self.vocab, np.asarray(self.lex_rows, np.int64), np.asarray(self.lex_cols, np.int64),
                                     np.asarray(self.lex_tf, np.float32), np.asarray(self.lengths, np.float32))
        postings.save(self.tmp)
        self.lex_rows, self.lex_cols, self.lex_tf = array("q"), array("q"), array("f")

    def _write_doc_vectors(self, vectors: np.ndarray, langs: np.ndarray, centroids: np.ndarray) -> None:
        import scipy.sparse as sp  # building only: a query never needs scipy (~0.15 s to import)

        sums = np.zeros((len(self.ids), self.dim), np.float32)
        chunk_doc = np.asarray(self.chunk_doc, np.int64)
        for lo in range(0, self.rows, BLOCK):
            hi = min(lo + BLOCK, self.rows)
            centred = centre(np.asarray(vectors[lo:hi]), centroids[langs[lo:hi].astype(np.int64)])
            owner = sp.csr_matrix((np.ones(hi - lo, np.float32), (chunk_doc[lo:hi], np.arange(hi - lo))),
                                  shape=(len(self.ids), hi - lo))
            sums += owner @ centred
        np.save(self.tmp / "doc-vectors.npy", normalize(sums), allow_pickle=False)

    def _write_dense(self, lang: str, vectors: np.ndarray, rows: np.ndarray, centroid: np.ndarray,
                     threshold: int, progress: Progress | None) -> None:
        def block(lo: int, hi: int) -> np.ndarray:
            return centre(np.asarray(vectors[rows[lo:hi]]), centroid)

        index = build_dense(len(rows), self.dim, block, threshold, progress)
        write_dense(index, self.tmp / f"dense-{lang}.faiss")
        np.save(self.tmp / f"dense-{lang}-rows.npy", rows.astype(np.int64), allow_pickle=False)

    def abort(self) -> None:
        for fh in (self._text, self._words, self._vectors):
            fh.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

