//! The one table of stable error codes, and how errors leave the process.
//!
//! Every public error maps to a [`Code`] here, in exhaustive `match`es with no catch-all arm, so
//! adding an error variant without deciding its code does not compile. Each code has one
//! snake_case name and one HTTP status; the CLI prints the name, the REST API answers with both
//! (`{"code": "...", "message": "..."}`), and MCP tools will reuse the same names.

use std::process::ExitCode;

use axum::http::StatusCode;
use weaver_app::AppError;
use weaver_core::{EditError, PathError};
use weaver_search::SearchError;

/// Every stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    // Vault and note errors (`AppError`).
    VaultNotFound,
    VaultNotADirectory,
    VaultUnreadable,
    NoteNotFound,
    PathEmpty,
    PathAbsolute,
    PathEscapesVault,
    PathControlCharacter,
    PathReserved,
    InvalidIgnorePattern,
    IoError,
    CacheError,
    SearchError,
    InvalidSearch,
    /// The query text or a filter value is over its length limit.
    QueryTooLong,
    /// The query has more clauses, words, prefixes or filters than the limits allow.
    QueryTooComplex,
    /// The search ran out of its time budget and was stopped.
    SearchTimeout,
    WatchError,
    /// The caller went away (or gave up) before the query finished.
    Cancelled,
    // Write errors (`AppError` and `weaver_core::EditError`).
    InvalidContent,
    Conflict,
    NoteAlreadyExists,
    DestinationExists,
    InvalidMove,
    NotANote,
    SymlinkNotAllowed,
    PathHidden,
    PathTooLong,
    JournalUnavailable,
    VaultReadOnly,
    HeadingNotFound,
    HeadingAmbiguous,
    BlockNotFound,
    FrontmatterKeyNotFound,
    FrontmatterNotEditable,
    MatchCountMismatch,
    EmptyFind,
    InvalidFrontmatterKey,
    EditChangesStructure,
    // Input the CLI glue or the REST edge rejected.
    InvalidArgument,
    InvalidQuery,
    // The service's own.
    RouteNotFound,
    MethodNotAllowed,
    NotAcceptable,
    BodyTooLarge,
    UnsupportedMediaType,
    Unauthorized,
    PreconditionRequired,
    VaultNotReady,
    VaultUnavailable,
    ShuttingDown,
    RequestTimeout,
    InternalError,
    // The gateway's own.
    /// The identity may not reach this vault, or its role is too low for the request.
    Forbidden,
    /// A token bucket (per identity or per client address) is empty; see `Retry-After`.
    RateLimited,
    /// The request body did not arrive in time.
    BodyTimeout,
    /// An MCP request body the gateway cannot read as JSON-RPC, so cannot authorise.
    InvalidMcpMessage,
    /// The upstream service could not be reached.
    UpstreamUnavailable,
    /// The upstream service did not start its response in time.
    UpstreamTimeout,
    /// The gateway is serving `server.max_connections` connections and no slot freed in time.
    TooManyConnections,
}

impl Code {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VaultNotFound => "vault_not_found",
            Self::VaultNotADirectory => "vault_not_a_directory",
            Self::VaultUnreadable => "vault_unreadable",
            Self::NoteNotFound => "note_not_found",
            Self::PathEmpty => "path_empty",
            Self::PathAbsolute => "path_absolute",
            Self::PathEscapesVault => "path_escapes_vault",
            Self::PathControlCharacter => "path_control_character",
            Self::PathReserved => "path_reserved",
            Self::InvalidIgnorePattern => "invalid_ignore_pattern",
            Self::IoError => "io_error",
            Self::CacheError => "cache_error",
            Self::SearchError => "search_error",
            Self::InvalidSearch => "invalid_search",
            Self::QueryTooLong => "query_too_long",
            Self::QueryTooComplex => "query_too_complex",
            Self::SearchTimeout => "search_timeout",
            Self::WatchError => "watch_error",
            Self::Cancelled => "cancelled",
            Self::InvalidContent => "invalid_content",
            Self::Conflict => "conflict",
            Self::NoteAlreadyExists => "note_already_exists",
            Self::DestinationExists => "destination_exists",
            Self::InvalidMove => "invalid_move",
            Self::NotANote => "not_a_note",
            Self::SymlinkNotAllowed => "symlink_not_allowed",
            Self::PathHidden => "path_hidden",
            Self::PathTooLong => "path_too_long",
            Self::JournalUnavailable => "journal_unavailable",
            Self::VaultReadOnly => "vault_read_only",
            Self::HeadingNotFound => "heading_not_found",
            Self::HeadingAmbiguous => "heading_ambiguous",
            Self::BlockNotFound => "block_not_found",
            Self::FrontmatterKeyNotFound => "frontmatter_key_not_found",
            Self::FrontmatterNotEditable => "frontmatter_not_editable",
            Self::MatchCountMismatch => "match_count_mismatch",
            Self::EmptyFind => "empty_find",
            Self::InvalidFrontmatterKey => "invalid_frontmatter_key",
            Self::EditChangesStructure => "edit_changes_structure",
            Self::InvalidArgument => "invalid_argument",
            Self::InvalidQuery => "invalid_query",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotAcceptable => "not_acceptable",
            Self::BodyTooLarge => "body_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthorized => "unauthorized",
            Self::PreconditionRequired => "precondition_required",
            Self::VaultNotReady => "vault_not_ready",
            Self::VaultUnavailable => "vault_unavailable",
            Self::ShuttingDown => "shutting_down",
            Self::RequestTimeout => "request_timeout",
            Self::InternalError => "internal_error",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::BodyTimeout => "body_timeout",
            Self::InvalidMcpMessage => "invalid_mcp_message",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::TooManyConnections => "too_many_connections",
        }
    }

    /// The HTTP status the REST API answers with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::NoteNotFound | Self::VaultNotFound | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::PathEmpty
            | Self::PathAbsolute
            | Self::PathEscapesVault
            | Self::PathControlCharacter
            | Self::PathReserved
            | Self::InvalidSearch
            | Self::QueryTooLong
            | Self::QueryTooComplex
            | Self::InvalidArgument
            | Self::InvalidQuery
            | Self::InvalidMove
            | Self::NotANote
            | Self::SymlinkNotAllowed
            | Self::PathHidden
            | Self::PathTooLong => StatusCode::BAD_REQUEST,
            Self::VaultReadOnly => StatusCode::FORBIDDEN,
            // The write was based on a version that is no longer current (`If-Match`).
            // `If-None-Match: *` found the note: the precondition failed too.
            Self::Conflict | Self::NoteAlreadyExists => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::DestinationExists => StatusCode::CONFLICT,
            // The body is text, but not UTF-8.
            Self::InvalidContent => StatusCode::UNPROCESSABLE_ENTITY,
            // A patch whose target (heading, block, key, text) is not in the note as it is.
            Self::HeadingNotFound
            | Self::HeadingAmbiguous
            | Self::BlockNotFound
            | Self::FrontmatterKeyNotFound
            | Self::FrontmatterNotEditable
            | Self::MatchCountMismatch
            | Self::EmptyFind
            | Self::InvalidFrontmatterKey
            | Self::EditChangesStructure => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::InvalidMcpMessage => StatusCode::BAD_REQUEST,
            Self::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            // A vault whose folder is missing or unreadable is a server-side outage of that
            // vault, not a client mistake (the client named a configured vault).
            Self::VaultNotADirectory
            | Self::VaultUnreadable
            | Self::VaultNotReady
            | Self::VaultUnavailable
            | Self::ShuttingDown
            | Self::RequestTimeout
            | Self::JournalUnavailable
            | Self::TooManyConnections => StatusCode::SERVICE_UNAVAILABLE,
            // The same query may well finish on a less busy server: not the client's mistake,
            // like `request_timeout`.
            Self::SearchTimeout => StatusCode::SERVICE_UNAVAILABLE,
            // Seldom seen: the work stops because nobody waits for the answer any more.
            Self::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidIgnorePattern
            | Self::IoError
            | Self::CacheError
            | Self::SearchError
            | Self::WatchError
            | Self::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The code of a vault error.
pub fn classify(err: &AppError) -> Code {
    match err {
        AppError::VaultNotFound(_) => Code::VaultNotFound,
        AppError::VaultNotADirectory(_) => Code::VaultNotADirectory,
        AppError::VaultUnreadable { .. } => Code::VaultUnreadable,
        AppError::NoteNotFound { .. } => Code::NoteNotFound,
        AppError::InvalidPath(p) => match p {
            PathError::Empty => Code::PathEmpty,
            PathError::Absolute(_) => Code::PathAbsolute,
            PathError::Escapes(_) => Code::PathEscapesVault,
            PathError::ControlCharacter(_) => Code::PathControlCharacter,
            PathError::Reserved(..) => Code::PathReserved,
        },
        AppError::InvalidIgnorePattern { .. } => Code::InvalidIgnorePattern,
        AppError::Io { .. } => Code::IoError,
        AppError::Store(_) => Code::CacheError,
        AppError::Search(s) => match s {
            SearchError::InvalidQuery(_) => Code::InvalidSearch,
            SearchError::QueryTooLong { .. } => Code::QueryTooLong,
            SearchError::QueryTooComplex { .. } => Code::QueryTooComplex,
            SearchError::Timeout { .. } => Code::SearchTimeout,
            SearchError::Io(_)
            | SearchError::Index(_)
            | SearchError::NotAnIndex { .. }
            | SearchError::WriterUnavailable => Code::SearchError,
        },
        AppError::Watch { .. } => Code::WatchError,
        AppError::Cancelled => Code::Cancelled,
        AppError::InvalidContent { .. } => Code::InvalidContent,
        AppError::Conflict { .. } => Code::Conflict,
        AppError::AlreadyExists(_) => Code::NoteAlreadyExists,
        AppError::DestinationExists(_) => Code::DestinationExists,
        AppError::InvalidMove { .. } => Code::InvalidMove,
        AppError::NotANote(_) => Code::NotANote,
        AppError::SymlinkNotAllowed(_) => Code::SymlinkNotAllowed,
        AppError::NotAFile(_) => Code::NotANote,
        AppError::NameTooLong(_) => Code::PathTooLong,
        AppError::HiddenPath(_) => Code::PathHidden,
        AppError::JournalUnavailable(_) => Code::JournalUnavailable,
        AppError::ReadOnly => Code::VaultReadOnly,
        AppError::Edit(e) => match e {
            EditError::HeadingNotFound { .. } => Code::HeadingNotFound,
            EditError::HeadingAmbiguous { .. } => Code::HeadingAmbiguous,
            EditError::BlockNotFound(_) => Code::BlockNotFound,
            EditError::FrontmatterKeyNotFound(_) => Code::FrontmatterKeyNotFound,
            EditError::FrontmatterInvalid(_) => Code::FrontmatterNotEditable,
            EditError::MatchCountMismatch { .. } => Code::MatchCountMismatch,
            EditError::EmptyFind => Code::EmptyFind,
            EditError::InvalidKey(_) => Code::InvalidFrontmatterKey,
            EditError::WouldChangeStructure(_) => Code::EditChangesStructure,
        },
    }
}

/// Stable snake_case code of a vault error.
pub fn code(err: &AppError) -> &'static str {
    classify(err).as_str()
}

/// Exit status for a failed command: 2 for every error (1 is reserved for `weaver check`
/// finding problems, as `grep` uses 1 for "no match").
pub fn exit_code(_err: &anyhow::Error) -> ExitCode {
    ExitCode::from(2)
}

/// The error chain as one line. Causes already quoted by an outer message (as `fs-err` and
/// `#[error(transparent)]` do) are not repeated.
pub fn message(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in err.chain().map(ToString::to_string) {
        if !parts.iter().any(|p| p.contains(&part)) {
            parts.push(part);
        }
    }
    parts.join(": ")
}

/// The stable code of any error leaving the CLI: the table's code for vault errors,
/// `invalid_argument` for everything the CLI glue rejected itself.
pub fn any_code(err: &anyhow::Error) -> &'static str {
    err.chain()
        .find_map(|e| e.downcast_ref::<AppError>())
        .map_or(Code::InvalidArgument.as_str(), code)
}

/// One line: the stable code, then the error chain.
pub fn render(err: &anyhow::Error) -> String {
    format!("[{}] {}", any_code(err), message(err))
}

/// The JSON body of an error: `{"code": "...", "message": "..."}`.
pub fn json(err: &anyhow::Error) -> serde_json::Value {
    serde_json::json!({ "code": any_code(err), "message": message(err) })
}
