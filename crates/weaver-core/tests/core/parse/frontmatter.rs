//! Frontmatter: fences, YAML values, title/aliases/tags fields and YAML diagnostics.

use serde_json::json;
use weaver_core::{DiagnosticCode, TagSource};

use super::parse;

/// Checks the frontmatter-derived fields: (title, aliases, frontmatter tags).
fn check_fields(src: &str, title: &str, aliases: &[&str], tags: &[&str]) {
    let note = parse(src);
    assert!(
        note.diagnostics.is_empty(),
        "input {src:?}: {:?}",
        note.diagnostics
    );
    assert_eq!(note.title, title, "input {src:?}");
    assert_eq!(note.aliases, aliases, "input {src:?}");
    let got: Vec<&str> = note
        .tags
        .iter()
        .filter(|t| t.source == TagSource::Frontmatter)
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(got, tags, "input {src:?}");
}

#[test]
fn fields() {
    check_fields("no frontmatter", "Note", &[], &[]);
    check_fields("---\ntitle: My Title\n---\n", "My Title", &[], &[]);
    check_fields("---\ntitle: \"\"\n---\n", "Note", &[], &[]);
    check_fields("---\ntitle:   \n---\n", "Note", &[], &[]);
    check_fields("---\ntitle: 2024\n---\n", "2024", &[], &[]);
    check_fields(
        "---\naliases: [One, Two]\n---\n",
        "Note",
        &["One", "Two"],
        &[],
    );
    check_fields(
        "---\naliases:\n  - One\n  - \"Two, still\"\n---\n",
        "Note",
        &["One", "Two, still"],
        &[],
    );
    check_fields(
        "---\naliases: One, Two\n---\n",
        "Note",
        &["One", "Two"],
        &[],
    );
    check_fields("---\nalias: Single\n---\n", "Note", &["Single"], &[]);
    check_fields("---\naliases: []\n---\n", "Note", &[], &[]);
    check_fields("---\naliases:\n---\n", "Note", &[], &[]);
    check_fields(
        "---\ntags: [a, '#b', c/d]\n---\n",
        "Note",
        &[],
        &["a", "b", "c/d"],
    );
    check_fields(
        "---\ntags:\n  - one\n  - \"#two\"\n---\n",
        "Note",
        &[],
        &["one", "two"],
    );
    check_fields(
        "---\ntags: one, two three\n---\n",
        "Note",
        &[],
        &["one", "two", "three"],
    );
    check_fields("---\ntag: single\n---\n", "Note", &[], &["single"]);
    check_fields(
        "---\ntags: [123, 1a, nested/]\n---\n",
        "Note",
        &[],
        &["1a", "nested"],
    );
    check_fields("---\ntags:\n---\n", "Note", &[], &[]);
}

#[test]
fn frontmatter_tags_come_first_with_the_fence_line() {
    let note = parse("\n---\nnot: frontmatter\n---\n");
    assert!(
        note.frontmatter.is_none(),
        "frontmatter must start the file"
    );
    let note = parse("---\ntags: [a]\n---\n#b");
    let got: Vec<(&str, TagSource, u32)> = note
        .tags
        .iter()
        .map(|t| (t.name.as_str(), t.source, t.line))
        .collect();
    assert_eq!(
        got,
        [
            ("a", TagSource::Frontmatter, 1),
            ("b", TagSource::Inline, 4)
        ]
    );
}

#[test]
fn values_become_json() {
    let src = "---\ntitle: T\ndate: 2024-01-05\ntime: 2024-01-05T10:00\ncount: 3\nratio: 1.5\nflag: true\nyes_word: yes\nzip: 01234\nempty:\nlist: [a, 1]\nnested:\n  key: value\n1: numeric key\n---\nbody\n";
    let note = parse(src);
    assert!(note.diagnostics.is_empty(), "{:?}", note.diagnostics);
    let expected = json!({
        "title": "T",
        "date": "2024-01-05",
        "time": "2024-01-05T10:00",
        "count": 3,
        "ratio": 1.5,
        "flag": true,
        "yes_word": "yes",
        "zip": "01234",
        "empty": null,
        "list": ["a", 1],
        "nested": {"key": "value"},
        "1": "numeric key",
    });
    assert_eq!(
        serde_json::Value::Object(note.frontmatter.unwrap()),
        expected
    );
    assert_eq!(note.frontmatter_range, Some(0..src.len() - 5));
    assert_eq!(note.text, "body");
}

#[test]
fn ranges_and_fences() {
    let cases: &[(&str, Option<&str>)] = &[
        ("---\na: 1\n---\nbody", Some("---\na: 1\n---\n")),
        ("---\r\na: 1\r\n---\r\nbody", Some("---\r\na: 1\r\n---\r\n")),
        ("---\na: 1\n...\nbody", Some("---\na: 1\n...\n")),
        ("---\na: 1\n---", Some("---\na: 1\n---")),
        ("---\n---\nbody", Some("---\n---\n")),
        ("---\na: 1\nno closing fence", None),
        ("text\n---\na: 1\n---\n", None),
    ];
    for (src, expected) in cases {
        let note = parse(src);
        let got = note.frontmatter_range.map(|r| &src[r]);
        assert_eq!(got, *expected, "input {src:?}");
    }
    let empty = parse("---\n---\nbody");
    assert_eq!(empty.frontmatter, Some(serde_json::Map::new()));
}

/// Checks the single diagnostic a frontmatter produces (code, line) and that the body is
/// still indexed (the `#body` tag and `[[link]]`).
fn check_invalid(src: &str, code: DiagnosticCode, line: u32) {
    let note = parse(src);
    let got: Vec<(DiagnosticCode, Option<u32>)> =
        note.diagnostics.iter().map(|d| (d.code, d.line)).collect();
    let shown: String = src.chars().take(60).collect();
    assert_eq!(
        got,
        [(code, Some(line))],
        "input {shown:?}: {:?}",
        note.diagnostics
    );
    assert!(note.frontmatter.is_none(), "input {shown:?}");
    assert!(note.frontmatter_range.is_some(), "input {shown:?}");
    assert_eq!(note.title, "Note", "input {shown:?}");
    assert_eq!(note.links.len(), 1, "input {shown:?}");
    assert!(
        note.tags.iter().any(|t| t.name == "body"),
        "input {shown:?}"
    );
}

const BODY: &str = "---\n#body [[link]]\n";

/// Found by the `parse_note` fuzz target: YAML counts a lone `\r` as a line break, so the
/// diagnostic of frontmatter with lone CRs pointed past the end of the note. Its line is the
/// note's line (counted by `\n`), never past the YAML.
#[test]
fn yaml_diagnostic_lines_are_note_lines() {
    use DiagnosticCode::FrontmatterInvalid;
    check_invalid(
        &format!("---\na: 1\r\r\r\rb: [\n{BODY}"),
        FrontmatterInvalid,
        2,
    );
    check_invalid(
        &format!("---\na: 1\r\nb: [\r\n{BODY}"),
        FrontmatterInvalid,
        3,
    );
}

#[test]
fn malformed_yaml() {
    use DiagnosticCode::FrontmatterInvalid;
    check_invalid(&format!("---\na: [\nb: c\n{BODY}"), FrontmatterInvalid, 2);
    check_invalid(
        &format!("---\ntitle: ok\nkey: \"unterminated\n{BODY}"),
        FrontmatterInvalid,
        3,
    );
    check_invalid(
        &format!("---\na: 1\nb: : :\n  c\n{BODY}"),
        FrontmatterInvalid,
        3,
    );
    check_invalid(&format!("---\na: 1\na: 2\n{BODY}"), FrontmatterInvalid, 3);
    check_invalid(&format!("---\n- a\n- b\n{BODY}"), FrontmatterInvalid, 1);
    check_invalid(
        &format!("---\njust a string\n{BODY}"),
        FrontmatterInvalid,
        1,
    );
    check_invalid(
        &format!("\u{feff}---\nkey: {{a: 1\n{BODY}"),
        FrontmatterInvalid,
        2,
    );
}

#[test]
fn invalid_messages_name_the_problem() {
    let note = parse("---\n- a\n---\n");
    assert!(
        note.diagnostics[0].message.contains("`list`"),
        "{}",
        note.diagnostics[0].message
    );
    let note = parse("---\na: 1\na: 2\n---\n");
    assert!(
        note.diagnostics[0].message.contains("duplicate"),
        "{}",
        note.diagnostics[0].message
    );
}

#[test]
fn yaml_bombs_and_deep_nesting_are_too_complex() {
    use DiagnosticCode::FrontmatterTooComplex;
    let mut bomb = String::from(
        "---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = 'a';
    for name in 'b'..='j' {
        bomb.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        prev = name;
    }
    bomb.push_str(BODY);
    let note = parse(&bomb);
    assert_eq!(
        note.diagnostics[0].code, FrontmatterTooComplex,
        "{:?}",
        note.diagnostics
    );
    assert!(
        note.diagnostics[0].message.contains("alias"),
        "{}",
        note.diagnostics[0].message
    );
    check_invalid(
        &bomb,
        FrontmatterTooComplex,
        note.diagnostics[0].line.unwrap(),
    );

    let flow = format!(
        "---\na: {}{}\n{BODY}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let note = parse(&flow);
    check_invalid(
        &flow,
        FrontmatterTooComplex,
        note.diagnostics[0].line.unwrap(),
    );

    let mut block = String::from("---\n");
    for depth in 0..1_000 {
        block.push_str(&" ".repeat(depth));
        block.push_str("a:\n");
    }
    block.push_str(BODY);
    let note = parse(&block);
    check_invalid(
        &block,
        FrontmatterTooComplex,
        note.diagnostics[0].line.unwrap(),
    );

    let compact = format!("---\n{}x\n{BODY}", "- ".repeat(10_000));
    let note = parse(&compact);
    check_invalid(
        &compact,
        FrontmatterTooComplex,
        note.diagnostics[0].line.unwrap(),
    );

    let huge = format!("---\nbig: \"{}\"\n{BODY}", "x".repeat(2 * 1024 * 1024));
    check_invalid(&huge, FrontmatterTooComplex, 1);
}
