"""Operations: `/healthz` for load balancers, `/metrics` for Prometheus, and `viko serve`
stopping gracefully.

- /healthz answers 200 when the index opens and the catalogue takes a write, 503 with the
  reason (and no server path) when either fails, "busy" without waiting when another writer
  holds the catalogue, and never changes the catalogue file;
- /metrics parses with prometheus-client's own parser: requests per route template rise with
  the queries, the latency histogram counts them, the index size, jobs and the crawler's
  outcomes (from a real crawl of the loopback fixture site) are those of the data directory,
  and two apps in one process count apart;
- SIGTERM to `viko serve` lets a search in flight finish with its answer, then the index is
  closed and the process exits 0."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.settings import Settings
from viko.web.app import create_app
from viko.web.localserver import free_port

from fixtures.server import FixtureSite
from helpers import SMALL_DOCS, FakeEncoder

VIKO = Path(sys.executable).with_name("viko")
TESTS = Path(__file__).resolve().parent
CRAWL_ENV = {"VIKO_CRAWL_ALLOW_PRIVATE": "1", "VIKO_CRAWL_TIMEOUT": "0.4", "VIKO_CRAWL_RETRIES": "0",
             "VIKO_CRAWL_WORKERS": "1"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four documents and a crawl of the fixture site, indexed with the fake encoder."""
    folder = tmp_path_factory.mktemp("operations") / "data"
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(d) for d in SMALL_DOCS])
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("VIKO_")}, **CRAWL_ENV}
    with FixtureSite(slow_seconds=0.3) as site:
        crawl = subprocess.run([str(VIKO), "--data", str(folder), "crawl", site.url("/ko/"), "--delay", "0",
                                "--max-depth", "1", "--exclude", "/lich|/slow"], env=env, capture_output=True,
                               text=True, timeout=300, cwd=folder.parent)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda _choice: FakeEncoder())
        from viko.runtime import run_index

        run_index(Settings.from_env(env={}, data_dir=folder))
    return folder


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda _choice: FakeEncoder())

    def make(folder: Path) -> TestClient:
        settings = Settings.from_env(env={}, data_dir=folder, web_rate_per_minute=0, admin_token=METRICS_TOKEN)
        return TestClient(create_app(settings), raise_server_exceptions=False)

    return make


METRICS_TOKEN = "scrape-token-0123456789"  # Prometheus scrapes as an admin (index sizes count hidden documents)


def scrape(client: TestClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/metrics parsed: sample name -> {sorted labels: value}."""
    assert client.get("/metrics").status_code == 401  # not for anyone who can reach the server
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def requests_of(metrics: dict, route: str, status: str = "200") -> float:  # type: ignore[type-arg]
    return metrics.get("viko_http_requests_total", {}).get(
        (("method", "GET"), ("route", route), ("status", status)), 0.0)


def test_healthz_ok_and_the_catalogue_unchanged(data: Path, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(data)
    catalogue = data / "catalogue.sqlite"
    before = catalogue.read_bytes()
    for _ in range(20):
        answer = client.get("/healthz")
        assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok" and body["index"] == "ok" and body["catalogue"] == "ok"
    assert body["generation"] == (data / "index" / "CURRENT").read_text().strip()
    assert client.head("/healthz").status_code == 200
    assert catalogue.read_bytes() == before
    wal = catalogue.with_name("catalogue.sqlite-wal")
    assert not wal.exists() or wal.stat().st_size == 0 or _frames_unchanged(client, wal)


def _frames_unchanged(client: TestClient, wal: Path) -> bool:
    size = wal.stat().st_size
    for _ in range(5):
        client.get("/healthz")
    return wal.stat().st_size == size


def test_healthz_503_without_an_index(tmp_path: Path, make_client) -> None:  # type: ignore[no-untyped-def]
    with Catalogue.open(tmp_path / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(d) for d in SMALL_DOCS])
    answer = make_client(tmp_path).get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable" and "viko index" in body["index"] and body["catalogue"] == "ok"
    assert str(tmp_path) not in answer.text


def test_healthz_503_when_the_catalogue_is_damaged(data: Path, tmp_path: Path, make_client) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    (copy / "catalogue.sqlite").write_bytes(b"this is not a database" * 200)
    answer = make_client(copy).get("/healthz")
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["index"] == "ok" and "catalogue" in body["catalogue"] and "not a database" in body["catalogue"]
    assert str(copy) not in answer.text
    (copy / "catalogue.sqlite").unlink()
    assert make_client(copy).get("/healthz").json()["catalogue"].startswith("no catalogue")


def test_healthz_calls_a_catalogue_with_a_writer_busy_not_down(data: Path, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(data)
    writer = sqlite3.connect(data / "catalogue.sqlite", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        answer = client.get("/healthz")
        waited = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert answer.status_code == 200 and answer.json()["catalogue"] == "busy"
    assert waited < 5


def test_metrics_count_queries_and_read_the_data(data: Path, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(data)
    before = scrape(client)
    for q in ("năng lượng tái tạo", "반도체", "nuôi tôm"):
        assert client.get("/api/search", params={"q": q}).status_code == 200
    assert client.get("/doc/mou-vi").status_code == 200
    assert client.get("/doc/no-such-document").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    after = scrape(client)
    assert requests_of(after, "/api/search") - requests_of(before, "/api/search") == 3
    doc_route = next(dict(k)["route"] for k in after["viko_http_requests_total"] if dict(k)["route"].startswith("/doc/"))
    assert requests_of(after, doc_route) == 1 and requests_of(after, doc_route, "404") == 1  # one label per route
    assert requests_of(after, "unmatched", "404") == 1
    assert requests_of(after, "/metrics") == 1  # the first scrape, counted once it was answered
    hist = after["viko_http_request_duration_seconds_count"]
    assert hist[(("route", "/api/search"),)] == 3
    assert after["viko_http_request_duration_seconds_bucket"][(("le", "+Inf"), ("route", "/api/search"))] == 3

    manifest = json.loads((data / "index" / (data / "index" / "CURRENT").read_text().strip() / "manifest.json")
                          .read_text())
    assert after["viko_index_up"][()] == 1
    assert after["viko_index_documents"][()] == manifest["documents"] >= len(SMALL_DOCS)
    assert {dict(k)["lang"]: v for k, v in after["viko_index_chunks"].items()} == manifest["chunks_by_lang"]
    with sqlite3.connect(data / "catalogue.sqlite") as cat:
        states = dict(cat.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
    assert {dict(k)["state"]: v for k, v in after["viko_jobs"].items()} == {
        s: states.get(s, 0) for s in ("queued", "running", "done", "failed")}
    with sqlite3.connect(data / "catalogue.sqlite") as cat:
        logged = dict(cat.execute("SELECT outcome, COUNT(*) FROM crawl_log GROUP BY outcome").fetchall())
    assert logged and {dict(k)["outcome"]: v for k, v in after["viko_crawl_fetches_total"].items()} == logged


def test_metrics_show_queued_jobs(data: Path, tmp_path: Path, make_client) -> None:  # type: ignore[no-untyped-def]
    from viko.corpus import jobs

    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    with Catalogue.open(copy / "catalogue.sqlite") as cat:
        for kind in ("index", "crawl"):
            jobs.enqueue(cat, kind, "tester")
    metrics = scrape(make_client(copy))  # a TestClient without `with`: no job runner starts
    assert metrics["viko_jobs"][(("state", "queued"),)] == 2


def test_two_apps_in_one_process_count_apart(data: Path, tmp_path: Path, make_client) -> None:  # type: ignore[no-untyped-def]
    one, two = make_client(data), make_client(data)
    for _ in range(2):
        one.get("/api/search", params={"q": "반도체"})
    two.get("/api/search", params={"q": "반도체"})
    assert requests_of(scrape(one), "/api/search") == 2
    assert requests_of(scrape(two), "/api/search") == 1
    empty = make_client(tmp_path)  # no data at all: the scrape still answers
    assert scrape(empty)["viko_index_up"][()] == 0


SLOW_SERVE = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
marker = Path(sys.argv[2])
from helpers import FakeEncoder
import viko.runtime
import viko.search.engine

viko.runtime.cached_encoder = lambda choice: FakeEncoder()
ranking = viko.search.engine.SearchEngine.ranking

def slow_ranking(self, query, *args, **kwargs):
    if "slowly" in query:
        marker.write_text("searching")
        time.sleep(2.5)  # SIGTERM arrives meanwhile
    return ranking(self, query, *args, **kwargs)

viko.search.engine.SearchEngine.ranking = slow_ranking
close = viko.runtime.LiveIndex.close

def closing(self):
    close(self)
    with marker.with_name("closed").open("a") as out:
        out.write("closed\\n")

viko.runtime.LiveIndex.close = closing
from viko.cli import main
main(sys.argv[3:], prog_name="viko")
"""


def test_sigterm_lets_a_running_search_finish_then_closes_the_index(data: Path, tmp_path: Path) -> None:
    port, marker = free_port(), tmp_path / "searching"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("VIKO_")}, "VIKO_WEB_RATE_PER_MINUTE": "0"}
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SERVE, str(TESTS), str(marker), "--data", str(data),
                             "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    base, answer = f"http://127.0.0.1:{port}", {}
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "viko serve did not answer /healthz in 120 s"
            try:
                if httpx.get(base + "/healthz", timeout=10).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)

        def search() -> None:
            answer["r"] = httpx.get(base + "/api/search", params={"q": "slowly năng lượng"}, timeout=60)

        asking = threading.Thread(target=search, daemon=True)
        asking.start()
        while not marker.exists():
            assert asking.is_alive() and time.monotonic() < deadline, "the search never started"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        asking.join(30)
        # uvicorn exits by raising the signal again once it has shut down: what a supervisor expects
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert answer["r"].status_code == 200 and answer["r"].json()["hits"], answer["r"].text
    assert (tmp_path / "closed").read_text().count("closed") >= 1  # the shutdown hook closed the index
    assert "Traceback" not in log.read_text()
