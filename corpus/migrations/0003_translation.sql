-- Translators' workbench (issue 6): counterpart links, translation memory, glossary.

-- A user's decision about a document pair, kept across re-indexing. Stored once per pair
-- with doc_id < other_id, so both directions read the same row.
CREATE TABLE counterpart_decisions (
    doc_id     TEXT NOT NULL,
    other_id   TEXT NOT NULL,
    decision   TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    note       TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL,
    PRIMARY KEY (doc_id, other_id),
    CHECK (doc_id < other_id)
);
CREATE INDEX counterpart_decisions_other ON counterpart_decisions(other_id);

-- Counterparts detected by `viko align-all` (content, length, dates, names, numbers);
-- one row per direction, replaced on every run.
CREATE TABLE counterparts (
    doc_id      TEXT PRIMARY KEY,
    other_id    TEXT NOT NULL,
    confidence  REAL NOT NULL,
    margin      REAL NOT NULL,
    features    TEXT NOT NULL DEFAULT '{}',
    detected_at TEXT NOT NULL
);

-- Translation memory: aligned sentence pairs with their provenance. origin 'aligned' = a
-- document and its counterpart, 'mined' = sentences found in documents that are not
-- counterparts, 'tmx' = imported from a TMX file (source names it).
CREATE TABLE tm_units (
    id         INTEGER PRIMARY KEY,
    vi         TEXT NOT NULL,
    ko         TEXT NOT NULL,
    vi_key     TEXT NOT NULL,
    ko_key     TEXT NOT NULL,
    vi_fold    TEXT NOT NULL,
    score      REAL NOT NULL DEFAULT 0,
    origin     TEXT NOT NULL CHECK (origin IN ('aligned', 'mined', 'tmx')),
    vi_doc     TEXT NOT NULL DEFAULT '',
    ko_doc     TEXT NOT NULL DEFAULT '',
    vi_sents   TEXT NOT NULL DEFAULT '[]',
    ko_sents   TEXT NOT NULL DEFAULT '[]',
    source     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX tm_units_docs ON tm_units(vi_doc, ko_doc);
CREATE INDEX tm_units_origin ON tm_units(origin, source);

-- Trigram full-text index over tone-normalised, lowercased text (and an accent-folded copy
-- of the Vietnamese side): substring matching that works for Korean without a segmenter.
CREATE VIRTUAL TABLE tm_fts USING fts5(
    vi_key, ko_key, vi_fold, content='tm_units', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER tm_units_ai AFTER INSERT ON tm_units BEGIN
    INSERT INTO tm_fts(rowid, vi_key, ko_key, vi_fold) VALUES (new.id, new.vi_key, new.ko_key, new.vi_fold);
END;
CREATE TRIGGER tm_units_ad AFTER DELETE ON tm_units BEGIN
    INSERT INTO tm_fts(tm_fts, rowid, vi_key, ko_key, vi_fold) VALUES ('delete', old.id, old.vi_key, old.ko_key, old.vi_fold);
END;
CREATE TRIGGER tm_units_au AFTER UPDATE ON tm_units BEGIN
    INSERT INTO tm_fts(tm_fts, rowid, vi_key, ko_key, vi_fold) VALUES ('delete', old.id, old.vi_key, old.ko_key, old.vi_fold);
    INSERT INTO tm_fts(rowid, vi_key, ko_key, vi_fold) VALUES (new.id, new.vi_key, new.ko_key, new.vi_fold);
END;

-- Which document pairs are aligned, against which content: re-aligned only when one changes.
CREATE TABLE aligned_pairs (
    vi_doc     TEXT NOT NULL,
    ko_doc     TEXT NOT NULL,
    vi_hash    TEXT NOT NULL,
    ko_hash    TEXT NOT NULL,
    links      INTEGER NOT NULL,
    score      REAL NOT NULL,
    aligned_at TEXT NOT NULL,
    PRIMARY KEY (vi_doc, ko_doc)
);

-- Glossary / termbase: bilingual term pairs. origin: 'bundled', 'user', 'tbx', 'file'.
CREATE TABLE glossary (
    id         INTEGER PRIMARY KEY,
    vi         TEXT NOT NULL,
    ko         TEXT NOT NULL,
    vi_key     TEXT NOT NULL,
    ko_key     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    domain     TEXT NOT NULL DEFAULT '',
    origin     TEXT NOT NULL DEFAULT 'user',
    updated_at TEXT NOT NULL,
    UNIQUE (vi_key, ko_key)
);
