//! The store's one error type.
//!
//! Backend errors are flattened into text plus a [`DbErrorKind`] so that no backend's types
//! (rusqlite today, a PostgreSQL client later) leak through the [`Store`](crate::Store) trait.

use std::path::PathBuf;

/// What went wrong in the store. Every message names the store's location.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Creating the store's folder or removing one of its files failed.
    #[error("cannot {action} `{}`: {error}", path.display())]
    Io {
        /// What was being done, such as `create the store folder`.
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The database reported an error.
    #[error("store `{}`: {operation} failed: {message}", path.display())]
    Database {
        /// The database location (`:memory:` for in-memory stores).
        path: PathBuf,
        /// What was being done, such as `load notes`.
        operation: &'static str,
        /// The broad class of the failure, for callers that react to it.
        kind: DbErrorKind,
        /// The backend's own message.
        message: String,
    },
    /// A stored value is not one this code writes (the database was altered or damaged).
    #[error("store `{}`: cached note `{note}` has an invalid `{column}`: {reason}", path.display())]
    InvalidValue {
        /// The database location.
        path: PathBuf,
        /// The note the value belongs to.
        note: String,
        /// The column (or record field) holding the value.
        column: &'static str,
        /// What is wrong with it, naming the value.
        reason: String,
    },
    /// A record handed to [`Store::apply`](crate::Store::apply) cannot be stored as given.
    #[error("store `{}`: cannot store note `{note}`: {reason}", path.display())]
    InvalidRecord {
        /// The database location.
        path: PathBuf,
        /// The note being stored.
        note: String,
        /// What is wrong, naming the value and what was expected.
        reason: String,
    },
    /// A resolution update named a link that is not in the store.
    #[error(
        "store `{}`: note `{note}` has no cached link at index `{index}`; expected a stored note and an index below its link count",
        path.display()
    )]
    UnknownLink {
        /// The database location.
        path: PathBuf,
        /// The note the update named.
        note: String,
        /// The link index the update named.
        index: u32,
    },
}

/// The broad class of a database failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// The database file is damaged or not a database: delete it and rebuild from the vault.
    Damaged,
    /// Another connection held a lock for longer than the busy timeout.
    Busy,
    /// Anything else (disk full, permissions, a bug).
    Other,
}

impl StoreError {
    /// True when the database itself is damaged, so the cache should be deleted and rebuilt
    /// (see [`SqliteStore::delete_files`](crate::SqliteStore::delete_files)).
    pub fn is_damaged(&self) -> bool {
        match self {
            Self::Database { kind, .. } => *kind == DbErrorKind::Damaged,
            Self::InvalidValue { .. } => true,
            Self::Io { .. } | Self::InvalidRecord { .. } | Self::UnknownLink { .. } => false,
        }
    }
}
