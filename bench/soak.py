"""Soak: `viko serve` on the demo corpus under steady load while the data keeps changing.

The demo corpus is imported and indexed into a fresh temporary data directory (`viko import`,
`viko index`, as an operator would), then served by `viko serve` on 127.0.0.1 only. For
VIKO_SOAK_SECONDS (default 600) four client threads issue a mix of searches, document pages,
status, concordance and match requests, and every minute a small batch of new documents is
imported and `viko index` runs (alignment and mining included). Per minute: requests, errors
(any 5xx or connection error), latency p50/p95, and the server's resident memory, open file
descriptors and memory-mapped files that were deleted (replaced index generations), read from
/proc. A healthy run shows no errors and flat memory and open files.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.demo_data import DEMO, demo_queries
from bench.report import table, write_section
from bench.web import pct, wait_ready
from viko.web.localserver import free_port

CLIENTS = 4
BATCH_DOCS = 4  # new documents per minute
HOST = "127.0.0.1"  # loopback only


def soak_seconds() -> float:
    return float(os.environ.get("VIKO_SOAK_SECONDS", "600"))


def viko(data: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("viko"))
    run = subprocess.run([exe, "--data", str(data), *args], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if run.returncode != 0:
        raise RuntimeError(f"viko {' '.join(args)} failed ({run.returncode}): {(run.stdout + run.stderr)[-2000:]}")
    return run


@dataclass(frozen=True)
class Sample:
    """The server process at one moment, from /proc."""

    rss_kb: int
    fds: int
    live_fds: int  # descriptors on files of the live generation's segments
    stale_fds: int  # on files of any other segment (replaced generations)
    deleted_maps: int  # deleted files still memory-mapped
    live_segments: int


EMPTY = Sample(0, 0, 0, 0, 0, 0)


@dataclass
class Minute:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    client_errors: int = 0  # 4xx: counted, not errors of the server
    samples: list[Sample] = field(default_factory=list)
    index_seconds: float = 0.0
    index_failed: str = ""


class Soak:
    def __init__(self, data: Path, port: int, seconds: float, period: float) -> None:
        self.data, self.base, self.seconds, self.period = data, f"http://{HOST}:{port}", seconds, period
        self.started = 0.0
        self.minutes: list[Minute] = [Minute() for _ in range(max(1, int(-(-seconds // period))))]
        self.lock = threading.Lock()
        self.stop = threading.Event()
        docs = [json.loads(line) for line in (DEMO / "demo.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        self.demo_docs = docs
        self.doc_ids = [d["id"] for d in docs]
        self.queries = [q for q, _, _ in demo_queries()]
        words = {w for q in self.queries for w in q.split() if len(w) > 2}
        self.phrases = sorted(words)[:60] or ["hợp tác"]
        self.records: list[str] = []

    def minute(self) -> Minute:
        at = int((time.monotonic() - self.started) // self.period)
        return self.minutes[min(at, len(self.minutes) - 1)]

    # -- clients -------------------------------------------------------------------------
    def request(self, rng: random.Random) -> tuple[str, dict[str, str]]:
        kind = rng.choices(["search", "doc", "status", "concordance", "match"], weights=[5, 3, 1, 2, 1])[0]
        if kind == "search":
            return "/api/search", {"q": rng.choice(self.queries)}
        if kind == "doc":
            path = rng.choice(["/doc/", "/api/doc/"]) + rng.choice(self.doc_ids)
            return path, {"q": rng.choice(self.queries)} if rng.random() < 0.5 else {}
        if kind == "status":
            return rng.choice(["/api/status", "/status"]), {}
        if kind == "concordance":
            return "/api/concordance", {"q": rng.choice(self.phrases)}
        if self.records:
            return "/api/match/" + rng.choice(self.records), {}
        return "/api/matching", {}

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=self.base, timeout=60) as http:
            while not self.stop.is_set():
                path, params = self.request(rng)
                started = time.perf_counter()
                try:
                    status = http.get(path, params=params).status_code
                except httpx.HTTPError:
                    status = 0  # connection refused, reset, timed out
                ms = (time.perf_counter() - started) * 1000
                with self.lock:
                    minute = self.minute()
                    minute.latencies.append(ms)
                    if status == 0 or status >= 500:
                        minute.errors += 1
                    elif status >= 400:
                        minute.client_errors += 1

    # -- the server's resources ----------------------------------------------------------
    def sampler(self, pid: int) -> None:
        while not self.stop.wait(2.0):
            try:
                sample = server_files(pid, self.data / "index")
            except (OSError, ValueError, KeyError):
                continue
            with self.lock:
                self.minute().samples.append(sample)

    # -- changing data -------------------------------------------------------------------
    def feeder(self) -> None:
        batch = 0
        while not self.stop.wait(max(0.0, self.started + (batch + 1) * self.period - time.monotonic() - 1)):
            if time.monotonic() - self.started > self.seconds - 5:
                return
            minute = self.minute()
            path = self.data.parent / f"batch-{batch}.jsonl"
            path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in self.new_docs(batch)),
                            encoding="utf-8")
            started = time.perf_counter()
            try:
                viko(self.data, "import", str(path))
                viko(self.data, "index", "--wait", "60")
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                minute.index_failed = str(exc)[:200]
            minute.index_seconds += time.perf_counter() - started
            batch += 1

    def new_docs(self, batch: int) -> list[dict[str, object]]:
        """BATCH_DOCS documents new to the corpus: demo texts rewritten enough not to be
        (near) duplicates of what is stored."""
        rng = random.Random(1000 + batch)
        out = []
        for i in range(BATCH_DOCS):
            src = rng.choice(self.demo_docs)
            sentences = [s for s in str(src["text"]).replace("\n", " ").split(". ") if s]
            rng.shuffle(sentences)
            other = rng.choice(self.demo_docs)
            text = f"Bản tin {batch}-{i}. " + ". ".join(sentences) + ". " + str(other["text"])[:300]
            out.append({"id": f"soak-{batch}-{i}", "lang": src.get("lang", ""), "title": f"{src.get('title', '')} ({batch}-{i})",
                        "text": text, "type": src.get("type", "news"), "date": "2025-06-01", "source": "soak"})
        return out

    def run(self, pid: int) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as http:
            wait_ready(http)
            listing = http.get("/api/matching")
            if listing.status_code == 200:
                self.records = [r["id"] for r in listing.json().get("records", [])][:50]
        self.started = time.monotonic()
        threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(CLIENTS)]
        threads += [threading.Thread(target=self.sampler, args=(pid,), daemon=True),
                    threading.Thread(target=self.feeder, daemon=True)]
        for t in threads:
            t.start()
        reported = 0
        while (elapsed := time.monotonic() - self.started) < self.seconds:
            time.sleep(1)
            if elapsed // self.period > reported:
                reported = int(elapsed // self.period)
                with self.lock:
                    done = self.minutes[reported - 1]
                    last = done.samples[-1] if done.samples else EMPTY
                    print(f"  soak: minute {reported}: {len(done.latencies)} requests, {done.errors} errors, "
                          f"RSS {last.rss_kb / 1024:.0f} MB, {last.fds} fds ({last.live_fds} on the live index, "
                          f"{last.stale_fds} on replaced segments), {last.deleted_maps} deleted maps",
                          file=sys.stderr, flush=True)
        self.stop.set()
        for t in threads:
            t.join(timeout=600)


def server_files(pid: int, index_root: Path) -> Sample:
    """Resident memory, open descriptors (each memory map of a file holds one: Python's mmap
    keeps a descriptor) split by what they point at, and deleted files still mapped."""
    rss = 0
    with open(f"/proc/{pid}/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    gen = index_root / (index_root / "CURRENT").read_text(encoding="utf-8").strip()
    live = set(json.loads((gen / "manifest.json").read_text(encoding="utf-8"))["segments"])
    segments = str(index_root / "segments") + "/"
    fds = live_fds = stale_fds = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        fds += 1
        if target.startswith(segments):
            if target[len(segments):].split("/", 1)[0] in live:
                live_fds += 1
            else:
                stale_fds += 1
    with open(f"/proc/{pid}/maps", encoding="utf-8") as fh:
        deleted = {line.split(maxsplit=5)[5].strip() for line in fh if line.rstrip().endswith("(deleted)")}
    return Sample(rss, fds, live_fds, stale_fds, len(deleted), len(live))


def report(soak: Soak, build_seconds: float) -> str:
    rows: list[list[object]] = []
    for n, m in enumerate(soak.minutes, 1):
        last = m.samples[-1] if m.samples else EMPTY
        peak = max((s.rss_kb for s in m.samples), default=0)
        rows.append([n, len(m.latencies), m.errors, m.client_errors,
                     f"{pct(m.latencies, 0.5):.0f}" if m.latencies else "-",
                     f"{pct(m.latencies, 0.95):.0f}" if m.latencies else "-",
                     f"{last.rss_kb / 1024:.0f}", f"{peak / 1024:.0f}", last.fds,
                     f"{last.live_fds} ({last.live_segments})", last.stale_fds, last.fds - last.live_fds - last.stale_fds,
                     last.deleted_maps,
                     (f"{m.index_seconds:.0f}" if m.index_seconds else "-") + (" (failed)" if m.index_failed else "")])
    total = sum(len(m.latencies) for m in soak.minutes)
    errors = sum(m.errors for m in soak.minutes)
    ends = [m.samples[-1] for m in soak.minutes if m.samples]
    rss = [s.rss_kb / 1024 for s in ends]
    other = [s.fds - s.live_fds - s.stale_fds for s in ends]
    stale = max((s.stale_fds for m in soak.minutes for s in m.samples), default=0)
    maps = max((s.deleted_maps for m in soak.minutes for s in m.samples), default=0)
    failed = [m.index_failed for m in soak.minutes if m.index_failed]
    return "\n".join([
        "## Soak: serving while the data changes",
        "",
        f"`python -m bench.run soak`: the demo corpus ({len(soak.doc_ids)} documents) imported and indexed into a fresh "
        f"data directory ({build_seconds:.0f} s), served by `viko serve` on 127.0.0.1 for {soak.seconds / 60:.0f} min "
        f"(VIKO_SOAK_SECONDS) to {CLIENTS} client threads issuing searches, document pages, status, concordance "
        f"and match requests (weights 5:3:1:2:1) back to back, while every {soak.period:.0f} s {BATCH_DOCS} new "
        "documents are imported (`viko import`) and `viko index` runs (new segment, counterparts, alignment, "
        "mining). Per minute: requests, errors (5xx or connection errors), 4xx answers, latency, and the server "
        "process's resident memory, open descriptors and deleted files still mapped (replaced index "
        "generations), from /proc. Each file the server maps holds a descriptor (Python's mmap keeps one), "
        "so descriptors on the live index follow its segments (one more a minute, one after a merge); those on "
        "replaced segments, the other descriptors and the deleted files still mapped are what must stay flat.",
        "",
        table(["minute", "requests", "errors", "4xx", "p50 ms", "p95 ms", "RSS MB (end)", "RSS MB (peak)",
               "open fds (end)", "on the live index (segments)", "on replaced segments", "other fds",
               "deleted files mapped", "import + index s"], rows),
        "",
        f"{total} requests, {errors} errors; resident memory {min(rss, default=0):.0f}-{max(rss, default=0):.0f} MB, "
        f"descriptors other than the index's {min(other, default=0)}-{max(other, default=0)} at the end of each "
        f"minute; in any sample (every 2 s) at most {stale} descriptors on replaced segments (the generation "
        f"just replaced, until the server's next request moves to the new one) and {maps} deleted files mapped"
        + (f"; index runs failed: {failed}" if failed else "") + ".",
    ])


def run() -> None:
    seconds = soak_seconds()
    period = 60.0 if seconds >= 180 else max(10.0, seconds / 3)  # short runs (tests) still see changes
    with tempfile.TemporaryDirectory(prefix="viko-soak-") as folder:
        data = Path(folder) / "data"
        started = time.perf_counter()
        viko(data, "import", str(DEMO / "demo.jsonl"))
        viko(data, "index")
        build_seconds = time.perf_counter() - started
        port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "VIKO_WEB_RATE_PER_MINUTE": "0", "VIKO_WEB_CONCURRENT_PER_CLIENT": "0"}
        exe = str(Path(sys.executable).with_name("viko"))
        with open(Path(folder) / "serve.log", "wb") as serve_log:
            server = subprocess.Popen([exe, "--data", str(data), "serve", "--host", HOST, "--port", str(port)],
                                      env=env, stdout=subprocess.DEVNULL, stderr=serve_log)
            try:
                soak = Soak(data, port, seconds, period)
                soak.run(server.pid)
            finally:
                server.terminate()
                server.wait(30)
        text = report(soak, build_seconds)
        log = (Path(folder) / "serve.log").read_text(encoding="utf-8", errors="replace")
    print(text)
    tracebacks = log.count("Traceback")
    if tracebacks:
        print(f"server log: {tracebacks} tracebacks; last lines:\n{log[-3000:]}", file=sys.stderr)
    write_section("soak", text)


if __name__ == "__main__":
    run()
