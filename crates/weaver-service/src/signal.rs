//! The one shutdown path: SIGTERM or SIGINT cancel a token that every server and task watches.

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

/// Cancels `shutdown` on SIGTERM (Kubernetes) or SIGINT (Ctrl-C). The handlers are installed
/// when this returns, before the server listens.
pub fn cancel_on_signal(shutdown: &CancellationToken) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
            }
            shutdown.cancel();
        });
    }
    #[cfg(not(unix))]
    {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("Ctrl-C received");
                shutdown.cancel();
            }
        });
    }
    Ok(())
}
