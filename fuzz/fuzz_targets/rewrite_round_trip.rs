//! Link rewriting on moves (`rewrite_links`), the way the app runs it over a vault.
//!
//! A small vault is built from the choice bytes: files from a palette of folders and names
//! (spaces, parentheses, `%`, accents, case twins, the demo vault's names), notes made of links
//! to them in every style (wikilinks bare, by path, with `/`, `.md`, aliases, fragments, embeds;
//! Markdown links relative, `./`, by vault path, percent-encoded, `<angle>`, reference-style)
//! mixed with Markdown snippets and free text; the rest of the input is appended to the first
//! note. Some files are moved (`a -> b`), every note is rewritten, then moved back (`b -> a`).
//!
//! Properties:
//! - no panic;
//! - after each move every note has the same links (kind, fragment, display), and each link
//!   that resolved before resolves to its target's new path;
//! - moving back restores every byte of every note whose links all resolve and are written as
//!   the files are spelled, unless a link had to change style on the way (a bare name that
//!   became ambiguous is written as a path, a vault path at the root looks like a bare name:
//!   the rewriter documents those as one-way; at the root a relative path is a vault path
//!   too), a rewritten link also resolves from the old
//!   place (links that resolve keep their bytes), or a link that did not resolve started to.
#![no_main]

use std::collections::{BTreeMap, HashMap};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use weaver_core::{
    Link, ParseOptions, Resolver, VaultPath, parse_note, relative_path, rewrite_links,
};
use weaver_fuzz::split;

const FOLDERS: &[&str] = &[
    "",
    "A",
    "A/B",
    "Gamma Δ",
    "x (1)",
    "Café",
    "Concepts",
    "Projects",
    "Daily/2026/11",
    "attachments",
    "a",
];

const NAMES: &[&str] = &[
    "Plan",
    "Road map",
    "Idée",
    "a(1)",
    "b)",
    "50% off",
    "Note.v2",
    "plan",
    "Résumé & co",
    "x",
    "Weaver",
    "Welcome",
    "Wikilinks",
    "Zettelkasten",
    "Café culture",
    "Knowledge garden",
    "Inbox idea",
    "garden",
    "2026-11-26",
    "it's",
];

const SNIPPETS: &[&str] = &[
    " ", "\n", "\n\n", "- ", "> ", "`", "```\n", "\n```\n", "# Part\n", " text ", "|", "\\", "[",
    "]", "(", ")", "<", "!", "%%", "<!-- ", " -->", "\r\n", "    ", "^b ", "#tag ", "$",
];

#[derive(Debug, Arbitrary)]
struct FileSpec {
    folder: u8,
    name: u8,
    attachment: bool,
}

#[derive(Debug, Arbitrary)]
enum Piece {
    Link { target: u8, style: u8 },
    Snippet(u8),
    Free(String),
}

#[derive(Debug, Arbitrary)]
struct MoveSpec {
    file: u8,
    folder: u8,
    name: u8,
}

#[derive(Debug, Arbitrary)]
struct Spec {
    files: Vec<FileSpec>,
    notes: Vec<Vec<Piece>>,
    moves: Vec<MoveSpec>,
}

fn pick<'a>(items: &[&'a str], i: u8) -> &'a str {
    items
        .get(usize::from(i) % items.len())
        .copied()
        .unwrap_or("")
}

fn file_path(folder: u8, name: u8, attachment: bool) -> Option<VaultPath> {
    let folder = pick(FOLDERS, folder);
    let ext = if attachment { "png" } else { "md" };
    let name = format!("{}.{ext}", pick(NAMES, name));
    let full = if folder.is_empty() {
        name
    } else {
        format!("{folder}/{name}")
    };
    VaultPath::new(&full).ok()
}

/// Percent-encodes what a Markdown destination cannot hold raw (parentheses only when
/// unbalanced), as the rewriter itself writes a path it has no example for.
fn encode(path: &str) -> String {
    let mut depth = 0i32;
    let mut balanced = true;
    for c in path.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                balanced &= depth >= 0;
            }
            _ => {}
        }
    }
    balanced &= depth == 0;
    let mut out = String::new();
    for c in path.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '(' if !balanced => out.push_str("%28"),
            ')' if !balanced => out.push_str("%29"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// A link from the note at `from` to `to`, spelled as the file is, in style `style`;
/// reference definitions go to `defs`.
fn link(from: &VaultPath, to: &VaultPath, style: u8, n: usize, defs: &mut String) -> String {
    let name = if to.is_note() {
        to.stem()
    } else {
        to.file_name()
    };
    let rel = relative_path(from.folder(), to);
    match style % 12 {
        0 => format!("[[{name}]]"),
        1 => format!("[[{}|alias]]", to.without_md()),
        2 => format!("[[/{}#Part]]", to.as_str()),
        3 => format!("![[{name}]]"),
        4 => format!("[md]({})", encode(&rel)),
        5 => format!("[angle](<{}#Part>)", to.as_str().replace('%', "%25")),
        6 => format!("[vault]({})", encode(to.as_str())),
        7 => format!("[[{name}#Part]] and [[#Part]]"),
        8 => {
            defs.push_str(&format!("\n[r{n}]: {}\n", encode(to.as_str())));
            format!("[ref][r{n}]")
        }
        9 if !rel.starts_with("../") => format!("[dot](./{})", encode(&rel)),
        9 => format!("[up]({})", encode(&rel)),
        10 => format!("[[{}]]", to.without_md()),
        _ => format!("![img]({})", encode(&rel)),
    }
}

type Vault = BTreeMap<VaultPath, String>;

fn resolver_lookup(r: &Resolver, from: &VaultPath, target: &str) -> Option<VaultPath> {
    r.resolve(from, target).and_then(|id| r.path(id)).cloned()
}

fn links_of(path: &VaultPath, text: &str) -> Vec<Link> {
    parse_note(path, text.as_bytes(), &ParseOptions::default()).links
}

/// Moves files and rewrites every note, checking that each link that resolved before resolves
/// to its target's new path. `None` when the app refuses the move: a rewrite that would change a
/// note's links other than their targets (`write.rs::same_links_after`, fuzz finding 5: a new
/// name with `)` closing an inline-link destination left open before a wikilink).
fn move_vault(before: &Vault, moves: &HashMap<VaultPath, VaultPath>) -> Option<Vault> {
    let moved = |p: &VaultPath| moves.get(p).unwrap_or(p).clone();
    let old = Resolver::new(before.keys().cloned());
    let new = Resolver::new(before.keys().map(moved));
    let resolves_to = |from: &VaultPath, target: &str| resolver_lookup(&new, from, target);
    let mut after = Vault::new();
    for (path, text) in before {
        let new_path = moved(path);
        if !path.is_note() {
            after.insert(new_path, text.clone());
            continue;
        }
        let links = links_of(path, text);
        let resolved: Vec<Option<VaultPath>> = links
            .iter()
            .map(|l| resolver_lookup(&old, path, &l.target))
            .collect();
        let rewrite = rewrite_links(
            text,
            path,
            &new_path,
            &links,
            &resolved,
            moves,
            &resolves_to,
        );
        let relinks = links_of(&new_path, &rewrite.text);
        // The app refuses a move whose rewrite changes how a note parses around its links
        // (`same_links_after`): another number of links, another shape, or a link on another
        // line (finding 8: a rewrite that makes `[%%]: [[Plan]]` a reference definition moves
        // where a `%%` comment ends). Such a move is skipped; the rest must resolve.
        let shape = |l: &Link| (l.kind, l.fragment.clone(), l.display.clone(), l.line);
        if relinks.len() != links.len()
            || links
                .iter()
                .zip(&relinks)
                .any(|(a, b)| shape(a) != shape(b))
        {
            return None;
        }
        for ((a, b), target) in links.iter().zip(&relinks).zip(&resolved) {
            let Some(target) = target else { continue };
            assert_eq!(
                resolver_lookup(&new, &new_path, &b.target).as_ref(),
                Some(&moved(target)),
                "{path} -> {new_path}: `{}` (was `{}`) does not resolve to the moved target\nbefore: {text:?}\nafter: {:?}",
                rewrite.text.get(b.range.clone()).unwrap_or("?"),
                text.get(a.range.clone()).unwrap_or("?"),
                rewrite.text
            );
        }
        after.insert(new_path, rewrite.text);
    }
    Some(after)
}

/// How a link target is spelled.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    SameNote,
    Bare,
    Slash,
    Dot,
    Path,
}

fn class(target: &str) -> (Class, bool) {
    let md = target.to_ascii_lowercase().ends_with(".md");
    let class = if target.is_empty() {
        Class::SameNote
    } else if target.starts_with('/') {
        Class::Slash
    } else if target.starts_with("./") || target.starts_with("../") {
        Class::Dot
    } else if target.contains('/') {
        Class::Path
    } else {
        Class::Bare
    };
    (class, md)
}

/// True when `target` (from the note at `from`) spells `file` exactly as the file is named.
fn spelled_exactly(from: &VaultPath, target: &str, file: &VaultPath) -> bool {
    let names = |s: &str| s == file.as_str() || (file.is_note() && s == file.without_md());
    match class(target).0 {
        Class::SameNote => true,
        Class::Bare => target == file.file_name() || (file.is_note() && target == file.stem()),
        Class::Slash => names(target.trim_start_matches('/')),
        Class::Dot | Class::Path => {
            names(target)
                || VaultPath::join_relative(from.folder(), target)
                    .is_some_and(|joined| names(joined.as_str()))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (choices, tail) = split(data);
    let mut u = Unstructured::new(choices);
    let Ok(spec) = Spec::arbitrary(&mut u) else {
        return;
    };
    // The files: the first is always a note (it gets the input's tail).
    let mut paths: Vec<VaultPath> = Vec::new();
    for (i, f) in spec.files.iter().take(7).enumerate() {
        if let Some(p) = file_path(f.folder, f.name, f.attachment && i > 0)
            && !paths.contains(&p)
        {
            paths.push(p);
        }
    }
    let Some(first) = paths.first().cloned() else {
        return;
    };
    let mut vault = Vault::new();
    for (i, path) in paths.iter().enumerate() {
        if !path.is_note() {
            vault.insert(path.clone(), "not parsed".to_owned());
            continue;
        }
        let mut text = String::new();
        let mut defs = String::new();
        for (n, piece) in spec
            .notes
            .get(i)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .take(16)
            .enumerate()
        {
            match piece {
                Piece::Link { target, style } => {
                    let to = &paths[usize::from(*target) % paths.len()];
                    text.push_str(&link(path, to, *style, n, &mut defs));
                }
                Piece::Snippet(s) => text.push_str(pick(SNIPPETS, *s)),
                Piece::Free(s) => text.push_str(s),
            }
        }
        text.push_str(&defs);
        if *path == first {
            text.push_str(&String::from_utf8_lossy(tail));
        }
        vault.insert(path.clone(), text);
    }
    // The moves: to new names that collide with nothing, before or after, in any case.
    let folded = |p: &VaultPath| p.as_str().to_lowercase();
    let mut taken: Vec<String> = paths.iter().map(folded).collect();
    let mut forward: HashMap<VaultPath, VaultPath> = HashMap::new();
    for m in spec.moves.iter().take(4) {
        let from = &paths[usize::from(m.file) % paths.len()];
        if forward.contains_key(from) {
            continue;
        }
        let Some(to) = file_path(m.folder, m.name, !from.is_note()) else {
            continue;
        };
        if taken.contains(&folded(&to)) {
            continue;
        }
        taken.push(folded(&to));
        forward.insert(from.clone(), to);
    }
    if forward.is_empty() {
        return;
    }
    let backward: HashMap<VaultPath, VaultPath> = forward
        .iter()
        .map(|(a, b)| (b.clone(), a.clone()))
        .collect();
    let Some(moved) = move_vault(&vault, &forward) else {
        return;
    };
    let Some(back) = move_vault(&moved, &backward) else {
        return;
    };
    assert_eq!(back.len(), vault.len());

    let old = Resolver::new(vault.keys().cloned());
    let new = Resolver::new(moved.keys().cloned());
    for (path, text) in &vault {
        if !path.is_note() {
            continue;
        }
        let new_path = forward.get(path).unwrap_or(path);
        let (Some(mid), Some(end)) = (moved.get(new_path), back.get(path)) else {
            panic!("{path} went missing");
        };
        let (l0, l1, l2) = (
            links_of(path, text),
            links_of(new_path, mid),
            links_of(path, end),
        );
        // At the vault root a folder-relative path and a vault path are the same text
        // (`B/x.png` from `A/n.md` is `A/B/x.png` from `n.md`): a note that moves to or from
        // the root cannot get its relative form back.
        let root_flip = path.folder().is_empty() != new_path.folder().is_empty();
        let reversible = l0.iter().zip(&l1).zip(&l2).all(|((a, b), c)| {
            let r0 = resolver_lookup(&old, path, &a.target);
            let r1 = resolver_lookup(&new, new_path, &b.target);
            let r2 = resolver_lookup(&old, path, &c.target);
            // A link that changed on the way out but still resolves to its target from the
            // note's old place keeps its new bytes on the way back: links that resolve are
            // never touched (`[dot](./x.png)` from `P/n.md` -> `[dot](../P/x.png)` from
            // `Q/n.md`, which also works from `P/n.md`).
            let kept_back = a.target != b.target
                && resolver_lookup(&old, path, &b.target).is_some_and(|f| Some(&f) == r0.as_ref());
            !kept_back
                && !(root_flip && class(&a.target).0 == Class::Path)
                && r0.is_some() == r1.is_some()
                && r1.is_some() == r2.is_some()
                && class(&a.target) == class(&b.target)
                && class(&b.target) == class(&c.target)
                && r0
                    .as_ref()
                    .is_none_or(|file| spelled_exactly(path, &a.target, file))
        });
        if reversible {
            assert_eq!(
                end, text,
                "{path}: moving {forward:?} and back did not restore the note\nmoved: {mid:?}"
            );
        }
    }
});
