//! The intent journal that makes a move with its link rewrites one recoverable unit.
//!
//! Before the first change, the whole plan is written to `.weaver/journal/move-*.json` in the
//! vault (fsynced): the rename, and for every note whose links change its content before and
//! after with their hashes. Then the rename runs, then each rewrite, each an ordinary safe write
//! that requires the note to still hold the "before" bytes. Afterwards the journal is removed.
//!
//! - A step that fails (a full disk, a note changed meanwhile) marks the journal `rollback` and
//!   undoes the steps done, newest first: every rewritten note that still holds the "after"
//!   bytes gets its "before" bytes back, and the rename is reversed.
//! - A crash leaves the journal behind. The next open ([`recover`]) finishes the move when the
//!   rename had happened (the remaining notes still holding their "before" bytes are rewritten)
//!   and drops the journal when it had not (nothing was changed yet); a journal marked
//!   `rollback` is rolled back. Either way the vault ends up before or after the move.
//! - A note that holds neither version was edited by someone else meanwhile; it is left alone
//!   and reported in the log.
//!
//! One lock file (`.weaver/journal/lock`, an `flock`) is held for the whole move, so a second
//! process opening the same vault never recovers a journal that a live process is executing.

use std::fmt;

use rustix::fs::FlockOperation;
use serde::{Deserialize, Serialize};
use weaver_core::{VaultPath, content_hash};

use crate::AppError;
use crate::vaultfs::{FsError, Replace, TEMP_PREFIX, TEMP_SUFFIX, VaultFs, WriteError};

const FOLDER: &str = ".weaver/journal";
const LOCK: &str = ".weaver/journal/lock";
const VERSION: u32 = 1;

/// The plan of one move.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MoveJournal {
    version: u32,
    /// The note or folder moved.
    pub from: String,
    /// Where it goes.
    pub to: String,
    /// Notes whose links change, at their paths after the move.
    pub rewrites: Vec<JournalRewrite>,
    /// Set when a failure part-way turned the move into its undo.
    #[serde(default)]
    pub rollback: bool,
}

/// One note's rewrite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JournalRewrite {
    /// The note, at its path after the move.
    pub path: String,
    /// Hash of the note before the rewrite.
    pub before_hash: String,
    /// Hash of the note after it.
    pub after_hash: String,
    /// The note before.
    pub before: String,
    /// The note after.
    pub after: String,
}

impl MoveJournal {
    pub(crate) fn new(from: String, to: String, rewrites: Vec<JournalRewrite>) -> Self {
        Self {
            version: VERSION,
            from,
            to,
            rewrites,
            rollback: false,
        }
    }
}

/// How far a move got before it failed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Done {
    /// The rename happened.
    pub renamed: bool,
    /// This many rewrites landed (in journal order).
    pub rewritten: usize,
}

/// A step that failed.
#[derive(Debug)]
pub(crate) enum StepError {
    /// Writing a note (or the journal) failed.
    Write(VaultPath, WriteError),
    /// A rename or read failed.
    Fs(VaultPath, FsError),
    /// A note to rewrite was changed by another program after the move read it.
    Changed {
        /// The note.
        path: VaultPath,
        /// The version the move read.
        expected: String,
        /// The version found, `None` when the note is gone.
        actual: Option<String>,
    },
    /// A journal names a path that is not a vault path (a foreign or damaged journal).
    BadPath(String),
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Write(path, WriteError::Fs(e)) | Self::Fs(path, e) => write!(f, "`{path}`: {e}"),
            Self::Write(path, WriteError::Exists) => write!(f, "`{path}`: already exists"),
            Self::Write(path, WriteError::Changed(_)) => {
                write!(f, "`{path}`: changed by another program")
            }
            Self::Changed { path, .. } => write!(f, "`{path}`: changed by another program"),
            Self::BadPath(raw) => write!(f, "the journal names `{raw}`, not a vault path"),
        }
    }
}

/// The failure of a forward step, with how far the move got.
#[derive(Debug)]
pub(crate) struct StepFailure {
    pub error: StepError,
    pub done: Done,
}

/// A journal on disk and the lock held while the move runs.
#[derive(Debug)]
pub(crate) struct Handle {
    path: VaultPath,
    _lock: std::fs::File,
    keep: bool,
}

impl Handle {
    /// Rewrites the journal (atomically) with the new state.
    pub(crate) fn record(&mut self, fs: &VaultFs, journal: &MoveJournal) -> Result<(), StepError> {
        write_journal(fs, &self.path, journal)
    }

    /// The move is complete (or fully undone): the journal goes.
    pub(crate) fn finish(self, fs: &VaultFs) {
        if !self.keep
            && let Err(error) = fs.remove_file(&self.path)
        {
            tracing::warn!(journal = %self.path, %error, "cannot remove the move journal");
        }
    }

    /// Leaves the journal for the next open to finish.
    pub(crate) fn keep(mut self) {
        self.keep = true;
    }
}

fn write_journal(fs: &VaultFs, path: &VaultPath, journal: &MoveJournal) -> Result<(), StepError> {
    let bytes = serde_json::to_vec(journal)
        .map_err(|e| StepError::Fs(path.clone(), FsError::Io(std::io::Error::other(e))))?;
    fs.write(path, &bytes, Replace::Any)
        .map_err(|e| StepError::Write(path.clone(), e))
}

fn lock(fs: &VaultFs, wait: bool) -> Result<Option<std::fs::File>, FsError> {
    let path = reserved(LOCK)?;
    let file = fs.open_lock(&path)?;
    let operation = if wait {
        FlockOperation::LockExclusive
    } else {
        FlockOperation::NonBlockingLockExclusive
    };
    match rustix::fs::flock(&file, operation) {
        Ok(()) => Ok(Some(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn reserved(path: &str) -> Result<VaultPath, FsError> {
    VaultPath::normalize(path).map_err(|e| FsError::Io(std::io::Error::other(e)))
}

/// Writes the journal of a move about to start and takes the journal lock.
pub(crate) fn begin(fs: &VaultFs, journal: &MoveJournal) -> Result<Handle, AppError> {
    let unavailable = |error: FsError| AppError::JournalUnavailable(error.to_string());
    let Some(lock) = lock(fs, true).map_err(unavailable)? else {
        return Err(AppError::JournalUnavailable(
            "the journal lock is held".to_owned(),
        ));
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = reserved(&format!(
        "{FOLDER}/move-{}-{nanos}.json",
        std::process::id()
    ))
    .map_err(unavailable)?;
    write_journal(fs, &path, journal).map_err(|e| AppError::JournalUnavailable(e.to_string()))?;
    Ok(Handle {
        path,
        _lock: lock,
        keep: false,
    })
}

fn path_of(raw: &str) -> Result<VaultPath, StepError> {
    VaultPath::normalize(raw).map_err(|_| StepError::BadPath(raw.to_owned()))
}

/// Runs the move: the rename, then every rewrite.
pub(crate) fn apply_forward(fs: &VaultFs, journal: &MoveJournal) -> Result<(), StepFailure> {
    let mut done = Done::default();
    let fail = |error, done| StepFailure { error, done };
    let from = path_of(&journal.from).map_err(|e| fail(e, done))?;
    let to = path_of(&journal.to).map_err(|e| fail(e, done))?;
    fs.rename(&from, &to).map_err(|e| {
        // Name the path the error is about: an existing destination, or the source.
        let path = if matches!(e, FsError::Exists) {
            &to
        } else {
            &from
        };
        fail(StepError::Fs(path.clone(), e), done)
    })?;
    done.renamed = true;
    for rewrite in &journal.rewrites {
        let path = path_of(&rewrite.path).map_err(|e| fail(e, done))?;
        fs.write(
            &path,
            rewrite.after.as_bytes(),
            Replace::Matching(&rewrite.before_hash),
        )
        .map_err(|e| match e {
            // The note changed after the move read it: say which version the move expected.
            WriteError::Changed(actual) => fail(
                StepError::Changed {
                    path: path.clone(),
                    expected: rewrite.before_hash.clone(),
                    actual,
                },
                done,
            ),
            other => fail(StepError::Write(path.clone(), other), done),
        })?;
        done.rewritten += 1;
    }
    Ok(())
}

/// Undoes the first `done` steps of a move, newest first. A note that no longer holds the
/// rewritten bytes was edited by someone else since, and is left as it is.
pub(crate) fn apply_rollback(
    fs: &VaultFs,
    journal: &MoveJournal,
    done: Done,
) -> Result<(), StepError> {
    for rewrite in journal.rewrites.iter().take(done.rewritten).rev() {
        let path = path_of(&rewrite.path)?;
        match fs.write(
            &path,
            rewrite.before.as_bytes(),
            Replace::Matching(&rewrite.after_hash),
        ) {
            Ok(()) => {}
            Err(WriteError::Changed(_)) => {
                tracing::warn!(note = %path, "changed by another program during a failed move; left as it is");
            }
            Err(e) => return Err(StepError::Write(path, e)),
        }
    }
    if done.renamed {
        let from = path_of(&journal.from)?;
        let to = path_of(&journal.to)?;
        fs.rename(&to, &from).map_err(|e| StepError::Fs(to, e))?;
    }
    Ok(())
}

/// True when an interrupted move waits to be settled.
pub(crate) fn pending(fs: &VaultFs) -> bool {
    reserved(FOLDER)
        .and_then(|folder| fs.list_files(&folder))
        .is_ok_and(|names| names.iter().any(|n| n.starts_with("move-")))
}

/// Finishes or undoes the moves that a crash interrupted; called on open, before the first sync.
/// Returns how many journals were settled.
pub(crate) fn recover(fs: &VaultFs) -> usize {
    let names = match reserved(FOLDER).and_then(|folder| fs.list_files(&folder)) {
        Ok(names) => names,
        Err(error) => {
            tracing::warn!(%error, "cannot read the move journal folder");
            return 0;
        }
    };
    let journals: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("move-") && n.ends_with(".json"))
        .collect();
    let temps: Vec<String> = names
        .iter()
        .filter(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(TEMP_SUFFIX))
        .map(|n| format!("{FOLDER}/{n}"))
        .collect();
    if journals.is_empty() && temps.is_empty() {
        return 0;
    }
    let _lock = match lock(fs, false) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            tracing::info!(
                "another process is moving notes in this vault; not recovering its journal"
            );
            return 0;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot lock the move journal");
            return 0;
        }
    };
    fs.remove_stale_temps(&temps);
    let mut settled = 0;
    for name in journals {
        let Ok(path) = reserved(&format!("{FOLDER}/{name}")) else {
            continue;
        };
        let journal = match fs
            .read(&path)
            .map(|b| serde_json::from_slice::<MoveJournal>(&b))
        {
            Ok(Ok(journal)) if journal.version == VERSION => journal,
            Ok(Ok(journal)) => {
                tracing::error!(journal = %path, version = journal.version, "move journal of an unknown version; left alone");
                continue;
            }
            Ok(Err(error)) => {
                // Written atomically, so unreadable means foreign: never act on a guess.
                tracing::error!(journal = %path, %error, "unreadable move journal; left alone");
                continue;
            }
            Err(error) => {
                tracing::error!(journal = %path, %error, "cannot read move journal");
                continue;
            }
        };
        match settle(fs, &journal) {
            Ok(outcome) => {
                tracing::warn!(from = %journal.from, to = %journal.to, outcome, "an interrupted move was settled");
                if let Err(error) = fs.remove_file(&path) {
                    tracing::warn!(journal = %path, %error, "cannot remove the move journal");
                }
                settled += 1;
            }
            Err(error) => {
                tracing::error!(from = %journal.from, to = %journal.to, %error, "cannot settle an interrupted move; the next start tries again");
            }
        }
    }
    settled
}

/// Brings the vault to one side of an interrupted move; says which.
fn settle(fs: &VaultFs, journal: &MoveJournal) -> Result<&'static str, StepError> {
    let from = path_of(&journal.from)?;
    let to = path_of(&journal.to)?;
    let exists = |p: &VaultPath| matches!(fs.stat(p), Ok(Some(_)));
    let renamed = !exists(&from) && exists(&to);
    let holds = |rewrite: &JournalRewrite, hash: &str| -> Result<bool, StepError> {
        let path = path_of(&rewrite.path)?;
        Ok(fs
            .read(&path)
            .is_ok_and(|bytes| content_hash(&bytes) == hash))
    };
    if journal.rollback {
        let mut done = Done {
            renamed,
            rewritten: 0,
        };
        // Roll back only the rewrites that landed; `apply_rollback` skips the others.
        let landed: Vec<JournalRewrite> = journal
            .rewrites
            .iter()
            .filter(|r| holds(r, &r.after_hash).unwrap_or(false))
            .cloned()
            .collect();
        done.rewritten = landed.len();
        let partial = MoveJournal {
            rewrites: landed,
            ..journal.clone()
        };
        apply_rollback(fs, &partial, done)?;
        return Ok("rolled back");
    }
    if !renamed {
        // The rename never happened, so no rewrite did: the vault is as before.
        return Ok("not started");
    }
    for rewrite in &journal.rewrites {
        if holds(rewrite, &rewrite.before_hash)? {
            let path = path_of(&rewrite.path)?;
            match fs.write(
                &path,
                rewrite.after.as_bytes(),
                Replace::Matching(&rewrite.before_hash),
            ) {
                Ok(()) | Err(WriteError::Changed(_)) => {}
                Err(e) => return Err(StepError::Write(path, e)),
            }
        } else if !holds(rewrite, &rewrite.after_hash)? {
            tracing::warn!(note = %rewrite.path, "changed by another program during an interrupted move; left as it is");
        }
    }
    Ok("completed")
}
