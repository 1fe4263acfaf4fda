//! End-to-end tests of `weaver gateway`: a real gateway in front of a real `weaver serve` and a
//! real `weaver mcp --http --upstream` (all child processes on `127.0.0.1:0`), driven over
//! HTTP/1.1, HTTP/2 with TLS, raw TCP and rmcp's MCP client. Waits are bounded polls.

// clippy.toml allows these in `#[test]` functions, which does not cover the shared helpers of
// an integration-test crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// The harness of the `weaver serve` tests: fixtures, child processes with captured logs.
#[path = "../serve/support.rs"]
#[allow(dead_code)]
mod support;

mod stack;

mod auth;
mod forwarding;
mod ops;
mod protection;
mod reload;
mod roles;
mod tls;
