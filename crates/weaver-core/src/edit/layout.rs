//! Placing text in a note: line endings, line breaks around inserted text, and the check that a
//! splice left every heading and block id outside its target as it was.

use std::collections::HashSet;
use std::ops::Range;

use super::{EditError, parse};
use crate::{ParsedNote, VaultPath};

/// The file's line ending: CRLF when its first line break is `\r\n`, else LF.
pub(super) fn eol_of(src: &str) -> &'static str {
    match src.find('\n') {
        Some(nl) if nl > 0 && src.as_bytes().get(nl - 1) == Some(&b'\r') => "\r\n",
        _ => "\n",
    }
}

/// `text` with every line break (`\r\n`, `\n` or a lone `\r`) written as `eol`.
pub(super) fn normalize(text: &str, eol: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    if eol == "\n" {
        unified
    } else {
        unified.replace('\n', eol)
    }
}

/// Start of the line holding `pos`.
pub(super) fn line_start(src: &str, pos: usize) -> usize {
    src.get(..pos)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |nl| nl + 1)
}

/// Start of the line after the one holding `pos`, or the end of `src`.
pub(super) fn next_line_start(src: &str, pos: usize) -> usize {
    src.get(pos..)
        .and_then(|rest| rest.find('\n'))
        .map_or(src.len(), |nl| pos + nl + 1)
}

/// True for a line with nothing but spaces, tabs and its line break.
pub(super) fn is_blank(line: &str) -> bool {
    line.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// `range` (made of whole lines) without its leading and trailing blank lines; empty at
/// `range.start` when every line is blank.
pub(super) fn content_range(src: &str, range: Range<usize>) -> Range<usize> {
    let mut first = None;
    let mut end = range.start;
    let mut pos = range.start;
    while pos < range.end {
        let next = next_line_start(src, pos).min(range.end);
        if !is_blank(src.get(pos..next).unwrap_or("")) {
            first.get_or_insert(pos);
            end = next;
        }
        if next <= pos {
            break;
        }
        pos = next;
    }
    match first {
        Some(start) => start..end,
        None => range.start..range.start,
    }
}

/// Byte range of 1-based line `line`, without its line break.
pub(super) fn line_bounds(src: &str, line: u32) -> Option<Range<usize>> {
    let mut start = 0;
    for _ in 1..line {
        start += src.get(start..)?.find('\n')? + 1;
    }
    let rest = src.get(start..)?;
    let content = rest.split('\n').next().unwrap_or(rest);
    let content = content.strip_suffix('\r').unwrap_or(content);
    Some(start..start + content.len())
}

/// The prefix that keeps a line inside the containers of the text at `pos`: the bytes before
/// `pos` on its line with `>` and tabs kept and everything else (list markers, indentation)
/// turned into spaces. `> - item` gives `">   "`.
pub(super) fn container_prefix(src: &str, pos: usize) -> String {
    let before = src.get(line_start(src, pos)..pos).unwrap_or("");
    before
        .chars()
        .map(|c| if matches!(c, '>' | '\t') { c } else { ' ' })
        .collect()
}

/// Writes `prefix` before each line of `text` (before the first too when `first`); blank lines
/// get the prefix without its trailing spaces.
pub(super) fn prefix_lines(text: &str, prefix: &str, first: bool) -> String {
    if prefix.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + prefix.len() * 4);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i > 0 || first {
            if is_blank(line) {
                out.push_str(prefix.trim_end_matches(' '));
            } else {
                out.push_str(prefix);
            }
        }
        out.push_str(line);
    }
    out
}

/// Where a splice happens and what it writes.
pub(super) struct Splice {
    /// The bytes replaced (empty for an insertion).
    pub range: Range<usize>,
    /// Texts to try in order: the plain placement first, then placements with blank lines
    /// that keep the text from merging with its neighbours.
    pub candidates: Vec<String>,
    /// A block id that must still exist afterwards (the block being replaced).
    pub keep_block: Option<String>,
}

/// An insertion of `text` (normalised) at `range`, framed with the line breaks it needs so it
/// never glues onto an adjacent line, plus fallbacks that add a blank line (written as `blank`,
/// which carries any container prefix) after it, before it, then on both sides.
pub(super) fn framed(
    src: &str,
    bom: usize,
    range: Range<usize>,
    text: &str,
    blank: &str,
) -> Splice {
    let lead = !text.is_empty()
        && range.start > bom
        && !src
            .get(..range.start)
            .is_some_and(|before| before.ends_with('\n'));
    let follows = range.end < src.len();
    let mut plain = String::with_capacity(text.len() + 4);
    let eol = eol_of(src);
    if lead {
        plain.push_str(eol);
    }
    plain.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') && (follows || src.ends_with('\n')) {
        plain.push_str(eol);
    }
    let mut candidates = vec![plain.clone()];
    if !text.is_empty() {
        let spaced_after = follows.then(|| format!("{plain}{blank}"));
        let spaced_before = (range.start > bom).then(|| match plain.strip_prefix(eol) {
            Some(rest) if lead => format!("{eol}{blank}{rest}"),
            _ => format!("{blank}{plain}"),
        });
        let spaced_both = spaced_before
            .as_ref()
            .filter(|_| follows)
            .map(|before| format!("{before}{blank}"));
        for candidate in [spaced_after, spaced_before, spaced_both]
            .into_iter()
            .flatten()
        {
            if !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
    }
    Splice {
        range,
        candidates,
        keep_block: None,
    }
}

/// Applies `splice` to `src`, trying its candidates in order, and returns the first result
/// that keeps the note's structure outside the splice; the new text comes with its parse.
pub(super) fn commit(
    path: &VaultPath,
    src: &str,
    old: &ParsedNote,
    splice: Splice,
) -> Result<(String, ParsedNote), EditError> {
    let Splice {
        range,
        candidates,
        keep_block,
    } = splice;
    let before = src.get(..range.start).unwrap_or("");
    let after = src.get(range.end..).unwrap_or("");
    let mut first_problem = None;
    for text in candidates {
        let new = format!("{before}{text}{after}");
        let note = parse(path, &new);
        let shift = Shift {
            start: range.start,
            end: range.end,
            new_end: range.start + text.len(),
        };
        match verify(old, &note, &shift, keep_block.as_deref()) {
            Ok(()) => return Ok((new, note)),
            Err(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
    }
    Err(EditError::WouldChangeStructure(
        first_problem.unwrap_or_else(|| "nothing to write".to_owned()),
    ))
}

/// How offsets move when `start..end` becomes `start..new_end`.
struct Shift {
    start: usize,
    end: usize,
    new_end: usize,
}

impl Shift {
    /// Where `range` lands, or `None` when it overlaps the replaced bytes. A range that holds
    /// the whole splice grows with it.
    fn map(&self, range: &Range<usize>) -> Option<Range<usize>> {
        let moved = |p: usize| p - self.end + self.new_end;
        let insertion = self.start == self.end;
        if range.end <= self.start && (range.start < self.start || !insertion) {
            Some(range.clone())
        } else if range.start >= self.end {
            Some(moved(range.start)..moved(range.end))
        } else if range.start < self.start && range.end > self.end {
            Some(range.start..moved(range.end))
        } else {
            None
        }
    }

    /// True when `range` of the new text lies inside the written text.
    fn written(&self, range: &Range<usize>) -> bool {
        range.start >= self.start && range.end <= self.new_end
    }
}

/// Checks that every heading and block id outside the splice survived unchanged (moved by the
/// splice's length) and that the written text created no heading reaching outside itself.
fn verify(
    old: &ParsedNote,
    new: &ParsedNote,
    shift: &Shift,
    keep_block: Option<&str>,
) -> Result<(), String> {
    let expected: Vec<(u8, &str, Range<usize>, u32)> = old
        .headings
        .iter()
        .filter_map(|h| {
            shift
                .map(&h.range)
                .map(|r| (h.level, h.text.as_str(), r, h.line))
        })
        .collect();
    let got: Vec<(u8, &str, Range<usize>, u32)> = new
        .headings
        .iter()
        .filter(|h| !shift.written(&h.range))
        .map(|h| (h.level, h.text.as_str(), h.range.clone(), h.line))
        .collect();
    if expected.len() != got.len()
        || expected
            .iter()
            .zip(&got)
            .any(|(e, g)| (e.0, e.1, &e.2) != (g.0, g.1, &g.2))
    {
        let lost = expected
            .iter()
            .find(|e| !got.iter().any(|g| (e.0, e.1, &e.2) == (g.0, g.1, &g.2)));
        return Err(match lost {
            Some((_, text, _, line)) => {
                format!("heading `{text}` on line `{line}` would change or disappear")
            }
            None => {
                let made = got.iter().find(|g| {
                    !expected
                        .iter()
                        .any(|e| (e.0, e.1, &e.2) == (g.0, g.1, &g.2))
                });
                match made {
                    Some((_, text, _, line)) => format!(
                        "the text would merge with a neighbouring line into heading `{text}` on line `{line}`"
                    ),
                    None => "the headings would change".to_owned(),
                }
            }
        });
    }
    let new_blocks: HashSet<(&str, usize, usize)> = new
        .blocks
        .iter()
        .map(|b| (b.id.as_str(), b.range.start, b.range.end))
        .collect();
    for block in &old.blocks {
        let Some(range) = shift.map(&block.range) else {
            continue;
        };
        if !new_blocks.contains(&(block.id.as_str(), range.start, range.end)) {
            return Err(format!(
                "block `^{}` on line `{}` would no longer label the same text",
                block.id, block.line
            ));
        }
    }
    if let Some(id) = keep_block
        && !new.blocks.iter().any(|b| b.id.eq_ignore_ascii_case(id))
    {
        return Err(format!("block `^{id}` would lose its id"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings() {
        assert_eq!(eol_of("a\r\nb\n"), "\r\n");
        assert_eq!(eol_of("a\nb\r\n"), "\n");
        assert_eq!(eol_of("\r\n"), "\r\n");
        assert_eq!(eol_of("no break"), "\n");
        assert_eq!(normalize("a\nb\r\nc\rd", "\r\n"), "a\r\nb\r\nc\r\nd");
        assert_eq!(normalize("a\r\nb", "\n"), "a\nb");
    }

    #[test]
    fn lines() {
        let src = "a\n\n  \nb\nc\n\n";
        assert_eq!(&src[content_range(src, 0..src.len())], "a\n\n  \nb\nc\n");
        assert_eq!(&src[content_range(src, 1..5)], "");
        assert_eq!(content_range(src, 2..5), 2..2);
        assert_eq!(line_bounds("a\r\nbc\nd", 2), Some(3..5));
        assert_eq!(line_bounds("a\nb", 3), None);
        assert_eq!(line_start("ab\ncd", 4), 3);
        assert_eq!(next_line_start("ab\ncd", 1), 3);
        assert_eq!(next_line_start("ab\ncd", 4), 5);
    }

    #[test]
    fn prefixes() {
        let src = "> - item";
        assert_eq!(container_prefix(src, 4), ">   ");
        assert_eq!(container_prefix("\t- x", 3), "\t  ");
        assert_eq!(prefix_lines("a\n\nb\n", "> ", false), "a\n>\n> b\n");
        assert_eq!(prefix_lines("a\nb", "  ", true), "  a\n  b");
    }

    #[test]
    fn shift_maps_ranges_around_a_splice() {
        let insert = Shift {
            start: 5,
            end: 5,
            new_end: 8,
        };
        assert_eq!(insert.map(&(0..5)), Some(0..5));
        assert_eq!(insert.map(&(5..7)), Some(8..10));
        assert_eq!(insert.map(&(2..7)), Some(2..10));
        let replace = Shift {
            start: 5,
            end: 9,
            new_end: 6,
        };
        assert_eq!(replace.map(&(0..5)), Some(0..5));
        assert_eq!(replace.map(&(9..12)), Some(6..9));
        assert_eq!(replace.map(&(6..12)), None);
        assert_eq!(replace.map(&(0..6)), None);
        assert_eq!(replace.map(&(0..12)), Some(0..9));
    }
}
