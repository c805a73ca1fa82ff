"""Counterpart detection: each document's most likely translation in the other language.

Run at index time (`viko index` / `viko align-all`), never when the index is opened; the
links go to the catalogue (corpus.counterparts), the one place every reader asks.

Documents are compared by their centred mean embeddings with a hubness-aware ratio margin
(as in bitext mining): cos(x, y) divided by the mean similarity of x and y to their k nearest
neighbours, so a 'hub' document that is close to everything does not become everyone's
counterpart. A logistic model then adds length ratio, dates, and shared numbers and
Latin-script names, and links are assigned one-to-one, best first. Only the documents named
`dirty` are re-matched (new or changed since the last run); the others keep their links.

`knn_margins` is the one kNN ratio-margin routine: document counterparts and sentence mining
(workbench.mining) both use it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

import faiss
import numpy as np

from viko.corpus.counterparts import CLAIM_CONFIDENCE, Counterpart

# Exact kNN up to this many base rows (200k x 200k x 384 flops: minutes on two cores, once
# per run); above it an HNSW graph, for sentence mining over a very large corpus. Measured
# here: M=32, efSearch=128 found 0.79 of the exact 4 nearest neighbours over 60k vectors
# made of 2,769 real chunk vectors plus noise (near-duplicates, a hard case), so ANN is
# kept for sizes exact search cannot afford, with a wider search.
EXACT_KNN_ROWS = 200_000
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 256
# A detected link below this confidence is not stored: it is noise, not a counterpart.
MIN_CONFIDENCE = 0.05
# A link found by document similarity alone (at index time, before align-all compares the
# sentences) is at most a possible translation, whatever its score.
UNVERIFIED_CAP = round(CLAIM_CONFIDENCE - 0.05, 2)


def _knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    base = np.ascontiguousarray(base, dtype=np.float32)
    index: faiss.Index
    if len(base) > EXACT_KNN_ROWS:
        index = faiss.IndexHNSWFlat(base.shape[1], HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    sims, rows = index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(base)))
    return sims, rows


@dataclass(frozen=True)
class Margins:
    """Candidates of a kNN ratio-margin search between a and b: for every queried row its k
    nearest rows on the other side, with cosine and margin. `forward` lists (row of a, row of
    b, cosine, margin) for a's queries, `backward` the same (still a-row first) for b's."""

    forward: list[tuple[int, int, float, float]]
    backward: list[tuple[int, int, float, float]]


def knn_margins(a: np.ndarray, b: np.ndarray, k: int, *, rows_a: np.ndarray | None = None,
                rows_b: np.ndarray | None = None, floor: float = 1e-6) -> Margins:
    """Ratio margin cos(x, y) / mean(kNN similarity of x, kNN similarity of y) of each queried
    row's k nearest neighbours (rows_a / rows_b: which rows to query, default all). The
    neighbourhood of a row that is not queried but appears as a neighbour is searched too."""
    rows_a = np.arange(len(a)) if rows_a is None else np.asarray(rows_a, np.int64)
    rows_b = np.arange(len(b)) if rows_b is None else np.asarray(rows_b, np.int64)
    if len(a) == 0 or len(b) == 0:
        return Margins([], [])
    sims_ab, nn_ab = _knn(a[rows_a], b, k)
    sims_ba, nn_ba = _knn(b[rows_b], a, k)
    knn_a = dict(zip(rows_a.tolist(), sims_ab.mean(axis=1).tolist(), strict=True))
    knn_b = dict(zip(rows_b.tolist(), sims_ba.mean(axis=1).tolist(), strict=True))
    _fill_knn(knn_a, a, b, nn_ba, k)
    _fill_knn(knn_b, b, a, nn_ab, k)

    def margin(i: int, j: int, s: float) -> float:
        return float(s / max((knn_a[i] + knn_b[j]) / 2, floor))

    forward = [(i, j, float(s), margin(i, j, s)) for i, sims, nn in zip(rows_a.tolist(), sims_ab, nn_ab, strict=True)
               for s, j in zip(sims.tolist(), nn.tolist(), strict=True) if j >= 0]
    backward = [(i, j, float(s), margin(i, j, s)) for j, sims, nn in zip(rows_b.tolist(), sims_ba, nn_ba, strict=True)
                for s, i in zip(sims.tolist(), nn.tolist(), strict=True) if i >= 0]
    return Margins(forward, backward)


def _fill_knn(known: dict[int, float], own: np.ndarray, other: np.ndarray, neighbours: np.ndarray, k: int) -> None:
    missing = sorted({int(r) for r in neighbours.ravel().tolist() if r >= 0} - set(known))
    if missing:
        sims, _ = _knn(own[missing], other, k)
        known.update(zip(missing, sims.mean(axis=1).tolist(), strict=True))


def mutual_margin_pairs(a: np.ndarray, b: np.ndarray, k: int = 4,
                        floor: float = 1e-6) -> list[tuple[int, int, float]]:
    """(row of a, row of b, ratio margin) for every mutual best match by margin."""
    found = knn_margins(a, b, k, floor=floor)
    best_b: dict[int, tuple[float, int]] = {}
    best_a: dict[int, tuple[float, int]] = {}
    for i, j, _, m in found.forward:
        if i not in best_b or m > best_b[i][0]:
            best_b[i] = (m, j)
    for i, j, _, m in found.backward:
        if j not in best_a or m > best_a[j][0]:
            best_a[j] = (m, i)
    return [(i, j, m) for i, (m, j) in sorted(best_b.items()) if best_a.get(j, (0.0, -1))[1] == i]


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
    type: str = ""


# An offer and a demand on one topic read alike, but one is never the other's translation.
NEVER_COUNTERPARTS = frozenset({"offer", "demand"})


def doc_info(doc_id: str, lang: str, text: str, date: str = "", type: str = "") -> DocInfo:
    """The features of one document: numbers with separators removed (1.000 = 1,000) and
    Latin-script words that look like names or acronyms (capitalised in either language)."""
    numbers = frozenset(n for n in (re.sub(r"[.,]", "", m) for m in _NUMBER.findall(text)) if len(n) >= 2)
    names = frozenset(w.lower() for w in _LATIN_NAME.findall(text) if not w.islower() and len(w) >= 2)
    return DocInfo(doc_id, lang, len(text), date, numbers, names, type)


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
    rivals_half: float = 20.0  # documents a side at which margin and lead count half (see score_candidates)


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


@dataclass(frozen=True)
class Candidate:
    """A scored candidate pair (rows of a and b) with each feature's log-odds contribution."""

    score: float
    i: int
    j: int
    margin: float
    features: dict[str, float]


def score_candidates(ids_a: list[str], vecs_a: np.ndarray, ids_b: list[str], vecs_b: np.ndarray,
                     infos: Mapping[str, DocInfo], *, k: int = 8, weights: FeatureWeights | None = None,
                     dirty: Collection[str] | None = None, typical_ratio: float | None = None,
                     ) -> tuple[list[Candidate], float]:
    """Every candidate pair of the kNN margin search scored by the document-level logistic
    model, best first, and the typical vi/ko length ratio used.

    Margin and lead compare a pair with its rivals, which says little when there are few of
    them: in a collection of three documents a side, an unrelated report is the 'clear best'
    of three. Both terms are damped by n / (n + `rivals_half`) for n documents on the
    smaller side, so a tiny collection rests on the cosine and the document features."""
    w = weights or FeatureWeights()
    if not ids_a or not ids_b:
        return [], typical_ratio or 2.0
    rows_a = rows_b = None
    if dirty is not None:
        rows_a = np.asarray([i for i, d in enumerate(ids_a) if d in dirty], np.int64)
        rows_b = np.asarray([j for j, d in enumerate(ids_b) if d in dirty], np.int64)
    candidates = _candidate_margins(knn_margins(vecs_a, vecs_b, k, rows_a=rows_a, rows_b=rows_b))
    ratio = typical_ratio or _typical_ratio(ids_a, ids_b, candidates, infos)
    leads = _leads({p: content_score(m, c) for p, (m, c) in candidates.items()}, w.max_lead)
    n = min(len(ids_a), len(ids_b))
    damp = n / (n + w.rivals_half)
    scored = []
    for (i, j), (margin, cos) in candidates.items():
        if {infos[ids_a[i]].type, infos[ids_b[j]].type} == NEVER_COUNTERPARTS:
            continue
        feats = pair_features(infos[ids_a[i]], infos[ids_b[j]], margin, cos, leads[(i, j)], ratio, w)
        feats["margin"] *= damp
        feats["lead"] *= damp
        scored.append(Candidate(sum(feats.values()), i, j, margin, feats))
    scored.sort(key=lambda c: -c.score)
    return scored, ratio


def assign(scored: list[Candidate], ids_a: list[str], ids_b: list[str], taken: Collection[str] = (),
           ) -> list[Counterpart]:
    """One-to-one links, best score first (both directions listed), confidence = sigmoid."""
    used_a = {i for i, d in enumerate(ids_a) if d in taken}
    used_b = {j for j, d in enumerate(ids_b) if d in taken}
    out = []
    for c in sorted(scored, key=lambda c: -c.score):
        if c.i in used_a or c.j in used_b:
            continue
        used_a.add(c.i)
        used_b.add(c.j)
        conf = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, c.score))))
        if "sentences" not in c.features:  # document similarity alone never makes a claim
            conf = min(conf, UNVERIFIED_CAP)
        if conf < MIN_CONFIDENCE:
            continue
        rounded = tuple((name, round(float(v), 4)) for name, v in c.features.items())
        out.append(Counterpart(ids_a[c.i], ids_b[c.j], conf, "detected", float(c.margin), rounded))
        out.append(Counterpart(ids_b[c.j], ids_a[c.i], conf, "detected", float(c.margin), rounded))
    return out


def detect_counterparts(ids_a: list[str], vecs_a: np.ndarray, ids_b: list[str], vecs_b: np.ndarray,
                        infos: Mapping[str, DocInfo], *, k: int = 8, weights: FeatureWeights | None = None,
                        dirty: Collection[str] | None = None, taken: Collection[str] = (),
                        typical_ratio: float | None = None) -> list[Counterpart]:
    """Document-level links only (no sentence evidence): one-to-one, greedy best-first.

    Incremental use: only documents in `dirty` (default: all) are matched, against every
    document of the other language except those in `taken` (which keep their current link);
    `typical_ratio` (vi/ko length) is then the one measured by the last full run."""
    scored, _ = score_candidates(ids_a, vecs_a, ids_b, vecs_b, infos, k=k, weights=weights, dirty=dirty,
                                 typical_ratio=typical_ratio)
    return assign(scored, ids_a, ids_b, taken)


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


def _candidate_margins(found: Margins) -> dict[tuple[int, int], tuple[float, float]]:
    """(ratio margin, cosine) of each candidate pair (a row, b row), from both directions."""
    out: dict[tuple[int, int], tuple[float, float]] = {}
    for i, j, cos, margin in (*found.forward, *found.backward):
        out[(i, j)] = (margin, cos)
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
