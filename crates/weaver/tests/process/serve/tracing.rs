//! Trace export for real: `weaver serve` with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an
//! in-process OTLP/HTTP receiver (no Jaeger binary can be installed here). A request carrying a
//! W3C `traceparent` must arrive at the receiver as spans of that same trace. And request ids:
//! generated or propagated, and in every log line of the request.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::routing::post;

use crate::serve::support::{Sandbox, Start, VAULT};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn spans_are_exported_over_otlp_within_the_callers_trace() {
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let sink = Arc::clone(&received);
    let receiver = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock().unwrap().push(body.to_vec());
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let server = Start::vault(&vault)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &format!("http://{otlp}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .spawn();
    server.wait_ready().await;
    let response = server
        .client
        .get(server.url("/api/v1/vaults/default/search?q=plan"))
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // OTLP/protobuf carries the trace id as 16 raw bytes.
    let trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&TRACE_ID[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    server
        .poll(|| async {
            let bodies = received.lock().unwrap();
            bodies
                .iter()
                .any(|b| b.windows(16).any(|w| w == trace_id.as_slice()))
                .then_some(())
        })
        .await;
}

#[tokio::test]
async fn request_ids_are_generated_or_propagated_and_logged() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let response = server.get("/livez").await;
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let response = server
        .client
        .get(server.url("/api/v1/vaults/default/stats"))
        .header("x-request-id", "trace-me-42")
        .header("authorization", "Bearer hunter2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let logged = server
        .poll(|| async {
            server.log_lines().into_iter().find(|l| {
                l["fields"]["message"] == "response" && l["span"]["request_id"] == "trace-me-42"
            })
        })
        .await;
    assert_eq!(logged["span"]["route"], "/api/v1/vaults/{vault}/stats");
    assert_eq!(logged["span"]["method"], "GET");
    assert_eq!(logged["fields"]["status"], 200);
    assert!(
        !server.logs().contains("hunter2"),
        "secrets stay out of logs"
    );
}
