//! Structure guards (text that would merge with a neighbouring line), op ordering,
//! all-or-nothing, and the wire form of `EditOp`.

use serde_json::json;
use weaver_core::{EditError, EditOp};

use super::{
    after, append, append_section, before, check, check_err, edit, prepend, replace_section,
};

#[test]
fn text_is_kept_from_merging_into_a_setext_heading() {
    let cases = [
        (
            "intro\n\nTitle\n=====\nbody\n",
            before("Title", "para"),
            "intro\n\npara\n\nTitle\n=====\nbody\n",
        ),
        ("Title\n===\n", prepend("intro"), "intro\n\nTitle\n===\n"),
        // A thematic break right after a heading would underline the text.
        ("# T\n---\nx\n", after("T", "text"), "# T\ntext\n\n---\nx\n"),
        (
            "## A\n```\nx\n```\nNext\n---\n",
            append_section("A", "more"),
            "## A\n```\nx\n```\nmore\n\nNext\n---\n",
        ),
        (
            "## A\n```\nold\n```\nNext\n---\n",
            replace_section("A", "new"),
            "## A\nnew\n\nNext\n---\n",
        ),
        // Inserted text ending in `===` would make the line above it a heading.
        ("para\n", append("===\nmore"), "para\n\n===\nmore\n"),
    ];
    for (src, op, expected) in cases {
        check(src, &[op], expected);
    }
}

#[test]
fn text_is_kept_from_detaching_a_block_id() {
    check(
        "## A\ntext ^id\n",
        &[append_section("A", "more")],
        "## A\ntext ^id\n\nmore\n",
    );
    check("text ^id", &[append("more")], "text ^id\n\nmore");
    check(
        "## A\ntext ^id\n\n## B\n",
        &[append_section("A", "- item")],
        "## A\ntext ^id\n- item\n\n## B\n",
    );
}

#[test]
fn text_that_would_swallow_the_rest_of_the_note_is_refused() {
    let src = "## A\nx\n\n## B\ny ^b\n";
    for text in ["```\ncode", "%%\nhidden", "<!--\nopen"] {
        let err = edit(src, &[append_section("A", text)]).unwrap_err();
        assert!(
            matches!(err, EditError::WouldChangeStructure(_)),
            "text {text:?}: {err:?}"
        );
    }
    // Closed, the same text is fine.
    check(
        src,
        &[append_section("A", "```\ncode\n```")],
        "## A\nx\n```\ncode\n```\n\n## B\ny ^b\n",
    );
}

#[test]
fn ops_apply_in_order_and_all_or_nothing() {
    check(
        "# Doc\n## A\nx\n",
        &[
            after("A", "## New"),
            append_section("New", "in new"),
            append("end"),
        ],
        "# Doc\n## A\n## New\nx\nin new\nend\n",
    );
    check_err(
        "# Doc\n",
        &[append("fine"), append_section("Missing", "x")],
        &EditError::HeadingNotFound {
            heading: "Missing".into(),
            available: vec!["# Doc".into()],
        },
    );
    check("same", &[], "same");
}

#[test]
fn ops_have_a_tagged_json_form() {
    let cases = [
        (
            json!({"op": "append_to_section", "heading": "Tasks", "text": "- [ ] x"}),
            append_section("Tasks", "- [ ] x"),
        ),
        (
            json!({"op": "find_replace", "find": "a", "replace": "b"}),
            EditOp::FindReplace {
                find: "a".into(),
                replace: "b".into(),
                expected: None,
            },
        ),
        (
            json!({"op": "set_frontmatter", "key": "tags", "value": ["a"]}),
            EditOp::SetFrontmatter {
                key: "tags".into(),
                value: json!(["a"]),
            },
        ),
        (
            json!({"op": "delete_frontmatter", "key": "k"}),
            EditOp::DeleteFrontmatter { key: "k".into() },
        ),
        (
            json!({"op": "replace_block", "block": "b1", "text": "t"}),
            EditOp::ReplaceBlock {
                block: "b1".into(),
                text: "t".into(),
            },
        ),
    ];
    for (wire, op) in cases {
        let parsed: EditOp = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(parsed, op, "{wire}");
        let back: EditOp = serde_json::from_value(serde_json::to_value(&op).unwrap()).unwrap();
        assert_eq!(back, op);
    }
    for bad in [
        json!({"op": "append", "txt": "typo"}),
        json!({"op": "append", "text": "x", "extra": 1}),
        json!({"op": "explode"}),
    ] {
        assert!(
            serde_json::from_value::<EditOp>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn error_messages_name_the_values() {
    let cases = [
        (
            EditError::HeadingNotFound {
                heading: "Tasks".into(),
                available: vec!["# A".into(), "## B".into()],
            },
            "heading `Tasks` not found; the note's headings are: `# A`, `## B`",
        ),
        (
            EditError::HeadingAmbiguous {
                heading: "Tasks".into(),
                lines: vec![2, 5],
            },
            "heading `Tasks` matches the headings on lines `2`, `5`; name a parent (`Parent#Child`) or the level (`## Child`)",
        ),
        (
            EditError::MatchCountMismatch {
                find: "x".into(),
                expected: 1,
                found: 3,
            },
            "`x` occurs `3` times, expected `1`",
        ),
        (EditError::BlockNotFound("b".into()), "block `^b` not found"),
    ];
    for (err, message) in cases {
        assert_eq!(err.to_string(), message);
    }
}
