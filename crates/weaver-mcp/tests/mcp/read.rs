//! The read tools against the fixture vault: every answer is checked against what the files
//! say.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::mcp::McpOptions;
use crate::support::{TestVault, VAULT, call, failure, ok, paths, text, write_fixture};

#[tokio::test]
async fn search_ranks_text_and_filters_by_tag_and_folder() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;

    let result = call(&client, "search_notes", json!({"query": "breadth"})).await;
    let found = ok(&result);
    assert_eq!(found["total"], 1);
    assert_eq!(paths(found, "path"), ["Research/Graphs.md"]);
    let hit = &found["items"][0];
    assert_eq!(hit["title"], "Graphs");
    assert!(
        hit["snippet"]
            .as_str()
            .unwrap()
            .contains("Breadth-first search")
    );
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    assert!(text(&result).contains("Research/Graphs.md"));

    let tagged = call(&client, "search_notes", json!({"tags": ["project"]})).await;
    let mut tagged = paths(ok(&tagged), "path");
    tagged.sort();
    assert_eq!(tagged, ["Ideas.md", "Projects/Plan.md"]);

    let in_folder = call(
        &client,
        "search_notes",
        json!({"query": "graph*", "folder": "Research"}),
    )
    .await;
    assert_eq!(paths(ok(&in_folder), "path"), ["Research/Graphs.md"]);

    let paged = call(&client, "search_notes", json!({"limit": 2})).await;
    let paged = ok(&paged);
    assert_eq!(paged["total"], 5);
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    assert_eq!(paged["next_offset"], 2);
}

#[tokio::test]
async fn read_note_returns_the_file_its_hash_and_its_links() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    // By alias.
    let result = call(&client, "read_note", json!({"note": "roadmap"})).await;
    let note = ok(&result);
    let on_disk = vault.read("Projects/Plan.md");
    assert_eq!(note["path"], "Projects/Plan.md");
    assert_eq!(note["title"], "The Plan");
    assert_eq!(note["content"], on_disk);
    assert_eq!(
        note["hash"],
        weaver_core::content_hash(on_disk.as_bytes()).as_str()
    );
    assert_eq!(note["frontmatter"]["title"], "The Plan");
    assert_eq!(note["tags"], json!(["project/active", "milestone"]));
    assert_eq!(note["aliases"], json!(["roadmap"]));
    assert_eq!(
        note["links"],
        json!({"outgoing": 3, "unresolved": 0, "backlinks": 1})
    );
    assert_eq!(note["truncated"], false);
    assert!(note.get("next_offset").is_none());
    let shown = text(&result);
    assert!(shown.starts_with("path: Projects/Plan.md\n"), "{shown}");
    assert!(shown.ends_with(&on_disk), "{shown}");
}

#[tokio::test]
async fn read_note_shows_one_section_or_the_outline() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    let section = call(
        &client,
        "read_note",
        json!({"note": "Projects/Plan.md", "section": "goals"}),
    )
    .await;
    let section = ok(&section);
    assert_eq!(section["section"], "Goals");
    assert_eq!(
        section["content"],
        "## Goals\n- ship the weaver #milestone\n- [x] write the parser\n\n### Details\nGraph search and [[Ideas]].\n\n"
    );

    let outline = call(
        &client,
        "read_note",
        json!({"note": "Plan", "outline_only": true}),
    )
    .await;
    let outline = ok(&outline);
    assert!(outline.get("content").is_none());
    assert_eq!(
        outline["outline"],
        json!([
            {"level": 1, "text": "Plan", "line": 6},
            {"level": 2, "text": "Goals", "line": 10},
            {"level": 3, "text": "Details", "line": 14},
            {"level": 2, "text": "Risks", "line": 17},
        ])
    );

    let missing = call(
        &client,
        "read_note",
        json!({"note": "Plan", "section": "Budget"}),
    )
    .await;
    let (code, message) = failure(&missing);
    assert_eq!(code, "heading_not_found");
    assert!(message.contains("`## Risks`"), "{message}");
}

#[tokio::test]
async fn a_missing_note_is_a_tool_error_with_a_suggestion() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    for tool in ["read_note", "get_backlinks", "get_links", "graph_neighbors"] {
        let result = call(&client, tool, json!({"note": "Projets/Plan.md"})).await;
        let (code, message) = failure(&result);
        assert_eq!(code, "note_not_found", "{tool}");
        // The closest match comes first.
        assert!(
            message.starts_with(
                "note not found: `Projets/Plan.md`; did you mean one of `Projects/Plan.md`"
            ),
            "{message}"
        );
    }
    let path = call(&client, "find_path", json!({"from": "Home", "to": "Nope"})).await;
    assert_eq!(failure(&path).0, "note_not_found");
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_not_protocol_errors() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    let result = call(&client, "read_note", json!({"note": 42})).await;
    let (code, message) = failure(&result);
    assert_eq!(code, "invalid_argument");
    assert!(
        message.starts_with("invalid arguments for `read_note`: "),
        "{message}"
    );
    assert!(message.contains("expected a string"), "{message}");
    let result = call(&client, "read_note", json!({})).await;
    let (code, message) = failure(&result);
    assert_eq!(code, "invalid_argument");
    assert!(message.contains("missing field `note`"), "{message}");
}

#[tokio::test]
async fn long_notes_are_read_in_bounded_pieces_that_add_up_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut long = String::from("# Long\n\n");
    for i in 0..4000 {
        long.push_str(&format!(
            "Line {i}: the quick brown fox jumps over the lazy dog.\n"
        ));
    }
    std::fs::write(dir.path().join("Long.md"), &long).unwrap();
    let vault = TestVault::open(dir);
    let client = vault.client(McpOptions::new(false)).await;

    let mut offset = 0;
    let mut assembled = String::new();
    let mut calls = 0;
    loop {
        calls += 1;
        let result = call(
            &client,
            "read_note",
            json!({"note": "Long", "offset": offset}),
        )
        .await;
        let bytes = serde_json::to_vec(&result.structured_content)
            .unwrap()
            .len();
        assert!(bytes <= 32 * 1024, "a read of {bytes} bytes");
        assert!(text(&result).len() <= 32 * 1024);
        let note = ok(&result);
        let content = note["content"].as_str().unwrap();
        if note["truncated"] == true {
            let (piece, marker) = content.split_once("\n\n[… truncated: ").unwrap();
            assert!(marker.contains("offset="), "{marker}");
            assert_eq!(note["chars"], long.chars().count());
            assembled.push_str(piece);
            offset = note["next_offset"].as_u64().unwrap();
        } else {
            assembled.push_str(content);
            break;
        }
    }
    assert!(calls > 3, "{calls} calls");
    assert_eq!(assembled, long);

    let small = call(
        &client,
        "read_note",
        json!({"note": "Long", "max_chars": 100}),
    )
    .await;
    let small = ok(&small);
    assert_eq!(small["truncated"], true);
    assert!(small["next_offset"].as_u64().unwrap() <= 100);
}

#[tokio::test]
async fn lists_are_paged_and_walk_the_graph() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;

    let all = call(&client, "list_notes", json!({})).await;
    assert_eq!(
        paths(ok(&all), "path"),
        [
            "Home.md",
            "Ideas.md",
            "Lonely.md",
            "Projects/Plan.md",
            "Research/Graphs.md"
        ]
    );
    let page = call(&client, "list_notes", json!({"limit": 2, "offset": 2})).await;
    let page = ok(&page);
    assert_eq!(paths(page, "path"), ["Lonely.md", "Projects/Plan.md"]);
    assert_eq!(page["next_offset"], 4);
    let folder = call(&client, "list_notes", json!({"folder": "projects"})).await;
    assert_eq!(paths(ok(&folder), "path"), ["Projects/Plan.md"]);

    let backlinks = call(&client, "get_backlinks", json!({"note": "Ideas"})).await;
    let backlinks = ok(&backlinks);
    assert_eq!(backlinks["note"], "Ideas.md");
    assert_eq!(
        backlinks["items"],
        json!([
            {"source": "Home.md", "title": "Home", "line": 7,
             "context": "Start at [[Projects/Plan]] and [[Ideas#Big one]]. See also [[Missing note]]."},
            {"source": "Projects/Plan.md", "title": "The Plan", "line": 15,
             "context": "Graph search and [[Ideas]]."},
        ])
    );

    let links = call(&client, "get_links", json!({"note": "Home"})).await;
    assert_eq!(
        ok(&links)["items"],
        json!([
            {"target": "Projects/Plan", "resolved": "Projects/Plan.md", "line": 7, "kind": "wikilink"},
            {"target": "Ideas#Big one", "resolved": "Ideas.md", "line": 7, "kind": "wikilink"},
            {"target": "Missing note", "line": 7, "kind": "wikilink"},
        ])
    );

    let near = call(&client, "graph_neighbors", json!({"note": "Home"})).await;
    let mut near = paths(ok(&near), "path");
    near.sort();
    assert_eq!(near, ["Ideas.md", "Projects/Plan.md"]);
    let far = call(
        &client,
        "graph_neighbors",
        json!({"note": "Home", "depth": 9, "direction": "out"}),
    )
    .await;
    let far = ok(&far);
    let graphs = far["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["path"] == "Research/Graphs.md")
        .unwrap();
    assert_eq!(graphs["distance"], 2);
    let incoming = call(
        &client,
        "graph_neighbors",
        json!({"note": "Home", "direction": "in"}),
    )
    .await;
    assert_eq!(paths(ok(&incoming), "path"), ["Projects/Plan.md"]);

    let path = call(
        &client,
        "find_path",
        json!({"from": "Home", "to": "Research/Graphs.md"}),
    )
    .await;
    let found = ok(&path);
    assert_eq!(found["found"], true);
    assert_eq!(found["hops"], 2);
    assert_eq!(
        paths(&json!({"items": found["path"]}), "path"),
        ["Home.md", "Projects/Plan.md", "Research/Graphs.md"]
    );
    assert!(text(&path).contains("Home.md -> Projects/Plan.md -> Research/Graphs.md"));
    let none = call(
        &client,
        "find_path",
        json!({"from": "Home", "to": "Lonely"}),
    )
    .await;
    assert_eq!(ok(&none)["found"], false);
}

#[tokio::test]
async fn tags_stats_orphans_and_unresolved_links_match_the_vault() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;

    let tags = call(&client, "list_tags", json!({})).await;
    let tags = ok(&tags);
    let listed: Vec<(String, u64)> = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["notes"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = [
        ("project", 2),
        ("hub", 1),
        ("idea", 1),
        ("milestone", 1),
        ("project/active", 1),
        ("project/someday", 1),
    ]
    .iter()
    .map(|(n, c)| ((*n).to_owned(), *c))
    .collect();
    assert_eq!(listed, expected);
    let some = call(&client, "list_tags", json!({"prefix": "#Project/"})).await;
    assert_eq!(ok(&some)["total"], 2);

    let stats = call(&client, "vault_stats", json!({})).await;
    assert_eq!(
        ok(&stats),
        &json!({
            "vault": "notes", "notes": 5, "attachments": 0, "links": 7, "unresolved_links": 2,
            "tags": 5, "orphans": 1, "tasks_open": 1, "tasks_done": 1,
            "words": ok(&stats)["words"],
        })
    );
    assert!(ok(&stats)["words"].as_u64().unwrap() > 20);

    let orphans = call(&client, "find_orphans", json!({})).await;
    assert_eq!(paths(ok(&orphans), "path"), ["Lonely.md"]);

    let unresolved = call(&client, "find_unresolved_links", json!({})).await;
    assert_eq!(
        ok(&unresolved)["items"],
        json!([
            {"source": "Home.md", "target": "Missing note", "line": 7},
            {"source": "Research/Graphs.md", "target": "Nowhere", "line": 3},
        ])
    );
    assert!(text(&unresolved).contains("Research/Graphs.md:3: [[Nowhere]]"));
}

#[tokio::test]
async fn recent_changes_lists_notes_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), VAULT);
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for (i, path) in [
        "Home.md",
        "Research/Graphs.md",
        "Lonely.md",
        "Projects/Plan.md",
        "Ideas.md",
    ]
    .iter()
    .enumerate()
    {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join(path))
            .unwrap();
        file.set_modified(base + Duration::from_secs(60 * i as u64))
            .unwrap();
    }
    let vault = TestVault::open(dir);
    let client = vault.client(McpOptions::new(false)).await;
    let recent = call(&client, "recent_changes", json!({"limit": 3})).await;
    let recent = ok(&recent);
    assert_eq!(
        paths(recent, "path"),
        ["Ideas.md", "Projects/Plan.md", "Lonely.md"]
    );
    assert_eq!(recent["items"][0]["modified"], "2023-11-14T22:17:20.000Z");
    assert_eq!(recent["next_offset"], 3);
    let in_folder = call(&client, "recent_changes", json!({"folder": "Research"})).await;
    assert_eq!(paths(ok(&in_folder), "path"), ["Research/Graphs.md"]);
}

#[tokio::test]
async fn an_oversized_list_is_cut_to_the_budget_and_points_at_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..300 {
        let title = format!("Note {i:03} {}", "with a rather long title ".repeat(4));
        std::fs::write(
            dir.path().join(format!("n{i:03}.md")),
            format!("---\ntitle: {title}\n---\nbody\n"),
        )
        .unwrap();
    }
    let vault = TestVault::open(dir);
    let options = McpOptions {
        max_output_bytes: 4096,
        ..McpOptions::new(false)
    };
    let client = vault.client(options).await;
    let result = call(&client, "list_notes", json!({"limit": 200, "offset": 10})).await;
    let listing = ok(&result);
    let items = listing["items"].as_array().unwrap().len();
    assert!(items > 5 && items < 200, "{items} items");
    assert_eq!(listing["total"], 300);
    assert_eq!(listing["next_offset"], Value::from(10 + items));
    assert!(serde_json::to_vec(listing).unwrap().len() <= 4096);
    assert!(text(&result).len() <= 4096);
    assert!(text(&result).contains(&format!("more with offset={}", 10 + items)));
}

#[tokio::test]
async fn search_says_how_it_ranked_and_mentions_need_no_model() {
    let vault = TestVault::new(VAULT);
    let client = vault.client(McpOptions::new(false)).await;
    let result = call(&client, "search_notes", json!({"query": "shortest paths"})).await;
    let found = ok(&result);
    assert_eq!(found["mode"], "keyword");
    assert_eq!(found["partial"], false);
    assert_eq!(found["items"][0]["matched_by"], json!(["keyword"]));
    assert!(
        text(&result).starts_with("(keyword ranking)"),
        "{}",
        text(&result)
    );
    for (tool, args) in [
        ("search_notes", json!({"query": "plan", "mode": "semantic"})),
        ("find_similar", json!({"note": "Home"})),
    ] {
        let (code, message) = failure(&call(&client, tool, args).await);
        assert_eq!(code, "semantic_unavailable", "{tool}");
        assert!(message.contains("model_dir"), "{message}");
    }
    let (code, _) = failure(&call(&client, "search_notes", json!({"mode": "magic"})).await);
    assert_eq!(code, "invalid_argument");
    // Graphs is named, not linked, nowhere; "Plan" is named by Home's link only (a link).
    let mentions = call(&client, "unlinked_mentions", json!({"note": "Ideas"})).await;
    let listing = ok(&mentions);
    assert_eq!(listing["note"], "Ideas.md");
    assert_eq!(listing["total"], 0, "{listing}");
}

#[tokio::test]
async fn with_a_model_search_is_hybrid_and_similar_notes_are_listed() {
    let Some(dir) = weaver_testkit::test_model_dir() else {
        return;
    };
    let vault = TestVault::new(VAULT);
    let model = weaver_app::SemanticModel::load_in_background(dir);
    model.attach(&vault.vault);
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while !vault.vault.semantic_status().is_some_and(|s| s.complete()) {
        assert!(std::time::Instant::now() < deadline, "not embedded in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = vault.client(McpOptions::new(false)).await;
    let result = call(
        &client,
        "search_notes",
        json!({"query": "how do I find the quickest route between two things"}),
    )
    .await;
    let found = ok(&result);
    assert_eq!(found["mode"], "hybrid");
    assert_eq!(found["items"][0]["path"], "Research/Graphs.md", "{found}");
    let reasons = found["items"][0]["matched_by"].as_array().unwrap();
    assert!(reasons.contains(&json!("semantic")), "{found}");

    let similar = call(
        &client,
        "find_similar",
        json!({"note": "Ideas", "limit": 2}),
    )
    .await;
    let listing = ok(&similar);
    assert_eq!(listing["note"], "Ideas.md");
    assert_eq!(listing["partial"], false);
    let items = listing["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() <= 2, "{listing}");
    assert!(items.iter().all(|i| i["path"] != "Ideas.md"));
    assert!(text(&similar).contains("similarity"), "{}", text(&similar));
    let stats = call(&client, "vault_stats", json!({})).await;
    assert_eq!(ok(&stats)["embedded_notes"], 5);
}
