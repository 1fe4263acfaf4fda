//! The write half of [`SqliteStore`](super::SqliteStore): one change set inside an open
//! transaction. A replaced note keeps its row id; its children are deleted and inserted again.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use weaver_core::{Fragment, VaultPath};

use super::{db_error, tag_source_str};
use crate::{NoteRecord, StoreError};

/// Removes one note's children, table by table (before they are inserted again).
const DELETE_CHILDREN: &[&str] = &[
    "DELETE FROM tags WHERE note_id = ?1",
    "DELETE FROM headings WHERE note_id = ?1",
    "DELETE FROM blocks WHERE note_id = ?1",
    "DELETE FROM tasks WHERE note_id = ?1",
    "DELETE FROM callouts WHERE note_id = ?1",
    "DELETE FROM links WHERE note_id = ?1",
    "DELETE FROM external_links WHERE note_id = ?1",
];

/// Converts an in-memory size or offset to a column value.
fn int(value: usize) -> Option<i64> {
    i64::try_from(value).ok()
}

/// The write half: one change set inside an open transaction.
pub(super) struct Writer<'c> {
    pub(super) conn: &'c Connection,
    pub(super) path: &'c Path,
}

impl<'c> Writer<'c> {
    fn db(&self, operation: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + 'c {
        db_error(self.path, operation)
    }

    fn invalid(&self, record: &NoteRecord, reason: String) -> StoreError {
        StoreError::InvalidRecord {
            path: self.path.to_path_buf(),
            note: record.path.to_string(),
            reason,
        }
    }

    /// Converts `value` to a column value, or fails naming `field`.
    fn int(&self, record: &NoteRecord, field: &str, value: usize) -> Result<i64, StoreError> {
        int(value).ok_or_else(|| {
            self.invalid(
                record,
                format!("`{field}` is `{value}`, expected at most `{}`", i64::MAX),
            )
        })
    }

    pub(super) fn delete(&self, note: &VaultPath) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM notes WHERE path = ?1")
            .and_then(|mut stmt| stmt.execute([note.as_str()]))
            .map_err(self.db("delete a note"))?;
        Ok(())
    }

    pub(super) fn upsert(&self, record: &NoteRecord) -> Result<(), StoreError> {
        let note = &record.note;
        if record.resolved.len() != note.links.len() {
            return Err(self.invalid(
                record,
                format!(
                    "`resolved` has `{}` entries, expected one per link (`{}`)",
                    record.resolved.len(),
                    note.links.len()
                ),
            ));
        }
        let size = i64::try_from(record.meta.size).map_err(|_| {
            self.invalid(
                record,
                format!(
                    "file size `{}` does not fit a 64-bit signed integer",
                    record.meta.size
                ),
            )
        })?;
        let aliases = if note.aliases.is_empty() {
            None
        } else {
            Some(self.json(record, &note.aliases)?)
        };
        let frontmatter = match &note.frontmatter {
            Some(map) => Some(self.json(record, map)?),
            None => None,
        };
        let diagnostics = if note.diagnostics.is_empty() {
            None
        } else {
            Some(self.json(record, &note.diagnostics)?)
        };
        let (fm_start, fm_end) = match &note.frontmatter_range {
            Some(range) => (
                Some(self.int(record, "frontmatter_range.start", range.start)?),
                Some(self.int(record, "frontmatter_range.end", range.end)?),
            ),
            None => (None, None),
        };

        let existing: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM notes WHERE path = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([record.path.as_str()], |row| row.get(0))
                    .optional()
            })
            .map_err(self.db("look up a note"))?;
        let columns = params![
            record.path.as_str(),
            record.meta.mtime_ns,
            size,
            record.meta.hash,
            note.title,
            aliases,
            frontmatter,
            fm_start,
            fm_end,
            note.word_count,
            diagnostics,
        ];
        let id = match existing {
            Some(id) => {
                self.conn
                    .prepare_cached(
                        "UPDATE notes SET path = ?1, mtime_ns = ?2, size = ?3, hash = ?4,
                             title = ?5, aliases_json = ?6, frontmatter_json = ?7,
                             frontmatter_start = ?8, frontmatter_end = ?9, word_count = ?10,
                             diagnostics_json = ?11
                         WHERE id = ?12",
                    )
                    .and_then(|mut stmt| {
                        let mut all = columns.to_vec();
                        all.push(&id);
                        stmt.execute(all.as_slice())
                    })
                    .map_err(self.db("update a note"))?;
                for sql in DELETE_CHILDREN {
                    self.conn
                        .prepare_cached(sql)
                        .and_then(|mut stmt| stmt.execute([id]))
                        .map_err(self.db("replace a note's children"))?;
                }
                id
            }
            None => self
                .conn
                .prepare_cached(
                    "INSERT INTO notes (path, mtime_ns, size, hash, title, aliases_json,
                         frontmatter_json, frontmatter_start, frontmatter_end, word_count,
                         diagnostics_json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     RETURNING id",
                )
                .and_then(|mut stmt| stmt.query_row(columns, |row| row.get(0)))
                .map_err(self.db("insert a note"))?,
        };
        self.insert_children(id, record)
    }

    fn insert_children(&self, id: i64, record: &NoteRecord) -> Result<(), StoreError> {
        let note = &record.note;
        let write = |sql: &str| self.conn.prepare_cached(sql);

        let mut stmt = write(
            "INSERT INTO tags (note_id, ord, name, source, line) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(self.db("prepare"))?;
        for (ord, tag) in note.tags.iter().enumerate() {
            stmt.execute(params![
                id,
                self.int(record, "tags", ord)?,
                tag.name,
                tag_source_str(tag.source),
                tag.line
            ])
            .map_err(self.db("insert a tag"))?;
        }

        let mut stmt = write(
            "INSERT INTO headings (note_id, ord, level, text, anchor, line, start_byte, end_byte)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(self.db("prepare"))?;
        for (ord, heading) in note.headings.iter().enumerate() {
            stmt.execute(params![
                id,
                self.int(record, "headings", ord)?,
                heading.level,
                heading.text,
                heading.anchor,
                heading.line,
                self.int(record, "heading start", heading.range.start)?,
                self.int(record, "heading end", heading.range.end)?,
            ])
            .map_err(self.db("insert a heading"))?;
        }

        let mut stmt = write(
            "INSERT INTO blocks (note_id, ord, block_id, line, start_byte, end_byte)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(self.db("prepare"))?;
        for (ord, block) in note.blocks.iter().enumerate() {
            stmt.execute(params![
                id,
                self.int(record, "blocks", ord)?,
                block.id,
                block.line,
                self.int(record, "block start", block.range.start)?,
                self.int(record, "block end", block.range.end)?,
            ])
            .map_err(self.db("insert a block"))?;
        }

        let mut stmt = write(
            "INSERT INTO tasks (note_id, ord, status, done, text, line)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(self.db("prepare"))?;
        for (ord, task) in note.tasks.iter().enumerate() {
            let mut buf = [0_u8; 4];
            stmt.execute(params![
                id,
                self.int(record, "tasks", ord)?,
                &*task.status.encode_utf8(&mut buf),
                task.done,
                task.text,
                task.line,
            ])
            .map_err(self.db("insert a task"))?;
        }

        let mut stmt = write(
            "INSERT INTO callouts (note_id, ord, kind, title, line) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(self.db("prepare"))?;
        for (ord, callout) in note.callouts.iter().enumerate() {
            stmt.execute(params![
                id,
                self.int(record, "callouts", ord)?,
                callout.kind,
                callout.title,
                callout.line,
            ])
            .map_err(self.db("insert a callout"))?;
        }

        let mut stmt = write(
            "INSERT INTO links (note_id, ord, kind, target, fragment_kind, fragment, display,
                 line, start_byte, end_byte, target_start, target_end, resolved)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .map_err(self.db("prepare"))?;
        for (ord, (link, resolved)) in note.links.iter().zip(&record.resolved).enumerate() {
            let (fragment_kind, fragment) = match &link.fragment {
                Some(Fragment::Heading(text)) => (Some("heading"), Some(text.as_str())),
                Some(Fragment::Block(id)) => (Some("block"), Some(id.as_str())),
                None => (None, None),
            };
            stmt.execute(params![
                id,
                self.int(record, "links", ord)?,
                link.kind.as_str(),
                link.target,
                fragment_kind,
                fragment,
                link.display,
                link.line,
                self.int(record, "link start", link.range.start)?,
                self.int(record, "link end", link.range.end)?,
                self.int(record, "link target start", link.target_range.start)?,
                self.int(record, "link target end", link.target_range.end)?,
                resolved.as_ref().map(VaultPath::as_str),
            ])
            .map_err(self.db("insert a link"))?;
        }

        let mut stmt = write(
            "INSERT INTO external_links (note_id, ord, url, display, line)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(self.db("prepare"))?;
        for (ord, link) in note.external_links.iter().enumerate() {
            stmt.execute(params![
                id,
                self.int(record, "external_links", ord)?,
                link.url,
                link.display,
                link.line,
            ])
            .map_err(self.db("insert an external link"))?;
        }
        Ok(())
    }

    fn json<T: serde::Serialize + ?Sized>(
        &self,
        record: &NoteRecord,
        value: &T,
    ) -> Result<String, StoreError> {
        serde_json::to_string(value)
            .map_err(|err| self.invalid(record, format!("cannot encode as JSON: {err}")))
    }

    pub(super) fn resolve(
        &self,
        note: &VaultPath,
        index: u32,
        target: Option<&VaultPath>,
    ) -> Result<(), StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE links SET resolved = ?3
                 WHERE note_id = (SELECT id FROM notes WHERE path = ?1) AND ord = ?2",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![note.as_str(), index, target.map(VaultPath::as_str)])
            })
            .map_err(self.db("update a link resolution"))?;
        if changed == 0 {
            return Err(StoreError::UnknownLink {
                path: self.path.to_path_buf(),
                note: note.to_string(),
                index,
            });
        }
        Ok(())
    }

    pub(super) fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut stmt| stmt.execute([key, value]))
            .map_err(self.db("write meta"))?;
        Ok(())
    }
}
