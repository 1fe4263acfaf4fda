//! Safe writes: create, replace, patch, move (with link rewriting) and delete notes.
//!
//! Every write follows one protocol:
//! 1. the path is validated ([`VaultPath::new`]) and no existing component of it may be a
//!    symbolic link, so nothing can be written outside the vault;
//! 2. the new bytes go to a hidden temporary file in the target's folder and are fsynced;
//! 3. just before the rename, the file on disk is hashed again and compared with what the caller
//!    based the write on (`If-Match`), so an edit made meanwhile by another program (Obsidian,
//!    git, a sync client) is a conflict instead of a lost update; creating uses a hard link, which
//!    fails if the name appeared meanwhile;
//! 4. the temporary file is renamed over the target (atomic on POSIX) and the folder fsynced;
//! 5. the vault is synced for the touched paths before returning, so a read after a write sees it.
//!
//! Writes to one vault are serialised by one mutex: a read-modify-write never interleaves with
//! another, and a move that rewrites links in many notes is one unit.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use weaver_core::{
    EditOp, Resolver, RewrittenLink, VaultPath, apply_edits, content_hash, parse_note,
    rewrite_links,
};

use crate::AppError;
use crate::vault::{Scope, Vault};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewrittenNote {
    /// The note whose links were rewritten (at its new path if it moved).
    pub path: VaultPath,
    /// The links changed, before and after.
    pub links: Vec<RewrittenLink>,
}

/// The result of a move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoveOutcome {
    /// Every file moved, old and new path (one entry for a note, many for a folder).
    pub moved: Vec<(VaultPath, VaultPath)>,
    /// Notes whose links were rewritten.
    pub rewritten: Vec<RewrittenNote>,
}

/// The result of a delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeleteOutcome {
    /// The note deleted.
    pub path: VaultPath,
    /// Where it went in the vault's `.trash/`, unless deleted permanently.
    pub trashed_to: Option<VaultPath>,
}

impl Vault {
    /// Creates or replaces a note with `content` (UTF-8 Markdown).
    #[tracing::instrument(name = "vault.write_note", skip_all, fields(note.path = %path))]
    pub fn write_note(
        &self,
        path: &str,
        content: &[u8],
        precondition: &Precondition,
    ) -> Result<WriteOutcome, AppError> {
        let path = note_path(path)?;
        std::str::from_utf8(content).map_err(|e| AppError::InvalidContent {
            path: path.to_string(),
            reason: format!("not valid UTF-8 at byte {}", e.valid_up_to()),
        })?;
        let _guard = self.write_guard()?;
        let absolute = self.safe_absolute(&path)?;
        let current = read_hash(&absolute)?;
        let expected = match precondition {
            Precondition::Any => Expected::Any,
            Precondition::Absent => Expected::Absent,
            Precondition::Matches(hash) => Expected::Hash(hash.clone()),
        };
        check(&path, &expected, current.as_deref())?;
        let created = current.is_none();
        atomic_write(&absolute, content, &path, &expected)?;
        self.sync(&Scope::Paths(vec![path.clone()]))?;
        Ok(WriteOutcome {
            path,
            hash: content_hash(content),
            created,
            size: content.len() as u64,
        })
    }

    /// Applies edit operations to a note, all or nothing. With `if_match`, the note must still
    /// have that hash; without, the edit applies to the current content, and a change made by
    /// another program between reading and writing is still detected.
    #[tracing::instrument(name = "vault.patch_note", skip_all, fields(note.path = %path, ops = ops.len()))]
    pub fn patch_note(
        &self,
        path: &str,
        ops: &[EditOp],
        if_match: Option<&str>,
    ) -> Result<WriteOutcome, AppError> {
        let path = note_path(path)?;
        let _guard = self.write_guard()?;
        let absolute = self.safe_absolute(&path)?;
        let bytes = read_existing(&absolute, &path)?;
        let hash = content_hash(&bytes);
        if let Some(expected) = if_match {
            check(&path, &Expected::Hash(expected.to_owned()), Some(&hash))?;
        }
        let text = std::str::from_utf8(&bytes).map_err(|e| AppError::InvalidContent {
            path: path.to_string(),
            reason: format!(
                "the note is not valid UTF-8 at byte {}; replace it instead of patching",
                e.valid_up_to()
            ),
        })?;
        let edited = apply_edits(&path, text, ops)?;
        atomic_write(&absolute, edited.as_bytes(), &path, &Expected::Hash(hash))?;
        self.sync(&Scope::Paths(vec![path.clone()]))?;
        Ok(WriteOutcome {
            path,
            hash: content_hash(edited.as_bytes()),
            created: false,
            size: edited.len() as u64,
        })
    }

    /// Moves or renames a note or a folder. With `update_links`, every wikilink, embed and
    /// Markdown link that pointed at a moved file is rewritten in place, in every note.
    #[tracing::instrument(name = "vault.move_note", skip_all, fields(from = %from, to = %to))]
    pub fn move_note(
        &self,
        from: &str,
        to: &str,
        update_links: bool,
        if_match: Option<&str>,
    ) -> Result<MoveOutcome, AppError> {
        let from = VaultPath::new(from)?;
        let to = VaultPath::new(to)?;
        let _guard = self.write_guard()?;
        let from_abs = self.safe_absolute(&from)?;
        let to_abs = self.safe_absolute(&to)?;
        let meta = std::fs::symlink_metadata(&from_abs).map_err(|_| {
            let snapshot = self.snapshot();
            not_found(&snapshot, &from)
        })?;
        if to_abs.exists() {
            return Err(AppError::DestinationExists(to.to_string()));
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
        let moves: HashMap<VaultPath, VaultPath> = if meta.is_dir() {
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
                let current = read_hash(&from_abs)?;
                check(
                    &from,
                    &Expected::Hash(expected.to_owned()),
                    current.as_deref(),
                )?;
            }
            HashMap::from([(from.clone(), to.clone())])
        };

        // Compute every rewrite before touching anything: a rewrite that cannot be computed
        // aborts the move with the vault unchanged.
        let mut rewrites: Vec<(VaultPath, VaultPath, String, String, Vec<RewrittenLink>)> =
            Vec::new();
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
                let absolute = self.root().join(record.path.as_str());
                let bytes = read_existing(&absolute, &record.path)?;
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
                    rewrites.push((
                        record.path.clone(),
                        new_path,
                        content_hash(&bytes),
                        rewrite.text,
                        rewrite.changed,
                    ));
                }
            }
        }

        // Move, then rewrite the notes that pointed at what moved.
        if let Some(parent) = to_abs.parent() {
            fs_err::create_dir_all(parent).map_err(|e| AppError::io(parent, e))?;
        }
        fs_err::rename(&from_abs, &to_abs).map_err(|e| AppError::io(&from_abs, e))?;
        sync_parent(&to_abs);
        let mut rewritten = Vec::new();
        for (_, new_path, hash, text, links) in rewrites {
            let absolute = self.root().join(new_path.as_str());
            atomic_write(&absolute, text.as_bytes(), &new_path, &Expected::Hash(hash))?;
            rewritten.push(RewrittenNote {
                path: new_path,
                links,
            });
        }
        let mut touched: Vec<VaultPath> = vec![from.clone(), to.clone()];
        touched.extend(rewritten.iter().map(|r| r.path.clone()));
        self.sync(&Scope::Paths(touched))?;
        let mut moved: Vec<(VaultPath, VaultPath)> = moves.into_iter().collect();
        moved.sort();
        Ok(MoveOutcome { moved, rewritten })
    }

    /// Deletes a note: into the vault's `.trash/` (as Obsidian does) or permanently.
    #[tracing::instrument(name = "vault.delete_note", skip_all, fields(note.path = %path, permanent))]
    pub fn delete_note(
        &self,
        path: &str,
        permanent: bool,
        if_match: Option<&str>,
    ) -> Result<DeleteOutcome, AppError> {
        let path = note_path(path)?;
        let _guard = self.write_guard()?;
        let absolute = self.safe_absolute(&path)?;
        let current = read_hash(&absolute)?;
        let Some(current) = current else {
            return Err(not_found(&self.snapshot(), &path));
        };
        if let Some(expected) = if_match {
            check(&path, &Expected::Hash(expected.to_owned()), Some(&current))?;
        }
        let trashed_to = if permanent {
            fs_err::remove_file(&absolute).map_err(|e| AppError::io(&absolute, e))?;
            None
        } else {
            let (trash_path, trash_abs) = self.trash_slot(&path)?;
            if let Some(parent) = trash_abs.parent() {
                fs_err::create_dir_all(parent).map_err(|e| AppError::io(parent, e))?;
            }
            fs_err::rename(&absolute, &trash_abs).map_err(|e| AppError::io(&absolute, e))?;
            Some(trash_path)
        };
        sync_parent(&absolute);
        self.sync(&Scope::Paths(vec![path.clone()]))?;
        Ok(DeleteOutcome { path, trashed_to })
    }

    /// A free name under `.trash/` for `path`: the same relative path, numbered if taken.
    fn trash_slot(&self, path: &VaultPath) -> Result<(VaultPath, PathBuf), AppError> {
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
            let absolute = self.root().join(trash.as_str());
            if !absolute.exists() {
                return Ok((trash, absolute));
            }
        }
        Err(AppError::io(
            self.root().join(".trash"),
            std::io::Error::other("no free name in the trash"),
        ))
    }

    /// The absolute path of `path`, refusing any existing component that is a symbolic link.
    fn safe_absolute(&self, path: &VaultPath) -> Result<PathBuf, AppError> {
        let mut current = self.root().to_path_buf();
        for segment in path.as_str().split('/') {
            current.push(segment);
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(AppError::SymlinkNotAllowed(path.to_string()));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(self.root().join(path.as_str()))
    }
}

/// What the file on disk must be just before a write lands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    Any,
    Absent,
    Hash(String),
}

fn note_path(raw: &str) -> Result<VaultPath, AppError> {
    let path = VaultPath::new(raw)?;
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

fn check(path: &VaultPath, expected: &Expected, current: Option<&str>) -> Result<(), AppError> {
    match (expected, current) {
        (Expected::Any, _) | (Expected::Absent, None) => Ok(()),
        (Expected::Absent, Some(_)) => Err(AppError::AlreadyExists(path.to_string())),
        (Expected::Hash(want), Some(have)) if want == have => Ok(()),
        (Expected::Hash(want), have) => Err(AppError::Conflict {
            path: path.to_string(),
            expected: want.clone(),
            actual: have.map(str::to_owned),
        }),
    }
}

fn read_existing(absolute: &Path, path: &VaultPath) -> Result<Vec<u8>, AppError> {
    match std::fs::read(absolute) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::NoteNotFound {
            path: path.to_string(),
            suggestions: Vec::new(),
        }),
        Err(e) => Err(AppError::io(absolute, e)),
    }
}

/// The content hash of the file, `None` when it does not exist.
fn read_hash(absolute: &Path) -> Result<Option<String>, AppError> {
    match std::fs::read(absolute) {
        Ok(bytes) => Ok(Some(content_hash(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AppError::io(absolute, e)),
    }
}

/// Writes `bytes` to `absolute` through a temporary file, re-checking `expected` just before the
/// file replaces the old one.
fn atomic_write(
    absolute: &Path,
    bytes: &[u8],
    path: &VaultPath,
    expected: &Expected,
) -> Result<(), AppError> {
    let parent = absolute
        .parent()
        .ok_or_else(|| AppError::io(absolute, std::io::Error::other("no parent folder")))?;
    fs_err::create_dir_all(parent).map_err(|e| AppError::io(parent, e))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".weaver-write-")
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(|e| AppError::io(parent, e))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| AppError::io(temp.path(), e))?;
    match expected {
        Expected::Absent => {
            // A hard link fails if the name exists: creation can never clobber a file that
            // appeared after the check.
            std::fs::hard_link(temp.path(), absolute).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    AppError::AlreadyExists(path.to_string())
                } else {
                    AppError::io(absolute, e)
                }
            })?;
        }
        Expected::Hash(_) | Expected::Any => {
            check(path, expected, read_hash(absolute)?.as_deref())?;
            temp.persist(absolute)
                .map_err(|e| AppError::io(absolute, e.error))?;
        }
    }
    sync_parent(absolute);
    Ok(())
}

/// fsyncs the folder holding `path` so a rename survives a crash (best effort: not every
/// filesystem supports it).
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent()
        && let Ok(dir) = std::fs::File::open(parent)
    {
        let _ = dir.sync_all();
    }
}
