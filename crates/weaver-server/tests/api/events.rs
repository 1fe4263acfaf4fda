//! Server-Sent Events: changes made to the files outside Weaver reach subscribers.

use serde_json::json;

use crate::support::{Sandbox, SseReader, Start, VAULT};

#[tokio::test]
async fn external_changes_arrive_as_events() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let mut events = SseReader::open(&server, "/api/v1/vaults/default/events").await;

    // Already ready on connect: `index.ready` comes first.
    let first = events.next().await.unwrap();
    assert_eq!(first.name, "index.ready");
    assert_eq!(
        first.data,
        json!({"vault": "default", "notes": 5, "attachments": 1})
    );

    std::fs::write(vault.join("New.md"), "# New\nLinks to [[Home]].\n").unwrap();
    let created = events.next_named("note.created").await;
    assert_eq!(created.data["vault"], "default");
    assert_eq!(created.data["path"], "New.md");
    let hash = created.data["hash"].as_str().unwrap().to_owned();
    // The event's hash is the note's ETag, and the note is queryable now.
    let response = server.get("/api/v1/vaults/default/notes/New.md").await;
    assert_eq!(
        response.headers()["etag"].to_str().unwrap(),
        format!("\"{hash}\"")
    );

    std::fs::write(vault.join("New.md"), "# New\nChanged.\n").unwrap();
    let updated = events.next_named("note.updated").await;
    assert_eq!(updated.data["path"], "New.md");
    assert_ne!(updated.data["hash"].as_str().unwrap(), hash);

    std::fs::remove_file(vault.join("New.md")).unwrap();
    let deleted = events.next_named("note.deleted").await;
    assert_eq!(deleted.data, json!({"vault": "default", "path": "New.md"}));

    std::fs::write(vault.join("photo.jpg"), "jpeg").unwrap();
    let file = events.next_named("file.created").await;
    assert_eq!(file.data, json!({"vault": "default", "path": "photo.jpg"}));

    server
        .error("/api/v1/vaults/other/events", 404, "vault_not_found")
        .await;
}
