//! The request path: rate limit by address, route, authenticate, rate limit by identity,
//! authorise (vault, role; for MCP after reading the JSON-RPC body), then forward to the
//! upstream over a pooled HTTP/1.1 client and stream its response back.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Uri, header};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use metrics::counter;
use tracing::Instrument as _;

use super::Gateway;
use super::auth::{AuthError, Identity};
use super::limits::retry_after_secs;
use super::policy::{self, Refusal, Target, Upstream};
use weaver_api::Code;

/// The HTTP client to the upstreams (plain HTTP inside the deployment; pooled connections).
pub type UpstreamClient = Client<HttpConnector, Body>;

/// The largest answer (`/api/v1/vaults`, `tools/list`) the gateway reads to filter it.
const MAX_FILTERED_BYTES: usize = 1024 * 1024;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the ones the
/// gateway owns: never forwarded as received.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// The caller's identity, for weaver's change log (cluster mode); a client's own is dropped.
const WEAVER_ACTOR: HeaderName = HeaderName::from_static("weaver-actor");
/// The pause before sending a request again to the only upstream it could not reach.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The connection a request came on, set by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The TCP peer.
    pub addr: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// The identity's metrics label, left on the response for the access log and metrics.
#[derive(Debug, Clone)]
pub struct IdentityLabel(pub String);

/// The client address as the access log shows it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The route label of a proxied request.
#[derive(Debug, Clone, Copy)]
pub struct RouteName(pub &'static str);

/// An error the gateway answered itself, left on the response so MCP routes can re-shape it.
#[derive(Debug, Clone)]
struct Refused {
    code: Code,
    message: String,
}

/// The JSON-RPC id of the MCP request refused, when the body was read.
#[derive(Debug, Clone)]
struct RpcId(serde_json::Value);

/// An error answer: `{"code": ..., "message": ...}` with the code's status.
pub fn error(code: Code, message: impl Into<String>) -> Response<Body> {
    let message = message.into();
    let body = serde_json::json!({ "code": code.as_str(), "message": &message });
    let mut response = (code.status(), axum::Json(body)).into_response();
    response.extensions_mut().insert(Refused { code, message });
    response
}

/// JSON-RPC's "server error" code for every refusal; `error.data.code` has the stable code.
const RPC_REFUSED: i64 = -32000;

/// On an MCP route, a refusal is also a JSON-RPC error response (same HTTP status), so an MCP
/// client shows the gateway's reason instead of a bare HTTP status.
fn as_json_rpc(mut response: Response<Body>) -> Response<Body> {
    let Some(refused) = response.extensions_mut().remove::<Refused>() else {
        return response;
    };
    let id = response
        .extensions_mut()
        .remove::<RpcId>()
        .map_or(serde_json::Value::Null, |id| id.0);
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": RPC_REFUSED,
            "message": format!("[{}] {}", refused.code.as_str(), refused.message),
            "data": { "code": refused.code.as_str(), "status": refused.code.status().as_u16() },
        },
    });
    let (mut head, _) = response.into_parts();
    head.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        head,
        Body::from(serde_json::to_vec(&body).unwrap_or_default()),
    )
}

fn unauthorized(err: &AuthError) -> Response<Body> {
    let reason = match err {
        AuthError::Missing => "missing",
        AuthError::Invalid(_) => "invalid",
    };
    counter!(super::AUTH_FAILURES_TOTAL, "reason" => reason).increment(1);
    if let AuthError::Invalid(why) = err {
        tracing::debug!(why = %why, "credential refused");
    }
    let mut response = error(Code::Unauthorized, err.to_string());
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"weave-nn\""),
    );
    response
}

fn rate_limited(kind: &'static str, wait: Duration) -> Response<Body> {
    counter!(super::RATE_LIMITED_TOTAL, "kind" => kind).increment(1);
    let secs = retry_after_secs(wait);
    let mut response = error(
        Code::RateLimited,
        format!("too many requests ({kind} limit); retry in {secs} s"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // An unparsable entry ends what can be believed.
            Err(_) => break,
        }
    }
    client
}

/// Handles every request outside the gateway's own routes.
pub async fn proxy(State(gateway): State<Gateway>, request: Request) -> Response<Body> {
    let live = gateway.live.load_full();
    let peer = request.extensions().get::<Peer>().copied().unwrap_or(Peer {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: false,
    });
    let trusted_peer = live.trusted.iter().any(|n| n.contains(&peer.addr.ip()));
    let client = client_address(peer.addr.ip(), request.headers(), &live.trusted);
    let mut response = handle(&live, peer, trusted_peer, client, request).await;
    response.extensions_mut().insert(ClientAddr(client));
    response
}

/// The route of [`whoami`].
pub const WHOAMI: &str = "/api/v1/whoami";

/// `GET /api/v1/whoami`: the identity a credential stands for and its role, so a client (the
/// web UI) can hide what the role may not do. Authenticated and rate-limited like every
/// request, answered by the gateway itself (`weaver serve` has no identities).
pub async fn whoami(State(gateway): State<Gateway>, request: Request) -> Response<Body> {
    let live = gateway.live.load_full();
    let peer = request.extensions().get::<Peer>().copied().unwrap_or(Peer {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: false,
    });
    let client = client_address(peer.addr.ip(), request.headers(), &live.trusted);
    let target = Target {
        upstream: Upstream::Api,
        vault: None,
        role: super::auth::Role::Read,
        path_and_query: WHOAMI.to_owned(),
        vault_list: false,
        inspect_body: false,
        route: WHOAMI,
    };
    let mut response = match admit(&live, client, &request, &target) {
        Ok(identity) => {
            let vaults = match &identity.vaults {
                super::auth::Vaults::All => vec!["*".to_owned()],
                super::auth::Vaults::Only(names) => {
                    let mut names: Vec<String> = names.iter().cloned().collect();
                    names.sort();
                    names
                }
            };
            let body = serde_json::json!({
                "name": &*identity.name,
                "role": identity.role.as_str(),
                "vaults": vaults,
            });
            let mut response = axum::Json(body).into_response();
            response
                .extensions_mut()
                .insert(IdentityLabel(identity.label()));
            response
        }
        Err(refusal) => *refusal,
    };
    response.extensions_mut().insert(ClientAddr(client));
    with_route(response, WHOAMI)
}

async fn handle(
    live: &super::Live,
    peer: Peer,
    trusted_peer: bool,
    client: IpAddr,
    request: Request,
) -> Response<Body> {
    let target = match policy::classify(
        request.method(),
        request.uri(),
        &live.config.upstreams.default_vault,
    ) {
        Ok(t) => t,
        Err(Refusal::NotFound) => {
            return error(
                Code::RouteNotFound,
                format!("no route {}", request.uri().path()),
            );
        }
        Err(Refusal::BadPath) => {
            return error(
                Code::PathEscapesVault,
                "paths with `.` or `..` segments are refused",
            );
        }
    };
    let response = match admit(live, client, &request, &target) {
        Ok(identity) => {
            tracing::Span::current().record("identity", &*identity.name);
            let mut response = forward(live, peer, trusted_peer, request, &target, &identity).await;
            response
                .extensions_mut()
                .insert(IdentityLabel(identity.label()));
            response
        }
        Err(refusal) => {
            // Read the refused request's body away (within the body limit and a few seconds),
            // as nginx's lingering close does: the client then gets this answer instead of a
            // reset while it is still sending, and an HTTP/1 connection stays usable.
            let timeout = Duration::from_secs(live.config.server.body_timeout_secs.min(5));
            discard_body(
                request.into_body(),
                live.config.server.max_body_bytes,
                timeout,
            )
            .await;
            *refusal
        }
    };
    let response = match target.upstream {
        Upstream::Mcp => as_json_rpc(response),
        Upstream::Api => response,
    };
    with_route(response, target.route)
}

fn with_route(mut response: Response<Body>, route: &'static str) -> Response<Body> {
    response.extensions_mut().insert(RouteName(route));
    response
}

/// The checks made before a request's body is read: the client address's bucket, the
/// credential, the identity's bucket, the vault and the role the method needs.
fn admit(
    live: &super::Live,
    client: IpAddr,
    request: &Request,
    target: &Target,
) -> Result<std::sync::Arc<Identity>, Box<Response<Body>>> {
    live.limits
        .address(client)
        .map_err(|wait| Box::new(rate_limited("address", wait)))?;
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let identity = live
        .auth
        .authenticate(authorization)
        .map_err(|e| Box::new(unauthorized(&e)))?;
    let refuse = |mut response: Response<Body>| {
        response
            .extensions_mut()
            .insert(IdentityLabel(identity.label()));
        Box::new(response)
    };
    if let Err(wait) = live.limits.identity(&identity.bucket()) {
        return Err(refuse(rate_limited("identity", wait)));
    }
    if let Some(vault) = &target.vault
        && !identity.vaults.allows(vault)
    {
        return Err(refuse(error(
            Code::Forbidden,
            format!("`{}` may not use the vault `{vault}`", identity.name),
        )));
    }
    if identity.role < target.role {
        return Err(refuse(forbidden_role(&identity, target.role)));
    }
    Ok(identity)
}

/// Reads the request body (within the size and time limits), checks what MCP bodies ask for,
/// and sends the request upstream.
async fn forward(
    live: &super::Live,
    peer: Peer,
    trusted_peer: bool,
    request: Request,
    target: &Target,
    identity: &Identity,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let limit = live.config.server.max_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return too_large(limit);
    }
    let body = match read_body(body, limit, live.config.server.body_timeout_secs).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let mut trim_tools = false;
    if target.inspect_body {
        match policy::mcp_request(&body) {
            Ok(mcp) if identity.role < mcp.role => {
                let mut response = forbidden_role(identity, mcp.role);
                if let Some(id) = mcp.id {
                    response.extensions_mut().insert(RpcId(id));
                }
                return response;
            }
            Ok(mcp) => {
                if let Some(other) = mcp
                    .vaults
                    .iter()
                    .find(|v| target.vault.as_ref() != Some(*v))
                {
                    let mut response = error(
                        Code::Forbidden,
                        format!(
                            "the request names the vault `{other}`; this endpoint is for `{}`",
                            target.vault.as_deref().unwrap_or_default()
                        ),
                    );
                    if let Some(id) = mcp.id {
                        response.extensions_mut().insert(RpcId(id));
                    }
                    return response;
                }
                trim_tools = mcp.lists_tools && identity.role < super::auth::Role::Write;
            }
            Err(policy::BodyError::Unreadable(why)) => {
                return error(
                    Code::InvalidMcpMessage,
                    format!("the body is not a JSON-RPC message the gateway can authorise: {why}"),
                );
            }
        }
    }
    let single;
    let bases: &[String] = match target.upstream {
        Upstream::Api => live.api.turn(),
        Upstream::Mcp => {
            single = [live.mcp.clone()];
            &single
        }
    };
    let mut headers = forward_headers(&parts.headers, peer, trusted_peer);
    // Answers the gateway rewrites (the vault list, a read-only key's tool list) are read as
    // JSON here: ask for them unencoded. Every other answer passes through as encoded upstream.
    if target.vault_list || trim_tools {
        headers.remove(header::ACCEPT_ENCODING);
    }
    // Who asks, for the change log (cluster mode): the identity, never what the client says.
    if let Ok(actor) = HeaderValue::from_str(&identity.name) {
        headers.insert(WEAVER_ACTOR, actor);
    }
    inject_trace_context(&mut headers);
    let timeout = Duration::from_secs(live.config.upstreams.response_timeout_secs);
    // A request that could not be sent (no connection) goes to the next upstream, or once more
    // to the only one (a replica restarting behind a Service); one that broke after it was
    // sent is sent again only when it is idempotent (a read, or with `retry_writes` a write to
    // a cluster, which does a request id once): otherwise the write may have happened. A 503
    // from one of several upstreams (starting, draining, behind) goes to the next one.
    let idempotent = matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    ) || (live.config.upstreams.retry_writes
        && matches!(target.upstream, Upstream::Api));
    let attempts = bases.len().max(2);
    let mut attempt = 0;
    let response = loop {
        let Some(base) = bases.get(attempt % bases.len().max(1)) else {
            return error(Code::UpstreamUnavailable, "no upstream is configured");
        };
        let uri = match format!("{base}{}", target.path_and_query).parse::<Uri>() {
            Ok(uri) => uri,
            Err(_) => return error(Code::InvalidArgument, "the request URI cannot be forwarded"),
        };
        let mut upstream = axum::http::Request::builder()
            .method(parts.method.clone())
            .uri(uri)
            .body(Body::from(body.clone()))
            .unwrap_or_default();
        *upstream.headers_mut() = headers.clone();
        let sent = tokio::time::timeout(timeout, live.client.request(upstream))
            .instrument(tracing::debug_span!(
                "upstream",
                upstream = target.upstream.as_str()
            ))
            .await;
        match sent {
            // A replica that is starting, behind, draining or without its database answers 503
            // having done nothing: with several upstreams the next one may answer.
            Ok(Ok(response))
                if response.status() == StatusCode::SERVICE_UNAVAILABLE
                    && bases.len() > 1
                    && attempt + 1 < attempts =>
            {
                counter!(super::UPSTREAM_RETRIES_TOTAL, "upstream" => target.upstream.as_str())
                    .increment(1);
                tracing::info!(upstream = target.upstream.as_str(), %base, "upstream unavailable (503); trying the next");
                attempt += 1;
            }
            Ok(Ok(response)) => break response,
            Ok(Err(err)) if attempt + 1 < attempts && (err.is_connect() || idempotent) => {
                counter!(super::UPSTREAM_RETRIES_TOTAL, "upstream" => target.upstream.as_str())
                    .increment(1);
                tracing::info!(upstream = target.upstream.as_str(), %base, error = %err, "upstream unreachable; trying again");
                attempt += 1;
                if bases.len() == 1 {
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
            Ok(Err(err)) => {
                counter!(super::UPSTREAM_ERRORS_TOTAL, "upstream" => target.upstream.as_str(), "kind" => "unavailable").increment(1);
                tracing::warn!(upstream = target.upstream.as_str(), %base, error = %err, "upstream unreachable");
                return error(
                    Code::UpstreamUnavailable,
                    format!("the {} service cannot be reached", target.upstream.as_str()),
                );
            }
            Err(_) => {
                counter!(super::UPSTREAM_ERRORS_TOTAL, "upstream" => target.upstream.as_str(), "kind" => "timeout").increment(1);
                return error(
                    Code::UpstreamTimeout,
                    format!(
                        "the {} service did not answer within {} s",
                        target.upstream.as_str(),
                        timeout.as_secs()
                    ),
                );
            }
        }
    };
    let (mut head, body) = response.into_parts();
    for name in &HOP_BY_HOP {
        head.headers.remove(name);
    }
    if target.vault_list && head.status == StatusCode::OK {
        return filter_vault_list(head, body, identity).await;
    }
    let json = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if trim_tools && head.status == StatusCode::OK && json {
        return trim_tool_list(head, body, identity).await;
    }
    Response::from_parts(head, Body::new(body))
}

fn forbidden_role(identity: &Identity, needed: super::auth::Role) -> Response<Body> {
    error(
        Code::Forbidden,
        format!(
            "`{}` has the role `{}`; this request needs `{}`",
            identity.name,
            identity.role.as_str(),
            needed.as_str()
        ),
    )
}

fn too_large(limit: u64) -> Response<Body> {
    error(
        Code::BodyTooLarge,
        format!("the request body is larger than {limit} bytes"),
    )
}

/// Reads a refused request's body and drops it, up to `limit` bytes and `timeout`; a body that
/// is larger (its declared length, or as it arrives) or slower is left, and the connection
/// closes after the answer.
async fn discard_body(body: Body, limit: u64, timeout: Duration) {
    let declared = hyper::body::Body::size_hint(&body).exact();
    if declared == Some(0) || declared.is_some_and(|len| len > limit) {
        return;
    }
    let drain = async {
        let mut body = body;
        let mut read = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                read += data.len() as u64;
                if read > limit {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(timeout, drain).await;
}

/// Reads the whole request body, within `limit` bytes and `timeout_secs`.
async fn read_body(body: Body, limit: u64, timeout_secs: u64) -> Result<Bytes, Response<Body>> {
    let limited = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    match tokio::time::timeout(Duration::from_secs(timeout_secs), limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Ok(Err(err)) => Err(error(
            Code::InvalidArgument,
            format!("the request body could not be read: {err}"),
        )),
        Err(_) => Err(error(
            Code::BodyTimeout,
            format!("the request body did not arrive within {timeout_secs} s"),
        )),
    }
}

/// The headers sent upstream: the client's, less hop-by-hop ones, its credential, cookies and
/// any forwarding headers it made up; plus `X-Forwarded-*` from what the gateway saw.
fn forward_headers(incoming: &HeaderMap, peer: Peer, trusted_peer: bool) -> HeaderMap {
    let mut headers = incoming.clone();
    // Headers named by `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = incoming
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(named.iter()) {
        headers.remove(name);
    }
    for name in [
        header::AUTHORIZATION,
        header::COOKIE,
        header::HOST,
        header::FORWARDED,
        X_FORWARDED_HOST,
        WEAVER_ACTOR,
    ] {
        headers.remove(name);
    }
    let mut chain = String::new();
    let mut proto = if peer.tls { "https" } else { "http" }.to_owned();
    if trusted_peer {
        for value in incoming.get_all(&X_FORWARDED_FOR) {
            if let Ok(v) = value.to_str() {
                if !chain.is_empty() {
                    chain.push_str(", ");
                }
                chain.push_str(v);
            }
        }
        if let Some(p) = incoming
            .get(&X_FORWARDED_PROTO)
            .and_then(|v| v.to_str().ok())
            .filter(|p| matches!(*p, "http" | "https"))
        {
            p.clone_into(&mut proto);
        }
    }
    if !chain.is_empty() {
        chain.push_str(", ");
    }
    chain.push_str(&peer.addr.ip().to_string());
    headers.remove(&X_FORWARDED_FOR);
    headers.remove(&X_FORWARDED_PROTO);
    if let Ok(v) = HeaderValue::from_str(&chain) {
        headers.insert(X_FORWARDED_FOR, v);
    }
    if let Ok(v) = HeaderValue::from_str(&proto) {
        headers.insert(X_FORWARDED_PROTO, v);
    }
    if let Some(host) = incoming.get(header::HOST) {
        headers.insert(X_FORWARDED_HOST, host.clone());
    }
    headers
}

/// Replaces the incoming `traceparent` with the gateway's own span when traces are exported,
/// so upstream spans are children of the gateway's; otherwise the caller's is passed on.
fn inject_trace_context(headers: &mut HeaderMap) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return;
    }
    struct Injector<'a>(&'a mut HeaderMap);
    impl opentelemetry::propagation::Injector for Injector<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(key.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                self.0.insert(name, value);
            }
        }
    }
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut Injector(headers));
    });
}

/// `GET /api/v1/vaults`, less the vaults the identity may not see.
async fn filter_vault_list(
    head: axum::http::response::Parts,
    body: hyper::body::Incoming,
    identity: &Identity,
) -> Response<Body> {
    rewrite_json(head, body, "the vault list", |list| {
        if let Some(items) = list
            .get_mut("items")
            .and_then(serde_json::Value::as_array_mut)
        {
            items.retain(|item| {
                item.get("name")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|name| identity.vaults.allows(name))
            });
        }
    })
    .await
}

/// A `tools/list` answer for an identity that may not write: the write tools are left out, so
/// an agent is never offered a tool it would be refused.
async fn trim_tool_list(
    head: axum::http::response::Parts,
    body: hyper::body::Incoming,
    identity: &Identity,
) -> Response<Body> {
    rewrite_json(head, body, "the tool list", |message| {
        if let Some(tools) = message
            .pointer_mut("/result/tools")
            .and_then(serde_json::Value::as_array_mut)
        {
            tools.retain(|tool| {
                tool.get("name")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|name| policy::tool_allowed(identity.role, name))
            });
        }
    })
    .await
}

/// Reads an upstream JSON answer whole (within [`MAX_FILTERED_BYTES`]), lets `edit` change it,
/// and answers with the result; `what` names it in the error when it cannot be read.
async fn rewrite_json(
    mut head: axum::http::response::Parts,
    body: hyper::body::Incoming,
    what: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> Response<Body> {
    let collected = http_body_util::Limited::new(body, MAX_FILTERED_BYTES)
        .collect()
        .await;
    let Some(mut value) = collected
        .ok()
        .and_then(|c| serde_json::from_slice::<serde_json::Value>(&c.to_bytes()).ok())
    else {
        return error(
            Code::UpstreamUnavailable,
            format!("{what} from upstream could not be read as JSON"),
        );
    };
    edit(&mut value);
    head.headers.remove(header::CONTENT_LENGTH);
    head.headers.remove(header::ETAG);
    Response::from_parts(
        head,
        Body::from(serde_json::to_vec(&value).unwrap_or_default()),
    )
}

/// Equivalent upstreams (replicas of a cluster), taken in turn.
#[derive(Debug)]
pub struct Pool {
    /// The URLs twice over, without trailing `/`, so that every turn is one slice.
    ring: Vec<String>,
    len: usize,
    next: AtomicUsize,
}

impl Pool {
    /// A pool of `urls` (at least one).
    pub fn new(urls: &[String]) -> Self {
        let urls: Vec<String> = urls
            .iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect();
        Self {
            len: urls.len(),
            ring: urls.iter().chain(&urls).cloned().collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Every URL once, starting with the next one's turn.
    pub fn turn(&self) -> &[String] {
        if self.len == 0 {
            return &[];
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % self.len;
        self.ring.get(start..start + self.len).unwrap_or_default()
    }

    /// Every URL, in configured order.
    pub fn urls(&self) -> &[String] {
        self.ring.get(..self.len).unwrap_or_default()
    }
}

impl std::fmt::Display for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.urls().join(","))
    }
}

/// Checks the upstreams' `/readyz` at once, each within two seconds: the API is ready when
/// any of its replicas is.
pub async fn upstreams_ready(client: &UpstreamClient, api: &Pool, mcp: &str) -> (bool, bool) {
    let probe = |base: String| async move {
        let Ok(uri) = format!("{base}/readyz").parse::<Uri>() else {
            return false;
        };
        let request = axum::http::Request::get(uri)
            .body(Body::empty())
            .unwrap_or_default();
        matches!(
            tokio::time::timeout(Duration::from_secs(2), client.request(request)).await,
            Ok(Ok(r)) if r.status().is_success()
        )
    };
    let any_api = async {
        for base in api.urls() {
            if probe(base.clone()).await {
                return true;
            }
        }
        false
    };
    tokio::join!(any_api, probe(mcp.to_owned()))
}

/// A new upstream client.
pub fn client(connect_timeout: Duration) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    connector.enforce_http(true);
    Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .timer(hyper_util::rt::TokioTimer::new())
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .build(connector)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter()
            .map(|n| super::super::config::parse_network(n).unwrap())
            .collect()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_static("1.2.3.4, 10.0.0.7"),
        );
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        // Untrusted peer: its own address, whatever it claims.
        assert_eq!(client_address(peer, &headers, &[]), peer);
        // Trusted peer: the right-most untrusted hop.
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(peer, &headers, &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        headers.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_static("garbage, 10.0.0.7"),
        );
        assert_eq!(
            client_address(peer, &headers, &trusted),
            "10.0.0.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn forwarded_headers_drop_credentials_and_forged_forwarding() {
        let mut incoming = HeaderMap::new();
        incoming.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer wvr_x"),
        );
        incoming.insert(header::COOKIE, HeaderValue::from_static("a=b"));
        incoming.insert(header::HOST, HeaderValue::from_static("weave.example.com"));
        incoming.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        incoming.insert("x-secret", HeaderValue::from_static("1"));
        incoming.insert(X_FORWARDED_FOR, HeaderValue::from_static("6.6.6.6"));
        incoming.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
        incoming.insert("x-request-id", HeaderValue::from_static("abc"));
        let peer = Peer {
            addr: "192.0.2.9:5000".parse().unwrap(),
            tls: false,
        };
        let out = forward_headers(&incoming, peer, false);
        for gone in ["authorization", "cookie", "host", "connection", "x-secret"] {
            assert!(!out.contains_key(gone), "{gone}");
        }
        assert_eq!(out[X_FORWARDED_FOR], "192.0.2.9");
        assert_eq!(out[X_FORWARDED_PROTO], "http");
        assert_eq!(out[X_FORWARDED_HOST], "weave.example.com");
        assert_eq!(out["x-request-id"], "abc");
        // From a trusted proxy, its chain and scheme are kept.
        let out = forward_headers(&incoming, peer, true);
        assert_eq!(out[X_FORWARDED_FOR], "6.6.6.6, 192.0.2.9");
        assert_eq!(out[X_FORWARDED_PROTO], "https");
    }
}
