//! Integration tests for `parse_note`, one module per area. Each module has one `check`-style
//! helper and a table of cases.

// clippy.toml allows these in `#[test]` functions and `#[cfg(test)]` modules, which does not
// cover the shared helpers of an integration-test crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod blocks;
mod decoding;
mod frontmatter;
mod headings;
mod links;
mod snapshot;
mod tags;
mod tasks_callouts;
mod text;
mod vault;

use weaver_core::{Fragment, ParseOptions, ParsedNote, VaultPath, parse_note};

/// Parses `src` as `Folder/Note.md` with default options.
pub fn parse(src: &str) -> ParsedNote {
    parse_bytes(src.as_bytes())
}

/// Parses raw bytes as `Folder/Note.md` with default options.
pub fn parse_bytes(bytes: &[u8]) -> ParsedNote {
    let path = VaultPath::new("Folder/Note.md").unwrap();
    parse_note(&path, bytes, &ParseOptions::default())
}

/// `#H`, `#^b` or `` for a fragment, to keep expectation tables short.
pub fn fragment(fragment: Option<&Fragment>) -> String {
    match fragment {
        Some(Fragment::Heading(h)) => format!("#{h}"),
        Some(Fragment::Block(b)) => format!("#^{b}"),
        None => String::new(),
    }
}
