//! The session: `initialize`, what `tools/list` shows agents (snapshot and size), read-only mode,
//! and a server that starts before its vault is open.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use weaver_app::VaultOptions;

use crate::mcp::{LocalBackend, McpOptions, McpServer};
use crate::support::{TestVault, VAULT, call, connect, failure, ok};

use weaver_api::mcp::{READ_TOOLS, WRITE_TOOLS};

#[tokio::test]
async fn initialize_announces_weaver_with_tools_resources_and_prompts() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "weaver");
    assert!(info.capabilities.tools.is_some());
    assert!(info.capabilities.resources.is_some());
    assert!(info.capabilities.prompts.is_some());
    assert!(info.instructions.as_ref().unwrap().contains("if_match"));
}

#[tokio::test]
async fn tools_list_is_small_and_every_tool_has_an_output_schema() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    // Every tool of the vocabulary, and nothing else (`tools/list` is sorted by name).
    let mut expected: Vec<&str> = READ_TOOLS
        .iter()
        .chain(WRITE_TOOLS.iter())
        .copied()
        .collect();
    expected.sort_unstable();
    assert_eq!(names, expected);
    for tool in &tools {
        assert!(
            tool.output_schema.is_some(),
            "{} has no output schema",
            tool.name
        );
        let description = tool.description.as_deref().unwrap_or_default();
        assert!(
            description.len() <= 200,
            "{}: description of {} bytes",
            tool.name,
            description.len()
        );
    }
    // What every agent session pays for: keep an eye on it. About bytes / 4 tokens.
    let bytes = serde_json::to_vec(&tools).unwrap().len();
    eprintln!("tools/list: {bytes} bytes, about {} tokens", bytes / 4);
    // 16 tools took 16 KiB; semantic search (two tools, a mode) and the workflow and history
    // tools to come take it to at most 24 KiB, about 6,000 tokens.
    assert!(bytes < 24 * 1024, "tools/list grew to {bytes} bytes");
    insta::assert_json_snapshot!("tools_list", tools);
}

#[tokio::test]
async fn read_only_hides_and_refuses_every_write_tool() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(true)).await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), READ_TOOLS.len());
    for tool in &tools {
        assert!(!WRITE_TOOLS.contains(&tool.name.as_ref()), "{}", tool.name);
        let hints = tool.annotations.as_ref().expect("annotations");
        assert_eq!(hints.read_only_hint, Some(true), "{}", tool.name);
    }
    let before = vault.read("Home.md");
    for (tool, args) in [
        ("write_note", json!({"path": "Home.md", "content": "gone"})),
        (
            "edit_note",
            json!({"path": "Home.md", "ops": [{"op": "append", "text": "x"}]}),
        ),
        ("move_note", json!({"from": "Home.md", "to": "Away.md"})),
        ("delete_note", json!({"path": "Home.md"})),
    ] {
        let result = call(&client, tool, args).await;
        let (code, message) = failure(&result);
        assert_eq!(code, "vault_read_only", "{tool}");
        assert!(message.contains(tool), "{message}");
    }
    assert_eq!(vault.read("Home.md"), before);
    // Reads still work.
    let stats = call(&client, "vault_stats", json!({})).await;
    assert_eq!(ok(&stats)["notes"], 5);
}

#[tokio::test]
async fn the_server_answers_before_the_vault_is_open() {
    let vault = TestVault::new(VAULT);
    let (backend, slot) = LocalBackend::opening("notes", Duration::ZERO);
    let client = connect(McpServer::single(Arc::new(backend), McpOptions::new(false))).await;
    assert_eq!(
        client.list_all_tools().await.unwrap().len(),
        READ_TOOLS.len() + WRITE_TOOLS.len()
    );
    let early = call(&client, "vault_stats", json!({})).await;
    let (code, message) = failure(&early);
    assert_eq!(code, "vault_not_ready");
    assert!(message.contains("`notes`"), "{message}");

    slot.set(Ok(Arc::clone(&vault.vault)));
    let ready = call(&client, "vault_stats", json!({})).await;
    assert_eq!(ok(&ready)["notes"], 5);
}

#[tokio::test]
async fn a_call_waits_for_a_vault_that_opens_meanwhile() {
    let vault = TestVault::new(VAULT);
    let (backend, slot) = LocalBackend::opening("notes", Duration::from_secs(60));
    let client = connect(McpServer::single(Arc::new(backend), McpOptions::new(false))).await;
    let pending = tokio::spawn(async move { call(&client, "vault_stats", json!({})).await });
    // The call is in flight (or about to be) while the vault "finishes opening".
    tokio::task::yield_now().await;
    slot.set(Ok(Arc::clone(&vault.vault)));
    let result = pending.await.unwrap();
    assert_eq!(ok(&result)["notes"], 5);
}

#[tokio::test]
async fn a_vault_that_fails_to_open_answers_with_the_open_error() {
    let (backend, slot) = LocalBackend::opening("notes", Duration::from_secs(60));
    let client = connect(McpServer::single(Arc::new(backend), McpOptions::new(false))).await;
    let missing = VaultOptions::new("/definitely/not/here");
    slot.set(weaver_app::Vault::open(&missing, &|_| {}).map(|(v, _)| Arc::new(v)));
    let result = call(&client, "list_notes", json!({})).await;
    let (code, message) = failure(&result);
    assert_eq!(code, "vault_not_found");
    // No server path in a client's message (the server's log has it).
    assert_eq!(message, "the vault's folder does not exist");

    let (backend, slot) = LocalBackend::opening("notes", Duration::from_secs(60));
    let client = connect(McpServer::single(Arc::new(backend), McpOptions::new(false))).await;
    drop(slot);
    let result = call(&client, "list_notes", json!({})).await;
    assert_eq!(failure(&result).0, "vault_unavailable");
}
