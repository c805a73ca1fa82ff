"""Score functions shared by search, the quality benchmark and bitext mining.

Small and stable on purpose: pure numpy, no index or encoder types.

- `centre`: subtract a language's mean embedding and renormalise. A multilingual encoder
  puts every Korean text closer to a Korean query than any Vietnamese text; the mean
  vector of each language carries most of that "this is Korean" direction.
- `margin_matrix`: hubness-aware scores as in bitext mining (Artetxe & Schwenk 2019,
  CSLS of Conneau et al. 2018). A raw cosine favours "hub" texts close to everything; the
  margin compares cos(x, y) with the mean similarity of x and of y to their k nearest
  neighbours, so only a pair closer than both of its neighbourhoods scores high.
- `standardise`, `rrf`: put scores from different retrievers or languages on one scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

MarginKind = Literal["ratio", "distance", "csls"]


def normalize(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    return (m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def centre(vectors: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """Vectors minus one language's mean embedding, L2-normalised again (float32). `centroid`
    is one vector, or one per row (each row's language)."""
    return normalize(np.atleast_2d(np.asarray(vectors, dtype=np.float32)) - np.asarray(centroid, dtype=np.float32))


def knn_mean(sims: np.ndarray, k: int, axis: int = 1) -> np.ndarray:
    """Mean of the k largest similarities along `axis` (each row's or column's neighbourhood)."""
    n = sims.shape[axis]
    k = max(1, min(k, n))
    top = -np.partition(-sims, k - 1, axis=axis)
    top = top[:, :k] if axis == 1 else top[:k, :]
    return np.asarray(top.mean(axis=axis), dtype=np.float32)


def margin_matrix(sims: np.ndarray, k: int = 4, kind: MarginKind = "ratio",
                  row_knn: np.ndarray | None = None, col_knn: np.ndarray | None = None) -> np.ndarray:
    """Hubness-corrected scores for a (rows x cols) cosine matrix.

    ratio:    cos / ((r_x + r_y) / 2)       (margin of Artetxe & Schwenk)
    distance: cos - (r_x + r_y) / 2
    csls:     2 cos - r_x - r_y
    where r_x is the mean cosine of x to its k nearest neighbours on the other side. Pass
    row_knn / col_knn when the neighbourhoods come from a larger set than `sims` shows.
    """
    sims = np.asarray(sims, dtype=np.float32)
    rx = knn_mean(sims, k, axis=1) if row_knn is None else np.asarray(row_knn, dtype=np.float32)
    ry = knn_mean(sims, k, axis=0) if col_knn is None else np.asarray(col_knn, dtype=np.float32)
    avg = (rx[:, None] + ry[None, :]) / 2
    if kind == "ratio":
        return sims / np.maximum(avg, 1e-6)
    if kind == "distance":
        return sims - avg
    if kind == "csls":
        return 2 * sims - 2 * avg
    raise ValueError(f"unknown margin kind {kind!r}: use ratio, distance or csls")


def best_matches(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best column, its score) for every row."""
    if scores.shape[1] == 0:
        return np.zeros(len(scores), np.int64), np.zeros(len(scores), np.float32)
    best = scores.argmax(axis=1)
    return best, scores[np.arange(len(scores)), best]


def mutual_best(scores: np.ndarray) -> list[tuple[int, int, float]]:
    """(row, col, score) pairs that are each other's best match."""
    if scores.size == 0:
        return []
    by_row = scores.argmax(axis=1)
    by_col = scores.argmax(axis=0)
    return [(i, int(j), float(scores[i, j])) for i, j in enumerate(by_row.tolist()) if by_col[j] == i]


def standardise(values: np.ndarray) -> np.ndarray:
    """z-scores; all zeros when the values do not vary (nothing to tell apart)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    std = float(values.std())
    if std < 1e-9:
        return np.zeros_like(values)
    return (values - float(values.mean())) / std


def rrf(rankings: Sequence[Sequence[str]], k: float = 60.0,
        weights: Sequence[float] | None = None) -> dict[str, float]:
    """Reciprocal-rank fusion: sum of w / (k + rank) over the lists an item appears in."""
    weights = weights or [1.0] * len(rankings)
    out: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, 1):
            out[item] = out.get(item, 0.0) + w / (k + rank)
    return out


def bitext_scores(a: np.ndarray, b: np.ndarray, *, k: int = 2, kind: MarginKind = "csls",
                  centre_sides: bool = True) -> np.ndarray:
    """Scores of every (a_i, b_j) pair as translations of each other: each side centred on
    its own mean (the set is one language), cosine, then the hubness-aware margin.
    Defaults chosen on the dev splits (NTREX, SIB-200 train+dev): CSLS with k=2 was best or
    tied in P@1 among ratio/CSLS with k = 2, 3, 4, 8 (docs/benchmarks.md, section quality)."""
    a, b = normalize(a), normalize(b)
    if centre_sides and len(a) > 1 and len(b) > 1:
        a, b = centre(a, a.mean(axis=0)), centre(b, b.mean(axis=0))
    return margin_matrix(a @ b.T, k=k, kind=kind)
