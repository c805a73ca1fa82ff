"""Per-language centroids that hold from three documents to a million.

Centring subtracts each language's mean embedding so that "this text is Korean" stops
counting as similarity. Estimated from the indexed corpus alone, the mean of a small
collection is mostly its *topic*: with three Vietnamese documents about energy, rice and a
port, subtracting their mean removes exactly what a query about rooftop solar should match.

So each language also has a reference centroid: the mean embedding of a fixed set of
everyday sentences (indexer/data/reference_sentences.tsv, the same 64 sentences in
Vietnamese, Korean and English, written for this purpose), computed once per encoder and
kept in the index manifest. Because the three sets say the same things, the differences
between their means are language, not topic. The centroid used is the corpus mean shrunk
toward the reference, n / (n + REFERENCE_WEIGHT) for n indexed chunks of the language:
a small collection is centred by the reference, a large one by itself.

Queries in a third language (English) are centred by the English reference moved by the
same topic offset the indexed languages show, so an English query is compared like the
others. Every query-language fallback goes through `query_centroid`.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from viko.corpus.document import LANGS

DATA = Path(__file__).resolve().parent / "data"
REFERENCE_FILE = DATA / "reference_sentences.tsv"
REFERENCE_LANGS = ("vi", "ko", "en")
INDEXED_LANGS = ("vi", "ko")
# In chunks. Measured on dev collections of 6, 20 and 60 documents (demo corpus, NTREX;
# docs/benchmarks.md, "firstday"): 20 finds the rooftop-solar document of the six-document
# case that the corpus mean alone misses. With the fused scores standardised per language,
# the supporting floor and the lexical coverage (search.engine, search.relevance), recall@3
# at 6/20/60 NTREX documents is 1.0/0.974/0.821 with 20 and 1.0/0.949/0.872 with 60 (5:
# 0.795 at 60; 120 and 250: no better, and a nonsense query answered at 20 documents). 60 is
# not taken: the whole-document vectors keep more of their language, and the demo corpus's
# Korean agreement lists only Korean documents as related (tests/browser/test_ui.py).
REFERENCE_WEIGHT = 20.0

Centroids = dict[str, np.ndarray]


class PassageEncoder(Protocol):
    name: str
    dim: int

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


_cache: dict[str, dict[str, np.ndarray]] = {}
_lock = threading.Lock()


def reference_sentences(path: Path = REFERENCE_FILE) -> dict[str, list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return {lang: [r[lang] for r in rows if r.get(lang)] for lang in REFERENCE_LANGS}


def shipped_path(encoder_name: str, kind: str = "reference") -> Path:
    """A file of per-encoder measurements shipped in DATA (reference vectors, int8 peaks)."""
    return DATA / f"{kind}-{re.sub(r'[^A-Za-z0-9.-]+', '_', encoder_name)}.npy"


def reference_vectors(encoder: PassageEncoder) -> dict[str, np.ndarray]:
    """The reference sentences' embeddings per language for this encoder: shipped with viko
    for the default encoder (float16), otherwise computed once per process."""
    with _lock:
        found = _cache.get(encoder.name)
    if found is not None:
        return found
    sentences = reference_sentences()
    count = len(sentences["vi"])
    shipped = shipped_path(encoder.name)
    matrix = np.load(shipped, allow_pickle=False).astype(np.float32) if shipped.exists() else None
    if matrix is None or matrix.shape != (len(REFERENCE_LANGS) * count, encoder.dim):
        matrix = np.concatenate([np.asarray(encoder.encode_passages(sentences[lang]), np.float32)
                                 for lang in REFERENCE_LANGS])
    found = {lang: matrix[i * count : (i + 1) * count] for i, lang in enumerate(REFERENCE_LANGS)}
    with _lock:
        _cache[encoder.name] = found
    return found


def reference_centroids(encoder: PassageEncoder) -> Centroids:
    """The reference centroid of each language for this encoder."""
    return {lang: vecs.mean(axis=0).astype(np.float32) for lang, vecs in reference_vectors(encoder).items()}


def corpus_centroids(sums: np.ndarray, counts: np.ndarray,
                     reference: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Per-language mean embedding (rows in LANGS order) from per-language sums and chunk
    counts; with reference centroids, each mean is shrunk toward its language's reference by
    REFERENCE_WEIGHT, so a collection of a few documents is not centred on its own topic."""
    rows = []
    for i, lang in enumerate(LANGS):
        ref = (reference or {}).get(lang)
        if ref is None or REFERENCE_WEIGHT <= 0:
            rows.append(sums[i] / max(int(counts[i]), 1))
        else:
            rows.append((sums[i] + REFERENCE_WEIGHT * ref) / (counts[i] + REFERENCE_WEIGHT))
    return np.stack(rows).astype(np.float32)


def centroid(vectors: np.ndarray, reference: np.ndarray | None, dim: int,
             weight: float | None = None) -> np.ndarray:
    """The corpus mean of one language's chunk vectors, shrunk toward its reference."""
    weight = REFERENCE_WEIGHT if weight is None else weight
    n = len(vectors)
    if reference is None or weight <= 0:
        return vectors.mean(axis=0).astype(np.float32) if n else np.zeros(dim, np.float32)
    total = vectors.sum(axis=0) if n else np.zeros(dim, np.float32)
    return ((total + weight * reference) / (n + weight)).astype(np.float32)


def query_centroid(lang: str, centroids: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray],
                   present: Sequence[str], dim: int) -> np.ndarray:
    """What to subtract from a query in `lang`: its language's centroid when the index holds
    that language; for any other language its reference moved by the indexed languages'
    mean offset from their references (or, without references, the mean of their centroids)."""
    if lang in present:
        return np.asarray(centroids[lang], np.float32)
    indexed = [k for k in INDEXED_LANGS if k in present]
    if not indexed:
        return np.asarray(reference.get(lang, np.zeros(dim, np.float32)), np.float32)
    mean = np.mean([centroids[k] for k in indexed], axis=0)
    own = reference.get(lang if lang in reference else "en")
    if own is None or any(k not in reference for k in indexed):
        return mean.astype(np.float32)
    offset = mean - np.mean([reference[k] for k in indexed], axis=0)
    return (own + offset).astype(np.float32)


def background(query: np.ndarray, reference: np.ndarray, centroid: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of a centred query's cosine with one language's reference
    sentences, centred like that language's chunks: how close "any text" of the language
    is to this query. A score standardised against it means the same at every corpus size."""
    centred = reference - centroid
    centred = centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
    sims = centred @ query
    return float(sims.mean()), float(max(sims.std(), 1e-6))


def shrunk_stats(sample_mean: float, sample_std: float, n: int, prior: tuple[float, float],
                 weight: float = 0.0) -> tuple[float, float]:
    """A per-query score distribution from n candidates, shrunk toward the background:
    n / (n + weight) of the candidates' own mean and variance."""
    if weight <= 0:
        return sample_mean, sample_std
    a = n / (n + weight)
    mean = a * sample_mean + (1 - a) * prior[0]
    var = a * sample_std**2 + (1 - a) * prior[1] ** 2
    return mean, float(np.sqrt(max(var, 1e-12)))
