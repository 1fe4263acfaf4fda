//! Weaver's use-cases: open a vault, keep its shadow cache, search index and link graph in step
//! with the files, watch them live, and answer queries.
//!
//! The binary's transports (CLI, REST, MCP) call into this crate and nothing below it, so the
//! same question gets the same answer everywhere.
//!
//! ```no_run
//! use weaver_app::{Page, Vault, VaultOptions};
//!
//! let (vault, report) = Vault::open(&VaultOptions::new("notes"), &|_| {}).unwrap();
//! println!("{} notes indexed", report.notes);
//! let snapshot = vault.snapshot();
//! for orphan in snapshot.orphans(Page::first(10)).items {
//!     println!("orphan: {}", orphan.path);
//! }
//! ```
#![deny(missing_docs)]

mod changes;
pub mod dto;
mod error;
mod journal;
mod query;
mod read;
mod scan;
mod search;
mod semantic;
mod vault;
mod vaultfs;
pub mod vaultgen;
pub mod view;
mod watch;
mod watched;
mod wire;
mod workflows;
mod write;

pub use changes::{ChangeLog, Committed, FileChange, Planned, WriteMeta, Written};
pub use error::AppError;
pub use query::{
    Backlink, CONTEXT_BUDGET_BYTES, CONTEXT_LINE_BYTES, DETAIL_BACKLINKS, Neighbor, NoteDetails,
    NoteFilter, NoteOrder, NoteRef, OutgoingLink, Page, Paged, Problem, TagCount, UnresolvedLink,
    VaultStats, distinct_tags,
};
pub use read::NoteRead;
pub use search::{
    ChunkMatch, FUSION_DEPTH, FoundNote, Mention, SearchAnswer, SearchMode, SimilarNote,
    SimilarNotes,
};
pub use semantic::{
    DEFAULT_MODEL_NAME, ModelState, SemanticHandle, SemanticHit, SemanticModel, SemanticStatus,
    SharedEmbeddings, default_model_dir,
};
pub use tokio_util::sync::CancellationToken;
pub use vault::{
    CacheState, Change, ChangeKind, OpenReport, Progress, Scope, Snapshot, SyncReport, Vault,
    VaultEvent, VaultOptions,
};
pub use vaultfs::VaultFs;
pub use watch::{WatchHandle, WatchOptions, WatchStats, watch};
pub use watched::WatchedVault;
pub use weaver_embed::Embedder;
pub use weaver_search::{SearchHit, SearchQuery, SearchResults};
pub use workflows::{
    MAX_DEFINITION_BYTES, RunInput, RunReport, StepReport, StepStatus, WORKFLOWS_DIR, action_name,
    load_workflows,
};
pub use write::{DeleteOutcome, MoveOutcome, Precondition, RewrittenNote, WriteOutcome, Writer};

impl Vault {
    /// Full-text search with filters.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchResults, AppError> {
        Ok(self.search_index().search(query)?)
    }
}
