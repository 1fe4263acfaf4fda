//! `weaver index --watch`: a live child process that reports file changes as they happen.
//!
//! Waits are bounded polls (no fixed sleeps, no timing assertions): the test waits for a line
//! that must come, and fails only if it has not come after [`PATIENCE`].

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::cli::support::TestVault;

/// How long to wait for a line that must come.
const PATIENCE: Duration = Duration::from_secs(15);

/// A running `weaver ... index --watch`, killed when dropped (also when a test fails).
struct Watcher {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Watcher {
    fn spawn(vault: &TestVault, args: &[&str]) -> Self {
        let mut cmd = vault.cmd();
        cmd.args(args)
            .args(["index", "--watch"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Self {
            child,
            stdout,
            stderr,
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards the lines of `stream` to a channel, from a thread.
fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits up to `within` for a line that satisfies `wanted`; `None` if none came in time.
fn next_matching(
    rx: &Receiver<String>,
    within: Duration,
    wanted: impl Fn(&str) -> bool,
) -> Option<String> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if wanted(&line) => return Some(line),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Saves `rel` in the vault and waits for the watcher to print a line that satisfies `wanted`.
///
/// The file is saved again (with new content) every second until the line comes: the watcher
/// announces itself slightly before it is registered with the OS, and an event in that gap is
/// only seen at the next periodic rescan.
fn save_until_reported(
    vault: &TestVault,
    watcher: &Watcher,
    rel: &str,
    content: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + PATIENCE;
    let mut attempt = 0;
    while Instant::now() < deadline {
        vault.write(rel, format!("{content}\n<!-- save {attempt} -->\n"));
        attempt += 1;
        if let Some(line) = next_matching(&watcher.stdout, Duration::from_secs(1), &wanted) {
            return line;
        }
    }
    panic!("the watcher never reported `{rel}`");
}

#[test]
fn watch_reports_a_new_note_and_keeps_the_cache_current() {
    let vault = TestVault::demo();
    let watcher = Watcher::spawn(&vault, &[]);

    let ready = next_matching(&watcher.stderr, PATIENCE, |l| l.starts_with("watching "));
    assert!(ready.is_some(), "the watcher never said it was watching");
    let summary = next_matching(&watcher.stdout, PATIENCE, |l| l.starts_with("indexed "));
    let summary = summary.unwrap();
    assert!(summary.contains("9 parsed"), "{summary}");
    assert!(summary.ends_with("(cache: created)"), "{summary}");

    // While the watcher holds the cache, another command still works, in memory.
    let other = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(other["cache"]["state"], "in_use");
    assert_eq!(other["notes"], 9);

    let line = save_until_reported(
        &vault,
        &watcher,
        "Fresh idea.md",
        "# Fresh idea\n\nThe zqxfresh token links to [[Weaver]].",
        |l| l.contains("Fresh idea.md"),
    );
    assert_eq!(line, "Created Fresh idea.md");

    // The watcher wrote the new note to the cache before it reported it: after it is killed,
    // the next run reuses the cache and has nothing left to parse.
    drop(watcher);
    let after = vault.run_cached(&["--json", "index"]).success().json();
    assert_eq!(after["cache"]["state"], "reused");
    assert_eq!(after["notes"], 10);
    assert_eq!(after["sync"]["parsed"], 0);
    let hits = vault
        .run_cached(&["--json", "search", "zqxfresh"])
        .success()
        .json();
    assert_eq!(hits["total"], 1);
    assert_eq!(hits["items"][0]["path"], "Fresh idea.md");
}

#[test]
fn watch_with_json_prints_one_report_per_line() {
    let vault = TestVault::demo();
    let watcher = Watcher::spawn(&vault, &["--no-cache", "--json"]);
    assert!(next_matching(&watcher.stderr, PATIENCE, |l| l.starts_with("watching ")).is_some());

    let line = save_until_reported(&vault, &watcher, "Live/Note.md", "# Live note", |l| {
        l.starts_with('{') && l.contains("Live/Note.md")
    });
    let report: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        report["changes"],
        serde_json::json!([{ "path": "Live/Note.md", "kind": "created" }])
    );
    assert_eq!(report["parsed"], 1);

    std::fs::remove_file(vault.path("Inbox idea.md")).unwrap();
    let line = next_matching(&watcher.stdout, PATIENCE, |l| l.contains("Inbox idea.md"))
        .expect("the watcher never reported the deleted note");
    let report: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        report["changes"],
        serde_json::json!([{ "path": "Inbox idea.md", "kind": "deleted" }])
    );
    drop(watcher);
    // --no-cache: the watcher left nothing behind.
    assert!(!vault.path(".weaver").exists());
}
