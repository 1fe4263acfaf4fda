//! The prompts: a note with its backlinks, and the connection between two notes.

use rmcp::model::{GetPromptRequestParams, Role};
use serde_json::json;

use crate::mcp::McpOptions;
use crate::support::{Client, TestVault, VAULT};

async fn prompt(client: &Client, name: &str, arguments: serde_json::Value) -> String {
    let arguments = arguments.as_object().unwrap().clone();
    let result = client
        .get_prompt(GetPromptRequestParams::new(name).with_arguments(arguments))
        .await
        .unwrap();
    assert_eq!(result.messages.len(), 1);
    assert_eq!(result.messages[0].role, Role::User);
    result.messages[0].content.as_text().unwrap().text.clone()
}

#[tokio::test]
async fn prompts_are_listed_with_their_arguments() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(true)).await;
    let prompts = client.list_all_prompts().await.unwrap();
    let listed: Vec<(&str, Vec<&str>)> = prompts
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.arguments
                    .iter()
                    .flatten()
                    .map(|a| a.name.as_str())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("summarize_note", vec!["note"]),
            ("connect_notes", vec!["from", "to"])
        ]
    );
}

#[tokio::test]
async fn summarize_note_carries_the_note_and_its_backlinks() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(true)).await;
    let text = prompt(&client, "summarize_note", json!({"note": "Ideas"})).await;
    assert!(text.starts_with("Summarize the note `Ideas.md`"), "{text}");
    assert!(text.contains(&vault.read("Ideas.md")), "{text}");
    assert!(text.contains("Notes linking to it (2):"), "{text}");
    assert!(
        text.contains("- Projects/Plan.md:15: Graph search and [[Ideas]]."),
        "{text}"
    );
}

#[tokio::test]
async fn connect_notes_gives_the_path_and_shared_neighbours() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(true)).await;
    let text = prompt(
        &client,
        "connect_notes",
        json!({"from": "Home", "to": "Research/Graphs"}),
    )
    .await;
    assert!(
        text.contains(
            "Shortest link path (2 hops): Home.md -> Projects/Plan.md -> Research/Graphs.md"
        ),
        "{text}"
    );
    assert!(
        text.contains("Shared neighbours (notes linked with both):\n- Projects/Plan.md"),
        "{text}"
    );

    let apart = prompt(
        &client,
        "connect_notes",
        json!({"from": "Home", "to": "Lonely"}),
    )
    .await;
    assert!(apart.contains("not connected"), "{apart}");
    assert!(apart.contains("No shared neighbours."), "{apart}");
}

#[tokio::test]
async fn prompt_errors_name_the_problem() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(true)).await;
    let missing = client
        .get_prompt(GetPromptRequestParams::new("summarize_note"))
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("missing argument `note`"), "{missing}");
    let unknown = client
        .get_prompt(
            GetPromptRequestParams::new("summarize_note")
                .with_arguments(json!({"note": "Nope"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("note not found: `Nope`"), "{unknown}");
}
