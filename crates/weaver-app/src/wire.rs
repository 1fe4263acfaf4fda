//! How a vault error crosses to the wire: its stable [`Code`] and the message a client sees.

use weaver_api::{Code, MAX_MESSAGE_BYTES};
use weaver_core::{EditError, PathError};
use weaver_search::SearchError;

use crate::AppError;

impl AppError {
    /// The stable code of this error.
    pub fn code(&self) -> Code {
        classify(self)
    }

    /// The message as a client (REST, MCP) sees it: never a path of the server's file system
    /// (those go to the server's log), never more than [`MAX_MESSAGE_BYTES`]. The CLI, which
    /// runs where the files are, prints the full `Display` instead.
    pub fn public_message(&self) -> String {
        public_message(self)
    }
}

/// The code of a vault error.
fn classify(err: &AppError) -> Code {
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
        AppError::ClusterUnavailable(_) => Code::ClusterUnavailable,
        AppError::RequestIdReused { .. } => Code::RequestIdReused,
        AppError::SemanticOff => Code::SemanticUnavailable,
        AppError::Semantic(_) => Code::SearchError,
        AppError::StepRefused(_) => Code::InvalidArgument,
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
fn io_code(err: &std::io::Error) -> Code {
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

/// The message of a vault error as a client (REST, MCP) sees it: never a path of the server's
/// file system (those go to the server's log), never more than [`MAX_MESSAGE_BYTES`]. The CLI,
/// which runs where the files are, prints the full `Display` instead.
fn public_message(err: &AppError) -> String {
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
        | AppError::ClusterUnavailable(_)
        | AppError::RequestIdReused { .. }
        | AppError::SemanticOff
        | AppError::Semantic(_)
        | AppError::StepRefused(_)
        | AppError::Edit(_) => err.to_string(),
    };
    weaver_core::clip(&message, MAX_MESSAGE_BYTES).into_owned()
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
