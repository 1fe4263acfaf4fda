//! MCP on `weaver serve` (`/mcp`, Streamable HTTP) and `weaver mcp` (stdio) over the same
//! vault: the same tools, answered by the same weaver-app functions, give identical results,
//! and a write through MCP is visible to the REST API at once.

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::support::{Sandbox, Start, VAULT};

type Client = RunningService<RoleClient, ()>;

async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap()
}

fn structured(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {result:?}");
    result.structured_content.clone().unwrap()
}

#[tokio::test]
async fn stdio_and_http_modes_answer_identically() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let http = ().serve(StreamableHttpClientTransport::from_uri(server.url("/mcp"))).await.unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_weaver"));
    command
        .arg("--vault")
        .arg(&vault)
        .args(["--no-cache", "mcp"])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::null());
    let stdio = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();

    let http_tools: Vec<String> = http
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    let stdio_tools: Vec<String> = stdio
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(http_tools, stdio_tools);

    for (tool, arguments) in [
        ("vault_stats", json!({})),
        ("search_notes", json!({"query": "plan"})),
        ("read_note", json!({"note": "Projects/Plan.md"})),
        ("get_backlinks", json!({"note": "Projects/Plan.md"})),
        ("get_links", json!({"note": "Home"})),
        ("graph_neighbors", json!({"note": "Home", "depth": 2})),
        ("list_tags", json!({})),
        ("find_orphans", json!({})),
        ("find_unresolved_links", json!({})),
        ("list_notes", json!({})),
    ] {
        let a = call(&http, tool, arguments.clone()).await;
        let b = call(&stdio, tool, arguments).await;
        assert_eq!(structured(&a), structured(&b), "{tool}");
    }
    http.cancel().await.unwrap();
    stdio.cancel().await.unwrap();
}

#[tokio::test]
async fn an_mcp_write_is_visible_to_rest_at_once() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let client = ()
        .serve(StreamableHttpClientTransport::from_uri(
            server.url("/mcp/default"),
        ))
        .await
        .unwrap();
    let written = call(
        &client,
        "write_note",
        json!({"path": "Inbox/From agent.md", "content": "# From agent\nmarmoset\n"}),
    )
    .await;
    let hash = structured(&written)["hash"].as_str().unwrap().to_owned();
    let note = server
        .ok("/api/v1/vaults/default/notes/Inbox/From%20agent.md")
        .await;
    assert_eq!(note["hash"], json!(hash));
    let found = server.ok("/api/v1/vaults/default/search?q=marmoset").await;
    assert_eq!(found["items"][0]["path"], "Inbox/From agent.md");
    // A stale version is refused through MCP as through REST.
    let stale = call(
        &client,
        "write_note",
        json!({"path": "Inbox/From agent.md", "content": "x", "if_match": "0000"}),
    )
    .await;
    assert_eq!(stale.is_error, Some(true));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn mcp_can_require_an_api_key() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_weaver"))
        .args(["--json", "keys", "create"])
        .output()
        .unwrap();
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let config = sandbox.write(
        "weaver.toml",
        &format!(
            "[mcp]\napi_key_hashes = [\"{}\"]\n[vaults.default]\npath = \"{}\"\n",
            created["hash"].as_str().unwrap(),
            vault.display()
        ),
    );
    let server = Start::new(&["--config", config.to_str().unwrap()]).spawn();
    server.wait_ready().await;
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "probe", "version": "0"}}
    });
    let post = |key: Option<&str>| {
        let mut request = server
            .client
            .post(server.url("/mcp"))
            .header("Accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    let missing = post(None).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(post(Some("wvr_not-the-key")).await.unwrap().status(), 401);
    assert_eq!(post(Some(&key)).await.unwrap().status(), 200);
    // The REST API is not affected by the MCP key.
    server.ok("/api/v1/vaults/default/stats").await;
}
