//! End-to-end tests of the `weaver` binary: every test runs the real executable as a child
//! process on its own temporary vault (a copy of `demo-vault/` or a small inline fixture) and
//! checks its exit status, stdout (text or `--json`) and stderr.
//!
//! Most tests pass `--no-cache` so that they stay fast and write nothing; the cache tests use a
//! real SQLite file and search index inside the temporary folder.

mod support;

mod bench;
mod check;
mod graph;
mod index;
mod note;
mod odd_files;
mod search;
mod semantic;
mod summary;
mod vault;
mod watch;
mod workflows;
