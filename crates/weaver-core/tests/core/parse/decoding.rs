//! Decoding the file: size limit, empty and binary files, invalid UTF-8, BOM, CRLF.

use weaver_core::{DiagnosticCode, ParseOptions, VaultPath, parse_note};

use super::{parse, parse_bytes};

/// Checks the diagnostics (code, line) a file's bytes produce and whether its body was read
/// (judged by the `#tag` every parsed case contains).
fn check(bytes: &[u8], expected: &[(DiagnosticCode, Option<u32>)], body_read: bool) {
    let note = parse_bytes(bytes);
    let got: Vec<(DiagnosticCode, Option<u32>)> =
        note.diagnostics.iter().map(|d| (d.code, d.line)).collect();
    assert_eq!(got, expected, "input {bytes:?}");
    assert_eq!(!note.tags.is_empty(), body_read, "input {bytes:?}");
    assert_eq!(note.title, "Note", "input {bytes:?}");
}

#[test]
fn diagnostics_for_unreadable_files() {
    use DiagnosticCode::*;
    check(b"", &[(EmptyFile, None)], false);
    check(b"#tag\n\0binary", &[(BinaryFile, Some(2))], false);
    check(b"#tag\n\xff\xfe bad", &[(InvalidUtf8, Some(2))], true);
    check(b"#tag ok", &[], true);
    check(b"\xef\xbb\xbf#tag with BOM", &[], true);
    let mut late_nul = b"#tag ".to_vec();
    late_nul.extend(std::iter::repeat_n(b'a', 9000));
    late_nul.push(0);
    check(&late_nul, &[], true);
}

#[test]
fn too_large_files_are_not_parsed() {
    let path = VaultPath::new("Big.md").unwrap();
    let options = ParseOptions { max_file_bytes: 10 };
    let note = parse_note(&path, b"---\ntitle: x\n---\n#tag", &options);
    assert_eq!(note.diagnostics.len(), 1);
    assert_eq!(note.diagnostics[0].code, DiagnosticCode::FileTooLarge);
    assert!(
        note.diagnostics[0].message.contains("`21`"),
        "{}",
        note.diagnostics[0].message
    );
    assert_eq!(note.title, "Big");
    assert!(note.tags.is_empty() && note.frontmatter.is_none());
    let exact = parse_note(&path, b"#tag67890", &options);
    assert!(exact.diagnostics.is_empty());
}

#[test]
fn invalid_utf8_names_the_offset_and_keeps_parsing() {
    let note = parse_bytes(b"# Ti\xfftle\n[[a]] #t");
    assert_eq!(note.diagnostics[0].code, DiagnosticCode::InvalidUtf8);
    assert!(
        note.diagnostics[0].message.contains("`4`"),
        "{}",
        note.diagnostics[0].message
    );
    assert_eq!(note.headings[0].text, "Ti\u{fffd}tle");
    assert_eq!(note.links[0].target, "a");
}

#[test]
fn bom_is_skipped_but_offsets_stay_in_the_file() {
    let src = "\u{feff}# Title\n[[a]]";
    let note = parse(src);
    assert_eq!(note.headings[0].range, 3..10);
    assert_eq!(&src[note.links[0].range.clone()], "[[a]]");
    let fm = "\u{feff}---\ntitle: T\n---\nbody";
    let note = parse(fm);
    assert_eq!(note.title, "T");
    assert_eq!(note.frontmatter_range, Some(3..20));
    assert_eq!(note.text, "body");
}

#[test]
fn no_trailing_newline_and_whitespace_only() {
    let note = parse("# H\n[[a]] #t ^b");
    assert_eq!(
        (note.headings.len(), note.links.len(), note.tags.len()),
        (1, 1, 1)
    );
    assert_eq!(note.blocks[0].id, "b");
    let blank = parse(" \n\t\n");
    assert!(blank.diagnostics.is_empty());
    assert_eq!(blank.text, "");
    assert_eq!(blank.word_count, 0);
}

#[test]
fn hostile_inputs_do_not_panic() {
    let mut cases: Vec<String> = vec![
        ">".repeat(20_000),
        "- ".repeat(5_000) + "[ ] x",
        "[".repeat(20_000),
        "[[".repeat(10_000),
        "![[".repeat(5_000) + &"]]".repeat(5_000),
        "*".repeat(20_000),
        "`".repeat(20_000),
        "%%".repeat(5_001),
        "#".repeat(20_000),
        "^".repeat(1000),
        "---\n".repeat(1000),
        "| a |\n|---|\n".repeat(1000),
        "[a]: b\n".repeat(2000) + &"[a] ".repeat(2000),
        "<div>\n".repeat(1000),
        "$".repeat(10_000),
        "\r".repeat(1000),
        "\u{feff}".repeat(100),
        "[t](<".to_owned() + &"a".repeat(1000),
        "> [!".to_owned(),
        "- [".to_owned(),
        "text ^".to_owned(),
        "[[a\\|".to_owned(),
        format!("http://x{}", ")".repeat(200_000)),
        format!("https://{}", "a(".repeat(100_000)),
        format!("{}x", "> [!".repeat(10_000)),
        format!("- [{}", "]".repeat(10_000)),
        format!("{}\n\n^id", "- a\n".repeat(10_000)),
    ];
    for i in 0..64u8 {
        cases.push(format!("{}# x [[y]] #z ^w", "> - ".repeat(usize::from(i))));
    }
    for src in &cases {
        let note = parse(src);
        for link in &note.links {
            assert!(src.get(link.range.clone()).is_some());
            assert!(src.get(link.target_range.clone()).is_some());
        }
        for heading in &note.headings {
            assert!(src.get(heading.range.clone()).is_some());
        }
    }
}
