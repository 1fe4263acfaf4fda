//! The wire vocabulary of Weaver's services: what crosses a process boundary.
//!
//! - [`error`]: the one table of stable error codes with their HTTP status, and the error body.
//! - [`mcp`]: MCP tool and argument names.
//! - [`dto`]: the REST API's request and response bodies.
//! - [`dates`]: the date format of query parameters and timestamps.
//!
//! This crate depends on nothing of the engine (no tantivy, no SQLite, no parser): the gateway
//! and clients build it alone.

pub mod dates;
pub mod dto;
pub mod error;
pub mod mcp;

pub use error::{Code, ErrorBody, MAX_MESSAGE_BYTES};
