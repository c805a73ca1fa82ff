-- People and permissions (issue 24): who may read a document, who may change what.

-- public (anyone), internal (any signed-in user) or group:NAME (that group's members).
ALTER TABLE documents ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
CREATE INDEX documents_visibility ON documents(visibility);

-- A user's password is an argon2 hash; `epoch` grows with every password change or
-- removal, so the session cookies signed before it stop working.
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'organiser', 'admin')),
    groups        TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT NOT NULL,
    epoch         INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- API tokens: only their SHA-256 digest is stored; a revoked token is kept (audit) but refused.
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    digest     TEXT NOT NULL UNIQUE,
    label      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL DEFAULT ''
);

-- Who changed what: imports, deletions, counterpart and glossary decisions, planner changes,
-- users and visibility. Read by admins (/audit).
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);
