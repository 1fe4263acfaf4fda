//! Roles: a `read` identity can neither call write endpoints nor write tools (and nothing is
//! written), a `write` identity writes over REST and MCP, and permanent deletes need `admin`.

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::Method;
use serde_json::json;

use crate::gateway::stack::{Stack, call, key, notes, ok, send};

/// Every file below `root` (dot-folders included) with its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            // The cache is the server's own business.
            if name == ".weaver" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry.path().strip_prefix(root).unwrap().to_owned();
                out.insert(
                    rel.to_string_lossy().into_owned(),
                    std::fs::read(entry.path()).unwrap(),
                );
            }
        }
    }
    out
}

#[tokio::test]
async fn a_read_only_key_cannot_write_over_rest() {
    let stack = Stack::start().await;
    let vault = stack.vault("default");
    let before = tree(&vault);
    let reader = key("reader");
    for (method, path, body) in [
        (Method::PUT, notes("Home.md"), "# Replaced\n".to_owned()),
        (Method::PUT, notes("New.md"), "# New\n".to_owned()),
        (
            Method::PATCH,
            notes("Home.md"),
            json!({"operations": [{"op": "append", "text": "x"}]}).to_string(),
        ),
        (Method::DELETE, notes("Lonely.md"), String::new()),
        (
            Method::DELETE,
            format!("{}?permanent=true", notes("Lonely.md")),
            String::new(),
        ),
        (
            Method::POST,
            notes("Ideas.md/move"),
            json!({"to": "Moved.md"}).to_string(),
        ),
    ] {
        let reply = send(
            stack
                .request(method.clone(), &path, Some(&reader))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(
            (reply.status, reply.code()),
            (403, "forbidden"),
            "{method} {path}: {reply:?}"
        );
    }
    assert_eq!(tree(&vault), before, "nothing changed on disk");
    // Reading still works.
    stack
        .get_as("reader", &notes("Home.md"))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_read_only_key_cannot_call_write_tools() {
    let stack = Stack::start().await;
    let vault = stack.vault("default");
    let before = tree(&vault);
    let reader = key("reader");
    for (tool, arguments) in [
        (
            "write_note",
            json!({"path": "New.md", "content": "# New\n"}),
        ),
        (
            "edit_note",
            json!({"path": "Home.md", "ops": [{"op": "append", "text": "x"}]}),
        ),
        ("move_note", json!({"from": "Ideas.md", "to": "Moved.md"})),
        ("delete_note", json!({"path": "Lonely.md"})),
        // A tool the gateway does not know counts as a write.
        ("some_future_tool", json!({})),
    ] {
        for path in ["/mcp", "/mcp/default"] {
            let reply = stack.call_raw(path, &reader, tool, arguments.clone()).await;
            assert_eq!(
                (reply.status, reply.code()),
                (403, "forbidden"),
                "{tool} at {path}: {reply:?}"
            );
        }
    }
    // A batch hiding a write among reads is refused whole.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
         "params": {"name": "read_note", "arguments": {"note": "Home"}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "write_note", "arguments": {"path": "B.md", "content": "b"}}},
    ]);
    let reply = send(
        stack
            .request(Method::POST, "/mcp", Some(&reader))
            .header("accept", "application/json, text/event-stream")
            .json(&batch),
    )
    .await;
    reply.assert_error(403, "forbidden");
    assert_eq!(tree(&vault), before, "nothing changed on disk");

    // The read tools work, through a real MCP client, and are all it is shown.
    let client = stack.mcp_client("/mcp", &reader).await;
    let tools: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    assert!(tools.iter().any(|t| t == "read_note"), "{tools:?}");
    assert!(!tools.iter().any(|t| t == "write_note"), "{tools:?}");
    let found = call(&client, "search_notes", json!({"query": "weaving"})).await;
    let paths: Vec<&str> = ok(&found)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["Ideas.md"]);
    let read = call(&client, "read_note", json!({"note": "Home"})).await;
    assert_eq!(ok(&read)["path"], "Home.md");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_write_key_writes_over_rest_and_mcp() {
    let stack = Stack::start().await;
    let vault = stack.vault("default");
    let reply = stack.put_note("writer", "Inbox/Rest.md", "# Rest\n").await;
    reply.assert_status(201);
    let reply = send(
        stack
            .request(Method::PATCH, &notes("Inbox/Rest.md"), Some(&key("writer")))
            .json(&json!({"operations": [{"op": "append", "text": "Appended."}]})),
    )
    .await;
    reply.assert_status(200);
    let text = std::fs::read_to_string(vault.join("Inbox/Rest.md")).unwrap();
    assert!(
        text.starts_with("# Rest\n") && text.contains("Appended."),
        "{text}"
    );

    let client = stack.mcp_client("/mcp/default", &key("writer")).await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "write_note"));
    let written = call(
        &client,
        "write_note",
        json!({"path": "Inbox/Mcp.md", "content": "# Mcp\n"}),
    )
    .await;
    assert_eq!(ok(&written)["path"], "Inbox/Mcp.md");
    assert_eq!(
        std::fs::read_to_string(vault.join("Inbox/Mcp.md")).unwrap(),
        "# Mcp\n"
    );
    let deleted = call(&client, "delete_note", json!({"path": "Inbox/Mcp.md"})).await;
    assert_eq!(ok(&deleted)["trashed_to"], ".trash/Inbox/Mcp.md");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn permanent_deletes_need_an_admin() {
    let stack = Stack::start().await;
    let vault = stack.vault("default");
    // REST: `write` may trash a note but not delete it for good.
    let permanently = |note: &str| format!("{}?permanent=true", notes(note));
    let reply = send(stack.request(
        Method::DELETE,
        &permanently("Lonely.md"),
        Some(&key("writer")),
    ))
    .await;
    reply.assert_error(403, "forbidden");
    assert!(vault.join("Lonely.md").exists());
    let reply = send(stack.request(
        Method::DELETE,
        &permanently("Lonely.md"),
        Some(&key("admin")),
    ))
    .await;
    reply.assert_status(200);
    assert!(!vault.join("Lonely.md").exists());
    assert!(!vault.join(".trash/Lonely.md").exists());

    // MCP: the same for `delete_note` with `permanent`.
    let reply = stack
        .call_raw(
            "/mcp",
            &key("writer"),
            "delete_note",
            json!({"path": "Ideas.md", "permanent": true}),
        )
        .await;
    reply.assert_error(403, "forbidden");
    assert!(vault.join("Ideas.md").exists());
    let client = stack.mcp_client("/mcp", &key("admin")).await;
    let deleted = call(
        &client,
        "delete_note",
        json!({"path": "Ideas.md", "permanent": true}),
    )
    .await;
    assert!(ok(&deleted).get("trashed_to").is_none());
    assert!(!vault.join("Ideas.md").exists());
    assert!(!vault.join(".trash/Ideas.md").exists());
    client.cancel().await.unwrap();
}
