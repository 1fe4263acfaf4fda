//! Cluster mode: weaver on PostgreSQL with several replicas.
//!
//! PostgreSQL is the system of record: per vault a head sequence, the files (path and content
//! hash, bytes stored once per hash) and an ordered change log. Every replica keeps the
//! unchanged engine (snapshot, search index, SQLite cache) over its own local copy of each vault
//! under `data_dir`, and:
//!
//! - **writes** through [`log::PgLog`], the vault's [`weaver_app::ChangeLog`]: lock the vault's
//!   head row (`SELECT ... FOR UPDATE`), catch the local copy up to the head, plan the write with
//!   the engine against that copy (so `If-Match` is checked against the committed version),
//!   record its file changes as entry `head + 1`, `NOTIFY`, commit, then apply locally. A move
//!   with its link rewrites is one entry: all or nothing on every replica. A retried request id
//!   gets the first outcome.
//! - **follows** the log ([`replica::Replica`]): woken by `LISTEN`, with a polling fallback
//!   (notifications are lost while a session is down), it applies entries in sequence order,
//!   refusing gaps; it is ready only while caught up within `max_staleness_ms`.
//! - **bootstraps** each vault by reconciling its local copy with the files table (only files
//!   whose hash differs are fetched), then indexing it.
//!
//! Files get in and out with [`files::import`] and [`files::export`], and [`bridge`] mirrors a
//! real folder both ways.
#![deny(missing_docs)]

pub mod bridge;
pub mod config;
mod db;
pub mod embeddings;
pub mod files;
pub mod log;
pub mod replica;
mod schema;
mod tls;

pub use config::ClusterConfig;
pub use db::ClusterError;
pub use replica::{Replica, ReplicaStatus, VaultStatus};
pub use schema::SCHEMA_VERSION;

/// True when `name` is a valid vault name (`[a-z0-9_-]+`, at most 64 bytes), as in URLs.
pub fn valid_vault_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}
