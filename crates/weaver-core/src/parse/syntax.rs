//! Small scanners over the raw source for the Obsidian syntax CommonMark does not know:
//! wikilink bodies, task and callout markers, tags, bare URLs and block ids. They also find
//! the exact byte range of a Markdown link's destination, which pulldown-cmark does not report.
//!
//! Every function takes absolute byte offsets into the note's text and returns absolute
//! offsets; none allocates except where it returns owned text, and none panics on any input.

use std::ops::Range;

use crate::Fragment;

/// The byte at `i`, or NUL past the end (NUL never occurs in parsed text).
pub(super) fn byte(src: &str, i: usize) -> u8 {
    src.as_bytes().get(i).copied().unwrap_or(0)
}

/// `src[range]`, or `""` when the range is not on character boundaries.
pub(super) fn slice(src: &str, range: Range<usize>) -> &str {
    src.get(range).unwrap_or("")
}

/// `range` without trailing ASCII whitespace (spaces, tabs, `\r`, `\n`).
pub(super) fn trim_end_range(src: &str, range: Range<usize>) -> Range<usize> {
    let mut end = range.end.min(src.len());
    while end > range.start && byte(src, end - 1).is_ascii_whitespace() {
        end -= 1;
    }
    range.start..end
}

/// `range` without leading and trailing ASCII whitespace.
pub(super) fn trim_range(src: &str, range: Range<usize>) -> Range<usize> {
    let range = trim_end_range(src, range);
    let mut start = range.start;
    while start < range.end && byte(src, start).is_ascii_whitespace() {
        start += 1;
    }
    start..range.end
}

/// End of the line containing `pos`, before its `\r\n` or `\n`.
fn line_end(src: &str, pos: usize) -> usize {
    let rest = src.get(pos..).unwrap_or("");
    let end = pos + rest.find('\n').unwrap_or(rest.len());
    if end > pos && byte(src, end - 1) == b'\r' {
        end - 1
    } else {
        end
    }
}

/// Parses the fragment after `#` in a link: `^id` is a block, anything else a heading.
pub(super) fn fragment(raw: &str) -> Option<Fragment> {
    let raw = raw.trim();
    if let Some(block) = raw.strip_prefix('^') {
        let block = block.trim();
        return (!block.is_empty()).then(|| Fragment::Block(block.to_owned()));
    }
    (!raw.is_empty()).then(|| Fragment::Heading(raw.to_owned()))
}

/// The parts of a `[[...]]` or `![[...]]` link.
#[derive(Debug)]
pub(super) struct Wikilink<'a> {
    /// True for `![[...]]`.
    pub embed: bool,
    /// The target path, trimmed, without fragment.
    pub target: &'a str,
    /// Where `target` is written; empty right after `[[` for same-note links.
    pub target_range: Range<usize>,
    /// The part after the first `#`.
    pub fragment: Option<Fragment>,
    /// The trimmed alias after `|`, if not empty.
    pub display: Option<&'a str>,
}

/// Parses the wikilink spelled by `src[range]` (as pulldown-cmark delimits it). Returns `None`
/// for what Obsidian does not treat as a link: an empty target without fragment, or a body
/// spanning lines. A `\|` (the escaped pipe GFM tables need) separates the alias like `|`.
pub(super) fn wikilink(src: &str, range: Range<usize>) -> Option<Wikilink<'_>> {
    let whole = src.get(range.clone())?;
    let (embed, open) = if whole.starts_with("![[") {
        (true, 3)
    } else if whole.starts_with("[[") {
        (false, 2)
    } else {
        return None;
    };
    let inner = whole.get(open..whole.len().checked_sub(2)?)?;
    if !whole.ends_with("]]") || inner.contains(['\n', '\r']) {
        return None;
    }
    let inner_start = range.start + open;
    let (link_part, display) = match inner.find('|') {
        Some(pipe) => {
            let before = inner.get(..pipe).unwrap_or("");
            let alias = inner.get(pipe + 1..).unwrap_or("").trim();
            (
                before.strip_suffix('\\').unwrap_or(before),
                (!alias.is_empty()).then_some(alias),
            )
        }
        None => (inner, None),
    };
    let (path, frag) = match link_part.find('#') {
        Some(hash) => (
            link_part.get(..hash).unwrap_or(""),
            link_part.get(hash + 1..),
        ),
        None => (link_part, None),
    };
    let target = path.trim();
    let lead = path.len() - path.trim_start().len();
    let target_range = if target.is_empty() {
        inner_start..inner_start
    } else {
        inner_start + lead..inner_start + lead + target.len()
    };
    let fragment = frag.and_then(fragment);
    if target.is_empty() && fragment.is_none() {
        return None;
    }
    Some(Wikilink {
        embed,
        target,
        target_range,
        fragment,
        display,
    })
}

/// The destination of a link starting at or after `start` (after optional whitespace), as
/// CommonMark reads it: `<...>` or a run without whitespace and with balanced parentheses.
/// Returns the range of the destination without angle brackets.
fn destination(src: &str, start: usize, limit: usize) -> Option<Range<usize>> {
    let limit = limit.min(src.len());
    let mut i = start;
    while i < limit && byte(src, i).is_ascii_whitespace() {
        i += 1;
    }
    if byte(src, i) == b'<' {
        let mut j = i + 1;
        while j < limit {
            match byte(src, j) {
                b'>' => return Some(i + 1..j),
                b'\n' | b'<' => return None,
                b'\\' => j += 2,
                _ => j += 1,
            }
        }
        return None;
    }
    let mut depth = 0usize;
    let mut j = i;
    while j < limit {
        let b = byte(src, j);
        if b == b'\\' && j + 1 < limit {
            j += 2;
            continue;
        }
        if b.is_ascii_whitespace() || b.is_ascii_control() {
            break;
        }
        if b == b'(' {
            depth += 1;
        } else if b == b')' {
            if depth == 0 {
                break;
            }
            depth -= 1;
        }
        j += 1;
    }
    Some(i..j.min(limit))
}

/// The destination of an inline link `[text](dest)` whose text ends at `text_end` and whose
/// whole syntax ends at `link_end`.
pub(super) fn inline_destination(
    src: &str,
    text_end: usize,
    link_end: usize,
) -> Option<Range<usize>> {
    let open = if byte(src, text_end) == b']' && byte(src, text_end + 1) == b'(' {
        text_end
    } else {
        text_end + src.get(text_end..link_end)?.find("](")?
    };
    destination(src, open + 2, link_end)
}

/// The destination of a reference definition `[label]: dest` spanning `span`.
pub(super) fn definition_destination(src: &str, span: Range<usize>) -> Option<Range<usize>> {
    let mut i = span.start;
    while i < span.end && byte(src, i) != b'[' {
        i += 1;
    }
    i += 1;
    while i < span.end {
        match byte(src, i) {
            b'\\' => i += 2,
            b']' => break,
            _ => i += 1,
        }
    }
    if byte(src, i + 1) != b':' {
        return None;
    }
    destination(src, i + 2, span.end)
}

/// A task checkbox at the start of a list item.
#[derive(Debug)]
pub(super) struct TaskMarker {
    /// The character between the brackets.
    pub status: char,
    /// The bytes of `[x]`.
    pub marker: Range<usize>,
    /// The rest of the item's first line, trimmed.
    pub text: Range<usize>,
}

/// Reads `- [x] text` (any bullet, `1.` or `1)`, any one-character status) from the list item
/// starting at `item`.
pub(super) fn task_marker(src: &str, item: usize) -> Option<TaskMarker> {
    let mut i = item;
    match byte(src, i) {
        b'-' | b'*' | b'+' => i += 1,
        b'0'..=b'9' => {
            while byte(src, i).is_ascii_digit() {
                i += 1;
            }
            if !matches!(byte(src, i), b'.' | b')') {
                return None;
            }
            i += 1;
        }
        _ => return None,
    }
    if !matches!(byte(src, i), b' ' | b'\t') {
        return None;
    }
    while matches!(byte(src, i), b' ' | b'\t') {
        i += 1;
    }
    if byte(src, i) != b'[' {
        return None;
    }
    let status = src.get(i + 1..)?.chars().next()?;
    let close = i + 1 + status.len_utf8();
    if matches!(status, '\n' | '\r' | ']' | '[') || byte(src, close) != b']' {
        return None;
    }
    let after = close + 1;
    if !matches!(byte(src, after), b' ' | b'\t' | b'\r' | b'\n' | 0) {
        return None;
    }
    Some(TaskMarker {
        status,
        marker: i..after,
        text: trim_range(src, after..line_end(src, after)),
    })
}

/// A callout header `[!type]+ Title` on a block quote's first line.
#[derive(Debug)]
pub(super) struct CalloutMarker {
    /// The type as written (not yet lower-cased).
    pub kind: Range<usize>,
    /// The bytes of `[!type]` plus the fold sign.
    pub marker: Range<usize>,
    /// The title, trimmed.
    pub title: Range<usize>,
}

/// Reads a callout header from the block quote starting at `quote` (at its `>`).
pub(super) fn callout_marker(src: &str, quote: usize) -> Option<CalloutMarker> {
    if byte(src, quote) != b'>' {
        return None;
    }
    let mut i = quote + 1;
    while matches!(byte(src, i), b' ' | b'\t') {
        i += 1;
    }
    if byte(src, i) != b'[' || byte(src, i + 1) != b'!' {
        return None;
    }
    let start = i;
    let kind_start = i + 2;
    let line = line_end(src, kind_start);
    let close = kind_start + src.get(kind_start..line)?.find(']')?;
    let kind = trim_range(src, kind_start..close);
    if kind.is_empty() {
        return None;
    }
    let mut after = close + 1;
    if matches!(byte(src, after), b'+' | b'-') {
        after += 1;
    }
    Some(CalloutMarker {
        kind,
        marker: start..after,
        title: trim_range(src, after..line),
    })
}

/// True for characters Obsidian accepts inside a tag.
fn is_tag_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/');
    }
    !(c.is_whitespace()
        || matches!(c,
            '\u{00A0}'..='\u{00BF}'
            | '\u{00D7}'
            | '\u{00F7}'
            | '\u{2000}'..='\u{200B}'
            | '\u{200E}'..='\u{206F}'
            | '\u{2E00}'..='\u{2E7F}'
            | '\u{3000}'..='\u{303F}'
            | '\u{FE10}'..='\u{FE1F}'
            | '\u{FE30}'..='\u{FE4F}'
            | '\u{FEFF}'
            | '\u{FF01}'..='\u{FF0F}'
            | '\u{FF1A}'..='\u{FF20}'
            | '\u{FF3B}'..='\u{FF40}'
            | '\u{FF5B}'..='\u{FF65}'))
}

/// True when a `#` after `c` may start a tag: not after a letter or digit (`a#b`), nor after
/// characters that make the `#` part of something else (`\#`, `&#1;`, `##`, `/#frag`).
fn tag_may_follow(c: char) -> bool {
    if c.is_whitespace() {
        return true;
    }
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !matches!(c, '#' | '\\' | '&' | '/' | '`');
    }
    !c.is_alphanumeric()
}

/// Reads a tag whose `#` is at `hash`, not reading past `end`. Returns the name's range
/// (without `#` and trailing `/`) and where scanning should resume.
pub(super) fn tag_at(src: &str, hash: usize, end: usize) -> Option<(Range<usize>, usize)> {
    if hash > 0 {
        let before = src.get(..hash)?.chars().next_back()?;
        if !tag_may_follow(before) {
            return None;
        }
    }
    let start = hash + 1;
    let rest = src.get(start..end)?;
    let len = rest
        .char_indices()
        .find(|&(_, c)| !is_tag_char(c))
        .map_or(rest.len(), |(i, _)| i);
    let name = rest.get(..len)?.trim_end_matches('/');
    let meaningful = name.bytes().any(|b| !b.is_ascii_digit() && b != b'/');
    meaningful.then_some((start..start + name.len(), start + len))
}

/// Reads a bare `http://` or `https://` URL around the `:` at `colon`, inside the text run
/// `run_start..run_end`. Trailing punctuation is left out, as GFM's autolinks do.
pub(super) fn url_at(
    src: &str,
    colon: usize,
    run_start: usize,
    run_end: usize,
) -> Option<Range<usize>> {
    if byte(src, colon + 1) != b'/' || byte(src, colon + 2) != b'/' {
        return None;
    }
    let mut start = colon;
    while start > run_start && byte(src, start - 1).is_ascii_alphabetic() {
        start -= 1;
    }
    let scheme = src.get(start..colon)?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    if start > 0 && src.get(..start)?.chars().next_back()?.is_alphanumeric() {
        return None;
    }
    let mut end = colon + 3;
    while end < run_end && !byte(src, end).is_ascii_whitespace() && byte(src, end) != b'<' {
        end += 1;
    }
    // Counted once, so trimming a long run of `)` stays linear.
    let url = slice(src, start..end);
    let opens = url.bytes().filter(|&b| b == b'(').count();
    let mut closes = url.bytes().filter(|&b| b == b')').count();
    while end > colon + 3 {
        let last = byte(src, end - 1);
        if last == b')' && closes > opens {
            closes -= 1;
        } else if !matches!(
            last,
            b'?' | b'!' | b'.' | b',' | b':' | b';' | b'*' | b'_' | b'~' | b'\'' | b'"'
        ) {
            break;
        }
        end -= 1;
    }
    (end > colon + 3).then_some(start..end)
}

/// True for the characters of a block id.
fn is_block_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Finds a block id `^id` at the very end of `range` (trailing whitespace ignored), written
/// after whitespace or alone. Returns the range of `^id` and whether it is alone (nothing but
/// whitespace before it in `range`).
pub(super) fn trailing_block_id(src: &str, range: Range<usize>) -> Option<(Range<usize>, bool)> {
    let range = trim_end_range(src, range);
    let mut i = range.end;
    while i > range.start && is_block_id_byte(byte(src, i - 1)) {
        i -= 1;
    }
    if i == range.end || i == range.start || byte(src, i - 1) != b'^' {
        return None;
    }
    let caret = i - 1;
    let alone = slice(src, range.start..caret).trim().is_empty();
    if !alone && !byte(src, caret.checked_sub(1)?).is_ascii_whitespace() {
        return None;
    }
    Some((caret..range.end, alone))
}

/// Strips HTML tags and comments from the lines of an HTML block, keeping the text between
/// them. State carries across the block's lines.
#[derive(Debug, Default)]
pub(super) struct HtmlText {
    in_tag: bool,
    in_comment: bool,
}

impl HtmlText {
    /// Appends the text of `html` outside tags and comments to `out`.
    pub(super) fn push(&mut self, html: &str, out: &mut String) {
        let mut rest = html;
        while !rest.is_empty() {
            if self.in_comment {
                let Some(end) = rest.find("-->") else { return };
                rest = rest.get(end + 3..).unwrap_or("");
                self.in_comment = false;
            } else if self.in_tag {
                let Some(end) = rest.find('>') else { return };
                rest = rest.get(end + 1..).unwrap_or("");
                self.in_tag = false;
            } else {
                let Some(open) = rest.find('<') else {
                    out.push_str(rest);
                    return;
                };
                out.push_str(rest.get(..open).unwrap_or(""));
                let tail = rest.get(open..).unwrap_or("");
                let next = tail.as_bytes().get(1).copied().unwrap_or(0);
                if tail.starts_with("<!--") {
                    self.in_comment = true;
                    rest = tail.get(4..).unwrap_or("");
                } else if next.is_ascii_alphabetic() || matches!(next, b'/' | b'!' | b'?') {
                    self.in_tag = true;
                    rest = tail.get(1..).unwrap_or("");
                } else {
                    out.push('<');
                    rest = tail.get(1..).unwrap_or("");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_tag(src: &str, hash: usize, expected: Option<&str>) {
        let got = tag_at(src, hash, src.len()).map(|(r, _)| &src[r]);
        assert_eq!(got, expected, "input {src:?} at {hash}");
    }

    #[test]
    fn tags() {
        check_tag("#tag", 0, Some("tag"));
        check_tag("#a/b/c", 0, Some("a/b/c"));
        check_tag("#a/", 0, Some("a"));
        check_tag("#123", 0, None);
        check_tag("#1a", 0, Some("1a"));
        check_tag("#2024/", 0, None);
        check_tag("#日本語 x", 0, Some("日本語"));
        check_tag("#café.", 0, Some("café"));
        check_tag("#emoji🎉ok", 0, Some("emoji🎉ok"));
        check_tag("#a，b", 0, Some("a"));
        check_tag("a#b", 1, None);
        check_tag("(#b)", 1, Some("b"));
        check_tag("x/#frag", 2, None);
        check_tag("##b", 1, None);
        check_tag("# b", 0, None);
        check_tag("#", 0, None);
        check_tag("é#b", 2, None);
    }

    fn check_url(src: &str, expected: Option<&str>) {
        let colon = src.find(':').unwrap();
        let got = url_at(src, colon, 0, src.len()).map(|r| &src[r]);
        assert_eq!(got, expected, "input {src:?}");
    }

    #[test]
    fn urls() {
        check_url("see https://x.com/a#b.", Some("https://x.com/a#b"));
        check_url("(http://x.com/(a))", Some("http://x.com/(a)"));
        check_url("(http://x.com/a)", Some("http://x.com/a"));
        check_url("HTTPS://X.COM", Some("HTTPS://X.COM"));
        check_url("ftp://x", None);
        check_url("xhttp://x", None);
        check_url("http://", None);
        check_url("note: text", None);
    }

    fn check_block_id(src: &str, expected: Option<(&str, bool)>) {
        let got = trailing_block_id(src, 0..src.len()).map(|(r, alone)| (&src[r], alone));
        assert_eq!(got, expected, "input {src:?}");
    }

    #[test]
    fn block_ids() {
        check_block_id("text ^abc-1", Some(("^abc-1", false)));
        check_block_id("text ^abc\r\n", Some(("^abc", false)));
        check_block_id("^abc", Some(("^abc", true)));
        check_block_id("  ^abc  ", Some(("^abc", true)));
        check_block_id("line\n^abc", Some(("^abc", false)));
        check_block_id("text^abc", None);
        check_block_id("text ^", None);
        check_block_id("text ^a_b", None);
        check_block_id("text", None);
    }

    fn check_task(src: &str, expected: Option<(char, &str, &str)>) {
        let got = task_marker(src, 0).map(|t| (t.status, &src[t.marker], &src[t.text]));
        assert_eq!(got, expected, "input {src:?}");
    }

    #[test]
    fn tasks() {
        check_task("- [ ] a", Some((' ', "[ ]", "a")));
        check_task("* [X]  b  \r\nmore", Some(('X', "[X]", "b")));
        check_task("12) [/] c", Some(('/', "[/]", "c")));
        check_task("- [ä] d", Some(('ä', "[ä]", "d")));
        check_task("- [ ]", Some((' ', "[ ]", "")));
        check_task("- [x](url)", None);
        check_task("- [] a", None);
        check_task("- [ab] a", None);
        check_task("-[ ] a", None);
        check_task("1 [ ] a", None);
    }

    fn check_callout(src: &str, expected: Option<(&str, &str, &str)>) {
        let got = callout_marker(src, 0).map(|c| (&src[c.kind], &src[c.marker], &src[c.title]));
        assert_eq!(got, expected, "input {src:?}");
    }

    #[test]
    fn callouts() {
        check_callout("> [!NOTE]\n> x", Some(("NOTE", "[!NOTE]", "")));
        check_callout(">[!tip]+ Fold me \r\n", Some(("tip", "[!tip]+", "Fold me")));
        check_callout("> [!faq]- Q", Some(("faq", "[!faq]-", "Q")));
        check_callout("> [!]", None);
        check_callout("> [note]", None);
        check_callout("> [!note\n]", None);
    }

    fn check_wiki(src: &str, expected: Option<(&str, &str, Option<Fragment>, Option<&str>)>) {
        let got = wikilink(src, 0..src.len())
            .map(|w| (w.target, &src[w.target_range], w.fragment, w.display));
        assert_eq!(got, expected, "input {src:?}");
    }

    #[test]
    fn wikilinks() {
        check_wiki("[[a]]", Some(("a", "a", None, None)));
        check_wiki("[[ a | b ]]", Some(("a", "a", None, Some("b"))));
        check_wiki("[[a\\|b]]", Some(("a", "a", None, Some("b"))));
        check_wiki(
            "[[a#H1#H2]]",
            Some(("a", "a", Some(Fragment::Heading("H1#H2".into())), None)),
        );
        check_wiki(
            "![[a#^blk]]",
            Some(("a", "a", Some(Fragment::Block("blk".into())), None)),
        );
        check_wiki(
            "[[#H]]",
            Some(("", "", Some(Fragment::Heading("H".into())), None)),
        );
        check_wiki("[[a|]]", Some(("a", "a", None, None)));
        check_wiki("[[ ]]", None);
        check_wiki("[[#]]", None);
        check_wiki("[[a\nb]]", None);
        check_wiki("[a]", None);
    }

    #[test]
    fn destinations() {
        let src = "[t](<a b.md#h> \"x\")";
        assert_eq!(
            &src[inline_destination(src, 2, src.len()).unwrap()],
            "a b.md#h"
        );
        let src = "[t](a(1).md)";
        assert_eq!(
            &src[inline_destination(src, 2, src.len()).unwrap()],
            "a(1).md"
        );
        let src = "[ref]:\n  x/y.md 'title'";
        assert_eq!(
            &src[definition_destination(src, 0..src.len()).unwrap()],
            "x/y.md"
        );
        let src = "[r\\]f]: <z z.md>";
        assert_eq!(
            &src[definition_destination(src, 0..src.len()).unwrap()],
            "z z.md"
        );
    }

    #[test]
    fn html_text() {
        let mut html = HtmlText::default();
        let mut out = String::new();
        html.push("<div class=\"a\">hi <b>there</b> <!-- no\n", &mut out);
        html.push("still no --> a < b <span\n", &mut out);
        html.push("x=1>yes</div>\n", &mut out);
        assert_eq!(out, "hi there  a < b yes\n");
    }
}
