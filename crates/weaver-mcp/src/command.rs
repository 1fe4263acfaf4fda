//! `weaver mcp`: the MCP server as its own process, over stdio (desktop agents) or Streamable
//! HTTP (`--http`), with the vault open in this process, or (`--upstream URL`) with no vault at
//! all: every tool is a call to the REST API of the `weaver serve` at URL. The latter is the
//! stateless MCP service of the Kubernetes layout.
//!
//! The server answers `initialize` at once; the vault opens (and indexes) on a background
//! thread, and tools called before it is ready wait briefly, then answer `vault_not_ready`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use weaver_app::{SemanticModel, VaultOptions, WatchOptions, WatchedVault};

use crate::cli::McpArgs;
use crate::{
    BodyLimit, DEFAULT_READY_WAIT, HttpOptions, LocalBackend, McpOptions, RestDirectory,
    SingleVault, VaultBackend, VaultDirectory, http_service, serve_stdio,
};

/// How long `/readyz` waits for the default vault to answer.
const READY_PROBE: std::time::Duration = std::time::Duration::from_secs(1);

/// `/livez`, `/readyz` (the vault answers: opened here, or the upstream is ready) and
/// `/metrics` (process metrics), outside the API-key check so probes and scrapers need no key.
fn operations(vaults: Arc<dyn VaultDirectory>) -> axum::Router {
    use axum::http::StatusCode;
    use axum::routing::get;
    let metrics = weaver_service::metrics::install();
    let last: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    axum::Router::new()
        .route("/livez", get(|| async { (StatusCode::OK, "ok") }))
        .route(
            "/readyz",
            get(move || {
                let vaults = Arc::clone(&vaults);
                let last = Arc::clone(&last);
                async move {
                    let answered = match vaults.backend(None) {
                        Ok(backend) => {
                            match tokio::time::timeout(READY_PROBE, backend.stats()).await {
                                Ok(Ok(_)) => Ok(()),
                                Ok(Err(err)) => Err(err.to_string()),
                                Err(_) => Err(format!(
                                    "the vault did not answer within {} s",
                                    READY_PROBE.as_secs()
                                )),
                            }
                        }
                        Err(err) => Err(err.to_string()),
                    };
                    let mut logged = match last.lock() {
                        Ok(guard) => guard,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    match answered {
                        Ok(()) => {
                            *logged = None;
                            (
                                StatusCode::OK,
                                axum::Json(serde_json::json!({"status": "ready"})),
                            )
                        }
                        Err(reason) => {
                            // Probes come every few seconds: log a reason once, not each time.
                            if logged.as_deref() != Some(reason.as_str()) {
                                tracing::warn!(reason = %reason, "not ready");
                                *logged = Some(reason.clone());
                            }
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                axum::Json(
                                    serde_json::json!({"status": "not_ready", "reason": reason}),
                                ),
                            )
                        }
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    weaver_service::metrics::process();
                    metrics.run_upkeep();
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        metrics.render(),
                    )
                }
            }),
        )
}

/// The vault opened here and its watcher, once open; they live as long as this is held.
type Watcher = Arc<std::sync::Mutex<Option<WatchedVault>>>;

/// Runs `weaver mcp`; `vault` gives the options of the vault to open here and `model` its
/// embedding model (neither is called with `--upstream`, whose server has its own).
pub fn command(
    vault: &dyn Fn() -> anyhow::Result<VaultOptions>,
    model: &dyn Fn() -> Arc<SemanticModel>,
    args: &McpArgs,
) -> anyhow::Result<ExitCode> {
    // What is served: the vaults of an upstream `weaver serve` (`/mcp/{vault}` is its vault
    // `{vault}`), or one vault opened here. `/mcp` and stdio serve the default vault.
    let (vaults, upstream, watcher): (Arc<dyn VaultDirectory>, _, _) = match &args.upstream {
        Some(upstream) => {
            let directory = match &args.name {
                Some(name) => RestDirectory::new(upstream, name)?,
                None => RestDirectory::choosing(upstream)?,
            };
            tracing::info!(upstream = %upstream, vault = ?args.name, "serving an upstream weaver serve");
            (Arc::new(directory.clone()), Some(directory), None)
        }
        None => {
            let name = args.name.as_deref().unwrap_or("default");
            let (backend, watcher) = open_local(vault()?, model(), name)?;
            let backend: Arc<dyn VaultBackend> = Arc::new(backend);
            (Arc::new(SingleVault(backend)), None, Some(watcher))
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("weaver-mcp")
        .build()
        .context("cannot start the async runtime")?;
    let mcp_options = McpOptions::new(args.read_only);
    let result = runtime.block_on(async move {
        if let Some(directory) = upstream {
            tokio::spawn(choose_default_vault(directory));
        }
        if !args.http {
            return serve_stdio(vaults, mcp_options).await;
        }
        let shutdown = CancellationToken::new();
        let mut http = HttpOptions::loopback(shutdown.clone());
        if !args.allowed_hosts.is_empty() {
            http.allowed_hosts.clone_from(&args.allowed_hosts);
        }
        http.allowed_origins.clone_from(&args.allowed_origins);
        http.max_body_bytes = BodyLimit::fixed(args.max_body_bytes);
        for hash in &args.api_key_hashes {
            weaver_service::keys::validate_hash(hash)
                .map_err(|reason| anyhow::anyhow!("--api-key-hash: {reason}"))?;
        }
        let hashes = Arc::new(args.api_key_hashes.clone());
        let probe = Arc::clone(&vaults);
        let mcp =
                axum::Router::new()
                    .nest("/mcp", http_service(vaults, mcp_options, http))
                    .layer(axum::middleware::from_fn(
                        move |request: axum::extract::Request, next: axum::middleware::Next| {
                            let hashes = Arc::clone(&hashes);
                            async move {
                                weaver_service::keys::require_bearer(&hashes, request, next).await
                            }
                        },
                    ));
        // A span per request, continuing the caller's W3C trace (the gateway's), so tool calls
        // and the upstream requests they make (which forward `traceparent`) join it.
        let mcp = mcp.layer(axum::middleware::from_fn(
            |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let span = tracing::info_span!("mcp.request", method = %request.method());
                weaver_service::telemetry::continue_trace(&span, request.headers());
                tracing::Instrument::instrument(next.run(request), span).await
            },
        ));
        let app = operations(probe).merge(mcp);
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on `{}`", args.listen))?;
        let addr = listener
            .local_addr()
            .context("the listener has no address")?;
        tracing::info!(addr = %addr, "listening");
        eprintln!("MCP (Streamable HTTP) on http://{addr}/mcp");
        weaver_service::signal::cancel_on_signal(&shutdown)?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .context("the HTTP server failed")
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    drop(watcher);
    result.map(|()| ExitCode::SUCCESS)
}

/// How often the upstream's vault list is asked again while no default vault is chosen.
const CHOOSE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Chooses the upstream vault `/mcp` serves (see [`RestDirectory::choosing`]), asking again
/// until it can; logs each new reason it cannot (a reason that stays is not repeated).
async fn choose_default_vault(directory: RestDirectory) {
    let mut last: Option<String> = None;
    loop {
        match directory.choose_default().await {
            Ok(name) => {
                tracing::info!(vault = %name, "serving the upstream vault at /mcp");
                return;
            }
            Err(err) => {
                let reason = err.to_string();
                if last.as_deref() != Some(reason.as_str()) {
                    tracing::warn!(reason = %reason, "no upstream vault to serve at /mcp yet");
                    last = Some(reason);
                }
            }
        }
        tokio::time::sleep(CHOOSE_RETRY).await;
    }
}

/// Opens the vault of `--vault` on a background thread and watches it, as `weaver serve`
/// opens each of its vaults ([`WatchedVault`]); the backend answers at once, and waits briefly
/// for the vault in each call until it is ready.
fn open_local(
    options: VaultOptions,
    model: Arc<SemanticModel>,
    name: &str,
) -> anyhow::Result<(LocalBackend, Watcher)> {
    let (backend, slot) = LocalBackend::opening(name, DEFAULT_READY_WAIT);
    // The open vault (and so its watcher) lives as long as the caller keeps the handle.
    let watcher: Watcher = Arc::new(std::sync::Mutex::new(None));
    let keep = Arc::clone(&watcher);
    let name = name.to_owned();
    std::thread::Builder::new()
        .name("weaver-open".to_owned())
        .spawn(move || {
            let opened =
                WatchedVault::open(&name, &options, Some(WatchOptions::default()), |_| Ok(())).map(
                    |open| {
                        tracing::info!(notes = open.vault.snapshot().notes().len(), "vault ready");
                        // Embedding starts after the keyword index is ready, in the background.
                        model.attach(&open.vault);
                        let vault = Arc::clone(&open.vault);
                        if let Ok(mut slot) = keep.lock() {
                            *slot = Some(open);
                        }
                        vault
                    },
                );
            slot.set(opened);
        })
        .context("cannot start the vault thread")?;
    Ok((backend, watcher))
}
