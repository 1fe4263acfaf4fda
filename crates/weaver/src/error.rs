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
            | Self::PathTooLong
            | Self::PathNotUsable
            | Self::InvalidSearch
            | Self::QueryTooLong
            | Self::QueryTooComplex
            | Self::InvalidArgument
            | Self::InvalidQuery
            | Self::InvalidMove
            | Self::NotANote
            | Self::SymlinkNotAllowed
            | Self::PathHidden => StatusCode::BAD_REQUEST,
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
            Self::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
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
            PathError::SegmentTooLong { .. } | PathError::TooLong { .. } => Code::PathTooLong,
        },
        AppError::InvalidIgnorePattern { .. } => Code::InvalidIgnorePattern,
        AppError::Io { source, .. } => io_code(source),
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
        AppError::NotAFile(_) => Code::PathNotUsable,
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

/// The code of a file-system error: client-caused ones (a name too long, a path through a
/// file) are 4xx codes of their own; the rest are the server's `io_error`.
pub fn io_code(err: &std::io::Error) -> Code {
    use std::io::ErrorKind;
    match err.kind() {
        // ENAMETOOLONG.
        ErrorKind::InvalidFilename => Code::PathTooLong,
        // ENOTDIR (a file where the path needs a folder), EISDIR (a folder where it needs a
        // file), ENOTEMPTY, EEXIST on a folder.
        ErrorKind::NotADirectory | ErrorKind::IsADirectory | ErrorKind::DirectoryNotEmpty => {
            Code::PathNotUsable
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Code::StorageFull,
        // The vault's file system is mounted read-only: as good as a read-only vault.
        ErrorKind::ReadOnlyFilesystem => Code::VaultReadOnly,
        _ => Code::IoError,
    }
}

/// The most bytes of an error message a client is sent (a REST error body, an MCP error
/// result); a longer one is cut, saying how much was cut.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// `text` cut to at most `max` bytes on a character boundary, with a marker when cut.
pub fn clip(text: &str, max: usize) -> String {
    weaver_core::clip(text, max).into_owned()
}

/// The message of a vault error as a client (REST, MCP) sees it: never a path of the server's
/// file system (those go to the server's log), never more than [`MAX_MESSAGE_BYTES`]. The CLI,
/// which runs where the files are, prints the full `Display` instead.
pub fn public_message(err: &AppError) -> String {
    let message = match err {
        AppError::VaultNotFound(_) => "the vault's folder does not exist".to_owned(),
        AppError::VaultNotADirectory(_) => "the vault's path is not a folder".to_owned(),
        AppError::VaultUnreadable { source, .. } => {
            format!("the vault's folder cannot be read: {}", io_reason(source))
        }
        AppError::Io { path, source } => {
            // The file's name only: the client named it, the folders above it are the server's.
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let reason = io_reason(source);
            if name.is_empty() {
                format!("input/output error: {reason}")
            } else {
                format!(
                    "cannot access `{}`: {reason}",
                    weaver_core::clip_value(&name)
                )
            }
        }
        AppError::Store(_) => {
            "the vault's cache failed; the server's log has the details".to_owned()
        }
        AppError::Search(
            SearchError::InvalidQuery(_)
            | SearchError::QueryTooLong { .. }
            | SearchError::QueryTooComplex { .. }
            | SearchError::Timeout { .. },
        ) => err.to_string(),
        AppError::Search(
            SearchError::Io(_)
            | SearchError::Index(_)
            | SearchError::NotAnIndex { .. }
            | SearchError::WriterUnavailable,
        ) => "the search index failed; the server's log has the details".to_owned(),
        AppError::Watch { .. } => {
            "the vault cannot be watched for changes; the server's log has the details".to_owned()
        }
        AppError::NoteNotFound { .. }
        | AppError::InvalidPath(_)
        | AppError::InvalidIgnorePattern { .. }
        | AppError::InvalidContent { .. }
        | AppError::Conflict { .. }
        | AppError::AlreadyExists(_)
        | AppError::DestinationExists(_)
        | AppError::InvalidMove { .. }
        | AppError::NotANote(_)
        | AppError::SymlinkNotAllowed(_)
        | AppError::NotAFile(_)
        | AppError::NameTooLong(_)
        | AppError::HiddenPath(_)
        | AppError::JournalUnavailable(_)
        | AppError::Cancelled
        | AppError::ReadOnly
        | AppError::Edit(_) => err.to_string(),
    };
    clip(&message, MAX_MESSAGE_BYTES)
}

/// What an IO error says without the path `fs-err` puts in its message: the OS's description
/// (`File name too long (os error 36)`), else the error kind's.
fn io_reason(err: &std::io::Error) -> String {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(code) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
        {
            return std::io::Error::from_raw_os_error(code).to_string();
        }
        current = e.source();
    }
    err.kind().to_string()
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn io(path: &str, source: std::io::Error) -> AppError {
        AppError::Io {
            path: PathBuf::from(path),
            source,
        }
    }

    #[test]
    fn client_caused_io_errors_are_4xx() {
        // ENAMETOOLONG, ENOTDIR, EISDIR, ENOSPC, EACCES.
        for (errno, code, status) in [
            (36, "path_too_long", 400),
            (20, "path_not_usable", 400),
            (21, "path_not_usable", 400),
            (28, "storage_full", 507),
            (30, "vault_read_only", 403),
            (13, "io_error", 500),
        ] {
            let err = io("/srv/vault/a.md", std::io::Error::from_raw_os_error(errno));
            let got = classify(&err);
            assert_eq!(
                (got.as_str(), got.status().as_u16()),
                (code, status),
                "errno {errno}"
            );
        }
    }

    #[test]
    fn public_messages_name_no_server_path() {
        // `fs-err` puts the full path into the error's own message too.
        let wrapped = std::io::Error::new(
            std::io::ErrorKind::InvalidFilename,
            fs_err::File::open(format!("/srv/vault/{}", "n".repeat(300))).unwrap_err(),
        );
        let cases = [
            io(
                "/srv/vault/Projects/Plan.md",
                std::io::Error::from_raw_os_error(13),
            ),
            io("/srv/vault/x.md", wrapped),
            AppError::VaultNotFound(PathBuf::from("/srv/vault")),
            AppError::VaultUnreadable {
                path: PathBuf::from("/srv/vault"),
                source: std::io::Error::from_raw_os_error(13),
            },
            AppError::Watch {
                path: PathBuf::from("/srv/vault"),
                reason: "inotify limit reached for `/srv/vault`".to_owned(),
            },
        ];
        for err in &cases {
            let message = public_message(err);
            assert!(!message.contains("/srv"), "{message}");
        }
        assert_eq!(
            public_message(&cases[0]),
            "cannot access `Plan.md`: Permission denied (os error 13)"
        );
        let long = AppError::NoteNotFound {
            path: "x".repeat(100_000),
            suggestions: Vec::new(),
        };
        assert!(public_message(&long).len() <= MAX_MESSAGE_BYTES + 32);
    }
}
