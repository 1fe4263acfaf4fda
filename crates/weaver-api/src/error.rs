//! The one table of stable error codes, and the error body every client sees.
//!
//! Every public error of every service maps to a [`Code`] here, in exhaustive `match`es with no
//! catch-all arm (`weaver_app::AppError::code`, the server's `ApiError`, the gateway's own), so
//! adding an error variant without deciding its code does not compile. Each code has one
//! snake_case name and one HTTP status; the CLI prints the name, the REST API answers with both
//! (`{"code": "...", "message": "..."}`), and MCP tool errors carry the same names.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    /// A file or folder name, or the whole path, is longer than file systems allow.
    PathTooLong,
    /// The path cannot name a note on disk: a file stands where it needs a folder, or a folder
    /// where it needs a file.
    PathNotUsable,
    InvalidIgnorePattern,
    IoError,
    /// The disk (or the quota) is full.
    StorageFull,
    CacheError,
    SearchError,
    InvalidSearch,
    /// The query text or a filter value is over its length limit.
    QueryTooLong,
    /// The query has more clauses, words, prefixes or filters than the limits allow.
    QueryTooComplex,
    /// The search ran out of its time budget and was stopped.
    SearchTimeout,
    /// Semantic search (a `semantic` or `hybrid` search, similar notes) was asked of a server
    /// without an embedding model (`[search.semantic] model_dir`).
    SemanticUnavailable,
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
    /// Cluster mode: the database cannot be reached (or the replica's change log is broken), so
    /// writes are refused; reads go on from the replica's copy.
    ClusterUnavailable,
    /// Cluster mode: the replica has not applied the sequence a request asked for with
    /// `Weaver-Min-Seq` within the wait allowed; another replica, or a retry, can answer.
    ReplicaBehind,
    /// A request id (`x-request-id`) already in the change log for a different kind of write;
    /// a retry must repeat the same write.
    RequestIdReused,
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
    /// A workflow definition is invalid (its file, line, column and field are given).
    WorkflowInvalid,
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
            Self::PathTooLong => "path_too_long",
            Self::PathNotUsable => "path_not_usable",
            Self::InvalidIgnorePattern => "invalid_ignore_pattern",
            Self::IoError => "io_error",
            Self::StorageFull => "storage_full",
            Self::CacheError => "cache_error",
            Self::SearchError => "search_error",
            Self::InvalidSearch => "invalid_search",
            Self::QueryTooLong => "query_too_long",
            Self::QueryTooComplex => "query_too_complex",
            Self::SearchTimeout => "search_timeout",
            Self::SemanticUnavailable => "semantic_unavailable",
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
            Self::ClusterUnavailable => "cluster_unavailable",
            Self::ReplicaBehind => "replica_behind",
            Self::RequestIdReused => "request_id_reused",
            Self::InternalError => "internal_error",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::BodyTimeout => "body_timeout",
            Self::InvalidMcpMessage => "invalid_mcp_message",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::TooManyConnections => "too_many_connections",
            Self::WorkflowInvalid => "workflow_invalid",
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
            | Self::PathTooLong
            | Self::PathNotUsable
            | Self::InvalidSearch
            | Self::QueryTooLong
            | Self::QueryTooComplex
            | Self::InvalidArgument
            | Self::InvalidQuery
            | Self::SemanticUnavailable
            | Self::InvalidMove
            | Self::NotANote
            | Self::SymlinkNotAllowed
            | Self::PathHidden => StatusCode::BAD_REQUEST,
            Self::VaultReadOnly => StatusCode::FORBIDDEN,
            // The write was based on a version that is no longer current (`If-Match`).
            // `If-None-Match: *` found the note: the precondition failed too.
            Self::Conflict | Self::NoteAlreadyExists => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::DestinationExists | Self::RequestIdReused => StatusCode::CONFLICT,
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
            Self::WorkflowInvalid => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            // A vault whose folder is missing or unreadable is a server-side outage of that
            // vault, not a client mistake (the client named a configured vault).
            Self::VaultNotADirectory
            | Self::VaultUnreadable
            | Self::VaultNotReady
            | Self::VaultUnavailable
            | Self::ShuttingDown
            | Self::RequestTimeout
            | Self::ClusterUnavailable
            | Self::ReplicaBehind
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

/// The most bytes of an error message a client is sent (a REST error body, an MCP error
/// result); a longer one is cut, saying how much was cut.
pub const MAX_MESSAGE_BYTES: usize = 4096;

// The REST API sends it; `RestBackend` reads it back.
/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, such as `note_not_found`.
    #[schema(example = "note_not_found")]
    pub code: String,
    /// What went wrong, naming the offending value.
    #[schema(example = "note not found: `Projets/Plan`; did you mean `Projects/Plan.md`?")]
    pub message: String,
    /// For `note_not_found`: close matches, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

impl ErrorBody {
    /// A body with `code`'s name and `message`, cut to [`MAX_MESSAGE_BYTES`] by the caller.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            message: message.into(),
            suggestions: Vec::new(),
        }
    }
}
