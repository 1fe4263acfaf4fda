//! Integration tests of the vault service on real folders, a real SQLite cache, a real tantivy
//! index and a real file watcher.

mod cache;
mod compat;
mod fixture;
mod queries;
mod watcher;
