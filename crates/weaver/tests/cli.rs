//! End-to-end tests of the `weaver` binary: every test runs the real executable as a child
//! process on its own temporary vault (a copy of `demo-vault/` or a small inline fixture) and
//! checks its exit status, stdout (text or `--json`) and stderr.
//!
//! Most tests pass `--no-cache` so that they stay fast and write nothing; the cache tests use a
//! real SQLite file and search index inside the temporary folder.

// clippy.toml allows these in `#[test]` functions and `#[cfg(test)]` modules, which does not
// cover the shared helpers of an integration-test crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// Modules live in `tests/cli/`; `#[path]` keeps them there (a plain `mod x;` in this crate root
// would mean `tests/x.rs`, which cargo would also build as a test binary of its own).
#[path = "cli/support.rs"]
mod support;

#[path = "cli/bench.rs"]
mod bench;
#[path = "cli/check.rs"]
mod check;
#[path = "cli/graph.rs"]
mod graph;
#[path = "cli/index.rs"]
mod index;
#[path = "cli/note.rs"]
mod note;
#[path = "cli/odd_files.rs"]
mod odd_files;
#[path = "cli/search.rs"]
mod search;
#[path = "cli/summary.rs"]
mod summary;
#[path = "cli/vault.rs"]
mod vault;
#[path = "cli/watch.rs"]
mod watch;
