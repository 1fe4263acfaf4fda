//! Snippets: a short window of a note's text around its best match, with the matched words'
//! byte ranges.
//!
//! tantivy's `SnippetGenerator` cuts the text into fixed consecutive windows, so a match can end
//! up at the very edge of its snippet, and it only sees the terms a query reports (not expanded
//! prefixes). This module tokenizes with the index's own analyzer instead, picks the window
//! covering the most distinct query terms, and spreads the remaining room around it.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use tantivy::tokenizer::{TextAnalyzer, TokenStream};

/// Target snippet length, in characters.
pub(crate) const SNIPPET_CHARS: usize = 160;

/// Only this many leading bytes of a note are scanned for matches, so a huge note does not
/// slow every search that returns it. A match further in falls back to the note's start.
pub(crate) const MAX_SNIPPET_SCAN_BYTES: usize = 256 * 1024;

/// A piece of text with highlighted byte ranges (relative to `text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snippet {
    pub text: String,
    pub highlights: Vec<Range<usize>>,
}

/// The best window of `text` around tokens in `terms` found in its first `scan` bytes (at most
/// [`MAX_SNIPPET_SCAN_BYTES`]), or `None` when no token matches there.
pub(crate) fn around_matches(
    analyzer: &mut TextAnalyzer,
    text: &str,
    scan: usize,
    terms: &BTreeSet<String>,
) -> Option<Snippet> {
    if terms.is_empty() || scan == 0 {
        return None;
    }
    let scanned = text.get(..text.floor_char_boundary(scan.min(MAX_SNIPPET_SCAN_BYTES)))?;
    let term_ids: HashMap<&str, usize> = terms
        .iter()
        .enumerate()
        .map(|(id, term)| (term.as_str(), id))
        .collect();
    let mut matches: Vec<(Range<usize>, usize)> = Vec::new();
    let mut stream = analyzer.token_stream(scanned);
    while let Some(token) = stream.next() {
        if let Some(&id) = term_ids.get(token.text.as_str()) {
            matches.push((token.offset_from..token.offset_to, id));
        }
    }
    let (first, last) = best_window(text, &matches)?;
    let covered_start = matches.get(first)?.0.start;
    let covered_end = matches.get(last)?.0.end;
    let window = widen(text, covered_start..covered_end);
    let highlights = matches
        .iter()
        .filter(|(range, _)| range.start >= window.start && range.end <= window.end)
        .map(|(range, _)| range.start - window.start..range.end - window.start)
        .collect();
    Some(Snippet {
        text: flatten(text.get(window)?),
        highlights,
    })
}

/// The first [`SNIPPET_CHARS`] characters of `text`, cut at a word boundary when possible.
pub(crate) fn leading(text: &str) -> String {
    let text = text.trim_start();
    let end = advance_chars(text, 0, SNIPPET_CHARS);
    let end = if end < text.len() {
        snap_end(text, 0, end)
    } else {
        end
    };
    flatten(text.get(..end).unwrap_or_default().trim_end())
}

/// Indices (first, last) into `matches` of the window of at most [`SNIPPET_CHARS`] characters
/// that covers the most distinct terms, then the most matches; the earliest wins ties.
fn best_window(text: &str, matches: &[(Range<usize>, usize)]) -> Option<(usize, usize)> {
    let mut best: Option<((usize, usize), (usize, usize))> = None;
    for (first, (start, _)) in matches.iter().enumerate() {
        let mut last = first;
        let mut chars = char_count(text, start.start..start.end);
        let mut distinct = BTreeSet::new();
        for (index, (range, id)) in matches.iter().enumerate().skip(first) {
            if index > first {
                let previous_end = matches.get(index - 1).map_or(range.start, |m| m.0.end);
                let extra = char_count(text, previous_end.min(range.start)..range.end);
                if chars + extra > SNIPPET_CHARS {
                    break;
                }
                chars += extra;
            }
            distinct.insert(*id);
            last = index;
        }
        let score = (distinct.len(), last - first + 1);
        if best
            .as_ref()
            .is_none_or(|(best_score, _)| score > *best_score)
        {
            best = Some((score, (first, last)));
        }
    }
    best.map(|(_, window)| window)
}

/// Grows `covered` to about [`SNIPPET_CHARS`] characters: a third of the spare room before
/// the matches, the rest after (more before when the text ends early), then trims partial words
/// at both ends.
fn widen(text: &str, covered: Range<usize>) -> Range<usize> {
    let spare = SNIPPET_CHARS.saturating_sub(char_count(text, covered.clone()));
    let mut start = retreat_chars(text, covered.start, spare / 3);
    let used_before = char_count(text, start..covered.start);
    let end = advance_chars(text, covered.end, spare - used_before);
    let used_after = char_count(text, covered.end..end);
    if used_before + used_after < spare {
        start = retreat_chars(text, start, spare - used_before - used_after);
    }
    let start = if start > 0 {
        snap_start(text, start, covered.start)
    } else {
        start
    };
    let end = if end < text.len() {
        snap_end(text, covered.end, end)
    } else {
        end
    };
    // Leading and trailing blanks carry no information.
    let slice = text.get(start..end).unwrap_or_default();
    let trimmed_start = start + (slice.len() - slice.trim_start().len());
    let trimmed_end = end - (slice.len() - slice.trim_end().len());
    trimmed_start.min(covered.start)..trimmed_end.max(covered.end)
}

/// Moves `start` forward past a partially cut word, to just after the next whitespace before
/// `limit`; keeps it when there is none.
fn snap_start(text: &str, start: usize, limit: usize) -> usize {
    let previous_is_space = text
        .get(..start)
        .and_then(|before| before.chars().next_back())
        .is_some_and(char::is_whitespace);
    if previous_is_space {
        return start;
    }
    text.get(start..limit)
        .and_then(|slice| slice.find(char::is_whitespace))
        .map_or(start, |offset| start + offset + 1)
}

/// Moves `end` back before a partially cut word, to the last whitespace after `limit`; keeps it
/// when there is none.
fn snap_end(text: &str, limit: usize, end: usize) -> usize {
    let next_is_space = text
        .get(end..)
        .and_then(|after| after.chars().next())
        .is_some_and(char::is_whitespace);
    if next_is_space {
        return end;
    }
    text.get(limit..end)
        .and_then(|slice| slice.rfind(char::is_whitespace))
        .map_or(end, |offset| limit + offset)
}

/// Replaces line breaks and tabs with spaces (same byte length, so ranges stay valid).
fn flatten(text: &str) -> String {
    text.replace(['\n', '\r', '\t'], " ")
}

fn char_count(text: &str, range: Range<usize>) -> usize {
    text.get(range).map_or(0, |slice| slice.chars().count())
}

/// The byte offset `n` characters after `from` (or the end of `text`).
fn advance_chars(text: &str, from: usize, n: usize) -> usize {
    let rest = text.get(from..).unwrap_or_default();
    rest.char_indices()
        .nth(n)
        .map_or(text.len(), |(offset, _)| from + offset)
}

/// The byte offset `n` characters before `from` (or 0).
fn retreat_chars(text: &str, from: usize, n: usize) -> usize {
    if n == 0 {
        return from;
    }
    let before = text.get(..from).unwrap_or_default();
    before
        .char_indices()
        .rev()
        .nth(n - 1)
        .map_or(0, |(offset, _)| offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::analyzer;

    fn terms(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn highlighted(snippet: &Snippet) -> Vec<&str> {
        snippet
            .highlights
            .iter()
            .map(|range| &snippet.text[range.clone()])
            .collect()
    }

    #[test]
    fn short_text_is_whole_with_highlights() {
        let snippet = around_matches(
            &mut analyzer(),
            "The quick Brown fox",
            usize::MAX,
            &terms(&["brown"]),
        )
        .unwrap();
        assert_eq!(snippet.text, "The quick Brown fox");
        assert_eq!(highlighted(&snippet), ["Brown"]);
    }

    #[test]
    fn window_is_centred_on_the_densest_matches() {
        let filler = "lorem ipsum dolor sit amet ".repeat(20);
        let text = format!("{filler}alpha once\n{filler}alpha and beta together {filler}");
        let snippet = around_matches(
            &mut analyzer(),
            &text,
            usize::MAX,
            &terms(&["alpha", "beta"]),
        )
        .unwrap();
        assert_eq!(highlighted(&snippet), ["alpha", "beta"]);
        assert!(
            snippet.text.chars().count() <= SNIPPET_CHARS,
            "{}",
            snippet.text
        );
        assert!(
            snippet.text.chars().count() >= SNIPPET_CHARS - 20,
            "{}",
            snippet.text
        );
        assert!(
            snippet.text.starts_with(|c: char| c.is_alphabetic()),
            "{}",
            snippet.text
        );
        assert!(!snippet.text.contains('\n'));
    }

    #[test]
    fn folded_and_cjk_matches_point_at_the_source_text() {
        let snippet = around_matches(
            &mut analyzer(),
            "Un café crème",
            usize::MAX,
            &terms(&["cafe"]),
        )
        .unwrap();
        assert_eq!(highlighted(&snippet), ["café"]);
        let snippet = around_matches(
            &mut analyzer(),
            "私は東京に住んでいます",
            usize::MAX,
            &terms(&["東", "京"]),
        )
        .unwrap();
        assert_eq!(highlighted(&snippet), ["東", "京"]);
    }

    #[test]
    fn only_the_scanned_bytes_are_searched() {
        let text = "early words then a late match";
        assert!(around_matches(&mut analyzer(), text, text.len(), &terms(&["late"])).is_some());
        assert_eq!(
            around_matches(&mut analyzer(), text, 10, &terms(&["late"])),
            None
        );
        assert_eq!(
            around_matches(&mut analyzer(), text, 0, &terms(&["early"])),
            None
        );
    }

    #[test]
    fn no_match_gives_none() {
        assert_eq!(
            around_matches(&mut analyzer(), "nothing here", usize::MAX, &terms(&["x"])),
            None
        );
        assert_eq!(
            around_matches(&mut analyzer(), "nothing here", usize::MAX, &terms(&[])),
            None
        );
    }

    #[test]
    fn leading_cuts_at_a_word_boundary() {
        let text = "word ".repeat(100);
        let lead = leading(&text);
        assert!(lead.len() <= SNIPPET_CHARS);
        assert!(lead.ends_with("word"));
        assert_eq!(leading("  short\ntext "), "short text");
        assert_eq!(leading(""), "");
    }
}
