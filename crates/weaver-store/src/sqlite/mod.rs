//! The embedded SQLite backend.
//!
//! One connection, WAL journal, `synchronous = NORMAL` (a power cut may lose the last
//! transactions but never corrupts the file; the cache is rebuilt from the vault anyway).
//! Writes go through cached prepared statements inside one `IMMEDIATE` transaction per change
//! set; [`Store::load_all`] reads each table once, ordered by `(note_id, ord)`, and stitches the
//! children onto their notes with a merge join, so loading costs eight queries whatever the
//! vault's size.

mod load;
mod write;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use weaver_core::TagSource;

use crate::{ChangeSet, DbErrorKind, NoteRecord, OpenOutcome, Store, StoreError};
use load::Loader;
use write::Writer;

/// One embedded migration: applying migration `i` (0-based) brings the schema to version `i + 1`.
struct Migration {
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_init",
        sql: include_str!("../../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        name: "0002_embeddings",
        sql: include_str!("../../migrations/sqlite/0002_embeddings.sql"),
    },
];

/// `PRAGMA application_id` of Weaver caches ("Weav"), set by the first migration.
const APPLICATION_ID: i64 = 0x5765_6176;

/// How long a statement waits for another connection's lock before failing with `Busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connection settings. A negative `cache_size` is in KiB. Loads are sequential scans and
/// writes one transaction, so a small page cache (8 MiB) costs little speed and saves memory.
const PRAGMAS: &str = "PRAGMA foreign_keys = ON;
PRAGMA synchronous = NORMAL;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -8192;";

/// The files SQLite may keep next to the database.
const SIDE_FILE_SUFFIXES: &[&str] = &["-wal", "-shm", "-journal"];

/// The shadow cache in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

/// Why an attempt to open failed: either the file must go, or the failure is not the file's
/// fault (a lock held elsewhere, permissions) and deleting it would not help.
enum OpenFailure {
    Unusable(String),
    Fatal(StoreError),
}

impl SqliteStore {
    /// The schema version this code writes (`PRAGMA user_version`).
    pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

    /// Opens (creating parent folders) the database at `path`, migrating an older schema
    /// forward. A file that is not a database, is damaged, belongs to another application, has
    /// a schema newer than this code knows, or fails to migrate is deleted (with its `-wal`,
    /// `-shm` and `-journal` files) and replaced by a fresh database: the outcome is then
    /// [`OpenOutcome::Rebuilt`] with the reason. Failures that deleting would not cure (a lock
    /// held by another process, permissions) are returned as errors.
    pub fn open(path: &Path) -> Result<(SqliteStore, OpenOutcome), StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs_err::create_dir_all(parent).map_err(|error| StoreError::Io {
                action: "create the store folder",
                path: parent.to_path_buf(),
                error,
            })?;
        }
        let started = Instant::now();
        let (store, outcome) = match Self::try_open(path) {
            Ok((store, created)) => {
                let outcome = if created {
                    OpenOutcome::Created
                } else {
                    OpenOutcome::Opened
                };
                (store, outcome)
            }
            Err(OpenFailure::Fatal(err)) => return Err(err),
            Err(OpenFailure::Unusable(reason)) => {
                tracing::warn!(store.path = %path.display(), %reason, "discarding the note cache");
                Self::delete_files(path)?;
                match Self::try_open(path) {
                    Ok((store, _)) => (store, OpenOutcome::Rebuilt { reason }),
                    Err(OpenFailure::Fatal(err)) => return Err(err),
                    Err(OpenFailure::Unusable(again)) => {
                        return Err(StoreError::Database {
                            path: path.to_path_buf(),
                            operation: "create a fresh database",
                            kind: DbErrorKind::Other,
                            message: again,
                        });
                    }
                }
            }
        };
        tracing::info!(
            store.path = %path.display(),
            outcome = ?outcome,
            elapsed_ms = started.elapsed().as_millis(),
            "note cache open"
        );
        Ok((store, outcome))
    }

    /// Opens a fresh database that lives in memory only (tests and one-shot commands).
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(db_error(&path, "open"))?;
        let mut store = SqliteStore { conn, path };
        match store.prepare(false) {
            Ok(_) => Ok(store),
            Err(OpenFailure::Fatal(err)) => Err(err),
            Err(OpenFailure::Unusable(message)) => Err(StoreError::Database {
                path: store.path,
                operation: "create the schema",
                kind: DbErrorKind::Other,
                message,
            }),
        }
    }

    /// Deletes the database at `path` and its `-wal`, `-shm` and `-journal` files (an empty
    /// folder in the place of one of them too); missing files are fine. Use after an error for
    /// which [`StoreError::is_damaged`] holds, or when the file cannot be opened, with no store
    /// open on `path`, then [`SqliteStore::open`] again.
    pub fn delete_files(path: &Path) -> Result<(), StoreError> {
        let mut targets = vec![path.to_path_buf()];
        for suffix in SIDE_FILE_SUFFIXES {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            targets.push(PathBuf::from(side));
        }
        for target in targets {
            let is_dir = std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir());
            let removed = if is_dir {
                fs_err::remove_dir(&target)
            } else {
                fs_err::remove_file(&target)
            };
            match removed {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(StoreError::Io {
                        action: "delete the damaged cache file",
                        path: target,
                        error,
                    });
                }
            }
        }
        Ok(())
    }

    /// Where the database lives (`:memory:` for in-memory stores).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file and brings it to the current schema; `Ok(true)` when it was created.
    fn try_open(path: &Path) -> Result<(SqliteStore, bool), OpenFailure> {
        let conn = Connection::open(path)
            .map_err(|err| classify(path, "open", err, "cannot be opened as a database", false))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        let created = store.prepare(true)?;
        Ok((store, created))
    }

    /// Applies the connection settings, validates the file and runs pending migrations.
    /// `Ok(true)` when the database had no schema yet.
    fn prepare(&mut self, on_disk: bool) -> Result<bool, OpenFailure> {
        let path = self.path.clone();
        let unreadable = "is not a SQLite database or is damaged";
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|err| classify(&path, "configure", err, unreadable, false))?;
        self.conn.set_prepared_statement_cache_capacity(64);
        self.conn
            .execute_batch(PRAGMAS)
            .map_err(|err| classify(&path, "configure", err, unreadable, false))?;
        let (version, application_id) = self
            .conn
            .query_row(
                "SELECT user_version, application_id FROM pragma_user_version, pragma_application_id",
                [],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
            )
            .map_err(|err| classify(&path, "read the schema version", err, unreadable, false))?;
        let shown = path.display();
        if application_id != 0 && application_id != APPLICATION_ID {
            return Err(OpenFailure::Unusable(format!(
                "`{shown}` belongs to another application (application_id `{application_id}`, expected `{APPLICATION_ID}`)"
            )));
        }
        let known = i64::from(Self::SCHEMA_VERSION);
        if version > known {
            return Err(OpenFailure::Unusable(format!(
                "`{shown}` has schema version `{version}`, newer than the newest this build knows (`{known}`)"
            )));
        }
        if version < 0 {
            return Err(OpenFailure::Unusable(format!(
                "`{shown}` has schema version `{version}`, expected `0` to `{known}`"
            )));
        }
        if on_disk {
            if version > 0 {
                // Reads every page once (it does not check indexes against tables, which would
                // cost a full integrity_check); the pages then sit warm in the cache for the
                // `load_all` that follows at start-up.
                let verdict: String = self
                    .conn
                    .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
                    .map_err(|err| classify(&path, "check the database", err, unreadable, false))?;
                if verdict != "ok" {
                    return Err(OpenFailure::Unusable(format!(
                        "`{shown}` failed its integrity check: {verdict}"
                    )));
                }
            }
            let mode: String = self
                .conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                .map_err(|err| classify(&path, "enable the WAL journal", err, unreadable, false))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(store.path = %shown, journal_mode = %mode, "WAL journal unavailable");
            }
        }
        for (target, migration) in (1..).zip(MIGRATIONS).skip_while(|(v, _)| *v <= version) {
            self.migrate(target, migration).map_err(|err| {
                let what = format!("migration `{}` failed", migration.name);
                classify(&path, "migrate", err, &what, true)
            })?;
            tracing::debug!(store.path = %shown, migration = migration.name, "applied migration");
        }
        Ok(version == 0)
    }

    /// Applies `migration`, which brings the schema to `version`, unless another process
    /// already did: the version is read again under the write lock, so two processes opening
    /// one fresh cache at once do not both run the same migration.
    fn migrate(&mut self, version: i64, migration: &Migration) -> rusqlite::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if current >= version {
            return Ok(());
        }
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()
    }
}

/// Sorts an error met while opening. Damage always makes the file unusable (delete and
/// rebuild). Other failures are the file's fault only when `blame_file` holds (a migration whose
/// SQL fails on a foreign schema) and the failure is not environmental: a lock held elsewhere,
/// permissions or a full disk would follow a fresh file too.
fn classify(
    path: &Path,
    operation: &'static str,
    err: rusqlite::Error,
    what: &str,
    blame_file: bool,
) -> OpenFailure {
    let environmental = matches!(
        err.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::CannotOpen
                | ErrorCode::PermissionDenied
                | ErrorCode::ReadOnly
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::OutOfMemory
        )
    );
    let kind = error_kind(&err);
    if kind == DbErrorKind::Damaged || (blame_file && !environmental) {
        OpenFailure::Unusable(format!("`{}` {what}: {err}", path.display()))
    } else {
        OpenFailure::Fatal(StoreError::Database {
            path: path.to_path_buf(),
            operation,
            kind,
            message: err.to_string(),
        })
    }
}

fn error_kind(err: &rusqlite::Error) -> DbErrorKind {
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => DbErrorKind::Damaged,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DbErrorKind::Busy,
        _ => DbErrorKind::Other,
    }
}

/// Maps a rusqlite error to a [`StoreError::Database`] naming the store and the operation.
fn db_error<'p>(
    path: &'p Path,
    operation: &'static str,
) -> impl Fn(rusqlite::Error) -> StoreError + 'p {
    move |err| StoreError::Database {
        path: path.to_path_buf(),
        operation,
        kind: error_kind(&err),
        message: err.to_string(),
    }
}

impl Store for SqliteStore {
    fn load_all(&self) -> Result<Vec<NoteRecord>, StoreError> {
        let started = Instant::now();
        let loader = Loader {
            conn: &self.conn,
            path: &self.path,
        };
        let records = loader.load()?;
        tracing::debug!(
            store.path = %self.path.display(),
            notes = records.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "loaded note cache"
        );
        Ok(records)
    }

    fn apply(&mut self, changes: &ChangeSet<'_>) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error(path, "begin a write"))?;
        let writer = Writer { conn: &tx, path };
        for note in &changes.deletes {
            writer.delete(note)?;
        }
        for record in &changes.upserts {
            writer.upsert(record)?;
        }
        for (note, index, target) in &changes.resolutions {
            writer.resolve(note, *index, *target)?;
        }
        for (key, value) in &changes.meta {
            writer.set_meta(key, value)?;
        }
        tx.commit().map_err(db_error(path, "commit"))?;
        tracing::debug!(
            store.path = %path.display(),
            upserts = changes.upserts.len(),
            deletes = changes.deletes.len(),
            resolutions = changes.resolutions.len(),
            meta = changes.meta.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "applied change set"
        );
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let read = || {
            self.conn
                .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                .query_row([key], |row| row.get(0))
                .optional()
        };
        read().map_err(db_error(&self.path, "read meta"))
    }

    fn embeddings(
        &self,
        model: &str,
        hashes: &[[u8; 32]],
    ) -> Result<Vec<Option<Vec<f32>>>, StoreError> {
        let read = || -> rusqlite::Result<Vec<Option<Vec<f32>>>> {
            let mut statement = self
                .conn
                .prepare_cached("SELECT vector FROM embeddings WHERE model = ?1 AND hash = ?2")?;
            hashes
                .iter()
                .map(|hash| {
                    let blob: Option<Vec<u8>> = statement
                        .query_row(rusqlite::params![model, &hash[..]], |row| row.get(0))
                        .optional()?;
                    Ok(blob.and_then(|bytes| {
                        let (floats, rest) = bytes.as_chunks::<4>();
                        rest.is_empty()
                            .then(|| floats.iter().map(|b| f32::from_le_bytes(*b)).collect())
                    }))
                })
                .collect()
        };
        read().map_err(db_error(&self.path, "read embeddings"))
    }

    fn put_embeddings(
        &mut self,
        model: &str,
        entries: &[([u8; 32], &[f32])],
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let write = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut statement = tx.prepare_cached(
                    "INSERT OR REPLACE INTO embeddings (model, hash, vector) VALUES (?1, ?2, ?3)",
                )?;
                for (hash, vector) in entries {
                    let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                    statement.execute(rusqlite::params![model, &hash[..], bytes])?;
                }
            }
            tx.commit()
        };
        write(&mut self.conn).map_err(db_error(&path, "write embeddings"))
    }

    fn prune_embeddings(
        &mut self,
        model: &str,
        keep: &std::collections::HashSet<[u8; 32]>,
    ) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let prune = |conn: &mut Connection| -> rusqlite::Result<usize> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut deleted = tx.execute("DELETE FROM embeddings WHERE model <> ?1", [model])?;
            let stale: Vec<Vec<u8>> = {
                let mut statement =
                    tx.prepare_cached("SELECT hash FROM embeddings WHERE model = ?1")?;
                let hashes = statement.query_map([model], |row| row.get::<_, Vec<u8>>(0))?;
                hashes
                    .filter(|hash| {
                        hash.as_ref().map_or(true, |hash| {
                            <[u8; 32]>::try_from(hash.as_slice())
                                .map_or(true, |h| !keep.contains(&h))
                        })
                    })
                    .collect::<rusqlite::Result<_>>()?
            };
            {
                let mut statement =
                    tx.prepare_cached("DELETE FROM embeddings WHERE model = ?1 AND hash = ?2")?;
                for hash in &stale {
                    deleted += statement.execute(rusqlite::params![model, hash])?;
                }
            }
            tx.commit()?;
            Ok(deleted)
        };
        prune(&mut self.conn).map_err(db_error(&path, "prune embeddings"))
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error(path, "begin a write"))?;
        // Children first, so deleting the notes has nothing left to cascade to.
        tx.execute_batch(
            "DELETE FROM tags; DELETE FROM headings; DELETE FROM blocks; DELETE FROM tasks;
             DELETE FROM callouts; DELETE FROM links; DELETE FROM external_links;
             DELETE FROM notes; DELETE FROM meta;",
        )
        .map_err(db_error(path, "clear"))?;
        tx.commit().map_err(db_error(path, "commit"))?;
        tracing::info!(store.path = %path.display(), "cleared note cache");
        Ok(())
    }
}

fn tag_source_str(source: TagSource) -> &'static str {
    match source {
        TagSource::Frontmatter => "frontmatter",
        TagSource::Inline => "inline",
    }
}

fn parse_tag_source(s: &str) -> Option<TagSource> {
    match s {
        "frontmatter" => Some(TagSource::Frontmatter),
        "inline" => Some(TagSource::Inline),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_match_the_schema_version() {
        assert_eq!(MIGRATIONS.len(), SqliteStore::SCHEMA_VERSION as usize);
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            let number = format!("{:04}_", index + 1);
            assert!(migration.name.starts_with(&number), "{}", migration.name);
        }
    }

    #[test]
    fn fresh_store_has_the_documented_schema() {
        let store = SqliteStore::open_in_memory().unwrap();
        let (version, application_id): (i64, i64) = store
            .conn
            .query_row(
                "SELECT user_version, application_id FROM pragma_user_version, pragma_application_id",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(version, i64::from(SqliteStore::SCHEMA_VERSION));
        assert_eq!(application_id, APPLICATION_ID);
        let foreign_keys: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .unwrap();
        assert_eq!(foreign_keys, 1);

        let columns = |table: &str| -> Vec<String> {
            let mut stmt = store
                .conn
                .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .unwrap();
            stmt.query_map([table], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let expected: &[(&str, &str)] = &[
            (
                "notes",
                "id path mtime_ns size hash title aliases_json frontmatter_json \
                 frontmatter_start frontmatter_end word_count diagnostics_json",
            ),
            ("tags", "note_id ord name source line"),
            (
                "headings",
                "note_id ord level text anchor line start_byte end_byte",
            ),
            ("blocks", "note_id ord block_id line start_byte end_byte"),
            ("tasks", "note_id ord status done text line"),
            ("callouts", "note_id ord kind title line"),
            (
                "links",
                "note_id ord kind target fragment_kind fragment display line start_byte \
                 end_byte target_start target_end resolved",
            ),
            ("external_links", "note_id ord url display line"),
            ("meta", "key value"),
        ];
        for (table, want) in expected {
            assert_eq!(columns(table).join(" "), *want, "{table}");
        }
        let indexes: Vec<String> = store
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(indexes, ["links_resolved", "tags_name"]);
    }

    #[test]
    fn tag_sources_round_trip() {
        for source in [TagSource::Frontmatter, TagSource::Inline] {
            assert_eq!(parse_tag_source(tag_source_str(source)), Some(source));
        }
        assert_eq!(parse_tag_source("Inline"), None);
    }

    fn sqlite_error(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn open_errors_are_sorted_by_whose_fault_they_are() {
        let path = Path::new("/v/.weaver/cache.db");
        let unusable = |failure: OpenFailure| match failure {
            OpenFailure::Unusable(reason) => {
                assert!(reason.contains("`/v/.weaver/cache.db`"), "{reason}");
                true
            }
            OpenFailure::Fatal(err) => {
                assert!(err.to_string().contains("`/v/.weaver/cache.db`"), "{err}");
                false
            }
        };
        let damaged = || sqlite_error(rusqlite::ffi::SQLITE_NOTADB);
        let busy = || sqlite_error(rusqlite::ffi::SQLITE_BUSY);
        let constraint = || sqlite_error(rusqlite::ffi::SQLITE_ERROR);
        assert!(unusable(classify(
            path,
            "open",
            damaged(),
            "is damaged",
            false
        )));
        assert!(unusable(classify(
            path,
            "migrate",
            damaged(),
            "is damaged",
            true
        )));
        assert!(!unusable(classify(path, "open", busy(), "x", false)));
        assert!(!unusable(classify(path, "migrate", busy(), "x", true)));
        assert!(!unusable(classify(
            path,
            "configure",
            constraint(),
            "x",
            false
        )));
        assert!(unusable(classify(path, "migrate", constraint(), "x", true)));
    }

    #[test]
    fn error_kinds() {
        assert_eq!(
            error_kind(&sqlite_error(rusqlite::ffi::SQLITE_CORRUPT)),
            DbErrorKind::Damaged
        );
        assert_eq!(
            error_kind(&sqlite_error(rusqlite::ffi::SQLITE_LOCKED)),
            DbErrorKind::Busy
        );
        assert_eq!(
            error_kind(&sqlite_error(rusqlite::ffi::SQLITE_FULL)),
            DbErrorKind::Other
        );
        assert_eq!(
            error_kind(&rusqlite::Error::InvalidQuery),
            DbErrorKind::Other
        );
    }
}
