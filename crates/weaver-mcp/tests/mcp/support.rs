//! Shared helpers: fixture vaults, an MCP server and rmcp client joined by an in-memory pipe,
//! and accessors for tool results.

use std::sync::Arc;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use tempfile::TempDir;
use weaver_app::{Vault, VaultOptions};

use crate::mcp::{LocalBackend, McpOptions, McpServer, VaultBackend};

/// A connected client.
pub type Client = RunningService<RoleClient, ()>;

pub use weaver_testkit::write_fixture;

/// A small vault: links (resolved, unresolved, with headings), tags, aliases, frontmatter,
/// folders, an orphan, sections.
pub const VAULT: &str = r#"
    //- Home.md
    ---
    tags: [hub]
    status: active
    ---
    # Home

    Start at [[Projects/Plan]] and [[Ideas#Big one]]. See also [[Missing note]].
    - [ ] water the plants
    //- Projects/Plan.md
    ---
    title: The Plan
    aliases: [roadmap]
    tags: [project/active]
    ---
    # Plan

    Back to [[Home]]. Built on [[Research/Graphs]].

    ## Goals
    - ship the weaver #milestone
    - [x] write the parser

    ### Details
    Graph search and [[Ideas]].

    ## Risks
    Scope creep.
    //- Ideas.md
    # Ideas

    ## Big one
    A knowledge graph of everything. #idea #project/someday
    //- Research/Graphs.md
    # Graphs

    Breadth-first search finds shortest paths. Links to [[Nowhere]].
    //- Lonely.md
    # Lonely

    Nobody links here and it links nowhere.
"#;

/// A vault written to a temporary folder, opened with its cache in memory.
pub struct TestVault {
    pub dir: TempDir,
    pub vault: Arc<Vault>,
}

impl TestVault {
    pub fn new(fixture: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_fixture(dir.path(), fixture);
        Self::open(dir)
    }

    pub fn open(dir: TempDir) -> Self {
        let mut options = VaultOptions::new(dir.path());
        options.in_memory = true;
        let (vault, _) = Vault::open(&options, &|_| {}).unwrap();
        Self {
            dir,
            vault: Arc::new(vault),
        }
    }

    pub fn backend(&self) -> Arc<dyn VaultBackend> {
        Arc::new(LocalBackend::new("notes", Arc::clone(&self.vault)))
    }

    /// The bytes of a file of the vault, as text.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(path)).unwrap()
    }

    /// A client connected to a server over this vault.
    pub async fn client(&self, options: McpOptions) -> Client {
        connect(McpServer::single(self.backend(), options)).await
    }
}

/// Runs `server` on one end of an in-memory pipe and connects rmcp's client to the other, with
/// the `initialize` handshake.
pub async fn connect(server: McpServer) -> Client {
    let (server_end, client_end) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let running = server.serve(server_end).await.unwrap();
        running.waiting().await.unwrap();
    });
    ().serve(client_end).await.unwrap()
}

/// Calls a tool with JSON arguments.
pub async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let arguments = match arguments {
        Value::Object(map) => map,
        other => panic!("arguments must be an object, got {other}"),
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap()
}

/// The structured content of a successful call.
pub fn ok(result: &CallToolResult) -> &Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {}", text(result));
    result
        .structured_content
        .as_ref()
        .expect("structured content")
}

/// The text block of a result.
pub fn text(result: &CallToolResult) -> &str {
    result.content[0]
        .as_text()
        .expect("a text block")
        .text
        .as_str()
}

/// The stable code of a failed call (`[code] message`) and its message.
pub fn failure(result: &CallToolResult) -> (String, String) {
    assert_eq!(result.is_error, Some(true), "expected an error: {result:?}");
    assert!(
        result.structured_content.is_none(),
        "errors carry text only"
    );
    let text = text(result);
    let rest = text.strip_prefix('[').expect("[code] message");
    let (code, message) = rest.split_once("] ").expect("[code] message");
    (code.to_owned(), message.to_owned())
}

/// The `path` field of each item of a listing.
pub fn paths(listing: &Value, field: &str) -> Vec<String> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}
