"""Sentence embeddings for alignment and bitext mining, with an optional on-disk cache.

The cache is two plain files in a folder (no pickle): keys.json (sha1 of model + text, one per
row) and vectors.npy. Re-running `viko align-all` then embeds only sentences it has not seen.
`prefetch` embeds a run's sentences ahead of the per-pair calls, in long batches of similar
lengths: the encoder runs large matmuls with almost no padding instead of one small batch per
document pair.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from viko.indexer.encoders import Encoder

# Texts per encoder call in `prefetch`: each call is cut into token-bounded batches by the
# encoder; this only bounds a call's memory and how often progress is heard.
PREFETCH_CALL = 1024


class SentenceEmbedder:
    """Embeds sentences in batches through the project encoder (passage side, since alignment
    compares like with like) and remembers what it embedded."""

    def __init__(self, encoder: Encoder, cache_dir: Path | None = None, batch_size: int = 64) -> None:
        self.encoder = encoder
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.batch_size = batch_size
        self._rows: dict[str, int] = {}
        self._vectors: list[np.ndarray] = []
        self._dirty = False
        self.embedded = 0  # texts actually encoded by this embedder (not found in the cache)
        self._load()

    @property
    def dim(self) -> int:
        return int(self.encoder.dim)

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.encoder.name}\x1f{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 rows, one per text."""
        keys = [self._key(t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self._rows))
        text_of = dict(zip(keys, texts, strict=True))
        for start in range(0, len(todo), self.batch_size):
            self._add([(k, text_of[k]) for k in todo[start : start + self.batch_size]])
        if not keys:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._vectors[self._rows[k]] for k in keys]).astype(np.float32)

    def prefetch(self, texts: Sequence[str], progress: Callable[[int, int, float], None] | None = None) -> int:
        """Embed the texts not cached yet, shortest first, in calls of PREFETCH_CALL texts, so
        that later `embed` calls find them; returns how many were embedded. `progress` hears
        (texts done, texts to do, share of their characters done) after each call."""
        keys: dict[str, str] = {}
        for text in texts:
            key = self._key(text)
            if key not in self._rows:
                keys.setdefault(key, text)
        todo = sorted(keys.items(), key=lambda kv: len(kv[1]))
        chars, done = max(sum(len(t) for t in keys.values()), 1), 0
        for start in range(0, len(todo), PREFETCH_CALL):
            batch = todo[start : start + PREFETCH_CALL]
            self._add(batch)
            done += sum(len(t) for _, t in batch)
            if progress is not None:
                progress(start + len(batch), len(todo), done / chars)
        return len(todo)

    def _add(self, batch: Sequence[tuple[str, str]]) -> None:
        vecs = self.encoder.encode_passages([text for _, text in batch])
        self.embedded += len(batch)
        for (key, _), vec in zip(batch, np.asarray(vecs, np.float32), strict=True):
            self._rows[key] = len(self._vectors)
            self._vectors.append(vec)
        self._dirty = True

    # -- cache -------------------------------------------------------------------------
    def _load(self) -> None:
        if self.cache_dir is None:
            return
        keys_path, vec_path = self.cache_dir / "keys.json", self.cache_dir / "vectors.npy"
        if not keys_path.exists() or not vec_path.exists():
            return
        try:
            keys = json.loads(keys_path.read_text(encoding="utf-8"))
            vectors = np.load(vec_path, allow_pickle=False)
        except (OSError, ValueError):
            return  # a damaged cache is only a slower run
        if vectors.ndim != 2 or len(vectors) != len(keys) or vectors.shape[1] != self.dim:
            return
        self._rows = {k: i for i, k in enumerate(keys)}
        self._vectors = list(vectors.astype(np.float32))

    def save(self, keep: set[str] | None = None) -> None:
        """Write the cache (atomically); with `keep`, only vectors of those texts survive."""
        if self.cache_dir is None or (not self._dirty and keep is None):
            return
        keys = list(self._rows)
        if keep is not None:
            wanted = {self._key(t) for t in keep}
            keys = [k for k in keys if k in wanted]
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        matrix = (np.stack([self._vectors[self._rows[k]] for k in keys]) if keys
                  else np.zeros((0, self.dim), np.float32))
        tmp_vec = self.cache_dir / "vectors.tmp.npy"
        tmp_keys = self.cache_dir / "keys.json.tmp"
        np.save(tmp_vec, matrix.astype(np.float32), allow_pickle=False)
        tmp_keys.write_text(json.dumps(keys), encoding="utf-8")
        # vectors first, keys last: a crash between the two leaves a mismatch that _load rejects
        os.replace(tmp_vec, self.cache_dir / "vectors.npy")
        os.replace(tmp_keys, self.cache_dir / "keys.json")
        self._dirty = False
