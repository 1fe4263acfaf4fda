//! Notes as resources: the URI template, the paged list and reads.

use rmcp::model::{PaginatedRequestParams, ReadResourceRequestParams, ResourceContents};

use crate::mcp::McpOptions;
use crate::support::{TestVault, VAULT};

#[tokio::test]
async fn notes_are_resources_under_a_uri_template() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(true)).await;
    let templates = client.list_all_resource_templates().await.unwrap();
    assert_eq!(templates.len(), 1);
    assert_eq!(templates[0].uri_template, "weaver://{vault}/note/{path}");
    assert_eq!(templates[0].mime_type.as_deref(), Some("text/markdown"));

    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "weaver://notes/note/Home.md",
            "weaver://notes/note/Ideas.md",
            "weaver://notes/note/Lonely.md",
            "weaver://notes/note/Projects/Plan.md",
            "weaver://notes/note/Research/Graphs.md",
        ]
    );
    assert_eq!(resources[3].title.as_deref(), Some("The Plan"));

    let read = client
        .read_resource(ReadResourceRequestParams::new(
            "weaver://notes/note/Projects/Plan.md",
        ))
        .await
        .unwrap();
    let [
        ResourceContents::TextResourceContents {
            text, mime_type, ..
        },
    ] = read.contents.as_slice()
    else {
        panic!("one text resource: {read:?}");
    };
    assert_eq!(text, &vault.read("Projects/Plan.md"));
    assert_eq!(mime_type.as_deref(), Some("text/markdown"));

    let missing = client
        .read_resource(ReadResourceRequestParams::new(
            "weaver://notes/note/Projets/Plan.md",
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("did you mean one of `Projects/Plan.md`"),
        "{missing}"
    );
    let other_vault = client
        .read_resource(ReadResourceRequestParams::new(
            "weaver://other/note/Home.md",
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        other_vault.contains("is in the vault `other`; this endpoint serves the vault `notes`"),
        "{other_vault}"
    );
}

#[tokio::test]
async fn the_resource_list_is_paged_with_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..150 {
        std::fs::write(dir.path().join(format!("n{i:03} x.md")), "body\n").unwrap();
    }
    let vault = TestVault::open(dir);
    let client = vault.client(McpOptions::new(true)).await;
    let first = client
        .list_resources(Some(PaginatedRequestParams::default()))
        .await
        .unwrap();
    assert_eq!(first.resources.len(), 100);
    assert_eq!(first.resources[0].uri, "weaver://notes/note/n000%20x.md");
    let cursor = first.next_cursor.clone().expect("a second page");
    let second = client
        .list_resources(Some(
            PaginatedRequestParams::default().with_cursor(Some(cursor)),
        ))
        .await
        .unwrap();
    assert_eq!(second.resources.len(), 50);
    assert_eq!(second.resources[0].name, "n100 x.md");
    assert!(second.next_cursor.is_none());
    // The list's URIs read back.
    let read = client
        .read_resource(ReadResourceRequestParams::new(
            second.resources[0].uri.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(read.contents.len(), 1);
}
