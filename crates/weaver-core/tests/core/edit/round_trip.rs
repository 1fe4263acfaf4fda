//! Moving files `a -> b` and then `b -> a` restores every note byte for byte: on a handwritten
//! vault with every link style, and on a generated one.

use std::collections::HashMap;
use std::fmt::Write as _;

use weaver_core::VaultPath;

use super::rewrite::{Vault, move_vault, moves, path, vault};

const FIXTURE: &str = r#"//- Home.md
# Home
[[Plan]] and [[Plan|the plan]] and [[Projects/Plan#Goals]] and ![[diagram.png]]
[Roadmap](Projects/Road%20map.md) and [rel](<Projects/Road map.md#Phase 1>)
[[Café]] and [self](#Home) and [[Home#Home]] and [[Missing]]
Not links: `[[Plan]]` and [web](https://example.com/Plan.md)
[ref][r]

[r]: Projects/Plan.md
//- Projects/Plan.md
---
tags: [plan]
---
# Plan
## Goals
See [[Road map]] and [back](../Home.md) and [sibling](./Road%20map.md) and [[Plan#Goals|self]].
Embed ![chart](../assets/diagram.png) and [[Projects/plan#Goals]]
```
[[Projects/Plan]] in code
```
//- Projects/Road map.md
# Road map
[[Projects/Plan.md]] then [up](../Home.md) and [[Idea]]
//- Notes/Café.md
Links: [[Plan]], [p](../Projects/Plan.md), [[/Projects/Road map]] ^block
//- Notes/Daily/2024-01-01.md
[[Café]] [c](../Caf%C3%A9.md) [[Notes/Café#^block]]
//- Inbox/Idea.md
[plan](../Projects/Plan.md) [home](../Home.md) [[Idea]] [[Inbox/Idea]] [img](<../assets/diagram.png>)
//- assets/diagram.png
not parsed
"#;

/// The forward moves: a folder (as one entry per file, into a folder with a non-ASCII name), a
/// rename, a move into a deeper folder with a new non-ASCII name, and an attachment move.
const FORWARD: &[(&str, &str)] = &[
    ("Projects/Plan.md", "Archive/Projekte Ü/Plan.md"),
    ("Projects/Road map.md", "Archive/Projekte Ü/Road map.md"),
    ("Notes/Café.md", "Notes/Thé.md"),
    ("Inbox/Idea.md", "Notes/Deep/Idée.md"),
    ("assets/diagram.png", "img/chart.png"),
];

fn inverse(pairs: &[(&str, &str)]) -> HashMap<VaultPath, VaultPath> {
    pairs.iter().map(|(a, b)| (path(b), path(a))).collect()
}

fn check_round_trip(before: &Vault, forward: &HashMap<VaultPath, VaultPath>) -> Vault {
    let backward: HashMap<VaultPath, VaultPath> = forward
        .iter()
        .map(|(a, b)| (b.clone(), a.clone()))
        .collect();
    let (moved, _) = move_vault(before, forward);
    let (back, _) = move_vault(&moved, &backward);
    assert_eq!(back.len(), before.len());
    for (note, text) in before {
        assert_eq!(back.get(note), Some(text), "{note} after the round trip");
    }
    moved
}

#[test]
fn handwritten_vault_round_trips() {
    let mut before = vault(FIXTURE);
    // One CRLF note.
    let daily = path("Notes/Daily/2024-01-01.md");
    let crlf = before[&daily].replace('\n', "\r\n");
    before.insert(daily, crlf);
    let forward = moves(FORWARD);
    let moved = check_round_trip(&before, &forward);

    // The forward move itself, spot-checked.
    let expected = [
        (
            "Home.md",
            "# Home\n[[Plan]] and [[Plan|the plan]] and [[Archive/Projekte Ü/Plan#Goals]] and ![[chart.png]]\n[Roadmap](Archive/Projekte%20Ü/Road%20map.md) and [rel](<Archive/Projekte Ü/Road map.md#Phase 1>)\n[[Thé]] and [self](#Home) and [[Home#Home]] and [[Missing]]\nNot links: `[[Plan]]` and [web](https://example.com/Plan.md)\n[ref][r]\n\n[r]: Archive/Projekte%20Ü/Plan.md\n",
        ),
        (
            "Archive/Projekte Ü/Plan.md",
            "---\ntags: [plan]\n---\n# Plan\n## Goals\nSee [[Road map]] and [back](../../Home.md) and [sibling](./Road%20map.md) and [[Plan#Goals|self]].\nEmbed ![chart](../../img/chart.png) and [[Archive/Projekte Ü/plan#Goals]]\n```\n[[Projects/Plan]] in code\n```\n",
        ),
        (
            "Archive/Projekte Ü/Road map.md",
            "# Road map\n[[Archive/Projekte Ü/Plan.md]] then [up](../../Home.md) and [[Idée]]\n",
        ),
        (
            "Notes/Thé.md",
            "Links: [[Plan]], [p](../Archive/Projekte%20Ü/Plan.md), [[/Archive/Projekte Ü/Road map]] ^block\n",
        ),
        (
            "Notes/Daily/2024-01-01.md",
            "[[Thé]] [c](../Th%C3%A9.md) [[Notes/Thé#^block]]\r\n",
        ),
        (
            "Notes/Deep/Idée.md",
            "[plan](../../Archive/Projekte%20Ü/Plan.md) [home](../../Home.md) [[Idée]] [[Notes/Deep/Idée]] [img](<../../img/chart.png>)\n",
        ),
    ];
    for (note, text) in expected {
        assert_eq!(moved[&path(note)], text, "{note}");
    }
    // Moving back with the inverse map of the fixture's pairs gives the same map.
    assert_eq!(inverse(FORWARD).len(), FORWARD.len());
}

/// A small deterministic generator: notes spread over folders, each linking to others in
/// every style the rewriter keeps reversible (bare unique names, vault paths with and without
/// `.md`, leading `/`, relative Markdown paths, encoded spaces, angle brackets, aliases and
/// fragments).
fn generated_vault(notes: usize) -> Vault {
    let folders = ["", "Alpha", "Alpha/Beta", "Gamma Δ", "Gamma Δ/Deep"];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % n as u64).unwrap()
    };
    let paths: Vec<VaultPath> = (0..notes)
        .map(|i| {
            let folder = folders[i % folders.len()];
            let name = format!("Note {i}.md");
            path(&if folder.is_empty() {
                name
            } else {
                format!("{folder}/{name}")
            })
        })
        .collect();
    let mut vault = Vault::new();
    for (i, from) in paths.iter().enumerate() {
        let mut text = format!("# Note {i}\n\n## Part\n");
        for _ in 0..6 {
            let to = &paths[next(paths.len())];
            let rel = weaver_core::relative_path(from.folder(), to);
            let line = match next(8) {
                0 => format!("[[{}]]", to.stem()),
                1 => format!("[[{}|alias]]", to.without_md()),
                2 => format!("[[/{}#Part]]", to.as_str()),
                3 => format!("![[{}]]", to.stem()),
                4 => format!("[md]({})", rel.replace(' ', "%20")),
                5 => format!("[angle](<{}#Part>)", to.as_str()),
                6 => format!("[vault]({})", to.as_str().replace(' ', "%20")),
                _ => format!("[[{}#Part]] and [[#Part]]", to.stem()),
            };
            let _ = writeln!(text, "- {line}");
        }
        vault.insert(from.clone(), text);
    }
    vault
}

#[test]
fn generated_vault_round_trips() {
    let before = generated_vault(40);
    // Move the `Alpha` folder (and everything below it) under a new parent, and rename two
    // notes. (Not to the vault root: a vault path there looks like a bare name, so the way
    // back would write the shorter form.)
    let mut forward: HashMap<VaultPath, VaultPath> = before
        .keys()
        .filter_map(|p| {
            let rest = p.as_str().strip_prefix("Alpha/")?;
            Some((p.clone(), path(&format!("Archive 2/Alpha Ω/{rest}"))))
        })
        .collect();
    forward.insert(path("Note 0.md"), path("Gamma Δ/Renamed 0.md"));
    forward.insert(path("Gamma Δ/Deep/Note 4.md"), path("Gamma Δ/Top 4.md"));
    let moved = check_round_trip(&before, &forward);
    assert_ne!(moved, before);
    assert!(moved.contains_key(&path("Archive 2/Alpha Ω/Beta/Note 2.md")));
}
