//! Full-text search over vault notes, on tantivy.
//!
//! Callers hand notes in as [`SearchDoc`]s through an [`IndexBatch`] and ask questions with a
//! [`SearchQuery`]; this crate walks no vault, speaks no HTTP and knows no MCP. A
//! [`SearchIndex`] lives in a directory of its own (or in memory for tests); every commit
//! records a caller-chosen generation number, so a restarted service can tell how far the
//! index had caught up, and an index that cannot be used is rebuilt empty rather than failing.
//!
//! Text is analyzed the same way for indexing, queries and snippets: words split on anything
//! non-alphanumeric, lower-cased and folded to ASCII (`café` = `cafe`); Han, Kana and Hangul
//! characters are one token each, so `東京` is a phrase of two characters and is found inside
//! `私は東京に住んでいます`.
//!
//! ```
//! use weaver_search::{SearchDoc, SearchIndex, SearchQuery};
//!
//! # fn main() -> Result<(), weaver_search::SearchError> {
//! let index = SearchIndex::in_memory()?;
//! let mut batch = index.batch()?;
//! batch.upsert(&SearchDoc {
//!     path: "Projects/Plan.md",
//!     title: "Plan",
//!     aliases: &[],
//!     headings: vec!["Goals"],
//!     tags: vec!["area/work"],
//!     body: "Ship the café menu before Friday.",
//!     frontmatter: None,
//!     modified: 1_700_000_000_000,
//! })?;
//! batch.commit(1)?;
//!
//! let results = index.search(&SearchQuery {
//!     text: "cafe fri*".to_owned(),
//!     tags: vec!["#area".to_owned()],
//!     ..SearchQuery::default()
//! })?;
//! assert_eq!(results.total, 1);
//! let hit = &results.hits[0];
//! assert_eq!(hit.path, "Projects/Plan.md");
//! assert_eq!(&hit.snippet[hit.highlights[0].clone()], "café");
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod budget;
mod index;
mod query;
mod schema;
mod snippet;
mod stopwords;
mod tokenizer;
pub mod vectors;

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

pub use index::{
    DEFAULT_LIMIT, IndexBatch, MAX_LIMIT, Opened, Ranked, SNIPPET_SCAN_BUDGET, SearchIndex,
    TIME_BUDGET,
};
pub use query::{
    MAX_FILTER_BYTES, MAX_FILTERS, MAX_PREFIX_CLAUSES, MAX_PREFIX_EXPANSIONS, MAX_QUERY_BYTES,
    MAX_QUERY_CLAUSES, MAX_QUERY_TOKENS, QueryText, check_query, query_text,
};
pub use schema::SCHEMA_VERSION;

/// One note as the index sees it.
#[derive(Debug, Clone)]
pub struct SearchDoc<'a> {
    /// Vault-relative path such as `Projects/Plan.md`: the note's unique key.
    pub path: &'a str,
    /// The note's title (boosted most).
    pub title: &'a str,
    /// Alternative names (boosted).
    pub aliases: &'a [String],
    /// Heading texts (boosted a little).
    pub headings: Vec<&'a str>,
    /// Tags without `#`, any case, nested with `/`.
    pub tags: Vec<&'a str>,
    /// The plain text of the body; stored for snippets.
    pub body: &'a str,
    /// The frontmatter, for `key = value` filters.
    pub frontmatter: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// Last modification, in Unix milliseconds.
    pub modified: i64,
}

/// A search: query text plus filters. Filters all apply together.
///
/// Every search is bounded: the text may be at most [`MAX_QUERY_BYTES`] long with at most
/// [`MAX_QUERY_CLAUSES`] clauses, [`MAX_QUERY_TOKENS`] words in all and [`MAX_PREFIX_CLAUSES`]
/// prefixes; there may be at most [`MAX_FILTERS`] tag and field filters, each value at most
/// [`MAX_FILTER_BYTES`] long. A query over a limit is refused
/// ([`SearchError::QueryTooLong`], [`SearchError::QueryTooComplex`]), never trimmed. A search
/// that runs longer than [`TIME_BUDGET`] stops with [`SearchError::Timeout`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words (any may match, each in any text field; notes with all of them, near each
    /// other, rank first; stop words do not match alone), `+required` clauses, `"exact
    /// phrases"` (required), `prefix*` and `-excluded` clauses; never a syntax error (only the
    /// size limits above refuse it). A prefix matches at most [`MAX_PREFIX_EXPANSIONS`] terms
    /// per field, the most frequent. Empty (or only punctuation, or only exclusions) means no
    /// ranking: the filtered notes come newest first.
    pub text: String,
    /// Every tag must match. `area` or `#area` matches the tags `area`, `area/sub` and
    /// `Area/Sub` (case-insensitive, nested by whole segments: `are` does not match `area`).
    /// Unlike query text, tags, folders and fields are not accent-folded.
    pub tags: Vec<String>,
    /// Only notes in this folder or below; case-insensitive. `Projects` matches
    /// `Projects/a.md` and `Projects/x/b.md`, not `Projects2/c.md`. Empty or `/` is the vault.
    pub folder: Option<String>,
    /// Frontmatter `key = value` pairs that must all hold. Keys and values compare
    /// case-insensitively; a list matches when any element does; numbers and booleans compare
    /// as their text (`2.5`, `true`). Objects and nulls never match.
    pub fields: Vec<(String, String)>,
    /// Only notes modified at or after this time (Unix milliseconds, inclusive).
    pub modified_after: Option<i64>,
    /// Only notes modified before this time (Unix milliseconds, exclusive).
    pub modified_before: Option<i64>,
    /// Hits per page: 0 means [`DEFAULT_LIMIT`], larger values are capped at [`MAX_LIMIT`].
    pub limit: usize,
    /// Hits to skip (for paging).
    pub offset: usize,
}

/// The answer to a [`SearchQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    /// How many notes match in all (not just this page).
    pub total: usize,
    /// The requested page, best first (newest first without query text).
    pub hits: Vec<SearchHit>,
}

/// One matching note.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// Vault-relative path.
    pub path: String,
    /// The note's title.
    pub title: String,
    /// BM25 relevance; 0 when the query had no text to rank by.
    pub score: f32,
    /// About 160 characters of the body around the best match (the title when only the title
    /// matches); the start of the body when nothing in either matched or there was no query
    /// text. Line breaks are turned into spaces.
    pub snippet: String,
    /// Byte ranges in `snippet` of the matched words.
    pub highlights: Vec<Range<usize>>,
}

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Reading or changing the index directory failed (the message names the file).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// tantivy failed (I/O inside the index, lock held by another process, ...).
    #[error("search index failed: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The directory holds an unusable index next to files tantivy did not write, so it was
    /// left alone rather than wiped.
    #[error(
        "refusing to wipe search index directory `{}`: `{entry}` is not an index file",
        dir.display()
    )]
    NotAnIndex {
        /// The index directory.
        dir: PathBuf,
        /// The first entry that is not an index file.
        entry: String,
    },
    /// The query cannot be run as given (the query text itself is never invalid).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// The query text or a filter value is over its length limit ([`MAX_QUERY_BYTES`],
    /// [`MAX_FILTER_BYTES`]).
    #[error("{what} of `{bytes}` bytes is over the limit of {max} bytes")]
    QueryTooLong {
        /// What is too long: `query text`, `tag filter`, ...
        what: &'static str,
        /// Its length in bytes.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The query has more clauses, words, prefixes or filters than the limits allow
    /// ([`MAX_QUERY_CLAUSES`], [`MAX_QUERY_TOKENS`], [`MAX_PREFIX_CLAUSES`], [`MAX_FILTERS`]).
    #[error("query has `{count}` {what}, over the limit of {max}")]
    QueryTooComplex {
        /// What there are too many of: `prefix terms`, `filters`, ...
        what: &'static str,
        /// How many the query has.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The search ran longer than its time budget ([`TIME_BUDGET`]) and was stopped.
    #[error(
        "search stopped after its time budget of {} ms; use fewer words or prefixes, longer \
         prefixes, or filters",
        budget.as_millis()
    )]
    Timeout {
        /// The budget that ran out.
        budget: Duration,
    },
    /// A batch lost its writer; only possible after an earlier internal failure.
    #[error("search index writer is unavailable")]
    WriterUnavailable,
}
