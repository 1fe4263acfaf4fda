//! What every handler can reach: the live configuration, the vaults, the metrics handle and the
//! shutdown signal.

use std::sync::Arc;

use arc_swap::ArcSwap;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

use super::error::ApiError;
use super::vaults::{VaultEntry, Vaults};
use crate::config::Config;
use weaver_app::WatchedVault;

/// Shared state of the server. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The configuration in force; swapped whole on reload.
    pub config: Arc<ArcSwap<Config>>,
    /// The vaults.
    pub vaults: Arc<Vaults>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Cancelled when the server starts shutting down.
    pub shutdown: CancellationToken,
    /// Cluster mode: this server as a replica of the database.
    pub cluster: Option<Arc<weaver_cluster::Replica>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("vaults", &self.vaults)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for `config`, with no vault opened yet.
    pub fn new(config: Config, metrics: PrometheusHandle, shutdown: CancellationToken) -> Self {
        let cluster = config.cluster.clone().map(weaver_cluster::Replica::new);
        let semantic = config.search.semantic.model();
        Self {
            config: Arc::new(ArcSwap::from_pointee(config)),
            vaults: Arc::new(Vaults::new(shutdown.clone(), cluster.clone(), semantic)),
            metrics,
            shutdown,
            cluster,
        }
    }

    /// The configured vault `name`, whatever its state.
    pub fn entry(&self, name: &str) -> Result<Arc<VaultEntry>, ApiError> {
        match self.vaults.get(name) {
            Some(entry) => Ok(entry),
            None if self.shutdown.is_cancelled() => Err(ApiError::ShuttingDown),
            // A replica that has not listed the database's vaults yet, or not opened one it
            // listed, cannot say the vault does not exist: it is not ready (another replica,
            // or a retry, can answer).
            None if self.cluster.as_ref().is_some_and(|replica| {
                replica
                    .vault_names()
                    .is_none_or(|names| names.iter().any(|n| n == name))
            }) =>
            {
                Err(ApiError::VaultNotReady(name.to_owned()))
            }
            None => Err(ApiError::UnknownVault(name.to_owned())),
        }
    }

    /// The open vault `name`, or why it cannot answer.
    pub fn vault(&self, name: &str) -> Result<Arc<WatchedVault>, ApiError> {
        let entry = self.entry(name)?;
        match entry.ready() {
            Err(ApiError::UnknownVault(_)) if self.shutdown.is_cancelled() => {
                Err(ApiError::ShuttingDown)
            }
            other => other,
        }
    }
}

/// Runs blocking vault work (queries read files, searches touch tantivy) off the async threads.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    cancellable(move |_| f()).await
}

/// [`blocking`] for work that checks a token between its steps: the token is cancelled when the
/// handler's future is dropped (the client disconnected or the request timed out), so the work
/// stops instead of finishing for nobody.
pub async fn cancellable<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce(&CancellationToken) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    weaver_service::cancel::run(f)
        .await
        .map_err(|e| ApiError::Internal(format!("a vault query failed: {e}")))?
}
