//! The seam between a vault's writes and where they become durable.
//!
//! A write is computed in two steps (`write.rs`): a plan against the vault as it is (checks,
//! edits, link rewrites), then its execution. On one machine the files are the truth and the plan
//! executes on them directly, with the safe-write protocol. In cluster mode a [`ChangeLog`]
//! (PostgreSQL, `weaver-cluster`) is attached to the vault: the plan runs inside the log's
//! transaction, with the vault's log locked and the local copy caught up first, and what it
//! commits is the plan's [`FileChange`]s, which every replica (this one included) then applies
//! to its own copy with [`Vault::apply_changes`].

use serde::{Deserialize, Serialize};
use weaver_core::VaultPath;

use crate::vault::{Scope, Vault};
use crate::vaultfs::{FsError, Replace, WriteError};
use crate::{AppError, SyncReport};

/// One file-level effect of a committed write, as a replica applies it to its copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// Create or replace the file with these bytes.
    Put {
        /// The file.
        path: VaultPath,
        /// Its new content.
        bytes: Vec<u8>,
    },
    /// Remove the file.
    Remove {
        /// The file.
        path: VaultPath,
    },
    /// Rename a file (a folder move is one rename per file).
    Rename {
        /// The old path.
        from: VaultPath,
        /// The new path.
        to: VaultPath,
    },
}

impl FileChange {
    /// The paths the change touches.
    pub fn paths(&self) -> impl Iterator<Item = &VaultPath> {
        let (a, b) = match self {
            Self::Put { path, .. } | Self::Remove { path } => (path, None),
            Self::Rename { from, to } => (from, Some(to)),
        };
        std::iter::once(a).chain(b)
    }
}

/// Who makes a write, and the request it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteMeta {
    /// The request id (`x-request-id`): a write retried with the same id is done once, and
    /// the retry gets the first outcome.
    pub request_id: Option<String>,
    /// Who asked (an API key's name, `mcp`, `cli`), as recorded in the change log.
    pub actor: Option<String>,
}

/// A write's plan, as the change log stores it.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The file changes, in the order they apply.
    pub changes: Vec<FileChange>,
    /// The outcome the caller is answered with (and a retry of the same request id too).
    pub outcome: serde_json::Value,
}

/// A write the change log committed.
#[derive(Debug, Clone)]
pub struct Committed {
    /// Its sequence number in the vault's log (the `Weaver-Seq` header).
    pub seq: u64,
    /// The outcome: the plan's, or the first outcome of an earlier request with the same id.
    pub outcome: serde_json::Value,
}

/// The outcome of a write, with its place in the change log in cluster mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written<T> {
    /// What the write did.
    pub outcome: T,
    /// Its sequence number, in cluster mode.
    pub seq: Option<u64>,
}

/// Where a vault's writes become durable in cluster mode.
pub trait ChangeLog: Send + Sync + std::fmt::Debug {
    /// Locks the vault's log, brings `vault`'s copy up to date with it, runs `plan` against
    /// that copy, and commits the plan's changes as the next entry; then applies them to the
    /// copy. A request id already in the log returns its first outcome without planning.
    /// `kind` names the write (`write`, `patch`, `move`, `delete`) for the log.
    fn commit(
        &self,
        vault: &Vault,
        meta: &WriteMeta,
        kind: &'static str,
        plan: &mut dyn FnMut() -> Result<Planned, AppError>,
    ) -> Result<Committed, AppError>;
}

impl Vault {
    /// Applies committed changes to this vault's files (a replica's own copy: nothing else
    /// writes there), then brings the index up to date for the touched paths. Idempotent: a
    /// change already applied (a put of the same bytes, a remove of a missing file, a rename
    /// already made) is skipped, so a replica can re-apply after a crash.
    pub fn apply_changes(&self, changes: &[FileChange]) -> Result<SyncReport, AppError> {
        let mut touched: Vec<VaultPath> = Vec::new();
        for change in changes {
            touched.extend(change.paths().cloned());
            match change {
                FileChange::Put { path, bytes } => {
                    if self.fs().read(path).ok().as_deref() == Some(bytes.as_slice()) {
                        continue;
                    }
                    self.fs()
                        .write(path, bytes, Replace::Any)
                        .map_err(|e| self.write_error(path, &Replace::Any, e))?;
                }
                FileChange::Remove { path } => match self.fs().remove_file(path) {
                    Ok(()) | Err(FsError::NotFound) => {}
                    Err(e) => return Err(self.fs_error(path, e)),
                },
                FileChange::Rename { from, to } => match self.fs().rename(from, to) {
                    Ok(()) => {}
                    // Already renamed (a re-apply): the target is there, the source is not.
                    Err(FsError::NotFound | FsError::Exists)
                        if matches!(self.fs().stat(from), Ok(None) | Err(FsError::NotFound))
                            && matches!(self.fs().stat(to), Ok(Some(_))) => {}
                    Err(e) => return Err(self.fs_error(from, e)),
                },
            }
        }
        touched.sort();
        touched.dedup();
        self.sync(&Scope::Paths(touched))
    }

    /// Puts `bytes` at `path` (or removes the file, with `None`) only if the file still has the
    /// content hash `expected` (`None`: no file), for a mirror (`weaver bridge`) that must never
    /// overwrite an edit it has not seen. Returns `false`, changing nothing, when the file is
    /// not as expected. The index is brought up to date for the path. A removal reads the file
    /// to check it first: an edit in the instant between is lost to the removal, the one window
    /// left (Linux has no compare-and-delete).
    pub fn mirror_file(
        &self,
        path: &VaultPath,
        bytes: Option<&[u8]>,
        expected: Option<&str>,
    ) -> Result<bool, AppError> {
        let done = match bytes {
            Some(bytes) => {
                let replace = match expected {
                    Some(hash) => Replace::Matching(hash),
                    None => Replace::Absent,
                };
                match self.fs().write(path, bytes, replace) {
                    Ok(()) => true,
                    Err(WriteError::Exists | WriteError::Changed(_)) => false,
                    Err(e) => return Err(self.write_error(path, &replace, e)),
                }
            }
            None => match (self.fs().read(path), expected) {
                (Err(FsError::NotFound), None) => true,
                (Ok(have), Some(hash)) if weaver_core::content_hash(&have) == hash => {
                    match self.fs().remove_file(path) {
                        Ok(()) | Err(FsError::NotFound) => true,
                        Err(e) => return Err(self.fs_error(path, e)),
                    }
                }
                (Ok(_) | Err(FsError::NotFound), _) => false,
                (Err(e), _) => return Err(self.fs_error(path, e)),
            },
        };
        if done {
            self.sync(&Scope::Paths(vec![path.clone()]))?;
        }
        Ok(done)
    }
}
