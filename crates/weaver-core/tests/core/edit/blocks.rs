//! Replacing a labelled block's content and appending after it: paragraphs, list items, tasks,
//! quotes and ids on their own line.

use weaver_core::EditError;

use super::{append_block, check, check_err, replace_block};

#[test]
fn replace_block_keeps_the_marker() {
    let cases = [
        (
            "Some text ^abc\n\nNext\n",
            "abc",
            "New text",
            "New text ^abc\n\nNext\n",
        ),
        (
            "Some text ^abc\n\nNext\n",
            "^ABC",
            "New\n",
            "New ^abc\n\nNext\n",
        ),
        ("Some text\t^abc", "abc", "x", "x\t^abc"),
        ("Line one\nline two ^id-2\n", "id-2", "a\nb", "a\nb ^id-2\n"),
        ("Line one\n^own", "own", "x", "x\n^own"),
        ("- one ^a\n- two ^b\n", "a", "uno", "- uno ^a\n- two ^b\n"),
        ("- one ^a\n- two ^b\n", "b", "dos", "- one ^a\n- dos ^b\n"),
        (
            "1. first ^f\n2. second\n",
            "f",
            "premier",
            "1. premier ^f\n2. second\n",
        ),
        ("- [ ] task ^t\n", "t", "[x] done", "- [x] done ^t\n"),
        ("- one ^a\n- two\n", "a", "x\ny", "- x\n  y ^a\n- two\n"),
        (
            "- parent ^p\n  - child ^c\n",
            "p",
            "P",
            "- P ^p\n  - child ^c\n",
        ),
        (
            "- parent ^p\n  - child ^c\n",
            "c",
            "C",
            "- parent ^p\n  - C ^c\n",
        ),
        ("> quoted ^q\n", "q", "a\nb", "> a\n> b ^q\n"),
        ("> quoted ^q\n", "q", "a\n\nb", "> a\n>\n> b ^q\n"),
        ("Para\n\n^p\n", "p", "New\npara", "New\npara\n\n^p\n"),
        ("- a\n- b\n\n^list\n", "list", "- c", "- c\n\n^list\n"),
        (
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n^table\n",
            "table",
            "| x |\n|---|\n| 9 |",
            "| x |\n|---|\n| 9 |\n\n^table\n",
        ),
        ("# Heading\n\n^h\n", "h", "# Renamed", "# Renamed\n\n^h\n"),
        (
            "Text ^abc\r\n\r\nNext\r\n",
            "abc",
            "a\nb",
            "a\r\nb ^abc\r\n\r\nNext\r\n",
        ),
        ("Ünïcode ^u\n", "u", "日本語", "日本語 ^u\n"),
    ];
    for (src, block, text, expected) in cases {
        check(src, &[replace_block(block, text)], expected);
    }
}

#[test]
fn append_to_block_adds_lines_after_it() {
    let cases = [
        (
            "- one ^a\n- two\n",
            "a",
            "- new",
            "- one ^a\n- new\n- two\n",
        ),
        (
            "- p\n  - child ^c\n- q\n",
            "c",
            "- sib",
            "- p\n  - child ^c\n  - sib\n- q\n",
        ),
        // A plain line would continue the paragraph and detach its id: a blank line keeps
        // them apart.
        (
            "Para ^p\n\nNext\n",
            "p",
            "Added",
            "Para ^p\n\nAdded\n\nNext\n",
        ),
        ("Para ^p", "p", "x", "Para ^p\n\nx"),
        (
            "> quoted ^q\n\nafter\n",
            "q",
            "more",
            "> quoted ^q\n>\n> more\n\nafter\n",
        ),
        (
            "Para\n\n^p\n\nNext\n",
            "p",
            "- item",
            "Para\n\n^p\n- item\n\nNext\n",
        ),
        (
            "- parent ^p\n  - child\n- next\n",
            "p",
            "- new",
            "- parent ^p\n  - child\n- new\n- next\n",
        ),
    ];
    for (src, block, text, expected) in cases {
        check(src, &[append_block(block, text)], expected);
    }
}

#[test]
fn missing_blocks() {
    for src in ["text", "text ^other", "```\ncode ^zzz\n```", "`^zzz`"] {
        check_err(
            src,
            &[replace_block("zzz", "x")],
            &EditError::BlockNotFound("zzz".into()),
        );
        check_err(
            src,
            &[append_block("^zzz", "x")],
            &EditError::BlockNotFound("zzz".into()),
        );
    }
}
