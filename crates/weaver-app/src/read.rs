//! The one read of a note's bytes, for the CLI (`weaver note --content`), REST (`GET
//! notes/{path}`, JSON and Markdown) and the MCP tools (`read_note`, resources, prompts): the
//! input resolved against the snapshot, the bytes read through the vault's directory handle
//! (never through a symbolic link, never outside the vault), and the snapshot brought up to
//! date with those bytes when another program changed the file behind the index.

use std::sync::Arc;

use weaver_core::{VaultPath, content_hash};

use crate::vault::{Scope, Snapshot, Vault};
use crate::{AppError, CancellationToken, NoteDetails};

/// A note's bytes as one read found them, and a snapshot that describes them.
#[derive(Debug)]
pub struct NoteRead {
    /// The snapshot the note was resolved in; when the file had changed behind the index, the
    /// snapshot after re-indexing it, so its record matches `bytes` (unless the re-index
    /// failed, which is logged).
    pub snapshot: Arc<Snapshot>,
    /// The note's path.
    pub path: VaultPath,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// [`content_hash`] of `bytes`: the version a write's `If-Match` is checked against.
    pub hash: String,
}

impl NoteRead {
    /// The bytes as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Everything about the note (see [`Snapshot::details`]), with the hash and size of the
    /// bytes read rather than the index's.
    pub fn details(&self, cancel: &CancellationToken) -> Result<NoteDetails, AppError> {
        let mut details = self.snapshot.details(self.path.as_str(), cancel)?;
        details.hash.clone_from(&self.hash);
        details.size = self.bytes.len() as u64;
        Ok(details)
    }
}

impl Vault {
    /// Reads the note `input` names (a path, a path without `.md`, a name or an alias).
    ///
    /// When the bytes on disk are not the ones indexed (another program wrote the file and the
    /// watcher has not caught up), the note is re-indexed first and read again, so the
    /// metadata a caller shows next to the bytes describes them.
    pub fn read_note(&self, input: &str) -> Result<NoteRead, AppError> {
        let snapshot = self.snapshot();
        let record = snapshot.find_note(input)?;
        let path = record.path.clone();
        let bytes = self.read_file(&path)?;
        let hash = content_hash(&bytes);
        if hash == record.meta.hash {
            return Ok(NoteRead {
                snapshot,
                path,
                bytes,
                hash,
            });
        }
        if let Err(err) = self.sync(&Scope::Paths(vec![path.clone()])) {
            tracing::warn!(note.path = %path, error = %err, "cannot re-index a note that changed on disk");
        }
        let snapshot = self.snapshot();
        if snapshot.get(&path).is_none() {
            return Err(AppError::NoteNotFound {
                path: path.to_string(),
                suggestions: Vec::new(),
            });
        }
        let bytes = self.read_file(&path)?;
        let hash = content_hash(&bytes);
        Ok(NoteRead {
            snapshot,
            path,
            bytes,
            hash,
        })
    }
}
