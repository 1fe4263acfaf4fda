//! Link resolution, following Obsidian's `getFirstLinkpathDest`.
//!
//! The rule, as observed in Obsidian 1.13 and written down here once:
//!
//! 1. An empty target (`[[#Heading]]`) is a link to the source note itself.
//! 2. A target starting with `./` or `../` is relative to the source note's folder.
//! 3. Otherwise an exact vault path wins: `[[Projects/Plan]]`, `[[Plan.md]]`, `[[/Plan]]`,
//!    `[[img.png]]` at the root. `.md` is optional. Case-insensitive, after NFC normalisation;
//!    when several files match that way (`Welcome.md` and `welcome.md`), the one whose case
//!    matches exactly wins (`[[welcome]]` is `welcome.md`), else the first by path.
//! 4. Otherwise a path relative to the source note's folder (`[[sub/Note]]` from `a/x.md` finds
//!    `a/sub/Note.md`).
//! 5. Otherwise every file whose name matches (notes by name without `.md`, attachments by full
//!    file name) and, for a path-qualified target, whose path ends with the target (`[[b/Note]]`
//!    finds `x/b/Note.md`). When several match: one in the source note's own folder wins (an
//!    ancestor folder counts for nothing); otherwise the shortest path string; ties go to the
//!    lexicographically smallest path.
//!
//! Aliases do not take part in resolution: Obsidian writes `[[Name|alias]]`, and `[[alias]]` is
//! unresolved there too.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

use crate::{Fragment, Heading, VaultPath, fold_name, heading_anchor};

/// Index of a file in the [`Resolver`]'s file list.
pub type FileId = u32;

/// Maps link targets to files. Built once from the vault's file list; cheap to query.
#[derive(Debug, Default, Clone)]
pub struct Resolver {
    files: Vec<VaultPath>,
    /// Folded full path, and for notes also the folded path without `.md`.
    exact: HashMap<String, FileId>,
    /// The same keys unfolded (NFC, case kept), for the files whose folded key an earlier file
    /// took: only paths that differ from another file's by case alone are here.
    exact_case: HashMap<String, FileId>,
    /// Folded file name: for notes without `.md`, for attachments the full name.
    by_name: HashMap<String, Vec<FileId>>,
}

impl Resolver {
    /// Builds a resolver over every file of the vault (notes and attachments). The order of
    /// `files` does not matter: they are sorted first, so names that differ only in case resolve
    /// the same way every time.
    pub fn new(files: impl IntoIterator<Item = VaultPath>) -> Self {
        let mut files: Vec<VaultPath> = files.into_iter().collect();
        files.sort_unstable();
        files.dedup();
        let mut resolver = Self::default();
        for path in files {
            resolver.insert(path);
        }
        resolver
    }

    fn insert(&mut self, path: VaultPath) {
        let Ok(id) = FileId::try_from(self.files.len()) else {
            return;
        };
        let folded = fold_name(path.as_str());
        if path.is_note() {
            let without = fold_name(path.without_md());
            self.insert_exact(without, path.without_md(), id);
            self.by_name
                .entry(fold_name(path.stem()))
                .or_default()
                .push(id);
        } else {
            self.by_name
                .entry(fold_name(path.file_name()))
                .or_default()
                .push(id);
        }
        self.insert_exact(folded, path.as_str(), id);
        self.files.push(path);
    }

    /// Records `id` under its folded key or, when an earlier file (by path) holds that key
    /// already, under its exact spelling: a lookup spelled like it finds it, any other spelling
    /// finds the holder.
    fn insert_exact(&mut self, folded: String, spelled: &str, id: FileId) {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.exact.entry(folded) {
            slot.insert(id);
        } else {
            self.exact_case.entry(spelled.to_owned()).or_insert(id);
        }
    }

    /// The files this resolver knows, indexed by [`FileId`].
    pub fn files(&self) -> &[VaultPath] {
        &self.files
    }

    /// The path of a file id.
    pub fn path(&self, id: FileId) -> Option<&VaultPath> {
        self.files.get(id as usize)
    }

    /// Looks a path up exactly (case-insensitive, `.md` optional); among files whose paths
    /// differ by case alone, the one spelled exactly like `path` wins.
    pub fn lookup_exact(&self, path: &str) -> Option<FileId> {
        let trimmed = path.trim_start_matches('/');
        if !self.exact_case.is_empty() {
            let spelled: String = trimmed.nfc().collect();
            if let Some(&id) = self.exact_case.get(&spelled) {
                return Some(id);
            }
        }
        self.exact.get(&fold_name(trimmed)).copied()
    }

    /// Resolves `target` as written in a link in `source`; `None` when nothing matches.
    /// An empty target resolves to `source` itself when the resolver knows it.
    pub fn resolve(&self, source: &VaultPath, target: &str) -> Option<FileId> {
        let target = target.trim();
        if target.is_empty() {
            // The note itself, not a twin whose name differs only in case (`A/x.md`, `a/x.md`).
            let own = self.files.binary_search(source).ok();
            return own
                .and_then(|i| FileId::try_from(i).ok())
                .or_else(|| self.lookup_exact(source.as_str()));
        }
        if target.starts_with("./") || target.starts_with("../") {
            let joined = VaultPath::join_relative(source.folder(), target)?;
            return self.lookup_exact(joined.as_str());
        }
        if let Some(id) = self.lookup_exact(target) {
            return Some(id);
        }
        let folder = source.folder();
        if !folder.is_empty()
            && let Some(joined) = VaultPath::join_relative(folder, target)
            && let Some(id) = self.lookup_exact(joined.as_str())
        {
            return Some(id);
        }
        self.resolve_by_name(folder, target)
    }

    fn resolve_by_name(&self, source_folder: &str, target: &str) -> Option<FileId> {
        let trimmed = target.trim_start_matches('/');
        let folded = fold_name(trimmed);
        let name = folded.rsplit('/').next().unwrap_or(&folded);
        let mut candidates: Vec<FileId> = Vec::new();
        let mut push_matches = |key: &str| {
            if let Some(ids) = self.by_name.get(key) {
                candidates.extend(ids.iter().copied());
            }
        };
        push_matches(name);
        if let Some(stripped) = name.strip_suffix(".md") {
            push_matches(stripped);
        }
        if candidates.is_empty() {
            return None;
        }
        if folded.contains('/') {
            let suffix = folded.strip_suffix(".md").unwrap_or(&folded);
            candidates.retain(|&id| {
                self.path(id).is_some_and(|p| {
                    let full = fold_name(p.as_str());
                    let base = if p.is_note() {
                        full.strip_suffix(".md").unwrap_or(&full)
                    } else {
                        &full
                    };
                    base.ends_with(suffix)
                        && base
                            .len()
                            .checked_sub(suffix.len() + 1)
                            .and_then(|i| base.as_bytes().get(i))
                            == Some(&b'/')
                })
            });
        }
        let folder = fold_name(source_folder);
        let in_folder = candidates.iter().copied().find(|&id| {
            self.path(id)
                .is_some_and(|p| fold_name(p.folder()) == folder)
        });
        in_folder.or_else(|| {
            candidates.into_iter().min_by(|&a, &b| {
                let (pa, pb) = (self.files.get(a as usize), self.files.get(b as usize));
                let key =
                    |p: Option<&VaultPath>| p.map(|p| (p.as_str().len(), p.as_str().to_owned()));
                key(pa).cmp(&key(pb))
            })
        })
    }
}

/// Does `fragment` name a heading or block that exists? Heading fragments may be nested
/// (`A#B`): the last part must be a heading, compared by anchor, case-insensitively.
pub fn fragment_exists(
    fragment: &Fragment,
    headings: &[Heading],
    blocks: impl IntoIterator<Item = impl AsRef<str>>,
) -> bool {
    match fragment {
        Fragment::Heading(h) => {
            let last = h.rsplit('#').next().unwrap_or(h);
            let wanted = fold_name(&heading_anchor(last));
            wanted.is_empty()
                || headings
                    .iter()
                    .any(|heading| fold_name(&heading.anchor) == wanted)
        }
        Fragment::Block(id) => {
            let wanted = id.to_lowercase();
            blocks
                .into_iter()
                .any(|b| b.as_ref().to_lowercase() == wanted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(paths: &[&str]) -> Resolver {
        Resolver::new(paths.iter().map(|p| VaultPath::normalize(p).unwrap()))
    }

    /// One case: in a vault of `files`, a link `target` written in `source` resolves to `expected`.
    fn check(files: &[&str], source: &str, target: &str, expected: Option<&str>) {
        let r = resolver(files);
        let source = VaultPath::normalize(source).unwrap();
        let got = r
            .resolve(&source, target)
            .and_then(|id| r.path(id))
            .map(|p| p.as_str().to_owned());
        assert_eq!(
            got.as_deref(),
            expected,
            "[[{target}]] from {source} in {files:?}"
        );
    }

    #[test]
    fn unique_names_resolve_case_insensitively() {
        let files = ["Projects/Plan.md", "img/diagram.png", "Notes/Ideas.md"];
        check(&files, "Notes/Ideas.md", "Plan", Some("Projects/Plan.md"));
        check(&files, "Notes/Ideas.md", "plan", Some("Projects/Plan.md"));
        check(
            &files,
            "Notes/Ideas.md",
            "PLAN.md",
            Some("Projects/Plan.md"),
        );
        check(
            &files,
            "Notes/Ideas.md",
            "diagram.png",
            Some("img/diagram.png"),
        );
        check(&files, "Notes/Ideas.md", "diagram", None);
        check(&files, "Notes/Ideas.md", "Missing", None);
        check(&files, "Notes/Ideas.md", "", Some("Notes/Ideas.md"));
    }

    #[test]
    fn an_exact_case_match_wins_over_a_folded_one() {
        let files = [
            "Welcome.md",
            "welcome.md",
            "WELCOME.md",
            "img/Logo.png",
            "img/logo.png",
        ];
        check(&files, "x.md", "welcome", Some("welcome.md"));
        check(&files, "x.md", "welcome.md", Some("welcome.md"));
        check(&files, "x.md", "Welcome", Some("Welcome.md"));
        check(&files, "x.md", "WELCOME", Some("WELCOME.md"));
        // No exact spelling: the first by path, as before.
        check(&files, "x.md", "wELCOME", Some("WELCOME.md"));
        check(&files, "x.md", "img/logo.png", Some("img/logo.png"));
        check(&files, "x.md", "img/Logo.png", Some("img/Logo.png"));
        // NFD input finds the NFC name.
        check(
            &["Café.md", "café.md"],
            "x.md",
            "cafe\u{301}",
            Some("café.md"),
        );
    }

    #[test]
    fn exact_path_then_own_folder_then_shortest_path() {
        let files = [
            "Note.md",
            "b/Note.md",
            "a/b/Note.md",
            "zzzz/Note.md",
            "zzzz/deep/Other.md",
        ];
        // An exact vault path wins, even over a note beside the source.
        check(&files, "b/x.md", "Note", Some("Note.md"));
        check(&files, "zzzz/x.md", "b/Note", Some("b/Note.md"));
        let files = ["b/Note.md", "a/b/Note.md", "zzzz/Note.md", "zzzz/deep/x.md"];
        // The source's own folder wins; an ancestor folder counts for nothing.
        check(&files, "zzzz/x.md", "Note", Some("zzzz/Note.md"));
        check(&files, "zzzz/deep/x.md", "Note", Some("b/Note.md"));
        // Otherwise the shortest path string, not the fewest segments.
        let files = ["zzzz/Note.md", "a/b/Note.md"];
        check(&files, "x.md", "Note", Some("a/b/Note.md"));
        // Ties on length go to the smaller path.
        let files = ["bb/Note.md", "aa/Note.md"];
        check(&files, "x.md", "Note", Some("aa/Note.md"));
    }

    #[test]
    fn path_qualified_links_match_by_suffix() {
        let files = ["x/b/Note.md", "y/c/Note.md", "y/bb/Note.md"];
        check(&files, "root.md", "b/Note", Some("x/b/Note.md"));
        check(&files, "root.md", "c/Note.md", Some("y/c/Note.md"));
        // A suffix must end at a folder boundary.
        let files = ["y/bb/Note.md"];
        check(&files, "root.md", "b/Note", None);
    }

    #[test]
    fn relative_paths() {
        let files = ["a/sub/Note.md", "a/Other.md", "c/Deep.md"];
        check(&files, "a/x.md", "./Other", Some("a/Other.md"));
        check(&files, "a/sub/x.md", "../Other.md", Some("a/Other.md"));
        check(&files, "a/x.md", "sub/Note", Some("a/sub/Note.md"));
        check(&files, "a/x.md", "../../escape", None);
        check(&files, "a/x.md", "/c/Deep", Some("c/Deep.md"));
    }

    #[test]
    fn unicode_names_compare_after_nfc() {
        // The file was written by macOS in NFD; the link typed in NFC, or the other way round.
        let files = ["Cafe\u{301}.md", "\u{00dc}ber.md"];
        check(&files, "x.md", "Caf\u{e9}", Some("Caf\u{e9}.md"));
        check(&files, "x.md", "U\u{308}ber", Some("\u{00dc}ber.md"));
        check(&files, "x.md", "\u{00fc}BER", Some("\u{00dc}ber.md"));
    }

    #[test]
    fn names_with_dots() {
        let files = ["v1.2 notes.md", "archive.tar.gz"];
        check(&files, "x.md", "v1.2 notes", Some("v1.2 notes.md"));
        check(&files, "x.md", "archive.tar.gz", Some("archive.tar.gz"));
    }

    /// Found by the `rewrite_round_trip` fuzz target: with case twins `A/x.md` and `a/x.md`,
    /// `[[#Part]]` in `a/x.md` resolved to `A/x.md`.
    #[test]
    fn same_note_links_resolve_to_the_note_not_its_case_twin() {
        let files = ["A/garden.md", "a/garden.md", "b/Other.md"];
        check(&files, "a/garden.md", "", Some("a/garden.md"));
        check(&files, "A/garden.md", "", Some("A/garden.md"));
        check(&files, "a/Garden.md", "", Some("A/garden.md"));
    }

    #[test]
    fn fragments() {
        let headings = vec![Heading {
            level: 2,
            text: "Goals: 2024".into(),
            anchor: heading_anchor("Goals: 2024"),
            line: 1,
            range: 0..1,
        }];
        let blocks = ["intro"];
        assert!(fragment_exists(
            &Fragment::Heading("goals 2024".into()),
            &headings,
            blocks
        ));
        assert!(fragment_exists(
            &Fragment::Heading("Top#Goals 2024".into()),
            &headings,
            blocks
        ));
        assert!(!fragment_exists(
            &Fragment::Heading("Missing".into()),
            &headings,
            blocks
        ));
        assert!(fragment_exists(
            &Fragment::Block("INTRO".into()),
            &headings,
            blocks
        ));
        assert!(!fragment_exists(
            &Fragment::Block("x".into()),
            &headings,
            blocks
        ));
    }
}
