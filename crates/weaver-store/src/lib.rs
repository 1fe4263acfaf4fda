//! Weaver's shadow cache: parsed notes persisted so that a restart need not re-parse files that
//! did not change.
//!
//! The vault's files are the truth and the cache is disposable: a damaged, foreign or too-new
//! database is deleted and rebuilt rather than repaired. The [`Store`] trait is what the rest of
//! Weaver sees; [`SqliteStore`] is the embedded implementation (one SQLite file, WAL mode, a
//! relational schema migrated by the SQL files under `migrations/sqlite/`). The trait speaks
//! only Weaver's own types, so a PostgreSQL backend can implement it later.
//!
//! ```
//! use weaver_core::{ParsedNote, VaultPath};
//! use weaver_store::{ChangeSet, FileMeta, NoteRecord, SqliteStore, Store};
//!
//! let mut store = SqliteStore::open_in_memory().unwrap();
//! let record = NoteRecord {
//!     path: VaultPath::new("Ideas/Graph.md").unwrap(),
//!     meta: FileMeta { mtime_ns: 1, size: 7, hash: "ab12".into() },
//!     note: ParsedNote { title: "Graph".into(), ..ParsedNote::default() },
//!     resolved: Vec::new(),
//! };
//! let changes = ChangeSet {
//!     upserts: vec![&record],
//!     meta: vec![("search_generation", "3".into())],
//!     ..ChangeSet::default()
//! };
//! store.apply(&changes).unwrap();
//! assert_eq!(store.load_all().unwrap(), vec![record]);
//! assert_eq!(store.meta("search_generation").unwrap().as_deref(), Some("3"));
//! ```
#![deny(missing_docs)]

mod error;
mod sqlite;

use weaver_core::{ParsedNote, VaultPath};

pub use error::{DbErrorKind, StoreError};
pub use sqlite::SqliteStore;

/// File identity used for change detection: a file whose mtime and size match its cached
/// [`FileMeta`] is assumed unchanged; the hash settles the cases where they do not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Size in bytes.
    pub size: u64,
    /// blake3 hash of the file's bytes, hex-encoded (see `weaver_core::content_hash`).
    pub hash: String,
}

/// One note as cached: its parsed form and the resolved target of each of its links.
///
/// [`ParsedNote::text`] is not stored (the search index owns the text): loaded notes have
/// `text == ""`.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteRecord {
    /// Where the note lives.
    pub path: VaultPath,
    /// The file's identity when it was parsed.
    pub meta: FileMeta,
    /// The parsed note.
    pub note: ParsedNote,
    /// The file each of `note.links` resolves to, by index (`None` = unresolved). Must have
    /// exactly as many entries as `note.links`.
    pub resolved: Vec<Option<VaultPath>>,
}

/// One write transaction. [`Store::apply`] performs, in this order: the deletes, the upserts,
/// the resolution updates and the meta writes. A path both deleted and upserted ends up stored.
#[derive(Debug, Default)]
pub struct ChangeSet<'a> {
    /// Notes to insert or replace (all of a replaced note's children are replaced).
    pub upserts: Vec<&'a NoteRecord>,
    /// Notes to remove with everything they own. Paths that are not stored are ignored.
    pub deletes: Vec<&'a VaultPath>,
    /// Changed resolutions of links of notes NOT in `upserts`: (source note, link index, new
    /// target). Naming a link that is not stored fails the whole change set.
    pub resolutions: Vec<(&'a VaultPath, u32, Option<&'a VaultPath>)>,
    /// Key/value pairs for the meta table (e.g. `search_generation`), inserted or replaced.
    pub meta: Vec<(&'a str, String)>,
}

impl ChangeSet<'_> {
    /// True when applying the change set would change nothing.
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty()
            && self.deletes.is_empty()
            && self.resolutions.is_empty()
            && self.meta.is_empty()
    }
}

/// A shadow cache of parsed notes. Implementations are used from one thread at a time.
pub trait Store: Send {
    /// Every cached note, fully populated (tags, headings, blocks, tasks, callouts, links with
    /// resolution, external links, diagnostics, frontmatter, aliases, title), in no particular
    /// order.
    fn load_all(&self) -> Result<Vec<NoteRecord>, StoreError>;

    /// Applies the change set atomically (one transaction): on error nothing changes.
    fn apply(&mut self, changes: &ChangeSet<'_>) -> Result<(), StoreError>;

    /// The value stored under `key` in the meta table.
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Removes every note and meta entry (used when the search index had to be rebuilt etc.).
    /// Embeddings stay: they are addressed by content, not by note.
    fn clear(&mut self) -> Result<(), StoreError>;

    /// The cached embeddings of `model` for each of `hashes` (chunk text hashes), in order;
    /// `None` where there is none, or where the stored vector is not a whole number of
    /// `f32`s.
    fn embeddings(
        &self,
        model: &str,
        hashes: &[[u8; 32]],
    ) -> Result<Vec<Option<Vec<f32>>>, StoreError>;

    /// Stores embeddings of `model` by chunk hash (replacing any there), in one transaction.
    fn put_embeddings(
        &mut self,
        model: &str,
        entries: &[([u8; 32], &[f32])],
    ) -> Result<(), StoreError>;

    /// Deletes the embeddings of every model but `model`, and those of `model` whose hash is
    /// not in `keep`; returns how many were deleted.
    fn prune_embeddings(
        &mut self,
        model: &str,
        keep: &std::collections::HashSet<[u8; 32]>,
    ) -> Result<usize, StoreError>;
}

/// How [`SqliteStore::open`] found the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    /// An existing cache was opened (and migrated forward if it was older).
    Opened,
    /// There was no cache (or an empty one); a fresh one was created.
    Created,
    /// The existing file was unusable, so it was deleted and a fresh cache created.
    Rebuilt {
        /// Why the old file was discarded, naming the file.
        reason: String,
    },
}
