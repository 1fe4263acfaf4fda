//! End-to-end tests of `weaver gateway`: a real gateway in front of a real `weaver serve` and a
//! real `weaver mcp --http --upstream` (all child processes on `127.0.0.1:0`), driven over
//! HTTP/1.1, HTTP/2 with TLS, raw TCP and rmcp's MCP client. Waits are bounded polls.

pub(crate) mod stack;

mod auth;
mod forwarding;
mod ops;
mod protection;
mod reload;
mod roles;
mod tls;
mod ui;
