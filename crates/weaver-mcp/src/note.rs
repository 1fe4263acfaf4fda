//! What `read_note` shows of a note: the whole text, one heading's section or only the outline,
//! a window of characters from an offset, cut to the byte budget with a visible marker.
//!
//! This works on the note's text as the backend returned it (parsed again here for headings),
//! so it behaves the same whichever backend read the note.

use weaver_app::AppError;
use weaver_core::{ParseOptions, ParsedNote, VaultPath, parse_note};

use super::backend::{NoteSource, ToolError};
use super::output::{NoteOutput, OutlineEntry};

/// Characters of a note shown when the caller does not say.
pub const DEFAULT_MAX_CHARS: usize = 20_000;

/// Bytes of text a read shows at least, whatever else the result holds.
const MIN_CONTENT_BYTES: usize = 1024;

/// How to view a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// Only this heading's section.
    pub section: Option<String>,
    /// Headings only.
    pub outline_only: bool,
    /// First character shown.
    pub offset: usize,
    /// Characters shown at most.
    pub max_chars: usize,
    /// Bytes of output at most.
    pub budget: usize,
}

/// The output of `read_note` for `source` seen through `view`.
pub fn render(source: NoteSource, view: &View) -> Result<NoteOutput, ToolError> {
    let parsed = parsed(&source);
    let headings = &parsed.headings;
    let (section, text) = match &view.section {
        Some(wanted) => {
            let (heading, range) = weaver_core::find_section(&source.content, &parsed, wanted)
                .map_err(|err| ToolError::from(AppError::Edit(err)))?;
            (
                Some(heading),
                source.content.get(range).unwrap_or_default().to_owned(),
            )
        }
        None => (None, source.content.clone()),
    };
    let chars = text.chars().count();
    let mut output = NoteOutput {
        path: source.path,
        title: source.title,
        hash: source.hash,
        modified: source.modified,
        tags: source.tags,
        aliases: source.aliases,
        frontmatter: source.frontmatter,
        links: source.links,
        section,
        outline: None,
        content: None,
        chars,
        offset: view.offset.min(chars),
        truncated: false,
        next_offset: None,
    };
    if view.outline_only {
        let mut outline: Vec<OutlineEntry> = headings
            .iter()
            .map(|h| OutlineEntry {
                level: u32::from(h.level),
                text: h.text.clone(),
                line: h.line,
            })
            .collect();
        let envelope = serde_json::to_vec(&output).map_or(0, |v| v.len());
        output.truncated = super::output::fit(&mut outline, view.budget.saturating_sub(envelope));
        output.outline = Some(outline);
        return Ok(output);
    }
    // Frontmatter that would crowd out the text is left to the text itself, where it is
    // anyway when reading from the start.
    let frontmatter_bytes = serde_json::to_vec(&output.frontmatter).map_or(0, |v| v.len());
    if frontmatter_bytes > view.budget / 4 {
        output.frontmatter = None;
    }
    // What the content may take: the budget less everything else, less a tenth for the JSON
    // escaping of quotes and line breaks; never so little that a read cannot move forward.
    let envelope = serde_json::to_vec(&output).map_or(0, |v| v.len()) + 300;
    let byte_budget = (view.budget.saturating_sub(envelope) / 10 * 9).max(MIN_CONTENT_BYTES);
    let (shown, taken) = window(&text, output.offset, view.max_chars, byte_budget);
    let end = output.offset + taken;
    let mut content = shown.to_owned();
    if end < chars {
        output.truncated = true;
        output.next_offset = Some(end);
        let again = if output.section.is_some() {
            "the same section and "
        } else {
            ""
        };
        content.push_str(&format!(
            "\n\n[… truncated: characters {}–{end} of {chars} shown; call read_note with {again}offset={end} for more, or use section / outline_only]",
            output.offset
        ));
    }
    output.content = Some(content);
    Ok(output)
}

/// The note parsed as the engine parses it: its headings, and what a section needs.
fn parsed(source: &NoteSource) -> ParsedNote {
    match VaultPath::normalize(&source.path) {
        Ok(path) => parse_note(&path, source.content.as_bytes(), &ParseOptions::default()),
        Err(_) => ParsedNote::default(),
    }
}

/// The text from `offset` (in characters) of at most `max_chars` characters and `max_bytes`
/// bytes, and how many characters that is. A cut prefers the end of a line when one is near.
fn window(text: &str, offset: usize, max_chars: usize, max_bytes: usize) -> (&str, usize) {
    let start = text
        .char_indices()
        .nth(offset)
        .map_or(text.len(), |(i, _)| i);
    let rest = text.get(start..).unwrap_or_default();
    let mut end = 0;
    let mut taken = 0;
    for (i, c) in rest.char_indices() {
        if taken == max_chars || i + c.len_utf8() > max_bytes {
            break;
        }
        end = i + c.len_utf8();
        taken += 1;
    }
    if end < rest.len()
        && let Some(newline) = rest.get(..end).and_then(|s| s.rfind('\n'))
        && newline + 1 >= end - end / 5
    {
        let cut = newline + 1;
        let dropped = rest.get(cut..end).map_or(0, |s| s.chars().count());
        return (rest.get(..cut).unwrap_or_default(), taken - dropped);
    }
    (rest.get(..end).unwrap_or_default(), taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::LinkCounts;

    fn source(content: &str) -> NoteSource {
        NoteSource {
            path: "Plan.md".into(),
            title: "Plan".into(),
            hash: "h".into(),
            modified: "2024-01-01T00:00:00.000Z".into(),
            content: content.into(),
            frontmatter: None,
            tags: Vec::new(),
            aliases: Vec::new(),
            links: LinkCounts::default(),
        }
    }

    fn view() -> View {
        View {
            section: None,
            outline_only: false,
            offset: 0,
            max_chars: DEFAULT_MAX_CHARS,
            budget: 32 * 1024,
        }
    }

    const NOTE: &str = "# Plan\nintro\n## Goals\n- one\n### Detail\nmore\n## Risks\nnone\n";

    #[test]
    fn a_section_runs_to_the_next_heading_of_its_level() {
        let out = render(
            source(NOTE),
            &View {
                section: Some("## goals".into()),
                ..view()
            },
        )
        .unwrap();
        assert_eq!(out.section.as_deref(), Some("Goals"));
        assert_eq!(
            out.content.as_deref(),
            Some("## Goals\n- one\n### Detail\nmore\n")
        );
        assert!(!out.truncated);
    }

    /// `read_note(section=...)` and the section edits name headings the same way: a parent
    /// path picks one of two equal headings, and a bare name that two match is refused.
    #[test]
    fn sections_are_named_as_the_edits_name_them() {
        const TWINS: &str = "# Alpha\n## Tasks\na\n# Beta\n## Tasks\nb\n";
        let read = |wanted: &str| {
            render(
                source(TWINS),
                &View {
                    section: Some(wanted.into()),
                    ..view()
                },
            )
        };
        let beta = read("Beta#Tasks").unwrap();
        assert_eq!(beta.content.as_deref(), Some("## Tasks\nb\n"));
        assert_eq!(
            read("Alpha > Tasks").unwrap().content.as_deref(),
            Some("## Tasks\na\n")
        );
        let err = read("Tasks").unwrap_err();
        assert_eq!(err.code, "heading_ambiguous", "{}", err.message);
        // The edit engine agrees on both.
        let path = VaultPath::normalize("Plan.md").unwrap();
        let edit = |heading: &str| {
            weaver_core::apply_edits(
                &path,
                TWINS,
                &[weaver_core::EditOp::AppendToSection {
                    heading: heading.into(),
                    text: "c".into(),
                }],
            )
        };
        assert!(edit("Beta#Tasks").is_ok());
        assert!(edit("Tasks").is_err());
    }

    #[test]
    fn a_missing_section_lists_the_headings() {
        let err = render(
            source(NOTE),
            &View {
                section: Some("Budget".into()),
                ..view()
            },
        )
        .unwrap_err();
        assert_eq!(err.code, "heading_not_found");
        assert!(err.message.contains("`## Goals`"), "{}", err.message);
    }

    #[test]
    fn the_outline_has_no_content() {
        let out = render(
            source(NOTE),
            &View {
                outline_only: true,
                ..view()
            },
        )
        .unwrap();
        assert!(out.content.is_none());
        let outline = out.outline.unwrap();
        assert_eq!(outline.len(), 4);
        assert_eq!(
            outline[2],
            OutlineEntry {
                level: 3,
                text: "Detail".into(),
                line: 5
            }
        );
    }

    #[test]
    fn long_notes_are_cut_at_a_line_end_with_a_marker_and_continue_at_next_offset() {
        let text: String = (0..100).map(|i| format!("line {i:03}\n")).collect();
        let out = render(
            source(&text),
            &View {
                max_chars: 95,
                ..view()
            },
        )
        .unwrap();
        assert!(out.truncated);
        // Ten whole lines of 9 characters; the eleventh, begun, is left for the next call.
        assert_eq!(out.next_offset, Some(90));
        let content = out.content.unwrap();
        assert!(content.starts_with("line 000\n"));
        assert!(content.contains("line 009\n\n\n[… truncated: characters 0–90 of 900"));
        let next = render(
            source(&text),
            &View {
                offset: 90,
                max_chars: 9,
                ..view()
            },
        )
        .unwrap();
        assert!(next.content.unwrap().starts_with("line 010\n"));
    }

    #[test]
    fn a_huge_frontmatter_never_stops_a_read_from_moving_forward() {
        let mut huge = source(&"x".repeat(50_000));
        let mut frontmatter = serde_json::Map::new();
        frontmatter.insert("blob".into(), "y".repeat(40_000).into());
        huge.frontmatter = Some(frontmatter);
        let out = render(huge, &view()).unwrap();
        assert!(out.frontmatter.is_none());
        assert!(out.next_offset.unwrap() > 1000);
        assert!(serde_json::to_vec(&out).unwrap().len() <= 32 * 1024);
    }

    #[test]
    fn the_byte_budget_cuts_multibyte_text_on_char_boundaries() {
        let text = "é".repeat(10_000);
        let out = render(
            source(&text),
            &View {
                budget: 4096,
                ..view()
            },
        )
        .unwrap();
        assert!(out.truncated);
        assert!(serde_json::to_vec(&out).unwrap().len() <= 4096);
        assert!(out.next_offset.unwrap() > 1000);
    }
}
