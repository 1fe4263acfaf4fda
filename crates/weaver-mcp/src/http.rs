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
//!
//! # Bodies and errors
//!
//! The request body is read here, not by rmcp, within [`HttpOptions::max_body_bytes`] (read on
//! every request, so `weaver serve`'s reloaded `server.max_body_bytes` applies at once), and
//! parsed as one JSON-RPC message before rmcp sees it. Every refusal is a JSON-RPC error response
//! with the HTTP status of the binary's error table and its stable code in `error.data.code`,
//! as the gateway answers: a body over the limit is 413 `body_too_large`, a body that is not
//! JSON (or nested too deeply to parse) is 400 with JSON-RPC's parse error `-32700`, JSON that
//! is not a JSON-RPC message 400 with `-32600`. rmcp's own plain-text refusals (wrong `Accept`
//! or `Content-Type`, a foreign `Host`) are rewritten into the same shape.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawPathParams, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::backend::VaultDirectory;
use super::server::{McpOptions, McpServer, VaultName};
use weaver_api::Code;

/// The default request body limit: 5 MiB, as `weaver serve`'s `server.max_body_bytes`.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 5 * 1024 * 1024;

/// The most bytes of one of rmcp's plain-text refusals kept in the JSON error made of it.
const MAX_REFUSAL_TEXT: usize = 1024;

/// The request body limit in bytes, asked on every request.
#[derive(Clone)]
pub struct BodyLimit(Arc<dyn Fn() -> u64 + Send + Sync>);

impl BodyLimit {
    /// Always `bytes`.
    pub fn fixed(bytes: u64) -> Self {
        Self(Arc::new(move || bytes))
    }

    /// Whatever `current` answers at the time of each request (a live configuration).
    pub fn live(current: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(current))
    }

    /// The limit now.
    pub fn get(&self) -> u64 {
        (self.0)()
    }
}

impl std::fmt::Debug for BodyLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BodyLimit").field(&self.get()).finish()
    }
}

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
    /// Larger request bodies are refused with 413 `body_too_large`.
    pub max_body_bytes: BodyLimit,
}

impl HttpOptions {
    /// Loopback hosts only (`localhost`, `127.0.0.1`, `::1`, any port), no `Origin` check.
    pub fn loopback(shutdown: CancellationToken) -> Self {
        Self {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: Vec::new(),
            shutdown,
            max_body_bytes: BodyLimit::fixed(DEFAULT_MAX_BODY_BYTES),
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
    let limit = http.max_body_bytes;
    let config = StreamableHttpServerConfig::default()
        // The body was read and checked against `limit` already (`read_message`).
        .with_max_request_body_bytes(usize::MAX)
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
        .route_layer(middleware::from_fn(move |request: Request, next: Next| {
            let limit = limit.get();
            async move { read_message(limit, request, next).await }
        }))
}

/// Reads a POST body within `limit` and parses it as a JSON-RPC message, answering the JSON-RPC
/// errors of the module docs; rewrites rmcp's plain-text refusals as JSON-RPC errors.
async fn read_message(limit: u64, request: Request, next: Next) -> Response {
    let json_post = request.method() == Method::POST
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let essence = v.split(';').next().unwrap_or_default().trim();
                essence.eq_ignore_ascii_case("application/json")
            });
    if !json_post {
        // rmcp refuses other methods and content types itself (in plain text: rewritten).
        return as_json_rpc(next.run(request).await).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, body) = request.into_parts();
    if declared.is_some_and(|len| len > limit) {
        weaver_service::body::discard(body).await;
        return too_large(limit);
    }
    let bytes = match weaver_service::body::limited(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if is_length_limit(&err) => return too_large(limit),
        Err(err) => {
            tracing::debug!(error = %err, "cannot read an MCP request body");
            return rpc_error(
                Code::InvalidMcpMessage,
                JSON_RPC_INVALID_REQUEST,
                serde_json::Value::Null,
                "cannot read the request body".to_owned(),
            );
        }
    };
    if let Err(err) = serde_json::from_slice::<rmcp::model::ClientJsonRpcMessage>(&bytes) {
        return not_a_message(&bytes, &err);
    }
    let request = Request::from_parts(parts, Body::from(bytes));
    as_json_rpc(next.run(request).await).await
}

/// JSON-RPC's "parse error": the body is not JSON.
const JSON_RPC_PARSE_ERROR: i64 = -32700;
/// JSON-RPC's "invalid request": JSON, but not a request, notification or response.
const JSON_RPC_INVALID_REQUEST: i64 = -32600;
/// JSON-RPC's "server error" range: every other refusal (the code is in `error.data.code`).
const JSON_RPC_REFUSED: i64 = -32000;

fn not_a_message(bytes: &[u8], err: &serde_json::Error) -> Response {
    use serde_json::error::Category;
    match err.classify() {
        Category::Data => {
            // Valid JSON: echo its `id` when it has a usable one.
            let id = serde_json::from_slice::<serde_json::Value>(bytes)
                .ok()
                .and_then(|v| v.get("id").cloned())
                .filter(|id| id.is_string() || id.is_number())
                .unwrap_or(serde_json::Value::Null);
            rpc_error(
                Code::InvalidMcpMessage,
                JSON_RPC_INVALID_REQUEST,
                id,
                format!(
                    "the body is not a JSON-RPC message: {}",
                    clip(&err.to_string())
                ),
            )
        }
        Category::Syntax | Category::Eof | Category::Io => rpc_error(
            Code::InvalidMcpMessage,
            JSON_RPC_PARSE_ERROR,
            serde_json::Value::Null,
            format!("the body is not valid JSON: {}", clip(&err.to_string())),
        ),
    }
}

fn too_large(limit: u64) -> Response {
    rpc_error(
        Code::BodyTooLarge,
        JSON_RPC_REFUSED,
        serde_json::Value::Null,
        format!("request body is over the limit of {limit} bytes"),
    )
}

/// A JSON-RPC error response with `code`'s HTTP status.
fn rpc_error(code: Code, rpc_code: i64, id: serde_json::Value, message: String) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": rpc_code,
            "message": format!("[{}] {message}", code.as_str()),
            "data": { "code": code.as_str(), "status": code.status().as_u16() },
        },
    });
    (code.status(), axum::Json(body)).into_response()
}

/// Rewrites a plain-text error response (rmcp's refusals) as a JSON-RPC error with the same
/// status; other responses pass unchanged.
async fn as_json_rpc(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status {
        StatusCode::UNAUTHORIZED => Code::Unauthorized,
        StatusCode::FORBIDDEN => Code::Forbidden,
        StatusCode::NOT_FOUND => Code::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
        StatusCode::NOT_ACCEPTABLE => Code::NotAcceptable,
        StatusCode::PAYLOAD_TOO_LARGE => Code::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
        s if s.is_server_error() => Code::InternalError,
        _ => Code::InvalidMcpMessage,
    };
    let (head, body) = response.into_parts();
    let text = http_body_util::Limited::new(body, MAX_REFUSAL_TEXT * 4)
        .collect()
        .await
        .map(|c| String::from_utf8_lossy(&c.to_bytes()).trim().to_owned())
        .unwrap_or_default();
    let text = if text.is_empty() {
        status.canonical_reason().unwrap_or("refused").to_owned()
    } else {
        clip(&text)
    };
    let mut rewritten = rpc_error(code, JSON_RPC_REFUSED, serde_json::Value::Null, text);
    *rewritten.status_mut() = status;
    for (name, value) in &head.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().append(name, value.clone());
        }
    }
    rewritten.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    rewritten
}

/// True when `err` or one of its causes is the body limit's.
fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// At most [`MAX_REFUSAL_TEXT`] bytes of `text`, cut on a character boundary.
fn clip(text: &str) -> String {
    weaver_core::clip(text, MAX_REFUSAL_TEXT).into_owned()
}

/// Records the `{vault}` path segment for the handler to find among the request's parts.
async fn name_vault(params: RawPathParams, mut request: Request, next: Next) -> Response {
    if let Some((_, name)) = params.iter().find(|(key, _)| *key == "vault") {
        let name = VaultName(name.to_owned());
        request.extensions_mut().insert(name);
    }
    next.run(request).await
}
