//! Link rewriting after moves: every link style, with the moved vault checked so that each
//! link resolves to its target's new path.

use std::collections::{BTreeMap, HashMap};

use weaver_core::{ParseOptions, Resolver, RewrittenLink, VaultPath, parse_note, rewrite_links};

/// A vault as path -> text; attachments have any text (they are not parsed).
pub type Vault = BTreeMap<VaultPath, String>;

pub fn path(s: &str) -> VaultPath {
    VaultPath::new(s).unwrap()
}

/// Reads a fixture: files start with a `//- path` line; their text is the lines that follow.
pub fn vault(fixture: &str) -> Vault {
    let mut files = Vault::new();
    let mut current: Option<(VaultPath, String)> = None;
    for line in fixture.lines() {
        if let Some(name) = line.strip_prefix("//- ") {
            files.extend(current.take());
            current = Some((path(name.trim()), String::new()));
        } else if let Some((_, text)) = &mut current {
            text.push_str(line);
            text.push('\n');
        }
    }
    files.extend(current);
    files
}

pub fn moves(pairs: &[(&str, &str)]) -> HashMap<VaultPath, VaultPath> {
    pairs.iter().map(|(a, b)| (path(a), path(b))).collect()
}

/// Moves files and rewrites every note's links, as the app will. Checks that every link that
/// resolved before resolves afterwards to its target's new path, and that nothing but link
/// targets changed (same links, same display text and fragments). Returns the new vault and
/// the changes per note (by new path).
pub fn move_vault(
    before: &Vault,
    moves: &HashMap<VaultPath, VaultPath>,
) -> (Vault, BTreeMap<VaultPath, Vec<RewrittenLink>>) {
    let moved = |p: &VaultPath| moves.get(p).unwrap_or(p).clone();
    let old = Resolver::new(before.keys().cloned());
    let new = Resolver::new(before.keys().map(moved));
    let resolves_to = |from: &VaultPath, target: &str| {
        new.resolve(from, target)
            .and_then(|id| new.path(id))
            .cloned()
    };
    let mut after = Vault::new();
    let mut changes = BTreeMap::new();
    for (note_path, text) in before {
        let new_path = moved(note_path);
        if !note_path.is_note() {
            after.insert(new_path, text.clone());
            continue;
        }
        let note = parse_note(note_path, text.as_bytes(), &ParseOptions::default());
        let resolved: Vec<Option<VaultPath>> = note
            .links
            .iter()
            .map(|l| {
                old.resolve(note_path, &l.target)
                    .and_then(|id| old.path(id))
                    .cloned()
            })
            .collect();
        let rewrite = rewrite_links(
            text,
            note_path,
            &new_path,
            &note.links,
            &resolved,
            moves,
            &resolves_to,
        );
        let reparsed = parse_note(&new_path, rewrite.text.as_bytes(), &ParseOptions::default());
        assert_eq!(reparsed.links.len(), note.links.len(), "{note_path}");
        for ((before_link, after_link), target) in
            note.links.iter().zip(&reparsed.links).zip(&resolved)
        {
            assert_eq!(
                (
                    before_link.kind,
                    &before_link.fragment,
                    &before_link.display
                ),
                (after_link.kind, &after_link.fragment, &after_link.display),
                "{note_path}: link on line {}",
                before_link.line
            );
            let Some(target) = target else { continue };
            let now = new
                .resolve(&new_path, &after_link.target)
                .and_then(|id| new.path(id))
                .cloned();
            assert_eq!(
                now.as_ref(),
                Some(&moved(target)),
                "{note_path} -> {new_path}: `{}` (was `{}`)",
                &rewrite.text[after_link.range.clone()],
                &text[before_link.range.clone()]
            );
        }
        changes.insert(new_path.clone(), rewrite.changed);
        after.insert(new_path, rewrite.text);
    }
    (after, changes)
}

/// Moves files in `fixture` and checks the text of `note` (by its new path) afterwards.
fn check(fixture: &str, pairs: &[(&str, &str)], note: &str, expected: &str) {
    let (after, _) = move_vault(&vault(fixture), &moves(pairs));
    let got = after
        .get(&path(note))
        .unwrap_or_else(|| panic!("no note {note} after the move"));
    assert_eq!(got, expected, "note {note} after {pairs:?}");
}

#[test]
fn wikilinks_keep_alias_fragment_and_form() {
    let fixture = "//- Home.md\n[[Plan]] [[Plan|alias]] [[Plan#Goals]] ![[Plan#^b]] [[Plan.md]] [[ Plan ]]\n//- Plan.md\n# Plan\n";
    check(
        fixture,
        &[("Plan.md", "Roadmap.md")],
        "Home.md",
        "[[Roadmap]] [[Roadmap|alias]] [[Roadmap#Goals]] ![[Roadmap#^b]] [[Roadmap.md]] [[ Roadmap ]]\n",
    );
    // A unique name still resolves after a folder move: nothing changes.
    check(
        "//- Home.md\n[[Plan]] [p](Plan.md)\n//- Plan.md\n",
        &[("Plan.md", "Archive/Plan.md")],
        "Home.md",
        "[[Plan]] [p](Plan.md)\n",
    );
    // A bare name that would now resolve elsewhere becomes a path.
    check(
        "//- Home.md\n[[Plan]]\n//- a/Plan.md\n//- b/Plan.md\n",
        &[("a/Plan.md", "zz/Plan.md")],
        "Home.md",
        "[[zz/Plan]]\n",
    );
    check(
        "//- Home.md\n[[Projects/Plan]] [[Projects/Plan.md|x]] [[/Projects/Plan#H]] [[projects/plan]]\n//- Projects/Plan.md\n",
        &[("Projects/Plan.md", "Archive/Plan.md")],
        "Home.md",
        "[[Archive/Plan]] [[Archive/Plan.md|x]] [[/Archive/Plan#H]] [[Archive/plan]]\n",
    );
    check(
        "//- Home.md\n![[img.png]] ![[img.png|100]] ![pic](assets/img.png)\n//- assets/img.png\n",
        &[("assets/img.png", "media/diagram.png")],
        "Home.md",
        "![[diagram.png]] ![[diagram.png|100]] ![pic](media/diagram.png)\n",
    );
}

#[test]
fn markdown_links_keep_their_encoding() {
    check(
        "//- Home.md\n[a](My%20Plan.md) [b](<My Plan.md>) [c](Docs/My%20Plan.md#Part%201) [d](<Docs/My Plan.md#Part 1> \"title\")\n//- Docs/My Plan.md\n",
        &[("Docs/My Plan.md", "Docs/Our Plan.md")],
        "Home.md",
        "[a](Our%20Plan.md) [b](<Our Plan.md>) [c](Docs/Our%20Plan.md#Part%201) [d](<Docs/Our Plan.md#Part 1> \"title\")\n",
    );
    check(
        "//- Home.md\n[[Café]] [c](Caf%C3%A9.md) [d](Café.md) [[Cafe\u{301}|nfd]]\n//- Café.md\n",
        &[("Café.md", "Thé.md")],
        "Home.md",
        "[[Thé]] [c](Th%C3%A9.md) [d](Thé.md) [[Thé|nfd]]\n",
    );
    check(
        "//- Home.md\n[t][r] and [s][r]\n\n[r]: Projects/Plan.md \"title\"\n//- Projects/Plan.md\n",
        &[("Projects/Plan.md", "Archive/Plan (old).md")],
        "Home.md",
        "[t][r] and [s][r]\n\n[r]: Archive/Plan%20(old).md \"title\"\n",
    );
}

/// Found by the `rewrite_round_trip` fuzz target: `[md](b%29.md)` moved to `a(1).md` was
/// written `[md](a(1%29.md)`, whose lone `(` ends the link: the moved note lost a link.
/// Parentheses are encoded in pairs, and one that had to be encoded is not a style.
#[test]
fn markdown_links_keep_parentheses_balanced() {
    let fixture =
        "//- Home.md\n[md](b%29.md) [s](%28x%29.md) [u](<b%29.md>)\n//- b).md\n//- (x).md\n";
    check(
        fixture,
        &[("b).md", "a(1).md"), ("(x).md", "y).md")],
        "Home.md",
        "[md](a(1).md) [s](y%29.md) [u](<a(1).md>)\n",
    );
}

/// Found by the `rewrite_round_trip` fuzz target: in a vault with case twins `A/garden.md` and
/// `a/garden.md`, the same-note link `[[#Part]]` in `a/garden.md` resolved to the twin, so after
/// moving the note it no longer pointed at "its target".
#[test]
fn same_note_links_in_a_case_twin_follow_the_note() {
    check(
        "//- a/garden.md\n[[#Part]] [[a/garden#Part]]\n//- A/garden.md\n# Part\n",
        &[("a/garden.md", "Café/2026-11-26.md")],
        "Café/2026-11-26.md",
        // `[[a/garden#Part]]` names the note itself by exact case (an exact-case match wins
        // over the twin `A/garden.md`), so it follows the note too.
        "[[#Part]] [[Café/2026-11-26#Part]]\n",
    );
}

/// Found by the `rewrite_round_trip` fuzz target: a vault-path link spelled `a/...` found
/// `A/it's.md` case-insensitively; after the move, the old spelling of the folder (`a/`) named
/// the case twin `a/50% off.md` instead of the moved target `A/50% off.md`.
#[test]
fn a_respelled_vault_path_that_names_a_case_twin_is_spelled_exactly() {
    check(
        "//- garden.md\n[md](a/it's.md) [[a/it's]]\n//- A/it's.md\n//- a/50% off.md\n",
        &[("garden.md", "A/B/Idée.md"), ("A/it's.md", "A/50% off.md")],
        "A/B/Idée.md",
        "[md](A/50%25%20off.md) [[A/50% off]]\n",
    );
}

#[test]
fn relative_links_follow_the_note() {
    let fixture = "//- Notes/Home.md\n[x](../Projects/Plan.md) [y](./Sib.md) [z](Sib.md) [w](sub/Deep.md)\n//- Notes/Sib.md\n//- Notes/sub/Deep.md\n//- Projects/Plan.md\n";
    check(
        fixture,
        &[("Notes/Home.md", "Notes/Deep/Home.md")],
        "Notes/Deep/Home.md",
        "[x](../../Projects/Plan.md) [y](../Sib.md) [z](Sib.md) [w](sub/Deep.md)\n",
    );
    // Moving the whole folder keeps links inside it.
    check(
        fixture,
        &[
            ("Notes/Home.md", "Old/Notes/Home.md"),
            ("Notes/Sib.md", "Old/Notes/Sib.md"),
            ("Notes/sub/Deep.md", "Old/Notes/sub/Deep.md"),
        ],
        "Old/Notes/Home.md",
        "[x](../../Projects/Plan.md) [y](./Sib.md) [z](Sib.md) [w](sub/Deep.md)\n",
    );
    // A bare Markdown link to a file beside the note becomes relative when the name alone
    // would find another file; a wikilink gets the vault path.
    check(
        "//- Notes/Home.md\n[x](Plan.md) [[Plan]]\n//- Notes/Plan.md\n//- Other/Plan.md\n",
        &[("Notes/Plan.md", "Archive/Plan.md")],
        "Notes/Home.md",
        "[x](../Archive/Plan.md) [[Archive/Plan]]\n",
    );
    check(
        "//- a/n.md\n[x](./t.md)\n//- a/t.md\n//- t.md\n",
        &[("a/t.md", "a/sub/t.md")],
        "a/n.md",
        "[x](./sub/t.md)\n",
    );
}

/// Found by the `rewrite_round_trip` fuzz target (finding 7): a wikilink written relative to
/// its note's folder (`[[Café culture/]]` in `Projects/Café culture.md`, or `[[Sub/Plan]]` in
/// `Projects/Home.md`) was rewritten as a vault path, so moving there and back did not restore
/// it. Wikilinks keep their relative form like Markdown links do.
#[test]
fn relative_wikilinks_stay_relative_and_round_trip() {
    let fixture = "//- Projects/Home.md\n[[Sub/Plan]] [[Sub/Plan.md|p]] [[Projects/Sub/Plan]]\n//- Projects/Sub/Plan.md\n//- Plan.md\n";
    let there = &[("Projects/Sub/Plan.md", "Projects/Sub/Road map.md")];
    let back = &[("Projects/Sub/Road map.md", "Projects/Sub/Plan.md")];
    let moved = "[[Sub/Road map]] [[Sub/Road map.md|p]] [[Projects/Sub/Road map]]\n";
    check(fixture, there, "Projects/Home.md", moved);
    let (after, _) = move_vault(&vault(fixture), &moves(there));
    let (restored, _) = move_vault(&after, &moves(back));
    assert_eq!(restored, vault(fixture));
    // The moved target leaves the note's folder: still relative, with `..`.
    check(
        fixture,
        &[("Projects/Sub/Plan.md", "Archive/Plan.md")],
        "Projects/Home.md",
        "[[../Archive/Plan]] [[../Archive/Plan.md|p]] [[Archive/Plan]]\n",
    );
    // The minimised fuzz input: a note that links itself with a trailing slash, moved into
    // another folder. The relative form from there is the bare name; the link still finds the
    // note, there and back (the slash is not kept: a bare name has no folder to end).
    let fixture = "//- Projects/Café culture.md\n[[Café culture/]]\n//- Café/Weaver.md\n";
    let there = &[
        ("Projects/Café culture.md", "a/50% off.md"),
        ("Café/Weaver.md", "Plan.md"),
    ];
    check(fixture, there, "a/50% off.md", "[[50% off]]\n");
    let (after, _) = move_vault(&vault(fixture), &moves(there));
    let back = &[
        ("a/50% off.md", "Projects/Café culture.md"),
        ("Plan.md", "Café/Weaver.md"),
    ];
    let (restored, _) = move_vault(&after, &moves(back));
    assert_eq!(
        restored
            .get(&path("Projects/Café culture.md"))
            .map(String::as_str),
        Some("[[Café culture]]\n")
    );
}

#[test]
fn links_that_need_no_change_keep_their_bytes() {
    check(
        "//- Home.md\n# H\n[[#H]] [x](#H) [[Missing]] [e](https://x.com/Plan.md) `[[Plan]]` [[Plan]]\n```\n[[Plan]]\n```\n//- Plan.md\n",
        &[("Plan.md", "New.md")],
        "Home.md",
        "# H\n[[#H]] [x](#H) [[Missing]] [e](https://x.com/Plan.md) `[[Plan]]` [[New]]\n```\n[[Plan]]\n```\n",
    );
}

#[test]
fn self_links_follow_the_note() {
    check(
        "//- Plan.md\n# Plan\n[[Plan#Plan]] [[#Plan]] [me](Plan.md#Plan)\n",
        &[("Plan.md", "Archive/Roadmap.md")],
        "Archive/Roadmap.md",
        "# Plan\n[[Roadmap#Plan]] [[#Plan]] [me](Roadmap.md#Plan)\n",
    );
}

#[test]
fn links_shadowed_by_a_moved_file_are_fixed() {
    // `[[Note]]` found `c/Note.md` (shortest path); a note moved beside Home would win now.
    check(
        "//- a/Home.md\n[[Note]]\n//- c/Note.md\n//- bb/Note.md\n",
        &[("bb/Note.md", "a/Note.md")],
        "a/Home.md",
        "[[c/Note]]\n",
    );
}

#[test]
fn changes_are_reported_with_whole_link_syntax() {
    let fixture = "//- Home.md\nintro\n[[Plan|p]] and [x](Plan.md#H)\n\n[r]: <Plan.md>\n[ref][r]\n//- Plan.md\n";
    let (_, changes) = move_vault(&vault(fixture), &moves(&[("Plan.md", "Road map.md")]));
    let got: Vec<(u32, &str, &str)> = changes[&path("Home.md")]
        .iter()
        .map(|c| (c.line, c.before.as_str(), c.after.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "[[Plan|p]]", "[[Road map|p]]"),
            (2, "[x](Plan.md#H)", "[x](Road%20map.md#H)"),
            (4, "[r]: <Plan.md>", "[r]: <Road map.md>"),
        ]
    );
    let (_, unchanged) = move_vault(&vault(fixture), &moves(&[]));
    assert!(unchanged[&path("Home.md")].is_empty());
}
