//! Operations: metrics, the OpenAPI document and Swagger UI.

use serde_json::Value;

use crate::serve::support::{Sandbox, Start, VAULT};

#[tokio::test]
async fn metrics_use_route_templates_and_vault_labels() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    server
        .ok("/api/v1/vaults/default/notes/Projects/Plan.md/backlinks")
        .await;
    server
        .ok("/api/v1/vaults/default/notes/Projects/Plan.md")
        .await;
    server
        .error("/api/v1/vaults/default/notes/Nope", 404, "note_not_found")
        .await;
    server.error("/not/a/route", 404, "route_not_found").await;

    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"http_requests_total{route="/api/v1/vaults/{vault}/notes/{*path}/backlinks",method="GET",status="200"} 1"#,
        r#"http_requests_total{route="/api/v1/vaults/{vault}/notes/{*path}",method="GET",status="200"} 1"#,
        r#"http_requests_total{route="/api/v1/vaults/{vault}/notes/{*path}",method="GET",status="404"} 1"#,
        r#"http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        r#"http_request_duration_seconds_bucket{route="/readyz",method="GET",le="0.005"}"#,
        "http_requests_in_flight",
        r#"weaver_notes{vault="default"} 5"#,
        r#"weaver_links{vault="default"} 6"#,
        r#"weaver_unresolved_links{vault="default"} 1"#,
        r#"weaver_index_lag_seconds{vault="default"} 0"#,
        r#"weaver_watcher_events_total{vault="default"} 0"#,
        r#"weaver_write_conflicts_total{vault="default"} 0"#,
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert!(!text.contains("Plan.md"), "raw paths never become labels");

    // Syncs are timed once something changes.
    std::fs::write(vault.join("Later.md"), "# Later\n").unwrap();
    server
        .poll(|| async {
            let text = server.get("/metrics").await.text().await.unwrap();
            (text.contains(r#"weaver_notes{vault="default"} 6"#)
                && text.contains(r#"weaver_sync_duration_seconds_count{vault="default"}"#))
            .then_some(())
        })
        .await;
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token_from_a_file() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let token = sandbox.write("secrets/metrics-token", "s3cret-token\n");
    let server = Start::vault(&vault)
        .env(
            "WEAVER__SERVER__METRICS_TOKEN_FILE",
            token.to_str().unwrap(),
        )
        .spawn();
    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    for (authorization, expected) in [
        ("Bearer nope", 401),
        ("Basic s3cret-token", 401),
        ("Bearer s3cret-token", 200),
    ] {
        let response = server
            .client
            .get(server.url("/metrics"))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{authorization}");
    }
    assert!(!server.logs().contains("s3cret-token"));
}

#[tokio::test]
async fn openapi_document_is_served_routed_and_snapshotted() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let mut doc = server.ok("/api/v1/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));

    // Every documented operation is routed (answers something other than the router's 404).
    let paths = doc["paths"].as_object().unwrap().clone();
    assert!(paths.len() >= 17, "{:?}", paths.keys());
    for (template, operations) in &paths {
        let concrete = template
            .replace("{vault}", "default")
            .replace("{path}", "Projects/Plan.md");
        for method in operations.as_object().unwrap().keys() {
            let url = server.url(&concrete);
            // Writes carry a version that cannot match, so probing them changes nothing.
            let request = match method.as_str() {
                "get" => server.client.get(&url),
                "put" => server.client.put(&url).header("If-Match", "\"probe\""),
                "patch" => server.client.patch(&url).header("If-Match", "\"probe\""),
                "post" => server.client.post(&url).header("If-Match", "\"probe\""),
                "delete" => server.client.delete(&url).header("If-Match", "\"probe\""),
                other => panic!("{template}: unexpected method {other}"),
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let is_stream = response
                .headers()
                .get("content-type")
                .is_some_and(|c| c.to_str().unwrap().starts_with("text/event-stream"));
            if !is_stream {
                let body = response.text().await.unwrap();
                assert!(
                    !body.contains("route_not_found") && !body.contains("method_not_allowed"),
                    "{method} {template} is documented but not routed: {status} {body}"
                );
            }
            if method == "get" {
                assert!(status == 200 || status == 400, "{template}: {status}");
            } else {
                assert!(
                    (400..500).contains(&status),
                    "{method} {template}: {status}"
                );
            }
        }
    }

    doc["info"]["version"] = Value::String("[version]".to_owned());
    insta::assert_json_snapshot!("openapi", doc);

    let docs = server.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    let init = server.get("/docs/swagger-initializer.js").await;
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/api/v1/openapi.json"));
}

#[tokio::test]
async fn watcher_metrics_count_external_edits() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    std::fs::write(vault.join("Edited elsewhere.md"), "# Typed in Obsidian\n").unwrap();
    let line = server
        .poll(|| async {
            let text = server.get("/metrics").await.text().await.unwrap();
            text.lines()
                .find(|l| l.starts_with("weaver_watcher_events_total{vault=\"default\"}"))
                .filter(|l| !l.ends_with(" 0"))
                .map(str::to_owned)
        })
        .await;
    let events: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(events >= 1.0, "{line}");
    // Once the change is indexed, nothing is waiting.
    server
        .poll(|| async {
            let found = server.ok("/api/v1/vaults/default/search?q=obsidian").await;
            (found["total"].as_u64() >= Some(1)).then_some(())
        })
        .await;
    let text = server.get("/metrics").await.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l == "weaver_index_lag_seconds{vault=\"default\"} 0"),
        "{text}"
    );
}
