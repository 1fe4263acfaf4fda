//! Note parsing: a file's bytes in, a [`ParsedNote`] out, the way Obsidian reads the note.
//!
//! The work is split in three layers:
//! - this module decodes the bytes (size limit, binary files, BOM, invalid UTF-8) and splits off
//!   the frontmatter ([`frontmatter`], YAML read within hard budgets);
//! - [`body`] drives pulldown-cmark over the rest, which settles CommonMark/GFM structure
//!   (code, HTML, headings, lists, tables, Markdown links, wikilink delimiting);
//! - [`syntax`] holds the byte scanners for what CommonMark does not know (wikilink bodies,
//!   tags, block ids, custom task statuses, callouts, bare URLs, exact link target ranges).
//!
//! Every offset is absolute in the decoded text, so ranges slice the file as read.

mod body;
mod frontmatter;
mod render;
mod syntax;

pub use render::{LinkTargets, is_image_path, render_html};

use std::borrow::Cow;

use crate::{Diagnostic, DiagnosticCode, ParseOptions, ParsedNote, VaultPath};

/// Only this much of a file is searched for NUL bytes when deciding it is binary.
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

/// Parses one note. Never fails and never panics: problems become diagnostics, and the note
/// keeps whatever could be read. The title falls back to the file name without extension.
///
/// ```
/// use weaver_core::{parse_note, Fragment, ParseOptions, VaultPath};
///
/// let path = VaultPath::new("a.md").unwrap();
/// let src = "---\ntags: [x]\n---\n# Hi\nSee [[b#Part|there]].\n";
/// let note = parse_note(&path, src.as_bytes(), &ParseOptions::default());
/// assert_eq!(note.headings[0].text, "Hi");
/// let link = &note.links[0];
/// assert_eq!(&src[link.range.clone()], "[[b#Part|there]]");
/// assert_eq!(link.fragment, Some(Fragment::Heading("Part".into())));
/// ```
pub fn parse_note(path: &VaultPath, bytes: &[u8], options: &ParseOptions) -> ParsedNote {
    let mut note = ParsedNote {
        title: path.stem().to_owned(),
        ..ParsedNote::default()
    };
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > options.max_file_bytes {
        note.diagnostics.push(Diagnostic {
            code: DiagnosticCode::FileTooLarge,
            message: format!(
                "file is `{len}` bytes, more than the limit of `{}`; not parsed",
                options.max_file_bytes
            ),
            line: None,
        });
        return note;
    }
    if bytes.is_empty() {
        note.diagnostics.push(Diagnostic {
            code: DiagnosticCode::EmptyFile,
            message: "file is empty".to_owned(),
            line: None,
        });
        return note;
    }
    let sniff = bytes.get(..BINARY_SNIFF_BYTES).unwrap_or(bytes);
    // `contains` is memchr-backed; finding the offset is only needed for binary files.
    if let Some(nul) = sniff
        .contains(&0)
        .then(|| sniff.iter().position(|&b| b == 0))
        .flatten()
    {
        note.diagnostics.push(Diagnostic {
            code: DiagnosticCode::BinaryFile,
            message: format!("file has a NUL byte at offset `{nul}`; not parsed as Markdown"),
            line: Some(line_of_byte(bytes, nul)),
        });
        return note;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(err) => {
            let offset = err.valid_up_to();
            note.diagnostics.push(Diagnostic {
                code: DiagnosticCode::InvalidUtf8,
                message: format!(
                    "file is not valid UTF-8 at byte offset `{offset}`; invalid bytes were replaced"
                ),
                line: Some(line_of_byte(bytes, offset)),
            });
            String::from_utf8_lossy(bytes)
        }
    };
    parse_text(&text, &mut note);
    note
}

/// Parses decoded text into `note`.
fn parse_text(src: &str, note: &mut ParsedNote) {
    let lines = LineIndex::new(src);
    let start = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let mut body_start = start;
    if let Some(block) = frontmatter::find(src, start) {
        let yaml = src.get(block.yaml.clone()).unwrap_or("");
        frontmatter::read(yaml, lines.line(block.range.start), note);
        body_start = block.range.end;
        note.frontmatter_range = Some(block.range);
    }
    let mut text = body::parse(src, body_start, &lines, note);
    text.truncate(text.trim_end().len());
    note.word_count = u32::try_from(word_count(&text)).unwrap_or(u32::MAX);
    note.text = text;
}

/// Counts whitespace-separated words. Splitting on ASCII whitespace first is much cheaper
/// and gives the same count: only pieces with non-ASCII characters or a vertical tab (Unicode
/// whitespace that `split_ascii_whitespace` keeps) can hold other spaces.
fn word_count(text: &str) -> usize {
    text.split_ascii_whitespace()
        .map(|piece| {
            if piece.is_ascii() && !piece.contains('\u{b}') {
                1
            } else {
                piece.split_whitespace().count()
            }
        })
        .sum()
}

/// The anchor Obsidian writes in `[[note#anchor]]` for a heading with this text: the
/// characters `#`, `|`, `^`, `:`, `%`, `[` and `]` removed, whitespace runs collapsed to one
/// space, ends trimmed, case kept.
///
/// ```
/// assert_eq!(weaver_core::heading_anchor("  Goals: [draft]  #2 "), "Goals draft 2");
/// ```
pub fn heading_anchor(text: &str) -> String {
    let mut anchor = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if matches!(c, '#' | '|' | '^' | ':' | '%' | '[' | ']') {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !anchor.is_empty();
            continue;
        }
        if pending_space {
            anchor.push(' ');
            pending_space = false;
        }
        anchor.push(c);
    }
    anchor
}

/// 1-based line numbers for byte offsets, by binary search over the newline positions.
struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(src: &str) -> Self {
        let newlines = src.match_indices('\n').map(|(i, _)| i).collect();
        Self { newlines }
    }

    /// The line holding byte `pos`.
    fn line(&self, pos: usize) -> u32 {
        let line = self.newlines.partition_point(|&nl| nl < pos) + 1;
        u32::try_from(line).unwrap_or(u32::MAX)
    }
}

/// The line of byte `offset` in raw bytes (used before decoding).
fn line_of_byte(bytes: &[u8], offset: usize) -> u32 {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let newlines = before.iter().filter(|&&b| b == b'\n').count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors() {
        let cases = [
            ("Plain", "Plain"),
            ("  a   b\tc  ", "a b c"),
            ("A: B", "A B"),
            ("x # y", "x y"),
            ("[[link]] | 100% ^id", "link 100 id"),
            ("Ünïcode Case", "Ünïcode Case"),
            ("###", ""),
        ];
        for (text, expected) in cases {
            assert_eq!(heading_anchor(text), expected, "input {text:?}");
        }
    }

    #[test]
    fn line_index() {
        let lines = LineIndex::new("a\nbc\n\nd");
        let cases = [(0, 1), (1, 1), (2, 2), (4, 2), (5, 3), (6, 4), (99, 4)];
        for (pos, line) in cases {
            assert_eq!(lines.line(pos), line, "offset {pos}");
        }
        assert_eq!(line_of_byte(b"a\nb\n", 3), 2);
    }

    #[test]
    fn word_counts() {
        let cases = [
            ("", 0),
            ("one", 1),
            (" one  two\tthree\nfour ", 4),
            ("café au lait", 3),
            ("日本語\u{3000}テキスト", 2),
            ("a\u{a0}b c", 3),
            ("a\u{b}b c", 3),
        ];
        for (text, expected) in cases {
            assert_eq!(word_count(text), expected, "input {text:?}");
            assert_eq!(
                word_count(text),
                text.split_whitespace().count(),
                "input {text:?}"
            );
        }
    }
}
