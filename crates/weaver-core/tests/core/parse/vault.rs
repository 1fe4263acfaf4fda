//! Parses every note of a real vault (when present): no panics, and every range slices the
//! source where it should.

use std::path::{Path, PathBuf};
use std::time::Instant;

use weaver_core::{LinkKind, ParseOptions, VaultPath, parse_note};

/// The shared copy of the obsidian-hub vault, where this machine or CI keeps it.
fn vault_dir() -> Option<PathBuf> {
    let beside_repo =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vaults/obsidian-hub");
    [
        PathBuf::from("/work/shared/vaults/obsidian-hub"),
        beside_repo,
    ]
    .into_iter()
    .find(|dir| dir.is_dir())
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

#[test]
fn obsidian_hub_parses_with_exact_ranges() {
    let Some(dir) = vault_dir() else {
        eprintln!("skipping: obsidian-hub vault not found");
        return;
    };
    let mut files = Vec::new();
    markdown_files(&dir, &mut files);
    let contents: Vec<(VaultPath, Vec<u8>)> = files
        .iter()
        .map(|file| {
            let relative = file
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                VaultPath::normalize(&relative).unwrap(),
                std::fs::read(file).unwrap(),
            )
        })
        .collect();
    let bytes: usize = contents.iter().map(|(_, b)| b.len()).sum();

    let started = Instant::now();
    let notes: Vec<_> = contents
        .iter()
        .map(|(path, bytes)| parse_note(path, bytes, &ParseOptions::default()))
        .collect();
    let elapsed = started.elapsed();

    let (mut links, mut tags, mut headings) = (0, 0, 0);
    for ((path, bytes), note) in contents.iter().zip(&notes) {
        let src = String::from_utf8_lossy(bytes);
        for link in &note.links {
            let whole = src
                .get(link.range.clone())
                .unwrap_or_else(|| panic!("{path}: {link:?}"));
            let prefix_ok = match link.kind {
                LinkKind::Wikilink => whole.starts_with("[[") && whole.ends_with("]]"),
                LinkKind::Embed => whole.starts_with("![[") && whole.ends_with("]]"),
                LinkKind::Markdown => whole.starts_with('['),
                LinkKind::MarkdownEmbed => whole.starts_with("!["),
            };
            assert!(prefix_ok, "{path}: {whole:?} for {link:?}");
            let target = src
                .get(link.target_range.clone())
                .unwrap_or_else(|| panic!("{path}: {link:?}"));
            if link.kind.is_wiki() {
                assert_eq!(target, link.target, "{path}: {whole:?}");
                assert!(
                    link.range.start <= link.target_range.start
                        && link.target_range.end <= link.range.end
                );
            }
            assert!(
                link.target.is_empty() || !target.is_empty(),
                "{path}: {link:?}"
            );
        }
        for heading in &note.headings {
            let written = src
                .get(heading.range.clone())
                .unwrap_or_else(|| panic!("{path}: {heading:?}"));
            assert!(!written.ends_with('\n'), "{path}: {heading:?}");
        }
        for block in &note.blocks {
            assert!(src.get(block.range.clone()).is_some(), "{path}: {block:?}");
        }
        links += note.links.len();
        tags += note.tags.len();
        headings += note.headings.len();
    }
    assert!(links > 0 && headings > 0);
    eprintln!(
        "parsed {} notes ({} KiB) in {} ms: {links} links, {tags} tags, {headings} headings",
        notes.len(),
        bytes / 1024,
        elapsed.as_millis()
    );
}
