//! `weaver mcp`: the MCP server as its own process, over stdio (desktop agents) or Streamable
//! HTTP (`--http`), with the vault open in this process.
//!
//! The server answers `initialize` at once; the vault opens (and indexes) on a background
//! thread, and tools called before it is ready wait briefly, then answer `vault_not_ready`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use weaver_app::{Vault, WatchOptions};

use crate::cli::{Global, McpArgs};
use crate::commands::vault_options;
use crate::mcp::{
    DEFAULT_READY_WAIT, HttpOptions, LocalBackend, McpOptions, SingleVault, http_service,
    serve_stdio,
};

/// Runs `weaver mcp`.
pub fn command(global: &Global, args: &McpArgs) -> anyhow::Result<ExitCode> {
    let options = vault_options(global)?;
    let (backend, slot) = LocalBackend::opening(&args.name, DEFAULT_READY_WAIT);
    // The watcher lives as long as the process: kept here, dropped on return.
    let watcher = Arc::new(std::sync::Mutex::new(None));
    let keep = Arc::clone(&watcher);
    std::thread::Builder::new()
        .name("weaver-open".to_owned())
        .spawn(move || {
            let opened = Vault::open(&options, &|_| {}).map(|(vault, report)| {
                tracing::info!(notes = report.notes, "vault ready");
                Arc::new(vault)
            });
            if let Ok(vault) = &opened {
                match weaver_app::watch(Arc::clone(vault), WatchOptions::default(), |_| {}) {
                    Ok(handle) => {
                        if let Ok(mut slot) = keep.lock() {
                            *slot = Some(handle);
                        }
                    }
                    Err(err) => tracing::error!(error = %err, "serving without live updates"),
                }
            }
            slot.set(opened);
        })
        .context("cannot start the vault thread")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("weaver-mcp")
        .build()
        .context("cannot start the async runtime")?;
    let mcp_options = McpOptions::new(args.read_only);
    let backend: Arc<dyn crate::mcp::VaultBackend> = Arc::new(backend);
    let result = runtime.block_on(async move {
        if !args.http {
            return serve_stdio(backend, mcp_options).await;
        }
        let shutdown = CancellationToken::new();
        let mut http = HttpOptions::loopback(shutdown.clone());
        if !args.allowed_hosts.is_empty() {
            http.allowed_hosts.clone_from(&args.allowed_hosts);
        }
        http.allowed_origins.clone_from(&args.allowed_origins);
        for hash in &args.api_key_hashes {
            crate::keys::validate_hash(hash)
                .map_err(|reason| anyhow::anyhow!("--api-key-hash: {reason}"))?;
        }
        let hashes = Arc::new(args.api_key_hashes.clone());
        let app = axum::Router::new()
            .nest(
                "/mcp",
                http_service(Arc::new(SingleVault(backend)), mcp_options, http),
            )
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    let hashes = Arc::clone(&hashes);
                    async move {
                        if crate::keys::authorize(request.headers(), &hashes).is_ok() {
                            next.run(request).await
                        } else {
                            use axum::response::IntoResponse;
                            (
                                axum::http::StatusCode::UNAUTHORIZED,
                                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                                axum::Json(serde_json::json!({
                                    "code": "unauthorized",
                                    "message": "missing or invalid bearer token",
                                })),
                            )
                                .into_response()
                        }
                    }
                },
            ))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(
                args.max_body_bytes,
            ));
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on `{}`", args.listen))?;
        let addr = listener
            .local_addr()
            .context("the listener has no address")?;
        tracing::info!(addr = %addr, "listening");
        eprintln!("MCP (Streamable HTTP) on http://{addr}/mcp");
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        });
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let stop = shutdown.clone();
            let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
            tokio::spawn(async move {
                terminate.recv().await;
                stop.cancel();
            });
        }
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .context("the HTTP server failed")
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    drop(watcher);
    result.map(|()| ExitCode::SUCCESS)
}
