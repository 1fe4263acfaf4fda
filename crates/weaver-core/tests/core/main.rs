//! The integration tests of weaver-core, one test binary: `parse/` (`parse_note`, one module per
//! area of the syntax) and `edit/` (`apply_edits` and `rewrite_links`, one module per
//! operation, and the move round trips).

mod edit;
mod parse;
