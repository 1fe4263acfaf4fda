//! A vault opened and watched: what `weaver serve` holds for each ready vault and `weaver mcp
//! --http` for its one vault, so both open, watch, degrade and stop a vault the same way.
//!
//! Opening is blocking (callers run it on a blocking thread, so they listen at once); the
//! lifecycle around it (opening, ready, failed, closed) is the caller's state machine. A
//! vault whose on-disk cache is unusable is indexed in memory, and one whose watcher cannot
//! start still answers queries: both reasons are kept, for `/readyz` and the logs.

use std::sync::{Arc, Mutex};

use crate::AppError;
use crate::vault::{CacheState, Vault, VaultOptions};
use crate::watch::{WatchHandle, WatchOptions, WatchStats, watch};

/// An open vault and its watcher.
pub struct WatchedVault {
    /// The vault.
    pub vault: Arc<Vault>,
    watcher: Mutex<Option<WatchHandle>>,
    /// Why the vault is not watched for changes, when it is not.
    pub watch_error: Option<String>,
    /// Why the on-disk cache could not be used, when the vault is indexed in memory instead.
    pub cache_error: Option<String>,
}

impl std::fmt::Debug for WatchedVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedVault")
            .field("vault", &self.vault)
            .field("watch_error", &self.watch_error)
            .field("cache_error", &self.cache_error)
            .finish_non_exhaustive()
    }
}

impl WatchedVault {
    /// Opens the vault `name` (blocking: the initial index), runs `before_watch` on it (a
    /// subscriber that must see every change from the first one on), then starts the watcher (none
    /// without `watch_options`: a cluster replica's copy changes only through the replica).
    /// A watcher that cannot start is logged and recorded in `watch_error`; the vault is still
    /// returned and answers queries.
    pub fn open(
        name: &str,
        options: &VaultOptions,
        watch_options: Option<WatchOptions>,
        before_watch: impl FnOnce(&Arc<Vault>) -> Result<(), AppError>,
    ) -> Result<Self, AppError> {
        let (vault, report) = Vault::open(options, &|_| {})?;
        let cache_error = match report.cache {
            CacheState::Unavailable(reason) => Some(reason),
            _ => None,
        };
        let vault = Arc::new(vault);
        before_watch(&vault)?;
        let (watcher, watch_error) = match watch_options {
            None => (None, None),
            Some(options) => match watch(Arc::clone(&vault), options, |_| {}) {
                Ok(handle) => (Some(handle), None),
                Err(err) => {
                    tracing::error!(vault = %name, error = %err, "cannot watch the vault; serving it without live updates");
                    (None, Some(err.public_message()))
                }
            },
        };
        Ok(Self {
            vault,
            watcher: Mutex::new(watcher),
            watch_error,
            cache_error,
        })
    }

    /// The watcher's counters, when the vault is watched.
    pub fn watch_stats(&self) -> Option<Arc<WatchStats>> {
        let guard = match self.watcher.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.as_ref().map(WatchHandle::stats)
    }

    /// Stops the watcher and waits for an in-progress sync. Blocking.
    pub fn stop_watching(&self) {
        let handle = match self.watcher.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(handle) = handle {
            handle.stop();
        }
    }
}
