//! Reload triggers shared by the services: a watch on a config file's folder, and SIGHUP.
//!
//! The file's *parent folder* is watched, not the file: Kubernetes updates a mounted ConfigMap by
//! swapping a `..data` symbolic link in that folder, which never writes the file itself, and
//! editors often replace files by renaming.

use notify::{RecursiveMode, Watcher};
use tokio_util::sync::CancellationToken;

/// Watches the folder of `file` (not the file: see the module docs); `on_event` runs on every
/// event in it, on the watcher's thread.
pub fn watch_folder(
    file: &std::path::Path,
    on_event: impl Fn() + Send + 'static,
) -> Option<notify::RecommendedWatcher> {
    let folder = file.parent()?.to_path_buf();
    let mut watcher = match notify::recommended_watcher(
        move |event: notify::Result<notify::Event>| {
            if event.is_ok() {
                on_event();
            }
        },
    ) {
        Ok(w) => w,
        Err(err) => {
            tracing::error!(error = %err, "cannot watch the configuration file; reload with SIGHUP");
            return None;
        }
    };
    if let Err(err) = watcher.watch(&folder, RecursiveMode::NonRecursive) {
        tracing::error!(folder = %folder.display(), error = %err, "cannot watch the configuration folder; reload with SIGHUP");
        return None;
    }
    tracing::info!(folder = %folder.display(), "watching the configuration for changes");
    Some(watcher)
}

/// Runs `on_hangup` on every SIGHUP until `shutdown`; the handler is in place when this
/// returns (a SIGHUP before that would end the process).
#[cfg(unix)]
pub fn spawn_hangup_listener(shutdown: CancellationToken, on_hangup: impl Fn() + Send + 'static) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(err) => {
            tracing::error!(error = %err, "cannot listen for SIGHUP");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                received = hangup.recv() => {
                    if received.is_none() {
                        return;
                    }
                    tracing::info!("SIGHUP: reloading the configuration");
                    on_hangup();
                }
            }
        }
    });
}

#[cfg(not(unix))]
pub fn spawn_hangup_listener(_shutdown: CancellationToken, _on_hangup: impl Fn() + Send + 'static) {
}
