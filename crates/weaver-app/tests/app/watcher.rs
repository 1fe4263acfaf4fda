//! The live index on a real temporary folder: every change reaches queries without a restart.
//! Waits are bounded polls, never fixed sleeps asserted against a clock.

use std::sync::Arc;
use std::time::Duration;

use weaver_app::{Page, SearchQuery, Vault, WatchOptions};

use crate::fixture::{eventually, open, vault, watch_fast, write};

fn found(vault: &Vault, text: &str) -> usize {
    vault
        .search(&SearchQuery {
            text: text.to_owned(),
            limit: 100,
            ..SearchQuery::default()
        })
        .unwrap()
        .total
}

fn start(spec: &str) -> (tempfile::TempDir, Arc<Vault>, weaver_app::WatchHandle) {
    let dir = vault(spec);
    let (v, _) = open(dir.path());
    let v = Arc::new(v);
    let handle = watch_fast(&v);
    (dir, v, handle)
}

#[test]
fn create_modify_delete_reach_the_index() {
    let (dir, v, handle) = start("//- a.md\nLinks to [[new note]].\n");
    write(dir.path(), "new note.md", "# New\nkangaroo\n");
    eventually("created note searchable", || found(&v, "kangaroo") == 1);
    eventually("link resolved", || {
        v.snapshot().unresolved(Page::ALL).total == 0
    });
    write(dir.path(), "new note.md", "# New\nplatypus\n");
    eventually("modified note searchable", || {
        found(&v, "platypus") == 1 && found(&v, "kangaroo") == 0
    });
    std::fs::remove_file(dir.path().join("new note.md")).unwrap();
    eventually("deleted note gone", || {
        found(&v, "platypus") == 0 && v.snapshot().unresolved(Page::ALL).total == 1
    });
    handle.stop();
}

#[test]
fn folder_rename_and_delete() {
    let (dir, v, handle) = start(
        "//- proj/one.md\nwombat one\n//- proj/deep/two.md\nwombat two\n//- root.md\n[[one]]\n",
    );
    std::fs::rename(dir.path().join("proj"), dir.path().join("archive")).unwrap();
    eventually("notes moved with their folder", || {
        let s = v.snapshot();
        s.get(&weaver_core::VaultPath::new("archive/deep/two.md").unwrap())
            .is_some()
            && s.get(&weaver_core::VaultPath::new("proj/one.md").unwrap())
                .is_none()
    });
    assert_eq!(found(&v, "wombat"), 2);
    assert_eq!(
        v.snapshot().find_note("root").unwrap().resolved[0]
            .as_ref()
            .unwrap()
            .as_str(),
        "archive/one.md"
    );
    std::fs::remove_dir_all(dir.path().join("archive")).unwrap();
    eventually("folder delete removes its notes", || {
        v.snapshot().notes().len() == 1 && found(&v, "wombat") == 0
    });
    handle.stop();
}

#[test]
fn ignored_folders_are_not_indexed() {
    let (dir, v, handle) = start("//- a.md\nhello\n");
    write(dir.path(), ".obsidian/workspace.md", "koala\n");
    write(dir.path(), ".trash/old.md", "koala\n");
    write(dir.path(), "b.md", "marker note\n");
    eventually("b indexed", || found(&v, "marker") == 1);
    assert_eq!(found(&v, "koala"), 0);
    assert_eq!(v.snapshot().notes().len(), 2);
    handle.stop();
}

#[test]
fn a_burst_of_files_is_coalesced_and_complete() {
    let (dir, v, handle) = start("//- a.md\nstart\n");
    let reports = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    drop(handle);
    let counter = Arc::clone(&reports);
    let handle = weaver_app::watch(
        Arc::clone(&v),
        WatchOptions {
            debounce: Duration::from_millis(50),
            rescan: Duration::from_secs(3600),
        },
        move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        },
    )
    .unwrap();
    for i in 0..1500 {
        write(
            dir.path(),
            &format!("burst/{}/n{i}.md", i % 10),
            &format!("burst note {i} echidna\n"),
        );
    }
    eventually("all burst notes indexed", || {
        v.snapshot().notes().len() == 1501
    });
    eventually("all burst notes searchable", || {
        found(&v, "echidna") == 1500
    });
    let syncs = reports.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        syncs < 100,
        "1500 files should coalesce into few syncs, got {syncs}"
    );
    handle.stop();
}

/// `WatchedVault`, the open-and-watch of `weaver serve` and `weaver mcp --http`: the hook runs
/// before the watcher starts, so a subscriber sees the first change; stopping the watcher stops
/// live updates; an error from the hook fails the open.
#[test]
fn a_watched_vault_sees_changes_until_it_stops_watching() {
    let dir = vault("//- a.md\n# A\n");
    let mut options = weaver_app::VaultOptions::new(dir.path());
    options.in_memory = true;
    let mut subscribed = None;
    let open =
        weaver_app::WatchedVault::open("notes", &options, Some(WatchOptions::default()), |v| {
            subscribed = Some(v.subscribe());
            Ok(())
        })
        .unwrap();
    assert_eq!(open.watch_error, None);
    assert_eq!(open.cache_error, None);
    let mut changes = subscribed.unwrap();
    write(dir.path(), "b.md", "quokkalive\n");
    eventually("the new note is indexed", || {
        found(&open.vault, "quokkalive") == 1
    });
    assert!(matches!(
        changes.try_recv(),
        Ok(weaver_app::VaultEvent::Synced(_))
    ));
    assert!(open.watch_stats().is_some());
    open.stop_watching();
    assert!(open.watch_stats().is_none());

    let refused =
        weaver_app::WatchedVault::open("notes", &options, Some(WatchOptions::default()), |_| {
            Err(weaver_app::AppError::Cancelled)
        });
    assert!(matches!(refused, Err(weaver_app::AppError::Cancelled)));
}
