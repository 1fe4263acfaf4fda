//! Link rewriting for moves and renames: the text of one note in, the same text out with the
//! links to moved files pointing at their new paths, and nothing else touched.
//!
//! Only the bytes of a link's target path change, so kind, alias, display text and fragment
//! stay as written. A link that still resolves to the right file after the move keeps its
//! bytes, so an untouched link never changes. A link that must change keeps its style:
//!
//! - a bare name (`[[Plan]]`, `[p](Plan.md)`) stays a bare name when that name resolves to the
//!   moved file, otherwise it becomes a path (a Markdown link to a file beside the note becomes
//!   a relative path, anything else the vault path);
//! - a relative path (`./`, `../`, or relative to the note's folder) stays relative, computed
//!   from the note's new folder, so a moved note's relative links are fixed even when their
//!   targets stay put;
//! - a vault path stays a vault path, with its leading `/` if it had one;
//! - `.md` is written only if it was; folder and file names that did not change keep their
//!   spelling (case, Unicode form), so moving `a -> b` then `b -> a` restores the original bytes;
//! - Markdown targets stay percent-encoded (or in `<angle>` form) the way they were.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use crate::{Link, VaultPath, fold_name};

/// A note's text after rewriting its links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// The new text; equal to the source when no link changed.
    pub text: String,
    /// The links that changed, in document order.
    pub changed: Vec<RewrittenLink>,
}

/// One rewritten link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RewrittenLink {
    /// Line of the change (of the link, or of its reference definition).
    pub line: u32,
    /// The whole link syntax before, such as `[[Old|alias]]`; for a reference-style link the
    /// definition line, where its target is written.
    pub before: String,
    /// The same after the rewrite.
    pub after: String,
}

/// Rewrites, in `source` (the text of note `note_path`, whose parsed links are `links`), every
/// link whose resolved target (parallel `resolved`) moves (`moves` maps old paths to new
/// ones), or that no longer resolves to its target after the move, so that it points at the
/// target's new path. `note_new_path` is where the note itself lives after the move (equal to
/// `note_path` when it stays); `resolves_to(from, target_text)` tells how a link target (as the
/// parser reports it: decoded, without fragment) resolves in the vault after the move.
///
/// ```
/// use std::collections::HashMap;
/// use weaver_core::{parse_note, rewrite_links, ParseOptions, Resolver, VaultPath};
///
/// let p = |s: &str| VaultPath::new(s).unwrap();
/// let src = "See [[Plan#Goals|the plan]] and [old](Projects/Plan.md).\n";
/// let note = parse_note(&p("Home.md"), src.as_bytes(), &ParseOptions::default());
/// let resolved = vec![Some(p("Projects/Plan.md")); 2];
/// let moves = HashMap::from([(p("Projects/Plan.md"), p("Archive/Roadmap.md"))]);
/// let after = Resolver::new([p("Home.md"), p("Archive/Roadmap.md")]);
/// let resolves_to = |from: &VaultPath, target: &str| {
///     after.resolve(from, target).and_then(|id| after.path(id)).cloned()
/// };
/// let out = rewrite_links(src, &p("Home.md"), &p("Home.md"), &note.links, &resolved, &moves, &resolves_to);
/// assert_eq!(out.text, "See [[Roadmap#Goals|the plan]] and [old](Archive/Roadmap.md).\n");
/// assert_eq!(out.changed[0].after, "[[Roadmap#Goals|the plan]]");
/// ```
pub fn rewrite_links(
    source: &str,
    note_path: &VaultPath,
    note_new_path: &VaultPath,
    links: &[Link],
    resolved: &[Option<VaultPath>],
    moves: &HashMap<VaultPath, VaultPath>,
    resolves_to: &dyn Fn(&VaultPath, &str) -> Option<VaultPath>,
) -> Rewrite {
    let mut edits: Vec<Edit> = Vec::new();
    for (index, link) in links.iter().enumerate() {
        let Some(Some(old)) = resolved.get(index) else {
            continue;
        };
        let range = link.target_range.clone();
        // Same-note links have no target text; reference links can share a definition.
        if range.is_empty() || edits.iter().any(|e| e.range == range) {
            continue;
        }
        let new = moves.get(old).unwrap_or(old);
        if resolves_to(note_new_path, &link.target).as_ref() == Some(new) {
            continue;
        }
        let Some(raw) = source.get(range.clone()) else {
            continue;
        };
        let target = Target {
            note_old: note_path,
            note_new: note_new_path,
            old,
            new,
            resolves_to,
        };
        let written = if link.kind.is_wiki() {
            target.text(raw, false)
        } else {
            let angle = source
                .get(..range.start)
                .is_some_and(|before| before.trim_end_matches([' ', '\t']).ends_with('<'));
            let encoding = Encoding::of(raw);
            encoding.encode(&target.text(&link.target, true), angle)
        };
        if written != raw {
            edits.push(Edit {
                range,
                written,
                link: index,
            });
        }
    }
    apply(source, links, edits)
}

/// A replacement of one link target's bytes.
struct Edit {
    range: Range<usize>,
    written: String,
    link: usize,
}

/// Splices `edits` into `source` and describes each change.
fn apply(source: &str, links: &[Link], mut edits: Vec<Edit>) -> Rewrite {
    edits.sort_by_key(|e| e.range.start);
    let mut text = String::with_capacity(source.len() + 64);
    let mut cursor = 0;
    let mut kept: Vec<Edit> = Vec::with_capacity(edits.len());
    for edit in edits {
        if edit.range.start < cursor {
            continue;
        }
        text.push_str(source.get(cursor..edit.range.start).unwrap_or(""));
        text.push_str(&edit.written);
        cursor = edit.range.end;
        kept.push(edit);
    }
    text.push_str(source.get(cursor..).unwrap_or(""));
    let moved = |pos: usize| -> usize {
        kept.iter()
            .filter(|e| e.range.end <= pos)
            .fold(pos, |p, e| p + e.written.len() - e.range.len())
    };
    let changed = kept
        .iter()
        .filter_map(|edit| {
            let link = links.get(edit.link)?;
            let inline = link.range.start <= edit.range.start && edit.range.end <= link.range.end;
            let (line, outer) = if inline {
                (link.line, link.range.clone())
            } else {
                let start = source
                    .get(..edit.range.start)?
                    .rfind('\n')
                    .map_or(0, |nl| nl + 1);
                let end = source
                    .get(edit.range.end..)?
                    .find('\n')
                    .map_or(source.len(), |nl| edit.range.end + nl);
                let end = if source.get(..end)?.ends_with('\r') {
                    end - 1
                } else {
                    end
                };
                let line = source.get(..start)?.matches('\n').count() + 1;
                (u32::try_from(line).unwrap_or(u32::MAX), start..end)
            };
            Some(RewrittenLink {
                line,
                before: source.get(outer.clone())?.to_owned(),
                after: text.get(moved(outer.start)..moved(outer.end))?.to_owned(),
            })
        })
        .collect();
    Rewrite { text, changed }
}

/// The relative path from `from_folder` (a vault folder, `""` for the root) to `to`, as a
/// Markdown link writes it: `../b/Note.md`, `sub/Note.md`, or just `Note.md` in the same
/// folder. Folder names compare case-insensitively, as links resolve.
///
/// ```
/// use weaver_core::{relative_path, VaultPath};
///
/// let to = VaultPath::new("Projects/Plan.md").unwrap();
/// assert_eq!(relative_path("Notes/Daily", &to), "../../Projects/Plan.md");
/// assert_eq!(relative_path("projects", &to), "Plan.md");
/// assert_eq!(relative_path("", &to), "Projects/Plan.md");
/// ```
pub fn relative_path(from_folder: &str, to: &VaultPath) -> String {
    let from: Vec<&str> = from_folder
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let to_folder: Vec<&str> = to.folder().split('/').filter(|s| !s.is_empty()).collect();
    let common = from
        .iter()
        .zip(&to_folder)
        .take_while(|(a, b)| fold_name(a) == fold_name(b))
        .count();
    let mut parts: Vec<&str> = vec![".."; from.len().saturating_sub(common)];
    parts.extend(to_folder.iter().skip(common));
    parts.push(to.file_name());
    parts.join("/")
}

/// One link's target before and after the move.
struct Target<'a> {
    note_old: &'a VaultPath,
    note_new: &'a VaultPath,
    old: &'a VaultPath,
    new: &'a VaultPath,
    resolves_to: &'a dyn Fn(&VaultPath, &str) -> Option<VaultPath>,
}

/// How a link spells its target.
enum Style {
    /// A file name: `Plan`, `img.png`.
    Bare,
    /// Relative to the note's folder; `dot` when written with a leading `./`.
    Relative { dot: bool },
    /// A vault path (the leading `/`, if any, is kept separately).
    Vault,
}

fn strip_md(s: &str) -> Option<&str> {
    let cut = s.len().checked_sub(3)?;
    s.get(cut..)
        .filter(|ext| ext.eq_ignore_ascii_case(".md"))
        .and_then(|_| s.get(..cut))
}

impl Target<'_> {
    fn resolves(&self, text: &str) -> bool {
        (self.resolves_to)(self.note_new, text).as_ref() == Some(self.new)
    }

    /// True when `path` names the old target (with or without `.md`).
    fn names_old(&self, path: &str) -> bool {
        let folded = fold_name(path);
        folded == fold_name(self.old.as_str())
            || (self.old.is_note() && folded == fold_name(self.old.without_md()))
    }

    /// The new target text for a link whose target (decoded) is `old_text`.
    fn text(&self, old_text: &str, markdown: bool) -> String {
        let keep_md = strip_md(old_text).is_some();
        let slash = old_text.starts_with('/');
        let body = old_text.strip_prefix('/').unwrap_or(old_text);
        let style = if slash {
            Style::Vault
        } else if body.starts_with("./") || body.starts_with("../") {
            Style::Relative {
                dot: body.starts_with("./"),
            }
        } else if body.contains('/') {
            let relative = VaultPath::join_relative(self.note_old.folder(), body)
                .is_some_and(|joined| self.names_old(joined.as_str()));
            if !self.names_old(body) && relative {
                Style::Relative { dot: false }
            } else {
                Style::Vault
            }
        } else {
            Style::Bare
        };
        let vault = || {
            let full = if self.new.is_note() && !keep_md {
                self.new.without_md()
            } else {
                self.new.as_str()
            };
            let spelled = |path: &str| {
                if slash {
                    format!("/{path}")
                } else {
                    path.to_owned()
                }
            };
            let respelled = spelled(&respell(body, full));
            if self.resolves(&respelled) {
                return respelled;
            }
            // The old text's case names a case twin (`a/x.md` beside `A/x.md`): the exact
            // path, then the explicit vault path.
            [spelled(full), format!("/{full}")]
                .into_iter()
                .find(|candidate| self.resolves(candidate))
                .unwrap_or(respelled)
        };
        match style {
            Style::Vault => vault(),
            Style::Relative { dot } => self.relative(body, dot, keep_md).unwrap_or_else(vault),
            Style::Bare => {
                let name = if self.new.is_note() && !keep_md {
                    self.new.stem()
                } else {
                    self.new.file_name()
                };
                let name = respell(body, name);
                if self.resolves(&name) {
                    return name;
                }
                let beside = fold_name(self.old.folder()) == fold_name(self.note_old.folder());
                if markdown && beside {
                    self.relative(body, false, keep_md).unwrap_or_else(vault)
                } else {
                    vault()
                }
            }
        }
    }

    /// The relative path from the note's new folder, if one resolves to the target.
    fn relative(&self, body: &str, dot: bool, keep_md: bool) -> Option<String> {
        let full = relative_path(self.note_new.folder(), self.new);
        let plain = if self.new.is_note() && !keep_md {
            strip_md(&full).unwrap_or(&full).to_owned()
        } else {
            full
        };
        let dotted = if plain.starts_with("../") {
            plain.clone()
        } else {
            format!("./{plain}")
        };
        let candidates = if dot {
            [dotted.clone(), dotted]
        } else {
            [plain, dotted]
        };
        candidates
            .into_iter()
            .map(|candidate| respell(body, &candidate))
            .find(|candidate| self.resolves(candidate))
    }
}

/// `new` with each segment that names the same thing as the old text's segment in the same
/// position from the end (case-insensitively, after NFC) spelled as the old text had it.
fn respell(old: &str, new: &str) -> String {
    let mut parts: Vec<&str> = new.split('/').collect();
    let mut old_parts = old.split('/').rev();
    for part in parts.iter_mut().rev() {
        let Some(old_part) = old_parts.next() else {
            break;
        };
        if !matches!(*part, "." | "..") && fold_name(old_part) == fold_name(part) {
            *part = old_part;
        }
    }
    parts.join("/")
}

/// How a Markdown link target was percent-encoded, to write a new one the same way.
#[derive(Debug, Default)]
struct Encoding {
    /// Non-ASCII characters were written as `%XX` bytes.
    non_ascii: bool,
    /// Hex digits were lower case.
    lower: bool,
    /// ASCII characters that were written encoded (such as `(` as `%28`).
    ascii: Vec<u8>,
}

/// True when every `)` in `chars` closes an earlier `(` and none stays open.
fn balanced(chars: impl Iterator<Item = char>) -> bool {
    let mut depth: i64 = 0;
    for c in chars {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return false,
            ')' => depth -= 1,
            _ => {}
        }
    }
    depth == 0
}

impl Encoding {
    fn of(raw: &str) -> Self {
        let mut encoding = Self::default();
        let bytes = raw.as_bytes();
        for (i, _) in raw.match_indices('%') {
            let (Some(&hi), Some(&lo)) = (bytes.get(i + 1), bytes.get(i + 2)) else {
                continue;
            };
            let (Some(h), Some(l)) = ((hi as char).to_digit(16), (lo as char).to_digit(16)) else {
                continue;
            };
            encoding.lower |= hi.is_ascii_lowercase() || lo.is_ascii_lowercase();
            let byte = h * 16 + l;
            if byte >= 0x80 {
                encoding.non_ascii = true;
            } else if let Ok(b) = u8::try_from(byte) {
                encoding.ascii.push(b);
            }
        }
        // Parentheses that had to be encoded (unbalanced once decoded) say nothing about style.
        let decoded = raw.replace("%28", "(").replace("%29", ")");
        if !balanced(decoded.chars()) {
            encoding.ascii.retain(|b| !matches!(b, b'(' | b')'));
        }
        encoding
    }

    /// Writes a decoded target path as a Markdown destination: `%`, `#` and `\` always
    /// encoded, spaces and unbalanced parentheses encoded outside `<angle>` form. Outside
    /// `<angle>` form parentheses are encoded in pairs: encoding only one of `a(1)` would
    /// leave the other unbalanced and end the link early.
    fn encode(&self, path: &str, angle: bool) -> String {
        let parens = !angle
            && (!balanced(path.chars())
                || self.ascii.contains(&b'(')
                || self.ascii.contains(&b')'));
        let mut out = String::with_capacity(path.len() + 8);
        for c in path.chars() {
            let ascii = u8::try_from(c).ok().filter(u8::is_ascii);
            let encode = match c {
                '%' | '#' | '\\' | '<' | '>' => true,
                ' ' => !angle,
                '(' | ')' => parens,
                c if c.is_control() => true,
                c if !c.is_ascii() => self.non_ascii,
                _ => false,
            } || ascii.is_some_and(|b| self.ascii.contains(&b) && b != b'/');
            if encode {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = if self.lower {
                        write!(out, "%{b:02x}")
                    } else {
                        write!(out, "%{b:02X}")
                    };
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        let p = |s: &str| VaultPath::new(s).unwrap();
        let cases = [
            ("", "a.md", "a.md"),
            ("", "x/a.md", "x/a.md"),
            ("x", "a.md", "../a.md"),
            ("x/y", "x/z/a.md", "../z/a.md"),
            ("X/Y", "x/y/a.md", "a.md"),
            ("x", "x/y/a.md", "y/a.md"),
        ];
        for (from, to, expected) in cases {
            assert_eq!(relative_path(from, &p(to)), expected, "{from} -> {to}");
        }
    }

    #[test]
    fn respelling_keeps_unchanged_segments() {
        let cases = [
            (
                "projects/plan",
                "Archive/Projects/Plan",
                "Archive/projects/plan",
            ),
            ("Archive/projects/plan", "Projects/Plan", "projects/plan"),
            ("plan", "Roadmap", "Roadmap"),
            ("./x", "../y/x", "../y/x"),
            ("../a/x", "x", "x"),
            ("Cafe\u{301}", "Caf\u{e9}", "Cafe\u{301}"),
        ];
        for (old, new, expected) in cases {
            assert_eq!(respell(old, new), expected, "{old} -> {new}");
        }
    }

    #[test]
    fn encodings() {
        let cases = [
            ("a%20b.md", "new name.md", false, "new%20name.md"),
            ("a b.md", "new name.md", true, "new name.md"),
            ("Caf%C3%A9.md", "Thé.md", false, "Th%C3%A9.md"),
            ("caf%c3%a9.md", "Thé.md", false, "Th%c3%a9.md"),
            ("Café.md", "Thé.md", false, "Thé.md"),
            ("x.md", "a(1).md", false, "a(1).md"),
            ("x.md", "a(.md", false, "a%28.md"),
            ("x%281%29.md", "a(1).md", false, "a%281%29.md"),
            ("x.md", "50%#1.md", false, "50%25%231.md"),
            // Found by the `rewrite_round_trip` fuzz target: a style that encoded one
            // parenthesis encodes both (`a(1%29.md` is no link), and an encoding that was
            // needed (`b%29.md`) is no style.
            ("%28x).md", "a(1).md", false, "a%281%29.md"),
            ("b%29.md", "a(1).md", false, "a(1).md"),
            ("a%281%29.md", "b).md", false, "b%29.md"),
            ("x%29.md", "a(1).md", true, "a(1).md"),
        ];
        for (raw, path, angle, expected) in cases {
            let encoded = Encoding::of(raw).encode(path, angle);
            assert_eq!(encoded, expected, "{raw} / {path}");
        }
    }
}
