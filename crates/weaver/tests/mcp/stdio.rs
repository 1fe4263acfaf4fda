//! The real `weaver mcp` binary over stdio, as a desktop agent starts it: the protocol owns
//! stdout, and the tools answer from the vault the process indexed itself.

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::json;

use crate::support::{TestVault, VAULT, call, failure, ok};

#[tokio::test]
async fn weaver_mcp_over_stdio_answers_from_the_vault() {
    let vault = TestVault::new(VAULT);
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_weaver"));
    command
        .arg("--vault")
        .arg(vault.dir.path())
        .arg("--no-cache")
        .args(["--log-level", "info", "mcp"])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::null());
    let transport = TokioChildProcess::new(command).unwrap();
    let client = ().serve(transport).await.unwrap();
    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "weaver");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 16);

    let stats = call(&client, "vault_stats", json!({})).await;
    assert_eq!(
        ok(&stats)["notes"],
        json!(vault.vault.snapshot().notes().len())
    );
    let read = call(&client, "read_note", json!({"note": "Projects/Plan.md"})).await;
    assert_eq!(ok(&read)["content"], json!(vault.read("Projects/Plan.md")));
    let missing = call(&client, "read_note", json!({"note": "Projets/Plan.md"})).await;
    let (code, message) = failure(&missing);
    assert_eq!(code, "note_not_found");
    assert!(message.contains("Projects/Plan.md"), "{message}");
    client.cancel().await.unwrap();
}
