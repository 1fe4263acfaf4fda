//! The HTTP contract at its edges, through the real binary: the configured body limit on every
//! body (REST and `/mcp`, reloadable) with JSON 413s, `ETag`s that are the hash of the bytes on
//! disk, bounded error messages, client mistakes as 4xx without server paths, methods that do
//! not fit a note URL, strict query numbers, the JSON-RPC errors of `/mcp`, and exact-case
//! note lookup.

use reqwest::header::{ACCEPT, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MATCH};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::support::{Sandbox, Server, Start};

const NOTES: &str = "/api/v1/vaults/default/notes";
const MIB: usize = 1024 * 1024;

const FIXTURE: &str = "
//- Plan.md
# Plan
## Goals
Old goals.
//- Index.md
- [[Plan]]
";

async fn send(request: reqwest::RequestBuilder) -> (u16, String, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, content_type, body)
}

fn put(server: &Server, path: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    server
        .client
        .put(server.url(&format!("{NOTES}/{path}")))
        .header(CONTENT_TYPE, "text/markdown")
        .body(body)
}

fn patch(server: &Server, path: &str, body: &Value) -> reqwest::RequestBuilder {
    server
        .client
        .patch(server.url(&format!("{NOTES}/{path}")))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
}

/// A body sent in chunks, without `Content-Length`.
fn chunked(bytes: Vec<u8>) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

/// A JSON 413 `body_too_large`, the REST shape or JSON-RPC's.
fn assert_too_large(what: &str, (status, content_type, body): &(u16, String, Value)) {
    assert_eq!(*status, 413, "{what}: {body}");
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {content_type}"
    );
    let code = body["code"]
        .as_str()
        .or(body["error"]["data"]["code"].as_str());
    assert_eq!(code, Some("body_too_large"), "{what}: {body}");
}

/// A raw JSON-RPC POST to `/mcp`.
fn mcp_post(server: &Server, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    server
        .client
        .post(server.url("/mcp"))
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .body(body)
}

type Client = RunningService<RoleClient, ()>;

async fn mcp_client(server: &Server) -> Client {
    ().serve(StreamableHttpClientTransport::from_uri(server.url("/mcp")))
        .await
        .unwrap()
}

async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap()
}

fn text_of(result: &CallToolResult) -> String {
    serde_json::to_value(result).unwrap()["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_configured_body_limit_applies_to_every_body_with_json_413s() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    // The default limit, 5 MiB: axum's own 2 MiB and rmcp's 4 MiB must not cut in first.
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;

    let (status, _, body) = send(put(&server, "Big.md", "x".repeat(3 * MIB))).await;
    assert_eq!(status, 201, "{body}");
    let etag = body["hash"].as_str().unwrap().to_owned();
    let (status, _, body) = send(
        patch(
            &server,
            "Big.md",
            &json!({"operations": [{"op": "append", "text": "y".repeat(3 * MIB)}]}),
        )
        .header(IF_MATCH, format!("\"{etag}\"")),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let over = 6 * MIB;
    assert_too_large(
        "PUT",
        &send(put(&server, "Over.md", "x".repeat(over))).await,
    );
    assert_too_large(
        "chunked PUT",
        &send(put(&server, "Over.md", chunked(vec![b'x'; over]))).await,
    );
    let huge_patch = json!({"operations": [{"op": "append", "text": "y".repeat(over)}]});
    assert_too_large("PATCH", &send(patch(&server, "Plan.md", &huge_patch)).await);
    assert_too_large(
        "move",
        &send(
            server
                .client
                .post(server.url(&format!("{NOTES}/Plan.md/move")))
                .header(CONTENT_TYPE, "application/json")
                .body(chunked(
                    json!({"to": "x".repeat(over)}).to_string().into_bytes(),
                )),
        )
        .await,
    );
    assert!(!vault.join("Over.md").exists());

    // `/mcp`: 4.5 MiB is within the limit (rmcp alone stops at 4 MiB) ...
    let client = mcp_client(&server).await;
    let written = call(
        &client,
        "write_note",
        json!({"path": "Agent.md", "content": "z".repeat(4 * MIB + MIB / 2)}),
    )
    .await;
    assert_ne!(written.is_error, Some(true), "{}", text_of(&written));
    client.cancel().await.unwrap();
    // ... and over it, declared or streamed, is a JSON-RPC 413.
    let message =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "p".repeat(over)}});
    assert_too_large("/mcp", &send(mcp_post(&server, message.to_string())).await);
    assert_too_large(
        "chunked /mcp",
        &send(mcp_post(&server, chunked(message.to_string().into_bytes()))).await,
    );
}

#[tokio::test]
async fn a_reloaded_body_limit_applies_to_the_next_request() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    let section = format!("[vaults.default]\npath = {vault:?}\n");
    let config = sandbox.write(
        "weaver.toml",
        &format!("[server]\nmax_body_bytes = {MIB}\n{section}"),
    );
    let server = Start::config(&config).spawn();
    server.wait_ready().await;
    // Over axum's own default (2 MiB) too.
    let body = "x".repeat(3 * MIB);
    assert_too_large("before", &send(put(&server, "Big.md", body.clone())).await);
    // Not JSON at all: over the limit it is a 413, within it a parse error.
    let garbage = "g".repeat(3 * MIB);
    assert_too_large(
        "/mcp before",
        &send(mcp_post(&server, garbage.clone())).await,
    );

    // Written again on every try: the configuration watcher may start after the first write.
    let raised = format!("[server]\nmax_body_bytes = {}\n{section}", 4 * MIB);
    server
        .poll(|| async {
            std::fs::write(&config, &raised).unwrap();
            let (status, _, _) = send(put(&server, "Big.md", body.clone())).await;
            (status == 201).then_some(())
        })
        .await;
    let (status, content_type, answer) = send(mcp_post(&server, garbage)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/json"),
        "{answer}"
    );
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
}

#[tokio::test]
async fn a_read_right_after_an_external_edit_has_the_etag_of_the_bytes_on_disk() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    // The watcher waits a minute: the index stays behind the file for the whole test.
    let server = Start::vault(&vault)
        .env("WEAVER__WATCH__DEBOUNCE_MS", "60000")
        .spawn();
    server.wait_ready().await;
    let before = server.get(&format!("{NOTES}/Plan.md")).await;
    let old_etag = before.headers()[ETAG].to_str().unwrap().to_owned();

    let edited = "# Plan\n## Goals\nNew goals.\n## Added by an editor\n";
    std::fs::write(vault.join("Plan.md"), edited).unwrap();

    let json = server.get(&format!("{NOTES}/Plan.md")).await;
    let json_etag = json.headers()[ETAG].to_str().unwrap().to_owned();
    let note: Value = json.json().await.unwrap();
    let raw = server
        .client
        .get(server.url(&format!("{NOTES}/Plan.md")))
        .header(ACCEPT, "text/markdown")
        .send()
        .await
        .unwrap();
    let raw_etag = raw.headers()[ETAG].to_str().unwrap().to_owned();
    assert_eq!(raw.text().await.unwrap(), edited);
    assert_ne!(json_etag, old_etag);
    assert_eq!(json_etag, raw_etag);
    assert_eq!(json_etag, format!("\"{}\"", note["hash"].as_str().unwrap()));
    assert_eq!(note["size"], edited.len());
    // The JSON describes the new bytes, not the index's old view of them.
    let headings: Vec<&str> = note["headings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["text"].as_str().unwrap())
        .collect();
    assert_eq!(headings, ["Plan", "Goals", "Added by an editor"]);
    let with_content = server.ok(&format!("{NOTES}/Plan.md?content=true")).await;
    assert_eq!(with_content["content"], edited);
    assert_eq!(with_content["hash"], note["hash"]);

    // That version is the current one: a conditional write on it succeeds.
    let (status, _, body) =
        send(put(&server, "Plan.md", "# Plan\nReplaced.\n").header(IF_MATCH, &json_etag)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn error_messages_are_bounded_over_rest_and_mcp() {
    let sandbox = Sandbox::new();
    let headings: String = (0..100_000).map(|i| format!("## Heading {i}\n")).collect();
    let vault = sandbox.vault("vault", FIXTURE);
    std::fs::write(vault.join("Many.md"), &headings).unwrap();
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;

    let missing =
        json!({"operations": [{"op": "append_to_section", "heading": "Nowhere", "text": "x"}]});
    let response = patch(&server, "Many.md", &missing).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(text.len() < 8 * 1024, "{} bytes", text.len());
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], "heading_not_found");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("`## Heading 0`"), "{message}");
    assert!(message.contains("and 99980 more"), "{message}");

    // A huge value the client sent is not echoed whole either.
    let find = "f".repeat(MIB);
    let (status, _, body) = send(patch(
        &server,
        "Plan.md",
        &json!({"operations": [{"op": "find_replace", "find": find, "replace": "r", "expected": 2}]}),
    ))
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("match_count_mismatch"))
    );
    assert!(body.to_string().len() < 8 * 1024);
    let (status, _, body) = send(
        server
            .client
            .get(server.url(&format!("{NOTES}/{}", "n".repeat(20_000)))),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().len() < 8 * 1024);

    let client = mcp_client(&server).await;
    for (tool, arguments) in [
        (
            "edit_note",
            json!({"path": "Many.md", "ops": [{"op": "append_to_section", "heading": "Nowhere", "text": "x"}]}),
        ),
        (
            "read_note",
            json!({"note": "Many.md", "section": "Nowhere"}),
        ),
    ] {
        let result = call(&client, tool, arguments).await;
        assert_eq!(result.is_error, Some(true), "{tool}");
        let text = text_of(&result);
        assert!(text.len() < 8 * 1024, "{tool}: {} bytes", text.len());
        assert!(text.starts_with("[heading_not_found]"), "{tool}: {text}");
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn client_mistakes_are_4xx_and_no_message_names_a_server_path() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let root = vault.to_str().unwrap().to_owned();
    let tmp = sandbox
        .path("")
        .to_str()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let no_server_path = |what: &str, body: &Value| {
        let text = body.to_string();
        assert!(
            !text.contains(&root) && !text.contains(&tmp),
            "{what}: {text}"
        );
    };

    // A 300-byte name: refused before any file is touched.
    let long = format!("{}.md", "n".repeat(300));
    let (status, _, body) = send(put(&server, &long, "# Long\n")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("path_too_long")),
        "{body}"
    );
    no_server_path("long name", &body);
    // A path longer than any file system takes, of names that are each fine.
    let deep = vec!["d".repeat(200); 25].join("/") + "/x.md";
    let (status, _, body) = send(put(&server, &deep, "# Deep\n")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("path_too_long")),
        "{body}"
    );
    let (status, _, body) = send(
        server
            .client
            .post(server.url(&format!("{NOTES}/Plan.md/move")))
            .header(CONTENT_TYPE, "application/json")
            .body(json!({"to": long}).to_string()),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("path_too_long")),
        "{body}"
    );
    assert!(vault.join("Plan.md").exists());
    // A path through a file.
    let (status, _, body) = send(put(&server, "Index.md/inner.md", "# Inner\n")).await;
    assert!((400..500).contains(&status), "{status}: {body}");
    no_server_path("through a file", &body);

    let client = mcp_client(&server).await;
    let result = call(
        &client,
        "write_note",
        json!({"path": long, "content": "# Long\n"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    let text = text_of(&result);
    assert!(text.starts_with("[path_too_long]"), "{text}");
    let result = call(
        &client,
        "write_note",
        json!({"path": "Index.md/inner.md", "content": "x"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    let text = text_of(&result);
    assert!(!text.contains(&root) && !text.contains(&tmp), "{text}");
    assert!(!text.starts_with("[io_error]"), "{text}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn methods_that_do_not_fit_a_note_url_are_405_and_empty_numbers_are_400() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let url = |tail: &str| server.url(&format!("{NOTES}/{tail}"));
    for (request, allow) in [
        (
            server.client.put(url("Plan.md/backlinks")).body("x"),
            "GET,HEAD",
        ),
        (server.client.delete(url("Plan.md/links")), "GET,HEAD"),
        (
            server
                .client
                .patch(url("Plan.md/neighbors"))
                .header(CONTENT_TYPE, "application/json")
                .body("{}"),
            "GET,HEAD",
        ),
        (server.client.get(url("Plan.md/move")), "POST"),
        (server.client.put(url("Plan.md/move")).body("x"), "POST"),
        (
            server.client.post(url("Plan.md")).body("{}"),
            "GET,HEAD,PUT,PATCH,DELETE",
        ),
    ] {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let allowed = response
            .headers()
            .get(ALLOW)
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (status, body["code"].as_str()),
            (405, Some("method_not_allowed")),
            "{body}"
        );
        assert_eq!(allowed.as_deref(), Some(allow), "{body}");
    }
    assert!(!vault.join("Plan.md/backlinks").exists());
    assert!(!vault.join("Plan.md").is_dir());

    for query in ["limit=", "limit", "offset=", "limit=-1", "limit=1001"] {
        server
            .error(&format!("{NOTES}?{query}"), 400, "invalid_query")
            .await;
        server
            .error(
                &format!("{NOTES}/Plan.md/backlinks?{query}"),
                400,
                "invalid_query",
            )
            .await;
    }
    server
        .error(
            &format!("{NOTES}/Plan.md/neighbors?depth="),
            400,
            "invalid_query",
        )
        .await;
    server
        .error(
            "/api/v1/vaults/default/search?q=&limit=",
            400,
            "invalid_query",
        )
        .await;
    // An empty text is still a text.
    server.ok("/api/v1/vaults/default/search?q=").await;
}

#[tokio::test]
async fn the_openapi_document_lists_what_the_server_answers() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    let server = Start::vault(&vault).spawn();
    let doc = server.ok("/api/v1/openapi.json").await;
    let paths = doc["paths"].as_object().unwrap();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            if path.starts_with("/api/v1/vaults/{vault}") {
                for status in ["400", "404", "503"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path}: no {status}"
                    );
                }
            }
            if operation.get("requestBody").is_some() {
                for status in ["413", "415"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path}: no {status}"
                    );
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] == "limit" {
                    assert_eq!(parameter["schema"]["maximum"], 1000, "{method} {path}");
                }
            }
        }
    }
    let ok = &paths["/api/v1/vaults/{vault}/notes/{path}"]["get"]["responses"]["200"]["content"];
    assert!(ok.get("application/json").is_some(), "{ok}");
    assert!(ok.get("text/markdown").is_some(), "{ok}");

    // Every media type the file route can answer is documented (schemathesis's ST105).
    let files = &paths["/api/v1/vaults/{vault}/files/{path}"]["get"]["responses"]["200"]["content"];
    let served = weaver_app::view::CONTENT_TYPES
        .iter()
        .map(|(_, t)| *t)
        .chain(["application/octet-stream"]);
    for media_type in served {
        let essence = media_type.split(';').next().unwrap().trim();
        assert!(
            files.get(essence).is_some(),
            "{essence} undocumented: {files}"
        );
    }

    // A frontmatter value may be any JSON value (a list of nulls is valid YAML), so the
    // document must not narrow it to an object (schemathesis's ST201).
    let operation = &doc["components"]["schemas"]["EditOperation"];
    let set = operation["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["properties"]["op"]["enum"][0] == "set_frontmatter")
        .unwrap_or_else(|| panic!("no set_frontmatter in {operation}"));
    let value = &set["properties"]["value"];
    assert!(value.get("type").is_none(), "value is narrowed: {value}");
}

#[tokio::test]
async fn mcp_refusals_are_json_rpc_errors() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let nested = "[".repeat(100_000) + &"]".repeat(100_000);
    for (what, body, rpc_code) in [
        ("deeply nested", nested, -32700),
        ("not JSON", "{\"jsonrpc\":".to_owned(), -32700),
        ("not JSON-RPC", "{\"hello\": 1}".to_owned(), -32600),
    ] {
        let (status, content_type, answer) = send(mcp_post(&server, body)).await;
        assert_eq!(
            (status, content_type.as_str()),
            (400, "application/json"),
            "{what}: {answer}"
        );
        assert_eq!(answer["jsonrpc"], "2.0", "{what}");
        assert_eq!(answer["error"]["code"], rpc_code, "{what}: {answer}");
        assert_eq!(
            answer["error"]["data"]["code"], "invalid_mcp_message",
            "{what}"
        );
    }
    // rmcp's own plain-text refusals get the same shape.
    let (status, content_type, answer) = send(
        server
            .client
            .post(server.url("/mcp"))
            .header(CONTENT_TYPE, "text/plain")
            .header(ACCEPT, "application/json, text/event-stream")
            .body("{}"),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (415, "application/json"),
        "{answer}"
    );
    assert_eq!(answer["error"]["data"]["code"], "unsupported_media_type");
    let ping = json!({"jsonrpc": "2.0", "id": 7, "method": "ping"}).to_string();
    let (status, _, answer) = send(
        server
            .client
            .post(server.url("/mcp"))
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_LENGTH, ping.len())
            .body(ping),
    )
    .await;
    assert_eq!(status, 406, "{answer}");
    assert_eq!(answer["error"]["data"]["code"], "not_acceptable");
}

#[tokio::test]
async fn an_exact_case_match_wins_over_a_case_insensitive_one() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault(
        "vault",
        "//- Welcome.md\n# Upper\n//- welcome.md\n# Lower\n//- Other.md\nSee [[welcome]] and [[Welcome]].\n",
    );
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    assert_eq!(
        server.ok(&format!("{NOTES}/welcome")).await["path"],
        "welcome.md"
    );
    assert_eq!(
        server.ok(&format!("{NOTES}/Welcome")).await["path"],
        "Welcome.md"
    );
    assert_eq!(
        server.ok(&format!("{NOTES}/welcome.md")).await["path"],
        "welcome.md"
    );
    assert_eq!(
        server.ok(&format!("{NOTES}/WELCOME")).await["path"],
        "Welcome.md"
    );
    let links = server.ok(&format!("{NOTES}/Other.md/links")).await;
    let resolved: Vec<&str> = links["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["resolved"].as_str().unwrap())
        .collect();
    assert_eq!(resolved, ["welcome.md", "Welcome.md"]);
}
