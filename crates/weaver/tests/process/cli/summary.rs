//! `weaver tags` and `weaver stats`.

use serde_json::{Value, json};

use crate::cli::support::{TestVault, markdown_files};

#[test]
fn tags_count_nested_tags_towards_their_parents() {
    let vault = TestVault::demo();
    let tags = vault.json(&["tags"]);
    let rows: Vec<(String, u64, u64)> = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["notes"].as_u64().unwrap(),
                t["direct"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, u64)> = [
        ("culture", 1, 1),
        ("français", 1, 1),
        ("français/culture", 1, 1),
        ("getting-started", 1, 1),
        ("inbox", 1, 1),
        ("journal", 2, 2),
        ("meta", 1, 1),
        ("method", 2, 2),
        ("method/zettelkasten", 1, 1),
        ("project", 1, 1),
        ("project/active", 1, 1),
        ("software", 1, 1),
        ("tags", 1, 1),
        // Only nested tags use `weaver`: it has notes but no direct uses.
        ("weaver", 2, 0),
        ("weaver/demo", 1, 1),
        ("weaver/design", 1, 1),
    ]
    .into_iter()
    .map(|(name, notes, direct)| (name.to_owned(), notes, direct))
    .collect();
    assert_eq!(rows, expected);
    // `#neither` sits in a code block: it is not a tag.
    assert!(!rows.iter().any(|(name, ..)| name == "neither"));

    let text = vault.run(&["tags"]).success();
    assert!(
        text.stdout.contains(
            "#weaver  2 (0 direct)\n  #weaver/demo  1 (1 direct)\n  #weaver/design  1 (1 direct)\n"
        ),
        "{}",
        text.stdout
    );
}

#[test]
fn stats_are_complete_and_consistent() {
    let vault = TestVault::demo();
    let stats = vault.json(&["stats"]);
    assert_eq!(
        stats,
        json!({
            "notes": 9,
            "attachments": 1,
            "links": 24,
            "resolved_links": 23,
            "unresolved_links": 1,
            "embeds": 2,
            "external_links": 0,
            "tags": 15,
            "orphans": 1,
            "tasks_open": 3,
            "tasks_done": 1,
            "words": 360,
            "bytes": 3173,
            "notes_with_problems": 0,
            // No embedding model here (the tests point XDG_DATA_HOME nowhere).
            "semantic": null
        })
    );
    let n = |key: &str| stats[key].as_u64().unwrap();
    assert_eq!(n("links"), n("resolved_links") + n("unresolved_links"));
    // The byte count is the sum of the notes' sizes.
    let notes_bytes: u64 = markdown_files(vault.root())
        .iter()
        .map(|p| std::fs::metadata(vault.path(p)).unwrap().len())
        .sum();
    assert_eq!(n("bytes"), notes_bytes);

    // The other commands agree with the totals.
    let tags = vault.json(&["tags"]);
    let used = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["direct"].as_u64().unwrap() > 0)
        .count() as u64;
    assert_eq!(n("tags"), used);
    let orphans = vault.json(&["graph", "orphans"]);
    assert_eq!(orphans["total"], stats["orphans"]);
    let unresolved = vault.json(&["graph", "unresolved"]);
    assert_eq!(unresolved["total"], stats["unresolved_links"]);
}

#[test]
fn stats_text_output() {
    let vault = TestVault::demo();
    let text = vault.run(&["stats"]).success();
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines[0], "notes              9");
    assert!(
        lines.contains(&"links              24 (23 resolved, 1 unresolved, 2 embeds)"),
        "{}",
        text.stdout
    );
    assert!(lines.contains(&"tasks              3 open, 1 done"));
}

#[test]
fn empty_vault_has_zero_everything() {
    let vault = TestVault::empty();
    let stats = vault.json(&["stats"]);
    let object = stats.as_object().unwrap();
    assert!(!object.is_empty());
    for (key, value) in object {
        if key == "semantic" {
            assert_eq!(value, &Value::Null);
        } else {
            assert_eq!(value, &Value::from(0), "{key}");
        }
    }
    assert_eq!(vault.json(&["tags"]), json!({ "items": [] }));
    assert_eq!(vault.json(&["search", "anything"])["total"], 0);
    vault.run(&["check"]).success();
}
