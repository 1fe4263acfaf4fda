//! The read side of the REST API: every endpoint, its filters and its errors.

use serde_json::{Value, json};

use crate::support::{Sandbox, Server, Start, VAULT};

async fn demo() -> (Sandbox, Server) {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    // Hermetic: a model that `weaver model download` put in this machine's data folder is not
    // used (semantic search has its own tests, in `search.rs`).
    let server = Start::vault(&vault)
        .env("WEAVER__SEARCH__SEMANTIC__ENABLED", "false")
        .spawn();
    server.wait_ready().await;
    (sandbox, server)
}

fn paths(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().or(i["source"].as_str()).unwrap())
        .collect()
}

#[tokio::test]
async fn vault_list_shows_state_and_counts() {
    let (_s, server) = demo().await;
    let list = server.ok("/api/v1/vaults").await;
    assert_eq!(
        list,
        json!({"items": [{
            "name": "default", "state": "ready", "read_only": false, "notes": 5, "attachments": 1
        }]})
    );
}

#[tokio::test]
async fn note_list_filters_sorts_and_pages() {
    let (_s, server) = demo().await;
    let base = "/api/v1/vaults/default/notes";
    let all = server.ok(base).await;
    assert_eq!(all["total"], 5);
    assert_eq!(
        paths(&all),
        [
            "Home.md",
            "Ideas.md",
            "Lonely.md",
            "Projects/Details.md",
            "Projects/Plan.md"
        ]
    );
    let plan = &all["items"][4];
    assert_eq!(plan["title"], "The Plan");
    assert_eq!(plan["tags"], json!(["project/active"]));
    assert!(plan["size"].as_u64().unwrap() > 0);
    assert!(plan["modified"].as_str().unwrap().ends_with('Z'));

    let check = |query: &'static str, expected: &'static [&'static str]| {
        let server = &server;
        async move {
            let list = server.ok(&format!("{base}?{query}")).await;
            assert_eq!(paths(&list), expected, "?{query}");
        }
    };
    check(
        "folder=projects",
        &["Projects/Details.md", "Projects/Plan.md"],
    )
    .await;
    check("tag=project", &["Projects/Details.md", "Projects/Plan.md"]).await;
    check("tag=%23Project/Active", &["Projects/Plan.md"]).await;
    check("tag=proj", &[]).await;
    check("field=status:DONE", &["Projects/Plan.md"]).await;
    check("field=status:active&tag=hub", &["Home.md"]).await;
    check("field=tags:hub", &["Home.md"]).await;
    check(
        "sort=-path&limit=2",
        &["Projects/Plan.md", "Projects/Details.md"],
    )
    .await;
    check("limit=2&offset=1", &["Ideas.md", "Lonely.md"]).await;

    // Modification order follows the files' mtimes.
    let vault = server
        .ok("/api/v1/vaults/default/notes?sort=modified")
        .await;
    let times: Vec<&str> = vault["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["modified"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let msg = server
        .error(&format!("{base}?limit=1001"), 400, "invalid_query")
        .await;
    assert!(msg.contains("1001"), "{msg}");
    let msg = server
        .error(&format!("{base}?field=status"), 400, "invalid_query")
        .await;
    assert!(msg.contains("field=status"), "{msg}");
    let msg = server
        .error(&format!("{base}?sort=size"), 400, "invalid_query")
        .await;
    assert!(msg.contains("size"), "{msg}");
    let msg = server
        .error(&format!("{base}?colour=red"), 400, "invalid_query")
        .await;
    assert!(msg.contains("colour"), "{msg}");
}

#[tokio::test]
async fn one_note_as_json_with_details() {
    let (_s, server) = demo().await;
    let response = server
        .get("/api/v1/vaults/default/notes/Projects/Plan.md")
        .await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let mut note: Value = response.json().await.unwrap();
    assert_eq!(etag, format!("\"{}\"", note["hash"].as_str().unwrap()));
    assert!(note.get("content").is_none());
    // Redact what depends on the file system.
    note["modified"] = json!("[modified]");
    insta::assert_json_snapshot!("note_plan", note);

    // By name, by alias, without `.md`: the same note.
    for spelling in ["Plan", "roadmap", "Projects/Plan", "projects/plan.md"] {
        let other = server
            .ok(&format!("/api/v1/vaults/default/notes/{spelling}"))
            .await;
        assert_eq!(other["path"], "Projects/Plan.md", "{spelling}");
    }

    let with_content = server
        .ok("/api/v1/vaults/default/notes/Projects/Plan.md?content=true")
        .await;
    let content = with_content["content"].as_str().unwrap();
    assert!(content.starts_with("---\ntitle: The Plan\n"), "{content}");
    server
        .error(
            "/api/v1/vaults/default/notes/Plan.md?content=maybe",
            400,
            "invalid_query",
        )
        .await;
}

#[tokio::test]
async fn one_note_as_markdown_and_conditional_requests() {
    let (sandbox, server) = demo().await;
    let url = server.url("/api/v1/vaults/default/notes/Projects/Plan.md");
    let raw = std::fs::read(sandbox.path("vault/Projects/Plan.md")).unwrap();

    let response = server
        .client
        .get(&url)
        .header("accept", "text/markdown")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(response.bytes().await.unwrap().as_ref(), raw.as_slice());

    // The same ETag on the JSON representation: it is the content hash.
    let response = server.client.get(&url).send().await.unwrap();
    assert_eq!(response.headers()["etag"].to_str().unwrap(), etag);

    for accept in ["text/markdown", "application/json"] {
        let response = server
            .client
            .get(&url)
            .header("accept", accept)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "{accept}");
        assert_eq!(response.headers()["etag"].to_str().unwrap(), etag);
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let response = server
        .client
        .get(&url)
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let response = server
        .client
        .get(&url)
        .header("accept", "image/png")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 406);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "not_acceptable");
}

#[tokio::test]
async fn unknown_notes_and_vaults_name_the_value() {
    let (_s, server) = demo().await;
    let (status, body) = server
        .get_json("/api/v1/vaults/default/notes/Projets/Plan")
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "note_not_found");
    assert!(
        body["message"].as_str().unwrap().contains("`Projets/Plan`"),
        "{body}"
    );
    assert_eq!(
        body["suggestions"][0], "Projects/Plan.md",
        "best first: {body}"
    );

    let msg = server
        .error("/api/v1/vaults/nope/notes", 404, "vault_not_found")
        .await;
    assert_eq!(msg, "vault not found: `nope`");
    server
        .error("/api/v1/vaults/nope/stats", 404, "vault_not_found")
        .await;
    let msg = server
        .error("/api/v1/nothing/here", 404, "route_not_found")
        .await;
    assert!(msg.contains("/api/v1/nothing/here"), "{msg}");

    let response = server
        .client
        .delete(server.url("/api/v1/vaults"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn links_backlinks_and_neighbors() {
    let (_s, server) = demo().await;
    let note = "/api/v1/vaults/default/notes/Projects/Plan.md";

    let backlinks = server.ok(&format!("{note}/backlinks")).await;
    assert_eq!(backlinks["total"], 1);
    let first = &backlinks["items"][0];
    assert_eq!(first["source"], "Home.md");
    assert_eq!(first["kind"], "wikilink");
    assert!(
        first["context"]
            .as_str()
            .unwrap()
            .contains("[[Projects/Plan]]")
    );
    let empty = server
        .ok(&format!("{note}/backlinks?offset=1&limit=5"))
        .await;
    assert_eq!(
        empty,
        json!({"note": "Projects/Plan.md", "total": 1, "items": []})
    );
    // Each list names the note it is about, as found: here by its alias.
    for sub in ["backlinks", "links", "neighbors"] {
        let by_alias = server
            .ok(&format!("/api/v1/vaults/default/notes/roadmap/{sub}"))
            .await;
        assert_eq!(by_alias["note"], "Projects/Plan.md", "{sub}");
    }

    let links = server.ok(&format!("{note}/links")).await;
    assert_eq!(links["total"], 2);
    assert_eq!(links["items"][1]["resolved"], "Projects/Details.md");
    assert_eq!(links["items"][1]["display"], "the details");
    let home_links = server
        .ok("/api/v1/vaults/default/notes/Home.md/links")
        .await;
    let ideas = &home_links["items"][1];
    assert_eq!(
        ideas["fragment"],
        json!({"kind": "heading", "value": "Big one"})
    );
    assert_eq!(ideas["anchor_exists"], true);
    assert_eq!(home_links["items"][2]["resolved"], Value::Null);

    let near = server.ok(&format!("{note}/neighbors")).await;
    let mut found: Vec<&str> = paths(&near);
    found.sort_unstable();
    assert_eq!(found, ["Home.md", "Projects/Details.md"]);
    let out2 = server
        .ok(&format!("{note}/neighbors?depth=2&direction=out"))
        .await;
    let names: Vec<(&str, u64)> = out2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["path"].as_str().unwrap(), i["distance"].as_u64().unwrap()))
        .collect();
    assert!(names.contains(&("Ideas.md", 2)), "{names:?}");
    assert!(names.contains(&("Projects/Details.md", 1)), "{names:?}");
    server
        .error(&format!("{note}/neighbors?depth=0"), 400, "invalid_query")
        .await;
    server
        .error(
            &format!("{note}/neighbors?direction=sideways"),
            400,
            "invalid_query",
        )
        .await;
    server
        .error(
            "/api/v1/vaults/default/notes/Nowhere/backlinks",
            404,
            "note_not_found",
        )
        .await;
}

#[tokio::test]
async fn graph_questions() {
    let (_s, server) = demo().await;
    let v = "/api/v1/vaults/default";

    let path = server.ok(&format!("{v}/path?from=Details&to=Ideas")).await;
    assert_eq!(path["found"], true);
    assert_eq!(
        paths(&json!({"items": path["notes"]})),
        [
            "Projects/Details.md",
            "Projects/Plan.md",
            "Home.md",
            "Ideas.md"
        ]
    );
    let none = server.ok(&format!("{v}/path?from=Home&to=Lonely")).await;
    assert_eq!(none, json!({"found": false, "notes": []}));
    let outward = server
        .ok(&format!("{v}/path?from=Ideas&to=Home&direction=out"))
        .await;
    assert_eq!(outward["found"], false);
    let msg = server
        .error(&format!("{v}/path?from=Home"), 400, "invalid_query")
        .await;
    assert!(msg.contains("to"), "{msg}");
    server
        .error(
            &format!("{v}/path?from=Home&to=Nope"),
            404,
            "note_not_found",
        )
        .await;

    let orphans = server.ok(&format!("{v}/orphans")).await;
    assert_eq!(
        orphans,
        json!({"total": 1, "items": [{"path": "Lonely.md", "title": "Lonely"}]})
    );

    let unresolved = server.ok(&format!("{v}/unresolved")).await;
    assert_eq!(unresolved["total"], 1);
    assert_eq!(unresolved["items"][0]["source"], "Home.md");
    assert_eq!(unresolved["items"][0]["target"], "Missing note");

    let tags = server.ok(&format!("{v}/tags")).await;
    assert_eq!(
        tags,
        json!({"items": [
            {"name": "hub", "direct": 1, "notes": 1},
            {"name": "idea", "direct": 1, "notes": 1},
            {"name": "project", "direct": 1, "notes": 2},
            {"name": "project/active", "direct": 1, "notes": 1},
        ]})
    );

    let stats = server.ok(&format!("{v}/stats")).await;
    assert_eq!(stats["notes"], 5);
    assert_eq!(stats["attachments"], 1);
    assert_eq!(stats["unresolved_links"], 1);
    assert_eq!(stats["orphans"], 1);
    assert_eq!(stats["tasks_open"], 1);
    assert_eq!(stats["tasks_done"], 1);

    let check = server.ok(&format!("{v}/check")).await;
    assert_eq!(check["total"], 1);
    assert_eq!(check["items"][0]["code"], "unresolved_link");
    assert_eq!(check["items"][0]["path"], "Home.md");
    assert_eq!(check["items"][0]["target"], "Missing note");
    let page = server.ok(&format!("{v}/check?limit=0")).await;
    assert_eq!(page, json!({"total": 1, "items": []}));
}

#[tokio::test]
async fn search_with_filters() {
    let (_s, server) = demo().await;
    let v = "/api/v1/vaults/default/search";

    let hits = server.ok(&format!("{v}?q=weaving")).await;
    assert_eq!(hits["total"], 1);
    let hit = &hits["items"][0];
    assert_eq!(hit["path"], "Ideas.md");
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    let snippet = hit["snippet"].as_str().unwrap();
    let range = &hit["highlights"][0];
    let (start, end) = (
        range["start"].as_u64().unwrap() as usize,
        range["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&snippet[start..end].to_lowercase(), "weaving");

    let tagged = server.ok(&format!("{v}?tag=project")).await;
    assert_eq!(tagged["total"], 2);
    let folder = server.ok(&format!("{v}?folder=Projects&q=plan")).await;
    assert!(paths(&folder).iter().all(|p| p.starts_with("Projects/")));
    let fields = server.ok(&format!("{v}?field=status:done")).await;
    assert_eq!(paths(&fields), ["Projects/Plan.md"]);
    let recent = server.ok(&format!("{v}?after=2000-01-01")).await;
    assert_eq!(recent["total"], 5);
    let old = server.ok(&format!("{v}?before=2000-01-01T00:00:00Z")).await;
    assert_eq!(old["total"], 0);
    let paged = server.ok(&format!("{v}?limit=2&offset=1")).await;
    assert_eq!(paged["total"], 5);
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    let counted = server.ok(&format!("{v}?limit=0")).await;
    assert_eq!(
        counted,
        json!({"mode": "keyword", "partial": false, "total": 5, "items": []})
    );

    let msg = server
        .error(&format!("{v}?after=yesterday"), 400, "invalid_query")
        .await;
    assert!(msg.contains("`yesterday`"), "{msg}");
    server
        .error(&format!("{v}?field=novalue"), 400, "invalid_query")
        .await;
    server
        .error(&format!("{v}?limit=5000"), 400, "invalid_query")
        .await;
}

#[tokio::test]
async fn oversized_searches_are_refused_with_stable_codes() {
    let (_s, server) = demo().await;
    let v = "/api/v1/vaults/default/search";

    // Finding 9 of issue 10: `a* ` 8,000 times (24 KB) took 10 s and 500 MB; now a 400 at once.
    let flood = "a*%20".repeat(8_000);
    let response = server.get(&format!("{v}?q={flood}")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "query_too_long");
    assert_eq!(
        body["message"],
        "query text of `24000` bytes is over the limit of 1024 bytes"
    );

    let msg = server
        .error(
            &format!("{v}?q=a*%20b*%20c*%20d*%20e*%20f*%20g*%20h*%20i*"),
            400,
            "query_too_complex",
        )
        .await;
    assert!(msg.contains("`9` prefix terms"), "{msg}");
    let words = "alpha%20".repeat(33);
    server
        .error(&format!("{v}?q={words}"), 400, "query_too_complex")
        .await;
    let tags = "&tag=x".repeat(33);
    server
        .error(&format!("{v}?q=plan{tags}"), 400, "query_too_complex")
        .await;

    // The server goes on answering, prefixes included.
    let hits = server.ok(&format!("{v}?q=weav*")).await;
    assert!(hits["total"].as_u64().unwrap() >= 1, "{hits}");
}
