//! Safe writes: create, replace, patch, move (with link rewriting) and delete notes.
//!
//! Every write follows one protocol, through [`VaultFs`](crate::VaultFs):
//! 1. the path is validated ([`VaultPath::new`], and no hidden segment), and every component is
//!    opened relative to the vault's directory handle with `O_NOFOLLOW`, so nothing can be read
//!    or written outside the vault, whatever is swapped in meanwhile;
//! 2. the new bytes go to a hidden temporary file in the target's folder (with the old file's
//!    permissions) and are fsynced;
//! 3. the file is exchanged into place; if the caller based the write on a version (`If-Match`,
//!    or the bytes a patch read), the displaced file must still be that version, otherwise the
//!    exchange is undone and the write is a conflict, so an edit made meanwhile by another
//!    program (Obsidian, git, a sync client) is never overwritten; creating never replaces;
//! 4. the folder is fsynced; from here on the write has happened, and an error while updating
//!    the index is logged and repaired later (`Vault::repair`), never reported as a failed write;
//! 5. the vault is synced for the touched paths before returning, so a read after a write sees it.
//!
//! A move that rewrites links in other notes is one recoverable unit: an intent journal
//! (`journal.rs`) is written before the first change; a failure rolls back what was done, and a
//! crash is completed on the next open.
//!
//! Writes to one vault are serialised by one mutex: a read-modify-write never interleaves with
//! another, and a move that rewrites links in many notes is one unit.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use weaver_core::{
    EditOp, Resolver, RewrittenLink, VaultPath, apply_edits, content_hash, parse_note,
    rewrite_links,
};

use crate::AppError;
use crate::changes::{FileChange, Planned, WriteMeta, Written};
use crate::journal::{self, JournalRewrite, MoveJournal};
use crate::vault::{Scope, Vault};
use crate::vaultfs::{FsError, Replace, WriteError};

/// What the caller knows about the current version of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// Write whatever is there (a blind write).
    Any,
    /// The note must exist with this content hash (`If-Match`).
    Matches(String),
    /// The note must not exist (`If-None-Match: *`).
    Absent,
}

/// The result of a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOutcome {
    /// The note written.
    pub path: VaultPath,
    /// Its new content hash (the next `If-Match`).
    pub hash: String,
    /// True when the note did not exist before.
    pub created: bool,
    /// Size in bytes.
    pub size: u64,
}

/// Links changed in one note by a move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewrittenNote {
    /// The note whose links were rewritten (at its new path if it moved).
    pub path: VaultPath,
    /// The links changed, before and after.
    pub links: Vec<RewrittenLink>,
}

/// The result of a move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveOutcome {
    /// Every file moved, old and new path (one entry for a note, many for a folder).
    pub moved: Vec<(VaultPath, VaultPath)>,
    /// Notes whose links were rewritten.
    pub rewritten: Vec<RewrittenNote>,
}

/// The result of a delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteOutcome {
    /// The note deleted.
    pub path: VaultPath,
    /// Where it went in the vault's `.trash/`, unless deleted permanently.
    pub trashed_to: Option<VaultPath>,
}

/// A write computed against the vault as it is, before anything changes: executed on the files
/// directly on one machine, or committed as [`FileChange`]s to the change log in cluster mode.
enum Plan {
    /// Create or replace one note.
    Put {
        path: VaultPath,
        bytes: Vec<u8>,
        expect: Expect,
    },
    /// Move a note or a folder, with the link rewrites in other notes.
    Move {
        from: VaultPath,
        to: VaultPath,
        journal: MoveJournal,
        /// Every file that moves (one for a note, each file of a folder).
        moves: Vec<(VaultPath, VaultPath)>,
    },
    /// Delete a note (into the trash unless `permanent`).
    Delete {
        path: VaultPath,
        current: String,
        aside: VaultPath,
        permanent: bool,
    },
}

/// What a planned put expects to find (an owned [`Replace`]).
enum Expect {
    Any,
    Absent,
    Matching(String),
}

impl Expect {
    fn replace(&self) -> Replace<'_> {
        match self {
            Self::Any => Replace::Any,
            Self::Absent => Replace::Absent,
            Self::Matching(hash) => Replace::Matching(hash),
        }
    }
}

impl Plan {
    /// The plan as file changes, for the change log.
    fn into_changes(self) -> Vec<FileChange> {
        match self {
            Self::Put { path, bytes, .. } => vec![FileChange::Put { path, bytes }],
            Self::Move { journal, moves, .. } => {
                let mut changes: Vec<FileChange> = moves
                    .into_iter()
                    .map(|(from, to)| FileChange::Rename { from, to })
                    .collect();
                changes.extend(journal.rewrites.into_iter().filter_map(|r| {
                    Some(FileChange::Put {
                        path: VaultPath::normalize(&r.path).ok()?,
                        bytes: r.after.into_bytes(),
                    })
                }));
                changes
            }
            Self::Delete {
                path,
                permanent: true,
                ..
            } => vec![FileChange::Remove { path }],
            Self::Delete { path, aside, .. } => vec![FileChange::Rename {
                from: path,
                to: aside,
            }],
        }
    }
}

impl Vault {
    /// Writes on behalf of a request: like [`Vault::write_note`] and the others, but recorded
    /// with `meta` in cluster mode, and answered with the write's sequence number there.
    pub fn writer<'a>(&'a self, meta: &'a WriteMeta) -> Writer<'a> {
        Writer { vault: self, meta }
    }

    /// Creates or replaces a note with `content` (UTF-8 Markdown).
    pub fn write_note(
        &self,
        path: &str,
        content: &[u8],
        precondition: &Precondition,
    ) -> Result<WriteOutcome, AppError> {
        let meta = WriteMeta::default();
        Ok(self
            .writer(&meta)
            .write_note(path, content, precondition)?
            .outcome)
    }

    /// Applies edit operations to a note, all or nothing. With `if_match`, the note must still
    /// have that hash; without, the edit applies to the current content, and a change made by
    /// another program between reading and writing is still detected.
    pub fn patch_note(
        &self,
        path: &str,
        ops: &[EditOp],
        if_match: Option<&str>,
    ) -> Result<WriteOutcome, AppError> {
        let meta = WriteMeta::default();
        Ok(self.writer(&meta).patch_note(path, ops, if_match)?.outcome)
    }

    /// Moves or renames a note or a folder. With `update_links`, every wikilink, embed and
    /// Markdown link that pointed at a moved file is rewritten in place, in every note.
    ///
    /// All or nothing: the move and its rewrites are journaled first; a failure part-way undoes
    /// what was done, and a crash is finished on the next open.
    pub fn move_note(
        &self,
        from: &str,
        to: &str,
        update_links: bool,
        if_match: Option<&str>,
    ) -> Result<MoveOutcome, AppError> {
        let meta = WriteMeta::default();
        Ok(self
            .writer(&meta)
            .move_note(from, to, update_links, if_match)?
            .outcome)
    }

    /// Deletes a note: into the vault's `.trash/` (as Obsidian does) or permanently.
    pub fn delete_note(
        &self,
        path: &str,
        permanent: bool,
        if_match: Option<&str>,
    ) -> Result<DeleteOutcome, AppError> {
        let meta = WriteMeta::default();
        Ok(self
            .writer(&meta)
            .delete_note(path, permanent, if_match)?
            .outcome)
    }

    /// Plans a write and carries it out: on the files, or through the change log in cluster
    /// mode. The caller holds the write lock.
    fn run<T: Serialize + DeserializeOwned>(
        &self,
        meta: &WriteMeta,
        kind: &'static str,
        mut plan: impl FnMut() -> Result<(Plan, T), AppError>,
    ) -> Result<Written<T>, AppError> {
        let Some(log) = self.change_log() else {
            let (plan, outcome) = plan()?;
            self.execute(plan)?;
            return Ok(Written { outcome, seq: None });
        };
        let committed = log.commit(self, meta, kind, &mut || {
            let (plan, outcome) = plan()?;
            let outcome = serde_json::to_value(&outcome).map_err(|e| {
                AppError::ClusterUnavailable(format!("cannot record the outcome: {e}"))
            })?;
            Ok(Planned {
                changes: plan.into_changes(),
                outcome,
            })
        })?;
        let outcome = serde_json::from_value(committed.outcome).map_err(|e| {
            AppError::ClusterUnavailable(format!("the recorded outcome cannot be read: {e}"))
        })?;
        Ok(Written {
            outcome,
            seq: Some(committed.seq),
        })
    }

    /// Carries out a plan on the vault's files with the safe-write protocol (one machine: the
    /// files are the truth, and other programs may change them meanwhile).
    fn execute(&self, plan: Plan) -> Result<(), AppError> {
        match plan {
            Plan::Put {
                path,
                bytes,
                expect,
            } => {
                self.put(&path, &bytes, expect.replace())?;
                self.sync_after_write(vec![path]);
                Ok(())
            }
            Plan::Move {
                from, to, journal, ..
            } => self.execute_move(&from, &to, journal),
            Plan::Delete {
                path,
                current,
                aside,
                permanent,
            } => self.execute_delete(&path, &current, &aside, permanent),
        }
    }

    fn plan_write(
        &self,
        path: &VaultPath,
        content: &[u8],
        precondition: &Precondition,
    ) -> Result<(Plan, WriteOutcome), AppError> {
        let current = self.current_hash(path)?;
        let expect = match precondition {
            Precondition::Any => Expect::Any,
            Precondition::Absent => Expect::Absent,
            Precondition::Matches(hash) => Expect::Matching(hash.clone()),
        };
        check(path, &expect.replace(), current.as_deref())?;
        let outcome = WriteOutcome {
            path: path.clone(),
            hash: content_hash(content),
            created: current.is_none(),
            size: content.len() as u64,
        };
        let plan = Plan::Put {
            path: path.clone(),
            bytes: content.to_vec(),
            expect,
        };
        Ok((plan, outcome))
    }

    fn plan_patch(
        &self,
        path: &VaultPath,
        ops: &[EditOp],
        if_match: Option<&str>,
    ) -> Result<(Plan, WriteOutcome), AppError> {
        let bytes = self.fs().read(path).map_err(|e| self.fs_error(path, e))?;
        let hash = content_hash(&bytes);
        if let Some(expected) = if_match {
            check(path, &Replace::Matching(expected), Some(&hash))?;
        }
        let text = std::str::from_utf8(&bytes).map_err(|e| AppError::InvalidContent {
            path: path.to_string(),
            reason: format!(
                "the note is not valid UTF-8 at byte {}; replace it instead of patching",
                e.valid_up_to()
            ),
        })?;
        let edited = apply_edits(path, text, ops)?;
        let outcome = WriteOutcome {
            path: path.clone(),
            hash: content_hash(edited.as_bytes()),
            created: false,
            size: edited.len() as u64,
        };
        let plan = Plan::Put {
            path: path.clone(),
            bytes: edited.into_bytes(),
            expect: Expect::Matching(hash),
        };
        Ok((plan, outcome))
    }

    fn plan_move(
        &self,
        from: &VaultPath,
        to: &VaultPath,
        update_links: bool,
        if_match: Option<&str>,
    ) -> Result<(Plan, MoveOutcome), AppError> {
        let entry = match self.fs().stat(from) {
            Ok(Some(entry)) if entry.is_file() || entry.is_dir() => entry,
            Ok(Some(_)) => return Err(AppError::SymlinkNotAllowed(from.to_string())),
            Ok(None) | Err(FsError::NotFound) => {
                return Err(not_found(&self.snapshot(), from));
            }
            Err(e) => return Err(self.fs_error(from, e)),
        };
        match self.fs().stat(to) {
            Ok(None) | Err(FsError::NotFound) => {}
            Ok(Some(_)) => return Err(AppError::DestinationExists(to.to_string())),
            Err(e) => return Err(self.fs_error(to, e)),
        }
        if to.as_str().starts_with(&format!("{}/", from.as_str())) {
            return Err(AppError::InvalidMove {
                from: from.to_string(),
                to: to.to_string(),
                reason: "a folder cannot move into itself".to_owned(),
            });
        }
        let snapshot = self.snapshot();
        // Every file that moves, old path -> new path.
        let moves: HashMap<VaultPath, VaultPath> = if entry.is_dir() {
            let prefix = format!("{}/", from.as_str());
            snapshot
                .resolver()
                .files()
                .iter()
                .filter_map(|p| {
                    let rest = p.as_str().strip_prefix(&prefix)?;
                    let new = VaultPath::normalize(&format!("{}/{rest}", to.as_str())).ok()?;
                    Some((p.clone(), new))
                })
                .collect()
        } else {
            if from.is_note() != to.is_note() {
                return Err(AppError::InvalidMove {
                    from: from.to_string(),
                    to: to.to_string(),
                    reason: "a note must keep the `.md` extension".to_owned(),
                });
            }
            if let Some(expected) = if_match {
                let current = self.current_hash(from)?;
                check(from, &Replace::Matching(expected), current.as_deref())?;
            }
            HashMap::from([(from.clone(), to.clone())])
        };

        // Compute every rewrite before touching anything: a rewrite that cannot be computed
        // aborts the move with the vault unchanged.
        let mut rewrites: Vec<(JournalRewrite, Vec<RewrittenLink>)> = Vec::new();
        if update_links {
            let after = Resolver::new(
                snapshot
                    .resolver()
                    .files()
                    .iter()
                    .map(|p| moves.get(p).unwrap_or(p).clone()),
            );
            let resolves_to = |from: &VaultPath, target: &str| {
                after
                    .resolve(from, target)
                    .and_then(|id| after.path(id))
                    .cloned()
            };
            for record in snapshot.notes() {
                let points_at_moved = record
                    .resolved
                    .iter()
                    .flatten()
                    .any(|t| moves.contains_key(t));
                let moves_itself = moves.contains_key(&record.path);
                if !points_at_moved && !moves_itself {
                    continue;
                }
                let bytes = match self.fs().read(&record.path) {
                    Ok(bytes) => bytes,
                    // Gone or replaced by a link since it was indexed: nothing to rewrite.
                    Err(FsError::NotFound | FsError::Symlink | FsError::WrongType) => continue,
                    Err(e) => return Err(self.fs_error(&record.path, e)),
                };
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    continue;
                };
                // Parse afresh: the file may have changed since it was indexed, and ranges must
                // match the bytes being rewritten.
                let parsed = parse_note(&record.path, &bytes, &Default::default());
                let before = snapshot.resolver();
                let resolved: Vec<Option<VaultPath>> = parsed
                    .links
                    .iter()
                    .map(|l| {
                        before
                            .resolve(&record.path, &l.target)
                            .and_then(|id| before.path(id))
                            .cloned()
                    })
                    .collect();
                let new_path = moves.get(&record.path).unwrap_or(&record.path).clone();
                let rewrite = rewrite_links(
                    text,
                    &record.path,
                    &new_path,
                    &parsed.links,
                    &resolved,
                    &moves,
                    &resolves_to,
                );
                if !rewrite.changed.is_empty() {
                    same_links_after(
                        &record.path,
                        &parsed.links,
                        &rewrite.text,
                        &Relinked {
                            new_path: &new_path,
                            resolved: &resolved,
                            moves: &moves,
                            resolves_to: &resolves_to,
                        },
                        from,
                        to,
                    )?;
                    rewrites.push((
                        JournalRewrite {
                            path: new_path.to_string(),
                            before_hash: content_hash(&bytes),
                            after_hash: content_hash(rewrite.text.as_bytes()),
                            before: text.to_owned(),
                            after: rewrite.text,
                        },
                        rewrite.changed,
                    ));
                }
            }
        }
        let journal = MoveJournal::new(
            from.to_string(),
            to.to_string(),
            rewrites.iter().map(|(r, _)| r.clone()).collect(),
        );
        let rewritten = rewrites
            .into_iter()
            .filter_map(|(r, links)| {
                Some(RewrittenNote {
                    path: VaultPath::normalize(&r.path).ok()?,
                    links,
                })
            })
            .collect();
        let mut moved: Vec<(VaultPath, VaultPath)> = moves.into_iter().collect();
        moved.sort();
        let outcome = MoveOutcome {
            moved: moved.clone(),
            rewritten,
        };
        let plan = Plan::Move {
            from: from.clone(),
            to: to.clone(),
            journal,
            moves: moved,
        };
        Ok((plan, outcome))
    }

    /// A planned move on the files: journaled first; a failure part-way is rolled back.
    fn execute_move(
        &self,
        from: &VaultPath,
        to: &VaultPath,
        mut journal: MoveJournal,
    ) -> Result<(), AppError> {
        // The intent first: after a crash from here on, the next open finishes the move.
        let mut handle = journal::begin(self.fs(), &journal)?;
        let applied = journal::apply_forward(self.fs(), &journal);
        let mut touched: Vec<VaultPath> = vec![from.clone(), to.clone()];
        touched.extend(
            journal
                .rewrites
                .iter()
                .filter_map(|r| VaultPath::normalize(&r.path).ok()),
        );
        if let Err(failure) = applied {
            tracing::warn!(from = %from, to = %to, error = %failure.error, "move failed part-way; rolling back");
            journal.rollback = true;
            let undone = handle
                .record(self.fs(), &journal)
                .and_then(|()| journal::apply_rollback(self.fs(), &journal, failure.done));
            match undone {
                Ok(()) => handle.finish(self.fs()),
                Err(error) => {
                    // The journal stays: the next open rolls back what is left.
                    tracing::error!(from = %from, to = %to, %error, "rolling back the move failed; the next start finishes it");
                    handle.keep();
                }
            }
            self.sync_after_write(touched);
            return Err(self.fs_error_of_step(failure));
        }
        handle.finish(self.fs());
        self.sync_after_write(touched);
        Ok(())
    }

    fn plan_delete(
        &self,
        path: &VaultPath,
        permanent: bool,
        if_match: Option<&str>,
    ) -> Result<(Plan, DeleteOutcome), AppError> {
        let Some(current) = self.current_hash(path)? else {
            return Err(not_found(&self.snapshot(), path));
        };
        if let Some(expected) = if_match {
            check(path, &Replace::Matching(expected), Some(&current))?;
        }
        let aside = if permanent {
            self.fs().aside_name(path)
        } else {
            self.trash_slot(path)?
        };
        let outcome = DeleteOutcome {
            path: path.clone(),
            trashed_to: (!permanent).then(|| aside.clone()),
        };
        let plan = Plan::Delete {
            path: path.clone(),
            current,
            aside,
            permanent,
        };
        Ok((plan, outcome))
    }

    /// A planned delete on the files: out of the way first (a rename, atomic), then a check
    /// that what moved is the version the caller meant: an edit that landed meanwhile is put
    /// back and reported as a conflict.
    fn execute_delete(
        &self,
        path: &VaultPath,
        current: &str,
        aside: &VaultPath,
        permanent: bool,
    ) -> Result<(), AppError> {
        self.fs()
            .rename(path, aside)
            .map_err(|e| self.fs_error(path, e))?;
        let moved = self.fs().read(aside).ok().map(|b| content_hash(&b));
        if moved.as_deref() != Some(current) {
            if let Err(error) = self.fs().rename(aside, path) {
                tracing::error!(note = %path, aside = %aside, %error, "cannot restore a note changed during its delete");
            }
            return Err(AppError::Conflict {
                path: path.to_string(),
                expected: current.to_owned(),
                actual: moved,
            });
        }
        if permanent {
            self.fs()
                .remove_file(aside)
                .map_err(|e| self.fs_error(path, e))?;
        }
        self.sync_after_write(vec![path.clone()]);
        Ok(())
    }

    /// A free name under `.trash/` for `path`: the same relative path, numbered if taken.
    fn trash_slot(&self, path: &VaultPath) -> Result<VaultPath, AppError> {
        for n in 0..1000 {
            let candidate = if n == 0 {
                format!(".trash/{}", path.as_str())
            } else {
                let folder = path.folder();
                let name = format!("{} {n}.{}", path.stem(), path.extension());
                if folder.is_empty() {
                    format!(".trash/{name}")
                } else {
                    format!(".trash/{folder}/{name}")
                }
            };
            let trash = VaultPath::normalize(&candidate)?;
            match self.fs().stat(&trash) {
                Ok(None) | Err(FsError::NotFound) => return Ok(trash),
                Ok(Some(_)) => {}
                Err(e) => return Err(self.fs_error(&trash, e)),
            }
        }
        Err(AppError::io(
            self.root().join(".trash"),
            std::io::Error::other("no free name in the trash"),
        ))
    }

    /// The content hash of the note on disk, `None` when there is none.
    fn current_hash(&self, path: &VaultPath) -> Result<Option<String>, AppError> {
        match self.fs().read(path) {
            Ok(bytes) => Ok(Some(content_hash(&bytes))),
            Err(FsError::NotFound) => Ok(None),
            Err(e) => Err(self.fs_error(path, e)),
        }
    }

    /// Writes through the safe layer, mapping its outcome to the API's errors.
    fn put(&self, path: &VaultPath, bytes: &[u8], replace: Replace<'_>) -> Result<(), AppError> {
        self.fs()
            .write(path, bytes, replace)
            .map_err(|e| self.write_error(path, &replace, e))
    }

    pub(crate) fn write_error(
        &self,
        path: &VaultPath,
        replace: &Replace<'_>,
        error: WriteError,
    ) -> AppError {
        match error {
            WriteError::Exists => AppError::AlreadyExists(path.to_string()),
            WriteError::Changed(actual) => AppError::Conflict {
                path: path.to_string(),
                expected: match replace {
                    Replace::Matching(hash) => (*hash).to_owned(),
                    Replace::Any | Replace::Absent => String::new(),
                },
                actual,
            },
            WriteError::Fs(e) => self.fs_error(path, e),
        }
    }

    /// The API error for a failed file operation on `path`.
    pub(crate) fn fs_error(&self, path: &VaultPath, error: FsError) -> AppError {
        match error {
            FsError::NotFound => AppError::NoteNotFound {
                path: path.to_string(),
                suggestions: Vec::new(),
            },
            FsError::Symlink => AppError::SymlinkNotAllowed(path.to_string()),
            FsError::WrongType => AppError::NotAFile(path.to_string()),
            FsError::Exists => AppError::DestinationExists(path.to_string()),
            FsError::NameTooLong => AppError::NameTooLong(path.to_string()),
            FsError::TooLarge(size) => AppError::InvalidContent {
                path: path.to_string(),
                reason: format!("the file is too large ({size} bytes)"),
            },
            FsError::Io(source) => AppError::io(self.root().join(path.as_str()), source),
        }
    }

    fn fs_error_of_step(&self, failure: journal::StepFailure) -> AppError {
        match failure.error {
            journal::StepError::Write(path, error) => {
                let replace = Replace::Any;
                self.write_error(&path, &replace, error)
            }
            journal::StepError::Fs(path, error) => self.fs_error(&path, error),
            journal::StepError::Changed {
                path,
                expected,
                actual,
            } => AppError::Conflict {
                path: path.to_string(),
                expected,
                actual,
            },
            journal::StepError::BadPath(raw) => AppError::JournalUnavailable(raw),
        }
    }

    /// Brings the index up to date after a write that landed. An index failure does not undo
    /// the write: it is logged and the paths are kept for [`Vault::repair`].
    fn sync_after_write(&self, paths: Vec<VaultPath>) {
        if let Err(error) = self.sync(&Scope::Paths(paths)) {
            tracing::warn!(%error, "the write landed but the index could not be updated; it is repaired later");
        }
    }
}

/// Writes on behalf of one request ([`Vault::writer`]): each method validates its input, takes
/// the vault's write lock and plans and carries out the write.
#[derive(Debug)]
pub struct Writer<'a> {
    vault: &'a Vault,
    meta: &'a WriteMeta,
}

impl Writer<'_> {
    /// See [`Vault::write_note`].
    #[tracing::instrument(name = "vault.write_note", skip_all, fields(note.path = %path))]
    pub fn write_note(
        &self,
        path: &str,
        content: &[u8],
        precondition: &Precondition,
    ) -> Result<Written<WriteOutcome>, AppError> {
        let path = note_path(path)?;
        std::str::from_utf8(content).map_err(|e| AppError::InvalidContent {
            path: path.to_string(),
            reason: format!("not valid UTF-8 at byte {}", e.valid_up_to()),
        })?;
        let _guard = self.vault.write_guard()?;
        self.vault.run(self.meta, "write", || {
            self.vault.plan_write(&path, content, precondition)
        })
    }

    /// See [`Vault::patch_note`].
    #[tracing::instrument(name = "vault.patch_note", skip_all, fields(note.path = %path, ops = ops.len()))]
    pub fn patch_note(
        &self,
        path: &str,
        ops: &[EditOp],
        if_match: Option<&str>,
    ) -> Result<Written<WriteOutcome>, AppError> {
        let path = note_path(path)?;
        let _guard = self.vault.write_guard()?;
        self.vault.run(self.meta, "patch", || {
            self.vault.plan_patch(&path, ops, if_match)
        })
    }

    /// See [`Vault::move_note`].
    #[tracing::instrument(name = "vault.move_note", skip_all, fields(from = %from, to = %to))]
    pub fn move_note(
        &self,
        from: &str,
        to: &str,
        update_links: bool,
        if_match: Option<&str>,
    ) -> Result<Written<MoveOutcome>, AppError> {
        let from = visible_path(from)?;
        let to = visible_path(to)?;
        let _guard = self.vault.write_guard()?;
        // The notes to rewrite are found in the index: bring it up to date with the files
        // first, or a link saved by another program a moment ago (before the watcher's
        // debounce) would be missed and left pointing at the old path. In cluster mode the
        // local copy changes only through the log, so it is current already.
        if update_links && self.vault.change_log().is_none() {
            self.vault.sync(&crate::Scope::All)?;
        }
        self.vault.run(self.meta, "move", || {
            self.vault.plan_move(&from, &to, update_links, if_match)
        })
    }

    /// See [`Vault::delete_note`].
    #[tracing::instrument(name = "vault.delete_note", skip_all, fields(note.path = %path, permanent))]
    pub fn delete_note(
        &self,
        path: &str,
        permanent: bool,
        if_match: Option<&str>,
    ) -> Result<Written<DeleteOutcome>, AppError> {
        let path = note_path(path)?;
        let _guard = self.vault.write_guard()?;
        self.vault.run(self.meta, "delete", || {
            self.vault.plan_delete(&path, permanent, if_match)
        })
    }
}

/// A path a write may name: valid and not hidden (`.name` segments are never indexed, so a note
/// written or moved there would vanish from the vault and break its links).
fn visible_path(raw: &str) -> Result<VaultPath, AppError> {
    let path = VaultPath::new(raw)?;
    if path.as_str().split('/').any(|s| s.starts_with('.')) {
        return Err(AppError::HiddenPath(path.to_string()));
    }
    Ok(path)
}

fn note_path(raw: &str) -> Result<VaultPath, AppError> {
    let path = visible_path(raw)?;
    if !path.is_note() {
        return Err(AppError::NotANote(path.to_string()));
    }
    Ok(path)
}

fn not_found(snapshot: &crate::Snapshot, path: &VaultPath) -> AppError {
    snapshot
        .find(path.as_str())
        .err()
        .unwrap_or_else(|| AppError::NoteNotFound {
            path: path.to_string(),
            suggestions: Vec::new(),
        })
}

fn check(path: &VaultPath, expected: &Replace<'_>, current: Option<&str>) -> Result<(), AppError> {
    match (expected, current) {
        (Replace::Any, _) | (Replace::Absent, None) => Ok(()),
        (Replace::Absent, Some(_)) => Err(AppError::AlreadyExists(path.to_string())),
        (Replace::Matching(want), Some(have)) if *want == have => Ok(()),
        (Replace::Matching(want), have) => Err(AppError::Conflict {
            path: path.to_string(),
            expected: (*want).to_owned(),
            actual: have.map(str::to_owned),
        }),
    }
}

/// How a note's links should read after a move, for [`same_links_after`].
struct Relinked<'a> {
    /// Where the note is after the move.
    new_path: &'a VaultPath,
    /// What each link resolved to before the move (parallel to the links).
    resolved: &'a [Option<VaultPath>],
    moves: &'a HashMap<VaultPath, VaultPath>,
    /// How a target resolves after the move.
    resolves_to: &'a dyn Fn(&VaultPath, &str) -> Option<VaultPath>,
}

/// Refuses a move whose link rewrites would change how a note's Markdown reads. Only link
/// targets' bytes change, but a new name can still change the parse around them: a `)` in
/// `[[b)]]` closes an inline-link destination `](` left open before it, and `[%%]: [[Plan]]`
/// becomes a reference definition that `[%%]: [[Café culture]]` was not, which moves where a
/// `%%` comment ends. So the note is parsed again: every link must keep its kind, fragment,
/// display text and line, a link that resolved must resolve to its target's new path, and one
/// that did not must keep its target. Wikilinks have no escape for such names, so the move is
/// refused before anything is written.
fn same_links_after(
    note: &VaultPath,
    links: &[weaver_core::Link],
    after: &str,
    relinked: &Relinked<'_>,
    from: &VaultPath,
    to: &VaultPath,
) -> Result<(), AppError> {
    let reparsed = parse_note(relinked.new_path, after.as_bytes(), &Default::default());
    let shape = |l: &weaver_core::Link| (l.kind, l.fragment.clone(), l.display.clone());
    let same = |i: usize, a: &weaver_core::Link, b: &weaver_core::Link| {
        shape(a) == shape(b)
            && a.line == b.line
            && match relinked.resolved.get(i).cloned().flatten() {
                Some(target) => {
                    let moved = relinked.moves.get(&target).unwrap_or(&target);
                    (relinked.resolves_to)(relinked.new_path, &b.target).as_ref() == Some(moved)
                }
                None => a.target == b.target,
            }
    };
    let differs = reparsed.links.len() != links.len()
        || links
            .iter()
            .zip(&reparsed.links)
            .enumerate()
            .any(|(i, (a, b))| !same(i, a, b));
    if differs {
        let line = links
            .iter()
            .zip(&reparsed.links)
            .enumerate()
            .find(|(i, (a, b))| !same(*i, a, b) || a.line != b.line)
            .map(|(_, pair)| pair)
            .map_or_else(
                || {
                    reparsed
                        .links
                        .get(links.len())
                        .or(links.last())
                        .map_or(1, |l| l.line)
                },
                |(a, _)| a.line,
            );
        return Err(AppError::InvalidMove {
            from: from.to_string(),
            to: to.to_string(),
            reason: format!(
                "rewriting the links in `{note}` to the new name would change how its Markdown \
                 reads near line {line}; rename to a name without the characters that cause it \
                 (such as `(`, `)`, `[`, `]`)"
            ),
        });
    }
    Ok(())
}
