//! The harness of the process tests of `weaver serve`, `weaver mcp` and `weaver gateway`: a
//! child process on `127.0.0.1:0` with its logs captured, which derefs to the HTTP client of
//! `weaver-testkit` (fixtures, bounded polls and the SSE reader come from there too).
//!
//! The server runs as the real binary, configured through real flags, environment variables and
//! files, so that signals, exit codes, logs and the process environment are the real ones. Its
//! bound address is read from its JSON log line `listening`.

use std::io::{BufRead, BufReader};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use weaver_testkit::{BOUND, Http, Sandbox, SseReader, VAULT, mkfifo};

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
    http: Http,
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
            // No model that `weaver model download` put in this machine's data folder.
            .env("XDG_DATA_HOME", "/nonexistent/weaver-test-data")
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
            http: Http::new(String::new()),
        };
        let listening = server.wait_log(|l| l["fields"]["message"] == "listening");
        let addr = listening["fields"]["addr"].as_str().unwrap().to_owned();
        let logs = Arc::clone(&server.logs);
        server.http = Http::new(format!("http://{addr}"))
            .describing(move || logs.lines.lock().unwrap().join("\n"));
        server
    }
}

impl Server {
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

impl Deref for Server {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
