//! The MCP server: a vault as tools, resources and prompts for AI agents, on the official Rust
//! SDK (`rmcp`).
//!
//! - Tools (`tools.rs`) search, read and walk the link graph, and (unless read-only) write,
//!   edit, move and delete notes. Every result has a structured form with an output schema and
//!   a readable text form, every list is paged, and every result is capped in size
//!   (`output.rs`, [`McpOptions::max_output_bytes`]) so no call floods an agent's context.
//!   Failures are tool results with `isError` and the stable code of the binary's error table
//!   (`[note_not_found] note not found: ...; did you mean ...?`), never protocol errors.
//! - Resources: every note at `weaver://{vault}/note/{path}` (template and paged list).
//! - Prompts: `summarize_note` and `connect_notes`.
//!
//! Everything is written once against [`VaultBackend`] (`backend.rs`): [`LocalBackend`] serves
//! a vault open in this process; [`RestBackend`] (`rest.rs`) a vault of a `weaver serve`
//! elsewhere, through its REST API (`weaver mcp --upstream URL`), with the same results and the
//! same error codes and messages.
//!
//! Transports: [`serve_stdio`] for `weaver mcp` (stdout carries protocol messages only; logs go
//! to stderr), and [`http_service`] for Streamable HTTP inside `weaver serve` (stateless; see
//! `http.rs` for that choice and for DNS-rebinding protection).
//!
//! Start-up never waits for indexing: with [`LocalBackend::opening`] the server answers
//! `initialize` and `tools/list` at once, and tools wait briefly for the vault, then answer
//! `vault_not_ready`.
//!
//! ```ignore
//! let (backend, slot) = LocalBackend::opening("notes", DEFAULT_READY_WAIT);
//! std::thread::spawn(move || {
//!     slot.set(Vault::open(&options, &|_| {}).map(|(vault, _)| Arc::new(vault)))
//! });
//! serve_stdio(Arc::new(SingleVault(Arc::new(backend))), McpOptions::new(false)).await?;
//! ```

mod backend;
pub mod cli;
mod command;
mod http;
mod local;
mod note;
mod output;
mod rest;
mod schema;
mod server;
mod tools;
mod wire;

use std::sync::Arc;

use rmcp::ServiceExt;

#[allow(unused_imports)]
pub use backend::{
    BackendFuture, BacklinkEntry, DeleteRequest, DeleteResult, EditRequest, LinkCounts,
    LinkDirection, LinkEntry, MoveRequest, MoveResult, MovedFile, NeighborEntry, NeighborsRequest,
    NoteEntry, NotePage, NoteSource, Page, PathRequest, RecentNote, RewrittenNote, SearchHitEntry,
    SearchRequest, SingleVault, TagEntry, ToolError, UnresolvedEntry, VaultBackend, VaultCounts,
    VaultDirectory, Window, WritePrecondition, WriteRequest, WriteResult,
};
#[allow(unused_imports)]
pub use command::command;
pub use http::{BodyLimit, DEFAULT_MAX_BODY_BYTES, HttpOptions, http_service};
#[allow(unused_imports)]
pub use local::{DEFAULT_READY_WAIT, LocalBackend, VaultSlot};
#[allow(unused_imports)]
pub use rest::{RestBackend, RestDirectory};
#[allow(unused_imports)]
pub use server::{
    DEFAULT_MAX_OUTPUT_BYTES, McpOptions, McpServer, NOTE_URI_TEMPLATE, VaultName, note_uri,
    parse_note_uri,
};
#[allow(unused_imports)]
pub use tools::READ_TOOLS;

/// Serves MCP over stdin/stdout until the client closes stdin: the default vault of `vaults`.
pub async fn serve_stdio(
    vaults: Arc<dyn VaultDirectory>,
    options: McpOptions,
) -> anyhow::Result<()> {
    let server = McpServer::new(vaults, options);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("MCP session failed to start: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| anyhow::anyhow!("MCP session ended abnormally: {e}"))?;
    Ok(())
}
