//! The per-vault recorders of the metrics declared in `weaver_service::metrics` (names,
//! recorder and the HTTP middleware live there).

use std::time::Duration;

use metrics::{counter, gauge, histogram};
use weaver_app::VaultStats;
pub use weaver_service::metrics::*;

/// Sets the size gauges of `vault`.
pub fn vault_counts(vault: &str, stats: &VaultStats) {
    let label = vault.to_owned();
    gauge!(NOTES, "vault" => label.clone()).set(stats.notes as f64);
    gauge!(LINKS, "vault" => label.clone()).set(stats.links as f64);
    gauge!(UNRESOLVED_LINKS, "vault" => label).set(stats.unresolved_links as f64);
}

/// Registers the per-vault series at zero, so they are visible before anything happens.
pub fn vault_opened(vault: &str) {
    let label = vault.to_owned();
    gauge!(INDEX_LAG_SECONDS, "vault" => label.clone()).set(0.0);
    counter!(WATCHER_EVENTS_TOTAL, "vault" => label.clone()).increment(0);
    counter!(WRITE_CONFLICTS_TOTAL, "vault" => label).increment(0);
}

/// Zeroes the gauges of a closed vault (the exporter cannot remove series).
pub fn vault_closed(vault: &str) {
    vault_counts(vault, &VaultStats::default());
    gauge!(INDEX_LAG_SECONDS, "vault" => vault.to_owned()).set(0.0);
}

/// Records one index sync of `vault` that changed something.
pub fn sync_finished(vault: &str, elapsed: Duration) {
    histogram!(SYNC_DURATION_SECONDS, "vault" => vault.to_owned()).record(elapsed.as_secs_f64());
}

/// Publishes a watcher's counters: events received so far and the current index lag (how long
/// the oldest change not yet in the index has waited). Read at scrape time.
pub fn watcher(vault: &str, events: u64, lag: Duration) {
    let label = vault.to_owned();
    counter!(WATCHER_EVENTS_TOTAL, "vault" => label.clone()).absolute(events);
    gauge!(INDEX_LAG_SECONDS, "vault" => label).set(lag.as_secs_f64());
}

/// Publishes semantic search's progress on a vault (read at scrape time).
pub fn semantic(vault: &str, status: &weaver_app::SemanticStatus) {
    let label = vault.to_owned();
    gauge!(SEMANTIC_NOTES, "vault" => label.clone()).set(status.notes as f64);
    gauge!(SEMANTIC_EMBEDDED_NOTES, "vault" => label.clone()).set(status.embedded_notes as f64);
    gauge!(SEMANTIC_CHUNKS, "vault" => label.clone()).set(status.chunks as f64);
    counter!(SEMANTIC_CHUNKS_COMPUTED_TOTAL, "vault" => label)
        .absolute(status.chunks_computed as u64);
}

/// Counts a conditional write refused because the note changed meanwhile.
pub fn write_conflict(vault: &str) {
    counter!(WRITE_CONFLICTS_TOTAL, "vault" => vault.to_owned()).increment(1);
}
