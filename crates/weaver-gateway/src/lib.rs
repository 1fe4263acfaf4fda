//! `weaver-gateway`: `weaver gateway`, the one authenticated front door of a deployment. `/api/...` goes to
//! `weaver serve`, `/mcp` and `/mcp/{vault}` to `weaver mcp --http`; `/livez`, `/readyz` (both
//! upstreams answer), `/metrics`, `/api/v1/whoami` (the caller's identity and role) and the web
//! UI's page and assets (`/`, `/assets/*`, from weaver-ui: no vault data) are the gateway's own.
//!
//! Modules: `config` (the layered configuration), `auth` (API keys and JWTs into identities),
//! `policy` (upstream, vault and least role of a request), `limits` (token buckets),
//! `proxy` (the request path and the forwarder), `server` (the accept loop: connection cap
//! with a short queue and fast refusal, request-head and idle time-outs, TLS), `cli` (its
//! command line), and here the live state, its reload, the middleware and the commands.
//!
//! # Invariants
//!
//! - Nothing reaches an upstream unauthenticated, except nothing: every route but the three
//!   operational ones and the web UI's static page and assets (served by the gateway itself)
//!   needs a valid API key or token, an allowed vault and a sufficient role.
//! - The live state ([`Live`]: configuration, keys, buckets, TLS, upstream client) is one
//!   `ArcSwap`; a request uses one snapshot from start to end, and a reload swaps it whole or
//!   not at all (an invalid new configuration is logged and the old one kept).
//! - Credentials never appear in logs or metrics: `Authorization` is marked sensitive, access
//!   logs carry the identity's name, and metric labels are bounded (key names, `jwt`,
//!   `anonymous`; route templates).

mod auth;
pub mod cli;
mod config;
mod limits;
mod policy;
mod proxy;
mod server;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{counter, describe_counter, describe_gauge, gauge, histogram};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

use crate::cli::{GatewayArgs, GatewayCommand, GatewayKeysCommand, Output};
use auth::Authenticator;
use config::{GatewayConfig, Loaded, Loader};
use limits::Limiters;
use proxy::{ClientAddr, IdentityLabel, RouteName, UpstreamClient};

/// Connections open now.
pub const CONNECTIONS_OPEN: &str = "gateway_connections_open";
/// Connections accepted.
pub const CONNECTIONS_TOTAL: &str = "gateway_connections_total";
/// Connections closed for moving no bytes.
pub const IDLE_CLOSED_TOTAL: &str = "gateway_idle_connections_closed_total";
/// Connections closed for sending no request head in time.
pub const HEADER_TIMEOUTS_TOTAL: &str = "gateway_header_timeouts_total";
/// Connections refused at the connection cap.
pub const CONNECTIONS_REFUSED_TOTAL: &str = "gateway_connections_refused_total";
/// Failed TLS handshakes.
pub const TLS_HANDSHAKE_FAILURES_TOTAL: &str = "gateway_tls_handshake_failures_total";
/// Requests refused by a rate limit, by `kind` (`address`, `identity`).
pub const RATE_LIMITED_TOTAL: &str = "gateway_rate_limited_total";
/// Requests without a valid credential, by `reason` (`missing`, `invalid`).
pub const AUTH_FAILURES_TOTAL: &str = "gateway_auth_failures_total";
/// Upstream failures, by `upstream` and `kind` (`unavailable`, `timeout`).
pub const UPSTREAM_ERRORS_TOTAL: &str = "gateway_upstream_errors_total";
/// Requests sent again (to the next upstream, or to the only one) after a connection error or
/// a 503 from one of several upstreams,
/// by `upstream`.
pub const UPSTREAM_RETRIES_TOTAL: &str = "gateway_upstream_retries_total";
/// Configuration reloads, by `result` (`applied`, `rejected`).
pub const RELOADS_TOTAL: &str = "gateway_config_reloads_total";
/// Rate-limit buckets held, by `kind`.
pub const BUCKETS: &str = "gateway_rate_limit_buckets";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Everything a request needs, rebuilt as a whole on reload.
pub struct Live {
    /// The configuration.
    pub config: GatewayConfig,
    /// Keys and token verification.
    pub auth: Authenticator,
    /// Token buckets.
    pub limits: Limiters,
    /// Networks of trusted proxies.
    pub trusted: Vec<ipnet::IpNet>,
    /// The upstream client (pooled connections).
    pub client: UpstreamClient,
    /// `upstreams.api`, each without a trailing `/`, taken in turn.
    pub api: proxy::Pool,
    /// `upstreams.mcp` without a trailing `/`.
    pub mcp: String,
    /// TLS, when configured.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Live {
    /// Builds the state `config` describes, checking keys, tokens and certificates.
    pub fn build(config: GatewayConfig) -> Result<Self, String> {
        let auth = Authenticator::new(&config.auth)?;
        let tls = config
            .tls
            .as_ref()
            .map(|tls| server::tls_acceptor(&tls.cert, tls.key.expose()))
            .transpose()?;
        let trusted = config
            .server
            .trusted_proxies
            .iter()
            .filter_map(|n| config::parse_network(n))
            .collect();
        Ok(Self {
            limits: Limiters::new(&config.limits),
            client: proxy::client(Duration::from_secs(config.upstreams.connect_timeout_secs)),
            api: proxy::Pool::new(config.upstreams.api.urls()),
            mcp: config.upstreams.mcp.trim_end_matches('/').to_owned(),
            auth,
            trusted,
            tls,
            config,
        })
    }
}

/// The gateway: its live state and metrics.
#[derive(Clone)]
pub struct Gateway {
    /// Swapped whole on reload.
    pub live: Arc<ArcSwap<Live>>,
    metrics: PrometheusHandle,
}

impl Gateway {
    /// A gateway serving `live`.
    pub fn new(live: Live) -> Self {
        describe();
        Self {
            live: Arc::new(ArcSwap::from_pointee(live)),
            metrics: weaver_service::metrics::install(),
        }
    }
}

fn describe() {
    describe_gauge!(CONNECTIONS_OPEN, "Client connections open");
    describe_counter!(CONNECTIONS_TOTAL, "Client connections accepted");
    describe_counter!(IDLE_CLOSED_TOTAL, "Connections closed for moving no bytes");
    describe_counter!(
        HEADER_TIMEOUTS_TOTAL,
        "Connections closed for sending no request head within the header time-out"
    );
    describe_counter!(
        CONNECTIONS_REFUSED_TOTAL,
        "Connections refused at the connection cap"
    );
    describe_counter!(
        TLS_HANDSHAKE_FAILURES_TOTAL,
        "TLS handshakes that failed or timed out"
    );
    describe_counter!(RATE_LIMITED_TOTAL, "Requests refused by a rate limit");
    describe_counter!(AUTH_FAILURES_TOTAL, "Requests without a valid credential");
    describe_counter!(
        UPSTREAM_ERRORS_TOTAL,
        "Upstream connection failures and time-outs"
    );
    describe_counter!(
        UPSTREAM_RETRIES_TOTAL,
        "Requests sent again after an upstream connection error"
    );
    describe_counter!(RELOADS_TOTAL, "Configuration reloads");
    describe_gauge!(BUCKETS, "Rate-limit buckets held");
}

/// The gateway's routes and middleware.
pub fn router(gateway: &Gateway) -> Router {
    let cors_state = Arc::clone(&gateway.live);
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            let origin = origin.to_str().unwrap_or_default();
            cors_state
                .load()
                .config
                .server
                .allowed_origins
                .iter()
                .any(|allowed| allowed == origin)
        }))
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::HEAD,
            axum::http::Method::POST,
            axum::http::Method::PUT,
            axum::http::Method::PATCH,
            axum::http::Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::ACCEPT,
            HeaderName::from_static("last-event-id"),
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("traceparent"),
            REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::RETRY_AFTER,
            REQUEST_ID,
            HeaderName::from_static("mcp-session-id"),
        ])
        .max_age(Duration::from_secs(600));
    Router::new()
        .route("/livez", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .route(proxy::WHOAMI, get(proxy::whoami))
        .merge(weaver_ui::router())
        .fallback(proxy::proxy)
        .layer(from_fn(observe))
        .layer(cors)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(gateway.clone())
}

async fn readyz(State(gateway): State<Gateway>) -> Response {
    let live = gateway.live.load_full();
    let (api, mcp) = proxy::upstreams_ready(&live.client, &live.api, &live.mcp).await;
    let word = |ok: bool| if ok { "ready" } else { "unreachable" };
    let status = if api && mcp {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if api && mcp { "ready" } else { "not_ready" },
        "upstreams": { "api": word(api), "mcp": word(mcp) },
    });
    (status, axum::Json(body)).into_response()
}

async fn render_metrics(
    State(gateway): State<Gateway>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(token) = &gateway.live.load().config.server.metrics_token
        && !weaver_service::keys::bearer_is(&headers, token.expose())
    {
        let mut response = proxy::error(
            weaver_api::Code::Unauthorized,
            "/metrics needs the scrape token: `Authorization: Bearer <server.metrics_token>`",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return response;
    }
    weaver_service::metrics::process();
    let (identities, addresses) = gateway.live.load().limits.housekeeping();
    #[allow(clippy::cast_precision_loss)]
    {
        gauge!(BUCKETS, "kind" => "identity").set(identities as f64);
        gauge!(BUCKETS, "kind" => "address").set(addresses as f64);
    }
    gateway.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gateway.metrics.render(),
    )
        .into_response()
}

/// Around every request: the span (continuing the caller's trace), security headers, metrics
/// by route, status and identity, and one access-log line.
async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let tls = request
        .extensions()
        .get::<proxy::Peer>()
        .is_some_and(|p| p.tls);
    let span = tracing::info_span!(
        "gateway.request",
        method = %method,
        path = %path,
        request_id = %request_id,
        identity = tracing::field::Empty,
    );
    weaver_service::telemetry::continue_trace(&span, request.headers());
    gauge!(weaver_service::metrics::HTTP_REQUESTS_IN_FLIGHT).increment(1.0);
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    gauge!(weaver_service::metrics::HTTP_REQUESTS_IN_FLIGHT).decrement(1.0);
    let elapsed = started.elapsed();
    security_headers(response.headers_mut(), tls);
    let route = response
        .extensions()
        .get::<RouteName>()
        .map_or_else(|| own_route(&path), |r| r.0);
    let identity = response
        .extensions()
        .get::<IdentityLabel>()
        .map_or_else(|| "anonymous".to_owned(), |l| l.0.clone());
    let status = response.status().as_u16();
    let method_label = weaver_service::metrics::method_label(&method);
    counter!(
        weaver_service::metrics::HTTP_REQUESTS_TOTAL,
        "route" => route,
        "method" => method_label,
        "status" => status.to_string(),
        "identity" => identity.clone(),
    )
    .increment(1);
    histogram!(
        weaver_service::metrics::HTTP_REQUEST_DURATION_SECONDS,
        "route" => route,
        "method" => method_label,
    )
    .record(elapsed.as_secs_f64());
    if !matches!(route, "/livez" | "/readyz" | "/metrics") {
        let client = response
            .extensions()
            .get::<ClientAddr>()
            .map(|c| c.0.to_string())
            .unwrap_or_default();
        let _entered = span.enter();
        tracing::info!(
            target: "weaver::gateway::access",
            method = %method,
            path = %path,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            identity = %identity,
            client = %client,
            "request"
        );
    }
    response
}

fn own_route(path: &str) -> &'static str {
    match path {
        "/livez" => "/livez",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        "/" => "/",
        p if p.starts_with("/assets/") => "/assets/{file}",
        _ => "unmatched",
    }
}

fn security_headers(headers: &mut axum::http::HeaderMap, tls: bool) {
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    // The web UI's page brings its own policy (its own scripts and styles); everything else
    // (JSON, errors, assets) may load nothing.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            headers,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        );
    }
    if tls {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    headers.remove(header::SERVER);
}

/// Re-reads the configuration on a change of the config file or any file it names (watched
/// through their folders), and on SIGHUP; swaps the live state when the result is valid.
fn spawn_reload(
    gateway: Gateway,
    loader: Loader,
    mut files: Vec<std::path::PathBuf>,
    log: weaver_service::logging::LogHandle,
    shutdown: CancellationToken,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(4);
    // One watcher per folder holding any of the files.
    let watch = move |files: &[std::path::PathBuf]| {
        let mut seen = std::collections::HashSet::new();
        files
            .iter()
            .filter(|file| seen.insert(file.parent().map(std::path::Path::to_path_buf)))
            .filter_map(|file| {
                let tx = tx.clone();
                weaver_service::reload::watch_folder(file, move || {
                    let _ = tx.try_send(());
                })
            })
            .collect::<Vec<_>>()
    };
    let mut watchers = watch(&files);
    let (hup_tx, mut hup_rx) = tokio::sync::mpsc::channel::<()>(1);
    weaver_service::reload::spawn_hangup_listener(shutdown.clone(), move || {
        let _ = hup_tx.try_send(());
    });
    tokio::spawn(async move {
        let mut last = gateway.live.load().config.clone();
        loop {
            let hangup = tokio::select! {
                () = shutdown.cancelled() => return,
                Some(()) = rx.recv() => false,
                Some(()) = hup_rx.recv() => true,
            };
            // A ConfigMap or Secret swap is several events: let them settle.
            tokio::time::sleep(Duration::from_millis(100)).await;
            while rx.try_recv().is_ok() {}
            let loaded =
                loader
                    .load()
                    .map_err(|e| e.to_string())
                    .and_then(|Loaded { config, files }| {
                        if !hangup && config == last {
                            return Ok(None);
                        }
                        Live::build(config.clone()).map(|live| Some((live, config, files)))
                    });
            match loaded {
                Ok(None) => {}
                Ok(Some((live, config, new_files))) => {
                    if config.log.level != last.log.level
                        && let Err(err) = log.set_filter(&config.log.level)
                    {
                        tracing::error!(error = %err, "cannot change the log level");
                    }
                    let restart = restart_keys(&last, &config);
                    if !restart.is_empty() {
                        tracing::warn!(keys = ?restart, "these settings changed but apply only after a restart");
                    }
                    tracing::info!(
                        keys = live.auth.key_count(),
                        tokens = live.auth.accepts_tokens(),
                        "configuration reloaded"
                    );
                    gateway.live.store(Arc::new(live));
                    counter!(RELOADS_TOTAL, "result" => "applied").increment(1);
                    last = config;
                    if new_files != files {
                        files = new_files;
                        watchers = watch(&files);
                    }
                }
                Err(err) => {
                    counter!(RELOADS_TOTAL, "result" => "rejected").increment(1);
                    tracing::error!(error = %err, "the new configuration is invalid; keeping the current one");
                }
            }
            let _ = &watchers;
        }
    });
}

fn restart_keys(old: &GatewayConfig, new: &GatewayConfig) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if old.server.listen != new.server.listen {
        keys.push("server.listen");
    }
    if old.server.max_connections != new.server.max_connections {
        keys.push("server.max_connections");
    }
    if old.log.format != new.log.format {
        keys.push("log.format");
    }
    if old.tracing != new.tracing {
        keys.push("tracing");
    }
    keys
}

/// `weaver gateway ...`
pub fn command(global: &Output, args: &GatewayArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        Some(GatewayCommand::Keys(keys)) => keys_command(global, keys),
        None => run_command(global, args),
    }
}

fn run_command(global: &Output, args: &GatewayArgs) -> anyhow::Result<ExitCode> {
    let loader = Loader::new(args.config.clone(), args.listen)?
        .with_log(global.log_level.clone(), global.log_json);
    let Loaded { config, files } = loader.load()?;
    let (telemetry, log) = weaver_service::logging::init_service(&config.log, &config.tracing)?;
    let live = Live::build(config.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(
        config = %loader.describe(),
        keys = live.auth.key_count(),
        tokens = live.auth.accepts_tokens(),
        tls = live.tls.is_some(),
        api = %live.api,
        mcp = %live.mcp,
        "configuration loaded"
    );
    if live.auth.key_count() == 0 && !live.auth.accepts_tokens() {
        tracing::warn!(
            "no API keys and no token verifier: every request will be refused (create one with `weaver gateway keys create`)"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("weaver-gateway")
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on `{}`", config.server.listen))?;
        let addr = listener
            .local_addr()
            .context("the listener has no address")?;
        let shutdown = CancellationToken::new();
        weaver_service::signal::cancel_on_signal(&shutdown)?;
        let gateway = Gateway::new(live);
        spawn_reload(gateway.clone(), loader, files, log, shutdown.clone());
        let app = router(&gateway);
        let scheme = if gateway.live.load().tls.is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!(addr = %addr, scheme, "listening");
        server::serve(
            listener,
            app,
            gateway,
            config.server.max_connections,
            shutdown,
            Duration::from_secs(config.server.shutdown_timeout_secs),
        )
        .await;
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(())
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(telemetry);
    result.map(|()| ExitCode::SUCCESS)
}

/// `weaver gateway keys create|list|revoke`.
fn keys_command(global: &Output, command: &GatewayKeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        GatewayKeysCommand::Create {
            name,
            role,
            vaults,
            file,
        } => {
            let entry_error = |e: String| anyhow::anyhow!("{e}");
            let key = weaver_service::keys::generate()?;
            let entry = auth::KeyEntry {
                name: name.clone(),
                hash: weaver_service::keys::hash(&key),
                role: *role,
                vaults: vaults.clone(),
            };
            // The same checks a gateway makes when it loads the entry.
            Authenticator::new(&config::AuthConfig {
                keys: vec![entry.clone()],
                ..config::AuthConfig::default()
            })
            .map_err(entry_error)?;
            let text = keys_toml(&entry);
            if let Some(file) = file {
                let mut entries = read_keys_file(file)?;
                entries.push(entry.clone());
                Authenticator::new(&config::AuthConfig {
                    keys: entries.clone(),
                    ..config::AuthConfig::default()
                })
                .map_err(entry_error)?;
                write_keys_file(file, &entries)?;
            }
            if global.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "key": key, "name": entry.name, "hash": entry.hash,
                        "role": entry.role.as_str(), "vaults": entry.vaults,
                    })
                );
            } else {
                println!("key: {key}");
                eprintln!(
                    "Give the key to its holder now: it is not stored anywhere and cannot be shown again."
                );
                match file {
                    Some(file) => eprintln!(
                        "Added `{name}` to {} (a running gateway reloads it).",
                        file.display()
                    ),
                    None => {
                        eprintln!(
                            "Add this entry to the gateway's keys file (or under [auth] as [[auth.keys]]):"
                        );
                        println!("{text}");
                    }
                }
            }
        }
        GatewayKeysCommand::List { file } => {
            let entries = read_keys_file(file)?;
            if global.json {
                let list: Vec<_> = entries
                    .iter()
                    .map(|e| serde_json::json!({"name": e.name, "role": e.role.as_str(), "vaults": e.vaults}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for e in &entries {
                    println!("{}\t{}\t{}", e.name, e.role.as_str(), e.vaults.join(","));
                }
            }
        }
        GatewayKeysCommand::Revoke { name, file } => {
            let mut entries = read_keys_file(file)?;
            let before = entries.len();
            entries.retain(|e| &e.name != name);
            if entries.len() == before {
                anyhow::bail!("no key named `{name}` in {}", file.display());
            }
            write_keys_file(file, &entries)?;
            eprintln!("Revoked `{name}` (a running gateway reloads the file).");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The TOML table of one key, as a keys file holds it. Names, roles, vault names and hashes
/// are restricted to characters that need no escaping.
fn keys_toml(entry: &auth::KeyEntry) -> String {
    let vaults: Vec<String> = entry.vaults.iter().map(|v| format!("\"{v}\"")).collect();
    format!(
        "[[keys]]\nname = \"{}\"\nhash = \"{}\"\nrole = \"{}\"\nvaults = [{}]\n",
        entry.name,
        entry.hash,
        entry.role.as_str(),
        vaults.join(", ")
    )
}

fn read_keys_file(file: &std::path::Path) -> anyhow::Result<Vec<auth::KeyEntry>> {
    if !file.exists() {
        return Ok(Vec::new());
    }
    let text = fs_err::read_to_string(file)?;
    let parsed: config::KeysFile =
        auth::toml_from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(parsed.keys)
}

/// Rewrites the keys file atomically (a temporary file in the same folder, then a rename), so
/// a gateway watching it never reads half a file. Owner-only permissions on Unix.
fn write_keys_file(file: &std::path::Path, entries: &[auth::KeyEntry]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut text = String::from(
        "# Gateway API keys (hashes only): `weaver gateway keys create|list|revoke --file`.\n",
    );
    for entry in entries {
        text.push('\n');
        text.push_str(&keys_toml(entry));
    }
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(folder)
        .with_context(|| format!("cannot write in {}", folder.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(file)
        .with_context(|| format!("cannot replace {}", file.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.toml");
        let entries = vec![
            auth::KeyEntry {
                name: "alice".into(),
                hash: weaver_service::keys::hash("a"),
                role: auth::Role::Admin,
                vaults: vec!["*".into()],
            },
            auth::KeyEntry {
                name: "ci.bot-1".into(),
                hash: weaver_service::keys::hash("b"),
                role: auth::Role::Read,
                vaults: vec!["notes".into(), "work".into()],
            },
        ];
        write_keys_file(&file, &entries).unwrap();
        assert_eq!(read_keys_file(&file).unwrap(), entries);
        assert!(read_keys_file(&dir.path().join("none")).unwrap().is_empty());
    }
}
