//! `weaver note`: finding a note by path or name, its links, backlinks and content, and the
//! error for a note that does not exist.

use serde_json::{Value, json};

use crate::cli::support::{TestVault, owned, sorted, strings};

#[test]
fn a_note_is_found_by_path_by_path_without_extension_and_by_name() {
    let vault = TestVault::demo();
    for query in [
        "Projects/Knowledge garden.md",
        "Projects/Knowledge garden",
        "Knowledge garden",
        "knowledge garden",
    ] {
        let note = vault.json(&["note", query]);
        assert_eq!(note["path"], "Projects/Knowledge garden.md", "{query}");
        assert_eq!(note["title"], "Knowledge garden", "{query}");
    }
    // Names are compared after Unicode normalisation: a decomposed `é` finds the note.
    let note = vault.json(&["note", "Cafe\u{301} culture"]);
    assert_eq!(note["path"], "Concepts/Café culture.md");
}

#[test]
fn json_has_metadata_links_with_resolution_and_backlinks_with_context() {
    let vault = TestVault::demo();
    let note = vault.json(&["note", "Welcome"]);
    assert_eq!(note["path"], "Welcome.md");
    assert_eq!(note["title"], "Welcome to the demo vault");
    assert_eq!(note["aliases"], json!(["Start here", "Home"]));
    assert_eq!(
        note["tags"],
        json!(["meta", "weaver/demo", "getting-started"])
    );
    assert_eq!(note["frontmatter"]["created"], "2026-11-27");
    assert_eq!(note["size"], 793);
    assert_eq!(note["diagnostics"], json!([]));
    assert_eq!(note["callouts"][0]["kind"], "tip");

    let links = note["links"].as_array().unwrap();
    let summary: Vec<(String, Value)> = links
        .iter()
        .map(|l| {
            (
                l["target"].as_str().unwrap().to_owned(),
                l["resolved"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Weaver".to_owned(), json!("Weaver.md")),
            ("Missing note".to_owned(), Value::Null),
            (
                "Projects/Knowledge garden".to_owned(),
                json!("Projects/Knowledge garden.md")
            ),
            (
                "Concepts/Zettelkasten".to_owned(),
                json!("Concepts/Zettelkasten.md")
            ),
            (
                "2026-11-27".to_owned(),
                json!("Daily/2026/11/2026-11-27.md")
            ),
        ]
    );
    let missing = &links[1];
    assert_eq!(missing["line"], 14);
    let anchored = &links[3];
    assert_eq!(
        anchored["fragment"],
        json!({ "kind": "heading", "value": "Atomic notes" })
    );
    assert_eq!(anchored["anchor_exists"], true);
    assert_eq!(anchored["display"], "idea of atomic notes");

    let backlinks = &note["backlinks"];
    assert_eq!(
        strings(backlinks, "source"),
        owned(&["Concepts/Wikilinks.md", "Weaver.md"])
    );
    // A Markdown link with a relative path counts as a backlink, with its line as context.
    assert_eq!(backlinks[0]["kind"], "markdown");
    assert_eq!(backlinks[0]["line"], 6);
    assert!(
        backlinks[0]["context"]
            .as_str()
            .unwrap()
            .contains("[the welcome note](../Welcome.md)")
    );
    assert_eq!(backlinks[1]["kind"], "wikilink");
    assert_eq!(backlinks[1]["display"], "vault");
    assert!(
        backlinks[1]["context"]
            .as_str()
            .unwrap()
            .contains("[[Welcome|vault]]")
    );
}

#[test]
fn content_flag_adds_the_raw_markdown() {
    let vault = TestVault::demo();
    let raw = std::fs::read_to_string(vault.path("Concepts/Zettelkasten.md")).unwrap();

    let note = vault.json(&["note", "Zettelkasten", "--content"]);
    assert_eq!(note["content"], raw.as_str());
    let without = vault.json(&["note", "Zettelkasten"]);
    assert!(without.get("content").is_none());

    let text = vault.run(&["note", "Zettelkasten", "--content"]).success();
    assert!(text.stdout.contains(&raw), "{}", text.stdout);
    assert!(text.stdout.contains("```markdown\nThis [[is not a link]]"));
}

#[test]
fn text_output_shows_outline_links_and_backlinks() {
    let vault = TestVault::demo();
    let run = vault.run(&["note", "Concepts/Zettelkasten"]).success();
    let out = &run.stdout;
    assert!(
        out.starts_with("Zettelkasten  (Concepts/Zettelkasten.md)\n"),
        "{out}"
    );
    assert!(
        out.contains("tags: #method #method/zettelkasten\n"),
        "{out}"
    );
    assert!(out.contains("\noutline:\nZettelkasten (line 6)\n  Atomic notes (line 10)\n  Links over folders (line 13)\n"), "{out}");
    assert!(out.contains("\nlinks (2):\n  line 14: Wikilinks -> Concepts/Wikilinks.md\n  line 14: Knowledge garden -> Projects/Knowledge garden.md\n"), "{out}");
    assert!(out.contains("\nbacklinks (5):\n"), "{out}");
    assert!(
        out.contains(
            "Concepts/Wikilinks.md:12  See the reasoning in [[Zettelkasten#^atomic]]. #method"
        ),
        "{out}"
    );
}

#[test]
fn tasks_are_reported() {
    let vault = TestVault::demo();
    let note = vault.json(&["note", "Knowledge garden"]);
    let done: Vec<bool> = note["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["done"].as_bool().unwrap())
        .collect();
    assert_eq!(done, vec![true, false, false, false]);
    let text = vault.run(&["note", "Knowledge garden"]).success();
    assert!(
        text.stdout.contains("\ntasks: 1/4 done\n"),
        "{}",
        text.stdout
    );
}

#[test]
fn unknown_note_is_an_error_with_a_suggestion() {
    let vault = TestVault::demo();
    let run = vault.run(&["note", "Zettelkastn"]).exit(2);
    assert!(run.stdout.is_empty());
    assert_eq!(
        run.one_stderr_line(),
        "error: [note_not_found] note not found: `Zettelkastn`; did you mean `Concepts/Zettelkasten.md`?"
    );

    let run = vault.run(&["--json", "note", "Zettelkastn"]).exit(2);
    let body: Value = serde_json::from_str(run.one_stderr_line()).unwrap();
    assert_eq!(body["code"], "note_not_found");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `Concepts/Zettelkasten.md`?"),
        "{body}"
    );

    // Nothing close: no suggestion.
    let run = vault.run(&["note", "Quantum chromodynamics"]).exit(2);
    let line = run.one_stderr_line();
    assert!(line.starts_with("error: [note_not_found] "), "{line}");
    assert!(!line.contains("did you mean"), "{line}");

    // Several near misses are all offered.
    let run = vault.run(&["note", "Daily/2026/11/2026-11-28"]).exit(2);
    let line = run.one_stderr_line();
    assert!(line.contains("`Daily/2026/11/2026-11-26.md`"), "{line}");
    assert!(line.contains("`Daily/2026/11/2026-11-27.md`"), "{line}");
}

#[test]
fn backlinks_of_a_note_with_a_percent_encoded_markdown_link() {
    let vault = TestVault::demo();
    let note = vault.json(&["note", "Café culture"]);
    let sources = sorted(strings(&note["backlinks"], "source"));
    assert_eq!(
        sources,
        owned(&["Concepts/Wikilinks.md", "Daily/2026/11/2026-11-27.md"])
    );
}
