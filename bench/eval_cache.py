"""An embedding cache for the quality benchmark, so repeated runs embed nothing twice.

Stored under data/bench-cache/ (gitignored) as plain files, no pickle: per model and
kind (query/passage) a `keys.json` list of text digests and a `vectors.npy` matrix.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from viko.indexer.encoders import Encoder

# VIKO_BENCH_CACHE: another folder, e.g. to compare two encoder paths that share a model name.
CACHE_DIR = Path(os.environ.get("VIKO_BENCH_CACHE") or Path(__file__).resolve().parent.parent / "data" / "bench-cache")


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class _Store:
    def __init__(self, folder: Path, dim: int) -> None:
        self.folder = folder
        self.dim = dim
        self.rows: dict[str, np.ndarray] = {}
        self.dirty = False
        keys, vecs = folder / "keys.json", folder / "vectors.npy"
        if keys.exists() and vecs.exists():
            loaded = json.loads(keys.read_text(encoding="utf-8"))
            matrix = np.load(vecs, allow_pickle=False)
            if matrix.shape == (len(loaded), dim):
                self.rows = dict(zip(loaded, matrix, strict=True))

    def lookup(self, texts: Sequence[str]) -> tuple[list[str], list[int]]:
        digests = [_digest(t) for t in texts]
        return digests, [i for i, d in enumerate(digests) if d not in self.rows]

    def add(self, digests: list[str], vectors: np.ndarray) -> None:
        for digest, vector in zip(digests, vectors, strict=True):
            self.rows[digest] = vector
        self.dirty = True

    def get(self, digests: list[str]) -> np.ndarray:
        if not digests:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.rows[d] for d in digests]).astype(np.float32)

    def save(self) -> None:
        if not self.dirty:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = list(self.rows)
        tmp = self.folder / f"vectors.tmp-{os.getpid()}.npy"
        np.save(tmp, np.stack([self.rows[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32),
                allow_pickle=False)
        (self.folder / "keys.json.tmp").write_text(json.dumps(keys), encoding="utf-8")
        os.replace(tmp, self.folder / "vectors.npy")
        os.replace(self.folder / "keys.json.tmp", self.folder / "keys.json")
        self.dirty = False


class CachedEncoder:
    """Wraps an Encoder (same name and dimension, so indexes built through it match)."""

    def __init__(self, encoder: Encoder, cache_dir: Path = CACHE_DIR) -> None:
        self.inner = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        folder = cache_dir / "embeddings" / re.sub(r"[^\w.-]+", "_", encoder.name)
        self._stores = {kind: _Store(folder / kind, encoder.dim) for kind in ("query", "passage")}

    def _encode(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        store = self._stores[kind]
        digests, missing = store.lookup(texts)
        if missing:
            fn = self.inner.encode_queries if kind == "query" else self.inner.encode_passages
            fresh = np.asarray(fn([texts[i] for i in missing]), dtype=np.float32)
            store.add([digests[i] for i in missing], fresh)
        return store.get(digests)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("query", texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("passage", texts)

    def save(self) -> None:
        for store in self._stores.values():
            store.save()
