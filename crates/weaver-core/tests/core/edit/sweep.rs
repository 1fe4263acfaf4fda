//! Every insert operation on every heading and block of a set of tricky notes, with awkward
//! texts: never a panic, and a successful insert keeps every original byte in place.

use weaver_core::{EditError, EditOp, ParseOptions, VaultPath, parse_note};

use super::{
    after, append, append_block, append_section, before, edit, prepend, replace_block,
    replace_section,
};

const NOTES: &[&str] = &[
    "# Doc\nintro\n\n## Tasks\n- a ^ta\n\n### Sub\n- s\n\n## Notes\nn ^nb\n",
    "---\n# comment\ntitle: 'x'\n---\n# A\n```\n# not\n```\n## B\ntext",
    "# CRLF\r\n\r\nSetext\r\n---\r\nbody ^c\r\n\r\n## Last\r\n",
    "\u{feff}Title\n=====\n\n> [!note] Callout\n> body ^q\n\n| a |\n|---|\n| 1 |\n\n^t\n",
    "# Dup\nx\n# Dup\ny\n%%\n# Hidden\n%%\n## Ünïcode\n- [ ] task ^tk\n  - child ^ch\n",
    "",
    "no headings, no newline",
    "# Only",
];

const TEXTS: &[&str] = &[
    "x", "a\nb\n", "", "# H", "```", "---", "===", "- item", "^id", "> q",
];

/// True when `result` is `original` with bytes inserted at one place.
fn keeps_original(original: &str, result: &str) -> bool {
    let prefix = original
        .bytes()
        .zip(result.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let room = original.len().min(result.len()) - prefix;
    let suffix = original
        .bytes()
        .rev()
        .zip(result.bytes().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    prefix + suffix >= original.len()
}

#[test]
fn inserts_keep_every_byte_and_never_panic() {
    let path = VaultPath::new("Folder/Note.md").unwrap();
    let mut successes = 0;
    for &src in NOTES {
        let note = parse_note(&path, src.as_bytes(), &ParseOptions::default());
        let headings: Vec<String> = note.headings.iter().map(|h| h.text.clone()).collect();
        let blocks: Vec<String> = note.blocks.iter().map(|b| b.id.clone()).collect();
        for &text in TEXTS {
            let mut inserts: Vec<EditOp> = vec![append(text), prepend(text)];
            for heading in &headings {
                inserts.push(before(heading, text));
                inserts.push(after(heading, text));
                inserts.push(append_section(heading, text));
            }
            for block in &blocks {
                inserts.push(append_block(block, text));
            }
            for op in &inserts {
                match edit(src, std::slice::from_ref(op)) {
                    Ok(out) => {
                        successes += 1;
                        assert!(
                            keeps_original(src, &out),
                            "input {src:?}, op {op:?}: got {out:?}"
                        );
                        if text.is_empty() {
                            assert_eq!(out, src, "op {op:?}");
                        }
                    }
                    Err(
                        EditError::HeadingAmbiguous { .. } | EditError::WouldChangeStructure(_),
                    ) => {}
                    Err(err) => panic!("input {src:?}, op {op:?}: {err:?}"),
                }
            }
            // Replacements must not panic either, and keep the note parseable.
            let mut replaces: Vec<EditOp> = Vec::new();
            for heading in &headings {
                replaces.push(replace_section(heading, text));
            }
            for block in &blocks {
                replaces.push(replace_block(block, text));
            }
            for op in &replaces {
                if let Ok(out) = edit(src, std::slice::from_ref(op)) {
                    successes += 1;
                    parse_note(&path, out.as_bytes(), &ParseOptions::default());
                }
            }
        }
    }
    assert!(successes > 500, "only {successes} edits succeeded");
}
