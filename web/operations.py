"""For the people and machines that run viko: `/healthz` for load balancers and `/metrics` in
the Prometheus text format.

- `/healthz` (GET or HEAD): 200 and a small JSON when the live index opens and the catalogue
  takes a write (`BEGIN IMMEDIATE` then `ROLLBACK`: the write lock is taken and given back, the
  file does not change); 503 and the reason otherwise. A catalogue busy with another writer
  (an import) counts as healthy: it is working, and search does not wait for it. No path of
  the server is shown.
- `/metrics`: requests per route template (`/doc/{doc_id}`, not each id: the label set stays
  small), method and status; a latency histogram per route; the live index (documents, chunks
  per language, generation number, age); background jobs by state (corpus/jobs.py); the
  crawler's fetch outcomes. Each app
  has its own `CollectorRegistry` (prometheus-client), so several apps in one process keep
  their own counts; the index and crawl figures are read when scraped.

The requests are counted by web/observe.py's RequestLog, which calls the observers the app
lists (`observe_requests`): refused and failed requests count too. With `viko serve --workers N`
a scrape lands on one worker, so each worker also keeps its request counts in a file,
`run/metrics/<serve pid>/<worker pid>.json` in the data directory (replaced atomically within
FLUSH_SECONDS of a request, and when the worker stops), and /metrics answers with the sum over
every worker this `viko serve` has run: its own counts as they are, the others' as last
written. A worker that exited keeps its share of the totals, so they only grow while the server
runs; `viko_worker_up{pid}` says which workers are running (1) or gone (0). The folder goes
when `viko serve` stops (and a stale one of a killed server when the next one starts).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from calendar import timegm
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from pydantic import BaseModel
from starlette.types import Scope

from viko.corpus import jobs
from viko.corpus.frontier import log_outcomes
from viko.indexer.manifest import MANIFEST_FILE, Manifest
from viko.indexer.store import current_generation
from viko.runtime import live_index
from viko.settings import Settings
from viko.web.observe import observe_requests
from viko.web.services import Services
from viko.web.shared import Web

log = logging.getLogger("viko.web")
PROBE_TIMEOUT = 1.0  # seconds the write probe waits for another writer before calling it busy
# Request latency buckets, seconds: pages answer in milliseconds, a cold index or an export in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds a worker's counts may lag in the others' /metrics: a burst of requests is one write.
FLUSH_SECONDS = 0.2
COUNTS_FORMAT = 1  # the version of a worker's counts file


class Health(BaseModel):
    status: str  # "ok" or "unavailable"
    index: str  # "ok" or why it cannot be opened
    catalogue: str  # "ok", "busy" (another writer holds it) or why it cannot be written
    generation: str = ""  # the live one (its size is in /metrics, as the status page shows it to admins)


def _hide(settings: Settings, message: str) -> str:
    """A reason without the server's paths (the data directory is nobody else's business)."""
    for path in {str(Path(settings.data_dir).absolute()), str(settings.data_dir)}:
        message = message.replace(path, "<data>")
    return message


def index_health(settings: Settings) -> tuple[str, str]:
    """("ok", generation) when the live index opens, else (why, "")."""
    try:
        index = live_index(settings).get()
    except Exception as exc:  # UnusableIndex, or a file the index cannot read: either way not serving
        return _hide(settings, str(exc) or type(exc).__name__), ""
    try:
        return "ok", index.folder.name
    finally:
        del index  # the request must not keep a replaced generation open (runtime.LiveIndex)


def catalogue_health(settings: Settings) -> str:
    """"ok" when the catalogue takes a write lock, "busy" when another writer holds it, else why."""
    path = Path(settings.catalogue_path).absolute()
    if not path.is_file():
        return "no catalogue yet: run `viko import` or `viko add`"
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=PROBE_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        return _hide(settings, f"cannot open the catalogue: {exc}")
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # a damaged file fails here
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return "ok"
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return "busy"
        return _hide(settings, f"the catalogue cannot be written: {exc}")
    except sqlite3.Error as exc:
        return _hide(settings, f"the catalogue cannot be read: {exc}")
    finally:
        conn.close()


def health(settings: Settings) -> Health:
    index, generation = index_health(settings)
    catalogue = catalogue_health(settings)
    ok = index == "ok" and catalogue in ("ok", "busy")
    return Health(status="ok" if ok else "unavailable", index=index, catalogue=catalogue,
                  generation=generation)


def route_of(scope: Scope) -> str:
    """The route template that answered (`/doc/{doc_id}`), or "unmatched" (a 404, a refusal
    before routing): a label with a bounded set of values."""
    route = scope.get("route")
    return str(getattr(route, "path", "")) or "unmatched"


class Metrics:
    """One app's metrics: request counters kept here (and, in a worker of `viko serve
    --workers N`, summed with the other workers'), data figures read at each scrape."""

    def __init__(self, settings: Settings, services: Services) -> None:
        self.registry = CollectorRegistry()
        shared = settings.web_workers > 1
        self.requests = Counter("viko_http_requests", "HTTP requests answered, by route template, method and status"
                                + (", summed over the worker processes" if shared else ""),
                                ["route", "method", "status"], registry=None)
        self.latency = Histogram("viko_http_request_duration_seconds", "Time to answer a request, by route template"
                                 + (", over every worker process" if shared else ""),
                                 ["route"], buckets=LATENCY_BUCKETS, registry=None)
        # a worker's parent is the `viko serve` process (web/serving.py)
        self.counts = WorkerCounts(counts_folder(settings, os.getppid()), [self.requests, self.latency]) \
            if shared else None
        for collector in [self.counts] if self.counts else [self.requests, self.latency]:
            self.registry.register(collector)
        self.registry.register(DataCollector(settings, services))

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_of(scope)
        self.requests.labels(route, str(scope.get("method", "")), str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if self.counts is not None:
            self.counts.changed()

    def render(self) -> bytes:
        return generate_latest(self.registry)


Samples = list[tuple[str, dict[str, str], float]]


def counts_folder(settings: Settings, serve_pid: int) -> Path:
    """Where the workers of one `viko serve` keep their request counts."""
    return settings.run_root / "metrics" / str(serve_pid)


def clear_counts(settings: Settings, serve_pid: int) -> None:
    """Remove the counts of `viko serve` processes that are gone, and any left under this
    one's pid by an earlier process (a pid is reused): called as a server starts and stops."""
    for folder in counts_folder(settings, serve_pid).parent.glob("*"):
        if folder.name == str(serve_pid) or not (folder.name.isdigit() and _running(int(folder.name))):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process under a reused pid: not ours, but running
        return True
    return True


def _samples(metrics: list[Any]) -> dict[str, Samples]:
    """The samples of prometheus-client metrics by family, without their creation times."""
    return {family.name: [(s.name, dict(s.labels), float(s.value)) for s in family.samples
                          if not s.name.endswith("_created")]
            for metric in metrics for family in metric.collect()}


class WorkerCounts:
    """A worker's request counts written for the other workers, and /metrics' families summed
    over the workers (prometheus-client's custom collector protocol)."""

    def __init__(self, folder: Path, metrics: list[Any]) -> None:
        self.folder, self.metrics = folder, metrics
        self.path = folder / f"{os.getpid()}.json"
        self._dirty = threading.Event()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    def changed(self) -> None:
        """A request was counted: written within FLUSH_SECONDS, by one thread of the worker."""
        self._dirty.set()
        if self._writer is None:
            with self._lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_loop, name="viko-metrics", daemon=True)
                    self._writer.start()

    def _write_loop(self) -> None:
        while True:
            self._dirty.wait()
            time.sleep(FLUSH_SECONDS)
            self._dirty.clear()
            self.write()

    def write(self) -> None:
        """This worker's counts, replacing its file at once (readers never see half a file)."""
        text = json.dumps({"format": COUNTS_FORMAT, "pid": os.getpid(), "families": _samples(self.metrics)})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # the others' totals lack this worker's latest counts; serving goes on
            log.warning("metrics: cannot write this worker's counts: %s", exc)

    def _others(self) -> Iterator[tuple[int, dict[str, Samples]]]:
        for path in sorted(self.folder.glob("*.json")):
            if path == self.path or not path.stem.isdigit():
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # removed meanwhile
            if data.get("format") == COUNTS_FORMAT:
                yield int(path.stem), data["families"]

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        families = [family for metric in self.metrics for family in metric.collect()]
        totals: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {f.name: {} for f in families}
        workers = {os.getpid(): 1}
        for pid, counts in [(os.getpid(), _samples(self.metrics)), *self._others()]:
            workers.setdefault(pid, int(_running(pid)))
            for name, samples in counts.items():
                summed = totals.get(name)
                if summed is None:
                    continue  # a family this worker's version does not have
                for sample, labels, value in samples:
                    key = (sample, tuple(labels.items()))
                    summed[key] = summed.get(key, 0.0) + value
        for family in families:
            out = Metric(family.name, family.documentation, family.type)
            for (sample, pairs), value in totals[family.name].items():
                out.add_sample(sample, dict(pairs), value)
            yield out
        up = GaugeMetricFamily("viko_worker_up", "Worker processes of this server whose request counts the "
                               "totals hold: 1 running, 0 exited", labels=["pid"])
        for pid, running in sorted(workers.items()):
            up.add_metric([str(pid)], running)
        yield up


class DataCollector:
    """The index, jobs and crawl figures, read when Prometheus scrapes (prometheus-client's
    custom collector protocol): nothing to keep up to date between scrapes."""

    def __init__(self, settings: Settings, services: Services) -> None:
        self.settings, self.services = settings, services

    def describe(self) -> list[Any]:
        return []  # figures appear as the data directory has them: nothing to check up front

    def collect(self) -> Iterator[Any]:
        for part in (self._index, self._catalogue):
            try:
                yield from part()
            except Exception as exc:  # a scrape answers with what it can read; the rest is logged
                log.warning("metrics: %s left out: %s", part.__name__.strip("_"), _hide(self.settings, str(exc)))

    def _index(self) -> Iterator[Any]:
        try:
            folder = current_generation(self.settings.index_root)
            manifest = Manifest.load(folder / MANIFEST_FILE)
        except Exception:
            yield GaugeMetricFamily("viko_index_up", "1 when a live index generation is there", value=0)
            return
        yield GaugeMetricFamily("viko_index_up", "1 when a live index generation is there", value=1)
        yield GaugeMetricFamily("viko_index_documents", "Documents in the live index", value=manifest.documents)
        chunks = GaugeMetricFamily("viko_index_chunks", "Passages in the live index, by language", labels=["lang"])
        for lang, n in sorted(manifest.chunks_by_lang.items()):
            chunks.add_metric([lang], n)
        yield chunks
        number = re.search(r"(\d+)$", folder.name)
        yield GaugeMetricFamily("viko_index_generation", "Number of the live index generation",
                                value=int(number.group(1)) if number else 0)
        built = timegm(time.strptime(manifest.created, "%Y-%m-%dT%H:%M:%SZ"))
        yield GaugeMetricFamily("viko_index_age_seconds", "Seconds since the live generation was built",
                                value=max(0.0, time.time() - built))

    def _catalogue(self) -> Iterator[Any]:
        """Jobs by state and the crawl log's outcomes: two GROUP BYs on the app's reader."""
        if not Path(self.settings.catalogue_path).is_file():
            return
        with self.services.reader.read() as cat:
            by_state, outcomes = jobs.counts(cat), log_outcomes(cat)
        family = GaugeMetricFamily("viko_jobs", "Background jobs (uploads, index runs, crawls), by state",
                                   labels=["state"])
        for state, n in sorted(by_state.items()):
            family.add_metric([state], n)
        yield family
        fetches = CounterMetricFamily("viko_crawl_fetches", "Crawler fetches logged, by outcome", labels=["outcome"])
        for outcome, n in sorted(outcomes.items()):
            fetches.add_metric([outcome], n)
        yield fetches


def operations_router(web: Web, services: Services, app: FastAPI) -> APIRouter:
    """`/healthz` and `/metrics`; counts the app's requests from now on."""
    router = APIRouter()
    metrics = Metrics(web.settings, services)
    observe_requests(app, metrics.observe)
    app.state.metrics = metrics
    if metrics.counts is not None:  # a worker is listed from its start, and leaves its last counts
        app.router.add_event_handler("startup", metrics.counts.write)
        app.router.add_event_handler("shutdown", metrics.counts.write)

    @router.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
    def healthz() -> Response:
        state = health(web.settings)
        return JSONResponse(state.model_dump(), status_code=200 if state.status == "ok" else 503,
                            headers={"Cache-Control": "no-store"})

    @router.get("/metrics", include_in_schema=False)
    def metrics_page(request: Request) -> Response:
        # index sizes count hidden documents too: Prometheus scrapes with an admin's token
        web.auth.require(request, ("admin",))
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return router
