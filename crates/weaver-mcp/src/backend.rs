//! The one interface MCP tools are written against: [`VaultBackend`].
//!
//! Tools, resources and prompts never touch a [`weaver_app::Vault`] directly. They call a
//! backend, whose methods take and return the plain serde types of this module, so that two
//! implementations fit behind it:
//! - [`super::LocalBackend`]: the vault in this process (blocking calls on Tokio's blocking
//!   pool);
//! - [`super::RestBackend`]: a vault of a `weaver serve` elsewhere, through its REST API
//!   (`weaver mcp --upstream http://weaver:3000`): every request type here maps onto one REST
//!   request and every result type is what that request answers, and [`ToolError`] is the REST
//!   error body (`{"code": "...", "message": "..."}`) as is.
//!
//! Methods return boxed futures so that the trait is object safe: the server holds an
//! `Arc<dyn VaultBackend>` chosen at start-up.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weaver_app::AppError;
use weaver_core::EditOp;

use weaver_api::Code;

/// What every backend call returns.
pub type BackendFuture<'a, T> = BoxFuture<'a, Result<T, ToolError>>;

/// A vault as MCP tools see it. See the module documentation.
pub trait VaultBackend: Send + Sync {
    /// The vault's name, as it appears in resource URIs (`weaver://{name}/note/...`).
    fn name(&self) -> &str;
    /// Search by words, by meaning or both.
    fn search(&self, request: SearchRequest) -> BackendFuture<'_, SearchPage>;
    /// Notes nearest in meaning to a note, leaving out those it links to.
    fn similar(&self, note: String, limit: usize) -> BackendFuture<'_, SimilarPage>;
    /// Notes that name a note without linking to it.
    fn mentions(&self, note: String, window: Window) -> BackendFuture<'_, NotePage<MentionEntry>>;
    /// The current Markdown of a note (by path, title or alias) with what the index knows of it.
    fn read_note(&self, note: String) -> BackendFuture<'_, NoteSource>;
    /// Notes by path, optionally only those in `folder` (and below).
    fn list_notes(
        &self,
        folder: Option<String>,
        window: Window,
    ) -> BackendFuture<'_, Page<NoteEntry>>;
    /// Notes by modification time, newest first, optionally only those in `folder`.
    fn recent_notes(
        &self,
        folder: Option<String>,
        window: Window,
    ) -> BackendFuture<'_, Page<RecentNote>>;
    /// Links to a note from other notes, with context lines.
    fn backlinks(&self, note: String, window: Window)
    -> BackendFuture<'_, NotePage<BacklinkEntry>>;
    /// Links from a note, with where each resolves.
    fn links(&self, note: String, window: Window) -> BackendFuture<'_, NotePage<LinkEntry>>;
    /// Notes within `depth` links of a note.
    fn neighbors(&self, request: NeighborsRequest) -> BackendFuture<'_, NotePage<NeighborEntry>>;
    /// A shortest chain of notes between two notes, both included; `None` when unconnected.
    fn shortest_path(&self, request: PathRequest) -> BackendFuture<'_, Option<Vec<NoteEntry>>>;
    /// Every tag with its note count, by name.
    fn tags(&self) -> BackendFuture<'_, Vec<TagEntry>>;
    /// Counts over the whole vault.
    fn stats(&self) -> BackendFuture<'_, VaultCounts>;
    /// Notes without links in or out.
    fn orphans(&self, window: Window) -> BackendFuture<'_, Page<NoteEntry>>;
    /// Links that resolve to no file.
    fn unresolved(&self, window: Window) -> BackendFuture<'_, Page<UnresolvedEntry>>;
    /// Creates or replaces a note.
    fn write_note(&self, request: WriteRequest) -> BackendFuture<'_, WriteResult>;
    /// Applies edit operations to a note, all or nothing.
    fn edit_note(&self, request: EditRequest) -> BackendFuture<'_, WriteResult>;
    /// Moves or renames a note or folder, rewriting links to it.
    fn move_note(&self, request: MoveRequest) -> BackendFuture<'_, MoveResult>;
    /// Deletes a note, into the trash unless permanent.
    fn delete_note(&self, request: DeleteRequest) -> BackendFuture<'_, DeleteResult>;
}

/// Which vault a request talks to. A stdio server has one; `weaver serve` has one per
/// configured name, reached at `/mcp/{vault}` (and its default vault at `/mcp`).
pub trait VaultDirectory: Send + Sync {
    /// The backend for the vault `name`, or the default vault for `None`.
    fn backend(&self, name: Option<&str>) -> Result<Arc<dyn VaultBackend>, ToolError>;

    /// The backend for one Streamable HTTP request that came with `headers`. A directory that
    /// forwards calls to another service passes the request's trace context on; by default
    /// this is [`VaultDirectory::backend`].
    fn backend_for_request(
        &self,
        name: Option<&str>,
        headers: &axum::http::HeaderMap,
    ) -> Result<Arc<dyn VaultBackend>, ToolError> {
        let _ = headers;
        self.backend(name)
    }
}

/// A directory of exactly one vault, answering to its own name and to no name.
pub struct SingleVault(pub Arc<dyn VaultBackend>);

impl VaultDirectory for SingleVault {
    fn backend(&self, name: Option<&str>) -> Result<Arc<dyn VaultBackend>, ToolError> {
        match name {
            Some(name) if name != self.0.name() => Err(ToolError::new(
                Code::VaultNotFound,
                format!(
                    "vault not found: `{name}`; this server serves `{}`",
                    self.0.name()
                ),
            )),
            _ => Ok(Arc::clone(&self.0)),
        }
    }
}

/// Why a call failed: a stable snake_case code from the binary's error table and a message for
/// the model to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("[{code}] {message}")]
pub struct ToolError {
    /// Stable code, such as `note_not_found`.
    pub code: String,
    /// What went wrong, naming the bad value.
    pub message: String,
}

impl ToolError {
    /// An error with one of the table's codes.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            message: message.into(),
        }
    }

    /// A bad tool argument.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }
}

impl From<AppError> for ToolError {
    /// The public message: no server paths (logged here instead), at most
    /// [`weaver_api::MAX_MESSAGE_BYTES`].
    fn from(err: AppError) -> Self {
        let code = err.code();
        if code.status().is_server_error() {
            tracing::warn!(code = code.as_str(), error = %err, "tool call failed");
        }
        Self {
            code: code.as_str().to_owned(),
            message: err.public_message(),
        }
    }
}

/// A window into a long list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// At most this many items.
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
}

/// One page of a list and the length of the whole list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// Items in the whole list.
    pub total: usize,
    /// This page.
    pub items: Vec<T>,
}

/// A page of a list about one note, with the note's resolved path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotePage<T> {
    /// The note the list is about, as found.
    pub note: String,
    /// The page.
    #[serde(flatten)]
    pub page: Page<T>,
}

/// A search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// Query text.
    pub text: String,
    /// How to rank; `None`: the server's default (hybrid with a model, else keyword).
    pub mode: Option<weaver_api::dto::SearchModeDto>,
    /// Tags every hit must carry.
    pub tags: Vec<String>,
    /// Only notes in this folder or below.
    pub folder: Option<String>,
    /// The page.
    pub window: Window,
}

/// Which links a graph walk follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LinkDirection {
    // Plain comments: doc comments on the variants would turn the schema into a `oneOf`.
    // Links out of the note.
    Out,
    // Links into the note.
    In,
    #[default]
    Both,
}

impl From<LinkDirection> for weaver_core::Direction {
    fn from(d: LinkDirection) -> Self {
        match d {
            LinkDirection::Out => Self::Out,
            LinkDirection::In => Self::In,
            LinkDirection::Both => Self::Both,
        }
    }
}

/// A neighbourhood query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborsRequest {
    /// The start note.
    pub note: String,
    /// Hops, at least 1.
    pub depth: u32,
    /// Which links to follow.
    pub direction: LinkDirection,
    /// The page.
    pub window: Window,
}

/// A shortest-path query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathRequest {
    /// Start note.
    pub from: String,
    /// End note.
    pub to: String,
    /// Which links to follow.
    pub direction: LinkDirection,
}

/// What a write may overwrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WritePrecondition {
    /// Whatever is there.
    Any,
    /// Only the version with this hash.
    Matches(String),
    /// Nothing: the note must not exist.
    Absent,
}

/// Create or replace a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteRequest {
    /// Vault path ending in `.md`.
    pub path: String,
    /// The whole Markdown.
    pub content: String,
    /// What may be overwritten.
    pub precondition: WritePrecondition,
}

/// Edit a note in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditRequest {
    /// Vault path.
    pub path: String,
    /// Operations, applied in order, all or nothing.
    pub ops: Vec<EditOp>,
    /// The hash the note must still have.
    pub if_match: Option<String>,
}

/// Move or rename a note or folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveRequest {
    /// Current vault path.
    pub from: String,
    /// New vault path.
    pub to: String,
    /// Rewrite links that pointed at what moved.
    pub update_links: bool,
    /// The hash a moved note must still have.
    pub if_match: Option<String>,
}

/// Delete a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRequest {
    /// Vault path.
    pub path: String,
    /// Skip the trash.
    pub permanent: bool,
    /// The hash the note must still have.
    pub if_match: Option<String>,
}

// The result types below double as items of tool outputs, so their doc comments become schema
// descriptions that an agent reads in `tools/list`: fields are named to need none, and plain
// `//` comments explain them here instead.

/// A note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NoteEntry {
    pub path: String,
    pub title: String,
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SearchHitEntry {
    pub path: String,
    pub title: String,
    // About 160 characters around the best keyword match, else the start of the nearest chunk.
    pub snippet: String,
    // Rounded. keyword: BM25 (0 without query text); semantic: cosine; hybrid: fused ranks.
    pub score: f32,
    // keyword (its words match) and/or semantic (near in meaning).
    pub matched_by: Vec<String>,
    // The heading path of the part nearest in meaning, when found by meaning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
}

/// A search's page, with how it was ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchPage {
    /// keyword, semantic or hybrid.
    pub mode: String,
    /// Not every note is embedded yet.
    pub partial: bool,
    /// The page.
    #[serde(flatten)]
    pub page: Page<SearchHitEntry>,
}

/// A note similar in meaning to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SimilarEntry {
    pub path: String,
    pub title: String,
    // Cosine similarity of its nearest part, rounded.
    pub similarity: f32,
    // That part's heading path (empty before the first heading).
    pub section: String,
}

/// Notes similar to a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarPage {
    /// The note, as found.
    pub note: String,
    /// Not every note is embedded yet.
    pub partial: bool,
    /// Nearest first.
    pub items: Vec<SimilarEntry>,
}

/// A note that names another without linking to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MentionEntry {
    pub source: String,
    pub title: String,
    // The name it uses: title, alias or file name.
    pub name: String,
    pub line: u32,
    // The line, trimmed, at most about 240 bytes.
    pub context: String,
}

/// A note and when it last changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecentNote {
    pub path: String,
    pub title: String,
    // RFC 3339, UTC.
    pub modified: String,
}

/// A link from another note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BacklinkEntry {
    pub source: String,
    pub title: String,
    pub line: u32,
    // The linking line, trimmed, at most about 240 bytes.
    pub context: String,
}

/// A link from the note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LinkEntry {
    // As written, with `#heading` or `#^block`.
    pub target: String,
    // The file it points to; absent when unresolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
    pub line: u32,
    // wikilink, embed, markdown or markdown_embed.
    pub kind: String,
}

/// A note reached by a graph walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NeighborEntry {
    pub path: String,
    pub title: String,
    pub distance: u32,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TagEntry {
    pub name: String,
    // Notes with this tag or one nested below it.
    pub notes: usize,
}

/// A link to nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnresolvedEntry {
    pub source: String,
    pub target: String,
    pub line: u32,
}

/// Counts over a vault.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VaultCounts {
    pub notes: usize,
    // With semantic search on: the notes the model has embedded so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded_notes: Option<usize>,
    pub attachments: usize,
    pub links: usize,
    pub unresolved_links: usize,
    pub tags: usize,
    pub orphans: usize,
    pub tasks_open: usize,
    pub tasks_done: usize,
    pub words: u64,
}

/// Link counts of one note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LinkCounts {
    pub outgoing: usize,
    pub unresolved: usize,
    pub backlinks: usize,
}

/// A note's text and what the index knows about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteSource {
    /// Vault path.
    pub path: String,
    /// Title.
    pub title: String,
    /// Content hash of `content`: the version to pass as `if_match`.
    pub hash: String,
    /// Modification time, RFC 3339 UTC.
    pub modified: String,
    /// The Markdown, frontmatter included.
    pub content: String,
    /// Frontmatter as JSON.
    pub frontmatter: Option<serde_json::Map<String, serde_json::Value>>,
    /// Distinct tags.
    pub tags: Vec<String>,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Link counts.
    pub links: LinkCounts,
}

/// The outcome of a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WriteResult {
    pub path: String,
    // The new version: the next `if_match`.
    pub hash: String,
    pub created: bool,
    pub size: u64,
}

/// A file moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MovedFile {
    pub from: String,
    pub to: String,
}

/// A note whose links a move rewrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RewrittenNote {
    pub path: String,
    pub links: usize,
}

/// The outcome of a move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveResult {
    /// Every file moved.
    pub moved: Vec<MovedFile>,
    /// Notes whose links were rewritten.
    pub rewritten: Vec<RewrittenNote>,
}

/// The outcome of a delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeleteResult {
    pub path: String,
    // Where the note went under `.trash/`; absent when deleted permanently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trashed_to: Option<String>,
}
