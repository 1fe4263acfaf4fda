//! The process tests of the `weaver` binary: each test runs the real executable (a CLI command,
//! `weaver serve`, `weaver mcp`, `weaver gateway`, or the deployment's manifests against them)
//! as child processes on `127.0.0.1:0` and temporary folders. What needs no process of its own
//! is tested in process in the crates that own it (`weaver-server/tests/api`,
//! `weaver-mcp/tests/mcp`, `weaver-app/tests/app`, ...).
//!
//! One test binary for the crate: `cli/` (every command), `serve/` (lifecycle, configuration
//! layering and reload, signals, logs, cache, MCP in its three modes), `gateway/` (a whole
//! stack behind the gateway), `deploy.rs` (the rendered Kubernetes manifests run for real).

// clippy.toml allows these in `#[test]` functions, which does not cover the shared helpers of
// an integration-test crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cli;
mod cluster;
mod deploy;
mod gateway;
mod serve;
