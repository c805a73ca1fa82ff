-- Documents: one row per document id; text is stored NFC-normalised.
CREATE TABLE documents (
    id           TEXT PRIMARY KEY,
    lang         TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL,
    url          TEXT NOT NULL DEFAULT '',
    date         TEXT NOT NULL DEFAULT '',
    type         TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    segmented    INTEGER NOT NULL DEFAULT 0,
    extra        TEXT NOT NULL DEFAULT '{}',
    content_hash TEXT NOT NULL,
    added_at     TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX documents_lang_type ON documents(lang, type);
CREATE INDEX documents_url ON documents(url);

-- Small key/value facts about the data directory (last index run, ...).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
