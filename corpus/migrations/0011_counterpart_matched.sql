-- The content hash of every document the counterpart detector has matched: the next
-- `viko index` / `viko align-all` re-matches only documents that are new or changed since.
CREATE TABLE counterpart_matched (
    doc_id       TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL
);
CREATE INDEX counterparts_other ON counterparts(other_id);

-- Documents whose sentences parallel-sentence mining has already compared (against every
-- document mined before them): a run mines only the rest, at most a set number per run.
CREATE TABLE mined_docs (
    doc_id       TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    mined_at     TEXT NOT NULL
);
