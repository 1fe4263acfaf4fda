//! `weaver index` and the on-disk cache: creation, incremental runs, `--cache-dir`,
//! `--no-cache`, and recovery from a deleted or damaged cache.

use serde_json::json;

use crate::cli::support::{Run, TestVault, owned, strings, tree};

/// The demo vault's notes, in path order.
const DEMO_NOTES: [&str; 9] = [
    "Concepts/Café culture.md",
    "Concepts/Wikilinks.md",
    "Concepts/Zettelkasten.md",
    "Daily/2026/11/2026-11-26.md",
    "Daily/2026/11/2026-11-27.md",
    "Inbox idea.md",
    "Projects/Knowledge garden.md",
    "Weaver.md",
    "Welcome.md",
];

#[test]
fn first_run_creates_the_cache_and_later_runs_parse_only_what_changed() {
    let vault = TestVault::demo();
    assert!(!vault.path(".weaver").exists());

    let first = vault.run_cached(&["--json", "index"]).success().json();
    assert!(vault.path(".weaver/cache.sqlite").is_file());
    assert_eq!(first["notes"], 9);
    assert_eq!(first["attachments"], 1);
    assert_eq!(first["cache"]["state"], "created");
    assert_eq!(first["sync"]["parsed"], 9);
    assert_eq!(first["sync"]["unchanged"], 0);
    let changes = &first["sync"]["changes"];
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["kind"] == "created")
    );
    assert_eq!(strings(changes, "path"), owned(&DEMO_NOTES));

    let second = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(second["cache"]["state"], "reused");
    assert_eq!(second["sync"]["parsed"], 0);
    assert_eq!(second["sync"]["unchanged"], 9);
    assert_eq!(second["sync"]["changes"], json!([]));

    let mut inbox = std::fs::read_to_string(vault.path("Inbox idea.md")).unwrap();
    inbox.push_str("\nA second thought about gardens.\n");
    vault.write("Inbox idea.md", inbox);
    let third = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(third["sync"]["parsed"], 1);
    assert_eq!(third["sync"]["unchanged"], 8);
    assert_eq!(
        third["sync"]["changes"],
        json!([{ "kind": "modified", "path": "Inbox idea.md" }])
    );
    // The edit is searchable on the next run, from the reused cache.
    let hits = vault
        .run_cached(&["--json", "search", "gardens"])
        .success()
        .json();
    assert_eq!(hits["total"], 1);
    assert_eq!(hits["items"][0]["path"], "Inbox idea.md");

    vault.write("Fresh.md", "# Fresh\n\nLinks to [[Weaver]].\n");
    std::fs::remove_file(vault.path("Weaver.md")).unwrap();
    let fourth = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(fourth["notes"], 9);
    assert_eq!(fourth["sync"]["parsed"], 1);
    let mut changes = fourth["sync"]["changes"].as_array().unwrap().clone();
    changes.sort_by_key(|c| c["path"].as_str().unwrap().to_owned());
    assert_eq!(
        changes,
        [
            json!({ "kind": "created", "path": "Fresh.md" }),
            json!({ "kind": "deleted", "path": "Weaver.md" }),
        ]
    );
}

#[test]
fn text_summary_names_counts_and_cache_state() {
    let vault = TestVault::demo();
    let first = vault.run_cached(&["index"]).success();
    assert!(
        first
            .stdout
            .starts_with("indexed 9 notes and 1 attachments in "),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .trim_end()
            .ends_with(": 9 parsed, 0 unchanged, 9 changes (cache: created)"),
        "{}",
        first.stdout
    );
    let second = vault.run_cached(&["index"]).success();
    assert!(
        second
            .stdout
            .trim_end()
            .ends_with(": 0 parsed, 9 unchanged, 0 changes (cache: reused)"),
        "{}",
        second.stdout
    );
}

#[test]
fn cache_dir_keeps_the_cache_outside_the_vault() {
    let vault = TestVault::demo();
    let before = tree(vault.root());
    let cache = vault.scratch().join("elsewhere");
    let cache_arg = cache.to_str().unwrap();

    let first = vault
        .run_cached(&["--cache-dir", cache_arg, "--json", "index"])
        .success()
        .json();
    assert_eq!(first["cache"]["state"], "created");
    assert_eq!(first["sync"]["parsed"], 9);
    assert!(cache.join("cache.sqlite").is_file());
    assert!(!vault.path(".weaver").exists());
    assert_eq!(
        tree(vault.root()),
        before,
        "the vault folder was written to"
    );

    let second = vault
        .run_cached(&["--cache-dir", cache_arg, "--json", "index"])
        .success()
        .json();
    assert_eq!(second["cache"]["state"], "reused");
    assert_eq!(second["sync"]["parsed"], 0);

    // The environment variable is the same setting.
    let mut cmd = vault.cmd();
    cmd.env("WEAVER_CACHE_DIR", &cache)
        .args(["--json", "index"]);
    let third = Run::of(&mut cmd).success().json();
    assert_eq!(third["cache"]["state"], "reused");
    assert_eq!(tree(vault.root()), before);
}

#[test]
fn no_cache_writes_nothing_anywhere() {
    let vault = TestVault::demo();
    // Point every conventional place for caches and temporary files into the scratch folder,
    // so that a write anywhere shows up in the comparison below.
    let home = vault.scratch().join("home");
    let tmp = vault.scratch().join("tmp");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let before = tree(vault.scratch());
    for args in [
        &["index"][..],
        &["search", "cafe"],
        &["note", "Welcome"],
        &["graph", "neighbors", "Welcome", "--depth", "2"],
        &["stats"],
        &["tags"],
    ] {
        let mut cmd = vault.cmd();
        cmd.env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("TMPDIR", &tmp)
            .arg("--no-cache")
            .args(args);
        Run::of(&mut cmd).success();
    }
    let report = vault.json(&["index"]);
    assert_eq!(report["cache"]["state"], "in_memory");
    assert_eq!(report["sync"]["parsed"], 9);
    assert_eq!(tree(vault.scratch()), before, "--no-cache wrote files");
}

#[test]
fn deleted_cache_is_recreated() {
    let vault = TestVault::demo();
    vault.run_cached(&["index"]).success();
    std::fs::remove_file(vault.path(".weaver/cache.sqlite")).unwrap();

    let report = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(report["cache"]["state"], "created");
    assert_eq!(report["sync"]["parsed"], 9);
    // The search index that survived is brought in line: no duplicate hits.
    let hits = vault
        .run_cached(&["--json", "search", "cafe"])
        .success()
        .json();
    assert_eq!(hits["total"], 3);

    // Deleting the whole folder is fine too, even for a query command.
    std::fs::remove_dir_all(vault.path(".weaver")).unwrap();
    let hits = vault
        .run_cached(&["--json", "search", "cafe"])
        .success()
        .json();
    assert_eq!(hits["total"], 3);
    assert!(vault.path(".weaver/cache.sqlite").is_file());
}

#[test]
fn garbage_cache_is_rebuilt_from_the_files() {
    let vault = TestVault::demo();
    vault.run_cached(&["index"]).success();
    std::fs::write(
        vault.path(".weaver/cache.sqlite"),
        "this is not a SQLite database\n".repeat(100),
    )
    .unwrap();

    let report = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(report["cache"]["state"], "rebuilt");
    let reason = report["cache"]["reason"].as_str().unwrap();
    assert!(reason.contains("cache.sqlite"), "{reason}");
    assert_eq!(report["sync"]["parsed"], 9);

    let stats = vault.run_cached(&["--json", "stats"]).success().json();
    assert_eq!(stats["notes"], 9);
    let again = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(again["cache"]["state"], "reused");
    assert_eq!(again["sync"]["parsed"], 0);
}

#[test]
fn garbage_cache_does_not_break_a_query_command() {
    let vault = TestVault::demo();
    vault.run_cached(&["index"]).success();
    std::fs::write(vault.path(".weaver/cache.sqlite"), b"\x00\x01garbage").unwrap();
    let run = vault.run_cached(&["--json", "search", "cafe"]).success();
    assert_eq!(run.json()["total"], 3);
}

#[test]
fn damaged_search_index_is_rebuilt() {
    let vault = TestVault::demo();
    vault.run_cached(&["index"]).success();
    // Flip one byte in the middle of every stored-documents file: the checksums no longer match.
    let search = vault.path(".weaver/search");
    let mut damaged = 0;
    for entry in std::fs::read_dir(&search).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "store") {
            let mut bytes = std::fs::read(&path).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            std::fs::write(&path, bytes).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 0, "no segment files in {}", search.display());

    let hits = vault
        .run_cached(&["--json", "search", "cafe"])
        .success()
        .json();
    assert_eq!(hits["total"], 3);
    assert_eq!(hits["items"][0]["path"], "Concepts/Café culture.md");
}

#[test]
fn ignore_patterns_leave_files_out() {
    let vault = TestVault::demo();
    let stats = vault.json(&["--ignore", "Daily/", "stats"]);
    assert_eq!(stats["notes"], 7);
    let (_, journal) = vault.search(&["--tag", "journal"]);
    assert_eq!(journal, 2);
    let ignored = vault.json(&["--ignore", "Daily/", "search", "--tag", "journal"]);
    assert_eq!(ignored["total"], 0);
    let ignored = vault.json(&["--ignore", "*.md", "stats"]);
    assert_eq!(ignored["notes"], 0);
    assert_eq!(ignored["attachments"], 1);
}
