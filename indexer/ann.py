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
# LARGE_GRAPH vectors search with at least LARGE_GRAPH_EF_SEARCH.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256
LARGE_GRAPH = 300_000
LARGE_GRAPH_EF_SEARCH = 512
ADD_BATCH = 20_000  # vectors per add() call, so a long graph build can report progress

Progress = Callable[[str, int, int], None]


def build_dense(n: int, dim: int, block: Callable[[int, int], np.ndarray], threshold: int = ANN_THRESHOLD,
                progress: Progress | None = None) -> faiss.Index:
    """An inner-product index over n centred, normalised vectors, given block by block (so the
    vectors are never all in memory twice); positions are local ids."""
    if n < threshold:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    for start in range(0, n, ADD_BATCH):
        index.add(np.ascontiguousarray(block(start, min(start + ADD_BATCH, n)), dtype=np.float32))
        if progress and n >= threshold:
            progress("ANN graph", min(start + ADD_BATCH, n), n)
    return index


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
