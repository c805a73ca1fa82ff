"""Background jobs, stored in the catalogue (migration 0013): uploads, index runs and crawls.

A job is queued by whoever asks (the upload page, the sources' schedule, `viko sources
run-due`) and run by one runner per data directory (viko/jobs.py), which claims the oldest
queued job in one statement, so two runners never take the same job. Its progress (what it
works through, how far, the time left) and its outcome (each uploaded file's, a crawl's counts)
are written here, where any process serving the data directory reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from viko.corpus.catalogue import Catalogue, utcnow

KINDS = ("upload", "index", "crawl", "backup")  # backup: migration 0015
STATES = ("queued", "running", "done", "failed")
ACTIVE = ("queued", "running")
_COLUMNS = ("id, kind, state, actor, created_at, started_at, finished_at, stage, done, total, seconds_left, "
            "message, detail")


class JobError(ValueError):
    """A job that cannot be queued (unknown kind, detail that is not JSON)."""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    state: str
    actor: str = ""
    created_at: str = ""
    started_at: str = ""
    finished_at: str = ""
    stage: str = ""
    done: int = 0
    total: int = 0
    seconds_left: float | None = None
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(100, int(100 * self.done / self.total)) if self.total > 0 else 0


def enqueue(cat: Catalogue, kind: str, actor: str, detail: dict[str, Any] | None = None) -> int:
    """A new queued job; its id."""
    if kind not in KINDS:
        raise JobError(f"job kind {kind!r}: use one of {', '.join(KINDS)}")
    with cat.conn:
        cur = cat.conn.execute("INSERT INTO jobs (kind, actor, created_at, detail) VALUES (?,?,?,?)",
                               (kind, actor, utcnow(), _dumps(detail or {})))
    return int(cur.lastrowid or 0)


def get(cat: Catalogue, job_id: int) -> Job | None:
    row = cat.conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id=?", (job_id,)).fetchone()
    return _job(row) if row else None


def recent(cat: Catalogue, limit: int = 50, actor: str | None = None) -> list[Job]:
    """The newest jobs first (`actor`: only theirs)."""
    where, args = (" WHERE actor=?", (actor,)) if actor is not None else ("", ())
    rows = cat.conn.execute(f"SELECT {_COLUMNS} FROM jobs{where} ORDER BY id DESC LIMIT ?", (*args, limit))
    return [_job(r) for r in rows]


def running_or_queued(cat: Catalogue) -> list[Job]:
    """The jobs not finished yet, in the order they run."""
    rows = cat.conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state IN ('queued', 'running') ORDER BY id")
    return [_job(r) for r in rows]


def counts(cat: Catalogue) -> dict[str, int]:
    """{state: jobs} for every state (zeros included): what /metrics and the admin page show."""
    found = dict(cat.conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
    return {state: int(found.get(state, 0)) for state in STATES}


def claim(cat: Catalogue, job_id: int | None = None) -> Job | None:
    """Marks the oldest queued job (or job `job_id` when it is queued) running and returns it;
    None when there is none. One statement: two runners never claim the same job."""
    pick = "?" if job_id is not None else "(SELECT id FROM jobs WHERE state='queued' ORDER BY id LIMIT 1)"
    args: tuple[Any, ...] = (utcnow(), *((job_id,) if job_id is not None else ()))
    with cat.conn:
        row = cat.conn.execute(f"UPDATE jobs SET state='running', started_at=? WHERE id={pick} AND state='queued'"
                               f" RETURNING {_COLUMNS}", args).fetchone()
    return _job(row) if row else None


def update_progress(cat: Catalogue, job_id: int, stage: str, done: int, total: int,
                    seconds_left: float | None = None, message: str | None = None) -> None:
    """Where a running job is: `done` of `total` in `stage`, and the time left when known."""
    sets, args = "stage=?, done=?, total=?, seconds_left=?", [stage, max(0, done), max(0, total), seconds_left]
    if message is not None:
        sets += ", message=?"
        args.append(message[:2000])
    with cat.conn:
        cat.conn.execute(f"UPDATE jobs SET {sets} WHERE id=?", (*args, job_id))


def update_detail(cat: Catalogue, job_id: int, detail: dict[str, Any]) -> None:
    with cat.conn:
        cat.conn.execute("UPDATE jobs SET detail=? WHERE id=?", (_dumps(detail), job_id))


def finish(cat: Catalogue, job_id: int, state: str, message: str = "",
           detail: dict[str, Any] | None = None) -> None:
    """Ends a job: `done` (its progress full) or `failed` (`message` says why)."""
    if state not in ("done", "failed"):
        raise JobError(f"a job finishes done or failed, not {state!r}")
    sets = "state=?, finished_at=?, message=?, seconds_left=NULL" + (", stage='', done=total" if state == "done" else "")
    args: list[Any] = [state, utcnow(), message[:2000]]
    if detail is not None:
        sets += ", detail=?"
        args.append(_dumps(detail))
    with cat.conn:
        cat.conn.execute(f"UPDATE jobs SET {sets} WHERE id=?", (*args, job_id))


def fail_interrupted(cat: Catalogue, reason: str) -> list[int]:
    """Marks failed every job left running by a runner that died (killed, restarted): only
    called by the runner that holds the data directory's job lock, so none is really running."""
    with cat.conn:
        rows = cat.conn.execute("UPDATE jobs SET state='failed', finished_at=?, message=?, seconds_left=NULL"
                                " WHERE state='running' RETURNING id", (utcnow(), reason[:2000])).fetchall()
    return sorted(int(r[0]) for r in rows)


def active_for_source(cat: Catalogue, source_id: int) -> Job | None:
    """The queued or running crawl of a watched source, if any (one at a time per source)."""
    row = cat.conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE kind='crawl' AND state IN ('queued', 'running')"
                           " AND json_extract(detail, '$.source_id')=? ORDER BY id LIMIT 1", (source_id,)).fetchone()
    return _job(row) if row else None


def _dumps(detail: dict[str, Any]) -> str:
    try:
        return json.dumps(detail, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise JobError(f"a job's detail must be JSON: {exc}") from exc


def _job(row: Any) -> Job:
    (job_id, kind, state, actor, created, started, finished, stage, done, total, left, message, detail) = tuple(row)
    try:
        data = json.loads(detail or "{}")
    except ValueError:
        data = {}
    return Job(int(job_id), kind, state, actor, created, started, finished, stage, int(done), int(total),
               None if left is None else float(left), message, data if isinstance(data, dict) else {})
