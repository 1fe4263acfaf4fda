//! The vaults a server serves, each with its own lifecycle:
//!
//! ```text
//!   (configured) ──▶ Opening ──Vault::open + watch ok──▶ Ready ──removed/shutdown──▶ Closed
//!                       │                                                  ▲
//!                       └──────────── error ──▶ Failed ──reload/SIGHUP─────┘ (reopened)
//! ```
//!
//! Opening runs on a blocking thread in the background, so the server listens at once and one
//! slow or broken vault never holds up the others. A vault's state changes under its own lock,
//! and `index.ready` is published under the same lock, so an events subscriber that checks the
//! state and subscribes while holding it sees the transition exactly once.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Instant;

use tokio_util::sync::CancellationToken;
use weaver_app::{SemanticModel, SharedEmbeddings};
use weaver_app::{SyncReport, Vault, WatchedVault};
use weaver_cluster::Replica;

use super::error::ApiError;
use super::events::{VaultEvent, VaultEvents};
use super::metrics;
use crate::config::{Config, VaultConfig, WatchConfig};

/// Where a vault is in its lifecycle.
#[derive(Debug, Clone)]
pub enum VaultState {
    /// The initial index is being built.
    Opening,
    /// Serving queries.
    Ready(Arc<WatchedVault>),
    /// Could not be opened; the reason names the problem.
    Failed(Arc<str>),
    /// Removed from the configuration, or the server is stopping.
    Closed,
}

impl VaultState {
    /// `opening`, `ready`, `failed` or `closed`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Opening => "opening",
            Self::Ready(_) => "ready",
            Self::Failed(_) => "failed",
            Self::Closed => "closed",
        }
    }
}

/// One configured vault.
#[derive(Debug)]
pub struct VaultEntry {
    /// Its name in the configuration and in URLs.
    pub name: String,
    /// Its settings (fixed while it is open: a change reopens it).
    pub config: RwLock<VaultConfig>,
    state: RwLock<VaultState>,
    /// Its live change notifications.
    pub events: VaultEvents,
    /// Cancelled when the vault closes: ends its event streams and abandons its opening.
    pub closed: CancellationToken,
}

impl VaultEntry {
    /// The current state.
    pub fn state(&self) -> VaultState {
        match self.state.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Runs `f` with the state held, so no transition happens meanwhile.
    pub fn with_state<T>(&self, f: impl FnOnce(&VaultState) -> T) -> T {
        match self.state.read() {
            Ok(guard) => f(&guard),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Replaces the state, returning the previous one.
    fn set_state(&self, state: VaultState) -> VaultState {
        let mut guard = match self.state.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::replace(&mut *guard, state)
    }

    /// The open vault, or the error a request for it gets.
    pub fn ready(&self) -> Result<Arc<WatchedVault>, ApiError> {
        match self.state() {
            VaultState::Ready(open) => Ok(open),
            VaultState::Opening => Err(ApiError::VaultNotReady(self.name.clone())),
            VaultState::Failed(reason) => Err(ApiError::VaultUnavailable {
                name: self.name.clone(),
                reason: reason.to_string(),
            }),
            VaultState::Closed => Err(ApiError::UnknownVault(self.name.clone())),
        }
    }
}

/// Every vault of the server, by name.
#[derive(Debug)]
pub struct Vaults {
    map: RwLock<BTreeMap<String, Arc<VaultEntry>>>,
    shutdown: CancellationToken,
    /// Cluster mode: the vaults are the database's, each opened over its local copy.
    cluster: Option<Arc<Replica>>,
    /// The embedding model, given to every vault that opens.
    semantic: Arc<SemanticModel>,
    /// Cluster mode: the embeddings every replica shares.
    shared_embeddings: Option<Arc<dyn SharedEmbeddings>>,
}

impl Vaults {
    /// No vaults yet; `shutdown` closes every vault's event streams.
    pub fn new(
        shutdown: CancellationToken,
        cluster: Option<Arc<Replica>>,
        semantic: Arc<SemanticModel>,
    ) -> Self {
        let shared_embeddings = cluster.as_ref().map(|replica| {
            Arc::new(weaver_cluster::embeddings::PgEmbeddings::new(
                replica.config(),
            )) as Arc<dyn SharedEmbeddings>
        });
        Self {
            map: RwLock::new(BTreeMap::new()),
            shutdown,
            cluster,
            semantic,
            shared_embeddings,
        }
    }

    /// The embedding model's state (semantic search).
    pub fn semantic(&self) -> weaver_app::ModelState {
        self.semantic.state()
    }

    /// `config` with, in cluster mode, the database's vaults (once known) in `vaults`, each
    /// over its local copy under `cluster.data_dir`.
    fn effective(&self, config: &Config) -> Config {
        let Some(replica) = &self.cluster else {
            return config.clone();
        };
        let mut config = config.clone();
        let cluster = replica.config();
        config.vaults = replica
            .vault_names()
            .unwrap_or_default()
            .into_iter()
            .map(|name| {
                let mut vault = VaultConfig::at(cluster.vault_dir(&name));
                vault.cache_dir = Some(cluster.cache_dir(&name));
                (name, vault)
            })
            .collect();
        config
    }

    /// The vault called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<VaultEntry>> {
        self.read_map().get(name).cloned()
    }

    /// Every vault, by name.
    pub fn list(&self) -> Vec<Arc<VaultEntry>> {
        self.read_map().values().cloned().collect()
    }

    /// True when no vault is still opening (failed vaults do not hold readiness back: they
    /// answer 503 on their own routes while the others serve).
    pub fn all_opened(&self) -> bool {
        self.read_map()
            .values()
            .all(|v| !matches!(v.state(), VaultState::Opening))
    }

    fn read_map(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<VaultEntry>>> {
        match self.map.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Brings the set of vaults in line with `config`: opens new vaults (and, when
    /// `retry_failed`, failed ones again), closes removed ones, reopens those whose settings
    /// changed in a way that needs it. Returns at once; opening and closing run in the
    /// background.
    pub fn apply(&self, config: &Config, retry_failed: bool) {
        let config = &self.effective(config);
        let mut to_open = Vec::new();
        let mut to_close = Vec::new();
        {
            let mut map = match self.map.write() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let removed: Vec<String> = map
                .keys()
                .filter(|name| !config.vaults.contains_key(*name))
                .cloned()
                .collect();
            for name in removed {
                if let Some(entry) = map.remove(&name) {
                    tracing::info!(vault = %name, "vault removed from the configuration");
                    to_close.push(entry);
                }
            }
            for (name, vault_config) in &config.vaults {
                let mut replaced = None;
                if let Some(entry) = map.get(name) {
                    let failed = matches!(entry.state(), VaultState::Failed(_));
                    // Every vault setting is fixed when the vault opens.
                    let reopen = match entry.config.read() {
                        Ok(current) => *current != *vault_config,
                        Err(_) => true,
                    };
                    let retry = failed && retry_failed;
                    if !reopen && !retry {
                        continue;
                    }
                    tracing::info!(vault = %name, "reopening vault");
                    replaced = map.remove(name);
                }
                let entry = Arc::new(VaultEntry {
                    name: name.clone(),
                    config: RwLock::new(vault_config.clone()),
                    state: RwLock::new(VaultState::Opening),
                    events: VaultEvents::default(),
                    closed: self.shutdown.child_token(),
                });
                map.insert(name.clone(), Arc::clone(&entry));
                to_open.push((entry, replaced));
            }
        }
        for entry in to_close {
            tokio::spawn(close(entry, self.cluster.clone()));
        }
        for (entry, replaced) in to_open {
            let watch = config.watch.clone();
            let cluster = self.cluster.clone();
            let semantic = Arc::clone(&self.semantic);
            let shared = self.shared_embeddings.clone();
            tokio::spawn(async move {
                // The old vault must let go of the cache (its lock file) before the new one
                // opens it, or the new one would fall back to an in-memory cache.
                if let Some(old) = replaced {
                    close(old, cluster.clone()).await;
                }
                open(entry, watch, cluster, (semantic, shared)).await;
            });
        }
    }

    /// Closes every vault: stops watchers and drops the vaults (releasing their caches), waiting
    /// for in-progress syncs.
    pub async fn close_all(&self) {
        let entries: Vec<Arc<VaultEntry>> = {
            let mut map = match self.map.write() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            std::mem::take(&mut *map).into_values().collect()
        };
        let closing: Vec<_> = entries
            .into_iter()
            .map(|e| close(e, self.cluster.clone()))
            .collect();
        futures_util::future::join_all(closing).await;
    }
}

/// Opens `entry`'s vault on a blocking thread and starts its watcher.
async fn open(
    entry: Arc<VaultEntry>,
    watch: WatchConfig,
    cluster: Option<Arc<Replica>>,
    (semantic, shared): (Arc<SemanticModel>, Option<Arc<dyn SharedEmbeddings>>),
) {
    let started = Instant::now();
    let config = match entry.config.read() {
        Ok(c) => c.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    tracing::info!(vault = %entry.name, path = %config.path.display(), "opening vault");
    let for_open = Arc::clone(&entry);
    let opened = tokio::task::spawn_blocking(move || {
        let open = open_blocking(&for_open, &config, &watch, cluster.as_ref())?;
        // Embedding runs in the background, after the keyword index is ready: readiness never
        // waits for the model.
        semantic.attach_sharing(&open.vault, shared);
        Ok::<_, weaver_app::AppError>(open)
    })
    .await;
    let open = match opened {
        Ok(Ok(open)) => open,
        Ok(Err(err)) => {
            tracing::error!(vault = %entry.name, code = err.code().as_str(), error = %err, "vault failed to open");
            // Clients see the reason without the server's paths; the log line above has them.
            set_failed(&entry, err.public_message());
            return;
        }
        Err(join) => {
            tracing::error!(vault = %entry.name, error = %join, "opening the vault panicked");
            set_failed(&entry, "opening the vault panicked".to_owned());
            return;
        }
    };
    let snapshot = open.vault.snapshot();
    let stats = snapshot.stats();
    let event = VaultEvent::IndexReady {
        notes: stats.notes,
        attachments: stats.attachments,
    };
    let became_ready = {
        let mut state = match entry.state.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if matches!(*state, VaultState::Closed) || entry.closed.is_cancelled() {
            false
        } else {
            *state = VaultState::Ready(Arc::clone(&open));
            entry.events.publish(event);
            true
        }
    };
    if became_ready {
        metrics::vault_opened(&entry.name);
        metrics::vault_counts(&entry.name, &stats);
        tracing::info!(
            vault = %entry.name,
            notes = stats.notes,
            attachments = stats.attachments,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "vault ready"
        );
    } else {
        // Closed while opening: release it on a blocking thread (dropping a vault joins threads).
        tokio::task::spawn_blocking(move || {
            open.stop_watching();
            drop(open);
        });
    }
}

fn set_failed(entry: &VaultEntry, reason: String) {
    let mut state = match entry.state.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    if !matches!(*state, VaultState::Closed) {
        *state = VaultState::Failed(reason.into());
    }
}

fn open_blocking(
    entry: &Arc<VaultEntry>,
    config: &VaultConfig,
    watch: &WatchConfig,
    cluster: Option<&Arc<Replica>>,
) -> Result<Arc<WatchedVault>, weaver_app::AppError> {
    let name = entry.name.clone();
    let events = entry.events.clone();
    // Cluster mode: the copy is made equal to the database first; nothing but the replica
    // writes it, so it is not watched.
    let head = cluster
        .map(|replica| replica.bootstrap(&entry.name))
        .transpose()?;
    let watch_options = if cluster.is_some() {
        None
    } else {
        Some(watch.options())
    };
    let open = WatchedVault::open(
        &entry.name,
        &config.open_options(),
        watch_options,
        |vault| {
            let weak: Weak<Vault> = Arc::downgrade(vault);
            // Every sync with changes, whatever caused it (the watcher, an API or MCP write, a
            // reconcile), reaches the event stream through the vault's own broadcast: subscribed
            // before the watcher starts, so no change is missed. The forwarding thread ends when
            // the vault is dropped (its sender closes).
            let mut changes = vault.subscribe();
            std::thread::Builder::new()
                .name(format!("weaver-events-{name}"))
                .spawn(move || {
                    loop {
                        match changes.blocking_recv() {
                            Ok(weaver_app::VaultEvent::Synced(report)) => {
                                synced(&name, &events, &weak, &report);
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                                tracing::warn!(vault = %name, missed, "event forwarding lagged");
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                        }
                    }
                })
                .map(drop)
                .map_err(|e| weaver_app::AppError::Watch {
                    path: vault.root().to_path_buf(),
                    reason: format!("cannot start the event thread: {e}"),
                })
        },
    )?;
    if let (Some(replica), Some(head)) = (cluster, head) {
        replica.follow(&entry.name, &open.vault, head);
    }
    Ok(Arc::new(open))
}

/// Called on the watcher's thread after every sync that changed something.
fn synced(name: &str, events: &VaultEvents, vault: &Weak<Vault>, report: &SyncReport) {
    metrics::sync_finished(name, report.elapsed);
    let Some(vault) = vault.upgrade() else {
        return;
    };
    let snapshot = vault.snapshot();
    metrics::vault_counts(name, &snapshot.stats());
    tracing::debug!(vault = %name, changes = report.changes.len(), "vault synced");
    for change in &report.changes {
        let hash = snapshot.get(&change.path).map(|n| n.meta.hash.clone());
        events.publish(VaultEvent::from_change(change, hash));
    }
}

/// Marks `entry` closed, ends its event streams, then stops its watcher and drops its vault on a
/// blocking thread.
async fn close(entry: Arc<VaultEntry>, cluster: Option<Arc<Replica>>) {
    if let Some(replica) = &cluster {
        replica.unfollow(&entry.name);
    }
    entry.closed.cancel();
    let previous = entry.set_state(VaultState::Closed);
    metrics::vault_closed(&entry.name);
    if let VaultState::Ready(open) = previous {
        let name = entry.name.clone();
        let closed = tokio::task::spawn_blocking(move || {
            open.stop_watching();
            // Requests in flight may still hold the vault; the last one drops it.
            drop(open);
        })
        .await;
        match closed {
            Ok(()) => tracing::info!(vault = %name, "vault closed"),
            Err(err) => tracing::error!(vault = %name, error = %err, "closing the vault failed"),
        }
    }
}
