-- Weaver shadow cache, schema version 1 (SQLite).
--
-- The vault's files are the truth: everything here is derived from them and the whole database
-- may be deleted at any time. Child rows carry `ord`, their position in the parsed note, so a
-- note loads back in source order. Child tables are keyed by (note_id, ord), which also serves
-- as their note_id index; `WITHOUT ROWID` stores each of them as that one B-tree. A PostgreSQL
-- port keeps the same tables and keys (drop `WITHOUT ROWID`, use BIGINT identity for notes.id,
-- BOOLEAN for tasks.done).

PRAGMA application_id = 1466261878; -- "Weav"

CREATE TABLE notes (
    id                INTEGER PRIMARY KEY,
    path              TEXT    NOT NULL UNIQUE,
    mtime_ns          INTEGER NOT NULL,
    size              INTEGER NOT NULL,
    hash              TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    aliases_json      TEXT,             -- JSON array of strings; NULL when there are none
    frontmatter_json  TEXT,             -- JSON object; NULL when the note has no valid frontmatter
    frontmatter_start INTEGER,          -- byte range of the frontmatter block, both NULL or both set
    frontmatter_end   INTEGER,
    word_count        INTEGER NOT NULL,
    diagnostics_json  TEXT              -- JSON array of diagnostics; NULL when there are none
);

CREATE TABLE tags (
    note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    ord     INTEGER NOT NULL,
    name    TEXT    NOT NULL,
    source  TEXT    NOT NULL,           -- 'frontmatter' | 'inline'
    line    INTEGER NOT NULL,
    PRIMARY KEY (note_id, ord)
) WITHOUT ROWID;
CREATE INDEX tags_name ON tags (name);

CREATE TABLE headings (
    note_id    INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    level      INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    anchor     TEXT    NOT NULL,
    line       INTEGER NOT NULL,
    start_byte INTEGER NOT NULL,
    end_byte   INTEGER NOT NULL,
    PRIMARY KEY (note_id, ord)
) WITHOUT ROWID;

CREATE TABLE blocks (
    note_id    INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    block_id   TEXT    NOT NULL,
    line       INTEGER NOT NULL,
    start_byte INTEGER NOT NULL,
    end_byte   INTEGER NOT NULL,
    PRIMARY KEY (note_id, ord)
) WITHOUT ROWID;

CREATE TABLE tasks (
    note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    ord     INTEGER NOT NULL,
    status  TEXT    NOT NULL,           -- exactly one character
    done    INTEGER NOT NULL,           -- 0 or 1
    text    TEXT    NOT NULL,
    line    INTEGER NOT NULL,
    PRIMARY KEY (note_id, ord)
) WITHOUT ROWID;

CREATE TABLE callouts (
    note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    ord     INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    title   TEXT    NOT NULL,
    line    INTEGER NOT NULL,
    PRIMARY KEY (note_id, ord)
) WITHOUT ROWID;

CREATE TABLE links (
    note_id       INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    ord           INTEGER NOT NULL,     -- index into the note's links
    kind          TEXT    NOT NULL,     -- LinkKind::as_str
    target        TEXT    NOT NULL,
    fragment_kind TEXT,                 -- 'heading' | 'block' | NULL
    fragment      TEXT,                 -- set exactly when fragment_kind is
    display       TEXT,
    line          INTEGER NOT NULL,
    start_byte    INTEGER NOT NULL,
    end_byte      INTEGER NOT NULL,
    target_start  INTEGER NOT NULL,
    target_end    INTEGER NOT NULL,
    resolved      TEXT,                 -- vault path of the target file; NULL when unresolved
    PRIMARY KEY (note_id, ord)
) WITHOUT ROWID;
CREATE INDEX links_resolved ON links (resolved);

CREATE TABLE external_links (
    note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    ord     INTEGER NOT NULL,
    url     TEXT    NOT NULL,
    display TEXT,
    line    INTEGER NOT NULL,
    PRIMARY KEY (note_id, ord)
) WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
