//! `Vault::read_note`, the one read of a note's bytes behind the CLI, REST and MCP: it
//! resolves names like every query, returns the bytes on disk with their hash, brings the index
//! up to date when another program changed the file, and never reads through a symbolic link.

use weaver_app::{AppError, CancellationToken};
use weaver_core::{VaultPath, content_hash};

use crate::fixture::{open_in_memory, write};

#[test]
fn a_read_resolves_names_and_returns_the_bytes_with_their_hash() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "Projects/Plan.md",
        "---\naliases: [roadmap]\n---\n# Plan\n",
    );
    let v = open_in_memory(root);
    for input in ["Projects/Plan.md", "Projects/Plan", "plan", "roadmap"] {
        let read = v.read_note(input).unwrap();
        assert_eq!(read.path.as_str(), "Projects/Plan.md", "{input}");
        let on_disk = std::fs::read(root.join("Projects/Plan.md")).unwrap();
        assert_eq!(read.bytes, on_disk, "{input}");
        assert_eq!(read.hash, content_hash(&on_disk), "{input}");
    }
    match v.read_note("Projcts/Plan.md").unwrap_err() {
        AppError::NoteNotFound { suggestions, .. } => {
            assert_eq!(suggestions, vec!["Projects/Plan.md".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_note_changed_behind_the_index_is_reindexed_before_it_is_described() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Plan.md", "# Plan\n");
    let v = open_in_memory(root);
    // Another program rewrites the file; no watcher runs.
    write(
        root,
        "Plan.md",
        "# Plan\n\n## Risks\nLinks to [[Elsewhere]].\n",
    );
    let read = v.read_note("Plan").unwrap();
    let on_disk = std::fs::read(root.join("Plan.md")).unwrap();
    assert_eq!(read.bytes, on_disk);
    let record = read.snapshot.get(&read.path).unwrap();
    assert_eq!(
        record.meta.hash, read.hash,
        "the snapshot describes the bytes"
    );
    let details = read.details(&CancellationToken::new()).unwrap();
    assert_eq!(details.hash, read.hash);
    assert_eq!(details.size, on_disk.len() as u64);
    let headings: Vec<&str> = details.headings.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(headings, ["Plan", "Risks"]);
    assert_eq!(details.links.len(), 1);
    // And the vault's own snapshot has caught up too.
    let now = v.snapshot();
    let record = now.get(&VaultPath::normalize("Plan.md").unwrap()).unwrap();
    assert_eq!(record.meta.hash, read.hash);
}

#[test]
fn a_note_swapped_for_a_symlink_is_never_read_through_it() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("vault");
    std::fs::create_dir_all(&root).unwrap();
    write(&root, "Plan.md", "# Plan\n");
    write(outer.path(), "secret.md", "the secret outside\n");
    let v = open_in_memory(&root);
    std::fs::remove_file(root.join("Plan.md")).unwrap();
    std::os::unix::fs::symlink(outer.path().join("secret.md"), root.join("Plan.md")).unwrap();
    match v.read_note("Plan") {
        Err(AppError::SymlinkNotAllowed(path)) => assert_eq!(path, "Plan.md"),
        other => panic!("{other:?}"),
    }
    // A file removed behind the index is not found, under the path it had.
    std::fs::remove_file(root.join("Plan.md")).unwrap();
    match v.read_note("Plan") {
        Err(AppError::NoteNotFound { path, .. }) => assert_eq!(path, "Plan.md"),
        other => panic!("{other:?}"),
    }
}
