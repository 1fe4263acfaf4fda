//! The read half of [`SqliteStore`](super::SqliteStore): one query per table, ordered by
//! `(note_id, ord)`, stitched onto the notes with a merge join.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, Row};
use weaver_core::{
    Block, Callout, Diagnostic, ExternalLink, Fragment, Heading, Link, LinkKind, ParsedNote, Tag,
    Task, VaultPath,
};

use super::{db_error, parse_tag_source};
use crate::{FileMeta, NoteRecord, StoreError};

/// A note being loaded, with its row id for stitching children on.
struct Loading {
    id: i64,
    record: NoteRecord,
}

/// A failure while decoding one row.
enum RowError {
    Sql(rusqlite::Error),
    Invalid(&'static str, String),
}

impl From<rusqlite::Error> for RowError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sql(err)
    }
}

type RowResult<T> = Result<T, RowError>;

/// The read half: [`Store::load_all`](crate::Store::load_all).
pub(super) struct Loader<'c> {
    pub(super) conn: &'c Connection,
    pub(super) path: &'c Path,
}

impl Loader<'_> {
    pub(super) fn load(&self) -> Result<Vec<NoteRecord>, StoreError> {
        let mut notes = self.load_notes()?;
        // Link targets repeat (and are mostly other notes), so each distinct one is validated
        // once and then cloned.
        let mut targets: HashMap<String, VaultPath> = HashMap::new();

        self.children(
            &mut notes,
            "tags",
            "SELECT note_id, name, source, line FROM tags ORDER BY note_id, ord",
            |record, row| {
                let source: String = row.get(2)?;
                let source = parse_tag_source(&source)
                    .ok_or_else(|| RowError::Invalid("tags.source", format!("`{source}`")))?;
                record.note.tags.push(Tag {
                    name: row.get(1)?,
                    source,
                    line: row.get(3)?,
                });
                Ok(())
            },
        )?;
        self.children(
            &mut notes,
            "headings",
            "SELECT note_id, level, text, anchor, line, start_byte, end_byte
             FROM headings ORDER BY note_id, ord",
            |record, row| {
                record.note.headings.push(Heading {
                    level: row.get(1)?,
                    text: row.get(2)?,
                    anchor: row.get(3)?,
                    line: row.get(4)?,
                    range: get_usize(row, 5, "headings.start_byte")?
                        ..get_usize(row, 6, "headings.end_byte")?,
                });
                Ok(())
            },
        )?;
        self.children(
            &mut notes,
            "blocks",
            "SELECT note_id, block_id, line, start_byte, end_byte FROM blocks ORDER BY note_id, ord",
            |record, row| {
                record.note.blocks.push(Block {
                    id: row.get(1)?,
                    line: row.get(2)?,
                    range: get_usize(row, 3, "blocks.start_byte")?
                        ..get_usize(row, 4, "blocks.end_byte")?,
                });
                Ok(())
            },
        )?;
        self.children(
            &mut notes,
            "tasks",
            "SELECT note_id, status, done, text, line FROM tasks ORDER BY note_id, ord",
            |record, row| {
                let status: String = row.get(1)?;
                let mut chars = status.chars();
                let status = match (chars.next(), chars.next()) {
                    (Some(c), None) => c,
                    _ => {
                        return Err(RowError::Invalid(
                            "tasks.status",
                            format!("`{status}`, expected one character"),
                        ));
                    }
                };
                record.note.tasks.push(Task {
                    status,
                    done: row.get(2)?,
                    text: row.get(3)?,
                    line: row.get(4)?,
                });
                Ok(())
            },
        )?;
        self.children(
            &mut notes,
            "callouts",
            "SELECT note_id, kind, title, line FROM callouts ORDER BY note_id, ord",
            |record, row| {
                record.note.callouts.push(Callout {
                    kind: row.get(1)?,
                    title: row.get(2)?,
                    line: row.get(3)?,
                });
                Ok(())
            },
        )?;
        self.children(
            &mut notes,
            "links",
            "SELECT note_id, kind, target, fragment_kind, fragment, display, line, start_byte,
                 end_byte, target_start, target_end, resolved
             FROM links ORDER BY note_id, ord",
            |record, row| {
                let kind = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
                let kind = LinkKind::parse(kind)
                    .ok_or_else(|| RowError::Invalid("links.kind", format!("`{kind}`")))?;
                let fragment_kind: Option<String> = row.get(3)?;
                let fragment: Option<String> = row.get(4)?;
                let fragment = match (fragment_kind.as_deref(), fragment) {
                    (None, None) => None,
                    (Some("heading"), Some(text)) => Some(Fragment::Heading(text)),
                    (Some("block"), Some(id)) => Some(Fragment::Block(id)),
                    (other, _) => {
                        return Err(RowError::Invalid(
                            "links.fragment_kind",
                            format!(
                                "`{}`, expected `heading` or `block` with a fragment, or NULL with none",
                                other.unwrap_or("NULL")
                            ),
                        ));
                    }
                };
                let resolved = match row
                    .get_ref(11)?
                    .as_str_or_null()
                    .map_err(rusqlite::Error::from)?
                {
                    None => None,
                    Some(target) => Some(match targets.get(target) {
                        Some(path) => path.clone(),
                        None => {
                            let path = VaultPath::normalize(target).map_err(|err| {
                                RowError::Invalid("links.resolved", err.to_string())
                            })?;
                            targets.insert(target.to_owned(), path.clone());
                            path
                        }
                    }),
                };
                record.note.links.push(Link {
                    kind,
                    target: row.get(2)?,
                    fragment,
                    display: row.get(5)?,
                    line: row.get(6)?,
                    range: get_usize(row, 7, "links.start_byte")?
                        ..get_usize(row, 8, "links.end_byte")?,
                    target_range: get_usize(row, 9, "links.target_start")?
                        ..get_usize(row, 10, "links.target_end")?,
                });
                record.resolved.push(resolved);
                Ok(())
            },
        )?;
        self.children(
            &mut notes,
            "external_links",
            "SELECT note_id, url, display, line FROM external_links ORDER BY note_id, ord",
            |record, row| {
                record.note.external_links.push(ExternalLink {
                    url: row.get(1)?,
                    display: row.get(2)?,
                    line: row.get(3)?,
                });
                Ok(())
            },
        )?;
        Ok(notes.into_iter().map(|loading| loading.record).collect())
    }

    fn load_notes(&self) -> Result<Vec<Loading>, StoreError> {
        let db = db_error(self.path, "load notes");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, path, mtime_ns, size, hash, title, aliases_json, frontmatter_json,
                     frontmatter_start, frontmatter_end, word_count, diagnostics_json
                 FROM notes ORDER BY id",
            )
            .map_err(&db)?;
        let mut rows = stmt.query([]).map_err(&db)?;
        let mut notes = Vec::new();
        while let Some(row) = rows.next().map_err(&db)? {
            let id: i64 = row.get(0).map_err(&db)?;
            let raw_path: String = row.get(1).map_err(&db)?;
            let note = self
                .decode_note(row)
                .map_err(|err| self.row_error(&raw_path, "load notes", err))?;
            let path = VaultPath::normalize(&raw_path).map_err(|err| {
                self.row_error(
                    &raw_path,
                    "load notes",
                    RowError::Invalid("notes.path", err.to_string()),
                )
            })?;
            let (meta, note) = note;
            notes.push(Loading {
                id,
                record: NoteRecord {
                    path,
                    meta,
                    note,
                    resolved: Vec::new(),
                },
            });
        }
        Ok(notes)
    }

    fn decode_note(&self, row: &Row<'_>) -> RowResult<(FileMeta, ParsedNote)> {
        let size: i64 = row.get(3)?;
        let meta = FileMeta {
            mtime_ns: row.get(2)?,
            size: u64::try_from(size)
                .map_err(|_| RowError::Invalid("notes.size", format!("`{size}`")))?,
            hash: row.get(4)?,
        };
        let aliases: Vec<String> = json_column(row, 6, "notes.aliases_json")?.unwrap_or_default();
        let frontmatter = json_column(row, 7, "notes.frontmatter_json")?;
        let frontmatter_range = match (row.get::<_, Option<i64>>(8)?, row.get::<_, Option<i64>>(9)?)
        {
            (None, None) => None,
            (Some(start), Some(end)) => match (usize::try_from(start), usize::try_from(end)) {
                (Ok(start), Ok(end)) => Some(start..end),
                _ => {
                    return Err(RowError::Invalid(
                        "notes.frontmatter_start",
                        format!("`{start}..{end}`, expected non-negative offsets"),
                    ));
                }
            },
            (start, end) => {
                return Err(RowError::Invalid(
                    "notes.frontmatter_start",
                    format!("`{start:?}..{end:?}`, expected both offsets or neither"),
                ));
            }
        };
        let diagnostics: Vec<Diagnostic> =
            json_column(row, 11, "notes.diagnostics_json")?.unwrap_or_default();
        let note = ParsedNote {
            title: row.get(5)?,
            aliases,
            frontmatter,
            frontmatter_range,
            word_count: row.get(10)?,
            diagnostics,
            ..ParsedNote::default()
        };
        Ok((meta, note))
    }

    /// Runs `sql` (note_id first, ordered by note_id then ord) and hands each row to `add`
    /// with its note. Both sides are sorted by id, so one forward pass pairs them.
    fn children<F>(
        &self,
        notes: &mut [Loading],
        table: &'static str,
        sql: &str,
        mut add: F,
    ) -> Result<(), StoreError>
    where
        F: FnMut(&mut NoteRecord, &Row<'_>) -> RowResult<()>,
    {
        let db = db_error(self.path, "load notes");
        let mut stmt = self.conn.prepare_cached(sql).map_err(&db)?;
        let mut rows = stmt.query([]).map_err(&db)?;
        let mut cursor = 0;
        while let Some(row) = rows.next().map_err(&db)? {
            let note_id: i64 = row.get(0).map_err(&db)?;
            while notes.get(cursor).is_some_and(|n| n.id < note_id) {
                cursor += 1;
            }
            match notes.get_mut(cursor) {
                Some(loading) if loading.id == note_id => {
                    let record = &mut loading.record;
                    add(record, row)
                        .map_err(|err| self.row_error(record.path.as_str(), "load notes", err))?;
                }
                // The foreign key makes orphans impossible unless the file was edited by
                // hand; such a row belongs to no note and is skipped.
                _ => tracing::debug!(table, note_id, "skipping orphaned cache row"),
            }
        }
        Ok(())
    }

    fn row_error(&self, note: &str, operation: &'static str, err: RowError) -> StoreError {
        match err {
            RowError::Sql(err) => db_error(self.path, operation)(err),
            RowError::Invalid(column, reason) => StoreError::InvalidValue {
                path: self.path.to_path_buf(),
                note: note.to_owned(),
                column,
                reason,
            },
        }
    }
}

fn get_usize(row: &Row<'_>, index: usize, column: &'static str) -> RowResult<usize> {
    let value: i64 = row.get(index)?;
    usize::try_from(value).map_err(|_| RowError::Invalid(column, format!("`{value}`")))
}

/// Decodes a nullable JSON column.
fn json_column<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    index: usize,
    column: &'static str,
) -> RowResult<Option<T>> {
    match row
        .get_ref(index)?
        .as_str_or_null()
        .map_err(rusqlite::Error::from)?
    {
        None => Ok(None),
        Some(text) => serde_json::from_str(text)
            .map(Some)
            .map_err(|err| RowError::Invalid(column, format!("invalid JSON: {err}"))),
    }
}
