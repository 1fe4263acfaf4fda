//! `parse_note` on any bytes: never panics, and every range it reports slices the decoded
//! text on character boundaries, in order, with lines that exist.
#![no_main]

use std::ops::Range;

use libfuzzer_sys::fuzz_target;
use weaver_core::{ParseOptions, heading_anchor, parse_note};
use weaver_fuzz::note_path;

fuzz_target!(|data: &[u8]| {
    let options = ParseOptions::default();
    let note = parse_note(&note_path(), data, &options);
    let text = String::from_utf8_lossy(data);
    let lines = u32::try_from(text.matches('\n').count() + 1).unwrap_or(u32::MAX);
    let slices = |what: &str, range: &Range<usize>| {
        assert!(
            range.start <= range.end && text.get(range.clone()).is_some(),
            "{what} range {range:?} does not slice the text ({} bytes)",
            text.len()
        );
    };
    let line_ok = |what: &str, line: u32| {
        assert!((1..=lines).contains(&line), "{what} line {line} of {lines}");
    };
    if let Some(range) = &note.frontmatter_range {
        slices("frontmatter", range);
    }
    for h in &note.headings {
        slices("heading", &h.range);
        line_ok("heading", h.line);
        assert!((1..=6).contains(&h.level), "heading level {}", h.level);
        assert_eq!(h.anchor, heading_anchor(&h.text), "heading anchor");
    }
    for w in note.headings.windows(2) {
        assert!(w[0].range.start < w[1].range.start, "headings out of order");
    }
    for b in &note.blocks {
        slices("block", &b.range);
        line_ok("block", b.line);
        assert!(!b.id.is_empty(), "empty block id");
    }
    for l in &note.links {
        slices("link", &l.range);
        slices("link target", &l.target_range);
        line_ok("link", l.line);
    }
    for t in &note.tasks {
        line_ok("task", t.line);
    }
    for t in &note.tags {
        line_ok("tag", t.line);
        assert!(!t.name.is_empty(), "empty tag");
    }
    for d in &note.diagnostics {
        if let Some(line) = d.line {
            line_ok("diagnostic", line);
        }
    }
    assert_eq!(
        note.word_count as usize,
        note.text.split_whitespace().count(),
        "word count"
    );
});
