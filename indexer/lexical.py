"""BM25 over analysed chunk terms, as posting lists that are memory-mapped and read as written.

Each index segment stores raw term frequencies column by column (a CSC matrix split into
`lex-indptr.npy`, `lex-rows.npy`, `lex-tf.npy`) with its chunk lengths and vocabulary; BM25
weights (Lucene-style: idf * tf*(k1+1) / (tf + k1*norm)) are computed at query time from the
statistics of all segments together, so adding a segment never rewrites the others and a
query reads only the posting lists of its own terms. No pickle.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

K1 = 1.2
B = 0.75
# top_k: partition only the scores of at least this share of the best, when k of them exist.
TOP_K_CUTOFF = 0.25
CUTOFF_MIN_ROWS = 50_000  # below this a single partition is as cheap


@dataclass(frozen=True)
class Postings:
    """One segment's term-frequency columns: rows of chunks that contain each term."""

    vocab: dict[str, int]
    indptr: np.ndarray  # (n_terms + 1,) int64
    rows: np.ndarray  # (nnz,) int32, local chunk rows
    tf: np.ndarray  # (nnz,) float32
    lengths: np.ndarray  # (n_chunks,) float32, terms per chunk

    @classmethod
    def from_terms(cls, docs_terms: Sequence[Sequence[str]]) -> Postings:
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        for r, terms in enumerate(docs_terms):
            for term, freq in Counter(terms).items():
                rows.append(r)
                cols.append(vocab.setdefault(term, len(vocab)))
                counts.append(freq)
        lengths = np.asarray([len(t) for t in docs_terms], dtype=np.float32)
        return cls.from_coo(vocab, np.asarray(rows, np.int64), np.asarray(cols, np.int64),
                            np.asarray(counts, np.float32), lengths)

    @classmethod
    def from_coo(cls, vocab: dict[str, int], rows: np.ndarray, cols: np.ndarray, tf: np.ndarray,
                 lengths: np.ndarray) -> Postings:
        import scipy.sparse as sp  # building only: a query never needs scipy (~0.15 s to import)

        m = sp.csc_matrix((tf.astype(np.float32), (rows, cols)), shape=(len(lengths), len(vocab)))
        m.sum_duplicates()
        return cls(vocab, m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data.astype(np.float32),
                   lengths.astype(np.float32))

    @property
    def size(self) -> int:
        return len(self.lengths)

    def df(self, term: str) -> int:
        col = self.vocab.get(term)
        return 0 if col is None else int(self.indptr[col + 1] - self.indptr[col])

    def column(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        col = self.vocab.get(term)
        if col is None:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        lo, hi = int(self.indptr[col]), int(self.indptr[col + 1])
        return np.asarray(self.rows[lo:hi]), np.asarray(self.tf[lo:hi])

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, tf) of every posting, for merging segments."""
        cols = np.repeat(np.arange(len(self.vocab), dtype=np.int64), np.diff(np.asarray(self.indptr)))
        return np.asarray(self.rows, np.int64), cols, np.asarray(self.tf, np.float32)

    def save(self, folder: Path) -> None:
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / "lex-terms.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        for name, arr in (("indptr", self.indptr), ("rows", self.rows), ("tf", self.tf), ("len", self.lengths)):
            np.save(folder / f"lex-{name}.npy", arr, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> Postings:
        terms = json.loads((folder / "lex-terms.json").read_text(encoding="utf-8"))

        def arr(name: str) -> np.ndarray:
            return np.load(folder / f"lex-{name}.npy", mmap_mode="r", allow_pickle=False)

        return cls({t: i for i, t in enumerate(terms)}, arr("indptr"), arr("rows"), arr("tf"), arr("len"))


class LexicalIndex:
    """BM25 over one or more segments' postings; rows are global (segment base + local row)."""

    def __init__(self, parts: Sequence[Postings], bases: Sequence[int] | None = None,
                 live: np.ndarray | None = None, k1: float = K1, b: float = B) -> None:
        self.parts = list(parts)
        self.bases = list(bases) if bases is not None else [0]
        self.k1, self.b = k1, b
        self._size = (self.bases[-1] + self.parts[-1].size) if self.parts else 0
        self.live = live  # rows of deleted documents score 0
        total_len = sum(float(np.sum(p.lengths)) for p in self.parts)
        self.avgdl = max(total_len / max(self._size, 1), 1.0)
        self._vocab: set[str] | None = None
        # The last query's scores: ranking and the relevance floor both ask for them, and at a
        # million chunks one call reads every posting of the query's terms (a few ms each).
        self._last: tuple[tuple[str, ...], np.ndarray] | None = None
        self._norms: list[np.ndarray] | None = None

    @classmethod
    def build(cls, docs_terms: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> LexicalIndex:
        return cls([Postings.from_terms(docs_terms)], k1=k1, b=b)

    @property
    def size(self) -> int:
        return self._size

    @property
    def vocab(self) -> set[str]:
        """Every indexed term (built on first use: only spelling suggestions need it)."""
        if self._vocab is None:
            self._vocab = set().union(*(p.vocab for p in self.parts)) if self.parts else set()
        return self._vocab

    def idf_of(self, term: str) -> float:
        df = sum(p.df(term) for p in self.parts)
        if df == 0:
            return 0.0
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def postings(self, term: str) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(global rows, tf, chunk lengths) of the term, segment by segment."""
        for base, part in zip(self.bases, self.parts, strict=True):
            rows, tf = part.column(term)
            if len(rows):
                yield rows.astype(np.int64) + base, tf, np.asarray(part.lengths)[rows]

    def holds(self, term: str, rows: np.ndarray) -> np.ndarray:
        """Which of the given (global) rows contain the term: a binary search per row in each
        segment's posting list, which is sorted and read in place (no copy of a common
        term's hundreds of thousands of postings)."""
        out = np.zeros(len(rows), bool)
        for base, part in zip(self.bases, self.parts, strict=True):
            posted, _ = part.column(term)
            if not len(posted):
                continue
            inside = np.flatnonzero((rows >= base) & (rows < base + part.size))
            local = (rows[inside] - base).astype(posted.dtype)
            at = np.minimum(np.searchsorted(posted, local), len(posted) - 1)
            out[inside[posted[at] == local]] = True
        return out

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for the query terms (repeated terms count once); read-only."""
        key = tuple(dict.fromkeys(terms))
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        out = self._scores(key)
        out.flags.writeable = False  # shared by the callers of the same query
        self._last = (key, out)
        return out

    def _scores(self, terms: Sequence[str]) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        norms = self._length_norms()
        for term in terms:
            idf = self.idf_of(term)
            if idf <= 0:
                continue
            for base, part, norm in zip(self.bases, self.parts, norms, strict=True):
                rows, tf = part.column(term)
                if len(rows):
                    # idf*tf*(k1+1) / (tf + k1*(1-b+b*len/avgdl)), in float32 like the output.
                    # add.at and take: a third faster than `out[rows] += ...` with int32 rows,
                    # the same sums (a term's rows are distinct).
                    weights = tf * np.float32(idf * (self.k1 + 1)) / (tf + norm.take(rows))
                    np.add.at(out, rows if base == 0 else rows + base, weights)
        if self.live is not None:
            out[~self.live] = 0.0
        return out

    def _length_norms(self) -> list[np.ndarray]:
        """k1*(1-b+b*len/avgdl) per chunk and segment, computed once per opened index."""
        if self._norms is None:
            self._norms = [(self.k1 * (1 - self.b + self.b * np.asarray(p.lengths, np.float64) / self.avgdl)).astype(np.float32)
                           for p in self.parts]
        return self._norms

    def save(self, folder: Path) -> None:
        if len(self.parts) != 1:
            raise ValueError("only a single-segment lexical index can be saved")
        self.parts[0].save(folder)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        return cls([Postings.load(folder)])


def top_k(scores: np.ndarray, k: int, positive_only: bool = True) -> np.ndarray:
    """Positions of the k highest (positive) scores, best first: argpartition, then a sort of k.

    The partition runs over the scores of at least a quarter of the best when k of them exist
    (the top k are then all among them, so the answer is the same): a common term gives a
    third of a million-passage index a small positive score, and partitioning those costs ms."""
    if k <= 0:
        return np.zeros(0, np.int64)
    positive: np.ndarray | None = None
    if positive_only and len(scores) > CUTOFF_MIN_ROWS:
        strong = np.flatnonzero(scores >= float(scores.max()) * TOP_K_CUTOFF)
        if len(strong) >= k and scores[strong].min() > 0:
            positive = strong
    if positive is None:
        positive = np.flatnonzero(scores > 0) if positive_only else np.arange(len(scores))
    if len(positive) > k:
        positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
    return positive[np.argsort(-scores[positive], kind="stable")]
