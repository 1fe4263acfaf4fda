//! Headings: ATX and setext, levels, text with inline syntax removed, anchors and ranges.

use super::parse;

/// Checks headings as (level, text, anchor, `src[range]`, line).
fn check(src: &str, expected: &[(u8, &str, &str, &str, u32)]) {
    let note = parse(src);
    let got: Vec<(u8, &str, &str, &str, u32)> = note
        .headings
        .iter()
        .map(|h| {
            (
                h.level,
                h.text.as_str(),
                h.anchor.as_str(),
                &src[h.range.clone()],
                h.line,
            )
        })
        .collect();
    assert_eq!(got, expected, "input {src:?}");
}

#[test]
fn atx_and_setext() {
    check(
        "# One\n## Two\n###### Six",
        &[
            (1, "One", "One", "# One", 1),
            (2, "Two", "Two", "## Two", 2),
            (6, "Six", "Six", "###### Six", 3),
        ],
    );
    check(
        "Title\n=====\n\nSub\n---\n",
        &[
            (1, "Title", "Title", "Title\n=====", 1),
            (2, "Sub", "Sub", "Sub\n---", 4),
        ],
    );
    check(
        "# Closed ##\n",
        &[(1, "Closed", "Closed", "# Closed ##", 1)],
    );
    check(
        "# CRLF\r\nSetext\r\n---\r\n",
        &[
            (1, "CRLF", "CRLF", "# CRLF", 1),
            (2, "Setext", "Setext", "Setext\r\n---", 2),
        ],
    );
    check(
        "   # Indented",
        &[(1, "Indented", "Indented", "# Indented", 1)],
    );
    check("#", &[(1, "", "", "#", 1)]);
}

#[test]
fn inline_syntax_is_removed() {
    check(
        "# A *b* **c** `d` ~~e~~",
        &[(1, "A b c d e", "A b c d e", "# A *b* **c** `d` ~~e~~", 1)],
    );
    check(
        "# See [[Plan#Goals|the plan]]",
        &[(
            1,
            "See the plan",
            "See the plan",
            "# See [[Plan#Goals|the plan]]",
            1,
        )],
    );
    check(
        "# See [[Plan]] and [[Plan#Goals]]",
        &[(
            1,
            "See Plan and Plan > Goals",
            "See Plan and Plan > Goals",
            "# See [[Plan]] and [[Plan#Goals]]",
            1,
        )],
    );
    check(
        "# [Site](https://x.com) link",
        &[(
            1,
            "Site link",
            "Site link",
            "# [Site](https://x.com) link",
            1,
        )],
    );
    check(
        "# Tag #inline",
        &[(1, "Tag #inline", "Tag inline", "# Tag #inline", 1)],
    );
}

#[test]
fn anchors_strip_obsidian_characters() {
    check(
        "## Q: 100% [done] | ^x",
        &[(
            2,
            "Q: 100% [done] | ^x",
            "Q 100 done x",
            "## Q: 100% [done] | ^x",
            1,
        )],
    );
    check(
        "# Ünïcödé  Title",
        &[(1, "Ünïcödé  Title", "Ünïcödé Title", "# Ünïcödé  Title", 1)],
    );
}

#[test]
fn not_headings() {
    let cases = [
        "#NoSpace",
        "```\n# in code\n```",
        "    # indented code",
        "%%\n# commented\n%%",
        "%%# inline comment%%",
        "<div>\n# html\n</div>",
        "---\ntitle: x\n---\n",
        "\\# escaped",
    ];
    for src in cases {
        check(src, &[]);
    }
}

#[test]
fn nested_headings_and_frontmatter_offsets() {
    let src = "---\na: 1\n---\n> # Quoted\n- ## Listed\n";
    check(
        src,
        &[
            (1, "Quoted", "Quoted", "# Quoted", 4),
            (2, "Listed", "Listed", "## Listed", 5),
        ],
    );
}
