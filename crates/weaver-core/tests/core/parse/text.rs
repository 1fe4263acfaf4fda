//! The plain text kept for full-text search, and its word count.

use super::parse;

/// Checks `text` and `word_count`.
fn check(src: &str, expected: &str) {
    let note = parse(src);
    assert_eq!(note.text, expected, "input {src:?}");
    let words = u32::try_from(expected.split_whitespace().count()).unwrap();
    assert_eq!(note.word_count, words, "input {src:?}");
}

#[test]
fn plain_text() {
    check("", "");
    check("Hello *world*", "Hello world");
    check(
        "# Title\nPara **bold** `code` ~~gone~~",
        "Title\nPara bold code gone",
    );
    check(
        "line one\nline two\n\nnext para",
        "line one line two\nnext para",
    );
    check("hard  \nbreak", "hard break");
    check("- a\n- b\n  - c\n\n1. d", "a\nb\nc\nd");
    check("> quoted\n> text", "quoted text");
    check("| h1 | h2 |\n|----|----|\n| a | b |", "h1 h2\na b");
    check("```rust\nfn main() {}\n```", "fn main() {}");
    check("```\r\na\r\nb\r\n```\r\n", "a\nb");
    check("    indented\n    code", "indented\ncode");
    check("a &amp; b \\* c", "a & b * c");
    check("Text[^1]\n\n[^1]: The note.", "Text\nThe note.");
    check("$x^2$ and\n\n$$\ny\n$$", "x^2 and\ny");
}

#[test]
fn links_show_their_display_text() {
    check(
        "[[a]] [[b|Bee]] [[c#H]] [[#Local]] [[d#^blk]]",
        "a Bee c > H Local d > ^blk",
    );
    check(
        "[text](a.md) ![alt](i.png) <https://x.y>",
        "text alt https://x.y",
    );
    check(
        "![[embed]] ![[img.png|100x200]] ![[img.png|300]] ![[n|Shown]]",
        "Shown",
    );
    check("[**bold** link](a.md)", "bold link");
}

#[test]
fn syntax_frontmatter_comments_and_html_are_removed() {
    check("---\ntitle: Hidden\n---\nVisible", "Visible");
    check("a %%secret%% b", "a  b");
    check("a\n\n%%\nsecret\n\nmore\n%%\n\nb", "a\nb");
    check("x <span class=\"k\">inline</span> y", "x inline y");
    check(
        "<div align=\"center\">\n<b>Block</b> html <!-- hidden -->\n</div>\n\nafter",
        "Block html\nafter",
    );
    check("> [!tip] Title\n> Body", "Title Body");
    check("- [ ] Task\n- [x] Done", "Task\nDone");
    check("Para ^blockid", "Para");
    check("***\n\n---\n\ntext", "text");
}

#[test]
fn word_counts() {
    let note = parse("---\ntags: [a]\n---\n# One two\nthree  four\tfive\n\n```\nsix\n```");
    assert_eq!(note.word_count, 6);
    let note = parse("日本語 テキスト and more");
    assert_eq!(note.word_count, 4);
}

/// Found by the `parse_note` fuzz target: a vertical tab (U+000B) separates words in
/// `split_whitespace` but not in `split_ascii_whitespace`, so the count was one short.
#[test]
fn vertical_tab_separates_words() {
    let note = parse("M<div>\u{b}mary>x</iv>\nmsummary>\n");
    assert_eq!(
        note.word_count as usize,
        note.text.split_whitespace().count(),
        "text {:?}",
        note.text
    );
    check("one\u{b}two three", "one\u{b}two three");
}
