//! Hot reload of the configuration: on a change of the config file, and on SIGHUP.
//!
//! The file's *parent folder* is watched, not the file: Kubernetes updates a mounted ConfigMap by
//! swapping a `..data` symbolic link in that folder, which never writes the file itself, and
//! editors often replace files by renaming. Any event in the folder re-reads the file; nothing
//! happens unless its content changed. SIGHUP always reloads, and also retries vaults that
//! failed to open.
//!
//! An invalid new configuration is logged and the previous one stays in force. Reload-safe
//! settings apply at once (log level, request limits, metrics token, the vault list); the others
//! (`server.listen`, `log.format`, `watch.*`) are logged as needing a restart.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use weaver_service::reload::{spawn_hangup_listener, watch_folder};

use super::state::AppState;
use crate::config::{Config, Loader};
use weaver_service::logging::LogHandle;

/// Bursts of file events (a ConfigMap swap is several) settle for this long before a re-read.
const SETTLE: Duration = Duration::from_millis(100);

/// Why a reload happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    FileEvent,
    Hangup,
}

/// Starts reloading: the SIGHUP handler and the folder watcher are in place when this returns
/// (a SIGHUP before that would end the process); the reloads run until `shutdown`.
pub fn spawn(
    state: AppState,
    loader: Loader,
    log: LogHandle,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let (tx, rx) = mpsc::channel::<Trigger>(16);
    let watcher = loader.file().and_then(|file| {
        let tx = tx.clone();
        watch_folder(file, move || {
            // A full channel already holds a pending reload.
            let _ = tx.try_send(Trigger::FileEvent);
        })
    });
    spawn_hangup_listener(shutdown.clone(), move || {
        let _ = tx.try_send(Trigger::Hangup);
    });
    tokio::spawn(async move {
        let _watcher = watcher;
        run(state, loader, log, shutdown, rx).await;
    })
}

async fn run(
    state: AppState,
    loader: Loader,
    log: LogHandle,
    shutdown: CancellationToken,
    mut rx: mpsc::Receiver<Trigger>,
) {
    let mut last = loader.read_file().ok().flatten();
    loop {
        let trigger = tokio::select! {
            () = shutdown.cancelled() => return,
            trigger = rx.recv() => match trigger {
                Some(t) => t,
                None => return,
            },
        };
        tokio::time::sleep(SETTLE).await;
        let mut hangup = trigger == Trigger::Hangup;
        while let Ok(t) = rx.try_recv() {
            hangup |= t == Trigger::Hangup;
        }
        let contents = match loader.read_file() {
            Ok(c) => c,
            Err(err) => {
                // Mid-swap, or removed: keep what we have; the next event tries again.
                tracing::warn!(error = %err, "cannot read the configuration file; keeping the current configuration");
                continue;
            }
        };
        if !hangup && contents == last {
            continue;
        }
        last.clone_from(&contents);
        match loader.load_from(contents.as_deref()) {
            Ok(config) => apply(&state, &log, config, hangup),
            Err(err) => tracing::error!(
                error = %err,
                "the new configuration is invalid; keeping the current configuration"
            ),
        }
    }
}

/// Puts `new` in force.
fn apply(state: &AppState, log: &LogHandle, new: Config, hangup: bool) {
    let old = state.config.load_full();
    if old.log.level != new.log.level
        && let Err(err) = log.set_filter(&new.log.level)
    {
        tracing::error!(error = %err, level = %new.log.level, "cannot change the log level");
    }
    let mut restart = Vec::new();
    if old.server.listen != new.server.listen {
        restart.push("server.listen");
    }
    if old.log.format != new.log.format {
        restart.push("log.format");
    }
    if old.watch != new.watch {
        restart.push("watch");
    }
    if !restart.is_empty() {
        tracing::warn!(
            keys = ?restart,
            "these settings changed but apply only after a restart (watch: to vaults opened from now on)"
        );
    }
    state.vaults.apply(&new, hangup);
    let vaults: Vec<&String> = new.vaults.keys().collect();
    state.config.store(Arc::new(new.clone()));
    tracing::info!(vaults = ?vaults, level = %new.log.level, "configuration reloaded");
}
