"""BM25 over analysed chunk terms, stored as a plain term-weight matrix (no pickle).

Weights are precomputed at build time (Lucene-style BM25: idf * tf*(k1+1) / (tf + k1*norm)),
so a query is one sparse row-sum over its terms' columns.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp


class LexicalIndex:
    def __init__(self, vocab: dict[str, int], weights: sp.csc_matrix) -> None:
        self.vocab = vocab
        self.weights = weights  # shape (n_chunks, n_terms)

    @classmethod
    def build(cls, docs_terms: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        lengths = np.zeros(len(docs_terms), dtype=np.float32)
        for r, terms in enumerate(docs_terms):
            lengths[r] = len(terms)
            for term, freq in Counter(terms).items():
                rows.append(r)
                cols.append(vocab.setdefault(term, len(vocab)))
                counts.append(freq)
        n = len(docs_terms)
        if not vocab:
            return cls({}, sp.csc_matrix((n, 0), dtype=np.float32))
        tf = np.asarray(counts, dtype=np.float32)
        row_idx = np.asarray(rows, dtype=np.int64)
        col_idx = np.asarray(cols, dtype=np.int64)
        df = np.bincount(col_idx, minlength=len(vocab)).astype(np.float32)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        avgdl = max(float(lengths.mean()), 1.0)
        norm = k1 * (1 - b + b * lengths[row_idx] / avgdl)
        data = idf[col_idx] * tf * (k1 + 1) / (tf + norm)
        weights = sp.csc_matrix((data, (row_idx, col_idx)), shape=(n, len(vocab)), dtype=np.float32)
        return cls(vocab, weights)

    @property
    def size(self) -> int:
        return int(self.weights.shape[0])

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for the query terms (repeated terms count once)."""
        cols = [self.vocab[t] for t in dict.fromkeys(terms) if t in self.vocab]
        if not cols:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.weights[:, cols].sum(axis=1), dtype=np.float32).ravel()

    def idf_of(self, term: str) -> float:
        col = self.vocab.get(term)
        if col is None:
            return 0.0
        df = self.weights.indptr[col + 1] - self.weights.indptr[col]
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def save(self, folder: Path) -> None:
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / "lexical-vocab.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        w = self.weights
        np.savez(folder / "lexical-weights.npz", data=w.data, indices=w.indices, indptr=w.indptr,
                 shape=np.asarray(w.shape, dtype=np.int64))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        terms = json.loads((folder / "lexical-vocab.json").read_text(encoding="utf-8"))
        with np.load(folder / "lexical-weights.npz", allow_pickle=False) as z:
            weights = sp.csc_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        return cls({t: i for i, t in enumerate(terms)}, weights)
