//! Weaver's core: Obsidian-flavoured Markdown parsing, link resolution and the in-memory graph.
//!
//! This crate does no IO and never panics on input: [`parse_note`] turns a file's bytes into a
//! [`ParsedNote`] plus diagnostics, [`Resolver`] maps link targets to files the way Obsidian does,
//! and [`Graph`] answers backlink, neighbourhood and path queries over resolved links.
//!
//! ```
//! use weaver_core::{parse_note, ParseOptions, VaultPath};
//!
//! let path = VaultPath::new("Ideas/Graph.md").unwrap();
//! let note = parse_note(&path, b"# Graph\nSee [[Plan#Goals|the plan]] #idea\n", &ParseOptions::default());
//! assert_eq!(note.links[0].target, "Plan");
//! assert_eq!(note.tags[0].name, "idea");
//! ```
#![deny(missing_docs)]

mod clip;
mod edit;
mod graph;
pub mod layout;
mod model;
mod parse;
mod path;
mod resolve;
mod rewrite;

pub use clip::{MAX_VALUE_BYTES, clip, clip_value};
pub use edit::{EditError, EditOp, apply_edits, find_section};
pub use graph::{Direction, Edge, Graph, NoteId};
pub use model::*;
pub use parse::{LinkTargets, heading_anchor, is_image_path, parse_note, render_html};
pub use path::{
    MAX_PATH_BYTES, MAX_SEGMENT_BYTES, PathError, RESERVED_DIRS, VaultPath, fold_name, reserved_dir,
};
pub use resolve::{FileId, Resolver, fragment_exists};
pub use rewrite::{Rewrite, RewrittenLink, relative_path, rewrite_links};

/// blake3 hash of a file's bytes, hex-encoded: the note's content hash and HTTP ETag.
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}
