//! Files that are not clean Markdown: binary, empty, invalid UTF-8, malformed frontmatter.
//! None of them may stop the vault from being indexed.

use serde_json::{Value, json};

use crate::cli::support::{TestVault, strings};

fn odd_vault() -> TestVault {
    let vault = TestVault::with_files(&[
        (
            "Good.md",
            "# Good\n\nA normal note that links to [[Bad yaml]].\n",
        ),
        ("Empty.md", ""),
        (
            "Bad yaml.md",
            "---\ntitle: [unclosed\ntags: : :\n---\n# Bad yaml\n\nThe body is still indexed: quokka.\n",
        ),
    ]);
    vault.write("Binary.md", b"\x00\x01\x02\xff\xfePNG-ish bytes\x00");
    vault.write(
        "Latin1.md",
        b"# Latin\n\ncaf\xe9 au lait, encoded as Latin-1\n",
    );
    vault
}

#[test]
fn odd_files_are_indexed_and_reported_by_check() {
    let vault = odd_vault();
    let report = vault.json(&["index"]);
    assert_eq!(report["notes"], 5);
    assert_eq!(report["sync"]["parsed"], 5);

    let problems = vault.run(&["--json", "check"]).exit(1).json();
    let found: Vec<(String, String)> = problems["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("Bad yaml.md", "frontmatter_invalid"),
        ("Binary.md", "binary_file"),
        ("Latin1.md", "invalid_utf8"),
    ]
    .into_iter()
    .map(|(p, c)| (p.to_owned(), c.to_owned()))
    .collect();
    assert_eq!(found, expected);
    let invalid = &problems["items"][2];
    assert!(
        invalid["message"].as_str().unwrap().contains("`12`"),
        "the byte offset of the bad byte: {invalid}"
    );

    let text = vault.run(&["check"]).exit(1);
    assert!(
        text.stdout.contains("Binary.md:1: binary_file: "),
        "{}",
        text.stdout
    );
    assert!(text.stdout.ends_with("3 problems\n"), "{}", text.stdout);

    let stats = vault.json(&["stats"]);
    assert_eq!(stats["notes_with_problems"], 3);
    assert_eq!(stats["unresolved_links"], 0);
}

#[test]
fn odd_notes_can_still_be_shown_and_searched() {
    let vault = odd_vault();

    // Malformed frontmatter: the body is still parsed and searchable.
    let note = vault.json(&["note", "Bad yaml"]);
    let codes = strings(&note["diagnostics"], "code");
    assert_eq!(codes, ["frontmatter_invalid"]);
    assert_eq!(note["title"], "Bad yaml");
    let (hits, _) = vault.search(&["quokka"]);
    assert_eq!(hits, ["Bad yaml.md"]);
    let backlinks = vault.json(&["graph", "backlinks", "Bad yaml"]);
    assert_eq!(strings(&backlinks["items"], "source"), ["Good.md"]);

    // Invalid UTF-8: replaced bytes, the rest is searchable.
    let (hits, _) = vault.search(&["lait"]);
    assert_eq!(hits, ["Latin1.md"]);

    // An empty note is a note with nothing in it.
    let empty = vault.json(&["note", "Empty"]);
    assert_eq!(empty["size"], 0);
    assert_eq!(empty["word_count"], 0);
    // It carries a note-level diagnostic that `check` does not count as a problem (see above).
    assert_eq!(strings(&empty["diagnostics"], "code"), ["empty_file"]);

    // A binary file is listed but has no content.
    let binary = vault.json(&["note", "Binary"]);
    assert_eq!(binary["word_count"], 0);
    assert_eq!(binary["links"], json!([]));
    assert_eq!(strings(&binary["diagnostics"], "code"), ["binary_file"]);
    let content = vault.json(&["note", "Binary", "--content"]);
    assert!(
        content["content"]
            .as_str()
            .unwrap()
            .contains("PNG-ish bytes")
    );
}

#[test]
fn odd_files_survive_the_cache() {
    let vault = odd_vault();
    let first = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(first["sync"]["parsed"], 5);
    let second = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(second["sync"]["parsed"], 0);
    // Diagnostics come back from the cache unchanged.
    let problems: Value = vault.run_cached(&["--json", "check"]).exit(1).json();
    assert_eq!(
        strings(&problems["items"], "code"),
        ["frontmatter_invalid", "binary_file", "invalid_utf8"]
    );
}

#[test]
fn oversized_files_are_not_parsed() {
    let vault = TestVault::with_files(&[("Small.md", "# Small\n\nwombat\n")]);
    vault.write("Big.md", format!("# Big\n\n{}", "wombat ".repeat(2000)));
    let value = vault.json(&["--max-file-bytes", "1000", "search", "wombat"]);
    assert_eq!(strings(&value["items"], "path"), ["Small.md"]);
    let problems = vault
        .run(&["--max-file-bytes", "1000", "--json", "check"])
        .exit(1)
        .json();
    assert_eq!(strings(&problems["items"], "path"), ["Big.md"]);
    assert_eq!(strings(&problems["items"], "code"), ["file_too_large"]);
}
