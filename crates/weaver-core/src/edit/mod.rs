//! Targeted edits of a note's text: append or insert at a heading, replace a section or a
//! labelled block, set or delete a frontmatter key, find and replace.
//!
//! [`apply_edits`] is a pure function over the note's text. Every byte outside an operation's
//! target stays as it was. The note parser locates headings, sections, blocks and the
//! frontmatter, so a `# heading` inside a code block or a comment is never mistaken for one.
//! Inserted text takes the file's line endings and the line breaks it needs so it never glues
//! onto a neighbouring line. After each operation the note is parsed again and every heading
//! and block id outside the target must be unchanged: text that would turn the next line into a
//! setext heading, or detach a `^block` id, is first separated with a blank line and otherwise
//! refused ([`EditError::WouldChangeStructure`]).
//!
//! ```
//! use weaver_core::{apply_edits, EditOp, VaultPath};
//!
//! let path = VaultPath::new("Plan.md").unwrap();
//! let src = "# Plan\n## Tasks\n- [ ] a\n\n## Notes\n";
//! let ops = [EditOp::AppendToSection { heading: "Tasks".into(), text: "- [ ] b".into() }];
//! let out = apply_edits(&path, src, &ops).unwrap();
//! assert_eq!(out, "# Plan\n## Tasks\n- [ ] a\n- [ ] b\n\n## Notes\n");
//! ```

mod frontmatter;
mod headings;
mod layout;

use serde::{Deserialize, Serialize};

use self::frontmatter::Change;
use self::layout::{
    Splice, commit, container_prefix, eol_of, framed, line_bounds, next_line_start, normalize,
    prefix_lines,
};
use crate::{ParseOptions, ParsedNote, VaultPath, clip, clip_value, parse_note};

/// One edit of a note. Headings are named by text (`"Tasks"`, case-insensitive), optionally
/// with their level (`"## Tasks"`) and enclosing headings (`"Project#Tasks"` or
/// `"Project > Tasks"`); block ids are written with or without `^`.
///
/// It is also the wire type: the REST API's `PATCH` body (`EditOperation`) and the MCP
/// `edit_note` tool's `ops`. Everything outside the targeted range stays byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = EditOperation))]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum EditOp {
    /// Adds `text` at the end of the note, on a new line.
    Append {
        /// The Markdown to add.
        text: String,
    },
    /// Adds `text` at the start of the body, after the frontmatter.
    Prepend {
        /// The Markdown to add.
        text: String,
    },
    /// Adds `text` on the lines just before a heading.
    InsertBeforeHeading {
        /// The heading: its text (case-insensitive), `## Text` or `Parent#Child`.
        heading: String,
        /// The Markdown to add.
        text: String,
    },
    /// Adds `text` on the lines just after a heading line.
    InsertAfterHeading {
        /// The heading: its text (case-insensitive), `## Text` or `Parent#Child`.
        heading: String,
        /// The Markdown to add.
        text: String,
    },
    /// Adds `text` at the end of a heading's section (sub-sections included), after its last
    /// non-blank line, so the blank lines before the next heading stay.
    AppendToSection {
        /// The heading: its text (case-insensitive), `## Text` or `Parent#Child`.
        heading: String,
        /// The Markdown to add.
        text: String,
    },
    /// Replaces the content of a heading's section (sub-sections included), keeping the
    /// heading line and the blank lines around the content.
    ReplaceSection {
        /// The heading: its text (case-insensitive), `## Text` or `Parent#Child`.
        heading: String,
        /// The new content.
        text: String,
    },
    /// Replaces the content of the block labelled `^block`, keeping the marker attached. For
    /// a list item the list marker stays too (a task's `[ ]` is content). Continuation lines
    /// are indented or quoted to stay inside the block's list item or quote.
    ReplaceBlock {
        /// The block id, with or without `^`.
        block: String,
        /// The new content.
        text: String,
    },
    /// Adds `text` on the lines after the block labelled `^block` (and its marker), at the
    /// block's indentation or quote level.
    AppendToBlock {
        /// The block id, with or without `^`.
        block: String,
        /// The Markdown to add.
        text: String,
    },
    /// Sets a top-level frontmatter key, creating the frontmatter if the note has none.
    SetFrontmatter {
        /// The key.
        key: String,
        /// The value (any JSON value), written as YAML.
        value: serde_json::Value,
    },
    /// Deletes a top-level frontmatter key.
    DeleteFrontmatter {
        /// The key.
        key: String,
    },
    /// Replaces every occurrence of `find` (literal, case-sensitive, anywhere in the note).
    FindReplace {
        /// The text to look for.
        find: String,
        /// Its replacement.
        replace: String,
        /// When set, the number of occurrences there must be; otherwise nothing changes.
        expected: Option<usize>,
    },
}

/// Why an edit was refused. The note is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No heading matches.
    #[error("heading `{}` not found; the note's headings are: {}", clip_value(.heading), list(.available))]
    HeadingNotFound {
        /// The heading as asked for.
        heading: String,
        /// Every heading of the note, as `## Text`.
        available: Vec<String>,
    },
    /// Several headings match.
    #[error(
        "heading `{}` matches the headings on lines {}; name a parent (`Parent#Child`) or the level (`## Child`)",
        clip_value(.heading),
        list(.lines)
    )]
    HeadingAmbiguous {
        /// The heading as asked for.
        heading: String,
        /// Lines of the matching headings.
        lines: Vec<u32>,
    },
    /// No block has this id.
    #[error("block `^{}` not found", clip_value(.0))]
    BlockNotFound(String),
    /// The frontmatter has no such key.
    #[error("frontmatter key `{}` not found", clip_value(.0))]
    FrontmatterKeyNotFound(String),
    /// The frontmatter cannot be edited without risking its other content.
    #[error("frontmatter cannot be edited safely: {}", clip(.0, MAX_REASON_BYTES))]
    FrontmatterInvalid(String),
    /// `FindReplace` found a different number of occurrences than expected.
    #[error("`{}` occurs `{found}` times, expected `{expected}`", clip_value(.find))]
    MatchCountMismatch {
        /// The text looked for.
        find: String,
        /// The number asked for.
        expected: usize,
        /// The number found.
        found: usize,
    },
    /// `FindReplace` with an empty `find`.
    #[error("find text is empty")]
    EmptyFind,
    /// A frontmatter key that cannot be a property name.
    #[error(
        "frontmatter key `{}` is invalid; expected a non-empty name without line breaks or surrounding spaces",
        clip_value(.0)
    )]
    InvalidKey(String),
    /// The text would change the note outside the target, such as turning the next line into
    /// a heading, detaching a block id, or opening a code block that swallows what follows.
    #[error("the edit would change the note outside its target: {}", clip(.0, MAX_REASON_BYTES))]
    WouldChangeStructure(String),
}

/// The most values an error message lists (headings of a note, lines of matches); the rest are
/// counted, so a note with 100,000 headings still gets a short message.
const MAX_LISTED: usize = 20;

/// The most bytes of an explanation an error message carries.
const MAX_REASON_BYTES: usize = 1000;

/// Formats values as `` `a`, `b` `` for error messages: at most [`MAX_LISTED`], each cut to
/// [`crate::MAX_VALUE_BYTES`], then `and N more`.
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    let mut listed = items
        .iter()
        .take(MAX_LISTED)
        .map(|item| format!("`{}`", clip_value(&item.to_string())))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > MAX_LISTED {
        listed.push_str(&format!(" and {} more", items.len() - MAX_LISTED));
    }
    listed
}

/// Applies `ops` in order to `source` (the text of the note at `path`), each to the result of
/// the previous one. All or nothing: the first failing operation's error is returned and no
/// result is produced.
pub fn apply_edits(path: &VaultPath, source: &str, ops: &[EditOp]) -> Result<String, EditError> {
    let mut text = source.to_owned();
    let mut note = parse(path, &text);
    for op in ops {
        let (new_text, new_note) = apply_one(path, &text, &note, op)?;
        text = new_text;
        note = new_note;
    }
    Ok(text)
}

/// Parses without a size limit: the caller already holds the text.
fn parse(path: &VaultPath, text: &str) -> ParsedNote {
    let options = ParseOptions {
        max_file_bytes: u64::MAX,
    };
    parse_note(path, text.as_bytes(), &options)
}

fn apply_one(
    path: &VaultPath,
    src: &str,
    note: &ParsedNote,
    op: &EditOp,
) -> Result<(String, ParsedNote), EditError> {
    let eol = eol_of(src);
    let bom = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let body_start = note.frontmatter_range.as_ref().map_or(bom, |r| r.end);
    let at = |pos: usize| pos..pos;
    let splice = match op {
        EditOp::Append { text } => framed(src, bom, at(src.len()), &normalize(text, eol), eol),
        EditOp::Prepend { text } => framed(src, bom, at(body_start), &normalize(text, eol), eol),
        EditOp::InsertBeforeHeading { heading, text } => {
            let section = section(src, note, heading, body_start)?;
            framed(src, bom, at(section.line_start), &normalize(text, eol), eol)
        }
        EditOp::InsertAfterHeading { heading, text } => {
            let section = section(src, note, heading, body_start)?;
            framed(src, bom, at(section.body.start), &normalize(text, eol), eol)
        }
        EditOp::AppendToSection { heading, text } => {
            let section = section(src, note, heading, body_start)?;
            let end = if section.content.is_empty() {
                section.body.start
            } else {
                section.content.end
            };
            framed(src, bom, at(end), &normalize(text, eol), eol)
        }
        EditOp::ReplaceSection { heading, text } => {
            let section = section(src, note, heading, body_start)?;
            framed(src, bom, section.content, &normalize(text, eol), eol)
        }
        EditOp::ReplaceBlock { block, text } => replace_block(src, note, block, text, eol)?,
        EditOp::AppendToBlock { block, text } => {
            let spot = find_block(src, note, block)?;
            let end = next_line_start(src, spot.range.end.max(spot.marker.end));
            let prefix = container_prefix(src, spot.range.start);
            let text = prefix_lines(&normalize(text, eol), &prefix, true);
            let blank = format!("{}{eol}", prefix.trim_end_matches(' '));
            framed(src, bom, at(end), &text, &blank)
        }
        EditOp::SetFrontmatter { key, value } => {
            return frontmatter::edit(path, src, note, bom, eol, key, &Change::Set(value));
        }
        EditOp::DeleteFrontmatter { key } => {
            return frontmatter::edit(path, src, note, bom, eol, key, &Change::Delete);
        }
        EditOp::FindReplace {
            find,
            replace,
            expected,
        } => {
            let new = find_replace(src, find, replace, *expected, eol)?;
            let parsed = parse(path, &new);
            return Ok((new, parsed));
        }
    };
    commit(path, src, note, splice)
}

/// The section of the heading `query` names in `src` (parsed as `note`): the heading's text and
/// the bytes from the start of its line to the next heading of the same or a higher level
/// (sub-sections included), or the end of the note. The same rule as the section edits, so a
/// read and an edit agree on every heading: text or anchor (case-insensitive), `## Text` for the
/// level, `Parent#Child` or `Parent > Child` for the enclosing headings; a query that several
/// headings match is refused with their lines.
pub fn find_section(
    src: &str,
    note: &ParsedNote,
    query: &str,
) -> Result<(String, std::ops::Range<usize>), EditError> {
    let index = headings::find(&note.headings, query)?;
    let found = headings::section(src, &note.headings, &note.blocks, index, 0);
    let text = note
        .headings
        .get(index)
        .map(|h| h.text.clone())
        .unwrap_or_default();
    Ok((text, found.line_start..found.body.end.max(found.line_start)))
}

/// The section of the heading named `query`.
fn section(
    src: &str,
    note: &ParsedNote,
    query: &str,
    floor: usize,
) -> Result<headings::Section, EditError> {
    let index = headings::find(&note.headings, query)?;
    Ok(headings::section(
        src,
        &note.headings,
        &note.blocks,
        index,
        floor,
    ))
}

/// A labelled block: the block's bytes and its `^id` marker's.
struct BlockSpot {
    id: String,
    range: std::ops::Range<usize>,
    marker: std::ops::Range<usize>,
}

/// Finds the first block labelled `id` (with or without `^`, ASCII case-insensitive).
fn find_block(src: &str, note: &ParsedNote, id: &str) -> Result<BlockSpot, EditError> {
    let wanted = id.trim().trim_start_matches('^');
    let not_found = || EditError::BlockNotFound(wanted.to_owned());
    let block = note
        .blocks
        .iter()
        .find(|b| b.id.eq_ignore_ascii_case(wanted))
        .ok_or_else(not_found)?;
    // The parser puts the marker at the end of its line, after trailing blanks are dropped.
    let line = line_bounds(src, block.line).ok_or_else(not_found)?;
    let text = src.get(line.clone()).unwrap_or("");
    let end = line.start + text.trim_end_matches([' ', '\t']).len();
    let start = end
        .checked_sub(block.id.len() + 1)
        .filter(|&start| {
            src.get(start..end)
                .and_then(|m| m.strip_prefix('^'))
                .is_some_and(|m| m.eq_ignore_ascii_case(&block.id))
        })
        .ok_or_else(not_found)?;
    Ok(BlockSpot {
        id: block.id.clone(),
        range: block.range.clone(),
        marker: start..end,
    })
}

/// Length of a list item marker (`- `, `* `, `+ `, `1. `, `1) `) and the blanks after it at
/// the start of `text`, or 0.
fn list_marker_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let marker = match bytes.first() {
        Some(b'-' | b'*' | b'+') => 1,
        Some(b'0'..=b'9') if digits <= 9 && matches!(bytes.get(digits), Some(b'.' | b')')) => {
            digits + 1
        }
        _ => return 0,
    };
    let blanks = bytes
        .iter()
        .skip(marker)
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    if blanks == 0 { 0 } else { marker + blanks }
}

fn replace_block(
    src: &str,
    note: &ParsedNote,
    id: &str,
    text: &str,
    eol: &str,
) -> Result<Splice, EditError> {
    let spot = find_block(src, note, id)?;
    let text = normalize(text, eol);
    let text = text.trim_end_matches(['\r', '\n']);
    let inline = spot.range.start <= spot.marker.start && spot.marker.end <= spot.range.end;
    let (range, written) = if inline {
        let head = src.get(spot.range.start..spot.marker.start).unwrap_or("");
        let start = spot.range.start + list_marker_len(head).min(head.len());
        let kept = src
            .get(start..spot.marker.start)
            .unwrap_or("")
            .trim_end_matches([' ', '\t', '\r', '\n'])
            .len();
        let gap = src.get(start + kept..spot.marker.start).unwrap_or("");
        let prefix = container_prefix(src, start);
        let written = match (text.is_empty(), gap.is_empty()) {
            (true, _) => String::new(),
            (false, true) => format!("{} ", prefix_lines(text, &prefix, false)),
            (false, false) => format!("{}{gap}", prefix_lines(text, &prefix, false)),
        };
        (start..spot.marker.start, written)
    } else {
        let prefix = container_prefix(src, spot.range.start);
        (spot.range.clone(), prefix_lines(text, &prefix, false))
    };
    Ok(Splice {
        range,
        candidates: vec![written],
        keep_block: Some(spot.id),
    })
}

/// Replaces every occurrence of `find`; line breaks in both texts follow the file's style.
fn find_replace(
    src: &str,
    find: &str,
    replace: &str,
    expected: Option<usize>,
    eol: &str,
) -> Result<String, EditError> {
    if find.is_empty() {
        return Err(EditError::EmptyFind);
    }
    let find_text = normalize(find, eol);
    let found = src.matches(&find_text).count();
    if let Some(expected) = expected
        && expected != found
    {
        return Err(EditError::MatchCountMismatch {
            find: find.to_owned(),
            expected,
            found,
        });
    }
    Ok(src.replace(&find_text, &normalize(replace, eol)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_list_a_bounded_number_of_values() {
        let err = EditError::HeadingNotFound {
            heading: "h".repeat(100_000),
            available: (0..100_000).map(|i| format!("## Heading {i}")).collect(),
        };
        let message = err.to_string();
        assert!(message.len() < 2_000, "{} bytes", message.len());
        assert!(
            message.contains("`## Heading 19` and 99980 more"),
            "{message}"
        );
        assert!(!message.contains("Heading 20`"), "{message}");
        let err = EditError::HeadingAmbiguous {
            heading: "Tasks".into(),
            lines: (1..=50).collect(),
        };
        assert!(err.to_string().contains("`20` and 30 more"), "{err}");
        let err = EditError::MatchCountMismatch {
            find: "f".repeat(1_000_000),
            expected: 1,
            found: 0,
        };
        assert!(err.to_string().len() < 400);
    }
}
