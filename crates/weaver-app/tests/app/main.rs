//! Integration tests of the vault service on real folders, a real SQLite cache, a real tantivy
//! index and a real file watcher.

// clippy.toml allows these in `#[test]` functions only; the shared helpers are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cache;
mod compat;
mod fixture;
mod hardening;
mod queries;
mod read;
mod search_modes;
mod semantic;
mod watcher;
mod workflows;
mod write;
