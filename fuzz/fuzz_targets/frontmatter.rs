//! Frontmatter reading and editing. The input's YAML is framed as a note's frontmatter (LF or
//! CRLF, with or without a BOM, `---` or `...` closing fence). Parsing never panics and
//! reports a block that starts at the top and ends at a fence; setting or deleting a key
//! keeps every byte outside the YAML, every other key's line and every other property, or is
//! refused; a key that was added can be deleted again to give back the original bytes, and
//! setting a key to the value it already has is a no-op once written.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use weaver_core::{EditOp, apply_edits};
use weaver_fuzz::{Json, Name, check_frontmatter, note_path, parse, split};

#[derive(Debug, Arbitrary)]
struct Frame {
    crlf: bool,
    bom: bool,
    dots: bool,
    /// Use the input as the whole note instead of framing it.
    raw: bool,
}

#[derive(Debug, Arbitrary)]
enum Change {
    Set(Name, Json),
    Delete(Name),
}

fuzz_target!(|data: &[u8]| {
    let (choices, yaml) = split(data);
    let mut u = Unstructured::new(choices);
    let frame = Frame::arbitrary(&mut u).unwrap_or(Frame {
        crlf: false,
        bom: false,
        dots: false,
        raw: false,
    });
    let yaml = String::from_utf8_lossy(yaml);
    let src = if frame.raw {
        yaml.into_owned()
    } else {
        let eol = if frame.crlf { "\r\n" } else { "\n" };
        let yaml = if frame.crlf {
            yaml.replace('\n', "\r\n")
        } else {
            yaml.into_owned()
        };
        let bom = if frame.bom { "\u{feff}" } else { "" };
        let close = if frame.dots { "..." } else { "---" };
        let sep = if yaml.is_empty() || yaml.ends_with('\n') {
            ""
        } else {
            eol
        };
        format!("{bom}---{eol}{yaml}{sep}{close}{eol}# Body{eol}text ^b{eol}")
    };
    let note = parse(&src);
    if let Some(range) = &note.frontmatter_range {
        let bom = if src.starts_with('\u{feff}') { 3 } else { 0 };
        let block = src
            .get(range.clone())
            .expect("frontmatter range slices the note");
        assert_eq!(range.start, bom, "frontmatter must start the note");
        assert!(block.starts_with("---"), "frontmatter must open with `---`");
        assert!(
            range.end == src.len() || block.ends_with('\n'),
            "frontmatter ends after a line"
        );
    }
    let path = note_path();
    let mut changes = 0;
    while changes < 3 {
        let Ok(change) = Change::arbitrary(&mut u) else {
            break;
        };
        changes += 1;
        let note = parse(&src);
        let keys: Vec<String> = note
            .frontmatter
            .iter()
            .flat_map(|m| m.keys().cloned())
            .collect();
        let key = match &change {
            Change::Set(Name::Free(k), _) | Change::Delete(Name::Free(k)) => k.clone(),
            Change::Set(Name::Index(i) | Name::WithLevel(i) | Name::WithParent(i), _)
            | Change::Delete(Name::Index(i) | Name::WithLevel(i) | Name::WithParent(i)) => keys
                .get(usize::from(*i) % keys.len().max(1))
                .cloned()
                .unwrap_or_else(|| format!("k{i}")),
        };
        match &change {
            Change::Set(_, value) => {
                let value = value.render();
                let op = EditOp::SetFrontmatter {
                    key: key.clone(),
                    value: value.clone(),
                };
                let Ok(out) = apply_edits(&path, &src, &[op.clone()]) else {
                    continue;
                };
                check_frontmatter(&src, &note, &key, Some(&value), &out);
                // Writing the same value again changes nothing (or is refused).
                if let Ok(again) = apply_edits(&path, &out, &[op]) {
                    assert_eq!(
                        again, out,
                        "setting `{key}` to its own value changed the note"
                    );
                }
                // A key that was added (to existing frontmatter) deletes back to the original.
                let had = note
                    .frontmatter
                    .as_ref()
                    .is_some_and(|m| m.contains_key(&key));
                if note.frontmatter.is_some() && !had {
                    let delete = EditOp::DeleteFrontmatter { key: key.clone() };
                    if let Ok(back) = apply_edits(&path, &out, &[delete]) {
                        assert_eq!(
                            back, src,
                            "adding then deleting `{key}` did not restore the note"
                        );
                    }
                }
            }
            Change::Delete(_) => {
                let op = EditOp::DeleteFrontmatter { key: key.clone() };
                let Ok(out) = apply_edits(&path, &src, &[op]) else {
                    continue;
                };
                check_frontmatter(&src, &note, &key, None, &out);
            }
        }
    }
});
