-- Crawler state (issue 4): the frontier, every request made, what each page was stored as,
-- and duplicate relations between documents (exact and near).

-- One row per canonical URL the crawler has seen; state: queued, fetching, done, skipped, failed.
CREATE TABLE crawl_frontier (
    url         TEXT PRIMARY KEY,
    depth       INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'queued',
    referrer    TEXT NOT NULL DEFAULT '',
    pattern     TEXT NOT NULL DEFAULT '',
    http_status INTEGER,
    reason      TEXT NOT NULL DEFAULT '',
    doc_id      TEXT NOT NULL DEFAULT '',
    added_at    TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX crawl_frontier_state ON crawl_frontier(state, depth);
CREATE INDEX crawl_frontier_pattern ON crawl_frontier(pattern);

-- Every request and its outcome (stored, unchanged, not_modified, discovered, skipped, failed).
CREATE TABLE crawl_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    url          TEXT NOT NULL,
    final_url    TEXT NOT NULL DEFAULT '',
    http_status  INTEGER,
    outcome      TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    bytes        INTEGER NOT NULL DEFAULT 0,
    doc_id       TEXT NOT NULL DEFAULT '',
    redirects    TEXT NOT NULL DEFAULT '[]',
    attempts     INTEGER NOT NULL DEFAULT 0,
    elapsed_ms   INTEGER NOT NULL DEFAULT 0,
    at           TEXT NOT NULL
);
CREATE INDEX crawl_log_url ON crawl_log(url);

-- Validators of the last good fetch, for conditional re-crawls (ETag / Last-Modified -> 304).
CREATE TABLE crawl_pages (
    url           TEXT PRIMARY KEY,
    doc_id        TEXT NOT NULL DEFAULT '',
    etag          TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    fetched_at    TEXT NOT NULL
);

-- Fingerprints for duplicate detection: exact text hash and a 64-bit SimHash, whose bands
-- (doc_simhash_bands) find candidates: texts within 8 bits share at least one of 9 bands.
CREATE TABLE doc_fingerprints (
    doc_id       TEXT PRIMARY KEY,
    lang         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text_hash    TEXT NOT NULL,
    simhash      INTEGER NOT NULL,
    length       INTEGER NOT NULL
);
CREATE INDEX doc_fingerprints_hash ON doc_fingerprints(text_hash);
CREATE TABLE doc_simhash_bands (
    band   INTEGER NOT NULL,
    value  INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (band, value, doc_id)
);
CREATE INDEX doc_simhash_bands_doc ON doc_simhash_bands(doc_id);

-- doc_id duplicates canonical_id (kind exact or near): one search result, several sources.
CREATE TABLE doc_duplicates (
    doc_id       TEXT PRIMARY KEY,
    canonical_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    distance     INTEGER NOT NULL DEFAULT 0,
    found_at     TEXT NOT NULL
);
CREATE INDEX doc_duplicates_canonical ON doc_duplicates(canonical_id);
