//! Authentication and vault scopes: no or bad credential 401, another vault 403 (REST and
//! MCP), the vault list filtered to the caller's vaults, and bearer JWTs.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::Method;
use serde_json::{Value, json};

use crate::gateway::stack::{Reply, Stack, call, key, notes, ok, send};

#[tokio::test]
async fn requests_without_a_valid_credential_are_refused_with_401() {
    let stack = Stack::start().await;
    let path = notes("Home.md");
    for credential in [
        None,
        Some("wvr_not-a-configured-key"),
        // Not an API key, and no JWT verifier is configured.
        Some("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"),
    ] {
        let reply = send(stack.request(Method::GET, &path, credential)).await;
        reply.assert_error(401, "unauthorized");
        let challenge = reply.header("www-authenticate").unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
    }
    // A scheme other than Bearer is no credential either.
    let reply = send(
        stack
            .client
            .get(stack.url(&path))
            .basic_auth("reader", Some(key("reader"))),
    )
    .await;
    reply.assert_error(401, "unauthorized");
    // MCP too, before anything reaches mcp-server.
    let reply = stack
        .call_raw("/mcp", "wvr_wrong", "read_note", json!({"note": "Home"}))
        .await;
    reply.assert_error(401, "unauthorized");
    // The operational routes need no credential.
    assert_eq!(
        send(stack.request(Method::GET, "/livez", None))
            .await
            .status,
        200
    );
    // And with one, the request goes through.
    let reply = stack.get_as("reader", &path).await;
    reply.assert_status(200);
    assert_eq!(reply.body["path"], "Home.md");
}

#[tokio::test]
async fn a_key_for_one_vault_cannot_reach_another() {
    let stack = Stack::start().await;
    // `outsider` may write to `other`, and nothing else.
    for (method, path) in [
        (Method::GET, notes("Home.md")),
        (
            Method::GET,
            "/api/v1/vaults/default/search?q=plan".to_owned(),
        ),
        (Method::PUT, notes("Intruder.md")),
        (Method::GET, "/api/v1/vaults/default/events".to_owned()),
    ] {
        let mut request = stack.request(method.clone(), &path, Some(&key("outsider")));
        if method == Method::PUT {
            request = request.body("# Intruder\n");
        }
        send(request).await.assert_error(403, "forbidden");
    }
    assert!(!stack.vault("default").join("Intruder.md").exists());
    // MCP: `/mcp/default`, and `/mcp`, which means the default vault.
    for path in ["/mcp/default", "/mcp", "/mcp/"] {
        let reply = stack
            .call_raw(path, &key("outsider"), "read_note", json!({"note": "Home"}))
            .await;
        reply.assert_error(403, "forbidden");
    }
    // Its own vault works, over REST and through an MCP client.
    let reply = stack
        .get_as("outsider", "/api/v1/vaults/other/notes/Elsewhere.md")
        .await;
    reply.assert_status(200);
    let client = stack.mcp_client("/mcp/other", &key("outsider")).await;
    let stats = call(&client, "vault_stats", json!({})).await;
    assert_eq!(ok(&stats)["vault"], "other");
    assert_eq!(ok(&stats)["notes"], 1);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_resource_uri_cannot_name_another_vault() {
    let stack = Stack::start().await;
    let read = |path: &'static str, uri: &'static str| {
        let message = json!({
            "jsonrpc": "2.0", "id": 9, "method": "resources/read", "params": {"uri": uri},
        });
        send(
            stack
                .request(Method::POST, path, Some(&key("reader")))
                .header("accept", "application/json, text/event-stream")
                .json(&message),
        )
    };
    // `reader` may read `default` only: a URI of `other` on its endpoint is refused at the door.
    for path in ["/mcp/default", "/mcp"] {
        read(path, "weaver://other/note/Elsewhere.md")
            .await
            .assert_error(403, "forbidden");
    }
    // Its own vault's note reads.
    let reply = read("/mcp/default", "weaver://default/note/Home.md").await;
    reply.assert_status(200);
    assert!(
        reply.body["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("# Home"),
        "{reply:?}"
    );
    // Even a key for every vault: an endpoint is for one vault.
    let message = json!({
        "jsonrpc": "2.0", "id": 10, "method": "resources/read",
        "params": {"uri": "weaver://other/note/Elsewhere.md"},
    });
    let reply = send(
        stack
            .request(Method::POST, "/mcp/default", Some(&key("admin")))
            .header("accept", "application/json, text/event-stream")
            .json(&message),
    )
    .await;
    reply.assert_error(403, "forbidden");
    // And the MCP service behind it refuses the same on its own (here `weaver serve`'s `/mcp`,
    // the same MCP server code): a note of `other` is not served on `/mcp/default`.
    let mut stack = stack;
    let serve = stack.serve();
    let answer: Value = serve
        .client
        .post(serve.url("/mcp/default"))
        .header("accept", "application/json, text/event-stream")
        .json(&message)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = answer.to_string();
    assert!(
        text.contains("this endpoint serves the vault `default`") && answer["result"].is_null(),
        "{text}"
    );
}

#[tokio::test]
async fn the_vault_list_shows_only_the_callers_vaults() {
    let stack = Stack::start().await;
    let names = |reply: &Reply| -> Vec<String> {
        reply.assert_status(200);
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = stack.get_as("admin", "/api/v1/vaults").await;
    assert_eq!(names(&all), ["default", "other"]);
    assert_eq!(
        names(&stack.get_as("reader", "/api/v1/vaults").await),
        ["default"]
    );
    assert_eq!(
        names(&stack.get_as("outsider", "/api/v1/vaults").await),
        ["other"]
    );
}

/// Signs `claims` with HS256 and `secret`.
fn token(secret: &str, claims: &Value) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn signed_tokens_authenticate_with_their_claims() {
    const SECRET: &str = "a shared secret of at least thirty-two bytes";
    const ISSUER: &str = "https://login.example.com/";
    let builder = Stack::builder();
    let secret_file = builder.write("gateway/jwt-secret", SECRET);
    let stack = builder
        .section(&format!(
            "[auth.jwt]\nhs256_secret_file = {secret_file:?}\nissuer = \"{ISSUER}\"\n\
             audience = \"weave-nn\"\nleeway_secs = 5\n"
        ))
        .start()
        .await;
    let claims = |changes: Value| {
        let mut claims = json!({
            "sub": "carol", "iss": ISSUER, "aud": "weave-nn", "exp": now() + 600,
            "weaver_role": "write", "weaver_vaults": ["default"],
        });
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let with = |token: &str, method: Method, path: &str| {
        stack
            .request(method, path, Some(token))
            .header("content-type", "text/markdown")
            .body("# From a token\n")
    };

    let good = token(SECRET, &claims(json!({})));
    send(with(&good, Method::GET, &notes("Home.md")))
        .await
        .assert_status(200);
    send(with(&good, Method::PUT, &notes("Token.md")))
        .await
        .assert_status(201);
    assert_eq!(
        std::fs::read_to_string(stack.vault("default").join("Token.md")).unwrap(),
        "# From a token\n"
    );
    // Its vaults claim is its scope, its role claim its role.
    send(with(
        &good,
        Method::GET,
        "/api/v1/vaults/other/notes/Elsewhere.md",
    ))
    .await
    .assert_error(403, "forbidden");
    let reader = token(SECRET, &claims(json!({"weaver_role": "read"})));
    send(with(&reader, Method::PUT, &notes("Token.md")))
        .await
        .assert_error(403, "forbidden");

    for (why, bad) in [
        (
            "expired",
            token(SECRET, &claims(json!({"exp": now() - 3600}))),
        ),
        (
            "another audience",
            token(SECRET, &claims(json!({"aud": "someone-else"}))),
        ),
        (
            "another issuer",
            token(SECRET, &claims(json!({"iss": "https://evil.example/"}))),
        ),
        (
            "another secret",
            token(
                "another secret, also thirty-two bytes long",
                &claims(json!({})),
            ),
        ),
    ] {
        let reply = send(with(&bad, Method::GET, &notes("Home.md"))).await;
        assert_eq!(reply.status, 401, "{why}: {reply:?}");
        assert_eq!(reply.code(), "unauthorized", "{why}");
    }
}
