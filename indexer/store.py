"""The index on disk and in memory: chunks, embeddings, FAISS, BM25, with a manifest.

Layout of an index root (inside the data directory):

    index/CURRENT            name of the live generation, replaced atomically
    index/gen-000007/        one complete, immutable generation:
        manifest.json        format version, model, dimension, counts, settings used
        chunks.jsonl         one chunk per line: doc_id, lang, seq, start, end, hash, text
        terms.jsonl          analysed terms per chunk (lets re-indexing skip the analyzers)
        vectors.npy          raw chunk embeddings, float32, L2-normalised
        centroids.npy/.json  per-language mean embedding (the cross-language fairness step)
        dense-<lang>.faiss   FAISS inner-product index of centred vectors, ids = chunk rows
        lexical-*.json/npz   BM25 weight matrix

A new generation is written to a temporary folder, renamed into place, and only then does
CURRENT move to it: a crash mid-index leaves the previous generation live.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer.chunking import Chunk
from indexer.lexical import LexicalIndex

FORMAT_VERSION = 1
LANGS = ("vi", "ko", "other")


class IndexError_(RuntimeError):
    """The index is missing, damaged, or was built with another model."""


def _normalize(m: np.ndarray) -> np.ndarray:
    return (m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


class Index:
    """In-memory index; build with `Index.build`, persist with `save`, reopen with `load`."""

    def __init__(self, manifest: dict[str, Any], chunks: list[Chunk], hashes: list[str],
                 terms: list[list[str]], vectors: np.ndarray) -> None:
        self.manifest = manifest
        self.chunks = chunks
        self.chunk_hashes = hashes
        self.terms = terms
        self.vectors = vectors
        self.langs = np.asarray([LANGS.index(c.lang) if c.lang in LANGS else 2 for c in chunks], np.int8)
        self.centroids = self._centroids()
        self.centred = self.centre(vectors, self.langs)
        self.dense = {lang: self._faiss_for(i) for i, lang in enumerate(LANGS)}
        self.lexical = LexicalIndex.build(terms)
        self.doc_rows: dict[str, list[int]] = {}
        for row, chunk in enumerate(chunks):
            self.doc_rows.setdefault(chunk.doc_id, []).append(row)
        self.doc_ids = list(self.doc_rows)
        self.doc_lang = {c.doc_id: c.lang for c in chunks}
        self.doc_position = {d: i for i, d in enumerate(self.doc_ids)}
        self.doc_matrix = self._doc_matrix()

    # -- construction ------------------------------------------------------------------
    @classmethod
    def build(cls, *, model: str, dim: int, chunks: Sequence[Chunk], hashes: Sequence[str],
              terms: Sequence[list[str]], vectors: np.ndarray, doc_hashes: dict[str, str],
              params: dict[str, Any]) -> Index:
        if len(chunks) != len(vectors) or len(chunks) != len(terms):
            raise ValueError("chunks, terms and vectors must have the same length")
        by_lang: dict[str, int] = {}
        for c in chunks:
            by_lang[c.lang] = by_lang.get(c.lang, 0) + 1
        manifest = {
            "format_version": FORMAT_VERSION, "model": model, "dim": dim,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "documents": len(doc_hashes), "chunks": len(chunks), "chunks_by_lang": by_lang,
            "params": params, "doc_hashes": doc_hashes,
        }
        vecs = np.asarray(vectors, dtype=np.float32).reshape(len(chunks), dim)
        return cls(manifest, list(chunks), list(hashes), [list(t) for t in terms], vecs)

    def _centroids(self) -> dict[str, np.ndarray]:
        """Per-language mean embedding. Subtracting it removes the 'this is Korean' direction
        that otherwise makes every Korean text closer to a Korean query than any Vietnamese one."""
        dim = int(self.manifest["dim"])
        out = {}
        for i, lang in enumerate(LANGS):
            rows = self.vectors[self.langs == i]
            out[lang] = rows.mean(axis=0) if len(rows) else np.zeros(dim, np.float32)
        return out

    def _doc_matrix(self) -> np.ndarray:
        """One centred, normalised vector per document: the mean of its chunks."""
        dim = int(self.manifest["dim"])
        if not self.doc_ids:
            return np.zeros((0, dim), np.float32)
        return _normalize(np.stack([self.centred[self.doc_rows[d]].mean(axis=0) for d in self.doc_ids]))

    def centre(self, vectors: np.ndarray, langs: np.ndarray | str) -> np.ndarray:
        vectors = np.atleast_2d(vectors).astype(np.float32)
        if isinstance(langs, str):
            return _normalize(vectors - self.centroid_for(langs))
        table = np.stack([self.centroids[lang] for lang in LANGS]) if len(vectors) else np.zeros((3, vectors.shape[1]), np.float32)
        return _normalize(vectors - table[langs.astype(np.int64)])

    def centroid_for(self, lang: str) -> np.ndarray:
        if lang in ("vi", "ko") and self.manifest["chunks_by_lang"].get(lang):
            return self.centroids[lang]
        present = [self.centroids[k] for k in ("vi", "ko") if self.manifest["chunks_by_lang"].get(k)]
        return np.mean(present, axis=0) if present else np.zeros(int(self.manifest["dim"]), np.float32)

    def _faiss_for(self, lang_code: int) -> faiss.Index:
        dim = int(self.manifest["dim"])
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        rows = np.flatnonzero(self.langs == lang_code).astype(np.int64)
        if len(rows):
            index.add_with_ids(np.ascontiguousarray(self.centred[rows]), rows)
        return index

    # -- queries -------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return str(self.manifest["model"])

    def search_dense(self, centred_query: np.ndarray, lang: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(chunk rows, cosine scores) of the k nearest chunks of one language."""
        index = self.dense[lang]
        k = min(k, index.ntotal)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores, rows = index.search(np.ascontiguousarray(centred_query.reshape(1, -1)), k)
        keep = rows[0] >= 0
        return rows[0][keep], scores[0][keep]

    def rows_of_lang(self, lang: str) -> np.ndarray:
        return np.flatnonzero(self.langs == LANGS.index(lang))

    def doc_vector(self, doc_id: str) -> np.ndarray | None:
        pos = self.doc_position.get(doc_id)
        return None if pos is None else self.doc_matrix[pos]

    # -- persistence ---------------------------------------------------------------------
    def save(self, root: Path) -> Path:
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f"tmp-{os.getpid()}-{time.time_ns()}"
        tmp.mkdir()
        try:
            self._write(tmp)
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

    def _write(self, folder: Path) -> None:
        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk, digest in zip(self.chunks, self.chunk_hashes, strict=True):
                fh.write(json.dumps({**asdict(chunk), "hash": digest}, ensure_ascii=False) + "\n")
        with open(folder / "terms.jsonl", "w", encoding="utf-8") as fh:
            for terms in self.terms:
                fh.write(json.dumps(terms, ensure_ascii=False) + "\n")
        np.save(folder / "vectors.npy", self.vectors, allow_pickle=False)
        np.save(folder / "centroids.npy", np.stack([self.centroids[k] for k in LANGS]), allow_pickle=False)
        (folder / "centroids.json").write_text(json.dumps(list(LANGS)), encoding="utf-8")
        for lang, index in self.dense.items():
            faiss.write_index(index, str(folder / f"dense-{lang}.faiss"))
        self.lexical.save(folder)
        # The manifest goes last: a generation without one is never considered complete.
        (folder / "manifest.json").write_text(json.dumps(self.manifest, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, root: Path, *, expect_model: str | None = None) -> Index:
        folder = current_generation(root)
        manifest = read_manifest(folder)
        if expect_model and manifest["model"] != expect_model:
            raise IndexError_(
                f"the index in {folder} was built with model {manifest['model']!r} but the encoder is "
                f"{expect_model!r}; run `viko index --rebuild` (or set VIKO_ENCODER to the index's model)"
            )
        chunks, hashes = [], []
        with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                hashes.append(rec.pop("hash"))
                chunks.append(Chunk(**rec))
        with open(folder / "terms.jsonl", encoding="utf-8") as fh:
            terms = [json.loads(line) for line in fh]
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        if vectors.shape != (len(chunks), int(manifest["dim"])):
            raise IndexError_(f"{folder}: vectors.npy has shape {vectors.shape}, manifest says "
                              f"{len(chunks)} chunks of dimension {manifest['dim']}")
        return cls(manifest, chunks, hashes, terms, vectors)


def current_generation(root: Path) -> Path:
    pointer = Path(root) / "CURRENT"
    if not pointer.exists():
        raise IndexError_(f"no index in {root}: run `viko index` first")
    folder = Path(root) / pointer.read_text(encoding="utf-8").strip()
    if not (folder / "manifest.json").exists():
        raise IndexError_(f"index generation {folder} is incomplete: run `viko index --rebuild`")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexError_(f"cannot read {folder / 'manifest.json'}: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexError_(f"index format {manifest.get('format_version')} in {folder} is not the "
                          f"supported format {FORMAT_VERSION}: run `viko index --rebuild`")
    return dict(manifest)


def index_exists(root: Path) -> bool:
    try:
        current_generation(root)
        return True
    except IndexError_:
        return False


def _next_generation(root: Path) -> int:
    numbers = [int(p.name[4:]) for p in root.glob("gen-*") if p.name[4:].isdigit()]
    return max(numbers, default=0) + 1


def _prune(root: Path, keep: str) -> None:
    """Keep the live generation and the one before it; drop older ones and stale temp folders."""
    gens = sorted(p for p in root.glob("gen-*") if p.is_dir())
    for old in gens[:-2]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for tmp in root.glob("tmp-*"):
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
