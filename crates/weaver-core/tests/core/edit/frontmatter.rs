//! Setting and deleting frontmatter keys: only the key's lines change; comments, order and
//! quoting of the other keys stay; malformed YAML is refused.

use serde_json::json;
use weaver_core::EditError;

use super::{check, check_err, delete, edit, set};

#[test]
fn set_adds_or_replaces_one_key() {
    let cases = [
        (
            "---\ntitle: A\n---\nbody\n",
            set("status", json!("draft")),
            "---\ntitle: A\nstatus: draft\n---\nbody\n",
        ),
        (
            "---\ntitle: A\nstatus: old\nz: 1\n---\n",
            set("status", json!("new")),
            "---\ntitle: A\nstatus: new\nz: 1\n---\n",
        ),
        (
            "---\n# comment\ntitle: 'A'\ntags:\n  - x\n  - y\nstatus: old # why\n---\n",
            set("tags", json!(["a", "b c"])),
            "---\n# comment\ntitle: 'A'\ntags: [\"a\", \"b c\"]\nstatus: old # why\n---\n",
        ),
        (
            "---\ntags:\n- x\n- y\nz: 1\n---\n",
            set("tags", json!("one")),
            "---\ntags: one\nz: 1\n---\n",
        ),
        (
            "---\ndesc: |\n  line 1\n\n  line 2\nnext: 1\n---\n",
            set("desc", json!("short")),
            "---\ndesc: short\nnext: 1\n---\n",
        ),
        (
            "---\n\"quoted key\": \"v\"\n'single': 'x'\nplain:   spaced   # c\n---\n",
            set("new", json!(1)),
            "---\n\"quoted key\": \"v\"\n'single': 'x'\nplain:   spaced   # c\nnew: 1\n---\n",
        ),
        (
            "---\n\"quoted key\": \"v\"\n'single': 'x'\n---\n",
            set("quoted key", json!(false)),
            "---\n\"quoted key\": false\n'single': 'x'\n---\n",
        ),
        (
            "---\n\"quoted key\": \"v\"\n'single': 'x'\n---\n",
            set("single", json!(null)),
            "---\n\"quoted key\": \"v\"\n'single': null\n---\n",
        ),
        (
            "---\n---\nbody",
            set("k", json!("v")),
            "---\nk: v\n---\nbody",
        ),
        (
            "---\na: 1\n...\nbody",
            set("b", json!(2)),
            "---\na: 1\nb: 2\n...\nbody",
        ),
        (
            "---\r\na: 1\r\n---\r\nbody\r\n",
            set("b", json!({"x": [1, "y"]})),
            "---\r\na: 1\r\nb: {\"x\": [1, \"y\"]}\r\n---\r\nbody\r\n",
        ),
        (
            "---\na: 1\n# trailing comment\n---\n",
            set("b", json!("2024-05-01")),
            "---\na: 1\n# trailing comment\nb: 2024-05-01\n---\n",
        ),
        (
            "---\na: 1\n# about b\nb: 2\n---\n",
            set("a", json!("x")),
            "---\na: x\n# about b\nb: 2\n---\n",
        ),
    ];
    for (src, op, expected) in cases {
        check(src, &[op], expected);
    }
}

#[test]
fn set_creates_frontmatter() {
    let cases = [
        ("body\n", "---\ntitle: Hello World\n---\nbody\n"),
        ("", "---\ntitle: Hello World\n---\n"),
        (
            "body\r\nmore\r\n",
            "---\r\ntitle: Hello World\r\n---\r\nbody\r\nmore\r\n",
        ),
        ("\u{feff}body", "\u{feff}---\ntitle: Hello World\n---\nbody"),
        ("# Title\n", "---\ntitle: Hello World\n---\n# Title\n"),
    ];
    for (src, expected) in cases {
        check(src, &[set("title", json!("Hello World"))], expected);
    }
}

#[test]
fn values_and_keys_are_quoted_when_needed() {
    // (key, value, the key as written, the value as written)
    let cases = [
        ("k", json!("yes"), "k", "\"yes\""),
        ("k", json!("007"), "k", "\"007\""),
        ("k", json!("a: b"), "k", "\"a: b\""),
        ("k", json!("a #b"), "k", "\"a #b\""),
        ("k", json!("#tag"), "k", "\"#tag\""),
        (
            "k",
            json!("say \"hi\"\nbye"),
            "k",
            "\"say \\\"hi\\\"\\nbye\"",
        ),
        ("k", json!(""), "k", "\"\""),
        ("k", json!(" padded"), "k", "\" padded\""),
        ("k", json!("[[Link]]"), "k", "\"[[Link]]\""),
        ("k", json!("Ünïcode ✓"), "k", "Ünïcode ✓"),
        ("k", json!(-2.5), "k", "-2.5"),
        ("k", json!(true), "k", "true"),
        ("k", json!([]), "k", "[]"),
        ("k", json!({}), "k", "{}"),
        (
            "k",
            json!([["nested"], {"a": null}]),
            "k",
            "[[\"nested\"], {\"a\": null}]",
        ),
        ("a: b", json!(1), "\"a: b\"", "1"),
        ("- x", json!(1), "\"- x\"", "1"),
        ("#k", json!(1), "\"#k\"", "1"),
        ("true", json!(1), "\"true\"", "1"),
        ("it's", json!(1), "it's", "1"),
        ("my key", json!(1), "my key", "1"),
    ];
    for (key, value, key_text, value_text) in cases {
        let src = "---\nfirst: 1\n---\n";
        let expected = format!("---\nfirst: 1\n{key_text}: {value_text}\n---\n");
        check(src, &[set(key, value.clone())], &expected);
        // Setting the same key again finds the line it wrote and keeps the key's spelling.
        check(
            &expected,
            &[set(key, json!("again"))],
            &format!("---\nfirst: 1\n{key_text}: again\n---\n"),
        );
        check(&expected, &[delete(key)], "---\nfirst: 1\n---\n");
    }
}

#[test]
fn delete_removes_only_the_key_lines() {
    let cases = [
        (
            "---\na: 1\nb: 2\n---\nbody\n",
            "a",
            "---\nb: 2\n---\nbody\n",
        ),
        ("---\na: 1\nb: 2\n---\n", "b", "---\na: 1\n---\n"),
        (
            "---\ntags:\n- x\n- y\nz: 1\n---\n",
            "tags",
            "---\nz: 1\n---\n",
        ),
        (
            "---\na: 1\n# about b\nb:\n  - x\n\n  - y\n# about c\nc: 3\n---\n",
            "b",
            "---\na: 1\n# about b\n# about c\nc: 3\n---\n",
        ),
        ("---\nonly: 1\n---\nbody", "only", "---\n---\nbody"),
        (
            "---\r\na: 1\r\nb: 2\r\n---\r\n",
            "a",
            "---\r\nb: 2\r\n---\r\n",
        ),
        (
            "---\n'odd key': 1\nb: 2\n---\n",
            "odd key",
            "---\nb: 2\n---\n",
        ),
    ];
    for (src, key, expected) in cases {
        check(src, &[delete(key)], expected);
    }
}

#[test]
fn refusals() {
    check_err(
        "---\na: 1\n---\n",
        &[delete("b")],
        &EditError::FrontmatterKeyNotFound("b".into()),
    );
    check_err(
        "no frontmatter\n",
        &[delete("b")],
        &EditError::FrontmatterKeyNotFound("b".into()),
    );
    for key in ["", " a", "a ", "a\nb", "a\tb"] {
        let err = edit("---\na: 1\n---\n", &[set(key, json!(1))]).unwrap_err();
        assert!(
            matches!(err, EditError::InvalidKey(_)),
            "key {key:?}: {err:?}"
        );
    }
    let broken = [
        "---\ntitle: [unclosed\n---\nbody\n",
        "---\n- a list\n- not a map\n---\n",
        "---\na: 1\na: 2\n---\n",
    ];
    for src in broken {
        for op in [set("x", json!(1)), delete("a")] {
            let err = edit(src, &[op]).unwrap_err();
            assert!(
                matches!(err, EditError::FrontmatterInvalid(_)),
                "input {src:?}: {err:?}"
            );
        }
    }
}

#[test]
fn unusual_yaml_is_refused_rather_than_corrupted() {
    // An anchor defined by one key and used by another: replacing the first would break the
    // second, and the read-back check notices.
    let src = "---\nbase: &b 1\nother: *b\n---\n";
    let err = edit(src, &[delete("base")]).unwrap_err();
    assert!(matches!(err, EditError::FrontmatterInvalid(_)), "{err:?}");
    // A complex key this editor cannot read is left alone.
    let src = "---\n? complex\n: 1\n---\n";
    let err = edit(src, &[delete("complex")]).unwrap_err();
    assert!(matches!(err, EditError::FrontmatterInvalid(_)), "{err:?}");
}
