//! Block ids: `^id` at the end of a paragraph or list item, or alone after a block.

use super::parse;

/// Checks block ids as (id, line, `src[range]` of the labelled block).
fn check(src: &str, expected: &[(&str, u32, &str)]) {
    let note = parse(src);
    let got: Vec<(&str, u32, &str)> = note
        .blocks
        .iter()
        .map(|b| (b.id.as_str(), b.line, &src[b.range.clone()]))
        .collect();
    assert_eq!(got, expected, "input {src:?}");
}

#[test]
fn end_of_paragraph() {
    check("Some text ^abc", &[("abc", 1, "Some text ^abc")]);
    check(
        "Line one\nline two ^id-2",
        &[("id-2", 2, "Line one\nline two ^id-2")],
    );
    check("Text ^abc  \r\n\r\nNext", &[("abc", 1, "Text ^abc")]);
    check("Line one\n^own", &[("own", 2, "Line one\n^own")]);
    check("> quoted ^q", &[("q", 1, "quoted ^q")]);
}

#[test]
fn list_items() {
    check(
        "- one ^a\n- two ^b\n",
        &[("a", 1, "- one ^a"), ("b", 2, "- two ^b")],
    );
    check(
        "- parent ^p\n  - child ^c\n",
        &[
            ("p", 1, "- parent ^p\n  - child ^c"),
            ("c", 2, "- child ^c"),
        ],
    );
    check("1. loose ^l\n\n2. next\n", &[("l", 1, "1. loose ^l")]);
    check("- [ ] task ^t\n", &[("t", 1, "- [ ] task ^t")]);
}

#[test]
fn own_line_labels_the_previous_block() {
    check("Para\n\n^p", &[("p", 3, "Para")]);
    check("- a\n- b\n\n^list", &[("list", 4, "- a\n- b")]);
    check("> quote\n> more\n\n^q", &[("q", 4, "> quote\n> more")]);
    check(
        "> [!note] T\n> body\n\n^c",
        &[("c", 4, "> [!note] T\n> body")],
    );
    check(
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n^table",
        &[("table", 5, "| a | b |\n|---|---|\n| 1 | 2 |")],
    );
    check("```\ncode\n```\n\n^code", &[("code", 5, "```\ncode\n```")]);
    check("# Heading\n\n^h", &[("h", 3, "# Heading")]);
    check("^first", &[("first", 1, "^first")]);
}

#[test]
fn not_block_ids() {
    let cases = [
        "text^abc",
        "^abc text",
        "line ^mid\nmore text",
        "text ^a_b",
        "text `^code`",
        "```\ntext ^code\n```",
        "%%text ^c%%",
        "text %%^c%%",
        "<div>\ntext ^html\n</div>",
        "[link ^x](a.md)",
        "# Heading ^h",
    ];
    for src in cases {
        check(src, &[]);
    }
}

#[test]
fn block_ids_are_not_text() {
    let note = parse("Some text ^abc\n\n- item ^b\n\nPara\n\n^own");
    assert_eq!(note.text, "Some text\nitem\nPara");
}
