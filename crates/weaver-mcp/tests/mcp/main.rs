//! Tests of the MCP server with rmcp's own client: in process over an in-memory duplex pipe
//! (the stdio framing without a child process) and over Streamable HTTP on `127.0.0.1:0`.
//!
//! Everything runs in this process against the `weaver-mcp` library; the real `weaver mcp`
//! binary over stdio is tested with the other process tests in `crates/weaver/tests`.

// clippy.toml allows these in `#[test]` functions, which does not cover the shared helpers of
// an integration-test crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use weaver_mcp as mcp;

mod support;

mod http;
mod prompts;
mod read;
mod resources;
mod rest;
mod session;
mod write;
