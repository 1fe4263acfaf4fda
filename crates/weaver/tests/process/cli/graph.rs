//! `weaver graph`: neighbours, shortest paths, backlinks, outgoing links, orphans and
//! unresolved links on the demo vault, whose link structure is small enough to know exactly.

use serde_json::{Value, json};

use crate::cli::support::{TestVault, owned, sorted, strings};

#[test]
fn neighbors_by_depth() {
    let vault = TestVault::demo();
    let one = vault.json(&["graph", "neighbors", "Welcome"]);
    assert_eq!(one["total"], 5);
    assert_eq!(
        strings(&one["items"], "path"),
        owned(&[
            "Concepts/Wikilinks.md",
            "Concepts/Zettelkasten.md",
            "Daily/2026/11/2026-11-27.md",
            "Projects/Knowledge garden.md",
            "Weaver.md",
        ])
    );
    assert!(
        one["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["distance"] == 1)
    );

    let two = vault.json(&["graph", "neighbors", "Welcome", "--depth", "2"]);
    assert_eq!(two["total"], 7);
    let far: Vec<String> = two["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["distance"] == 2)
        .map(|n| n["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sorted(far),
        owned(&["Concepts/Café culture.md", "Daily/2026/11/2026-11-26.md"])
    );
    // Everything but the orphan (and the note itself) is within two hops.
    let all = strings(&two["items"], "path");
    assert!(!all.contains(&"Inbox idea.md".to_owned()));
    assert!(!all.contains(&"Welcome.md".to_owned()));

    let text = vault
        .run(&["graph", "neighbors", "Welcome", "--depth", "2"])
        .success();
    assert!(
        text.stdout
            .contains("Concepts/Café culture.md  Café culture  (2 hops)\n")
    );
    assert!(text.stdout.contains("Weaver.md  Weaver  (1 hop)\n"));
    assert!(text.stdout.ends_with("7 of 7 notes\n"), "{}", text.stdout);
}

#[test]
fn neighbors_by_direction_and_page() {
    let vault = TestVault::demo();
    let outgoing = vault.json(&["graph", "neighbors", "Welcome", "--direction", "out"]);
    assert_eq!(
        strings(&outgoing["items"], "path"),
        owned(&[
            "Concepts/Zettelkasten.md",
            "Daily/2026/11/2026-11-27.md",
            "Projects/Knowledge garden.md",
            "Weaver.md",
        ])
    );
    let incoming = vault.json(&["graph", "neighbors", "Welcome", "--direction", "in"]);
    assert_eq!(
        strings(&incoming["items"], "path"),
        owned(&["Concepts/Wikilinks.md", "Weaver.md"])
    );
    let page = vault.json(&[
        "graph",
        "neighbors",
        "Welcome",
        "--limit",
        "2",
        "--offset",
        "1",
    ]);
    assert_eq!(page["total"], 5);
    assert_eq!(
        strings(&page["items"], "path"),
        owned(&["Concepts/Zettelkasten.md", "Daily/2026/11/2026-11-27.md"])
    );
}

#[test]
fn path_between_notes() {
    let vault = TestVault::demo();
    // Following links either way, the daily note is two hops from the welcome note.
    let both = vault.json(&["graph", "path", "2026-11-26", "Welcome"]);
    let hops = strings(&both["notes"], "path");
    assert_eq!(hops.len(), 3, "{hops:?}");
    assert_eq!(hops.first().unwrap(), "Daily/2026/11/2026-11-26.md");
    assert_eq!(hops.last().unwrap(), "Welcome.md");

    // Following outgoing links only, it takes three, and every hop is a real link.
    let out = vault.json(&[
        "graph",
        "path",
        "2026-11-26",
        "Welcome",
        "--direction",
        "out",
    ]);
    let hops = strings(&out["notes"], "path");
    assert_eq!(hops.len(), 4, "{hops:?}");
    assert_eq!(hops.first().unwrap(), "Daily/2026/11/2026-11-26.md");
    assert_eq!(hops.last().unwrap(), "Welcome.md");
    for pair in hops.windows(2) {
        let links = vault.json(&["graph", "links", &pair[0]]);
        let targets: Vec<Value> = links["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["resolved"].clone())
            .collect();
        assert!(
            targets.contains(&json!(pair[1])),
            "{} does not link to {}",
            pair[0],
            pair[1]
        );
    }

    let text = vault.run(&["graph", "path", "Weaver", "Welcome"]).success();
    assert_eq!(text.stdout, "Weaver.md -> Welcome.md\n");
    let same = vault.json(&["graph", "path", "Welcome", "Welcome"]);
    assert_eq!(strings(&same["notes"], "path"), owned(&["Welcome.md"]));
}

#[test]
fn no_path_to_an_orphan() {
    let vault = TestVault::demo();
    let value = vault.json(&["graph", "path", "Inbox idea", "Welcome"]);
    assert_eq!(value, json!({ "found": false, "notes": [] }));
    let text = vault
        .run(&["graph", "path", "Inbox idea", "Welcome"])
        .success();
    assert_eq!(text.stdout, "no path\n");
}

#[test]
fn path_to_an_unknown_note_is_an_error() {
    let vault = TestVault::demo();
    let run = vault.run(&["graph", "path", "Welcome", "Nowhere"]).exit(2);
    assert!(
        run.one_stderr_line()
            .starts_with("error: [note_not_found] note not found: `Nowhere`"),
        "{}",
        run.stderr
    );
}

#[test]
fn backlinks_with_context_and_paging() {
    let vault = TestVault::demo();
    let all = vault.json(&["graph", "backlinks", "Weaver"]);
    assert_eq!(all["total"], 4);
    assert_eq!(
        strings(&all["items"], "source"),
        owned(&[
            "Concepts/Wikilinks.md",
            "Daily/2026/11/2026-11-27.md",
            "Projects/Knowledge garden.md",
            "Welcome.md",
        ])
    );
    assert_eq!(
        strings(&all["items"], "context"),
        owned(&[
            r"| alias in a table | [[Weaver\|the service]] |",
            "- Indexed the vault with [[Weaver]] in milliseconds. #journal",
            "- [x] Pick a [[Weaver|tool]]",
            "This small vault shows what [[Weaver]] understands. Try:",
        ])
    );
    assert_eq!(all["items"][2]["line"], 12);
    assert_eq!(all["items"][2]["display"], "tool");

    let page = vault.json(&[
        "graph",
        "backlinks",
        "Weaver",
        "--limit",
        "2",
        "--offset",
        "1",
    ]);
    assert_eq!(page["total"], 4);
    assert_eq!(
        strings(&page["items"], "source"),
        owned(&[
            "Daily/2026/11/2026-11-27.md",
            "Projects/Knowledge garden.md"
        ])
    );

    let text = vault.run(&["graph", "backlinks", "Weaver"]).success();
    assert!(
        text.stdout
            .contains("Welcome.md:9  This small vault shows what [[Weaver]] understands. Try:\n")
    );
    assert!(text.stdout.ends_with("4 of 4 backlinks\n"));
}

#[test]
fn outgoing_links_and_where_they_resolve() {
    let vault = TestVault::demo();
    let links = vault.json(&["graph", "links", "Weaver"]);
    assert_eq!(links["note"], "Weaver.md");
    assert_eq!(links["total"], links["items"].as_array().unwrap().len());
    assert_eq!(
        links["items"],
        json!([
            {
                "kind": "wikilink", "target": "Welcome", "fragment": null, "display": "vault",
                "line": 9, "resolved": "Welcome.md", "anchor_exists": null
            },
            {
                "kind": "wikilink", "target": "Concepts/Wikilinks", "fragment": null,
                "display": "wikilinks", "line": 12, "resolved": "Concepts/Wikilinks.md",
                "anchor_exists": null
            }
        ])
    );
    // Links to headings and blocks are checked; an embedded attachment resolves to its file.
    let garden = vault.run(&["graph", "links", "Knowledge garden"]).success();
    assert!(
        garden
            .stdout
            .contains("line 14: attachments/garden.png -> attachments/garden.png\n"),
        "{}",
        garden.stdout
    );
    assert!(
        garden
            .stdout
            .contains("line 18: 2026-11-27#Done -> Daily/2026/11/2026-11-27.md\n"),
        "{}",
        garden.stdout
    );
    let wikilinks = vault.run(&["graph", "links", "Wikilinks"]).success();
    assert!(
        wikilinks
            .stdout
            .contains("line 12: Zettelkasten#^atomic -> Concepts/Zettelkasten.md\n"),
        "{}",
        wikilinks.stdout
    );
    // Links inside code spans are not links.
    assert!(
        !wikilinks.stdout.contains("-> unresolved"),
        "{}",
        wikilinks.stdout
    );
}

#[test]
fn orphans_are_notes_without_links() {
    let vault = TestVault::demo();
    let value = vault.json(&["graph", "orphans"]);
    assert_eq!(
        value,
        json!({ "total": 1, "items": [{ "path": "Inbox idea.md", "title": "Inbox idea" }] })
    );
    let text = vault.run(&["graph", "orphans"]).success();
    assert_eq!(text.stdout, "Inbox idea.md\n1 of 1 orphans\n");
}

#[test]
fn unresolved_links_are_listed() {
    let vault = TestVault::demo();
    let value = vault.json(&["graph", "unresolved"]);
    assert_eq!(
        value,
        json!({
            "total": 1,
            "items": [{ "source": "Welcome.md", "target": "Missing note", "kind": "wikilink", "line": 14 }]
        })
    );
    let text = vault.run(&["graph", "unresolved"]).success();
    assert_eq!(
        text.stdout,
        "Welcome.md:14  [[Missing note]]\n1 of 1 unresolved links\n"
    );
}

#[test]
fn creating_the_missing_note_resolves_the_link() {
    let vault = TestVault::demo();
    vault.write(
        "Inbox/Missing note.md",
        "# Missing note\n\nNow it exists.\n",
    );
    let unresolved = vault.json(&["graph", "unresolved"]);
    assert_eq!(unresolved["total"], 0);
    let backlinks = vault.json(&["graph", "backlinks", "Missing note"]);
    assert_eq!(
        strings(&backlinks["items"], "source"),
        owned(&["Welcome.md"])
    );
}
