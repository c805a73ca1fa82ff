"""The job runner: one background thread per data directory runs the queued jobs (uploads,
index runs, crawls of watched sources, backups) one at a time, and queues the crawls that fall due.

`viko serve` starts it (web/upload.py hooks it to the app's startup and shutdown). With several
worker processes each starts one, and only the one holding the data directory's job lock
(`jobs.lock`, an flock the kernel drops when its holder dies) runs jobs; the others try again
at every poll, so one takes over when the holder stops. Taking the lock also marks failed the
jobs a killed runner left `running`: with the lock held, nothing else can be running them.

Indexing goes through `index_and_align`, as `viko index` does: under the index lock, so a job
never builds a generation beside `viko index` or the admin API (it waits for them), and search
keeps answering from the live generation until the new one is published whole. Progress
(`done` of `total` in a stage, and the time left, from the stage's rate so far) is written to
the job's row at most every WRITE_EVERY seconds. Stopping lets the running job finish for
`jobs_stop_seconds`, then cancels it at its next progress report (it is marked failed).
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viko.corpus import jobs, sources
from viko.corpus.catalogue import Catalogue
from viko.corpus.crawl import CrawlStats
from viko.corpus.jobs import Job
from viko.locking import LockBusy, data_lock
from viko.runtime import open_catalogue
from viko.settings import Settings
from viko.uploads import drop_staged, run_upload

log = logging.getLogger("viko.jobs")
RUNNER_LOCK = "jobs.lock"
WRITE_EVERY = 0.5  # seconds between progress writes of one job
CANCEL_WAIT = 15.0  # seconds a stopping runner waits for a cancelled job to give up
INTERRUPTED = ("interrupted: the server running this job stopped (killed or restarted) before it finished; "
               "upload the files again, or wait for the source's next crawl")


def hide_paths(settings: Settings, text: str) -> str:
    """A message as anyone may read it: the data directory is not shown (lock and storage
    errors name it)."""
    for folder in {str(Path(settings.data_dir).resolve()), str(settings.data_dir)}:
        text = text.replace(folder, "the data directory")
    return text


class Cancelled(Exception):
    """Raised at a job's next progress report once the runner is told to give up on it."""


class Tracker:
    """A running job's progress, written to its row: the stage, done of total, and the time
    left estimated from the rate since the stage began. Also the job's detail, saved with it.
    Its calls are the indexer's Progress (stage, done, total)."""

    def __init__(self, cat: Catalogue, job: Job, cancel: threading.Event, settings: Settings | None = None) -> None:
        self.cat, self.job_id, self.cancel, self.settings = cat, job.id, cancel, settings
        self.detail: dict[str, Any] = dict(job.detail)
        self.stage, self.since, self.from_done, self.written = "", 0.0, 0, 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.cancel.is_set():
            raise Cancelled("cancelled: the server stopped before the job finished")
        now = time.monotonic()
        if stage != self.stage:
            self.stage, self.since, self.from_done, self.written = stage, now, done, 0.0
        if now - self.written < WRITE_EVERY and done < total:
            return
        self.written = now
        jobs.update_progress(self.cat, self.job_id, stage, done, total, self.seconds_left(now, done, total))

    def seconds_left(self, now: float, done: int, total: int) -> float | None:
        elapsed, progressed = now - self.since, done - self.from_done
        if total <= 0 or progressed <= 0 or elapsed <= 0:
            return None
        return round(max(0, total - done) * elapsed / progressed, 1)

    def note(self, stage: str, message: str) -> None:
        """A stage without counts (aligning, waiting for the index lock)."""
        if self.cancel.is_set():
            raise Cancelled("cancelled: the server stopped before the job finished")
        self.stage = stage
        shown = hide_paths(self.settings, message) if self.settings is not None else message
        jobs.update_progress(self.cat, self.job_id, stage, 0, 0, None, shown)

    def save(self) -> None:
        jobs.update_detail(self.cat, self.job_id, self.detail)


def bring_index_up_to_date(settings: Settings, tracker: Tracker, poll: float = 2.0) -> str:
    """What `viko index` does (index, then counterparts and alignment), with the job's progress;
    waits while another run holds the index lock. Its summary."""
    from viko.align_all import index_and_align

    while True:
        try:
            run = index_and_align(settings, progress=tracker, align_progress=lambda text: tracker.note("aligning", text))
            break
        except LockBusy as exc:
            tracker.note("waiting for the index", str(exc))
            if tracker.cancel.wait(poll):
                raise Cancelled("cancelled while waiting for another index run") from exc
    tracker.detail["index"] = run.to_json()
    return "index: " + run.index.summary() + (f"; alignment failed: {run.align_error}" if run.align_error else "")


def run_index_job(settings: Settings, cat: Catalogue, tracker: Tracker) -> tuple[str, str]:
    return "done", bring_index_up_to_date(settings, tracker)


def run_crawl(settings: Settings, cat: Catalogue, tracker: Tracker) -> tuple[str, str]:
    """A watched source's crawl, then the index when it stored anything new or changed."""
    source_id = int(tracker.detail.get("source_id") or 0)
    source = sources.get(cat, source_id)
    if source is None:
        return "failed", f"source {tracker.detail.get('source', source_id)!r} was removed before its crawl ran"

    def progress(stats: CrawlStats) -> None:
        pending = int(cat.conn.execute("SELECT COUNT(*) FROM crawl_frontier WHERE state='queued'").fetchone()[0])
        tracker("crawling", stats.fetched, min(source.max_pages, stats.fetched + pending))

    run = sources.crawl_source(cat, source, settings.fetch_config, job_id=tracker.job_id,
                               budget=settings.extract_budget, workers=settings.crawl_workers,
                               max_per_pattern=settings.crawl_max_per_pattern, progress=progress)
    tracker.detail.update(run_id=run.id, counts={"fetched": run.fetched, "new": run.new, "changed": run.changed,
                                                 "unchanged": run.unchanged, "not_modified": run.not_modified,
                                                 "failed": run.failed, "skipped": run.skipped})
    tracker.save()
    summary = (f"{source.name}: {run.new} new, {run.changed} changed, {run.unchanged} unchanged, "
               f"{run.failed} failed, {run.skipped} skipped")
    if run.new or run.changed:
        summary += "; " + bring_index_up_to_date(settings, tracker)
    return "done", summary


def _upload(settings: Settings, cat: Catalogue, tracker: Tracker) -> tuple[str, str]:
    summary, changed = run_upload(settings, cat, tracker.detail, tracker, tracker.save)
    if changed:
        summary += "; " + bring_index_up_to_date(settings, tracker)
    return "done", summary


def run_backup(settings: Settings, cat: Catalogue, tracker: Tracker) -> tuple[str, str]:
    """What `viko backup` does, into a new folder of backup_dir named by the UTC time (the job's
    id added when two start in one second); a refused backup is the job's failure, with why."""
    from viko.backup import BackupError, backup

    folder = settings.backup_root / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if folder.exists():
        folder = folder.with_name(f"{folder.name}-job{tracker.job_id}")
    tracker.detail["folder"] = str(folder)
    tracker.save()
    copied = [0]

    def progress(_rel: str) -> None:  # files copied so far; the total is not known in advance
        copied[0] += 1
        tracker("backing up", copied[0], copied[0] + 1)

    try:
        manifest = backup(settings.data_dir, folder, progress)
    except BackupError as exc:
        return "failed", str(exc)
    except OSError as exc:  # a full or failing backup disk: the folder stays marked incomplete
        return "failed", f"backup failed, {folder} is incomplete (no backup.json): {exc}"
    tracker.detail["backup"] = {"files": len(manifest.files), "bytes": manifest.total_bytes,
                                "generation": manifest.generation, "seconds": round(manifest.seconds, 3)}
    return "done", (f"backed up {len(manifest.files)} files ({manifest.total_bytes} bytes, "
                    f"index {manifest.generation or 'none yet'}) to {folder}")


RUNNERS = {"upload": _upload, "index": run_index_job, "crawl": run_crawl, "backup": run_backup}


def execute(settings: Settings, job: Job, cancel: threading.Event | None = None) -> Job:
    """Runs one claimed job to its end: done, or failed with the reason (never raises)."""
    with open_catalogue(settings) as cat:
        tracker = Tracker(cat, job, cancel or threading.Event(), settings)
        try:
            state, message = RUNNERS[job.kind](settings, cat, tracker)
        except Cancelled as exc:
            state, message = "failed", str(exc)
        except Exception as exc:  # one job's failure is its own: the runner goes on
            log.exception("job %d (%s) failed", job.id, job.kind)
            state, message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            if job.kind == "upload":
                drop_staged(settings, tracker.detail)
        jobs.finish(cat, job.id, state, hide_paths(settings, message), tracker.detail)
        return jobs.get(cat, job.id) or job


def recover(settings: Settings) -> list[int]:
    """Fails the jobs and source runs a dead runner left running (the caller holds the job lock)."""
    with open_catalogue(settings) as cat:
        failed = jobs.fail_interrupted(cat, INTERRUPTED)
        with cat.conn:
            cat.conn.execute("UPDATE source_runs SET state='failed', message=? WHERE state='running'", (INTERRUPTED,))
        for job_id in failed:
            found = jobs.get(cat, job_id)
            if found is not None and found.kind == "upload":
                drop_staged(settings, found.detail)
    if failed:
        log.warning("jobs %s were left running by a stopped server: marked failed", failed)
    return failed


class JobRunner:
    """The background thread of one serving process (see the module's docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop, self._wake, self._cancel = threading.Event(), threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._held: ExitStack | None = None
        self._unwritable = False

    @property
    def holds_lock(self) -> bool:
        return self._held is not None

    def start(self) -> None:
        if not self.settings.jobs_run or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._cancel.clear()
        self._thread = threading.Thread(target=self._loop, name="viko-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for queued jobs now (an upload was just queued)."""
        self._wake.set()

    def stop(self, wait: float | None = None) -> None:
        """Lets the running job finish for `wait` seconds (jobs_stop_seconds), then cancels it."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            return
        thread.join(self.settings.jobs_stop_seconds if wait is None else wait)
        if thread.is_alive():
            self._cancel.set()
            thread.join(CANCEL_WAIT)
            if thread.is_alive():
                log.warning("the job runner did not stop: its job is marked failed at the next start")

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if self._take_lock():
                        self.run_pending()
                except Exception:  # a broken catalogue or a full disk: logged, tried again later
                    log.exception("the job runner failed; it tries again in %s s", self.settings.jobs_poll_seconds)
                self._wake.wait(self.settings.jobs_poll_seconds)
                self._wake.clear()
        finally:
            if self._held is not None:
                self._held.close()
                self._held = None

    def _take_lock(self) -> bool:
        if self._held is not None:
            return True
        if not Path(self.settings.catalogue_path).exists():
            return False  # nothing stored yet, so nothing queued: the data directory is left as it is
        stack = ExitStack()
        try:
            stack.enter_context(data_lock(self.settings.data_dir, name=RUNNER_LOCK, what="job runner"))
        except LockBusy:
            return False
        except OSError as exc:  # a read-only data directory: nothing can be stored, so no job can run
            if not self._unwritable:
                log.warning("the job runner cannot take %s: %s; no job runs", RUNNER_LOCK, exc.strerror or exc)
            self._unwritable = True
            return False
        self._held = stack
        recover(self.settings)
        return True

    def run_pending(self) -> int:
        """Queues the due crawls, then runs queued jobs until none is left or the runner stops."""
        with open_catalogue(self.settings) as cat:
            sources.enqueue_due(cat)
        ran = 0
        while not self._stop.is_set():
            with open_catalogue(self.settings) as cat:
                job = jobs.claim(cat)
            if job is None:
                break
            execute(self.settings, job, self._cancel)
            ran += 1
        return ran


@dataclass(frozen=True)
class DueRun:
    """What `viko sources run-due` did: the crawls it ran here, or, when a server's runner holds
    the data directory, the crawls it queued for it (`busy` says who holds it)."""

    ran: tuple[Job, ...] = ()
    queued: tuple[int, ...] = ()
    busy: str = ""


def run_due(settings: Settings, actor: str = "cron") -> DueRun:
    """Queues the due sources' crawls and runs every queued crawl here, unless a runner holds
    the data directory (a running `viko serve`): then it runs them."""
    with open_catalogue(settings) as cat:
        queued = sources.enqueue_due(cat, actor)
    try:
        with data_lock(settings.data_dir, name=RUNNER_LOCK, what="job runner (a running `viko serve`)"):
            recover(settings)
            ran = []
            with open_catalogue(settings) as cat:
                waiting = [j.id for j in jobs.running_or_queued(cat) if j.kind == "crawl" and j.state == "queued"]
            for job_id in waiting:
                with open_catalogue(settings) as cat:
                    job = jobs.claim(cat, job_id)
                if job is not None:
                    ran.append(execute(settings, job))
            return DueRun(ran=tuple(ran))
    except LockBusy as exc:
        return DueRun(queued=tuple(queued), busy=str(exc))


def state_counts(settings: Settings) -> dict[str, int]:
    """{state: jobs} of the data directory (all zero before anything is stored): for /metrics
    (web/operations.py's `jobs`) and the admin page."""
    if not Path(settings.catalogue_path).exists():
        return dict.fromkeys(jobs.STATES, 0)
    with open_catalogue(settings, readonly=True) as cat:
        return jobs.counts(cat)
