//! `weaver check`: problems, exit status 1 when there are any, and the JSON form.

use serde_json::json;

use crate::cli::support::{TestVault, strings};

#[test]
fn demo_vault_has_one_deliberate_broken_link() {
    let vault = TestVault::demo();
    let text = vault.run(&["check"]).exit(1);
    assert_eq!(
        text.stdout,
        "Welcome.md:14: unresolved_link: link `Missing note` matches no note or attachment\n1 problems\n"
    );
    assert!(text.stderr.is_empty(), "{}", text.stderr);

    let json = vault.run(&["--json", "check"]).exit(1).json();
    assert_eq!(
        json,
        json!({"total": 1, "items": [{
            "path": "Welcome.md",
            "code": "unresolved_link",
            "message": "link `Missing note` matches no note or attachment",
            "line": 14,
            "target": "Missing note"
        }]})
    );
}

#[test]
fn clean_vault_exits_zero() {
    let vault = TestVault::with_files(&[
        (
            "Home.md",
            "# Home\n\nSee [[Projects/Plan#Goals]] and [[Plan#^first]].\n",
        ),
        (
            "Projects/Plan.md",
            "# Plan\n\n## Goals\nShip it. ^first\n\nBack to [[Home]].\n",
        ),
    ]);
    let text = vault.run(&["check"]).success();
    assert_eq!(text.stdout, "no problems found\n");
    let json = vault.run(&["--json", "check"]).success().json();
    assert_eq!(json, json!({"total": 0, "items": []}));
}

#[test]
fn broken_anchors_are_reported() {
    let vault = TestVault::with_files(&[
        (
            "Zettelkasten.md",
            "# Zettelkasten\n\n## Atomic notes\nOne idea. ^atomic\n",
        ),
        (
            "Links.md",
            "# Links\n\nFine: [[Zettelkasten#Atomic notes]] and [[Zettelkasten#^atomic]].\n\
             Broken: [[Zettelkasten#Nope]]\nAlso broken: [[Zettelkasten#^gone]]\n",
        ),
    ]);
    let problems = vault.run(&["--json", "check"]).exit(1).json();
    let array = problems["items"].as_array().unwrap();
    assert_eq!(array.len(), 2, "{problems}");
    assert_eq!(
        strings(&problems["items"], "code"),
        ["broken_anchor", "broken_anchor"]
    );
    assert_eq!(
        strings(&problems["items"], "path"),
        ["Links.md", "Links.md"]
    );
    assert_eq!(
        strings(&problems["items"], "target"),
        ["Zettelkasten", "Zettelkasten"]
    );
    assert_eq!(array[0]["line"], 4);
    assert_eq!(array[1]["line"], 5);
    let message = array[0]["message"].as_str().unwrap();
    assert!(message.contains("`Nope`"), "{message}");

    let text = vault.run(&["check"]).exit(1);
    assert!(
        text.stdout.starts_with("Links.md:4: broken_anchor: "),
        "{}",
        text.stdout
    );
    assert!(text.stdout.ends_with("2 problems\n"));
}

#[test]
fn missing_attachments_can_be_left_out() {
    let vault = TestVault::with_files(&[(
        "Note.md",
        "# Note\n\n![[missing.png]]\n\nAnd [[Nowhere]].\n",
    )]);
    let all = vault.run(&["--json", "check"]).exit(1).json();
    assert_eq!(strings(&all["items"], "target"), ["missing.png", "Nowhere"]);
    let notes_only = vault
        .run(&["--json", "check", "--ignore-missing-attachments"])
        .exit(1)
        .json();
    assert_eq!(strings(&notes_only["items"], "target"), ["Nowhere"]);

    vault.write("Note.md", "# Note\n\n![[missing.png]]\n");
    vault
        .run(&["check", "--ignore-missing-attachments"])
        .success();
    vault.run(&["check"]).exit(1);
}

#[test]
fn duplicate_names_and_ambiguous_links() {
    // Two notes share a name: Obsidian resolves a bare link to the one nearest the vault root,
    // and `check` must not call the link broken.
    let vault = TestVault::with_files(&[
        ("Plan.md", "# Top plan\n"),
        ("Archive/Plan.md", "# Old plan\n"),
        ("Home.md", "# Home\n\n[[Plan]] and [[Archive/Plan]]\n"),
    ]);
    vault.run(&["check"]).success();
    let links = vault.json(&["graph", "links", "Home"]);
    assert_eq!(
        strings(&links["items"], "resolved"),
        ["Plan.md", "Archive/Plan.md"]
    );
}
