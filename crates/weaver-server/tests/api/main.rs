//! The REST API's contract, in process: each test runs `weaver_server::run` (the function
//! `weaver serve` runs) on `127.0.0.1:0` inside the test's runtime, with its own temporary
//! vaults and configuration, and talks HTTP to it with a real client. Reads, writes,
//! conditional requests, event streams, body limits, error shapes and the `/mcp` endpoint's
//! JSON-RPC errors are all here; what needs a process of its own (signals, logs, the process
//! environment, exit codes) is in `crates/weaver/tests/process`.

// clippy.toml allows these in `#[test]` functions, which does not cover the shared helpers of
// an integration-test crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod api;
mod backlinks;
mod contract;
mod events;
mod search;
mod view;
mod workflows;
mod write;
