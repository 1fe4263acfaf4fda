//! The gateway's own routes: `/readyz` (both upstreams answer), 502 when an upstream is down,
//! and `/metrics` by route, status and identity.

use reqwest::Method;
use serde_json::json;

use crate::gateway::stack::{Reply, Stack, closed_port_url, key, notes, send, until_limited};

async fn readyz(stack: &Stack) -> Reply {
    send(stack.request(Method::GET, "/readyz", None)).await
}

#[tokio::test]
async fn readyz_is_ready_when_both_upstreams_answer() {
    let stack = Stack::start().await;
    let reply = readyz(&stack).await;
    reply.assert_status(200);
    assert_eq!(
        reply.body,
        json!({"status": "ready", "upstreams": {"api": "ready", "mcp": "ready"}})
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_named_by_readyz_and_answers_502() {
    let mut stack = Stack::builder().mcp(&closed_port_url()).start().await;
    let reply = readyz(&stack).await;
    reply.assert_status(503);
    assert_eq!(
        reply.body,
        json!({"status": "not_ready", "upstreams": {"api": "ready", "mcp": "unreachable"}})
    );
    let reply = stack
        .call_raw("/mcp", &key("reader"), "read_note", json!({"note": "Home"}))
        .await;
    reply.assert_error(502, "upstream_unavailable");
    // The API still answers.
    stack
        .get_as("reader", &notes("Home.md"))
        .await
        .assert_status(200);

    // Now the API goes away too.
    drop(stack.serve.take());
    stack
        .get_as("reader", &notes("Home.md"))
        .await
        .assert_error(502, "upstream_unavailable");
    let reply = readyz(&stack).await;
    reply.assert_status(503);
    assert_eq!(reply.body["upstreams"]["api"], "unreachable");
}

/// The value of the sample of `name` whose labels include all of `labels`.
fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix('{')?;
        let (set, value) = rest.rsplit_once("} ")?;
        labels
            .iter()
            .all(|l| set.split(',').any(|have| have == *l))
            .then(|| value.parse().unwrap())
    })
}

#[tokio::test]
async fn metrics_count_requests_by_route_status_and_identity() {
    let stack = Stack::builder()
        .limits(&[
            "identity_per_second = 1",
            "identity_burst = 1",
            "address_per_second = 0",
        ])
        .start()
        .await;
    let path = notes("Home.md");
    let (_, limited) =
        until_limited(|| stack.request(Method::GET, &path, Some(&key("reader")))).await;
    limited.assert_error(429, "rate_limited");
    send(stack.request(Method::GET, &path, None))
        .await
        .assert_error(401, "unauthorized");
    stack
        .get_as("writer", "/api/v1/vaults")
        .await
        .assert_status(200);

    let reply = send(stack.request(Method::GET, "/metrics", None)).await;
    reply.assert_status(200);
    let text = reply.body.as_str().unwrap();
    let route = "route=\"/api/v1/vaults/{vault}/notes/{path}\"";
    let requests = |labels: &[&str]| sample(text, "http_requests_total", labels);
    assert!(
        requests(&[
            route,
            "status=\"200\"",
            "identity=\"key:reader\"",
            "method=\"GET\""
        ])
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        requests(&[route, "status=\"429\"", "identity=\"key:reader\""]).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        requests(&[route, "status=\"401\"", "identity=\"anonymous\""]).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        requests(&[
            "route=\"/api/v1/vaults\"",
            "status=\"200\"",
            "identity=\"key:writer\""
        ])
        .is_some(),
        "{text}"
    );
    assert!(
        sample(text, "gateway_rate_limited_total", &["kind=\"identity\""])
            .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(text, "gateway_auth_failures_total", &["reason=\"missing\""])
            .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // Raw paths and credentials never become labels.
    assert!(!text.contains("Home.md"), "{text}");
    assert!(!text.contains("wvr_"), "{text}");
}
