//! Shared helpers: temporary vaults, running the binary, reading its output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// The demo vault shipped with the repository.
pub fn demo_vault_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo-vault")
}

/// A `weaver` command with a clean environment: no `WEAVER_*` or `RUST_LOG` variables leak in
/// from the developer's shell, no downloaded model is found, and stdin is closed.
pub fn weaver() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weaver"));
    for var in [
        "WEAVER_VAULT",
        "WEAVER_CACHE_DIR",
        "WEAVER_LOG",
        "WEAVER_MODEL_DIR",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    // No model that `weaver model download` put in this machine's data folder either.
    cmd.env("XDG_DATA_HOME", "/nonexistent/weaver-test-data");
    cmd.env("NO_COLOR", "1").stdin(Stdio::null());
    cmd
}

/// A vault in a temporary folder: `<tmp>/vault`, with room next to it (`<tmp>/...`) for a cache
/// folder or generated vaults. Everything is deleted on drop.
pub struct TestVault {
    tmp: TempDir,
    root: PathBuf,
}

impl TestVault {
    /// A copy of `demo-vault/`, without any `.weaver/` cache that may sit in the source tree.
    pub fn demo() -> Self {
        let vault = Self::empty();
        copy_tree(&demo_vault_source(), &vault.root);
        vault
    }

    /// A vault made of `files`: `(path inside the vault, content)`.
    pub fn with_files(files: &[(&str, &str)]) -> Self {
        let vault = Self::empty();
        for (path, content) in files {
            vault.write(path, content);
        }
        vault
    }

    /// An empty vault folder.
    pub fn empty() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("vault");
        std::fs::create_dir(&root).unwrap();
        Self { tmp, root }
    }

    /// The vault folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The temporary folder that holds the vault (outside the vault).
    pub fn scratch(&self) -> &Path {
        self.tmp.path()
    }

    /// A file inside the vault.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes (or overwrites) a file inside the vault, creating its folders.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let full = self.path(rel);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    /// Sets a file's modification time, in seconds since the Unix epoch.
    pub fn set_mtime(&self, rel: &str, unix_seconds: u64) {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds);
        let file = std::fs::File::options()
            .write(true)
            .open(self.path(rel))
            .unwrap();
        file.set_modified(time).unwrap();
    }

    /// `weaver --vault <root>`, run from the scratch folder (so nothing depends on the test's
    /// working directory).
    pub fn cmd(&self) -> Command {
        let mut cmd = weaver();
        cmd.current_dir(self.scratch())
            .arg("--vault")
            .arg(&self.root);
        cmd
    }

    /// Runs `weaver --vault <root> --no-cache <args>`.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.cmd();
        cmd.arg("--no-cache").args(args);
        Run::of(&mut cmd)
    }

    /// Runs `weaver --vault <root> <args>` with the cache at its default place, `<root>/.weaver`.
    pub fn run_cached(&self, args: &[&str]) -> Run {
        let mut cmd = self.cmd();
        cmd.args(args);
        Run::of(&mut cmd)
    }

    /// Runs `weaver --vault <root> --no-cache --json <args>`, expects success and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run(&all).success().json()
    }

    /// The `path` of every search hit of `weaver search <args>`, with the reported total.
    pub fn search(&self, args: &[&str]) -> (Vec<String>, u64) {
        let mut all = vec!["search"];
        all.extend_from_slice(args);
        let value = self.json(&all);
        let total = value["total"].as_u64().unwrap();
        (strings(&value["items"], "path"), total)
    }
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(cmd: &mut Command) -> Self {
        let output = cmd.output().unwrap();
        Self {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// Asserts exit status 0.
    #[track_caller]
    pub fn success(self) -> Self {
        self.exit(0)
    }

    /// Asserts the exit status.
    #[track_caller]
    pub fn exit(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit status\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Stderr, which must be exactly one line, without its newline.
    #[track_caller]
    pub fn one_stderr_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line on stderr: {:?}",
            self.stderr
        );
        lines[0]
    }
}

/// The string field `key` of every object in the JSON array `items`.
pub fn strings(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|item| {
            item[key]
                .as_str()
                .unwrap_or_else(|| panic!("no string `{key}` in {item}"))
                .to_owned()
        })
        .collect()
}

/// `items`, sorted (for comparing result sets whose order is a ranking detail).
pub fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// Owned strings from string literals.
pub fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Copies a folder recursively, leaving out hidden entries (`.weaver/`, `.git/`).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file and folder below `dir` (hidden ones included), by relative path, with the file's
/// bytes (`None` for a folder).
pub fn tree(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if entry.file_type().unwrap().is_dir() {
                out.insert(rel, None);
                walk(base, &path, out);
            } else {
                out.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Relative paths of the Markdown files below `dir`.
pub fn markdown_files(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_keys()
        .filter(|p| p.ends_with(".md"))
        .collect()
}
