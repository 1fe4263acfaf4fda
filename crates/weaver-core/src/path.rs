//! Vault-relative paths.
//!
//! A [`VaultPath`] is the one spelling of a file's location that every layer agrees on:
//! forward slashes, Unicode NFC, no leading slash, no `.` or `..` segments, no empty segments.
//! Two paths that name the same file on macOS (NFD) and Linux (NFC) compare equal once wrapped.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::clip_value;

/// The longest path segment (file or folder name), in bytes of its NFC UTF-8 form: what Linux,
/// macOS and Windows file systems allow (`NAME_MAX`).
pub const MAX_SEGMENT_BYTES: usize = 255;

/// The longest vault path, in bytes: below Linux's `PATH_MAX` (4096 with its NUL), the most a
/// path relative to the vault's folder handle can be.
pub const MAX_PATH_BYTES: usize = 4095;

/// Folders that belong to tools, not to the user's notes: never indexed, never written through
/// the API.
pub const RESERVED_DIRS: &[&str] = &[".obsidian", ".git", ".weaver", ".trash"];

/// Returns the reserved folder name that `segment` matches, ignoring ASCII case.
pub fn reserved_dir(segment: &str) -> Option<&'static str> {
    RESERVED_DIRS
        .iter()
        .copied()
        .find(|dir| segment.eq_ignore_ascii_case(dir))
}

/// Why a string is not an acceptable vault path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is empty or names the vault root itself.
    #[error("path is empty")]
    Empty,
    /// The path is absolute (`/a`, `C:\a`, `\\server\a`).
    #[error("path `{0}` is absolute; expected a path relative to the vault")]
    Absolute(String),
    /// The path climbs out of the vault with `..`.
    #[error("path `{0}` leaves the vault")]
    Escapes(String),
    /// The path contains NUL or another control character.
    #[error("path `{0}` contains a control character")]
    ControlCharacter(String),
    /// The path points into a folder that belongs to a tool (`.obsidian`, `.git`, ...).
    #[error("path `{0}` is inside the reserved folder `{1}`")]
    Reserved(String, &'static str),
    /// A file or folder name is longer than [`MAX_SEGMENT_BYTES`].
    #[error(
        "path `{path}` has a name of {bytes} bytes; expected at most {MAX_SEGMENT_BYTES} bytes per file or folder name"
    )]
    SegmentTooLong {
        /// The path (cut when long).
        path: String,
        /// Bytes of the longest name.
        bytes: usize,
    },
    /// The whole path is longer than [`MAX_PATH_BYTES`].
    #[error("path `{path}` is {bytes} bytes long; expected at most {MAX_PATH_BYTES} bytes")]
    TooLong {
        /// The path (cut).
        path: String,
        /// Its length in bytes.
        bytes: usize,
    },
}

/// A normalised path relative to the vault root, such as `Projects/Plan.md`.
///
/// Deserialising validates like [`VaultPath::normalize`] (reserved folders such as `.trash`
/// are allowed: a replica applies the trash like any other file).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct VaultPath(String);

impl TryFrom<String> for VaultPath {
    type Error = PathError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::normalize(&raw)
    }
}

impl From<VaultPath> for String {
    fn from(path: VaultPath) -> Self {
        path.0
    }
}

impl VaultPath {
    /// Normalises and validates `raw`: backslashes become slashes, `.` segments and repeated
    /// slashes are dropped, the text is put in NFC. Rejects absolute paths, drive letters, `..`,
    /// control characters, names over [`MAX_SEGMENT_BYTES`], paths over [`MAX_PATH_BYTES`] and
    /// paths inside [`RESERVED_DIRS`]. Errors repeat at most [`crate::MAX_VALUE_BYTES`] of `raw`.
    pub fn new(raw: &str) -> Result<Self, PathError> {
        let path = Self::normalize(raw)?;
        for segment in path.0.split('/') {
            if let Some(dir) = reserved_dir(segment) {
                return Err(PathError::Reserved(clip_value(raw).into_owned(), dir));
            }
        }
        Ok(path)
    }

    /// Like [`VaultPath::new`] but allows reserved folders; used for files the engine itself
    /// discovers (the walker already skips reserved folders) and for the trash.
    pub fn normalize(raw: &str) -> Result<Self, PathError> {
        if raw.chars().any(char::is_control) {
            let escaped = raw.escape_debug().to_string();
            return Err(PathError::ControlCharacter(
                clip_value(&escaped).into_owned(),
            ));
        }
        let unified = raw.replace('\\', "/");
        let bytes = unified.as_bytes();
        let has_drive = bytes.len() >= 2
            && bytes.get(1) == Some(&b':')
            && bytes.first().is_some_and(u8::is_ascii_alphabetic);
        if unified.starts_with('/') || has_drive {
            return Err(PathError::Absolute(clip_value(raw).into_owned()));
        }
        let mut parts: Vec<&str> = Vec::new();
        for segment in unified.split('/') {
            match segment {
                "" | "." => {}
                ".." => return Err(PathError::Escapes(clip_value(raw).into_owned())),
                s => parts.push(s),
            }
        }
        if parts.is_empty() {
            return Err(PathError::Empty);
        }
        let joined: String = parts.join("/").nfc().collect();
        let longest = joined.split('/').map(str::len).max().unwrap_or(0);
        if longest > MAX_SEGMENT_BYTES {
            return Err(PathError::SegmentTooLong {
                path: clip_value(raw).into_owned(),
                bytes: longest,
            });
        }
        if joined.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong {
                path: clip_value(raw).into_owned(),
                bytes: joined.len(),
            });
        }
        Ok(Self(joined))
    }

    /// The path as a `/`-separated string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment, with extension: `Plan.md`.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The last segment without its extension: `Plan`.
    pub fn stem(&self) -> &str {
        let name = self.file_name();
        match name.rfind('.') {
            Some(0) | None => name,
            Some(i) => name.get(..i).unwrap_or(name),
        }
    }

    /// The lower-cased extension without the dot (`md`, `png`), or `""`.
    pub fn extension(&self) -> String {
        let name = self.file_name();
        match name.rfind('.') {
            Some(0) | None => String::new(),
            Some(i) => name.get(i + 1..).unwrap_or("").to_lowercase(),
        }
    }

    /// True for Markdown notes (`.md`, case-insensitive).
    pub fn is_note(&self) -> bool {
        self.extension() == "md"
    }

    /// The containing folder (`Projects`), or `""` at the vault root.
    pub fn folder(&self) -> &str {
        match self.0.rfind('/') {
            Some(i) => self.0.get(..i).unwrap_or(""),
            None => "",
        }
    }

    /// The path without the `.md` extension, as Obsidian shows it in links: `Projects/Plan`.
    pub fn without_md(&self) -> &str {
        if self.is_note() {
            self.0.get(..self.0.len() - 3).unwrap_or(&self.0)
        } else {
            &self.0
        }
    }

    /// Joins a vault-relative path onto a folder and normalises the result, resolving `..`
    /// segments against the folder. Returns `None` if the result would leave the vault.
    pub fn join_relative(folder: &str, relative: &str) -> Option<Self> {
        let mut parts: Vec<&str> = folder.split('/').filter(|s| !s.is_empty()).collect();
        for segment in relative.split(['/', '\\']) {
            match segment {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                s => parts.push(s),
            }
        }
        Self::normalize(&parts.join("/")).ok()
    }
}

impl fmt::Display for VaultPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for VaultPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Folds a name or path for case-insensitive comparison the way Obsidian does: NFC, then
/// lower case.
pub fn fold_name(s: &str) -> String {
    s.nfc().collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Result<&str, &str>) {
        let got = VaultPath::new(raw);
        match (got, expected) {
            (Ok(p), Ok(e)) => assert_eq!(p.as_str(), e, "input {raw:?}"),
            (Err(err), Err(kind)) => {
                let name = format!("{err:?}");
                assert!(
                    name.starts_with(kind),
                    "input {raw:?}: got {name}, want {kind}"
                );
            }
            (got, expected) => panic!("input {raw:?}: got {got:?}, want {expected:?}"),
        }
    }

    #[test]
    fn normalisation_and_rejection() {
        check("a/b.md", Ok("a/b.md"));
        check("a\\b.md", Ok("a/b.md"));
        check("./a//b.md", Ok("a/b.md"));
        check("Cafe\u{301}.md", Ok("Caf\u{e9}.md"));
        check("", Err("Empty"));
        check("./", Err("Empty"));
        check("/etc/passwd", Err("Absolute"));
        check("C:\\Windows\\x.md", Err("Absolute"));
        check("c:x.md", Err("Absolute"));
        check("\\\\server\\share\\x.md", Err("Absolute"));
        check("a/../../x.md", Err("Escapes"));
        check("a/../b.md", Err("Escapes"));
        check("a\0b.md", Err("ControlCharacter"));
        check("a\nb.md", Err("ControlCharacter"));
        check(".obsidian/app.json", Err("Reserved"));
        check(".GIT/config", Err("Reserved"));
        check(".weaver/cache.db", Err("Reserved"));
        check("notes/.git/x", Err("Reserved"));
        check("notes/.gitignore", Ok("notes/.gitignore"));
        let name = "n".repeat(MAX_SEGMENT_BYTES - 3);
        check(&format!("a/{name}.md"), Ok(&format!("a/{name}.md")));
        check(&format!("a/{name}x.md"), Err("SegmentTooLong"));
        // Bytes, not characters: 128 two-byte `é` are 256 bytes.
        check(&"é".repeat(128), Err("SegmentTooLong"));
        check(
            &format!("{}/x.md", "d".repeat(MAX_SEGMENT_BYTES)),
            Ok(&format!("{}/x.md", "d".repeat(MAX_SEGMENT_BYTES))),
        );
        let deep = vec!["f".repeat(200); 21].join("/");
        check(&deep, Err("TooLong"));
        // `..` and dropped `.` segments do not count: the length is the normalised path's.
        check(&format!("{}/x.md", vec!["."; 3000].join("/")), Ok("x.md"));
    }

    #[test]
    fn errors_repeat_at_most_a_bounded_part_of_the_input() {
        for raw in [
            format!("/{}", "a".repeat(100_000)),
            format!("{}/../..", "a".repeat(100_000)),
            format!("{}\0", "a".repeat(100_000)),
            format!("{}.md", "a".repeat(100_000)),
            format!(".git/{}", "a".repeat(100_000)),
        ] {
            let err = VaultPath::new(&raw).unwrap_err();
            let message = err.to_string();
            assert!(message.len() < 400, "{} bytes: {err:?}", message.len());
            assert!(message.contains("more bytes"), "{message}");
        }
    }

    #[test]
    fn parts() {
        let p = VaultPath::new("Projects/Sub/Plan.v2.md").unwrap();
        assert_eq!(p.file_name(), "Plan.v2.md");
        assert_eq!(p.stem(), "Plan.v2");
        assert_eq!(p.folder(), "Projects/Sub");
        assert_eq!(p.without_md(), "Projects/Sub/Plan.v2");
        assert!(p.is_note());
        let img = VaultPath::new("img.PNG").unwrap();
        assert_eq!(img.extension(), "png");
        assert_eq!(img.folder(), "");
        assert!(!img.is_note());
    }

    #[test]
    fn join_relative_resolves_dots() {
        let p = VaultPath::join_relative("a/b", "../c/d.md").unwrap();
        assert_eq!(p.as_str(), "a/c/d.md");
        assert!(VaultPath::join_relative("a", "../../x.md").is_none());
    }
}
