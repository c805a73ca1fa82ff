-- Background jobs and watched sources (issue 25): uploads, index runs and scheduled crawls.

-- One row per job; a runner claims the oldest queued one (state queued -> running -> done|failed).
-- `done`/`total` count what the current `stage` works through; `seconds_left` is estimated
-- from its rate (NULL: not known yet). `detail` is JSON: an upload's files with each one's
-- outcome and reason, a crawl's source and counts.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('upload', 'index', 'crawl')),
    state        TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    actor        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    started_at   TEXT NOT NULL DEFAULT '',
    finished_at  TEXT NOT NULL DEFAULT '',
    stage        TEXT NOT NULL DEFAULT '',
    done         INTEGER NOT NULL DEFAULT 0,
    total        INTEGER NOT NULL DEFAULT 0,
    seconds_left REAL,
    message      TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX jobs_state ON jobs(state, id);

-- A site crawled on a schedule. `seeds` is a JSON list of URLs; the scope is the crawler's
-- (same host, include/exclude regular expressions, depth, pages per run).
CREATE TABLE sources (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    seeds       TEXT NOT NULL DEFAULT '[]',
    same_host   INTEGER NOT NULL DEFAULT 1,
    include     TEXT NOT NULL DEFAULT '',
    exclude     TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL DEFAULT '',
    visibility  TEXT NOT NULL DEFAULT 'public',
    schedule    TEXT NOT NULL DEFAULT 'daily' CHECK (schedule IN ('hourly', 'daily', 'weekly')),
    max_pages   INTEGER NOT NULL DEFAULT 1000,
    max_depth   INTEGER NOT NULL DEFAULT 5,
    last_run_at TEXT NOT NULL DEFAULT '',
    next_due_at TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX sources_due ON sources(next_due_at);

-- One row per crawl of a source: pages new, changed, unchanged (304 included), failed and
-- skipped, and `failures`: a JSON list of {url, outcome, status, reason}.
CREATE TABLE source_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id    INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    job_id       INTEGER,
    state        TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL DEFAULT '',
    fetched      INTEGER NOT NULL DEFAULT 0,
    new          INTEGER NOT NULL DEFAULT 0,
    changed      INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    not_modified INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    failures     TEXT NOT NULL DEFAULT '[]',
    message      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX source_runs_source ON source_runs(source_id, id);

-- The URLs a source's crawls reached: the next run checks them again (conditional requests,
-- 304 when unchanged) without re-checking what other sources or `viko crawl` found.
CREATE TABLE source_pages (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    url       TEXT NOT NULL,
    PRIMARY KEY (source_id, url)
);
