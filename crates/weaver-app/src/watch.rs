//! The live index: a debounced file watcher plus a periodic reconcile.
//!
//! notify-debouncer-full gathers raw events for `debounce` and pairs renames; its callback runs on
//! the debouncer's thread and only forwards paths into a channel. One worker thread drains the
//! channel, coalescing everything that arrived meanwhile into one sync, so a `git checkout` that
//! touches 5,000 files costs one or two syncs, not 5,000. Large bursts become a full reconcile.
//! Every `rescan` interval the worker reconciles the whole vault anyway: watchers drop events
//! (overflowing inotify queues, network filesystems, sleeping laptops).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use notify::RecursiveMode;
use notify_debouncer_full::{
    DebounceEventResult, RecommendedCache, new_debouncer_opt, notify::RecommendedWatcher,
};
use weaver_core::VaultPath;

use crate::AppError;
use crate::scan::vault_path_of;
use crate::vault::{Scope, SyncReport, Vault};

/// Past this many changed paths in one batch, a full reconcile is cheaper than per-path syncs.
const FULL_SYNC_THRESHOLD: usize = 512;
/// First wait before a failed sync is retried; doubled after each failure up to [`REPAIR_MAX`].
const REPAIR_FIRST: Duration = Duration::from_secs(1);
/// Longest wait between retries of a failed sync.
const REPAIR_MAX: Duration = Duration::from_secs(10);

/// How the watcher behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// How long the debouncer waits for a burst to settle.
    pub debounce: Duration,
    /// How often the whole vault is reconciled regardless of events.
    pub rescan: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(50),
            rescan: Duration::from_secs(300),
        }
    }
}

/// Live counters of a watcher, for metrics.
#[derive(Debug, Default)]
pub struct WatchStats {
    events: AtomicU64,
    /// Milliseconds since `epoch` of the oldest event not yet applied; 0 when none is pending.
    pending_since_ms: AtomicU64,
    epoch: std::sync::OnceLock<Instant>,
}

impl WatchStats {
    fn now_ms(&self) -> u64 {
        let epoch = self.epoch.get_or_init(Instant::now);
        u64::try_from(epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn received(&self, events: usize) {
        self.events.fetch_add(events as u64, Ordering::Relaxed);
        let now = self.now_ms();
        let _ =
            self.pending_since_ms
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn applied(&self) {
        self.pending_since_ms.store(0, Ordering::Relaxed);
    }

    /// File-system events received since the watcher started.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// How long the oldest change not yet in the index has been waiting (zero when none is).
    pub fn lag(&self) -> Duration {
        match self.pending_since_ms.load(Ordering::Relaxed) {
            0 => Duration::ZERO,
            since => Duration::from_millis(self.now_ms().saturating_sub(since)),
        }
    }
}

enum Message {
    Paths(Vec<VaultPath>),
    Rescan,
    Stop,
}

/// A running watcher. Dropping it stops the watcher and waits for the worker to finish.
pub struct WatchHandle {
    stop: Sender<Message>,
    stats: Arc<WatchStats>,
    worker: Option<JoinHandle<()>>,
    // Dropping the debouncer stops its thread; kept alive for as long as the handle.
    _debouncer: Box<dyn std::any::Any + Send>,
}

impl std::fmt::Debug for WatchHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchHandle").finish_non_exhaustive()
    }
}

impl WatchHandle {
    /// Event counters and index lag of this watcher.
    pub fn stats(&self) -> Arc<WatchStats> {
        Arc::clone(&self.stats)
    }

    /// Stops watching and waits for an in-progress sync to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(Message::Stop);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts watching `vault`. `on_sync` is called on the worker thread after every sync that
/// changed something.
pub fn watch(
    vault: Arc<Vault>,
    options: WatchOptions,
    on_sync: impl Fn(&SyncReport) + Send + 'static,
) -> Result<WatchHandle, AppError> {
    let (tx, rx) = crossbeam_channel::unbounded::<Message>();
    let stats = Arc::new(WatchStats::default());
    let counted = Arc::clone(&stats);
    let root = vault.root().to_path_buf();
    let forward = tx.clone();
    let callback_root = root.clone();
    // Linked folders are not watched: their files are not the vault's. (Events that still name a
    // path below a link are refused when the sync opens it through the vault's handle.)
    let config = notify::Config::default().with_follow_symlinks(false);
    let mut debouncer = new_debouncer_opt::<_, RecommendedWatcher, RecommendedCache>(
        options.debounce,
        None,
        move |result: DebounceEventResult| match result {
            Ok(events) => {
                let mut paths = Vec::new();
                for event in events {
                    if event.need_rescan() {
                        let _ = forward.send(Message::Rescan);
                    }
                    // Opening and reading files (our own walks and reads included) changes
                    // nothing; following those events would make every sync trigger another.
                    if event.kind.is_access() {
                        continue;
                    }
                    for path in &event.paths {
                        if let Some(p) = vault_path_of(&callback_root, path) {
                            paths.push(p);
                        }
                    }
                }
                if !paths.is_empty() {
                    counted.received(paths.len());
                    let _ = forward.send(Message::Paths(paths));
                }
            }
            Err(errors) => {
                for error in errors {
                    tracing::warn!(error = %error, "file watcher error; scheduling a rescan");
                }
                let _ = forward.send(Message::Rescan);
            }
        },
        RecommendedCache::new(),
        config,
    )
    .map_err(|e| AppError::Watch {
        path: root.clone(),
        reason: e.to_string(),
    })?;
    debouncer
        .watch(&root, RecursiveMode::Recursive)
        .map_err(|e| AppError::Watch {
            path: root.clone(),
            reason: e.to_string(),
        })?;
    // Files changed between the last sync and the watch registration produced no event:
    // reconcile once now that every later change is seen.
    let _ = tx.send(Message::Rescan);
    let worker = std::thread::Builder::new()
        .name("weaver-watch".to_owned())
        .spawn({
            let stats = Arc::clone(&stats);
            move || run_worker(&vault, &rx, options.rescan, &stats, &on_sync)
        })
        .map_err(|e| AppError::Watch {
            path: root.clone(),
            reason: e.to_string(),
        })?;
    Ok(WatchHandle {
        stop: tx,
        stats,
        worker: Some(worker),
        _debouncer: Box::new(debouncer),
    })
}

fn run_worker(
    vault: &Vault,
    rx: &Receiver<Message>,
    rescan: Duration,
    stats: &WatchStats,
    on_sync: &dyn Fn(&SyncReport),
) {
    let mut next_rescan = Instant::now() + rescan;
    let mut repair_wait = REPAIR_FIRST;
    loop {
        // A failed sync (a full disk, say) is retried on a short timer, so the index heals soon
        // after the cause is gone rather than at the next rescan.
        let repair_at = vault.needs_repair().then(|| Instant::now() + repair_wait);
        let wake = repair_at.map_or(next_rescan, |at| at.min(next_rescan));
        let timeout = wake.saturating_duration_since(Instant::now());
        let first = select! {
            recv(rx) -> msg => match msg {
                Ok(msg) => msg,
                Err(_) => return,
            },
            default(timeout) => if repair_at.is_some() && Instant::now() < next_rescan {
                match vault.repair() {
                    Ok(Some(report)) => {
                        tracing::info!("the index caught up after a failed sync");
                        repair_wait = REPAIR_FIRST;
                        if !report.changes.is_empty() {
                            on_sync(&report);
                        }
                    }
                    Ok(None) => repair_wait = REPAIR_FIRST,
                    Err(_) => repair_wait = (repair_wait * 2).min(REPAIR_MAX),
                }
                continue;
            } else {
                Message::Rescan
            },
        };
        // Coalesce everything that is already waiting.
        let mut paths = BTreeSet::new();
        let mut full = false;
        for msg in std::iter::once(first).chain(rx.try_iter()) {
            match msg {
                Message::Stop => return,
                Message::Rescan => full = true,
                Message::Paths(p) => paths.extend(p),
            }
        }
        let paths: Vec<VaultPath> = paths
            .into_iter()
            .filter(|p| !vault.ignore_rules().is_ignored(p.as_str(), false))
            .collect();
        if !full && paths.is_empty() {
            if rx.is_empty() {
                stats.applied();
            }
            continue;
        }
        let scope = if full || paths.len() > FULL_SYNC_THRESHOLD {
            next_rescan = Instant::now() + rescan;
            Scope::All
        } else {
            Scope::Paths(paths)
        };
        let synced = vault.sync(&scope);
        // Events that arrived during the sync are still waiting: their lag keeps counting.
        if rx.is_empty() {
            stats.applied();
        }
        match synced {
            Ok(report) if !report.changes.is_empty() => on_sync(&report),
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "live index update failed"),
        }
    }
}
