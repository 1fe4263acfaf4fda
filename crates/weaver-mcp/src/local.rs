//! [`LocalBackend`]: the MCP backend over a vault open in this process.
//!
//! The vault may still be opening when the server starts ("serve immediately, index in the
//! background"): [`LocalBackend::opening`] hands out a [`VaultSlot`] that the caller fills once
//! `Vault::open` returns on a blocking thread. Meanwhile calls wait up to the backend's
//! `ready_wait` and then fail with `vault_not_ready`, so an MCP client can initialise and list
//! tools at once.
//!
//! Every vault call is blocking (file reads, tantivy, SQLite), so each runs on Tokio's blocking
//! pool and the protocol loop never stalls.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use weaver_app::{
    AppError, CancellationToken, NoteFilter, NoteOrder, Page as AppPage, Precondition, SearchQuery,
    Vault,
};

use super::backend::{
    BackendFuture, BacklinkEntry, DeleteRequest, DeleteResult, EditRequest, LinkCounts, LinkEntry,
    MentionEntry, MoveRequest, MoveResult, NeighborEntry, NeighborsRequest, NoteEntry, NotePage,
    NoteSource, Page, PathRequest, RecentNote, SearchPage, SearchRequest, SimilarPage, TagEntry,
    ToolError, UnresolvedEntry, VaultBackend, VaultCounts, Window, WritePrecondition, WriteRequest,
    WriteResult,
};
use super::wire;
use weaver_api::Code;
use weaver_api::dates::format_timestamp_ns;
use weaver_app::dto;

/// How long a call waits for a vault that is still opening, by default.
pub const DEFAULT_READY_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone)]
enum State {
    Opening,
    Ready(Arc<Vault>),
    Failed(ToolError),
}

/// The vault in this process, possibly still opening. Cheap to clone.
#[derive(Clone)]
pub struct LocalBackend {
    name: Arc<str>,
    state: watch::Receiver<State>,
    ready_wait: Duration,
}

impl std::fmt::Debug for LocalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBackend")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Where the opened vault (or the reason it failed to open) goes. Dropping it unfilled makes the
/// backend answer `vault_unavailable`.
pub struct VaultSlot {
    sender: watch::Sender<State>,
}

impl std::fmt::Debug for VaultSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSlot").finish_non_exhaustive()
    }
}

impl VaultSlot {
    /// Hands over the outcome of `Vault::open`.
    pub fn set(self, opened: Result<Arc<Vault>, AppError>) {
        let state = match opened {
            Ok(vault) => State::Ready(vault),
            Err(err) => State::Failed(ToolError::from(err)),
        };
        // `send_replace` stores the value even when no receiver is left.
        self.sender.send_replace(state);
    }
}

impl LocalBackend {
    /// A backend over a vault that is already open.
    pub fn new(name: &str, vault: Arc<Vault>) -> Self {
        let (sender, state) = watch::channel(State::Ready(vault));
        drop(sender);
        Self {
            name: Arc::from(name),
            state,
            ready_wait: Duration::ZERO,
        }
    }

    /// A backend whose vault is still opening: calls wait up to `ready_wait` for the slot to be
    /// filled, then fail with `vault_not_ready`.
    pub fn opening(name: &str, ready_wait: Duration) -> (Self, VaultSlot) {
        let (sender, state) = watch::channel(State::Opening);
        let backend = Self {
            name: Arc::from(name),
            state,
            ready_wait,
        };
        (backend, VaultSlot { sender })
    }

    /// The vault, once open.
    async fn vault(&self) -> Result<Arc<Vault>, ToolError> {
        let mut state = self.state.clone();
        let current = state.borrow_and_update().clone();
        let settled = match current {
            State::Opening => {
                let waited = tokio::time::timeout(
                    self.ready_wait,
                    state.wait_for(|s| !matches!(s, State::Opening)),
                )
                .await;
                match waited {
                    Ok(Ok(s)) => s.clone(),
                    // The slot was dropped without a vault: whoever opened it gave up.
                    Ok(Err(_)) => State::Failed(ToolError::new(
                        Code::VaultUnavailable,
                        format!("vault `{}` could not be opened", self.name),
                    )),
                    Err(_) => State::Opening,
                }
            }
            other => other,
        };
        match settled {
            State::Ready(vault) => Ok(vault),
            State::Failed(err) => Err(err),
            State::Opening => Err(ToolError::new(
                Code::VaultNotReady,
                format!(
                    "vault `{}` is still being indexed; retry in a few seconds",
                    self.name
                ),
            )),
        }
    }

    /// Runs `f` on the blocking pool with the open vault.
    async fn blocking<T, F>(&self, f: F) -> Result<T, ToolError>
    where
        T: Send + 'static,
        F: FnOnce(&Vault) -> Result<T, ToolError> + Send + 'static,
    {
        self.cancellable(move |vault, _| f(vault)).await
    }

    /// [`LocalBackend::blocking`] for work that checks a token between its steps: the token is
    /// cancelled when the call's future is dropped (the client cancelled it, or the session
    /// ended), so the work stops instead of finishing for nobody.
    async fn cancellable<T, F>(&self, f: F) -> Result<T, ToolError>
    where
        T: Send + 'static,
        F: FnOnce(&Vault, &CancellationToken) -> Result<T, ToolError> + Send + 'static,
    {
        let vault = self.vault().await?;
        weaver_service::cancel::run(move |cancel| f(&vault, cancel))
            .await
            .map_err(|e| ToolError::new(Code::InternalError, format!("a vault call failed: {e}")))?
    }
}

fn page(window: Window) -> AppPage {
    AppPage {
        limit: window.limit,
        offset: window.offset,
    }
}

fn note_entry(r: weaver_app::NoteRef) -> NoteEntry {
    NoteEntry {
        path: r.path.to_string(),
        title: r.title,
    }
}

fn read_source(vault: &Vault, note: &str) -> Result<NoteSource, AppError> {
    let read = vault.read_note(note)?;
    let record = read
        .snapshot
        .get(&read.path)
        .ok_or_else(|| AppError::NoteNotFound {
            path: read.path.to_string(),
            suggestions: Vec::new(),
        })?;
    let backlinks = read.snapshot.backlink_count(record.path.as_str())?;
    Ok(NoteSource {
        path: record.path.to_string(),
        title: record.note.title.clone(),
        hash: read.hash.clone(),
        modified: format_timestamp_ns(record.meta.mtime_ns),
        content: read.text(),
        frontmatter: record.note.frontmatter.clone(),
        tags: weaver_app::distinct_tags(record),
        aliases: record.note.aliases.clone(),
        links: LinkCounts {
            outgoing: record.note.links.len(),
            unresolved: record.resolved.iter().filter(|r| r.is_none()).count(),
            backlinks,
        },
    })
}

impl VaultBackend for LocalBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn search(&self, request: SearchRequest) -> BackendFuture<'_, SearchPage> {
        Box::pin(self.blocking(move |vault| {
            let query = SearchQuery {
                text: request.text,
                tags: request.tags,
                folder: request.folder,
                limit: request.window.limit,
                offset: request.window.offset,
                ..SearchQuery::default()
            };
            let mode = request.mode.map(dto::search_mode);
            Ok(wire::search_page(dto::search_answer(
                vault.find(&query, mode)?,
            )))
        }))
    }

    fn similar(&self, note: String, limit: usize) -> BackendFuture<'_, SimilarPage> {
        Box::pin(self.blocking(move |vault| {
            Ok(wire::similar_page(dto::similar_list(
                vault.similar(&note, limit)?,
            )))
        }))
    }

    fn mentions(&self, note: String, window: Window) -> BackendFuture<'_, NotePage<MentionEntry>> {
        Box::pin(self.cancellable(move |vault, cancel| {
            let path = vault.snapshot().find_note(&note)?.path.to_string();
            let found = vault.unlinked_mentions(&path, page(window), cancel)?;
            Ok(wire::mention_page(dto::mention_list(path, found)))
        }))
    }

    fn read_note(&self, note: String) -> BackendFuture<'_, NoteSource> {
        Box::pin(self.blocking(move |vault| Ok(read_source(vault, &note)?)))
    }

    fn list_notes(
        &self,
        folder: Option<String>,
        window: Window,
    ) -> BackendFuture<'_, Page<NoteEntry>> {
        Box::pin(self.blocking(move |vault| {
            let listed = vault.snapshot().list_notes(folder.as_deref(), page(window));
            Ok(Page {
                total: listed.total,
                items: listed.items.into_iter().map(note_entry).collect(),
            })
        }))
    }

    fn recent_notes(
        &self,
        folder: Option<String>,
        window: Window,
    ) -> BackendFuture<'_, Page<RecentNote>> {
        Box::pin(self.blocking(move |vault| {
            let snapshot = vault.snapshot();
            let filter = NoteFilter {
                folder: folder.as_deref(),
                ..NoteFilter::default()
            };
            let listed = snapshot.filter_notes(&filter, NoteOrder::ModifiedDesc, page(window));
            Ok(Page {
                total: listed.total,
                items: listed
                    .items
                    .into_iter()
                    .map(|n| RecentNote {
                        path: n.path.to_string(),
                        title: n.note.title.clone(),
                        modified: format_timestamp_ns(n.meta.mtime_ns),
                    })
                    .collect(),
            })
        }))
    }

    fn backlinks(
        &self,
        note: String,
        window: Window,
    ) -> BackendFuture<'_, NotePage<BacklinkEntry>> {
        Box::pin(self.cancellable(move |vault, cancel| {
            let snapshot = vault.snapshot();
            let path = snapshot.find_note(&note)?.path.to_string();
            let found = snapshot.backlinks(&path, page(window), cancel)?;
            Ok(wire::backlink_page(dto::backlink_list(path, found)))
        }))
    }

    fn links(&self, note: String, window: Window) -> BackendFuture<'_, NotePage<LinkEntry>> {
        Box::pin(self.blocking(move |vault| {
            let snapshot = vault.snapshot();
            let path = snapshot.find_note(&note)?.path.to_string();
            let links = snapshot.outgoing(&path)?;
            Ok(wire::link_page(dto::link_list(path, &links), window))
        }))
    }

    fn neighbors(&self, request: NeighborsRequest) -> BackendFuture<'_, NotePage<NeighborEntry>> {
        Box::pin(self.blocking(move |vault| {
            let snapshot = vault.snapshot();
            let path = snapshot.find_note(&request.note)?.path.to_string();
            let found = snapshot.neighbors(
                &path,
                request.depth,
                request.direction.into(),
                page(request.window),
            )?;
            Ok(wire::neighbor_page(dto::neighbor_list(path, found)))
        }))
    }

    fn shortest_path(&self, request: PathRequest) -> BackendFuture<'_, Option<Vec<NoteEntry>>> {
        Box::pin(self.blocking(move |vault| {
            let found = vault.snapshot().shortest_path(
                &request.from,
                &request.to,
                request.direction.into(),
            )?;
            Ok(wire::path_notes(dto::path_dto(found)))
        }))
    }

    fn tags(&self) -> BackendFuture<'_, Vec<TagEntry>> {
        Box::pin(
            self.blocking(move |vault| {
                Ok(wire::tag_entries(dto::tag_list(vault.snapshot().tags())))
            }),
        )
    }

    fn stats(&self) -> BackendFuture<'_, VaultCounts> {
        Box::pin(self.blocking(move |vault| {
            Ok(wire::vault_counts(dto::stats(
                vault.snapshot().stats(),
                vault.semantic_status(),
            )))
        }))
    }

    fn orphans(&self, window: Window) -> BackendFuture<'_, Page<NoteEntry>> {
        Box::pin(self.blocking(move |vault| {
            let found = vault.snapshot().orphans(page(window));
            Ok(wire::note_refs(found.into()))
        }))
    }

    fn unresolved(&self, window: Window) -> BackendFuture<'_, Page<UnresolvedEntry>> {
        Box::pin(self.blocking(move |vault| {
            let found = vault.snapshot().unresolved(page(window));
            Ok(wire::unresolved_page(dto::unresolved_list(found)))
        }))
    }

    fn write_note(&self, request: WriteRequest) -> BackendFuture<'_, WriteResult> {
        Box::pin(self.blocking(move |vault| {
            let precondition = match request.precondition {
                WritePrecondition::Any => Precondition::Any,
                WritePrecondition::Matches(hash) => Precondition::Matches(hash),
                WritePrecondition::Absent => Precondition::Absent,
            };
            let written =
                vault.write_note(&request.path, request.content.as_bytes(), &precondition)?;
            Ok(wire::write_result(written.into()))
        }))
    }

    fn edit_note(&self, request: EditRequest) -> BackendFuture<'_, WriteResult> {
        Box::pin(self.blocking(move |vault| {
            let written =
                vault.patch_note(&request.path, &request.ops, request.if_match.as_deref())?;
            Ok(wire::write_result(written.into()))
        }))
    }

    fn move_note(&self, request: MoveRequest) -> BackendFuture<'_, MoveResult> {
        Box::pin(self.blocking(move |vault| {
            let moved = vault.move_note(
                &request.from,
                &request.to,
                request.update_links,
                request.if_match.as_deref(),
            )?;
            Ok(wire::move_result(moved.into()))
        }))
    }

    fn delete_note(&self, request: DeleteRequest) -> BackendFuture<'_, DeleteResult> {
        Box::pin(self.blocking(move |vault| {
            let deleted = vault.delete_note(
                &request.path,
                request.permanent,
                request.if_match.as_deref(),
            )?;
            Ok(wire::delete_result(deleted.into()))
        }))
    }
}
