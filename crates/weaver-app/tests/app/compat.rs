//! Compatibility with a real public vault (`../shared/vaults/obsidian-hub`), when present, and a
//! generated one otherwise-identical checks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use weaver_app::vaultgen::{GenOptions, write_vault};
use weaver_app::{Page, Vault, VaultOptions};

fn hub() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vaults/obsidian-hub");
    if path.is_dir() {
        Some(path)
    } else {
        eprintln!("skipping: {} is absent", path.display());
        None
    }
}

/// The invariants every indexed vault must satisfy.
fn check_invariants(vault: &Vault) {
    let s = vault.snapshot();
    let stats = s.stats();
    // Every link is either resolved or listed as unresolved.
    assert_eq!(
        stats.resolved_links + s.unresolved(Page::ALL).total,
        stats.links
    );
    // Backlink counts equal outgoing counts in total, note by note.
    let mut incoming: HashMap<String, usize> = HashMap::new();
    let mut note_links = 0;
    for note in s.notes() {
        for target in note.resolved.iter().flatten() {
            if target.is_note() {
                note_links += 1;
                *incoming.entry(target.to_string()).or_default() += 1;
            }
        }
    }
    let mut backlinks = 0;
    for note in s.notes() {
        let n = s.backlink_count(note.path.as_str()).unwrap();
        assert_eq!(
            n,
            incoming.get(note.path.as_str()).copied().unwrap_or(0),
            "{}",
            note.path
        );
        backlinks += n;
    }
    assert_eq!(backlinks, note_links);
    assert_eq!(s.graph().edge_count(), note_links);
    // Every link range points at link syntax in the file.
    for note in s.notes().iter().step_by(7) {
        let bytes = std::fs::read(vault.root().join(note.path.as_str())).unwrap();
        for link in &note.note.links {
            let text = &bytes[link.range.clone()];
            assert!(
                text.starts_with(b"[") || text.starts_with(b"!"),
                "{}: {:?}",
                note.path,
                String::from_utf8_lossy(text)
            );
        }
    }
    // The search index holds every note.
    assert_eq!(vault.search_index().num_docs(), stats.notes as u64);
}

#[test]
fn obsidian_hub_indexes_cleanly() {
    let Some(source) = hub() else { return };
    let cache = tempfile::tempdir().unwrap();
    let mut options = VaultOptions::new(&source);
    options.cache_dir = Some(cache.path().join("cache"));
    let (vault, report) = Vault::open(&options, &|_| {}).unwrap();
    assert!(report.notes > 6000, "{}", report.notes);
    check_invariants(&vault);
    let stats = vault.snapshot().stats();
    assert!(stats.links > 20_000, "{stats:?}");
    // The hub is a well-kept vault: nearly every link resolves (attachments are not included).
    assert!(
        stats.unresolved_links * 20 < stats.links,
        "too many unresolved: {stats:?}"
    );
    drop(vault);
    // A warm start over a read-only vault reuses everything.
    let (_, report) = Vault::open(&options, &|_| {}).unwrap();
    assert_eq!(report.sync.parsed, 0);
}

#[test]
fn generated_vault_satisfies_invariants() {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_vault(
        &dir.path().join("v"),
        &GenOptions {
            notes: 600,
            seed: 3,
        },
    )
    .unwrap();
    let mut options = VaultOptions::new(dir.path().join("v"));
    options.in_memory = true;
    let (vault, report) = Vault::open(&options, &|_| {}).unwrap();
    assert_eq!(report.notes, summary.notes);
    check_invariants(&vault);
    let stats = vault.snapshot().stats();
    assert_eq!(stats.links, summary.links);
    assert_eq!(stats.unresolved_links, summary.broken_links);
}
