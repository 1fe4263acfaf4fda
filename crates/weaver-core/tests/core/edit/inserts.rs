//! Append, prepend and inserting around a heading: line breaks, line endings, frontmatter and
//! byte-order marks.

use super::{after, append, before, check, prepend};

#[test]
fn append_keeps_the_files_trailing_newline_style() {
    let cases = [
        ("a\n", "b", "a\nb\n"),
        ("a", "b", "a\nb"),
        ("a\n", "b\n", "a\nb\n"),
        ("a", "b\n", "a\nb\n"),
        ("", "b", "b"),
        ("a\n\n", "b", "a\n\nb\n"),
        ("a\n", "", "a\n"),
        ("a\n", "x\ny", "a\nx\ny\n"),
        ("a\r\n", "b\nc", "a\r\nb\r\nc\r\n"),
        ("a\r\nb", "c\r\nd", "a\r\nb\r\nc\r\nd"),
        ("a\n", "b\r\nc", "a\nb\nc\n"),
    ];
    for (src, text, expected) in cases {
        check(src, &[append(text)], expected);
    }
}

#[test]
fn prepend_goes_after_the_frontmatter() {
    let cases = [
        ("body\n", "top", "top\nbody\n"),
        ("body", "top", "top\nbody"),
        ("", "top", "top"),
        (
            "---\nx: 1\n---\nbody\n",
            "top",
            "---\nx: 1\n---\ntop\nbody\n",
        ),
        ("---\nx: 1\n---\n", "top", "---\nx: 1\n---\ntop\n"),
        ("---\nx: 1\n---", "top", "---\nx: 1\n---\ntop"),
        ("\u{feff}body\n", "top", "\u{feff}top\nbody\n"),
        (
            "\u{feff}---\r\nx: 1\r\n---\r\nbody\r\n",
            "a\nb",
            "\u{feff}---\r\nx: 1\r\n---\r\na\r\nb\r\nbody\r\n",
        ),
        // An unclosed `---` is not frontmatter but a thematic break, which would turn `top`
        // into a setext heading without the blank line.
        ("---\nbody\n", "top", "top\n\n---\nbody\n"),
    ];
    for (src, text, expected) in cases {
        check(src, &[prepend(text)], expected);
    }
}

#[test]
fn insert_before_and_after_a_heading() {
    let src = "intro\n## A\nx\n## B\ny";
    check(src, &[before("A", "new")], "intro\nnew\n## A\nx\n## B\ny");
    check(src, &[after("A", "new")], "intro\n## A\nnew\nx\n## B\ny");
    check(
        src,
        &[before("B", "n1\nn2\n")],
        "intro\n## A\nx\nn1\nn2\n## B\ny",
    );
    check(src, &[after("B", "new")], "intro\n## A\nx\n## B\nnew\ny");
    check("# Only", &[after("Only", "new")], "# Only\nnew");
    check("# Only\n", &[after("Only", "new")], "# Only\nnew\n");
    check("# First\n", &[before("First", "new")], "new\n# First\n");
    check(
        "---\na: 1\n---\n# First\n",
        &[before("First", "new")],
        "---\na: 1\n---\nnew\n# First\n",
    );
    check(
        "\u{feff}# First\n",
        &[before("First", "new")],
        "\u{feff}new\n# First\n",
    );
    // Headings in containers: the whole line moves down.
    check(
        "> # Quoted\n",
        &[before("Quoted", "new")],
        "new\n> # Quoted\n",
    );
}

#[test]
fn crlf_notes_get_crlf_text() {
    let src = "# T\r\n\r\n## A\r\nx\r\n";
    check(
        src,
        &[after("A", "1\n2")],
        "# T\r\n\r\n## A\r\n1\r\n2\r\nx\r\n",
    );
    check(
        src,
        &[before("A", "1\n2\n")],
        "# T\r\n\r\n1\r\n2\r\n## A\r\nx\r\n",
    );
}
