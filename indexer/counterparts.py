"""Counterpart candidates: each document's most likely translation in the other language.

Documents are compared by their centred mean embeddings with a hubness-aware ratio margin
(as in bitext mining): cos(x, y) divided by the mean similarity of x and y to their k nearest
neighbours, so a 'hub' document that is close to everything does not become everyone's
counterpart. Only mutual best matches count; the margin becomes a 0..1 confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np


@dataclass(frozen=True)
class Counterpart:
    doc_id: str
    other_id: str
    margin: float
    confidence: float


def _knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    index = faiss.IndexFlatIP(base.shape[1])
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    sims, rows = index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(base)))
    return sims, rows


def confidence(margin: float, low: float = 1.10, high: float = 1.25) -> float:
    return float(np.clip((margin - low) / (high - low), 0.0, 1.0))


def find_counterparts(ids_a: list[str], vecs_a: np.ndarray, ids_b: list[str],
                      vecs_b: np.ndarray, k: int = 4) -> list[Counterpart]:
    """Mutual best matches (by ratio margin) between two languages' documents, both directions
    listed. Uses k-nearest-neighbour search, so it scales past what a full matrix allows."""
    if not ids_a or not ids_b:
        return []
    sims_ab, rows_ab = _knn(vecs_a, vecs_b, k)
    sims_ba, rows_ba = _knn(vecs_b, vecs_a, k)
    knn_a, knn_b = sims_ab.mean(axis=1), sims_ba.mean(axis=1)

    def best(sims: np.ndarray, rows: np.ndarray, own: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        margins = sims / np.maximum((own[:, None] + other[rows]) / 2, 1e-6)
        pick = margins.argmax(axis=1)
        return rows[np.arange(len(rows)), pick], margins[np.arange(len(rows)), pick]

    best_b, margin_b = best(sims_ab, rows_ab, knn_a, knn_b)
    best_a, _ = best(sims_ba, rows_ba, knn_b, knn_a)
    out = []
    for i, j in enumerate(best_b.tolist()):
        if best_a[j] != i:
            continue
        m = float(margin_b[i])
        conf = confidence(m)
        if conf > 0:
            out.append(Counterpart(ids_a[i], ids_b[j], m, conf))
            out.append(Counterpart(ids_b[j], ids_a[i], m, conf))
    return out
