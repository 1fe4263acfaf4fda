//! The errors of vault operations.

use std::path::PathBuf;

/// Everything a vault operation can fail with. Each variant maps to one stable error code in the
/// binary's error table.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The vault folder does not exist.
    #[error("vault not found: `{0}` does not exist")]
    VaultNotFound(PathBuf),
    /// The vault path is not a folder.
    #[error("vault `{0}` is not a folder")]
    VaultNotADirectory(PathBuf),
    /// The vault folder cannot be read.
    #[error("vault `{path}` cannot be read: {source}")]
    VaultUnreadable {
        /// The vault folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No note matches the given path or name.
    #[error("note not found: `{path}`{}", did_you_mean(.suggestions))]
    NoteNotFound {
        /// The path or name as given.
        path: String,
        /// Close matches, best first.
        suggestions: Vec<String>,
    },
    /// The given path is not an acceptable vault path.
    #[error(transparent)]
    InvalidPath(#[from] weaver_core::PathError),
    /// An ignore pattern in the configuration does not parse.
    #[error("invalid ignore pattern `{pattern}`: {reason}")]
    InvalidIgnorePattern {
        /// The pattern.
        pattern: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A file of the vault or the cache could not be read or written.
    #[error("cannot access `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The shadow cache failed.
    #[error(transparent)]
    Store(#[from] weaver_store::StoreError),
    /// The full-text index failed.
    #[error(transparent)]
    Search(#[from] weaver_search::SearchError),
    /// The request body or a note is not acceptable content.
    #[error("invalid content for `{path}`: {reason}")]
    InvalidContent {
        /// The note.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The note changed since the version the caller based its write on.
    #[error("conflict: `{path}` has changed (expected version `{expected}`, found {})", .actual.as_deref().map_or("no file".to_owned(), |a| format!("`{a}`")))]
    Conflict {
        /// The note.
        path: String,
        /// The hash the caller expected.
        expected: String,
        /// The hash on disk, `None` when the file is gone.
        actual: Option<String>,
    },
    /// A create-only write found the note already there.
    #[error("note already exists: `{0}`")]
    AlreadyExists(String),
    /// A move's destination exists.
    #[error("destination already exists: `{0}`")]
    DestinationExists(String),
    /// A move that cannot be done.
    #[error("cannot move `{from}` to `{to}`: {reason}")]
    InvalidMove {
        /// Source.
        from: String,
        /// Destination.
        to: String,
        /// Why not.
        reason: String,
    },
    /// Writes go to Markdown notes only.
    #[error("`{0}` is not a note: expected a path ending in `.md`")]
    NotANote(String),
    /// A path goes through a symbolic link; writes never follow links out of the vault.
    #[error("path `{0}` goes through a symbolic link; refusing to write through it")]
    SymlinkNotAllowed(String),
    /// The path names a folder or a special file where a note (a regular file) is needed.
    #[error("`{0}` is a folder or a special file, not a note")]
    NotAFile(String),
    /// A name in the path is longer than the file system allows.
    #[error("path `{0}` has a name that is too long for the file system")]
    NameTooLong(String),
    /// Writes never create or move notes into hidden (`.name`) folders or files: they would
    /// vanish from the vault, which never indexes hidden paths.
    #[error("path `{0}` is hidden (a segment starts with `.`); notes cannot be written there")]
    HiddenPath(String),
    /// The move journal cannot be written, so a move is refused before it changes anything.
    #[error("cannot record the move before making it: {0}")]
    JournalUnavailable(String),
    /// The vault is configured read-only.
    #[error("vault is read-only")]
    ReadOnly,
    /// A semantic search or similar-notes request while semantic search is off (no model
    /// configured, `[search.semantic] model_dir`).
    #[error(
        "semantic search is off: no embedding model is configured ([search.semantic] model_dir)"
    )]
    SemanticOff,
    /// The embedding model failed on a query or a note.
    #[error("semantic search failed: {0}")]
    Semantic(String),
    /// A workflow step cannot run as asked (no note to work on, a step kind not run yet).
    #[error("workflow step refused: {0}")]
    StepRefused(String),
    /// Cluster mode: the database that holds the vault cannot take the write (unreachable, or
    /// the replica found its change log broken); nothing was written. The reason names no
    /// credentials.
    #[error("the cluster's database is unavailable: {0}")]
    ClusterUnavailable(String),
    /// Cluster mode: the request id was already used by this caller for another kind of
    /// write (`kind` is the first one's), so the retry is not the same request.
    #[error(
        "the request id `{request_id}` was already used for a `{kind}`; a retry must repeat the same write"
    )]
    RequestIdReused {
        /// The request id.
        request_id: String,
        /// The kind of the write recorded under it.
        kind: String,
    },
    /// A patch operation cannot be applied.
    #[error(transparent)]
    Edit(#[from] weaver_core::EditError),
    /// The caller cancelled the query (its client went away) before it finished.
    #[error("the query was cancelled before it finished")]
    Cancelled,
    /// The file watcher could not be started.
    #[error("cannot watch `{path}`: {reason}")]
    Watch {
        /// The folder being watched.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        many => format!(
            "; did you mean one of {}?",
            many.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl AppError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
