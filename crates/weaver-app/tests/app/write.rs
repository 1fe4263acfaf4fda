//! Safe writes on real files: preconditions, races, path safety, patching, moves with link
//! rewriting, deletes, and events.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Barrier};

use weaver_app::{
    AppError, ChangeKind, Page, Precondition, SearchQuery, Vault, VaultEvent, VaultOptions,
};
use weaver_core::{EditOp, content_hash};

use crate::fixture::{open, open_in_memory, vault, write};

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap()
}

fn hash_of(root: &Path, path: &str) -> String {
    content_hash(&std::fs::read(root.join(path)).unwrap())
}

fn found(v: &Vault, text: &str) -> Vec<String> {
    v.search(&SearchQuery {
        text: text.to_owned(),
        limit: 50,
        ..SearchQuery::default()
    })
    .unwrap()
    .hits
    .into_iter()
    .map(|h| h.path)
    .collect()
}

/// Every file of a vault (hidden folders excluded), path -> bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let rel = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn create_replace_and_preconditions() {
    let dir = vault("//- a.md\n# A\n");
    let v = open_in_memory(dir.path());
    let created = v
        .write_note("new/Note.md", b"# New\nquokka\n", &Precondition::Absent)
        .unwrap();
    assert!(created.created);
    assert_eq!(created.hash, content_hash(b"# New\nquokka\n"));
    // Visible to queries as soon as the write returns.
    assert_eq!(found(&v, "quokka"), vec!["new/Note.md"]);
    assert!(matches!(
        v.write_note("new/Note.md", b"again", &Precondition::Absent),
        Err(AppError::AlreadyExists(_))
    ));
    let err = v
        .write_note("new/Note.md", b"x", &Precondition::Matches("0".repeat(64)))
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict { .. }), "{err}");
    let replaced = v
        .write_note(
            "new/Note.md",
            b"# New\nwallaby\n",
            &Precondition::Matches(created.hash),
        )
        .unwrap();
    assert!(!replaced.created);
    assert_eq!(found(&v, "wallaby"), vec!["new/Note.md"]);
    assert!(found(&v, "quokka").is_empty());
    // If-Match on a missing note is a conflict too.
    assert!(matches!(
        v.write_note("gone.md", b"x", &Precondition::Matches("1".repeat(64))),
        Err(AppError::Conflict { actual: None, .. })
    ));
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("new"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn racing_writers_with_if_match_exactly_one_wins_per_version() {
    let dir = vault("//- race.md\nversion 0\n");
    let v = Arc::new(open_in_memory(dir.path()));
    let mut version_hash = hash_of(dir.path(), "race.md");
    for round in 1..=5 {
        let writers = 8;
        let barrier = Arc::new(Barrier::new(writers));
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (v, barrier, base) =
                    (Arc::clone(&v), Arc::clone(&barrier), version_hash.clone());
                std::thread::spawn(move || {
                    let body = format!("version {round} by writer {w}\n");
                    barrier.wait();
                    v.write_note("race.md", body.as_bytes(), &Precondition::Matches(base))
                        .map(|o| (o.hash, body))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}");
        for r in &results {
            if let Err(e) = r {
                assert!(matches!(e, AppError::Conflict { .. }), "{e}");
            }
        }
        let (hash, body) = winners[0];
        // Nothing lost: the file holds exactly the winner's bytes.
        assert_eq!(&read(dir.path(), "race.md"), body);
        version_hash = hash.clone();
    }
}

#[test]
fn an_external_edit_is_never_overwritten() {
    let dir = vault("//- note.md\n# Note\n## Tasks\n- one\n");
    let v = open_in_memory(dir.path());
    let seen = hash_of(dir.path(), "note.md");
    // Another program (Obsidian, git) saves in between.
    write(
        dir.path(),
        "note.md",
        "# Note\n## Tasks\n- one\n- added in Obsidian\n",
    );
    let err = v
        .patch_note(
            "note.md",
            &[EditOp::Append {
                text: "- from the API\n".into(),
            }],
            Some(&seen),
        )
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict { .. }), "{err}");
    assert_eq!(
        read(dir.path(), "note.md"),
        "# Note\n## Tasks\n- one\n- added in Obsidian\n"
    );
    let err = v
        .write_note("note.md", b"overwrite", &Precondition::Matches(seen))
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict { .. }));
    assert!(read(dir.path(), "note.md").contains("added in Obsidian"));
}

#[test]
fn paths_cannot_escape_the_vault() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("vault");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(outer.path().join("outside")).unwrap();
    write(&root, "a.md", "# A\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outer.path().join("outside"), root.join("link")).unwrap();
    let v = open_in_memory(&root);
    for bad in [
        "../escape.md",
        "a/../../escape.md",
        "/etc/passwd.md",
        "C:\\Windows\\x.md",
        "\\\\server\\share\\x.md",
        "a\0b.md",
        "line\nbreak.md",
        ".obsidian/app.md",
        ".git/config.md",
        ".weaver/x.md",
        "sub/.git/x.md",
        "",
    ] {
        let err = v.write_note(bad, b"x", &Precondition::Any).unwrap_err();
        assert!(
            matches!(err, AppError::InvalidPath(_)),
            "{bad:?} gave {err}"
        );
    }
    #[cfg(unix)]
    {
        let err = v
            .write_note("link/x.md", b"x", &Precondition::Any)
            .unwrap_err();
        assert!(matches!(err, AppError::SymlinkNotAllowed(_)), "{err}");
        assert!(!outer.path().join("outside/x.md").exists());
    }
    assert!(matches!(
        v.write_note("image.png", b"x", &Precondition::Any),
        Err(AppError::NotANote(_))
    ));
    assert!(matches!(
        v.write_note("bad.md", b"caf\xe9", &Precondition::Any),
        Err(AppError::InvalidContent { .. })
    ));
    // Nothing was written anywhere.
    assert_eq!(tree(&root).len(), 1);
}

#[test]
fn patch_edits_in_place_and_reindexes() {
    let dir = vault(
        "//- plan.md\n---\nstatus: draft # keep me\ntags: [a]\n---\n# Plan\n## Goals\nold goal\n### Detail\ndetail\n## Later\nlater\n",
    );
    let v = open_in_memory(dir.path());
    let out = v
        .patch_note(
            "plan.md",
            &[
                EditOp::ReplaceSection {
                    heading: "Goals".into(),
                    text: "new goal echidna\n".into(),
                },
                EditOp::SetFrontmatter {
                    key: "status".into(),
                    value: serde_json::json!("active"),
                },
            ],
            None,
        )
        .unwrap();
    let text = read(dir.path(), "plan.md");
    assert!(
        text.contains("## Goals\nnew goal echidna\n## Later\nlater\n"),
        "{text}"
    );
    assert!(!text.contains("old goal") && !text.contains("### Detail"));
    assert!(text.contains("tags: [a]\n"));
    assert_eq!(out.hash, content_hash(text.as_bytes()));
    assert_eq!(found(&v, "echidna"), vec!["plan.md"]);
    let fm = v
        .snapshot()
        .find_note("plan")
        .unwrap()
        .note
        .frontmatter
        .clone()
        .unwrap();
    assert_eq!(fm["status"], "active");
    let err = v
        .patch_note(
            "plan.md",
            &[EditOp::AppendToSection {
                heading: "Nope".into(),
                text: "x".into(),
            }],
            None,
        )
        .unwrap_err();
    assert!(matches!(err, AppError::Edit(_)), "{err}");
    assert!(matches!(
        v.patch_note("missing.md", &[EditOp::Append { text: "x".into() }], None),
        Err(AppError::NoteNotFound { .. })
    ));
}

const LINKED: &str = "
//- Projects/Plan.md
# Plan
## Goals
Goals here. ^g1
//- Daily/2024-01-01.md
Worked on [[Plan]], see [[Plan#Goals|the goals]] and [[Projects/Plan#^g1]].
Also [md link](../Projects/Plan.md#Goals) and ![[Plan]].
//- Index.md
- [[Plan|the plan]]
- [abs](Projects/Plan.md)
- [[Other]] stays
//- Other.md
Unrelated [[Index]].
";

#[test]
fn move_rewrites_every_link_and_round_trips() {
    let dir = vault(LINKED);
    let v = open_in_memory(dir.path());
    let original = tree(dir.path());
    let out = v
        .move_note("Projects/Plan.md", "Archive/Roadmap.md", true, None)
        .unwrap();
    assert_eq!(out.moved.len(), 1);
    let daily = read(dir.path(), "Daily/2024-01-01.md");
    assert_eq!(
        daily,
        "Worked on [[Roadmap]], see [[Roadmap#Goals|the goals]] and [[Archive/Roadmap#^g1]].\nAlso [md link](../Archive/Roadmap.md#Goals) and ![[Roadmap]].\n"
    );
    let index = read(dir.path(), "Index.md");
    assert_eq!(
        index,
        "- [[Roadmap|the plan]]\n- [abs](Archive/Roadmap.md)\n- [[Other]] stays\n"
    );
    assert_eq!(read(dir.path(), "Other.md"), "Unrelated [[Index]].\n");
    // The index follows: nothing unresolved, backlinks moved with the note.
    let s = v.snapshot();
    assert_eq!(s.unresolved(Page::ALL).total, 0);
    assert_eq!(s.backlink_count("Archive/Roadmap.md").unwrap(), 7);
    assert!(s.find_note("Projects/Plan.md").is_err());
    drop(s);
    // And back: every byte of every file as before.
    v.move_note("Archive/Roadmap.md", "Projects/Plan.md", true, None)
        .unwrap();
    let _ = std::fs::remove_dir(dir.path().join("Archive"));
    assert_eq!(tree(dir.path()), original);
}

#[test]
fn a_move_rewrites_links_saved_by_another_program_before_the_index_saw_them() {
    // No watcher here: the index knows nothing of the files written below, as a served vault
    // within the watcher's debounce after another program saved them.
    let dir = vault(LINKED);
    let v = open_in_memory(dir.path());
    write(
        dir.path(),
        "New.md",
        "Fresh [[Plan]] and [[Projects/Plan#Goals]].\n",
    );
    write(
        dir.path(),
        "Other.md",
        "Unrelated [[Index]], now also [[Plan]].\n",
    );
    v.move_note("Projects/Plan.md", "Archive/Roadmap.md", true, None)
        .unwrap();
    assert_eq!(
        read(dir.path(), "New.md"),
        "Fresh [[Roadmap]] and [[Archive/Roadmap#Goals]].\n"
    );
    assert_eq!(
        read(dir.path(), "Other.md"),
        "Unrelated [[Index]], now also [[Roadmap]].\n"
    );
    assert_eq!(v.snapshot().unresolved(Page::ALL).total, 0);
}

#[test]
fn move_folder_and_refusals() {
    let dir = vault(LINKED);
    let v = open_in_memory(dir.path());
    let out = v
        .move_note("Projects", "Work/Projects", true, None)
        .unwrap();
    assert_eq!(out.moved[0].1.as_str(), "Work/Projects/Plan.md");
    // Path-qualified links that still resolve by path suffix keep their bytes.
    assert!(read(dir.path(), "Daily/2024-01-01.md").contains("[[Projects/Plan#^g1]]"));
    assert!(read(dir.path(), "Daily/2024-01-01.md").contains("(../Work/Projects/Plan.md#Goals)"));
    assert_eq!(v.snapshot().unresolved(Page::ALL).total, 0);
    assert!(matches!(
        v.move_note("Index.md", "Other.md", true, None),
        Err(AppError::DestinationExists(_))
    ));
    assert!(matches!(
        v.move_note("Nope.md", "Else.md", true, None),
        Err(AppError::NoteNotFound { .. })
    ));
    assert!(matches!(
        v.move_note("Index.md", "Index.txt", true, None),
        Err(AppError::InvalidMove { .. })
    ));
    assert!(matches!(
        v.move_note("Index.md", "../x.md", true, None),
        Err(AppError::InvalidPath(_))
    ));
    assert!(matches!(
        v.move_note("Index.md", "I2.md", true, Some("stale")),
        Err(AppError::Conflict { .. })
    ));
}

#[test]
fn delete_to_trash_or_permanently() {
    let dir = vault("//- a.md\nkiwi [[b]]\n//- b.md\nb\n//- sub/c.md\nc\n");
    let v = open_in_memory(dir.path());
    let out = v.delete_note("b.md", false, None).unwrap();
    assert_eq!(out.trashed_to.unwrap().as_str(), ".trash/b.md");
    assert!(dir.path().join(".trash/b.md").exists());
    assert_eq!(v.snapshot().unresolved(Page::ALL).total, 1);
    write(dir.path(), "b.md", "b again\n");
    v.sync(&weaver_app::Scope::All).unwrap();
    let out = v.delete_note("b.md", false, None).unwrap();
    assert_eq!(out.trashed_to.unwrap().as_str(), ".trash/b 1.md");
    let c = hash_of(dir.path(), "sub/c.md");
    assert!(matches!(
        v.delete_note("sub/c.md", true, Some("wrong")),
        Err(AppError::Conflict { .. })
    ));
    v.delete_note("sub/c.md", true, Some(&c)).unwrap();
    assert!(!dir.path().join("sub/c.md").exists());
    assert_eq!(v.snapshot().notes().len(), 1);
    assert!(matches!(
        v.delete_note("sub/c.md", true, None),
        Err(AppError::NoteNotFound { .. })
    ));
}

#[test]
fn read_only_vaults_refuse_writes() {
    let dir = vault("//- a.md\nA\n");
    let mut options = VaultOptions::new(dir.path());
    options.in_memory = true;
    options.read_only = true;
    let (v, _) = Vault::open(&options, &|_| {}).unwrap();
    assert!(matches!(
        v.write_note("b.md", b"x", &Precondition::Any),
        Err(AppError::ReadOnly)
    ));
    assert!(matches!(
        v.delete_note("a.md", true, None),
        Err(AppError::ReadOnly)
    ));
    assert!(dir.path().join("a.md").exists());
}

#[test]
fn writes_publish_events() {
    let dir = vault("//- a.md\nA\n");
    let (v, _) = open(dir.path());
    let mut events = v.subscribe();
    v.write_note("b.md", b"# B\n", &Precondition::Absent)
        .unwrap();
    let VaultEvent::Synced(report) = events.try_recv().unwrap();
    assert_eq!(report.changes.len(), 1);
    assert_eq!(report.changes[0].path.as_str(), "b.md");
    assert_eq!(report.changes[0].kind, ChangeKind::Created);
}
