//! Streamable HTTP: the router nested at `/mcp` on a real listener, rmcp's HTTP client with the
//! `initialize` handshake and with the stateless `2026-07-28` lifecycle, vault selection by
//! path, and the `Host`/`Origin` checks against DNS rebinding.

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::ProtocolVersion;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientLifecycleMode, ClientServiceExt, ServiceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::mcp::{
    HttpOptions, LocalBackend, McpOptions, ToolError, VaultBackend, VaultDirectory, http_service,
};
use crate::support::{TestVault, VAULT, call, failure, ok, write_fixture};
use weaver_api::Code;

/// Vaults by name; `notes` is the default.
struct Directory(HashMap<String, Arc<dyn VaultBackend>>);

impl VaultDirectory for Directory {
    fn backend(&self, name: Option<&str>) -> Result<Arc<dyn VaultBackend>, ToolError> {
        let name = name.unwrap_or("notes");
        self.0.get(name).cloned().ok_or_else(|| {
            ToolError::new(Code::VaultNotFound, format!("vault not found: `{name}`"))
        })
    }
}

struct Server {
    base: String,
    shutdown: CancellationToken,
    _vaults: (TestVault, TestVault),
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn start(configure: impl FnOnce(&mut HttpOptions)) -> Server {
    let notes = TestVault::new(VAULT);
    let other_dir = tempfile::tempdir().unwrap();
    write_fixture(other_dir.path(), "//- Elsewhere.md\n# Elsewhere\n");
    let other = TestVault::open(other_dir);
    let directory = Directory(HashMap::from([
        (
            "notes".to_owned(),
            Arc::new(LocalBackend::new("notes", Arc::clone(&notes.vault))) as Arc<dyn VaultBackend>,
        ),
        (
            "other".to_owned(),
            Arc::new(LocalBackend::new("other", Arc::clone(&other.vault))) as Arc<dyn VaultBackend>,
        ),
    ]));
    let shutdown = CancellationToken::new();
    let mut http = HttpOptions::loopback(shutdown.clone());
    configure(&mut http);
    let app = axum::Router::new().nest(
        "/mcp",
        http_service::<()>(Arc::new(directory), McpOptions::new(false), http),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
            .unwrap();
    });
    Server {
        base: format!("http://{address}"),
        shutdown,
        _vaults: (notes, other),
    }
}

#[tokio::test]
async fn a_client_initializes_lists_tools_and_calls_them_over_http() {
    let server = start(|_| {}).await;
    let transport = StreamableHttpClientTransport::from_uri(format!("{}/mcp", server.base));
    let client = ().serve(transport).await.unwrap();
    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "weaver");
    assert_eq!(
        client.list_all_tools().await.unwrap().len(),
        weaver_api::mcp::READ_TOOLS.len() + weaver_api::mcp::WRITE_TOOLS.len()
    );

    let read = call(&client, "read_note", json!({"note": "Home"})).await;
    assert_eq!(ok(&read)["path"], "Home.md");
    assert!(
        ok(&read)["content"]
            .as_str()
            .unwrap()
            .contains("[[Projects/Plan]]")
    );
    let missing = call(&client, "read_note", json!({"note": "Projets/Plan"})).await;
    assert_eq!(failure(&missing).0, "note_not_found");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn stateless_clients_reach_named_vaults_by_path() {
    let server = start(|_| {}).await;
    let transport = StreamableHttpClientTransport::from_uri(format!("{}/mcp/other", server.base));
    let client = ()
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2026_07_28
    );
    let stats = call(&client, "vault_stats", json!({})).await;
    assert_eq!(ok(&stats)["vault"], "other");
    assert_eq!(ok(&stats)["notes"], 1);
    client.cancel().await.unwrap();

    let transport = StreamableHttpClientTransport::from_uri(format!("{}/mcp/nope", server.base));
    let client = ().serve(transport).await.unwrap();
    let result = call(&client, "vault_stats", json!({})).await;
    let (code, message) = failure(&result);
    assert_eq!(code, "vault_not_found");
    assert!(message.contains("`nope`"), "{message}");
    client.cancel().await.unwrap();
}

/// Posts an `initialize` request with the given extra headers and returns the status.
async fn initialize_status(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"}
        }
    });
    request.json(&body).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let server = start(|_| {}).await;
    let url = format!("{}/mcp", server.base);
    assert_eq!(initialize_status(&url, &[]).await, 200);
    assert_eq!(
        initialize_status(&url, &[("Host", "evil.example")]).await,
        403
    );

    let server = start(|http| {
        http.allowed_hosts = vec!["weaver.example.com".into()];
        http.allowed_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let url = format!("{}/mcp", server.base);
    assert_eq!(
        initialize_status(&url, &[("Host", "weaver.example.com")]).await,
        200
    );
    assert_eq!(
        initialize_status(&url, &[]).await,
        403,
        "loopback is not listed"
    );
    assert_eq!(
        initialize_status(
            &url,
            &[
                ("Host", "weaver.example.com"),
                ("Origin", "https://app.example.com")
            ]
        )
        .await,
        200
    );
    assert_eq!(
        initialize_status(
            &url,
            &[
                ("Host", "weaver.example.com"),
                ("Origin", "https://evil.example")
            ]
        )
        .await,
        403
    );
}
