//! `GET .../workflows`: the vault's workflow definitions, read at each request, with their
//! problems (`workflow_invalid`, file, line, column, field).

use crate::support::{Sandbox, Start};

const FIXTURE: &str = r#"
//- Welcome.md
# Welcome
//- .weaver/workflows/inbox.toml
name = "inbox"
[trigger]
on = ["created"]
path = "Inbox/**"
[[steps]]
set_frontmatter = { status = "inbox" }
[[steps]]
add_tags = ["inbox"]
//- .weaver/workflows/broken.toml
[trigger]
on = ["sometimes"]
[[steps]]
add_tags = ["x"]
"#;

#[tokio::test]
async fn the_vaults_workflows_are_listed_with_their_problems_as_they_are_now() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let list = server.ok("/api/v1/vaults/default/workflows").await;
    assert_eq!(list["workflows"][0]["name"], "inbox", "{list}");
    assert_eq!(list["workflows"][0]["on"][0], "created");
    assert_eq!(list["workflows"][0]["steps"][1], "add_tags");
    let error = &list["errors"][0];
    assert_eq!(error["code"], "workflow_invalid", "{list}");
    assert_eq!(error["file"], ".weaver/workflows/broken.toml");
    assert_eq!(error["field"], "trigger.on");
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(2), Some(7))
    );

    // Fixed on disk: the next request sees it, no restart.
    std::fs::write(
        vault.join(".weaver/workflows/broken.toml"),
        "[trigger]\non = [\"manual\"]\n[[steps]]\nadd_tags = [\"x\"]\n",
    )
    .unwrap();
    let list = server.ok("/api/v1/vaults/default/workflows").await;
    assert_eq!(list["errors"].as_array().unwrap().len(), 0, "{list}");
    assert_eq!(list["workflows"][0]["name"], "broken");

    let missing = server.get("/api/v1/vaults/nope/workflows").await;
    assert_eq!(missing.status(), 404);
}
