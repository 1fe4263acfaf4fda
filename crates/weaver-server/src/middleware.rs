//! The layers every request passes through, outermost first:
//!
//! 1. request id: keep the client's `X-Request-Id` or make a UUID; echoed in the response;
//! 2. `Authorization` and `Cookie` marked sensitive, so no layer logs them;
//! 3. a tracing span per request: method, route template, request id; the response is logged
//!    with status and latency (never bodies, never raw headers);
//! 4. metrics (`serve::metrics::track`);
//! 5. panics become a 500 `internal_error` JSON answer;
//! 6. timeout: `server.request_timeout_secs` until the response head, else 503
//!    `request_timeout` (streams such as SSE are not cut once started);
//! 7. body limit: `server.max_body_bytes`, else 413 `body_too_large`;
//! 8. compression: a response is gzip- or brotli-encoded when the client accepts it (level 4:
//!    the graph's 2.6 MB of JSON for 10k notes in tens of milliseconds, not seconds), except
//!    event streams (`text/event-stream`: each event goes out when it happens), images,
//!    ranges, bodies under 32 bytes and what is encoded already (the web UI's precompressed
//!    assets). ETags are left as they are: they name the content, so `If-Match` works whatever
//!    the encoding. A client that refuses every encoding we have gets `identity`, never a 406;
//! 9. cluster mode: a request under `/api/v1/vaults/{name}/` with `Weaver-Min-Seq: N` waits
//!    (at most `cluster.max_staleness_ms`) until this replica has applied entry `N` of that
//!    vault's log, else 503 `replica_behind` (read-your-writes across replicas). Without
//!    cluster mode the header is accepted and needs no wait: there is one copy.
//!
//! Timeout and body limit read the live configuration on every request, so a reload applies to
//! the next request. The body limit is the only one: axum's own default limit (2 MiB, answered
//! in plain text) is switched off, so every extractor that reads a body (`ApiJson`, `ApiBytes`)
//! and the MCP endpoint see exactly `server.max_body_bytes`.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower_http::CompressionLevel;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnRequest, TraceLayer};
use tracing::{Level, Span};

use super::error::ApiError;
use super::extract::BodyLimit;
use super::metrics;
use super::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `router` in every layer.
pub fn layers(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router
        .layer(from_fn_with_state(state.clone(), min_seq))
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(from_fn(never_406))
        .layer(DefaultBodyLimit::disable())
        .layer(from_fn_with_state(state.clone(), limit_body))
        .layer(from_fn_with_state(state.clone(), timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn(metrics::track))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(DefaultOnRequest::new().level(Level::DEBUG))
                .on_response(on_response)
                // Errors are logged where they are made (`ApiError::into_response`); a 503 from
                // `/readyz` while starting is not a failure worth an error line.
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// The request header naming the log entry a read must see (cluster mode).
pub const WEAVER_MIN_SEQ: &str = "weaver-min-seq";

async fn min_seq(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(replica) = &state.cluster else {
        return next.run(req).await;
    };
    let Some(value) = req.headers().get(WEAVER_MIN_SEQ) else {
        return next.run(req).await;
    };
    let Some(wanted) = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return ApiError::InvalidArgument(
            "`Weaver-Min-Seq` must be a non-negative integer".to_owned(),
        )
        .into_response();
    };
    let vault = req
        .uri()
        .path()
        .strip_prefix("/api/v1/vaults/")
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned);
    if let Some(vault) = vault {
        let wait = replica.config().max_staleness();
        if let Some(applied) = replica.wait_applied(&vault, wanted, wait).await
            && applied < wanted
        {
            return ApiError::ReplicaBehind {
                vault,
                wanted,
                applied,
            }
            .into_response();
        }
    }
    next.run(req).await
}

/// tower-http's compression answers 406 when `Accept-Encoding` rules out `identity` and names
/// nothing it can make; RFC 9110 only says SHOULD, and a 406 there would carry the handler's
/// body under an error status. Such a header is dropped instead, so the answer is `identity`.
async fn never_406(mut req: Request, next: Next) -> Response {
    let refuses_identity = req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .or_else(|| p.strip_prefix("Q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            zero && (coding == "*" || coding.eq_ignore_ascii_case("identity"))
        });
    if refuses_identity {
        req.headers_mut().remove(header::ACCEPT_ENCODING);
    }
    next.run(req).await
}

fn make_span(req: &Request) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        route = %route,
        request_id = %request_id,
    );
    // A W3C `traceparent` from the gateway or the MCP service makes this request part of its
    // trace (only matters when traces are exported).
    weaver_service::telemetry::continue_trace(&span, req.headers());
    span
}

fn on_response(response: &Response, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "response"
    );
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = %detail, "a request handler panicked");
    ApiError::Internal("the request handler panicked".to_owned()).into_response()
}

async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let secs = state.config.load().server.request_timeout_secs;
    match tokio::time::timeout(Duration::from_secs(secs), next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(secs).into_response(),
    }
}

async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.load().server.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (mut parts, body) = req.into_parts();
    // The MCP endpoint answers with a JSON-RPC error of its own (`weaver_mcp::http_service`).
    if declared.is_some_and(|len| len > limit) && !is_mcp(parts.uri.path()) {
        weaver_service::body::discard(body).await;
        return ApiError::BodyTooLarge(limit).into_response();
    }
    parts.extensions.insert(BodyLimit(limit));
    next.run(Request::from_parts(
        parts,
        weaver_service::body::limited(body, limit),
    ))
    .await
}

fn is_mcp(path: &str) -> bool {
    path == "/mcp" || path.starts_with("/mcp/")
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    use super::*;
    use crate::config::Config;
    use crate::extract::ApiJson;

    fn state(config: Config) -> AppState {
        AppState::new(
            config,
            crate::metrics::install(),
            tokio_util::sync::CancellationToken::new(),
        )
    }

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        "late"
    }

    async fn boom() -> &'static str {
        #[allow(clippy::panic)]
        {
            panic!("boom")
        }
    }

    async fn echo(ApiJson(v): ApiJson<serde_json::Value>) -> axum::Json<serde_json::Value> {
        axum::Json(v)
    }

    fn app(config: Config) -> Router {
        let state = state(config);
        layers(
            Router::new()
                .route("/slow", get(slow))
                .route("/boom", get(boom))
                .route("/echo", post(echo)),
            &state,
        )
        .with_state(state)
    }

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn slow_handlers_time_out_with_json() {
        let mut config = Config::default();
        config.server.request_timeout_secs = 2;
        let response = app(config)
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("x-request-id"));
        let body = body_json(response).await;
        assert_eq!(body["code"], "request_timeout");
        assert_eq!(
            body["message"],
            "the request did not finish within 2 seconds"
        );
    }

    #[tokio::test]
    async fn panics_become_internal_errors() {
        let response = app(Config::default())
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(body_json(response).await["code"], "internal_error");
    }

    #[tokio::test]
    async fn bodies_over_the_limit_and_wrong_types_are_rejected_with_json() {
        let mut config = Config::default();
        config.server.max_body_bytes = 16;
        let big = "[".to_owned() + &"1,".repeat(20) + "1]";
        // Declared too large.
        let response = app(config.clone())
            .oneshot(
                Request::post("/echo")
                    .header("content-type", "application/json")
                    .body(Body::from(big.clone()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(body_json(response).await["code"], "body_too_large");
        // Streamed without a length.
        let chunks = futures_util::stream::iter(
            big.into_bytes()
                .chunks(4)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        );
        let response = app(config.clone())
            .oneshot(
                Request::post("/echo")
                    .header("content-type", "application/json")
                    .body(Body::from_stream(chunks))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        let body = body_json(response).await;
        assert_eq!(body["code"], "body_too_large");
        assert_eq!(
            body["message"],
            "request body is over the limit of 16 bytes"
        );
        // Wrong content type.
        let response = app(config.clone())
            .oneshot(Request::post("/echo").body(Body::from("[1]")).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 415);
        assert_eq!(body_json(response).await["code"], "unsupported_media_type");
        // Malformed JSON.
        let response = app(config.clone())
            .oneshot(
                Request::post("/echo")
                    .header("content-type", "application/json")
                    .body(Body::from("[1"))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(body_json(response).await["code"], "invalid_argument");
        // Within the limit.
        let response = app(config)
            .oneshot(
                Request::post("/echo")
                    .header("content-type", "application/json")
                    .body(Body::from("[1,2]"))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(body_json(response).await, serde_json::json!([1, 2]));
    }
}
