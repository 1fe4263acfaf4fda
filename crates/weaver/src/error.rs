//! The one table of stable error codes, and how errors leave the process.
//!
//! Every public error maps to a snake_case code here, in an exhaustive `match` with no catch-all
//! arm, so adding an error variant without deciding its code does not compile. The REST API and
//! MCP tools will reuse this table for their bodies and statuses.

use std::process::ExitCode;

use weaver_app::AppError;
use weaver_core::PathError;

/// Stable snake_case code of an error.
pub fn code(err: &AppError) -> &'static str {
    match err {
        AppError::VaultNotFound(_) => "vault_not_found",
        AppError::VaultNotADirectory(_) => "vault_not_a_directory",
        AppError::VaultUnreadable { .. } => "vault_unreadable",
        AppError::NoteNotFound { .. } => "note_not_found",
        AppError::InvalidPath(p) => match p {
            PathError::Empty => "path_empty",
            PathError::Absolute(_) => "path_absolute",
            PathError::Escapes(_) => "path_escapes_vault",
            PathError::ControlCharacter(_) => "path_control_character",
            PathError::Reserved(..) => "path_reserved",
        },
        AppError::InvalidIgnorePattern { .. } => "invalid_ignore_pattern",
        AppError::Io { .. } => "io_error",
        AppError::Store(_) => "cache_error",
        AppError::Search(_) => "search_error",
        AppError::Watch { .. } => "watch_error",
    }
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
        .map_or("invalid_argument", code)
}

/// One line: the stable code, then the error chain.
pub fn render(err: &anyhow::Error) -> String {
    format!("[{}] {}", any_code(err), message(err))
}

/// The JSON body of an error: `{"code": "...", "message": "..."}`.
pub fn json(err: &anyhow::Error) -> serde_json::Value {
    serde_json::json!({ "code": any_code(err), "message": message(err) })
}
