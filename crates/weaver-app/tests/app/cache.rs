//! Shadow cache behaviour: incremental re-indexing, deletes, renames, and rebuilding a damaged
//! cache from the files.

use weaver_app::{CacheState, ChangeKind, Scope, SearchQuery, Vault, VaultOptions};
use weaver_core::VaultPath;

use crate::fixture::{open, vault, write};

const SPEC: &str = "
//- a.md
# A
Links to [[b]] and [[c#Section]].
//- b.md
---
tags: [x]
---
# B
Back to [[a]].
//- sub/c.md
# C
## Section
Plain text about zebras.
";

fn search_total(vault: &Vault, text: &str) -> usize {
    vault
        .search(&SearchQuery {
            text: text.to_owned(),
            limit: 10,
            ..SearchQuery::default()
        })
        .unwrap()
        .total
}

#[test]
fn second_open_reuses_everything() {
    let dir = vault(SPEC);
    let (v, report) = open(dir.path());
    assert_eq!(report.cache, CacheState::Created);
    assert_eq!(report.sync.parsed, 3);
    assert_eq!(report.notes, 3);
    drop(v);
    let (v, report) = open(dir.path());
    assert_eq!(report.cache, CacheState::Reused);
    assert_eq!(report.sync.parsed, 0);
    assert_eq!(report.sync.unchanged, 3);
    assert!(report.sync.changes.is_empty());
    // The reloaded cache answers exactly as the fresh parse did.
    let snapshot = v.snapshot();
    let a = snapshot.find_note("a").unwrap();
    assert_eq!(
        a.resolved,
        vec![
            Some(VaultPath::new("b.md").unwrap()),
            Some(VaultPath::new("sub/c.md").unwrap())
        ]
    );
    assert_eq!(search_total(&v, "zebras"), 1);
    assert!(dir.path().join(".weaver/cache.sqlite").exists());
}

#[test]
fn only_changed_files_are_parsed() {
    let dir = vault(SPEC);
    drop(open(dir.path()));
    write(
        dir.path(),
        "b.md",
        "# B\nNow mentions giraffes and [[sub/c]].\n",
    );
    let (v, report) = open(dir.path());
    assert_eq!(report.sync.parsed, 1);
    assert_eq!(report.sync.unchanged, 2);
    assert_eq!(report.sync.changes.len(), 1);
    assert_eq!(report.sync.changes[0].kind, ChangeKind::Modified);
    assert_eq!(search_total(&v, "giraffes"), 1);
    assert_eq!(v.snapshot().find_note("b").unwrap().note.tags.len(), 0);
}

#[test]
fn touched_but_identical_file_is_not_reparsed_into_changes() {
    let dir = vault(SPEC);
    drop(open(dir.path()));
    // Same bytes, new mtime: read and hashed, but not reported as a change.
    let body = std::fs::read_to_string(dir.path().join("a.md")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(dir.path().join("a.md"), body).unwrap();
    let (_v, report) = open(dir.path());
    assert!(report.sync.changes.is_empty(), "{:?}", report.sync.changes);
}

#[test]
fn deleted_file_is_removed_and_links_to_it_become_unresolved() {
    let dir = vault(SPEC);
    drop(open(dir.path()));
    std::fs::remove_file(dir.path().join("sub/c.md")).unwrap();
    let (v, report) = open(dir.path());
    assert_eq!(report.notes, 2);
    assert_eq!(
        report
            .sync
            .changes
            .iter()
            .map(|c| (c.path.as_str(), c.kind))
            .collect::<Vec<_>>(),
        vec![("sub/c.md", ChangeKind::Deleted)]
    );
    let snapshot = v.snapshot();
    assert_eq!(snapshot.find_note("a").unwrap().resolved[1], None);
    assert_eq!(search_total(&v, "zebras"), 0);
    // And the cache agrees after another restart.
    drop(snapshot);
    drop(v);
    let (v, _) = open(dir.path());
    assert_eq!(v.snapshot().find_note("a").unwrap().resolved[1], None);
}

#[test]
fn new_file_resolves_previously_broken_links() {
    let dir = vault("//- a.md\nSee [[later]].\n");
    let (v, _) = open(dir.path());
    assert_eq!(v.snapshot().unresolved(weaver_app::Page::ALL).total, 1);
    write(dir.path(), "notes/Later.md", "# Later\n");
    v.sync(&Scope::All).unwrap();
    let snapshot = v.snapshot();
    assert_eq!(snapshot.unresolved(weaver_app::Page::ALL).total, 0);
    assert_eq!(
        snapshot.find_note("a").unwrap().resolved[0],
        Some(VaultPath::new("notes/Later.md").unwrap())
    );
    drop(snapshot);
    drop(v);
    // The new resolution was persisted, not only held in memory.
    let (v, report) = open(dir.path());
    assert_eq!(report.sync.parsed, 0);
    assert_eq!(
        v.snapshot().find_note("a").unwrap().resolved[0],
        Some(VaultPath::new("notes/Later.md").unwrap())
    );
}

#[test]
fn renamed_file_moves_in_index_and_graph() {
    let dir = vault(SPEC);
    drop(open(dir.path()));
    std::fs::create_dir_all(dir.path().join("archive")).unwrap();
    std::fs::rename(dir.path().join("sub/c.md"), dir.path().join("archive/c.md")).unwrap();
    let (v, _) = open(dir.path());
    let snapshot = v.snapshot();
    // `[[c#Section]]` resolves by name, so it follows the note to its new folder.
    assert_eq!(
        snapshot.find_note("a").unwrap().resolved[1],
        Some(VaultPath::new("archive/c.md").unwrap())
    );
    let hits = v
        .search(&SearchQuery {
            text: "zebras".into(),
            limit: 10,
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(hits.hits.len(), 1);
    assert_eq!(hits.hits[0].path, "archive/c.md");
}

#[test]
fn garbage_cache_is_rebuilt_from_files() {
    let dir = vault(SPEC);
    drop(open(dir.path()));
    std::fs::write(
        dir.path().join(".weaver/cache.sqlite"),
        b"this is not a database at all, just text",
    )
    .unwrap();
    let _ = std::fs::remove_file(dir.path().join(".weaver/cache.sqlite-wal"));
    let _ = std::fs::remove_file(dir.path().join(".weaver/cache.sqlite-shm"));
    let (v, report) = open(dir.path());
    assert!(
        matches!(report.cache, CacheState::Rebuilt(_)),
        "{:?}",
        report.cache
    );
    assert_eq!(report.sync.parsed, 3);
    assert_eq!(search_total(&v, "zebras"), 1);
    drop(v);
    let (_, report) = open(dir.path());
    assert_eq!(report.cache, CacheState::Reused);
}

#[test]
fn damaged_search_index_is_rebuilt() {
    let dir = vault(SPEC);
    drop(open(dir.path()));
    std::fs::write(dir.path().join(".weaver/search/meta.json"), b"{ broken").unwrap();
    let (v, report) = open(dir.path());
    assert!(report.sync.search_rebuilt);
    assert_eq!(search_total(&v, "zebras"), 1);
    assert_eq!(v.search_index().num_docs(), 3);
}

#[test]
fn deleted_search_index_is_rebuilt() {
    let dir = vault(SPEC);
    drop(open(dir.path()));
    std::fs::remove_dir_all(dir.path().join(".weaver/search")).unwrap();
    let (v, report) = open(dir.path());
    assert!(report.sync.search_rebuilt);
    assert_eq!(search_total(&v, "zebras"), 1);
}

#[test]
fn second_process_indexes_in_memory_instead_of_sharing_the_cache() {
    let dir = vault(SPEC);
    let (first, _) = open(dir.path());
    let (second, report) = open(dir.path());
    assert_eq!(report.cache, CacheState::InUse);
    assert_eq!(report.notes, 3);
    assert_eq!(search_total(&second, "zebras"), 1);
    assert!(second.cache_dir().is_none());
    drop(first);
}

#[test]
fn custom_cache_dir_leaves_the_vault_untouched() {
    let dir = vault(SPEC);
    let cache = tempfile::tempdir().unwrap();
    let mut options = VaultOptions::new(dir.path());
    options.cache_dir = Some(cache.path().join("c"));
    let (v, _) = Vault::open(&options, &|_| {}).unwrap();
    assert!(!dir.path().join(".weaver").exists());
    assert!(cache.path().join("c/cache.sqlite").exists());
    assert_eq!(v.snapshot().notes().len(), 3);
}

#[test]
fn missing_vault_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Vault::open(&VaultOptions::new(dir.path().join("nope")), &|_| {}).unwrap_err();
    assert!(matches!(err, weaver_app::AppError::VaultNotFound(_)));
    assert!(err.to_string().contains("nope"), "{err}");
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let err = Vault::open(&VaultOptions::new(dir.path().join("file")), &|_| {}).unwrap_err();
    assert!(matches!(err, weaver_app::AppError::VaultNotADirectory(_)));
}

#[test]
fn oversized_and_binary_files_are_diagnostics_not_failures() {
    let dir = vault("//- ok.md\n# Fine\n");
    std::fs::write(dir.path().join("big.md"), "word ".repeat(400)).unwrap();
    std::fs::write(dir.path().join("bin.md"), b"\x00\x01\x02binary").unwrap();
    std::fs::write(dir.path().join("bad.md"), b"caf\xe9 [[ok]]\n").unwrap();
    let mut options = VaultOptions::new(dir.path());
    options.in_memory = true;
    options.max_file_bytes = 1000;
    let (v, report) = Vault::open(&options, &|_| {}).unwrap();
    assert_eq!(report.notes, 4);
    let codes: Vec<(String, &str)> = v
        .snapshot()
        .check()
        .iter()
        .map(|p| (p.path.to_string(), p.code.as_str()))
        .collect();
    assert!(
        codes.contains(&("big.md".into(), "file_too_large")),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("bin.md".into(), "binary_file")),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("bad.md".into(), "invalid_utf8")),
        "{codes:?}"
    );
    // The note with invalid bytes is still indexed, links and all.
    let snapshot = v.snapshot();
    assert_eq!(
        snapshot.find_note("bad").unwrap().resolved,
        vec![Some(VaultPath::new("ok.md").unwrap())]
    );
}

#[test]
fn graph_follows_text_only_and_link_edits() {
    let dir = vault(SPEC);
    let (v, _) = open(dir.path());
    let backlinks = |v: &Vault, note: &str| v.snapshot().backlink_count(note).unwrap();
    assert_eq!(backlinks(&v, "b"), 1);
    // Text-only edit of the linking note: same links, same graph.
    write(
        dir.path(),
        "a.md",
        "# A\nReworded: [[b]] and [[c#Section]].\n",
    );
    v.sync(&Scope::All).unwrap();
    assert_eq!(backlinks(&v, "b"), 1);
    assert_eq!(backlinks(&v, "sub/c"), 1);
    // Dropping a link updates backlinks of its old target.
    write(dir.path(), "a.md", "# A\nOnly [[c#Section]] now.\n");
    v.sync(&Scope::All).unwrap();
    assert_eq!(backlinks(&v, "b"), 0);
    assert_eq!(backlinks(&v, "sub/c"), 1);
    // Retargeting keeps the count but moves it.
    write(dir.path(), "a.md", "# A\nOnly [[b]] now.\n");
    v.sync(&Scope::All).unwrap();
    assert_eq!(backlinks(&v, "b"), 1);
    assert_eq!(backlinks(&v, "sub/c"), 0);
}

/// Opens `dir` with the cache at `cache` and checks that the vault answers queries and search.
fn open_with_cache(dir: &std::path::Path, cache: &std::path::Path) -> (Vault, CacheState) {
    let mut options = VaultOptions::new(dir);
    options.cache_dir = Some(cache.to_path_buf());
    let (v, report) = Vault::open(&options, &|_| {}).unwrap();
    assert_eq!(report.notes, 3);
    assert_eq!(search_total(&v, "zebras"), 1);
    (v, report.cache)
}

#[test]
fn entries_in_the_way_inside_the_cache_are_rebuilt() {
    // A file where the search index's folder should be.
    let dir = vault(SPEC);
    write(dir.path(), ".weaver/search", "not an index\n");
    let (v, cache) = open_with_cache(dir.path(), &dir.path().join(".weaver"));
    assert!(matches!(cache, CacheState::Rebuilt(_)), "{cache:?}");
    assert!(dir.path().join(".weaver/search/meta.json").is_file());
    drop(v);
    assert_eq!(open(dir.path()).1.cache, CacheState::Reused);

    // An empty folder where the database, or the lock file, should be (with no database yet,
    // the lock in the way leaves a cache that is simply new).
    for entry in ["cache.sqlite", "lock"] {
        let dir = vault(SPEC);
        std::fs::create_dir_all(dir.path().join(".weaver").join(entry)).unwrap();
        let (v, cache) = open_with_cache(dir.path(), &dir.path().join(".weaver"));
        if entry == "lock" {
            assert_eq!(cache, CacheState::Created);
        } else {
            assert!(
                matches!(cache, CacheState::Rebuilt(_)),
                "{entry}: {cache:?}"
            );
        }
        assert!(dir.path().join(".weaver").join(entry).is_file(), "{entry}");
        drop(v);
        assert_eq!(open(dir.path()).1.cache, CacheState::Reused, "{entry}");
    }
}

#[test]
fn a_cache_that_cannot_be_made_is_kept_in_memory() {
    // `.weaver` is a file of the user's; a cache folder below a file (`ENOTDIR`); a folder with
    // unknown content where the database should be. None is removed, and each vault serves.
    let dir = vault(SPEC);
    write(dir.path(), ".weaver", "mine\n");
    let (v, cache) = open_with_cache(dir.path(), &dir.path().join(".weaver"));
    assert!(
        matches!(&cache, CacheState::Unavailable(reason) if reason.contains(".weaver")),
        "{cache:?}"
    );
    assert!(v.cache_dir().is_none());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".weaver")).unwrap(),
        "mine\n"
    );

    let dir = vault(SPEC);
    write(dir.path(), "blocker", "a file\n");
    let (_v, cache) = open_with_cache(dir.path(), &dir.path().join("blocker/cache"));
    assert!(matches!(cache, CacheState::Unavailable(_)), "{cache:?}");

    let dir = vault(SPEC);
    write(dir.path(), ".weaver/cache.sqlite/keep", "unknown\n");
    let (_v, cache) = open_with_cache(dir.path(), &dir.path().join(".weaver"));
    assert!(matches!(cache, CacheState::Unavailable(_)), "{cache:?}");
    assert!(dir.path().join(".weaver/cache.sqlite/keep").is_file());
}
