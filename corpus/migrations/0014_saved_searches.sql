-- Saved searches and their private Atom feeds (issue 25).

-- `search` is the search page's query string (q, facet filters, after/before, sort, exact), as
-- the page would link it. `last_seen_at` moves when its owner opens it: documents updated after
-- it and returned by the search are "new since your last visit". The feed token is random and
-- only its SHA-256 digest is kept; '' means no feed link (never made, or revoked).
CREATE TABLE saved_searches (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    owner           TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    search          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    feed_digest     TEXT NOT NULL DEFAULT '',
    feed_created_at TEXT NOT NULL DEFAULT '',
    UNIQUE (owner, name)
);
CREATE INDEX saved_searches_owner ON saved_searches(owner, id);
