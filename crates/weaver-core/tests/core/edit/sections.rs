//! Heading addressing and section edits: nesting, levels, duplicates, setext headings,
//! headings in code, comments and Unicode.

use weaver_core::EditError;

use super::{append_section, check, check_err, replace_section};

const DOC: &str = "# Doc\nintro\n\n## Tasks\n- a\n\n### Sub\n- s\n\n## Notes\nn\n";

#[test]
fn append_to_section_goes_after_its_last_line() {
    let cases = [
        (
            "Tasks",
            "- b",
            "# Doc\nintro\n\n## Tasks\n- a\n\n### Sub\n- s\n- b\n\n## Notes\nn\n",
        ),
        (
            "Sub",
            "- t",
            "# Doc\nintro\n\n## Tasks\n- a\n\n### Sub\n- s\n- t\n\n## Notes\nn\n",
        ),
        (
            "Notes",
            "more",
            "# Doc\nintro\n\n## Tasks\n- a\n\n### Sub\n- s\n\n## Notes\nn\nmore\n",
        ),
        (
            "Doc",
            "end",
            "# Doc\nintro\n\n## Tasks\n- a\n\n### Sub\n- s\n\n## Notes\nn\nend\n",
        ),
    ];
    for (heading, text, expected) in cases {
        check(DOC, &[append_section(heading, text)], expected);
    }
    check(
        "## A\n\n\n## B\n",
        &[append_section("A", "x")],
        "## A\nx\n\n\n## B\n",
    );
    check("## A", &[append_section("A", "x")], "## A\nx");
    check("## A\nbody", &[append_section("A", "x")], "## A\nbody\nx");
    check(
        "## A\r\nx\r\n## B\r\n",
        &[append_section("A", "y\nz")],
        "## A\r\nx\r\ny\r\nz\r\n## B\r\n",
    );
}

#[test]
fn replace_section_keeps_the_heading_and_surrounding_blank_lines() {
    let cases = [
        (
            "Tasks",
            "new",
            "# Doc\nintro\n\n## Tasks\nnew\n\n## Notes\nn\n",
        ),
        (
            "Sub",
            "- z\n",
            "# Doc\nintro\n\n## Tasks\n- a\n\n### Sub\n- z\n\n## Notes\nn\n",
        ),
        ("Tasks", "", "# Doc\nintro\n\n## Tasks\n\n## Notes\nn\n"),
        ("Doc", "x", "# Doc\nx\n"),
        (
            "Notes",
            "1\n2",
            "# Doc\nintro\n\n## Tasks\n- a\n\n### Sub\n- s\n\n## Notes\n1\n2\n",
        ),
    ];
    for (heading, text, expected) in cases {
        check(DOC, &[replace_section(heading, text)], expected);
    }
    check(
        "## A\n\nold\n\n## B",
        &[replace_section("A", "new")],
        "## A\n\nnew\n\n## B",
    );
    check("## A\nold", &[replace_section("A", "new")], "## A\nnew");
    check(
        "## A\n\n## B\n",
        &[replace_section("A", "new")],
        "## A\nnew\n\n## B\n",
    );
    check("## A", &[replace_section("A", "new")], "## A\nnew");
}

#[test]
fn headings_are_addressed_by_text_level_and_parents() {
    let src = "# P1\n## Tasks\na\n# P2\n## Tasks\nb\n### Deep\nc\n";
    let cases = [
        (
            "P2#Tasks",
            "# P1\n## Tasks\na\n# P2\n## Tasks\nb\n### Deep\nc\nx\n",
        ),
        (
            "P2 > Tasks",
            "# P1\n## Tasks\na\n# P2\n## Tasks\nb\n### Deep\nc\nx\n",
        ),
        (
            "# P1 > ## Tasks",
            "# P1\n## Tasks\na\nx\n# P2\n## Tasks\nb\n### Deep\nc\n",
        ),
        (
            "p1#tasks",
            "# P1\n## Tasks\na\nx\n# P2\n## Tasks\nb\n### Deep\nc\n",
        ),
        // Parents need not be direct parents.
        (
            "P2#Deep",
            "# P1\n## Tasks\na\n# P2\n## Tasks\nb\n### Deep\nc\nx\n",
        ),
        (
            "#Deep",
            "# P1\n## Tasks\na\n# P2\n## Tasks\nb\n### Deep\nc\nx\n",
        ),
    ];
    for (heading, expected) in cases {
        check(src, &[append_section(heading, "x")], expected);
    }
    let ambiguous = |heading: &str| EditError::HeadingAmbiguous {
        heading: heading.into(),
        lines: vec![2, 5],
    };
    check_err(src, &[append_section("Tasks", "x")], &ambiguous("Tasks"));
    check_err(
        src,
        &[append_section("## Tasks", "x")],
        &ambiguous("## Tasks"),
    );
    check_err(
        src,
        &[append_section("P1#Deep", "x")],
        &EditError::HeadingNotFound {
            heading: "P1#Deep".into(),
            available: ["# P1", "## Tasks", "# P2", "## Tasks", "### Deep"]
                .map(String::from)
                .to_vec(),
        },
    );
    check_err(
        src,
        &[append_section("### Tasks", "x")],
        &EditError::HeadingNotFound {
            heading: "### Tasks".into(),
            available: ["# P1", "## Tasks", "# P2", "## Tasks", "### Deep"]
                .map(String::from)
                .to_vec(),
        },
    );
    let levels = "# Tasks\n## Tasks\n";
    check(
        levels,
        &[append_section("## Tasks", "x")],
        "# Tasks\n## Tasks\nx\n",
    );
    check(levels, &[replace_section("# Tasks", "x")], "# Tasks\nx\n");
}

#[test]
fn headings_compare_by_anchor() {
    let cases = [
        (
            "## Goals: 2024\nx\n",
            "goals 2024",
            "## Goals: 2024\nx\ny\n",
        ),
        (
            "## Goals: 2024\nx\n",
            "Goals: 2024",
            "## Goals: 2024\nx\ny\n",
        ),
        ("## C# notes\nx\n", "C# notes", "## C# notes\nx\ny\n"),
        ("## C# notes\nx\n", "## C# notes", "## C# notes\nx\ny\n"),
        ("## x -> y\nx\n", "x -> y", "## x -> y\nx\ny\n"),
        (
            "## See [[Plan|the plan]]\nx\n",
            "See the plan",
            "## See [[Plan|the plan]]\nx\ny\n",
        ),
        (
            "## Ünïcode Überschrift\nx\n",
            "ünïcode überschrift",
            "## Ünïcode Überschrift\nx\ny\n",
        ),
        ("## Cafe\u{301}\nx\n", "caf\u{e9}", "## Cafe\u{301}\nx\ny\n"),
        ("## 日本語\nx\n", "日本語", "## 日本語\nx\ny\n"),
    ];
    for (src, heading, expected) in cases {
        check(src, &[append_section(heading, "y")], expected);
    }
}

#[test]
fn headings_in_code_and_comments_are_not_headings() {
    let src = "## A\n```\n## B\n```\ntext\n%%\n## C\n%%\n## D\n";
    for hidden in ["B", "C"] {
        check_err(
            src,
            &[append_section(hidden, "x")],
            &EditError::HeadingNotFound {
                heading: hidden.into(),
                available: vec!["## A".into(), "## D".into()],
            },
        );
    }
    check(
        src,
        &[append_section("A", "x")],
        "## A\n```\n## B\n```\ntext\n%%\n## C\n%%\nx\n## D\n",
    );
    check(src, &[replace_section("A", "x")], "## A\nx\n## D\n");
    check_err(
        "```\n# Code\n```\n",
        &[append_section("Code", "x")],
        &EditError::HeadingNotFound {
            heading: "Code".into(),
            available: vec![],
        },
    );
}

#[test]
fn setext_headings() {
    let src = "Title\n=====\nbody\n\nSub\n---\nsub body\n";
    check(
        src,
        &[replace_section("Sub", "new")],
        "Title\n=====\nbody\n\nSub\n---\nnew\n",
    );
    check(
        src,
        &[append_section("Title", "x")],
        "Title\n=====\nbody\n\nSub\n---\nsub body\nx\n",
    );
    check(
        src,
        &[append_section("## Sub", "x")],
        "Title\n=====\nbody\n\nSub\n---\nsub body\nx\n",
    );
    check(src, &[replace_section("Title", "x")], "Title\n=====\nx\n");
    check(
        "Title\r\n=====\r\nbody\r\n",
        &[super::after("Title", "first")],
        "Title\r\n=====\r\nfirst\r\nbody\r\n",
    );
}

#[test]
fn a_block_id_labelling_the_heading_stays_with_it() {
    let src = "# Heading\n^h\n\nbody\n";
    check(
        src,
        &[super::after("Heading", "text")],
        "# Heading\n^h\n\ntext\n\nbody\n",
    );
    check(
        src,
        &[replace_section("Heading", "new")],
        "# Heading\n^h\n\nnew\n",
    );
    check(
        "# Heading\n^h\n",
        &[append_section("Heading", "more")],
        "# Heading\n^h\n\nmore\n",
    );
}
