"""Counterpart candidates: each document's most likely translation in the other language.

Two detectors. `find_counterparts` (used by the index, vectors only) and `detect_counterparts`
(used by `viko align-all`, which also has the documents) adding length ratio, dates, and
shared numbers and Latin-script names to the content margin.

Documents are compared by their centred mean embeddings with a hubness-aware ratio margin
(as in bitext mining): cos(x, y) divided by the mean similarity of x and y to their k nearest
neighbours, so a 'hub' document that is close to everything does not become everyone's
counterpart. Only mutual best matches count; the margin becomes a 0..1 confidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import faiss
import numpy as np


@dataclass(frozen=True)
class Counterpart:
    doc_id: str
    other_id: str
    margin: float
    confidence: float
    features: tuple[tuple[str, float], ...] = ()  # (name, contribution) when detected with features


def _knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    index = faiss.IndexFlatIP(base.shape[1])
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    sims, rows = index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(base)))
    return sims, rows


def confidence(margin: float, low: float = 1.10, high: float = 1.25) -> float:
    return float(np.clip((margin - low) / (high - low), 0.0, 1.0))


def mutual_margin_pairs(a: np.ndarray, b: np.ndarray, k: int = 4,
                        floor: float = 1e-6) -> list[tuple[int, int, float]]:
    """(row of a, row of b, ratio margin) for every mutual best match, found by k-nearest-
    neighbour search (so it scales past what a full matrix allows). The margin is
    cos(x, y) / mean(kNN similarity of x, kNN similarity of y), the denominator at least
    `floor`. Shared by document counterparts and sentence mining (search.bitext)."""
    if len(a) == 0 or len(b) == 0:
        return []
    sims_ab, rows_ab = _knn(a, b, k)
    sims_ba, rows_ba = _knn(b, a, k)
    knn_a, knn_b = sims_ab.mean(axis=1), sims_ba.mean(axis=1)

    def best(sims: np.ndarray, rows: np.ndarray, own: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        margins = sims / np.maximum((own[:, None] + other[rows]) / 2, floor)
        pick = margins.argmax(axis=1)
        return rows[np.arange(len(rows)), pick], margins[np.arange(len(rows)), pick]

    best_b, margin_b = best(sims_ab, rows_ab, knn_a, knn_b)
    best_a, _ = best(sims_ba, rows_ba, knn_b, knn_a)
    return [(i, j, float(margin_b[i])) for i, j in enumerate(best_b.tolist()) if best_a[j] == i]


def find_counterparts(ids_a: list[str], vecs_a: np.ndarray, ids_b: list[str],
                      vecs_b: np.ndarray, k: int = 4) -> list[Counterpart]:
    """Mutual best matches (by ratio margin) between two languages' documents, both directions
    listed."""
    if not ids_a or not ids_b:
        return []
    out = []
    for i, j, m in mutual_margin_pairs(vecs_a, vecs_b, k):
        conf = confidence(m)
        if conf > 0:
            out.append(Counterpart(ids_a[i], ids_b[j], m, conf))
            out.append(Counterpart(ids_b[j], ids_a[i], m, conf))
    return out


# -- detection with document features ------------------------------------------------------
# Content similarity finds candidates; the features below separate a translation from a
# document on the same topic: translations keep numbers and Latin-script names (IoT, Samsung,
# 2030), have a typical length ratio, and usually carry the same date.

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LATIN_NAME = re.compile(r"\b[A-Za-z][A-Za-z0-9&-]*[A-Za-z0-9]\b")


@dataclass(frozen=True)
class DocInfo:
    id: str
    lang: str
    chars: int
    date: str = ""
    numbers: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()


def doc_info(doc_id: str, lang: str, text: str, date: str = "") -> DocInfo:
    """The features of one document: numbers with separators removed (1.000 = 1,000) and
    Latin-script words that look like names or acronyms (capitalised in either language)."""
    numbers = frozenset(n for n in (re.sub(r"[.,]", "", m) for m in _NUMBER.findall(text)) if len(n) >= 2)
    names = frozenset(w.lower() for w in _LATIN_NAME.findall(text) if not w.islower() and len(w) >= 2)
    return DocInfo(doc_id, lang, len(text), date, numbers, names)


@dataclass(frozen=True)
class FeatureWeights:
    """A logistic model of "b is the translation of a": the combined score is a log-odds and
    sigmoid(score) the confidence. Fitted on NTREX dev documents and the demo corpus (whose
    documents without counterparts teach it what a merely topical neighbour looks like)."""

    log_margin: float = 0.61  # log of the ratio margin (hubness-aware content similarity)
    cosine: float = 1.03      # centred document cosine
    lead: float = 2.94        # content score (log margin + cosine) minus the best rival's
    numbers: float = 3.13     # Dice overlap of numbers, minus 0.5 (none on either side: 0)
    names: float = 0.81       # Dice overlap of Latin-script names above 0.5 (Korean often transliterates)
    length: float = -0.92     # |log(length ratio / the corpus's typical ratio)|
    date: float = 0.77        # +1 same date (within a day), -1 more than `far_days` apart
    far_days: int = 31
    intercept: float = -1.32
    max_lead: float = 3.0     # the lead is clipped to +-max_lead (and is max_lead without rivals)


def _dice(a: frozenset[str], b: frozenset[str]) -> float | None:
    if not a and not b:
        return None  # no evidence either way
    return 2 * len(a & b) / (len(a) + len(b))


def _date_term(a: str, b: str, far_days: int) -> float:
    if not a or not b:
        return 0.0
    try:
        days = abs((date.fromisoformat(a[:10]) - date.fromisoformat(b[:10])).days)
    except ValueError:
        return 0.0
    return 1.0 if days <= 1 else -1.0 if days > far_days else 0.0


def content_score(margin: float, cosine: float) -> float:
    return math.log(max(margin, 0.05)) + cosine


def pair_features(a: DocInfo, b: DocInfo, margin: float, cosine: float, lead: float,
                  typical_ratio: float, w: FeatureWeights) -> dict[str, float]:
    """Each feature's contribution to the log-odds of a candidate pair."""
    out = {"bias": w.intercept, "margin": w.log_margin * math.log(max(margin, 0.05)),
           "cosine": w.cosine * cosine, "lead": w.lead * lead}
    numbers, names = _dice(a.numbers, b.numbers), _dice(a.names, b.names)
    if numbers is not None:
        out["numbers"] = w.numbers * (numbers - 0.5)
    if names is not None:
        out["names"] = w.names * max(names - 0.5, 0.0)
    vi_chars, ko_chars = (a.chars, b.chars) if a.lang == "vi" else (b.chars, a.chars)
    ratio = max(vi_chars, 1) / max(ko_chars, 1)
    out["length"] = w.length * abs(math.log(ratio / typical_ratio))
    out["date"] = w.date * _date_term(a.date, b.date, w.far_days)
    return out


def detect_counterparts(ids_a: list[str], vecs_a: np.ndarray, ids_b: list[str], vecs_b: np.ndarray,
                        infos: Mapping[str, DocInfo], *, k: int = 8,
                        weights: FeatureWeights | None = None) -> list[Counterpart]:
    """One-to-one links between two languages' documents, scored by a logistic model over
    content margin, lead over rivals and document features, assigned greedily best-first;
    both directions listed, confidence = sigmoid(score)."""
    w = weights or FeatureWeights()
    if not ids_a or not ids_b:
        return []
    candidates = _candidate_margins(vecs_a, vecs_b, k)
    ratio = _typical_ratio(ids_a, ids_b, candidates, infos)
    leads = _leads({p: content_score(m, c) for p, (m, c) in candidates.items()}, w.max_lead)
    scored = []
    for (i, j), (margin, cos) in candidates.items():
        feats = pair_features(infos[ids_a[i]], infos[ids_b[j]], margin, cos, leads[(i, j)], ratio, w)
        scored.append((sum(feats.values()), i, j, margin, feats))
    scored.sort(key=lambda t: -t[0])
    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for total, i, j, margin, feats in scored:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        conf = 1.0 / (1.0 + math.exp(-total))
        if conf < 0.05:
            continue
        rounded = tuple((name, round(float(v), 4)) for name, v in feats.items())
        out.append(Counterpart(ids_a[i], ids_b[j], float(margin), conf, rounded))
        out.append(Counterpart(ids_b[j], ids_a[i], float(margin), conf, rounded))
    return out


def _leads(content: dict[tuple[int, int], float], cap: float) -> dict[tuple[int, int], float]:
    """Each candidate's content score minus the best other candidate of either document:
    a translation stands out from its rivals, a document without one does not."""
    of_a: dict[int, list[tuple[float, int]]] = {}
    of_b: dict[int, list[tuple[float, int]]] = {}
    for (i, j), value in content.items():
        of_a.setdefault(i, []).append((value, j))
        of_b.setdefault(j, []).append((value, i))
    for group in (*of_a.values(), *of_b.values()):
        group.sort(reverse=True)
    out = {}
    for (i, j), value in content.items():
        rivals = [next((v for v, other in of_a[i] if other != j), None),
                  next((v for v, other in of_b[j] if other != i), None)]
        present = [v for v in rivals if v is not None]
        out[(i, j)] = float(np.clip(value - max(present), -cap, cap)) if present else cap
    return out


def _candidate_margins(vecs_a: np.ndarray, vecs_b: np.ndarray, k: int) -> dict[tuple[int, int], tuple[float, float]]:
    """(ratio margin, cosine) of each document's k nearest neighbours in the other language,
    both ways."""
    sims_ab, rows_ab = _knn(vecs_a, vecs_b, k)
    sims_ba, rows_ba = _knn(vecs_b, vecs_a, k)
    knn_a, knn_b = sims_ab.mean(axis=1), sims_ba.mean(axis=1)
    out: dict[tuple[int, int], tuple[float, float]] = {}
    for sims, rows, forward in ((sims_ab, rows_ab, True), (sims_ba, rows_ba, False)):
        for x in range(len(sims)):
            for s, y in zip(sims[x].tolist(), rows[x].tolist(), strict=True):
                i, j = (x, y) if forward else (y, x)
                out[(i, j)] = (float(s / max((knn_a[i] + knn_b[j]) / 2, 1e-6)), float(s))
    return out


def _typical_ratio(ids_a: list[str], ids_b: list[str], candidates: dict[tuple[int, int], tuple[float, float]],
                   infos: Mapping[str, DocInfo]) -> float:
    """Median Vietnamese/Korean length ratio over the clearest candidate pairs of this corpus
    (Vietnamese takes about twice the characters of Korean for the same content)."""
    best = sorted(candidates.items(), key=lambda kv: -kv[1][0])[: max(5, len(candidates) // 20)]
    ratios = []
    for (i, j), _ in best:
        a, b = infos[ids_a[i]], infos[ids_b[j]]
        vi, ko = (a, b) if a.lang == "vi" else (b, a)
        ratios.append(max(vi.chars, 1) / max(ko.chars, 1))
    return float(np.median(ratios)) if ratios else 2.0
