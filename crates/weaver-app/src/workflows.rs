//! A vault's workflow definitions: the TOML files of `.weaver/workflows/`, read through the
//! vault's directory handle (a link there is refused like anywhere else) and validated by
//! `weaver-workflows`. Reading them opens no index, so validating is instant on any vault.

use std::path::Path;

use weaver_core::VaultPath;
use weaver_workflows::{DefinitionError, Loaded};

use crate::AppError;
use crate::vaultfs::{FsError, VaultFs};

/// Where a vault keeps its workflows.
pub const WORKFLOWS_DIR: &str = ".weaver/workflows";

/// A definition larger than this is refused (a workflow is a few dozen lines).
pub const MAX_DEFINITION_BYTES: u64 = 256 * 1024;

/// Reads and validates the workflows of the vault at `root`: every `*.toml` file directly in
/// [`WORKFLOWS_DIR`], in name order. A file that cannot be read is one more error of
/// [`Loaded::errors`], never a failure of the others; only a vault folder that cannot be opened
/// is an error.
pub fn load_workflows(root: &Path) -> Result<Loaded, AppError> {
    let fs = VaultFs::open(root).map_err(|source| AppError::VaultUnreadable {
        path: root.to_path_buf(),
        source,
    })?;
    let dir = VaultPath::normalize(WORKFLOWS_DIR)?;
    let names = match fs.list_files(&dir) {
        Ok(names) => names,
        // A link or a file in place of the folder: said where it is, like a bad file.
        Err(error) => {
            return Ok(Loaded {
                workflows: Vec::new(),
                errors: vec![DefinitionError {
                    file: WORKFLOWS_DIR.to_owned(),
                    line: 1,
                    column: 1,
                    field: None,
                    message: format!("cannot list the folder: {error}"),
                }],
            });
        }
    };
    let mut files = Vec::new();
    let mut unreadable = Vec::new();
    for name in names.into_iter().filter(|n| n.ends_with(".toml")) {
        let file = format!("{WORKFLOWS_DIR}/{name}");
        let read = VaultPath::normalize(&file)
            .map_err(|e| e.to_string())
            .and_then(|path| {
                fs.read_limited(&path, MAX_DEFINITION_BYTES)
                    .map_err(|e| match e {
                        FsError::TooLarge(_) => {
                            format!("larger than {MAX_DEFINITION_BYTES} bytes")
                        }
                        other => other.to_string(),
                    })
            })
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned()));
        match read {
            Ok(text) => files.push((file, text)),
            Err(message) => unreadable.push(DefinitionError {
                file,
                line: 1,
                column: 1,
                field: None,
                message,
            }),
        }
    }
    let mut loaded = weaver_workflows::load(files);
    loaded.errors.extend(unreadable);
    Ok(loaded)
}
