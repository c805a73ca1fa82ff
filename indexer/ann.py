"""Nearest-neighbour search per language and segment: exact below a size, HNSW above it.

Exact search (IndexFlatIP) costs ~145 ms per query over 1M 384-d vectors on the 2 cores, so
big segments get an HNSW graph; small ones stay exact, which is both faster to build and
perfect in recall. The recall of the HNSW settings below against exact search is measured on
real embeddings by `make bench-scale` (docs/benchmarks.md, section scale).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

# Segments of fewer vectors of one language than this are searched exactly (a named setting,
# VIKO_ANN_THRESHOLD): exact search over 1M 384-d vectors takes ~145 ms on a quiet 2-core
# machine, ~3 ms at 20k; with 50k the 100k-passage bench spent ~100 ms of its query in exact
# search on the loaded machine, where HNSW took ~1 ms. Small segments need no graph build.
ANN_THRESHOLD = 20_000
# HNSW graph degree and build/search beams, measured against exact search on the bench-scale
# corpora (real sentence vectors, docs/benchmarks.md "scale"): efConstruction=80 gave recall@10
# 0.984 at 82k passages with efSearch=128, but only 0.88 over the 594k Vietnamese vectors of the
# 1M corpus (0.95 at efSearch=512). On a 200k sample of those vectors efConstruction=200 took
# 1.9x the graph build time and lifted recall@10 from 0.923/0.953/0.970 to 0.950/0.977/0.985 at
# efSearch 128/256/512 (2.1 and 2.9 ms per search on the loaded machine). Graphs above
# LARGE_GRAPH vectors search with at least LARGE_GRAPH_EF_SEARCH: on the 1M bench index (8-bit
# graphs, rescored), with dev queries only (XQuAD dev questions, the demo corpus's Korean
# sentences), the 606k Vietnamese vectors gave recall@10 0.993 at efSearch 256 and 0.995 from
# 512 on, but the 294k Korean ones (tax-ruling boilerplate: dense clusters) 0.938 / 0.977 /
# 0.988 / 0.990 at 256 / 512 / 768 / 1024, for 2.1 / 4.0 / 5.5 / 5.7 ms per search.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256
LARGE_GRAPH = 100_000
LARGE_GRAPH_EF_SEARCH = 768
ADD_BATCH = 20_000  # vectors per add() call, so a long graph build can report progress
# Graph storage: 8-bit scalar quantisation (one byte per dimension against four), so the pages a
# graph walk touches, and the file, are a quarter of a float graph's: at 1M passages the float
# graphs were 1.5 GB of the 4.7 GB peak RSS of a querying process. Quantised distances only
# steer the walk; its candidates are rescored from the float vectors (`search`), so scores
# are exact. On 200k Vietnamese bench-scale passages (60 XQuAD dev questions, efSearch 256 and
# 512) recall@10 was 1.000 for the float graph and 0.992 for the 8-bit one before rescoring,
# 1.000 after; the 8-bit graph built in 150 s against 209 s. SQ_TRAIN_SAMPLE vectors, spread
# over the segment, set the per-dimension ranges.
SQ_TRAIN_SAMPLE = 65_536
# An approximate graph returns at least this many candidates to rescore, so that its top 10
# after rescoring are those of an exact walk even where quantisation reorders near-ties.
RESCORE_POOL = 100

# A walk under a selector (`search`, `allowed`): on the 1M bench index, random masks of 5k / 20k /
# 60k of the 606k Vietnamese vectors gave recall@10 (against exact search over the allowed ones)
# 0.70 / 0.89 / 0.89 with the usual beam of 768, 0.93 / 0.98 / 0.99 at 3,072 and 0.99 at 6,144
# (9, 40 and 80 ms). With a beam of k / share (at least 768, at most 8 x), masks of the documents of a
# type (15%), a date range (33%) and a 4% sample gave recall@10 0.980 / 0.968 / 0.997 where the
# over-fetch it replaces (k / share x 2 unfiltered neighbours, then filtered) gave 0.963 / 0.968 /
# 0.905, in less time; twice that beam 0.990 / 0.982 / 0.997 for up to twice the time.
FILTERED_BEAM_OVERSHOOT = 1
MAX_BEAM_FACTOR = 8
# (phase, done, total): how building an index reports its progress (build, segments, merge, here).
Progress = Callable[[str, int, int], None]


def build_dense(n: int, dim: int, block: Callable[[int, int], np.ndarray], threshold: int = ANN_THRESHOLD,
                progress: Progress | None = None) -> faiss.Index:
    """An inner-product index over n centred, normalised vectors, given block by block (so the
    vectors are never all in memory twice); positions are local ids."""
    if n < threshold:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]  # the stubs type QT_8bit as int
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.train(_training_sample(n, block))
    for start in range(0, n, ADD_BATCH):
        index.add(np.ascontiguousarray(block(start, min(start + ADD_BATCH, n)), dtype=np.float32))
        if progress and n >= threshold:
            progress("ANN graph", min(start + ADD_BATCH, n), n)
    return index


def _training_sample(n: int, block: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """Up to SQ_TRAIN_SAMPLE vectors in 16 runs spread over the rows (rows are in document
    order, so one run from the start would see the oldest documents only)."""
    run = max(1, min(n, SQ_TRAIN_SAMPLE) // 16)
    starts = np.linspace(0, n - run, 16).astype(np.int64)
    return np.ascontiguousarray(np.concatenate([block(int(lo), int(lo) + run) for lo in np.unique(starts)]),
                                dtype=np.float32)


def is_graph(index: faiss.Index) -> bool:
    """Whether searching the index walks a graph (milliseconds) rather than scanning a few
    thousand vectors exactly (well under one)."""
    return isinstance(index, faiss.IndexHNSW)


def is_approximate(index: faiss.Index) -> bool:
    """Whether the index's scores are approximate (quantised storage) and need rescoring."""
    return isinstance(index, faiss.IndexHNSW) and not isinstance(index, faiss.IndexHNSWFlat)


def search(index: faiss.Index, query: np.ndarray, k: int, exact: Callable[[np.ndarray], np.ndarray],
           allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores, positions) of the k nearest vectors to one query (1 x dim), best first.

    A quantised graph's candidates (at least RESCORE_POOL) are rescored with `exact(positions)`,
    their float vectors, so the scores are those of an exact search over the candidates.
    `allowed` (a mask over positions): only those are returned; a graph walk still passes
    through the others, with a beam that widens as fewer are allowed (`filtered_beam`)."""
    params = None
    if allowed is not None:
        bitmap = np.packbits(allowed, bitorder="little")  # referenced until the search returns
        selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
        # faiss's type stubs lack the SWIG keyword constructors these classes have
        params = (faiss.SearchParametersHNSW(sel=selector, efSearch=filtered_beam(index.hnsw.efSearch, k, allowed))  # type: ignore[attr-defined]
                  if isinstance(index, faiss.IndexHNSW) else faiss.SearchParameters(sel=selector))  # type: ignore[call-arg]
    if not is_approximate(index):
        scores, pos = index.search(query, k, params=params)
        keep = pos[0] >= 0
        return scores[0][keep], pos[0][keep]
    _, pos = index.search(query, min(max(k, RESCORE_POOL), index.ntotal), params=params)
    pos = pos[0][pos[0] >= 0]
    scores = exact(pos) @ query[0]
    order = np.argsort(-scores, kind="stable")[:k]
    return scores[order].astype(np.float32), pos[order]


def filtered_beam(ef_search: int, k: int, allowed: np.ndarray) -> int:
    """The beam of a graph walk that returns only allowed positions: wide enough to meet
    about FILTERED_BEAM_OVERSHOOT x k allowed ones, at least the usual beam and at most
    MAX_BEAM_FACTOR x it."""
    share = max(float(np.count_nonzero(allowed)) / max(len(allowed), 1), 1e-9)
    wanted = int(np.ceil(FILTERED_BEAM_OVERSHOOT * k / share))
    return min(max(ef_search, wanted), MAX_BEAM_FACTOR * ef_search)


def read_dense(path: Path, ef_search: int = HNSW_EF_SEARCH) -> faiss.Index:
    """Read as written; flat storage is memory-mapped rather than copied."""
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = ef_search_for(index.ntotal, ef_search)
    return index


def ef_search_for(vectors: int, ef_search: int = HNSW_EF_SEARCH) -> int:
    """The search beam of a graph of this many vectors (see LARGE_GRAPH)."""
    return max(ef_search, LARGE_GRAPH_EF_SEARCH if vectors > LARGE_GRAPH else 0)


def write_dense(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))
