//! MCP over Streamable HTTP, as an axum router to nest into `weaver serve`.
//!
//! # Sessions: stateless
//!
//! The service runs rmcp's stateless mode (`legacy_session_mode: false`, JSON responses): every
//! POST is answered by a fresh [`McpServer`] (a few `Arc` clones) and no `Mcp-Session-Id` is
//! kept in memory. Every tool is one request and one response over vaults the whole process
//! shares, so a session would hold nothing of value, while in-memory sessions would pin each
//! client to one replica (sticky sessions, or lost sessions on every restart and scale-down).
//! Stateless, any replica answers any request, which is what a Kubernetes `Service` does. The
//! price is server-initiated traffic outside a request (change notifications): none is sent
//! today. Protocol `2026-07-28` clients are stateless whatever this setting; older clients still
//! `initialize` and then send independent requests. [`LocalSessionManager`] is only the session
//! type rmcp's service is built with; in this mode it stores nothing.
//!
//! # DNS rebinding
//!
//! A browser page can reach a server on the user's machine through a hostile DNS name, so the
//! `Host` header is checked against [`HttpOptions::allowed_hosts`] (loopback names by default,
//! as rmcp does) and, when configured, the `Origin` header against
//! [`HttpOptions::allowed_origins`]. A deployment behind an ingress lists its public host names.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawPathParams, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::backend::VaultDirectory;
use super::server::{McpOptions, McpServer, VaultName};

/// Who may reach the Streamable HTTP endpoint.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Accepted `Host` header values, `name` or `name:port` (`weaver.example.com`,
    /// `localhost:3000`). Empty accepts every host: only behind a proxy that checks `Host`.
    pub allowed_hosts: Vec<String>,
    /// Accepted browser origins with scheme (`https://app.example.com`,
    /// `http://localhost:*`); requests without an `Origin` header always pass. Empty: `Origin`
    /// is not checked.
    pub allowed_origins: Vec<String>,
    /// Cancelled when the server shuts down: ends the MCP requests in flight.
    pub shutdown: CancellationToken,
}

impl HttpOptions {
    /// Loopback hosts only (`localhost`, `127.0.0.1`, `::1`, any port), no `Origin` check.
    pub fn loopback(shutdown: CancellationToken) -> Self {
        Self {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: Vec::new(),
            shutdown,
        }
    }
}

/// The MCP endpoint as a router answering at `/` (the default vault) and at `/{vault}` (a named
/// vault). Nest it where it belongs: `app.nest("/mcp", http_service(...))` serves `/mcp` and
/// `/mcp/{vault}`.
pub fn http_service<S>(
    vaults: Arc<dyn VaultDirectory>,
    options: McpOptions,
    http: HttpOptions,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let prototype = McpServer::new(vaults, options);
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_allowed_hosts(http.allowed_hosts)
        .with_allowed_origins(http.allowed_origins)
        .with_cancellation_token(http.shutdown);
    let service = StreamableHttpService::new(
        move || Ok(prototype.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/", service.clone())
        .route_service("/{vault}", service)
        .route_layer(middleware::from_fn(name_vault))
}

/// Records the `{vault}` path segment for the handler to find among the request's parts.
async fn name_vault(params: RawPathParams, mut request: Request, next: Next) -> Response {
    if let Some((_, name)) = params.iter().find(|(key, _)| *key == "vault") {
        let name = VaultName(name.to_owned());
        request.extensions_mut().insert(name);
    }
    next.run(request).await
}
