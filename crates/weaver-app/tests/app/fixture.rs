//! Fixture vaults written from inline text with `//- path` markers.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use weaver_app::{OpenReport, Vault, VaultOptions, WatchHandle, WatchOptions};

/// Writes a vault from `spec`: each file starts with a line `//- path/to/file.md`, followed by
/// its content. Returns the temporary folder (deleted on drop).
pub fn vault(spec: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_spec(dir.path(), spec);
    dir
}

pub fn write_spec(root: &Path, spec: &str) {
    let mut current: Option<(String, String)> = None;
    let flush = |entry: Option<(String, String)>| {
        if let Some((path, body)) = entry {
            write(root, &path, &body);
        }
    };
    for line in spec.lines() {
        if let Some(path) = line.strip_prefix("//- ") {
            flush(current.take());
            current = Some((path.trim().to_owned(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    flush(current);
}

pub fn write(root: &Path, path: &str, body: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, body).unwrap();
}

/// Opens `root` with the cache in `<root>/.weaver`.
pub fn open(root: &Path) -> (Vault, OpenReport) {
    Vault::open(&VaultOptions::new(root), &|_| {}).unwrap()
}

/// Opens `root` with an in-memory cache.
pub fn open_in_memory(root: &Path) -> Vault {
    let mut options = VaultOptions::new(root);
    options.in_memory = true;
    Vault::open(&options, &|_| {}).unwrap().0
}

/// A cancellation token that never fires.
pub fn never() -> weaver_app::CancellationToken {
    weaver_app::CancellationToken::new()
}

/// Paths of a list of items, as strings.
pub fn paths<T>(items: &[T], path: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| path(i).to_owned()).collect()
}

/// Starts the real watcher on `vault` with a short debounce and no periodic rescan.
pub fn watch_fast(vault: &Arc<Vault>) -> WatchHandle {
    weaver_app::watch(
        Arc::clone(vault),
        WatchOptions {
            debounce: Duration::from_millis(20),
            rescan: Duration::from_secs(3600),
        },
        |_| {},
    )
    .unwrap()
}

/// Polls `condition` until it holds, failing after 15 s. Waits are bounded polls, never fixed
/// sleeps asserted against a clock.
pub fn eventually(what: &str, condition: impl FnMut() -> bool) {
    eventually_within(Duration::from_secs(15), what, condition);
}

/// [`eventually`] with another limit.
pub fn eventually_within(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for: {what}");
}
