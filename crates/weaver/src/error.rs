//! How errors leave the CLI: one line with the stable code (or a JSON body), and the exit
//! status. The code table itself is `weaver_api::Code`; vault errors map to it in
//! `weaver_app::AppError::code`.

use std::process::ExitCode;

use weaver_api::Code;
use weaver_app::AppError;

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
        .map_or(Code::InvalidArgument.as_str(), |e| e.code().as_str())
}

/// One line: the stable code, then the error chain.
pub fn render(err: &anyhow::Error) -> String {
    format!("[{}] {}", any_code(err), message(err))
}

/// The JSON body of an error: `{"code": "...", "message": "..."}`.
pub fn json(err: &anyhow::Error) -> serde_json::Value {
    serde_json::json!({ "code": any_code(err), "message": message(err) })
}
