-- Embeddings of note chunks, by the model that made them and the chunk text's hash. Content
-- addressed: a chunk whose text did not change keeps its vector across edits, renames and
-- restarts, and `clear` (which empties the note cache) leaves them. `vector` is the model's
-- output as little-endian f32s.
CREATE TABLE embeddings (
    model TEXT NOT NULL,
    hash BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, hash)
) WITHOUT ROWID;
