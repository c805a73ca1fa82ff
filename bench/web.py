"""The web UI on the demo corpus: search-page server time, page weight, and 20 concurrent
clients for 30 s at 1 and at 2 worker processes (`viko serve --workers N`), all over HTTP on
127.0.0.1 against `viko serve` in its own process."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.demo_data import demo_queries, demo_settings
from bench.report import table, write_section
from viko.web.localserver import free_port

CLIENTS = 20
SECONDS = 30.0
FACET_CLICKS = [{}, {"lang": "vi"}, {"lang": "ko"}, {"type": "agreement"}, {"sort": "date"}, {"page": "2"},
                {"lang": "vi", "type": "news"}]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(data_dir: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    viko = str(Path(sys.executable).with_name("viko"))
    # 20 clients on one address measure the server, not the per-client limit: turn it off.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VIKO_WEB_RATE_PER_MINUTE": "0", "VIKO_WEB_CONCURRENT_PER_CLIENT": "0"}
    return subprocess.Popen([viko, "--data", str(data_dir), "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def warm_workers(base: str, workers: int) -> list[int]:
    """Every worker's pid, each after answering every demo query once on its own connection (a
    new connection goes to any worker), so each starts the load with its ranking cache as warm
    as the single process's."""
    seen: list[int] = []
    deadline = time.time() + 180
    while len(seen) < workers and time.time() < deadline:
        with httpx.Client(base_url=base, timeout=60) as client:
            pid = int(client.get("/api/status").json()["pid"])
            if pid not in seen:
                seen.append(pid)
                for q, _, _ in demo_queries():
                    client.get("/", params={"q": q}).raise_for_status()
    if len(seen) < workers:
        raise RuntimeError(f"only {len(seen)} of {workers} workers answered")
    return seen


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    return kb / 1024


def wait_ready(client: httpx.Client) -> None:
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if client.get("/", params={"q": "khởi động"}).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("viko serve did not start")


def fresh_queries() -> list[str]:
    """Distinct queries never seen by the server: the demo queries, then each without its
    last word, then each without its first word."""
    base = [q for q, _, _ in demo_queries()]
    shorter = [" ".join(q.split()[:-1]) for q in base if len(q.split()) > 2]
    later = [" ".join(q.split()[1:]) for q in base if len(q.split()) > 2]
    return list(dict.fromkeys(base + shorter + later))


def timed(client: httpx.Client, path: str, params: dict[str, str]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000, response


def page_times(client: httpx.Client) -> dict[str, list[float]]:
    new, refine, docs = [], [], []
    for q in fresh_queries():
        ms, _ = timed(client, "/", {"q": q})
        new.append(ms)
    for q, _, relevant in demo_queries():
        for click in FACET_CLICKS[1:]:
            refine.append(timed(client, "/", {"q": q, **click})[0])
        docs.append(timed(client, f"/doc/{sorted(relevant)[0]}", {"q": q})[0])
    return {"new query": new, "facet / sort / page click": refine, "document page (from a result)": docs}


def page_weight(client: httpx.Client) -> list[list[object]]:
    css = len(client.get("/static/style.css").content)
    js = len(client.get("/static/app.js").content)
    search = max(len(client.get("/", params={"q": q}).content) for q, _, _ in demo_queries())
    docs = max(len(client.get(f"/doc/{sorted(r)[0]}", params={"q": q}).content) for q, _, r in demo_queries())
    return [["search page (largest of the demo queries)", search, css, js, round((search + css + js) / 1024, 1)],
            ["document page (largest)", docs, css, js, round((docs + css + js) / 1024, 1)]]


async def _client(base: str, stop: float, seed: int, out: list[float], errors: list[str]) -> None:
    rng = random.Random(seed)
    queries = [(q, sorted(r)) for q, _, r in demo_queries()]
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        n = 0
        while time.perf_counter() < stop:
            q, relevant = rng.choice(queries)
            roll = rng.random()
            if roll < 0.1:
                path, params = f"/doc/{rng.choice(relevant)}", {"q": q}
            elif roll < 0.2:  # a query nobody asked before: the full ranking runs
                path, params = "/", {"q": f"{q} {seed}x{n}"}
            else:
                path, params = "/", {"q": q, **rng.choice(FACET_CLICKS)}
            n += 1
            started = time.perf_counter()
            try:
                response = await client.get(path, params=params)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {path}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__} {path}")
            out.append((time.perf_counter() - started) * 1000)


async def load(base: str) -> tuple[list[float], list[str], float]:
    timings: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    stop = started + SECONDS
    await asyncio.gather(*(_client(base, stop, i, timings, errors) for i in range(CLIENTS)))
    return timings, errors, time.perf_counter() - started


@dataclass(frozen=True)
class Measured:
    """One server's run: its worker count, the load test, the machine's 1-minute load average
    before it, each worker's resident memory after it; page times and weights for one process."""

    workers: int
    timings: list[float]
    errors: list[str]
    elapsed: float
    loadavg: float
    rss_mb: list[float]
    times: dict[str, list[float]] = field(default_factory=dict)
    weight: list[list[object]] = field(default_factory=list)

    def load_row(self) -> list[object]:
        t = self.timings
        return [self.workers, CLIENTS, f"{self.elapsed:.0f}", len(t), len(self.errors), f"{len(t) / self.elapsed:.1f}",
                f"{statistics.median(t):.1f}", f"{pct(t, 0.95):.1f}", f"{pct(t, 0.99):.1f}", f"{max(t):.1f}",
                f"{statistics.mean(self.rss_mb):.0f}"]


def measure(data_dir: Path, workers: int) -> Measured:
    """A server with `workers` processes: the page times and weights (one process only), then the load."""
    port = free_port()
    server = start_server(data_dir, port, workers)
    base = f"http://127.0.0.1:{port}"
    times: dict[str, list[float]] = {}
    weight: list[list[object]] = []
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            wait_ready(client)
            if workers == 1:
                times, weight = page_times(client), page_weight(client)
        pids = warm_workers(base, workers)
        loadavg = os.getloadavg()[0]
        timings, errors, elapsed = asyncio.run(load(base))
        rss = [rss_mb(pid) for pid in pids]
    finally:
        server.terminate()
        server.wait(timeout=60)
    return Measured(workers, timings, errors, elapsed, loadavg, rss, times, weight)


def run() -> None:
    data_dir = Path(demo_settings().data_dir)
    runs = [measure(data_dir, workers) for workers in (1, 2)]
    times, weight = runs[0].times, runs[0].weight
    rows = [[name, len(v), f"{statistics.median(v):.1f}", f"{pct(v, 0.95):.1f}", f"{max(v):.1f}"]
            for name, v in times.items()]
    every = [t for v in times.values() for t in v]
    rows.append(["all of the above", len(every), f"{statistics.median(every):.1f}", f"{pct(every, 0.95):.1f}",
                 f"{max(every):.1f}"])
    loads = " and ".join(f"{m.loadavg:.2f}" for m in runs)
    md = ("## Web UI (demo corpus, `viko serve` over HTTP on 127.0.0.1)\n\n"
          "Server time of HTML pages, one request at a time, measured by the client on loopback "
          "(rendering included). \"New query\": a query the server has not seen (the 24 demo queries "
          "and shortened variants), so encoding, ranking and the relevance floor all run. Clicks on "
          "facets, sort and pages reuse the ranked list of that query. Targets: median < 60 ms, "
          "p95 < 150 ms.\n\n"
          + table(["page", "requests", "median ms", "p95 ms", "max ms"], rows)
          + "\n\nPage weight without images (bytes; the CSS and JS are the only other files a page loads). "
          "Target < 100 KB.\n\n"
          + table(["page", "HTML", "CSS", "JS", "total KB"], weight)
          + f"\n\n{CLIENTS} concurrent clients for {SECONDS:.0f} s (asyncio + httpx, one process): 80% demo queries "
          "with a random facet, sort or page choice (or none), 10% document pages, 10% never-seen queries; "
          "against one server process, then against `viko serve --workers 2`, one after the other in the same "
          "run. Before the load, each worker answers every demo query once. The clients run on the same "
          f"machine as the server, and the machine is shared (1-minute load average before each load: {loads}), "
          "so the figures are noisy. RSS: each worker's resident memory after the load.\n\n"
          + table(["workers", "clients", "seconds", "requests", "errors", "requests/s", "p50 ms", "p95 ms",
                   "p99 ms", "max ms", "RSS MB per worker"], [m.load_row() for m in runs]))
    errors = sorted({e for m in runs for e in m.errors})
    if errors:
        md += "\n\nErrors: " + ", ".join(errors[:10])
    write_section("web", md)
    print(md)
