//! The write side of the REST API over real HTTP: conditional writes, races, patches, moves,
//! deletes, path safety, body limits and the events they publish.

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::header::{CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::support::{Sandbox, Server, SseReader, Start};

const NOTES: &str = "/api/v1/vaults/default/notes";

const FIXTURE: &str = "
//- Projects/Plan.md
---
# kept comment
status: draft
---
# Plan
## Goals
Old goals.
### Detail
Detail.
## Later
Later.
//- Daily/2024-01-01.md
Worked on [[Plan]] and [[Plan#Goals|the goals]]; see [md](../Projects/Plan.md).
//- Index.md
- [[Plan|the plan]]
- [[Daily/2024-01-01]]
";

async fn start() -> (Sandbox, Server, std::path::PathBuf) {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    (sandbox, server, vault)
}

async fn etag(server: &Server, path: &str) -> String {
    let response = server.get(&format!("{NOTES}/{path}")).await;
    assert_eq!(response.status(), 200);
    response.headers()[ETAG].to_str().unwrap().to_owned()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn markdown(server: &Server, path: &str, body: &str) -> reqwest::RequestBuilder {
    server
        .client
        .put(server.url(&format!("{NOTES}/{path}")))
        .header(CONTENT_TYPE, "text/markdown")
        .body(body.to_owned())
}

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn put_creates_replaces_and_needs_a_version() {
    let (_s, server, vault) = start().await;
    let (status, body) = send(markdown(&server, "New.md", "# New\nnarwhal\n")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["created"], true);
    // A read after the write sees it, search included.
    let found = server.ok("/api/v1/vaults/default/search?q=narwhal").await;
    assert_eq!(found["items"][0]["path"], "New.md", "{found}");

    // Replacing without If-Match: 428.
    let (status, body) = send(markdown(&server, "New.md", "blind")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (428, Some("precondition_required"))
    );
    // Create-only on an existing note: 412.
    let (status, body) = send(markdown(&server, "New.md", "x").header(IF_NONE_MATCH, "*")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (412, Some("note_already_exists"))
    );
    // Stale version: 412.
    let (status, body) = send(markdown(&server, "New.md", "x").header(IF_MATCH, "\"0000\"")).await;
    assert_eq!((status, body["code"].as_str()), (412, Some("conflict")));
    // Current version: replaced, with the new ETag.
    let tag = etag(&server, "New.md").await;
    let response = markdown(&server, "New.md", "# New\nbeluga\n")
        .header(IF_MATCH, &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let new_tag = response.headers()[ETAG].to_str().unwrap().to_owned();
    assert_ne!(new_tag, tag);
    assert_eq!(etag(&server, "New.md").await, new_tag);
    assert_eq!(
        std::fs::read_to_string(vault.join("New.md")).unwrap(),
        "# New\nbeluga\n"
    );
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("weaver_write_conflicts_total") && l.contains("default")),
        "{metrics}"
    );
}

#[tokio::test]
async fn concurrent_writers_one_winner_per_version() {
    let (_s, server, vault) = start().await;
    let tag = etag(&server, "Index.md").await;
    let attempts = (0..8).map(|i| {
        let request =
            markdown(&server, "Index.md", &format!("writer {i}\n")).header(IF_MATCH, &tag);
        async move { send(request).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
    let losers = results
        .iter()
        .filter(|(s, b)| *s == 412 && b["code"] == "conflict")
        .count();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert_eq!(losers, 7, "{results:?}");
    let content = std::fs::read_to_string(vault.join("Index.md")).unwrap();
    assert!(content.starts_with("writer "), "{content}");
    assert_eq!(
        format!("\"{}\"", winners[0].1["hash"].as_str().unwrap()),
        etag(&server, "Index.md").await
    );
}

#[tokio::test]
async fn an_external_edit_during_editing_is_a_412() {
    let (_s, server, vault) = start().await;
    let tag = etag(&server, "Projects/Plan.md").await;
    // Obsidian saves the note after the agent read it.
    let edited =
        std::fs::read_to_string(vault.join("Projects/Plan.md")).unwrap() + "Typed in Obsidian.\n";
    std::fs::write(vault.join("Projects/Plan.md"), &edited).unwrap();
    let (status, body) = send(
        server
            .client
            .patch(server.url(&format!("{NOTES}/Projects/Plan.md")))
            .header(IF_MATCH, &tag)
            .json(&json!({"operations": [{"op": "append", "text": "From the agent."}]})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (412, Some("conflict")),
        "{body}"
    );
    assert_eq!(
        std::fs::read_to_string(vault.join("Projects/Plan.md")).unwrap(),
        edited
    );
}

#[tokio::test]
async fn patch_operations() {
    let (_s, server, vault) = start().await;
    let url = server.url(&format!("{NOTES}/Projects/Plan.md"));
    let (status, body) = send(server.client.patch(&url).json(&json!({"operations": [
        {"op": "replace_section", "heading": "Goals", "text": "New goals.\n"},
        {"op": "set_frontmatter", "key": "status", "value": "active"},
        {"op": "find_replace", "find": "Later.", "replace": "Soon.", "expected": 1},
    ]})))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        std::fs::read_to_string(vault.join("Projects/Plan.md")).unwrap(),
        "---\n# kept comment\nstatus: active\n---\n# Plan\n## Goals\nNew goals.\n## Later\nSoon.\n"
    );
    let note = server.ok(&format!("{NOTES}/Projects/Plan.md")).await;
    assert_eq!(note["frontmatter"]["status"], "active");
    for (ops, code) in [
        (
            json!([{"op": "append_to_section", "heading": "Nope", "text": "x"}]),
            "heading_not_found",
        ),
        (
            json!([{"op": "find_replace", "find": "zzz", "replace": "y", "expected": 1}]),
            "match_count_mismatch",
        ),
        (
            json!([{"op": "delete_frontmatter", "key": "absent"}]),
            "frontmatter_key_not_found",
        ),
    ] {
        let (status, body) =
            send(server.client.patch(&url).json(&json!({"operations": ops}))).await;
        assert_eq!((status, body["code"].as_str()), (422, Some(code)), "{body}");
    }
    let (status, body) = send(
        server
            .client
            .patch(&url)
            .json(&json!({"operations": [{"op": "explode"}]})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument")),
        "{body}"
    );
    let (status, body) = send(server.client.patch(&url).body("{}")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{body}"
    );
    let (status, _) = send(
        server
            .client
            .patch(server.url(&format!("{NOTES}/Missing.md")))
            .json(&json!({"operations": [{"op": "append", "text": "x"}]})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn move_rewrites_links_and_round_trips() {
    let (_s, server, vault) = start().await;
    let before = tree(&vault);
    let (status, body) = send(
        server
            .client
            .post(server.url(&format!("{NOTES}/Projects/Plan.md/move")))
            .json(&json!({"to": "Archive/Roadmap.md"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["moved"],
        json!([{"from": "Projects/Plan.md", "to": "Archive/Roadmap.md"}])
    );
    assert_eq!(
        std::fs::read_to_string(vault.join("Daily/2024-01-01.md")).unwrap(),
        "Worked on [[Roadmap]] and [[Roadmap#Goals|the goals]]; see [md](../Archive/Roadmap.md).\n"
    );
    let unresolved = server.ok("/api/v1/vaults/default/unresolved").await;
    assert_eq!(unresolved["total"], 0);
    let backlinks = server
        .ok(&format!("{NOTES}/Archive/Roadmap.md/backlinks"))
        .await;
    assert_eq!(backlinks["total"], 4);
    let (status, _) = send(
        server
            .client
            .post(server.url(&format!("{NOTES}/Archive/Roadmap.md/move")))
            .json(&json!({"to": "Projects/Plan.md"})),
    )
    .await;
    assert_eq!(status, 200);
    let _ = std::fs::remove_dir(vault.join("Archive"));
    assert_eq!(tree(&vault), before);
    let (status, body) = send(
        server
            .client
            .post(server.url(&format!("{NOTES}/Index.md/move")))
            .json(&json!({"to": "Projects/Plan.md"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("destination_exists"))
    );
}

#[tokio::test]
async fn delete_goes_to_trash_and_publishes_events() {
    let (_s, server, vault) = start().await;
    let mut events = SseReader::open(&server, "/api/v1/vaults/default/events").await;
    events.next_named("index.ready").await;
    let (status, _) = send(markdown(&server, "Temp.md", "temporary\n")).await;
    assert_eq!(status, 201);
    let created = events.next_named("note.created").await;
    assert_eq!(created.data["path"], "Temp.md");
    let (status, body) = send(
        server
            .client
            .delete(server.url(&format!("{NOTES}/Temp.md"))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["trashed_to"], ".trash/Temp.md");
    assert!(vault.join(".trash/Temp.md").exists());
    let deleted = events.next_named("note.deleted").await;
    assert_eq!(deleted.data["path"], "Temp.md");
    let (status, _) = send(
        server
            .client
            .delete(server.url(&format!("{NOTES}/Index.md?permanent=true"))),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!vault.join("Index.md").exists());
    server
        .error(&format!("{NOTES}/Index.md"), 404, "note_not_found")
        .await;
}

#[tokio::test]
async fn bad_paths_and_bodies_are_refused_without_writing() {
    let (_s, server, vault) = start().await;
    let before = tree(&vault);
    for (path, code) in [
        ("..%2Fescape.md", "path_escapes_vault"),
        ("a/..%2F..%2Fescape.md", "path_escapes_vault"),
        ("%2Fetc%2Fpasswd.md", "path_absolute"),
        ("C:%5Cx.md", "path_absolute"),
        ("bad%00name.md", "path_control_character"),
        (".obsidian/app.md", "path_reserved"),
        (".git/config.md", "path_reserved"),
        ("image.png", "not_a_note"),
    ] {
        let (status, body) = send(markdown(&server, path, "x")).await;
        assert_eq!(body["code"].as_str(), Some(code), "{path}: {status} {body}");
        assert_eq!(status, 400, "{path}");
    }
    let (status, body) = send(
        server
            .client
            .put(server.url(&format!("{NOTES}/Bytes.md")))
            .header(CONTENT_TYPE, "text/markdown")
            .body(vec![0x63, 0x61, 0x66, 0xe9]),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_content"))
    );
    let (status, body) = send(
        server
            .client
            .put(server.url(&format!("{NOTES}/Json.md")))
            .header(CONTENT_TYPE, "application/json")
            .body("{}"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    assert_eq!(tree(&vault), before);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    let server = Start::vault(&vault)
        .env("WEAVER__SERVER__MAX_BODY_BYTES", "1024")
        .spawn();
    server.wait_ready().await;
    let (status, body) = send(markdown(&server, "Big.md", &"x".repeat(2048))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("body_too_large")),
        "{body}"
    );
    assert!(!vault.join("Big.md").exists());
    let (status, _) = send(markdown(&server, "Small.md", &"x".repeat(512))).await;
    assert_eq!(status, 201);
}
