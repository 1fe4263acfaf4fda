//! Live change notifications of a vault, fanned out to Server-Sent-Events subscribers.
//!
//! Every vault has one [`VaultEvents`] (a `tokio::sync::broadcast` channel). The watcher
//! publishes what each sync changed; the write routes publish what they wrote, through the same
//! handle:
//!
//! ```ignore
//! let entry = state.vaults.get("default")?;
//! entry.events.publish(VaultEvent::NoteUpdated { path, hash: Some(new_hash) });
//! ```
//!
//! Publishing never blocks and never fails: with no subscriber the event is dropped, and a
//! subscriber that falls more than [`CAPACITY`] events behind gets an `events.lagged` event
//! telling how many it missed (then it should re-read what it shows).

use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;
use weaver_app::{Change, ChangeKind};
use weaver_core::VaultPath;

/// Events buffered per subscriber before it counts as lagging.
pub const CAPACITY: usize = 1024;

/// Something that happened to a vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultEvent {
    /// A note appeared.
    NoteCreated {
        /// The note.
        path: VaultPath,
        /// Its content hash (the `ETag` of `GET notes/{path}`), when known.
        hash: Option<String>,
    },
    /// A note's content changed.
    NoteUpdated {
        /// The note.
        path: VaultPath,
        /// Its new content hash, when known.
        hash: Option<String>,
    },
    /// A note is gone.
    NoteDeleted {
        /// The note.
        path: VaultPath,
    },
    /// An attachment appeared.
    FileCreated {
        /// The attachment.
        path: VaultPath,
    },
    /// An attachment changed.
    FileUpdated {
        /// The attachment.
        path: VaultPath,
    },
    /// An attachment is gone.
    FileDeleted {
        /// The attachment.
        path: VaultPath,
    },
    /// The initial index is done: the vault answers queries.
    IndexReady {
        /// Notes indexed.
        notes: usize,
        /// Attachments seen.
        attachments: usize,
    },
}

impl VaultEvent {
    /// The event for one change a sync reported; `hash` is the note's new content hash.
    pub fn from_change(change: &Change, hash: Option<String>) -> Self {
        let path = change.path.clone();
        match (change.path.is_note(), change.kind) {
            (true, ChangeKind::Created) => Self::NoteCreated { path, hash },
            (true, ChangeKind::Modified) => Self::NoteUpdated { path, hash },
            (true, ChangeKind::Deleted) => Self::NoteDeleted { path },
            (false, ChangeKind::Created) => Self::FileCreated { path },
            (false, ChangeKind::Modified) => Self::FileUpdated { path },
            (false, ChangeKind::Deleted) => Self::FileDeleted { path },
        }
    }

    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NoteCreated { .. } => "note.created",
            Self::NoteUpdated { .. } => "note.updated",
            Self::NoteDeleted { .. } => "note.deleted",
            Self::FileCreated { .. } => "file.created",
            Self::FileUpdated { .. } => "file.updated",
            Self::FileDeleted { .. } => "file.deleted",
            Self::IndexReady { .. } => "index.ready",
        }
    }

    /// The SSE `data` of this event in `vault`.
    pub fn data(&self, vault: &str) -> EventData {
        let vault = vault.to_owned();
        match self {
            Self::NoteCreated { path, hash } | Self::NoteUpdated { path, hash } => {
                EventData::Change(ChangeData {
                    vault,
                    path: path.to_string(),
                    hash: hash.clone(),
                })
            }
            Self::NoteDeleted { path }
            | Self::FileCreated { path }
            | Self::FileUpdated { path }
            | Self::FileDeleted { path } => EventData::Change(ChangeData {
                vault,
                path: path.to_string(),
                hash: None,
            }),
            Self::IndexReady { notes, attachments } => EventData::Ready(ReadyData {
                vault,
                notes: *notes,
                attachments: *attachments,
            }),
        }
    }
}

/// The `data` of an SSE event.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum EventData {
    /// `note.*` and `file.*`.
    Change(ChangeData),
    /// `index.ready`.
    Ready(ReadyData),
}

/// Data of `note.created`, `note.updated`, `note.deleted`, `file.created`, `file.updated` and
/// `file.deleted`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeData {
    /// The vault.
    pub vault: String,
    /// The file's vault path.
    pub path: String,
    /// For created and updated notes: the new content hash (the note's `ETag`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// Data of `index.ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyData {
    /// The vault.
    pub vault: String,
    /// Notes indexed.
    pub notes: usize,
    /// Attachments seen.
    pub attachments: usize,
}

/// Data of `events.lagged`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LaggedData {
    /// The vault.
    pub vault: String,
    /// Events this subscriber missed.
    pub skipped: u64,
}

/// The event channel of one vault. Cheap to clone.
#[derive(Debug, Clone)]
pub struct VaultEvents {
    tx: broadcast::Sender<VaultEvent>,
}

impl Default for VaultEvents {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl VaultEvents {
    /// Sends `event` to every current subscriber.
    pub fn publish(&self, event: VaultEvent) {
        // An error only means nobody is listening.
        let _ = self.tx.send(event);
    }

    /// A new subscription, starting with the next published event.
    pub fn subscribe(&self) -> broadcast::Receiver<VaultEvent> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_map_to_event_names() {
        let change = |path: &str, kind| Change {
            path: VaultPath::new(path).unwrap(),
            kind,
        };
        let names: Vec<&str> = [
            change("a.md", ChangeKind::Created),
            change("a.md", ChangeKind::Modified),
            change("a.md", ChangeKind::Deleted),
            change("i.png", ChangeKind::Created),
            change("i.png", ChangeKind::Modified),
            change("i.png", ChangeKind::Deleted),
        ]
        .iter()
        .map(|c| VaultEvent::from_change(c, None).name())
        .collect();
        assert_eq!(
            names,
            [
                "note.created",
                "note.updated",
                "note.deleted",
                "file.created",
                "file.updated",
                "file.deleted"
            ]
        );
        let data = VaultEvent::from_change(&change("a.md", ChangeKind::Created), Some("h".into()))
            .data("v");
        assert_eq!(
            serde_json::to_value(data).unwrap(),
            serde_json::json!({"vault": "v", "path": "a.md", "hash": "h"})
        );
    }

    #[tokio::test]
    async fn lagging_subscribers_are_told_how_much_they_missed() {
        let events = VaultEvents::default();
        let mut rx = events.subscribe();
        for i in 0..CAPACITY + 5 {
            events.publish(VaultEvent::IndexReady {
                notes: i,
                attachments: 0,
            });
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(5))
        ));
        assert!(rx.recv().await.is_ok());
    }
}
