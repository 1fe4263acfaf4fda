//! Which files of the vault are indexed, and what a walk reports of each.
//!
//! Hidden entries (names starting with `.`, which covers `.obsidian`, `.git`, `.weaver` and
//! `.trash`) are skipped, as Obsidian skips them, and so are the vault's configured ignore
//! patterns (gitignore syntax). The walk itself is [`VaultFs::walk`](crate::VaultFs): it never
//! follows a symbolic link, so a link cannot pull files from outside the vault into it.

use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use weaver_core::VaultPath;

use crate::AppError;

/// What the walk saw of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStat {
    pub path: VaultPath,
    pub mtime_ns: i64,
    pub size: u64,
}

/// Compiled ignore patterns of a vault.
#[derive(Debug, Clone)]
pub(crate) struct IgnoreRules {
    rules: Gitignore,
}

impl IgnoreRules {
    pub fn new(root: &Path, patterns: &[String]) -> Result<Self, AppError> {
        let mut builder = GitignoreBuilder::new(root);
        for pattern in patterns {
            builder
                .add_line(None, pattern)
                .map_err(|e| AppError::InvalidIgnorePattern {
                    pattern: pattern.clone(),
                    reason: e.to_string(),
                })?;
        }
        let rules = builder
            .build()
            .map_err(|e| AppError::InvalidIgnorePattern {
                pattern: patterns.join(", "),
                reason: e.to_string(),
            })?;
        Ok(Self { rules })
    }

    /// True when a vault-relative path is excluded: hidden, reserved or matched by a pattern.
    pub fn is_ignored(&self, relative: &str, is_dir: bool) -> bool {
        if relative.split('/').any(|s| s.starts_with('.')) {
            return true;
        }
        self.rules
            .matched_path_or_any_parents(relative, is_dir)
            .is_ignore()
    }
}

/// Converts an absolute path under `root` to a vault path; `None` for paths outside the root or
/// with names that are not valid Unicode.
pub(crate) fn vault_path_of(root: &Path, absolute: &Path) -> Option<VaultPath> {
    let relative = absolute.strip_prefix(root).ok()?;
    let text = relative.to_str()?;
    VaultPath::normalize(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pattern_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(IgnoreRules::new(dir.path(), &["a{b".to_owned()]).is_err());
    }
}
