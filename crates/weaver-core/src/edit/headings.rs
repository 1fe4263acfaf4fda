//! Finding a heading by what a user types, and the section it opens.
//!
//! A heading is named by its text, compared the way link fragments are (by anchor, ignoring
//! case). Leading `#`s give the level (`## Tasks`), and parent headings may be named before
//! it, separated by `#` or `>` (`Project#Tasks`, `Project > Tasks`): each parent must enclose
//! the heading, in that order, though not necessarily as its direct parent.

use std::ops::Range;

use super::EditError;
use super::layout::{content_range, line_bounds, line_start, next_line_start};
use crate::{Block, Heading, fold_name, heading_anchor};

/// One named heading of a query: its folded anchor and, when given, its level.
#[derive(Debug, PartialEq, Eq)]
struct Segment {
    level: Option<u8>,
    anchor: String,
}

impl Segment {
    fn new(level: Option<u8>, text: &str) -> Self {
        Self {
            level,
            anchor: fold_name(&heading_anchor(text)),
        }
    }

    fn matches(&self, heading: &Heading, anchor: &str) -> bool {
        self.level.is_none_or(|level| level == heading.level) && self.anchor == anchor
    }
}

/// Splits off a leading `#` run followed by whitespace as a level (1 to 6).
fn split_level(part: &str) -> (Option<u8>, &str) {
    let part = part.trim();
    let rest = part.trim_start_matches('#');
    let hashes = part.len() - rest.len();
    match u8::try_from(hashes) {
        Ok(level @ 1..=6) if rest.starts_with(char::is_whitespace) => (Some(level), rest),
        _ => (None, part),
    }
}

/// Reads a query as a path of headings: `## A > B#C` is `A` (level 2), then `B`, then `C`.
fn path_segments(query: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    for part in query.split('>') {
        let (level, rest) = split_level(part);
        let mut level = level;
        for piece in rest.split('#') {
            if piece.trim().is_empty() {
                continue;
            }
            segments.push(Segment::new(level.take(), piece));
        }
    }
    segments
}

/// Reads a query as one heading whose text may hold `#` or `>` (`C# notes`).
fn whole_segment(query: &str) -> Vec<Segment> {
    let (level, rest) = split_level(query);
    vec![Segment::new(level, rest)]
}

/// Indices of the headings that `segments` names.
fn matching(headings: &[Heading], anchors: &[String], segments: &[Segment]) -> Vec<usize> {
    let Some((last, parents)) = segments.split_last() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (i, heading) in headings.iter().enumerate() {
        let anchor = anchors.get(i).map_or("", String::as_str);
        if !last.matches(heading, anchor) {
            continue;
        }
        // Walk the enclosing headings outwards, ticking off parents from the innermost.
        let mut wanted = parents.iter().rev().peekable();
        let mut level = heading.level;
        for j in (0..i).rev() {
            let Some(enclosing) = headings.get(j) else {
                continue;
            };
            if enclosing.level >= level {
                continue;
            }
            level = enclosing.level;
            let enclosing_anchor = anchors.get(j).map_or("", String::as_str);
            if wanted
                .peek()
                .is_some_and(|segment| segment.matches(enclosing, enclosing_anchor))
            {
                wanted.next();
            }
            if level <= 1 || wanted.peek().is_none() {
                break;
            }
        }
        if wanted.peek().is_none() {
            found.push(i);
        }
    }
    found
}

/// Finds the one heading `query` names; see the module docs for the query syntax.
pub(super) fn find(headings: &[Heading], query: &str) -> Result<usize, EditError> {
    let anchors: Vec<String> = headings.iter().map(|h| fold_name(&h.anchor)).collect();
    let path = path_segments(query);
    let mut found = matching(headings, &anchors, &path);
    if found.is_empty() {
        let whole = whole_segment(query);
        if whole != path {
            found = matching(headings, &anchors, &whole);
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(EditError::HeadingNotFound {
            heading: query.to_owned(),
            available: headings
                .iter()
                .map(|h| format!("{} {}", "#".repeat(usize::from(h.level)), h.text))
                .collect(),
        }),
        many => Err(EditError::HeadingAmbiguous {
            heading: query.to_owned(),
            lines: many
                .iter()
                .filter_map(|&i| headings.get(i).map(|h| h.line))
                .collect(),
        }),
    }
}

/// Where a heading's section lies, as byte offsets.
#[derive(Debug)]
pub(super) struct Section {
    /// Start of the heading's first line.
    pub line_start: usize,
    /// Everything after the heading line up to the next heading of the same or a higher level
    /// (sub-sections included), or the end of the note.
    pub body: Range<usize>,
    /// `body` without its leading and trailing blank lines; empty at `body.start` when the
    /// section has no content.
    pub content: Range<usize>,
}

/// The section opened by `headings[index]` in `src`, which may not start before `floor`
/// (the end of the frontmatter). A `^id` on its own line that labels the heading belongs to
/// the heading line, so the body starts after it.
pub(super) fn section(
    src: &str,
    headings: &[Heading],
    blocks: &[Block],
    index: usize,
    floor: usize,
) -> Section {
    let Some(heading) = headings.get(index) else {
        return Section {
            line_start: src.len(),
            body: src.len()..src.len(),
            content: src.len()..src.len(),
        };
    };
    let label_end = blocks
        .iter()
        .filter(|b| b.range == heading.range)
        .filter_map(|b| line_bounds(src, b.line))
        .map(|line| line.end)
        .max();
    let body_start = next_line_start(src, label_end.unwrap_or(0).max(heading.range.end));
    let end = headings
        .iter()
        .skip(index + 1)
        .find(|h| h.level <= heading.level)
        .map_or(src.len(), |h| {
            line_start(src, h.range.start).max(body_start)
        });
    Section {
        line_start: line_start(src, heading.range.start).max(floor),
        body: body_start..end,
        content: content_range(src, body_start..end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(level: Option<u8>, text: &str) -> Segment {
        Segment::new(level, text)
    }

    #[test]
    fn queries() {
        assert_eq!(path_segments("Tasks"), [seg(None, "tasks")]);
        assert_eq!(path_segments("## Tasks"), [seg(Some(2), "Tasks")]);
        assert_eq!(path_segments("#Tasks"), [seg(None, "Tasks")]);
        assert_eq!(path_segments("A#B"), [seg(None, "A"), seg(None, "B")]);
        assert_eq!(
            path_segments("# A > ## B"),
            [seg(Some(1), "A"), seg(Some(2), "B")]
        );
        assert_eq!(path_segments("####### Seven"), [seg(None, "Seven")]);
        assert_eq!(whole_segment("## C# notes"), [seg(Some(2), "C notes")]);
    }
}
