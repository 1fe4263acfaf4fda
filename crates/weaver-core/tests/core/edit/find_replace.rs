//! Literal find and replace over the whole note.

use weaver_core::EditError;

use super::{check, check_err, find_replace};

#[test]
fn replaces_every_occurrence() {
    let cases = [
        ("a b a", "a", "x", None, "x b x"),
        ("a b a", "a", "x", Some(2), "x b x"),
        ("aaa", "aa", "b", None, "ba"),
        ("none here", "zzz", "x", None, "none here"),
        ("none here", "zzz", "x", Some(0), "none here"),
        (
            "---\ntitle: old\n---\nold\n",
            "old",
            "new",
            Some(2),
            "---\ntitle: new\n---\nnew\n",
        ),
        ("a\r\nb\r\n", "a\nb", "c\nd", Some(1), "c\r\nd\r\n"),
        ("Ünïcode ü", "ü", "u", None, "Ünïcode u"),
        ("x.*y", ".*", "+", None, "x+y"),
    ];
    for (src, find, replace, expected_count, expected) in cases {
        check(
            src,
            &[find_replace(find, replace, expected_count)],
            expected,
        );
    }
}

#[test]
fn counts_and_empty_find_are_checked() {
    check_err(
        "a b a",
        &[find_replace("a", "x", Some(1))],
        &EditError::MatchCountMismatch {
            find: "a".into(),
            expected: 1,
            found: 2,
        },
    );
    check_err("a", &[find_replace("", "x", None)], &EditError::EmptyFind);
}
