//! Integration tests for note edits (`apply_edits`) and link rewriting (`rewrite_links`), one
//! module per area. Each module has one `check`-style helper and a table of cases.

// clippy.toml allows these in `#[test]` functions and `#[cfg(test)]` modules, which does not
// cover the shared helpers of an integration-test crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod blocks;
mod find_replace;
mod frontmatter;
mod inserts;
mod rewrite;
mod round_trip;
mod sections;
mod structure;
mod sweep;

use weaver_core::{EditError, EditOp, VaultPath, apply_edits};

/// Applies `ops` to `src` as `Folder/Note.md`.
pub fn edit(src: &str, ops: &[EditOp]) -> Result<String, EditError> {
    let path = VaultPath::new("Folder/Note.md").unwrap();
    apply_edits(&path, src, ops)
}

/// Checks that `ops` turn `src` into `expected`.
pub fn check(src: &str, ops: &[EditOp], expected: &str) {
    match edit(src, ops) {
        Ok(got) => assert_eq!(got, expected, "input {src:?}, ops {ops:?}"),
        Err(err) => panic!("input {src:?}, ops {ops:?}: unexpected error {err}"),
    }
}

/// Checks that `ops` are refused on `src` with `expected`.
pub fn check_err(src: &str, ops: &[EditOp], expected: &EditError) {
    match edit(src, ops) {
        Ok(got) => panic!("input {src:?}, ops {ops:?}: expected {expected:?}, got {got:?}"),
        Err(err) => assert_eq!(&err, expected, "input {src:?}, ops {ops:?}"),
    }
}

pub fn append(text: &str) -> EditOp {
    EditOp::Append { text: text.into() }
}

pub fn prepend(text: &str) -> EditOp {
    EditOp::Prepend { text: text.into() }
}

pub fn before(heading: &str, text: &str) -> EditOp {
    EditOp::InsertBeforeHeading {
        heading: heading.into(),
        text: text.into(),
    }
}

pub fn after(heading: &str, text: &str) -> EditOp {
    EditOp::InsertAfterHeading {
        heading: heading.into(),
        text: text.into(),
    }
}

pub fn append_section(heading: &str, text: &str) -> EditOp {
    EditOp::AppendToSection {
        heading: heading.into(),
        text: text.into(),
    }
}

pub fn replace_section(heading: &str, text: &str) -> EditOp {
    EditOp::ReplaceSection {
        heading: heading.into(),
        text: text.into(),
    }
}

pub fn replace_block(block: &str, text: &str) -> EditOp {
    EditOp::ReplaceBlock {
        block: block.into(),
        text: text.into(),
    }
}

pub fn append_block(block: &str, text: &str) -> EditOp {
    EditOp::AppendToBlock {
        block: block.into(),
        text: text.into(),
    }
}

pub fn set(key: &str, value: serde_json::Value) -> EditOp {
    EditOp::SetFrontmatter {
        key: key.into(),
        value,
    }
}

pub fn delete(key: &str) -> EditOp {
    EditOp::DeleteFrontmatter { key: key.into() }
}

pub fn find_replace(find: &str, replace: &str, expected: Option<usize>) -> EditOp {
    EditOp::FindReplace {
        find: find.into(),
        replace: replace.into(),
        expected,
    }
}
