//! What the gateway passes on: event streams, request ids, W3C trace context and
//! `X-Forwarded-*` (from trusted proxies only), and what it keeps back: credentials and
//! cookies. An echo server in the test stands in for the upstream where headers matter.

use axum::http::{HeaderMap, Method as HttpMethod, Uri};
use reqwest::Method;
use serde_json::{Value, json};

use crate::gateway::stack::{Reply, Stack, events, key, notes, send};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn events_stream_through_the_gateway() {
    let stack = Stack::start().await;
    let mut events = events(
        &stack.client,
        &stack.url("/api/v1/vaults/default/events"),
        &key("reader"),
    )
    .await;
    let ready = events.next_named("index.ready").await;
    assert_eq!(ready.data["vault"], "default");
    stack
        .put_note("writer", "Streamed.md", "# Streamed\n")
        .await
        .assert_status(201);
    let created = events.next_named("note.created").await;
    assert_eq!(created.data["path"], "Streamed.md");
    // A change made outside Weaver arrives on the same open stream.
    std::fs::write(stack.vault("default").join("Outside.md"), "# Outside\n").unwrap();
    let created = events.next_named("note.created").await;
    assert_eq!(created.data["path"], "Outside.md");
}

#[tokio::test]
async fn request_ids_reach_the_upstream_and_its_logs() {
    let mut stack = Stack::start().await;
    let reply = send(
        stack
            .request(Method::GET, &notes("Home.md"), Some(&key("reader")))
            .header("x-request-id", "test-123"),
    )
    .await;
    reply.assert_status(200);
    assert_eq!(reply.header("x-request-id"), Some("test-123"));
    let served = stack.serve().wait_log(|l| {
        l["fields"]["message"] == "response" && l["span"]["request_id"] == "test-123"
    });
    assert_eq!(served["fields"]["status"], 200);
    // The gateway's access log: the identity's name, never its key.
    let access = stack.gateway.wait_log(|l| {
        l["target"] == "weaver::gateway::access" && l["span"]["request_id"] == "test-123"
    });
    assert_eq!(access["fields"]["identity"], "key:reader");
    assert_eq!(access["fields"]["status"], 200);
    assert_eq!(access["fields"]["path"], notes("Home.md"));
    assert!(!stack.gateway.logs().contains(&key("reader")));

    // Without one, the gateway makes one up, and the upstream logs that.
    let reply = stack.get_as("reader", &notes("Ideas.md")).await;
    let id = reply.header("x-request-id").unwrap().to_owned();
    assert!(!id.is_empty());
    stack
        .serve()
        .wait_log(|l| l["fields"]["message"] == "response" && l["span"]["request_id"] == id);
}

/// An upstream that answers every request with its method, path and headers.
async fn echo_server() -> String {
    let app = axum::Router::new().fallback(
        |method: HttpMethod, uri: Uri, headers: HeaderMap| async move {
            let mut seen = serde_json::Map::new();
            for name in headers.keys() {
                let values: Vec<&str> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().unwrap())
                    .collect();
                seen.insert(name.to_string(), json!(values.join(" | ")));
            }
            axum::Json(json!({"method": method.as_str(), "uri": uri.to_string(), "headers": seen}))
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A request through `stack` to the echo server with forged forwarding headers, a cookie and
/// a trace context.
async fn echoed(stack: &Stack) -> Reply {
    let reply = send(
        stack
            .request(
                Method::GET,
                "/api/v1/vaults/default/search?q=plan&limit=2",
                Some(&key("reader")),
            )
            .header("host", "weave.example.com")
            .header("cookie", "session=s3cret")
            .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
            .header("x-forwarded-for", "6.6.6.6")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "forged.example")
            .header("forwarded", "for=6.6.6.6")
            .header("weaver-actor", "forged")
            .header("x-custom", "kept"),
    )
    .await;
    reply.assert_status(200);
    reply
}

#[tokio::test]
async fn the_gateway_sets_forwarding_headers_and_keeps_credentials_back() {
    let echo = echo_server().await;
    let stack = Stack::builder().api(&echo).mcp(&echo).start().await;
    let reply = echoed(&stack).await;
    let seen = &reply.body["headers"];
    assert_eq!(
        reply.body["uri"],
        "/api/v1/vaults/default/search?q=plan&limit=2"
    );
    for gone in ["authorization", "cookie", "forwarded"] {
        assert_eq!(seen[gone], Value::Null, "{gone} was forwarded: {seen}");
    }
    // From an untrusted client, the forged forwarding headers are replaced.
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["x-forwarded-host"], "weave.example.com");
    assert_eq!(seen["host"], echo.strip_prefix("http://").unwrap());
    let traceparent = seen["traceparent"].as_str().unwrap();
    assert!(traceparent.contains(TRACE_ID), "{traceparent}");
    assert_eq!(seen["x-request-id"], reply.header("x-request-id").unwrap());
    assert_eq!(seen["x-custom"], "kept");
    // The change log's actor is the identity, not what the client claims.
    assert_eq!(seen["weaver-actor"], "reader");
    // Security headers on the way back (no HSTS over plain HTTP).
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert_eq!(reply.header("strict-transport-security"), None);

    // `/mcp` is forwarded as the default vault's path.
    let reply = stack
        .call_raw("/mcp", &key("reader"), "read_note", json!({"note": "Home"}))
        .await;
    reply.assert_status(200);
    assert_eq!(reply.body["method"], "POST");
    assert_eq!(reply.body["uri"], "/mcp/default");
    assert_eq!(reply.body["headers"]["authorization"], Value::Null);
}

#[tokio::test]
async fn a_trusted_proxys_forwarding_headers_are_kept() {
    let echo = echo_server().await;
    let mut stack = Stack::builder()
        .api(&echo)
        .mcp(&echo)
        .server("trusted_proxies = [\"127.0.0.1/32\"]")
        .start()
        .await;
    let reply = echoed(&stack).await;
    let seen = &reply.body["headers"];
    assert_eq!(seen["x-forwarded-for"], "6.6.6.6, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "https");
    assert_eq!(seen["authorization"], Value::Null);
    assert_eq!(seen["cookie"], Value::Null);
    // The access log names the client behind the proxy.
    let id = reply.header("x-request-id").unwrap().to_owned();
    let access = stack.gateway.wait_log(|l| {
        l["target"] == "weaver::gateway::access" && l["span"]["request_id"] == id.as_str()
    });
    assert_eq!(access["fields"]["client"], "6.6.6.6");
}
