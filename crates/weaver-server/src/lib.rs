//! `weaver serve`: the core service. One process serves one or more named vaults over HTTP:
//! the web UI at `/`, the REST API under `/api/v1` (see `routes/`), live change events (SSE), the
//! OpenAPI document and Swagger UI, and the operations endpoints (`/livez`, `/readyz`,
//! `/metrics`).
//!
//! [`run`] takes the listener and the shutdown token from its caller (mini-redis'
//! `server::run(listener, shutdown)`), so a signal handler and a test stop the server the same
//! way. Start-up never waits for a vault: the server listens at once, vaults open in the
//! background (`vaults.rs`), and `/readyz` says when they are done.
//!
//! Shutdown, when the token is cancelled: `/readyz` answers 503, the listener stops accepting,
//! event streams end, requests in flight get `server.shutdown_timeout_secs` to finish, then the
//! watchers stop and the vaults are dropped (releasing their caches).
//!
//! Module map: `state.rs` (what handlers share), `vaults.rs` (vault lifecycle), `events.rs`
//! (per-vault broadcast of changes), `routes/` (REST handlers and their DTOs), `ops.rs`
//! (health and metrics routes), `metrics.rs` (every metric name), `middleware.rs` (the layer
//! stack), `error.rs` (JSON errors), `extract.rs` (extractors with JSON rejections),
//! `openapi.rs` (the document), `reload.rs` (config hot reload); the web UI's routes come
//! from weaver-ui.

pub mod config;
mod error;
mod events;
mod extract;
mod mcp;
mod metrics;
mod middleware;
mod openapi;
mod ops;
mod reload;
mod routes;
mod state;
mod vaults;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Loader, Overrides};
use state::AppState;
use weaver_service::logging::{self, LogHandle};

/// How long the runtime waits for blocking work (a vault still opening) once the server has
/// stopped.
const RUNTIME_GRACE: Duration = Duration::from_secs(5);

/// What [`run`] serves: the configuration, where to re-read it, and the log filter to adjust.
pub struct Service {
    /// The configuration at start.
    pub config: Config,
    /// Re-reads the configuration on reload.
    pub loader: Loader,
    /// Changes the log level on reload.
    pub log: LogHandle,
}

/// `weaver serve`: loads the configuration (`config_file`, or `./weaver.toml` when it exists,
/// then the environment, then the command line's `overrides`), starts logging, binds, and
/// serves until SIGTERM or SIGINT.
pub fn command(config_file: Option<PathBuf>, overrides: Overrides) -> anyhow::Result<ExitCode> {
    let loader = Loader::new(config_file, overrides)?;
    let config = loader.load()?;
    let (_telemetry, log) = logging::init_service(&config.log, &config.tracing)?;
    tracing::info!(
        config = %loader.describe(),
        vaults = ?config.vaults.keys().collect::<Vec<_>>(),
        "configuration loaded"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("weaver-serve")
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let listener = TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on `{}`", config.server.listen))?;
        let shutdown = CancellationToken::new();
        weaver_service::signal::cancel_on_signal(&shutdown)?;
        run(
            listener,
            Service {
                config,
                loader,
                log,
            },
            shutdown,
        )
        .await
    });
    runtime.shutdown_timeout(RUNTIME_GRACE);
    result.map(|()| ExitCode::SUCCESS)
}

/// Serves on `listener` until `shutdown` is cancelled, then drains and closes everything.
pub async fn run(
    listener: TcpListener,
    service: Service,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Service {
        config,
        loader,
        log,
    } = service;
    let addr = listener
        .local_addr()
        .context("the listener has no address")?;
    let state = AppState::new(config, metrics::install(), shutdown.clone());
    state.vaults.apply(&state.config.load(), false);
    let follower = state
        .cluster
        .clone()
        .map(|replica| start_replica(&state, replica));
    let reload = reload::spawn(state.clone(), loader, log, shutdown.clone());
    let app = app(&state);
    tracing::info!(addr = %addr, "listening");
    let draining = shutdown.clone();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            draining.cancelled().await;
            tracing::info!(
                "shutting down: not accepting connections, finishing requests in flight"
            );
        })
        .into_future();
    tokio::select! {
        served = server => served.context("the HTTP server failed")?,
        () = drain_deadline(&state) => tracing::warn!(
            "requests still running at the shutdown deadline were cut off"
        ),
    }
    tracing::info!("closing vaults");
    reload.abort();
    if let Some(replica) = &state.cluster {
        replica.stop();
    }
    if let Some(follower) = follower {
        follower.abort();
    }
    state.vaults.close_all().await;
    tracing::info!("stopped");
    Ok(())
}

/// Cluster mode: connects to the database in the background (retrying with back-off; the
/// server listens and is unready meanwhile), then opens the database's vaults over their local
/// copies and follows the log.
fn start_replica(
    state: &AppState,
    replica: std::sync::Arc<weaver_cluster::Replica>,
) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tracing::info!(cluster = ?replica.config(), "cluster mode: this server is a replica");
    tokio::spawn(async move {
        let connecting = std::sync::Arc::clone(&replica);
        match tokio::task::spawn_blocking(move || connecting.connect()).await {
            Ok(Ok(names)) => {
                tracing::info!(vaults = ?names, "cluster: connected to the database");
                state.vaults.apply(&state.config.load(), false);
                let following = std::sync::Arc::clone(&replica);
                if let Err(error) = following.spawn_follower() {
                    tracing::error!(%error, "cluster: cannot start following the log");
                }
                // A vault imported while the replica runs is opened (and one dropped, closed).
                let mut names = replica.subscribe_names();
                loop {
                    tokio::select! {
                        () = state.shutdown.cancelled() => break,
                        changed = names.changed() => {
                            if changed.is_err() {
                                break;
                            }
                            state.vaults.apply(&state.config.load(), false);
                        }
                    }
                }
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "cluster: cannot use the database; the replica stays unready");
            }
            Err(error) => tracing::error!(%error, "cluster: connecting panicked"),
        }
    })
}

/// The whole application: API, documentation, operations, fallbacks, layers.
fn app(state: &AppState) -> Router {
    let mut router = Router::new()
        .merge(routes::router())
        .merge(ops::router())
        .merge(openapi::router())
        .merge(weaver_ui::router());
    let mcp_config = state.config.load().mcp.clone();
    if mcp_config.enabled {
        router = router.nest("/mcp", mcp::router(state, &mcp_config));
    }
    let router = router
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed);
    middleware::layers(router, state).with_state(state.clone())
}

/// Resolves `server.shutdown_timeout_secs` after shutdown begins.
async fn drain_deadline(state: &AppState) {
    state.shutdown.cancelled().await;
    let secs = state.config.load().server.shutdown_timeout_secs;
    tokio::time::sleep(Duration::from_secs(secs)).await;
}
