//! `weaver bridge DIR`: the folder-to-cluster mirror (`weaver_cluster::bridge`) as a service,
//! with `/livez`, `/readyz` and `/metrics` on `--listen`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use weaver_cluster::bridge::{self, BridgeOptions, BridgeStatus};

use crate::cli::BridgeArgs;

/// Runs the bridge until SIGTERM or SIGINT; a fatal error (a schema newer than this binary, a
/// folder that cannot be opened) ends it with that error.
pub fn command(args: BridgeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: BridgeArgs) -> anyhow::Result<ExitCode> {
    let metrics = weaver_service::metrics::install();
    let shutdown = CancellationToken::new();
    weaver_service::signal::cancel_on_signal(&shutdown)?;
    let interval = Duration::from_millis(args.interval_ms.max(50));
    let options = BridgeOptions {
        dir: args.dir.clone(),
        name: args.name.clone(),
        postgres_url: args.db.postgres_url.clone(),
        cache_dir: args.cache_dir.clone(),
        interval,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(addr = %listener.local_addr()?, vault = %args.name, dir = %args.dir.display(), "listening");

    let status = Arc::new(Mutex::new(BridgeStatus::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut worker = {
        let (status, stop) = (Arc::clone(&status), Arc::clone(&stop));
        tokio::task::spawn_blocking(move || bridge::run(&options, &stop, &status))
    };
    let ready = {
        let status = Arc::clone(&status);
        move || async move {
            let now = match status.lock() {
                Ok(g) => g.now(interval),
                Err(p) => p.into_inner().now(interval),
            };
            let code = if now.in_sync {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (code, axum::Json(now)).into_response()
        }
    };
    let app = Router::new()
        .route(
            "/livez",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(ready))
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { metrics.render().into_response() }
            }),
        );
    let server =
        axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let outcome = tokio::select! {
        served = server => {
            served.context("the HTTP server failed")?;
            None
        }
        ended = &mut worker => Some(ended),
    };
    stop.store(true, Ordering::Relaxed);
    shutdown.cancel();
    let ended = match outcome {
        Some(ended) => ended,
        None => worker.await,
    };
    ended.context("the bridge thread panicked")??;
    tracing::info!("bridge stopped");
    Ok(ExitCode::SUCCESS)
}
