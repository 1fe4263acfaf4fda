//! The write tools: what lands on disk, and the refusals (stale versions, existing notes, paths
//! out of the vault, edits that miss their target).

use serde_json::json;

use crate::mcp::McpOptions;
use crate::support::{TestVault, VAULT, call, failure, ok, text};

#[tokio::test]
async fn write_note_creates_replaces_and_guards_versions() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;

    let created = call(
        &client,
        "write_note",
        json!({"path": "Inbox/New.md", "content": "# New\nSee [[Home]].\n", "create_only": true}),
    )
    .await;
    let created = ok(&created).clone();
    assert_eq!(created["created"], true);
    assert_eq!(vault.read("Inbox/New.md"), "# New\nSee [[Home]].\n");
    assert_eq!(
        created["hash"],
        weaver_core::content_hash(b"# New\nSee [[Home]].\n").as_str()
    );
    // The index follows the write: the new note links to Home.
    let backlinks = call(&client, "get_backlinks", json!({"note": "Home"})).await;
    assert_eq!(ok(&backlinks)["total"], 2);

    let again = call(
        &client,
        "write_note",
        json!({"path": "Inbox/New.md", "content": "x", "create_only": true}),
    )
    .await;
    assert_eq!(failure(&again).0, "note_already_exists");

    let replaced = call(
        &client,
        "write_note",
        json!({"path": "Inbox/New.md", "content": "# New\nv2\n", "if_match": created["hash"]}),
    )
    .await;
    assert_eq!(ok(&replaced)["created"], false);
    assert_eq!(vault.read("Inbox/New.md"), "# New\nv2\n");

    // The first hash is stale now.
    let stale = call(
        &client,
        "write_note",
        json!({"path": "Inbox/New.md", "content": "lost update", "if_match": created["hash"]}),
    )
    .await;
    let (code, message) = failure(&stale);
    assert_eq!(code, "conflict");
    assert!(message.contains("Inbox/New.md"), "{message}");
    assert_eq!(vault.read("Inbox/New.md"), "# New\nv2\n");

    let both = call(
        &client,
        "write_note",
        json!({"path": "x.md", "content": "x", "if_match": "abc", "create_only": true}),
    )
    .await;
    assert_eq!(failure(&both).0, "invalid_argument");
}

#[tokio::test]
async fn paths_that_leave_the_vault_or_are_not_notes_are_refused() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    let escape = call(
        &client,
        "write_note",
        json!({"path": "../x.md", "content": "out"}),
    )
    .await;
    let (code, message) = failure(&escape);
    assert_eq!(code, "path_escapes_vault");
    assert!(message.contains("`../x.md`"), "{message}");
    assert!(!vault.dir.path().parent().unwrap().join("x.md").exists());

    let hidden = call(
        &client,
        "write_note",
        json!({"path": ".obsidian/x.md", "content": "x"}),
    )
    .await;
    assert_eq!(failure(&hidden).0, "path_reserved");
    let image = call(
        &client,
        "write_note",
        json!({"path": "a.png", "content": "x"}),
    )
    .await;
    assert_eq!(failure(&image).0, "not_a_note");
}

#[tokio::test]
async fn edit_note_applies_operations_and_refuses_stale_versions() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    let read = call(&client, "read_note", json!({"note": "Projects/Plan.md"})).await;
    let hash = ok(&read)["hash"].clone();

    let edited = call(
        &client,
        "edit_note",
        json!({
            "path": "Projects/Plan.md",
            "if_match": hash,
            "ops": [
                {"op": "append_to_section", "heading": "Goals", "text": "- [ ] test it"},
                {"op": "set_frontmatter", "key": "status", "value": "draft"},
                {"op": "find_replace", "find": "Scope creep.", "replace": "Scope creep and delays.", "expected": 1},
            ],
        }),
    )
    .await;
    let edited = ok(&edited).clone();
    let on_disk = vault.read("Projects/Plan.md");
    assert!(on_disk.contains("### Details\nGraph search and [[Ideas]].\n- [ ] test it\n"));
    assert!(on_disk.contains("status: draft\n"));
    assert!(on_disk.contains("Scope creep and delays."));
    assert_eq!(
        edited["hash"],
        weaver_core::content_hash(on_disk.as_bytes()).as_str()
    );

    let stale = call(
        &client,
        "edit_note",
        json!({"path": "Projects/Plan.md", "if_match": hash, "ops": [{"op": "append", "text": "x"}]}),
    )
    .await;
    assert_eq!(failure(&stale).0, "conflict");

    let missing = call(
        &client,
        "edit_note",
        json!({"path": "Projects/Plan.md", "ops": [{"op": "replace_section", "heading": "Budget", "text": "x"}]}),
    )
    .await;
    let (code, message) = failure(&missing);
    assert_eq!(code, "heading_not_found");
    assert!(message.contains("`## Goals`"), "{message}");
    assert_eq!(vault.read("Projects/Plan.md"), on_disk);

    let none = call(
        &client,
        "edit_note",
        json!({"path": "Projects/Plan.md", "ops": []}),
    )
    .await;
    assert_eq!(failure(&none).0, "invalid_argument");
    let unknown_op = call(
        &client,
        "edit_note",
        json!({"path": "Projects/Plan.md", "ops": [{"op": "explode"}]}),
    )
    .await;
    assert_eq!(failure(&unknown_op).0, "invalid_argument");
}

#[tokio::test]
async fn move_note_rewrites_links_and_delete_note_uses_the_trash() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    let moved = call(
        &client,
        "move_note",
        json!({"from": "Research/Graphs.md", "to": "Archive/Graph theory.md"}),
    )
    .await;
    let moved_out = ok(&moved);
    assert_eq!(
        moved_out["moved"],
        json!([{"from": "Research/Graphs.md", "to": "Archive/Graph theory.md"}])
    );
    assert_eq!(
        moved_out["rewritten"],
        json!([{"path": "Projects/Plan.md", "links": 1}])
    );
    assert_eq!(moved_out["links_rewritten"], 1);
    assert!(text(&moved).starts_with("Moved 1 file; rewrote 1 link in 1 note"));
    assert!(
        vault
            .read("Projects/Plan.md")
            .contains("[[Archive/Graph theory]]")
    );
    assert!(!vault.dir.path().join("Research/Graphs.md").exists());

    let onto = call(
        &client,
        "move_note",
        json!({"from": "Home.md", "to": "Projects/Plan.md"}),
    )
    .await;
    assert_eq!(failure(&onto).0, "destination_exists");

    let deleted = call(&client, "delete_note", json!({"path": "Lonely.md"})).await;
    assert_eq!(
        ok(&deleted),
        &json!({"path": "Lonely.md", "trashed_to": ".trash/Lonely.md"})
    );
    assert!(!vault.dir.path().join("Lonely.md").exists());
    assert!(vault.dir.path().join(".trash/Lonely.md").exists());
    let gone = call(&client, "read_note", json!({"note": "Lonely"})).await;
    assert_eq!(failure(&gone).0, "note_not_found");

    let stale = call(
        &client,
        "delete_note",
        json!({"path": "Ideas.md", "if_match": "0000", "permanent": true}),
    )
    .await;
    assert_eq!(failure(&stale).0, "conflict");
    assert!(vault.dir.path().join("Ideas.md").exists());
    let permanent = call(
        &client,
        "delete_note",
        json!({"path": "Ideas.md", "permanent": true}),
    )
    .await;
    assert!(ok(&permanent).get("trashed_to").is_none());
    assert!(!vault.dir.path().join(".trash/Ideas.md").exists());
}
