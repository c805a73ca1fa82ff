-- Backups as background jobs (issue 25): 0013's CHECK on jobs.kind allowed upload, index and
-- crawl only. SQLite cannot alter a CHECK, so the table is rebuilt with the same columns and
-- rows (ids kept; nothing references jobs by a foreign key) and 'backup' allowed.
CREATE TABLE jobs_0015 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('upload', 'index', 'crawl', 'backup')),
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
INSERT INTO jobs_0015 (id, kind, state, actor, created_at, started_at, finished_at, stage, done, total,
                       seconds_left, message, detail)
    SELECT id, kind, state, actor, created_at, started_at, finished_at, stage, done, total,
           seconds_left, message, detail FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_0015 RENAME TO jobs;
CREATE INDEX jobs_state ON jobs(state, id);
