//! Shared helpers: fixture vaults, a `weaver serve` child process on `127.0.0.1:0`, an HTTP
//! client and an SSE reader.
//!
//! The server runs as the real binary (the crate is a binary, and the metrics recorder and the
//! tracing subscriber are process-wide), configured through real flags, environment variables and
//! files. Its bound address is read from its JSON log line `listening`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tempfile::TempDir;

/// How long any wait in these tests may take before it fails.
pub const BOUND: Duration = Duration::from_secs(30);

/// Writes a fixture: `//- path` lines start files, the lines after them are their content.
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

impl Sandbox {
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

/// Log lines of the child, parsed when they are JSON.
#[derive(Default)]
struct Logs {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

/// A running `weaver serve`.
pub struct Server {
    child: Child,
    logs: Arc<Logs>,
    reader: Option<std::thread::JoinHandle<()>>,
    pub base: String,
    pub client: reqwest::Client,
}

/// How to start a server.
pub struct Start {
    subcommand: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: Option<PathBuf>,
    json_logs: bool,
    wrapper: Option<(String, Vec<String>)>,
}

impl Start {
    /// `weaver serve --listen 127.0.0.1:0 <args>` with JSON logs at `info`.
    pub fn new(args: &[&str]) -> Self {
        Self {
            subcommand: "serve".to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: Vec::new(),
            dir: None,
            json_logs: true,
            wrapper: None,
        }
    }

    /// Serves one vault folder as `default`.
    pub fn vault(path: &Path) -> Self {
        Self::new(&["--vault", path.to_str().unwrap()])
    }

    /// Runs `weaver <name>` (`mcp`, `gateway`) instead of `weaver serve`, with the same
    /// `--listen 127.0.0.1:0`, `--log-json` and log capture.
    // Only the gateway tests, which include this file too, start other subcommands.
    #[allow(dead_code)]
    pub fn subcommand(mut self, name: &str) -> Self {
        name.clone_into(&mut self.subcommand);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Leaves the log format to the configuration (which must then say `json`).
    pub fn log_format_from_config(mut self) -> Self {
        self.json_logs = false;
        self
    }

    /// Runs the binary through `program args... weaver ...` (for example in a namespace that
    /// `unshare` makes).
    // Only some of the crates that include this file use it.
    #[allow(dead_code)]
    pub fn wrap(mut self, program: &str, args: &[&str]) -> Self {
        self.wrapper = Some((
            program.to_owned(),
            args.iter().map(|a| (*a).to_owned()).collect(),
        ));
        self
    }

    /// The command, without starting it.
    pub fn command(&self) -> Command {
        let mut cmd = match &self.wrapper {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(env!("CARGO_BIN_EXE_weaver"));
                cmd
            }
            None => Command::new(env!("CARGO_BIN_EXE_weaver")),
        };
        for (key, _) in std::env::vars() {
            if key.starts_with("WEAVER") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.arg(&self.subcommand);
        if !self.args.iter().any(|a| a == "--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        if self.json_logs {
            cmd.arg("--log-json");
        }
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Starts the server and waits until it listens.
    pub fn spawn(self) -> Server {
        let mut child = self.command().spawn().unwrap();
        let logs = Arc::new(Logs::default());
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&logs);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lines.lock().unwrap().push(line);
                sink.changed.notify_all();
            }
        });
        let mut server = Server {
            child,
            logs,
            reader: Some(reader),
            base: String::new(),
            client: reqwest::Client::new(),
        };
        let listening = server.wait_log(|l| l["fields"]["message"] == "listening");
        let addr = listening["fields"]["addr"].as_str().unwrap().to_owned();
        server.base = format!("http://{addr}");
        server
    }
}

impl Server {
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
                "condition not met within {BOUND:?}; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything logged so far.
    pub fn logs(&self) -> String {
        self.logs.lines.lock().unwrap().join("\n")
    }

    /// Log lines so far, parsed (non-JSON lines are skipped).
    pub fn log_lines(&self) -> Vec<Value> {
        self.logs
            .lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits (blocking, at most [`BOUND`]) for a JSON log line matching `pred`.
    pub fn wait_log(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + BOUND;
        let mut lines = self.logs.lines.lock().unwrap();
        loop {
            if let Some(found) = lines
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|l| pred(l))
            {
                return found;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                drop(lines);
                // Let the reader thread collect the last lines.
                std::thread::sleep(Duration::from_millis(100));
                panic!("the server exited with {status}; logs:\n{}", self.logs());
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "log line not seen within {BOUND:?}:\n{}",
                lines.join("\n")
            );
            let wait = (deadline - now).min(Duration::from_millis(100));
            lines = self.logs.changed.wait_timeout(lines, wait).unwrap().0;
        }
    }

    /// Sends a signal (`TERM`, `HUP`, ...) to the server.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (at most [`BOUND`]) for the server to exit, and for its last log lines.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Its stderr is closed now: the reader reaches the end.
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {BOUND:?}; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One server-sent event.
#[derive(Debug)]
pub struct SseEvent {
    pub name: String,
    pub data: Value,
}

/// Reads events from a `text/event-stream` response.
pub struct SseReader {
    stream: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

impl SseReader {
    /// Opens `path` as an event stream; panics unless it answers 200 `text/event-stream`.
    pub async fn open(server: &Server, path: &str) -> Self {
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
