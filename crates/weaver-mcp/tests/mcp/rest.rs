//! `RestBackend` against a stand-in for the REST API of `weaver serve`: what it sends upstream
//! (the trace context of the MCP request it serves) and how it takes answers the real server
//! gives rarely (a vault still opening, a proxy's error page). That its results and errors match
//! a local vault's is tested against the real server in `tests/serve/mcp.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::mcp::{HttpOptions, McpOptions, RestDirectory, VaultBackend, http_service};
use crate::support::{call, ok};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// One request the stand-in received.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    path: String,
    traceparent: Option<String>,
    tracestate: Option<String>,
}

/// A request's vault and its `Weaver-Min-Seq` header.
type VaultMinSeq = (String, Option<String>);

#[derive(Clone, Default)]
struct Stand {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Answer this many requests with `vault_not_ready` first.
    not_ready: Arc<Mutex<usize>>,
    /// Each request's vault and `Weaver-Min-Seq`.
    min_seqs: Arc<Mutex<Vec<VaultMinSeq>>>,
    /// Answer with this `Weaver-Seq` (as a cluster replica answers a write).
    answer_seq: Arc<Mutex<Option<u64>>>,
}

/// `GET /api/v1/vaults/{vault}/stats` as `weaver serve` answers it; the vault `broken` sits
/// behind a failing proxy.
async fn stats(
    State(stand): State<Stand>,
    Path(vault): Path<String>,
    headers: HeaderMap,
) -> Response {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    stand.seen.lock().unwrap().push(Seen {
        path: format!("/api/v1/vaults/{vault}/stats"),
        traceparent: header("traceparent"),
        tracestate: header("tracestate"),
    });
    stand
        .min_seqs
        .lock()
        .unwrap()
        .push((vault.clone(), header("weaver-min-seq")));
    if vault == "broken" {
        return (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response();
    }
    {
        let mut not_ready = stand.not_ready.lock().unwrap();
        if *not_ready > 0 {
            *not_ready -= 1;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({
                    "code": "vault_not_ready",
                    "message": format!("vault `{vault}` is still opening; retry shortly"),
                })),
            )
                .into_response();
        }
    }
    let mut response = axum::Json(json!({
        "notes": 3, "attachments": 1, "links": 4, "resolved_links": 3, "unresolved_links": 1,
        "embeds": 0, "external_links": 0, "tags": 2, "orphans": 1, "tasks_open": 1,
        "tasks_done": 0, "words": 42, "bytes": 420, "notes_with_problems": 0
    }))
    .into_response();
    if let Some(seq) = *stand.answer_seq.lock().unwrap() {
        response
            .headers_mut()
            .insert("weaver-seq", HeaderValue::from(seq));
    }
    response
}

/// Serves `router` on `127.0.0.1:0` until `shutdown`; returns `http://ADDR`.
async fn listen(router: axum::Router, shutdown: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

async fn stand_in(shutdown: &CancellationToken) -> (Stand, String) {
    let stand = Stand::default();
    let router = axum::Router::new()
        .route("/api/v1/vaults/{vault}/stats", axum::routing::get(stats))
        .with_state(stand.clone());
    let base = listen(router, shutdown).await;
    (stand, base)
}

#[tokio::test]
async fn the_trace_context_of_an_mcp_request_is_passed_upstream() {
    let shutdown = CancellationToken::new();
    let (stand, upstream) = stand_in(&shutdown).await;
    let vaults = RestDirectory::new(&upstream, "default").unwrap();
    let mcp = axum::Router::new().nest(
        "/mcp",
        http_service(
            Arc::new(vaults),
            McpOptions::new(false),
            HttpOptions::loopback(shutdown.clone()),
        ),
    );
    let base = listen(mcp, &shutdown).await;

    let headers = HashMap::from([
        (
            HeaderName::from_static("traceparent"),
            HeaderValue::from_static(TRACEPARENT),
        ),
        (
            HeaderName::from_static("tracestate"),
            HeaderValue::from_static("congo=t61rcWkgMzE"),
        ),
    ]);
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp/notes"))
        .custom_headers(headers);
    let traced = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
    let result = call(&traced, "vault_stats", json!({})).await;
    assert_eq!(ok(&result)["vault"], "notes");
    assert_eq!(ok(&result)["notes"], 3);

    let plain = ()
        .serve(StreamableHttpClientTransport::from_uri(format!(
            "{base}/mcp"
        )))
        .await
        .unwrap();
    let result = call(&plain, "vault_stats", json!({})).await;
    assert_eq!(ok(&result)["vault"], "default");

    assert_eq!(
        *stand.seen.lock().unwrap(),
        [
            Seen {
                path: "/api/v1/vaults/notes/stats".into(),
                traceparent: Some(TRACEPARENT.into()),
                tracestate: Some("congo=t61rcWkgMzE".into()),
            },
            Seen {
                path: "/api/v1/vaults/default/stats".into(),
                traceparent: None,
                tracestate: None,
            },
        ]
    );
    traced.cancel().await.unwrap();
    plain.cancel().await.unwrap();
    shutdown.cancel();
}

#[tokio::test]
async fn a_vault_still_opening_upstream_is_asked_again() {
    let shutdown = CancellationToken::new();
    let (stand, upstream) = stand_in(&shutdown).await;
    *stand.not_ready.lock().unwrap() = 2;
    let backend = RestDirectory::new(&upstream, "default")
        .unwrap()
        .vault("notes");
    let counts = backend.stats().await.unwrap();
    assert_eq!(counts.words, 42);
    assert_eq!(stand.seen.lock().unwrap().len(), 3);
    shutdown.cancel();
}

#[tokio::test]
async fn an_error_page_between_the_services_is_vault_unavailable() {
    let shutdown = CancellationToken::new();
    let (_stand, upstream) = stand_in(&shutdown).await;
    let err = RestDirectory::new(&upstream, "default")
        .unwrap()
        .vault("broken")
        .stats()
        .await
        .unwrap_err();
    assert_eq!(err.code, "vault_unavailable");
    assert_eq!(
        err.message,
        "the upstream service answered `502 Bad Gateway`: <html>502 Bad Gateway</html>"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn calls_after_a_write_ask_for_its_sequence_on_whichever_replica_answers() {
    let shutdown = CancellationToken::new();
    let (stand, upstream) = stand_in(&shutdown).await;
    let vaults = RestDirectory::new(&upstream, "default").unwrap();
    let (a, b) = (vaults.vault("a"), vaults.vault("b"));
    a.stats().await.unwrap();
    // An answer with `Weaver-Seq: 7` (a write, on a cluster replica)...
    *stand.answer_seq.lock().unwrap() = Some(7);
    a.stats().await.unwrap();
    *stand.answer_seq.lock().unwrap() = Some(3);
    a.stats().await.unwrap();
    // ...makes every later call to that vault wait for entry 7 (never less), and only there.
    a.stats().await.unwrap();
    b.stats().await.unwrap();
    let seen = stand.min_seqs.lock().unwrap().clone();
    let want = |v: &str, s: Option<&str>| (v.to_owned(), s.map(str::to_owned));
    assert_eq!(
        seen,
        [
            want("a", None),
            want("a", None),
            want("a", Some("7")),
            want("a", Some("7")),
            want("b", None),
        ]
    );
    shutdown.cancel();
}
