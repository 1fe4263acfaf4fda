//! End-to-end tests of `weaver serve`: each test starts the real binary on `127.0.0.1:0` with
//! its own temporary vaults and configuration, talks HTTP to it with a real client, and stops
//! it. Waits are bounded polls, never fixed sleeps.

pub mod support;

mod cache;
mod config;
mod lifecycle;
mod mcp;
mod ops;
mod tracing;
