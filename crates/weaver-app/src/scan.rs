//! Walking the vault folder: which files exist, with their size and modification time.
//!
//! Hidden entries (names starting with `.`, which covers `.obsidian`, `.git`, `.weaver` and
//! `.trash`) are skipped, as Obsidian skips them, and so are the vault's configured ignore
//! patterns (gitignore syntax). Symbolic links are not followed: a link must not pull files from
//! outside the vault into it.

use std::path::Path;
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{WalkBuilder, WalkState};
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

pub(crate) fn stat_of(path: VaultPath, metadata: &std::fs::Metadata) -> FileStat {
    let mtime_ns = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0);
    FileStat {
        path,
        mtime_ns,
        size: metadata.len(),
    }
}

/// Lists every indexable file below `start` (a folder inside `root`, or `root` itself), using
/// both cores. Entries that vanish or cannot be read during the walk are skipped with a warning.
pub(crate) fn walk(root: &Path, start: &Path, rules: &IgnoreRules) -> Vec<FileStat> {
    let found = Mutex::new(Vec::new());
    let walker = WalkBuilder::new(start)
        .standard_filters(false)
        .hidden(false)
        .follow_links(false)
        .threads(2)
        .build_parallel();
    walker.run(|| {
        let found = &found;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    tracing::warn!(error = %err, "skipping unreadable entry");
                    return WalkState::Continue;
                }
            };
            if entry.depth() == 0 {
                return WalkState::Continue;
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let Some(relative) = entry
                .path()
                .strip_prefix(root)
                .ok()
                .and_then(Path::to_str)
            else {
                tracing::warn!(path = %entry.path().display(), "skipping file with a non-Unicode name");
                return if is_dir {
                    WalkState::Skip
                } else {
                    WalkState::Continue
                };
            };
            let relative = relative.replace('\\', "/");
            if rules.is_ignored(&relative, is_dir) {
                return if is_dir {
                    WalkState::Skip
                } else {
                    WalkState::Continue
                };
            }
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let Ok(path) = VaultPath::normalize(&relative) else {
                return WalkState::Continue;
            };
            match entry.metadata() {
                Ok(metadata) => {
                    if let Ok(mut list) = found.lock() {
                        list.push(stat_of(path, &metadata));
                    }
                }
                Err(err) => tracing::warn!(path = %relative, error = %err, "cannot stat file"),
            }
            WalkState::Continue
        })
    });
    let mut files = found.into_inner().unwrap_or_default();
    files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_skips_hidden_ignored_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, body) in [
            ("a.md", "a"),
            ("sub/b.md", "b"),
            ("sub/img.png", "png"),
            (".obsidian/app.json", "{}"),
            (".trash/old.md", "x"),
            ("drafts/secret.md", "x"),
            ("sub/.hidden.md", "x"),
        ] {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, body).unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        let rules = IgnoreRules::new(root, &["drafts/".to_owned()]).unwrap();
        let files: Vec<String> = walk(root, root, &rules)
            .into_iter()
            .map(|f| f.path.as_str().to_owned())
            .collect();
        assert_eq!(files, vec!["a.md", "sub/b.md", "sub/img.png"]);
    }

    #[test]
    fn bad_pattern_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(IgnoreRules::new(dir.path(), &["a{b".to_owned()]).is_err());
    }
}
