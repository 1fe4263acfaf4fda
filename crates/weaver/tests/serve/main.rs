//! End-to-end tests of `weaver serve`: each test starts the real binary on `127.0.0.1:0` with
//! its own temporary vaults and configuration, talks HTTP to it with a real client, and stops
//! it. Waits are bounded polls, never fixed sleeps.

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
mod cache;
mod config;
mod contract;
mod events;
mod lifecycle;
mod mcp;
mod ops;
mod tracing;
mod write;
