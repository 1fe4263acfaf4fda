//! The deployment manifests against the binary they run.
//!
//! Each overlay in `kubernetes/overlays/` is rendered with `kubectl kustomize` (the tests skip,
//! saying so, when kubectl is not installed) and read back; then:
//! - weaver's Deployment runs for real: the rendered ConfigMap's `weaver.toml`, the container's
//!   arguments and its whole environment (including the shared `weave-nn-env` ConfigMap) start
//!   this crate's `weaver serve` (vault paths and secret files moved into a temporary folder),
//!   which must answer the probe paths, `/metrics` (with the token the Secret provides) and MCP
//!   with the in-cluster `Host`, and stop cleanly on SIGTERM. Unknown config keys, unknown
//!   `WEAVER__*` variables and unknown flags make it exit at start;
//! - in cluster mode (`[cluster]`: staging and production), the manifests' shape is checked
//!   against the configuration (no `[vaults]`, `data_dir` on an emptyDir, no persistent volume
//!   in the replicas, the database URL from CloudNativePG's Secret in the replicas, their init
//!   container and the bridge), then weaver runs twice: without a database (alive, `/readyz`
//!   503 `behind`), and against a real PostgreSQL (`weaver_testkit::postgres`, skipped with a
//!   message when absent), where the init container's own script waits until the bridge, run as
//!   its Deployment says (or `weaver cluster import` while the binary has no `weaver bridge`),
//!   has imported the vault, and the replica turns ready with mcp-server and the gateway in
//!   front of it;
//! - mcp-server runs for real in front of it, with the manifest's arguments and `--upstream`
//!   pointed at that weaver: it must accept its Service name as `Host`, refuse a foreign one, and
//!   stop on SIGTERM, and answer its probe paths and `/metrics`;
//! - api-gateway runs for real in front of both, with the rendered ConfigMap's `gateway.toml`,
//!   the container's arguments and environment, and its upstreams and `auth.api_keys_file`
//!   moved (through `WEAVER_GATEWAY__*` variables) to those processes and to a keys file seeded
//!   with the Secret's `api-keys` when the overlay renders it in plain text, plus a key made by
//!   `weaver gateway keys create --file`: it must log `listening`, answer its probe paths,
//!   refuse a request without a key, let the key through to both upstreams, and stop on SIGTERM.
//!   A typo in gateway.toml, an unknown flag or a keys file that does not parse fails here;
//! - every flag and every `WEAVER_*` variable of the mcp-server and api-gateway containers is one
//!   their command documents in `--help`;
//! - ports, probes, mounts, Secret items, the MCP host lists, the gateway's upstreams and default
//!   vault, and the drain times agree with the configuration;
//! - Docker Compose's weaver and the image's default command start with `deploy/weaver.toml`;
//!   Compose's replicas (`weaver-N`, profile `full`) start with `deploy/weaver-cluster.toml` and
//!   say `behind` without a database; Compose's api-gateway starts with `deploy/gateway.toml`
//!   (its `upstreams.api` the list of the replicas) and the keys file its secret mounts;
//! - every metric the alert rules, the dashboard and the autoscaling rules query is declared in
//!   `crates/weaver-service/src/metrics.rs` or recorded by name in `crates/weaver-cluster/src/`.
//!
//! The static checks that need no binary (schemas, lint, single-writer invariants) are in
//! `.ci/deploy-checks.sh`.

// clippy.toml allows these in `#[test]` functions, which does not cover this file's helpers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use weaver_testkit::postgres::Postgres;
use weaver_testkit::tls::Pki;

/// How long any wait in these tests may take before it fails.
const BOUND: Duration = Duration::from_secs(30);

/// After SIGTERM and the drain, weaver waits up to this long for blocking work
/// (`serve::RUNTIME_GRACE`), and the gateway for its runtime to shut down.
const RUNTIME_GRACE_SECS: u64 = 5;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn weaver() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weaver"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Reading manifests

/// The objects `kubectl kustomize <rel>` renders, or `None` when kubectl is not installed.
fn kustomize(rel: &str) -> Option<Vec<Value>> {
    let output = match Command::new("kubectl")
        .arg("kustomize")
        .arg(repo().join(rel))
        .output()
    {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: kubectl is not installed, cannot render {rel}");
            return None;
        }
        Err(err) => panic!("kubectl: {err}"),
    };
    assert!(
        output.status.success(),
        "kubectl kustomize {rel} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    Some(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn object<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} is not rendered"))
}

/// The ConfigMap whose name is `name`, or `name-<hash>` for a generated one.
fn config_map<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter()
        .find(|d| {
            d["kind"] == "ConfigMap"
                && d["metadata"]["name"].as_str().is_some_and(|n| {
                    n == name
                        || n.strip_prefix(name)
                            .is_some_and(|rest| rest.starts_with('-') && rest.len() == 11)
                })
        })
        .unwrap_or_else(|| panic!("ConfigMap {name} is not rendered"))
}

fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1, "one container per Weaver pod");
    &containers[0]
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// The value after `flag` in `args`.
fn flag<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// The container port named `http`.
fn http_port(container: &Value) -> u16 {
    container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "http")
        .map(|p| u16::try_from(p["containerPort"].as_u64().unwrap()).unwrap())
        .expect("a container port named http")
}

/// The environment the container gets: its `envFrom` ConfigMaps, then its `env` values.
fn environment(docs: &[Value], container: &Value) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for source in container["envFrom"].as_array().into_iter().flatten() {
        let name = source["configMapRef"]["name"].as_str().unwrap();
        let map = object(docs, "ConfigMap", name);
        for (key, value) in map["data"].as_object().into_iter().flatten() {
            env.push((key.clone(), value.as_str().unwrap().to_owned()));
        }
    }
    for var in container["env"].as_array().into_iter().flatten() {
        if let Some(value) = var["value"].as_str() {
            env.push((var["name"].as_str().unwrap().to_owned(), value.to_owned()));
        }
    }
    env
}

/// What the kubelet does to a container's environment before the process sees it: `$(NAME)` in
/// a value becomes the value of the variable `NAME` (the test's stand-in for a Secret's value
/// included; an unknown name stays as written, as Kubernetes leaves it), and a path under a
/// mounted Secret's `mountPath` is moved to the test's folder standing in for that volume.
fn kube_env(env: Vec<(String, String)>, mounts: &[(String, PathBuf)]) -> Vec<(String, String)> {
    let lookup = env.clone();
    env.into_iter()
        .map(|(name, value)| {
            let mut out = String::new();
            let mut rest = value.as_str();
            while let Some(start) = rest.find("$(") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let known = after.find(')').and_then(|end| {
                    let var = &after[..end];
                    let (_, value) = lookup.iter().rev().find(|(n, _)| n == var)?;
                    Some((value, end))
                });
                match known {
                    Some((value, end)) => {
                        out.push_str(value);
                        rest = &after[end + 1..];
                    }
                    None => {
                        out.push_str("$(");
                        rest = after;
                    }
                }
            }
            out.push_str(rest);
            for (mount, local) in mounts {
                out = out.replace(&format!("{mount}/"), &format!("{}/", local.display()));
            }
            (name, out)
        })
        .collect()
}

/// Parses TOML the way the binary does (the `config` crate), into JSON.
fn toml(text: &str) -> Value {
    config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .and_then(config::Config::try_deserialize)
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The binary's documented interface

/// `weaver <sub> --help`, or `None` when there is no such command.
fn help(subcommand: &str) -> Option<String> {
    let output = weaver().args([subcommand, "--help"]).output().unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).unwrap())
}

/// Every `--flag` of `args` is documented by `help`, and every `WEAVER_*` variable (single
/// underscores: a flag's variable; `WEAVER__*` and `WEAVER_GATEWAY__*` are config keys, checked
/// by running) too.
fn assert_documented(what: &str, help: &str, args: &[String], env: &[(String, String)]) {
    for arg in args.iter().filter(|a| a.starts_with("--")) {
        let name = arg.split('=').next().unwrap();
        assert!(
            help.contains(&format!("{name} ")) || help.contains(&format!("{name}\n")),
            "{what}: `{name}` is not a flag of this command:\n{help}"
        );
    }
    for (name, _) in env {
        if name.starts_with("WEAVER_") && !name.contains("__") {
            assert!(
                help.contains(&format!("[env: {name}=")),
                "{what}: `{name}` is not an environment variable of this command"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running weaver serve as a manifest describes it

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over HTTP/1.1: the status and the body.
fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> std::io::Result<(u16, String)> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    request(addr, "GET", path, "localhost", &auth, "")
}

/// One HTTP/1.1 request with `Host: host`, extra header lines and a JSON body.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    headers: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let length = if body.is_empty() {
        String::new()
    } else {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{headers}{length}Connection: close\r\n\r\n{body}"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// An MCP `initialize` request body.
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"deploy-test","version":"0"}}}"#;

/// An MCP `initialize` at `path` with `Host: host`: the status.
fn mcp_initialize(addr: SocketAddr, path: &str, host: &str) -> (u16, String) {
    request(
        addr,
        "POST",
        path,
        host,
        "Accept: application/json, text/event-stream\r\n",
        INITIALIZE,
    )
    .unwrap()
}

/// The MCP endpoint accepts `host` (a name the manifests route to it) and refuses a foreign one.
fn assert_mcp_hosts(what: &str, addr: SocketAddr, host: &str) {
    let (status, body) = mcp_initialize(addr, "/mcp", host);
    assert_eq!(
        status, 200,
        "{what}: MCP initialize with Host {host}: {body}"
    );
    assert!(body.contains("serverInfo"), "{what}: {body}");
    let (status, _) = mcp_initialize(addr, "/mcp", "attacker.example");
    assert!(
        (400..500).contains(&status),
        "{what}: MCP with a foreign Host answered {status}"
    );
}

/// A child process with its log in a file, killed when dropped.
struct Process {
    child: Child,
    log: PathBuf,
    what: String,
}

impl Process {
    /// `weaver ARGS` with exactly `env`, in `dir`.
    fn start(what: &str, args: &[String], env: &[(String, String)], dir: &Path) -> Self {
        let mut command = weaver();
        command
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)));
        Self::spawn(what, command, dir)
    }

    /// Any command, in `dir`, its stdout and stderr in the log.
    fn spawn(what: &str, mut command: Command, dir: &Path) -> Self {
        let log = dir.join(format!("{}.log", what.replace(['/', ' '], "-")));
        let file = std::fs::File::create(&log).unwrap();
        let child = command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Self {
            child,
            log,
            what: what.to_owned(),
        }
    }

    /// Waits (at most [`BOUND`]) for the process to exit by itself; its status.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < BOUND,
                "{} did not exit:\n{}",
                self.what,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `path` answers 200.
    fn wait_for(&mut self, addr: SocketAddr, path: &str) {
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = get(addr, path, None) {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited with {status}:\n{}", self.what, self.log());
            }
            assert!(
                started.elapsed() < BOUND,
                "{}: {path} did not answer 200:\n{}",
                self.what,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the JSON log line `listening` and returns its `addr`.
    fn wait_listening(&mut self) -> SocketAddr {
        let started = Instant::now();
        loop {
            let found = self.log().lines().find_map(|line| {
                let record: Value = serde_json::from_str(line).ok()?;
                (record["fields"]["message"] == "listening")
                    .then(|| record["fields"]["addr"].as_str()?.parse().ok())
                    .flatten()
            });
            if let Some(addr) = found {
                return addr;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited with {status}:\n{}", self.what, self.log());
            }
            assert!(
                started.elapsed() < BOUND,
                "{}: no `listening` log line:\n{}",
                self.what,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM (what Kubernetes and `docker stop` send) and expects a clean exit.
    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "{} exited with {status} after SIGTERM:\n{}",
                    self.what,
                    self.log()
                );
                return;
            }
            assert!(
                started.elapsed() < BOUND,
                "{} did not stop after SIGTERM:\n{}",
                self.what,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces the value after `--flag` (which must be there).
fn replace_flag(args: &mut [String], name: &str, value: &str) {
    let i = args
        .iter()
        .position(|a| a == name)
        .unwrap_or_else(|| panic!("`{name}` missing in {args:?}"));
    args[i + 1] = value.to_owned();
}

/// How [`run_serve`] runs `weaver serve`.
enum Mode<'a> {
    /// The local mode: `[vaults.NAME]`, each given a small real vault in the temporary folder.
    Local,
    /// Cluster mode: `[cluster]` and no `[vaults]`; `url_env` (the manifest's variable for the
    /// database URL, e.g. `WEAVER__CLUSTER__POSTGRES_URL`) set to `url` and `data_dir` moved
    /// into the temporary folder. With `reachable`, the database is up and holds the vaults:
    /// `/readyz` must turn 200; without, `/livez` answers while `/readyz` stays 503 `behind`.
    /// `mounts`: Secret volumes the URL names files in (the database's CA), each a mount path
    /// and the test's folder standing in for it.
    Cluster {
        url_env: &'a str,
        url: &'a str,
        reachable: bool,
        mounts: &'a [(String, PathBuf)],
    },
}

/// Writes a small vault (two linked notes) into `dir`.
fn small_vault(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("Home.md"), "# Home\n\nSee [[Other]]. #deploy\n").unwrap();
    std::fs::write(dir.join("Other.md"), "# Other\n\nBack to [[Home]].\n").unwrap();
}

/// Starts `weaver serve` with `args` and `env` as a manifest gives them, `config` as its
/// configuration file (at `config_path` in the container), the vaults (local mode) or the
/// database URL and data folder (cluster mode) and secret files moved into a temporary folder
/// (through `WEAVER__*` variables, which beat the file), and `--listen` on a free loopback port.
/// Checks the probe paths and `/metrics`, runs `during` with the server's address (when it is
/// ready), then checks that SIGTERM stops it cleanly.
fn run_serve(
    what: &str,
    mut args: Vec<String>,
    mut env: Vec<(String, String)>,
    config: &str,
    mode: &Mode<'_>,
    during: impl FnOnce(SocketAddr),
) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("weaver.toml");
    std::fs::write(&file, config).unwrap();
    let parsed = toml(config);

    match mode {
        Mode::Local => {
            // The vaults: a small real one for each, caches beside it.
            let vaults = parsed["vaults"]
                .as_object()
                .expect("[vaults.NAME] sections");
            for name in vaults.keys() {
                let vault = tmp.path().join("vaults").join(name);
                small_vault(&vault);
                let key = name.to_uppercase();
                env.push((
                    format!("WEAVER__VAULTS__{key}__PATH"),
                    vault.display().to_string(),
                ));
                env.push((
                    format!("WEAVER__VAULTS__{key}__CACHE_DIR"),
                    tmp.path().join("data").join(name).display().to_string(),
                ));
            }
        }
        Mode::Cluster { url_env, url, .. } => {
            assert!(
                parsed["cluster"].is_object(),
                "{what}: cluster mode needs [cluster]"
            );
            assert!(
                parsed["vaults"]
                    .as_object()
                    .is_none_or(serde_json::Map::is_empty),
                "{what}: cluster mode serves the database's vaults: no [vaults.*]"
            );
            env.push(((*url_env).to_owned(), (*url).to_owned()));
            env.push((
                "WEAVER__CLUSTER__DATA_DIR".to_owned(),
                tmp.path().join("data").display().to_string(),
            ));
        }
    }
    // Secret files: `KEY_file` settings read a file that the pod mounts from a Secret.
    let token = "deploy-test-token";
    let mut metrics_token = None;
    for (section, keys) in parsed.as_object().unwrap() {
        for key in keys.as_object().into_iter().flatten().map(|(k, _)| k) {
            if let Some(field) = key.strip_suffix("_file") {
                let secret = tmp.path().join(key);
                std::fs::write(&secret, format!("{token}\n")).unwrap();
                env.push((
                    format!("WEAVER__{}__{}", section.to_uppercase(), key.to_uppercase()),
                    secret.display().to_string(),
                ));
                if (section.as_str(), field) == ("server", "metrics_token") {
                    metrics_token = Some(token);
                }
            }
        }
    }

    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    if args.iter().any(|a| a == "--listen") {
        replace_flag(&mut args, "--listen", &addr.to_string());
    } else {
        args.extend(["--listen".to_owned(), addr.to_string()]);
    }
    if args.iter().any(|a| a == "--config") {
        replace_flag(&mut args, "--config", &file.display().to_string());
    } else {
        env.push(("WEAVER_CONFIG".to_owned(), file.display().to_string()));
    }

    let mounts = match mode {
        Mode::Local => &[][..],
        Mode::Cluster { mounts, .. } => mounts,
    };
    let env = kube_env(env, mounts);
    let mut server = Process::start(what, &args, &env, tmp.path());
    server.wait_for(addr, "/livez");
    if let Mode::Cluster {
        reachable: false, ..
    } = mode
    {
        // Alive, listening, and not ready: it cannot have caught up with a log it cannot read.
        let started = Instant::now();
        loop {
            let (status, body) = get(addr, "/readyz", None).unwrap();
            assert_ne!(status, 200, "{what}: ready without a database: {body}");
            let json: Value = serde_json::from_str(&body).unwrap_or_default();
            if status == 503 && json["status"] == "behind" {
                assert_eq!(json["cluster"]["ready"], false, "{what}: {body}");
                break;
            }
            assert!(
                started.elapsed() < BOUND,
                "{what}: /readyz never said `behind`: {status} {body}\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let (status, body) = get(addr, "/metrics", metrics_token).unwrap();
        assert_eq!(status, 200, "{what}: /metrics: {body}");
        server.terminate();
        return;
    }
    server.wait_for(addr, "/readyz");
    let (status, body) = get(addr, "/readyz", None).unwrap();
    assert_eq!(status, 200, "{what}: /readyz: {body}");
    assert!(body.contains("\"ready\""), "{what}: /readyz: {body}");
    let (status, body) = get(addr, "/metrics", metrics_token).unwrap();
    assert_eq!(status, 200, "{what}: /metrics: {body}");
    assert!(body.contains("http_requests_total"), "{what}: {body}");
    if let Mode::Cluster { .. } = mode {
        assert!(
            body.contains("weaver_cluster_applied_seq"),
            "{what}: a replica reports its place in the log: {body}"
        );
    }
    if metrics_token.is_some() {
        let (status, _) = get(addr, "/metrics", None).unwrap();
        assert_eq!(status, 401, "{what}: /metrics without the token");
    }
    if parsed["mcp"]["enabled"] != false {
        // The Service name is how the gateway and port-forwards reach weaver's own /mcp.
        assert_mcp_hosts(what, addr, &format!("weaver:{}", addr.port()));
    }
    during(addr);
    server.terminate();
}

/// Starts `weaver mcp` with a manifest's arguments and environment, `--listen` moved to a free
/// loopback port and `--upstream` pointed at the running `weaver` at `upstream`. It must listen,
/// answer its probe paths once it has them, run `during` with its address, and stop cleanly on
/// SIGTERM.
fn run_mcp(
    what: &str,
    mut args: Vec<String>,
    env: Vec<(String, String)>,
    upstream: SocketAddr,
    during: impl FnOnce(SocketAddr),
) {
    let tmp = tempfile::tempdir().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    replace_flag(&mut args, "--listen", &addr.to_string());
    replace_flag(&mut args, "--upstream", &format!("http://{upstream}"));
    let mut server = Process::start(what, &args, &env, tmp.path());
    let started = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("{what} exited with {status}:\n{}", server.log());
        }
        assert!(
            started.elapsed() < BOUND,
            "{what} does not listen:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_mcp_hosts(what, addr, &format!("mcp-server:{}", addr.port()));
    server.wait_for(addr, "/livez");
    server.wait_for(addr, "/readyz");
    let (status, metrics) = get(addr, "/metrics", None).unwrap();
    assert_eq!(status, 200, "{what}: /metrics");
    assert!(
        metrics.contains("process_resident_memory_bytes"),
        "{metrics}"
    );
    during(addr);
    server.terminate();
}

/// How to run a gateway in [`run_gateway`].
struct GatewayRun<'a> {
    /// The text of the keys file the container mounts, when the manifests hold it in plain text.
    seed_keys: Option<&'a str>,
    /// The vault the test key may reach (the gateway's `upstreams.default_vault`).
    vault: &'a str,
    /// Running `weaver serve` and `weaver mcp --http` to forward to; without them only the
    /// gateway's own answers are checked.
    upstreams: Option<(SocketAddr, SocketAddr)>,
}

/// Starts `weaver gateway` with a manifest's arguments and environment and `config` (the file
/// `--config` names in the container), from a temporary folder: `--listen 127.0.0.1:0` and
/// `--log-json`, `auth.api_keys_file` moved (by `WEAVER_GATEWAY__AUTH__API_KEYS_FILE`, which
/// beats the file) to a keys file holding `run.seed_keys` plus a read key that
/// `weaver gateway keys create --file` adds, and `upstreams.api`/`.mcp` moved to `run.upstreams`
/// when given. It must log `listening` with its address, answer `/livez` and `/metrics`, refuse
/// a request without a key with 401, and stop cleanly on SIGTERM. With upstreams it must also be
/// ready (both answer) and let the key through to weaver's REST API and mcp-server's MCP.
fn run_gateway(
    what: &str,
    mut args: Vec<String>,
    mut env: Vec<(String, String)>,
    config: &str,
    run: &GatewayRun<'_>,
) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("gateway.toml");
    std::fs::write(&file, config).unwrap();

    // The keys file: the Secret's text, which `keys create` must read before adding to it.
    let keys = tmp.path().join("api-keys");
    std::fs::write(&keys, run.seed_keys.unwrap_or_default()).unwrap();
    let output = weaver()
        .args(["gateway", "keys", "create", "--name", "deploy-test"])
        .args(["--role", "read", "--vaults", run.vault, "--file"])
        .arg(&keys)
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{what}: `weaver gateway keys create` on the Secret's keys file failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = stdout
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .unwrap_or_else(|| panic!("{what}: no `key: ` line in {stdout:?}"))
        .to_owned();
    env.push((
        "WEAVER_GATEWAY__AUTH__API_KEYS_FILE".to_owned(),
        keys.display().to_string(),
    ));
    if let Some((api, mcp)) = run.upstreams {
        env.push((
            "WEAVER_GATEWAY__UPSTREAMS__API".to_owned(),
            format!("http://{api}"),
        ));
        env.push((
            "WEAVER_GATEWAY__UPSTREAMS__MCP".to_owned(),
            format!("http://{mcp}"),
        ));
    }
    // A scrape token for /metrics, when the config reads one from the Secret.
    let metrics_token = config
        .contains("metrics_token_file")
        .then_some("deploy-test-metrics-token");
    if let Some(token) = metrics_token {
        let secret = tmp.path().join("metrics-token");
        std::fs::write(&secret, format!("{token}\n")).unwrap();
        env.push((
            "WEAVER_GATEWAY__SERVER__METRICS_TOKEN_FILE".to_owned(),
            secret.display().to_string(),
        ));
    }
    replace_flag(&mut args, "--config", &file.display().to_string());
    replace_flag(&mut args, "--listen", "127.0.0.1:0");
    if !args.iter().any(|a| a == "--log-json") {
        args.push("--log-json".to_owned());
    }

    let mut server = Process::start(what, &args, &env, tmp.path());
    let addr = server.wait_listening();
    server.wait_for(addr, "/livez");
    let auth = format!("Authorization: Bearer {key}\r\n");
    let (status, body) = get(addr, "/api/v1/vaults", None).unwrap();
    assert_eq!(status, 401, "{what}: no key: {body}");
    if run.upstreams.is_some() {
        server.wait_for(addr, "/readyz");
        let (status, body) =
            request(addr, "GET", "/api/v1/vaults", "api-gateway", &auth, "").unwrap();
        assert_eq!(status, 200, "{what}: /api/v1/vaults with the key: {body}");
        assert!(
            body.contains(&format!("\"{}\"", run.vault)),
            "{what}: the key's vault is listed: {body}"
        );
        let (status, body) = request(
            addr,
            "POST",
            "/mcp",
            "api-gateway",
            &format!("{auth}Accept: application/json, text/event-stream\r\n"),
            INITIALIZE,
        )
        .unwrap();
        assert_eq!(status, 200, "{what}: MCP initialize with the key: {body}");
        assert!(body.contains("serverInfo"), "{what}: {body}");
    }
    let (status, body) = get(addr, "/metrics", metrics_token).unwrap();
    assert_eq!(status, 200, "{what}: /metrics: {body}");
    assert!(body.contains("gateway_"), "{what}: /metrics: {body}");
    if metrics_token.is_some() {
        let (status, _) = get(addr, "/metrics", None).unwrap();
        assert_eq!(status, 401, "{what}: /metrics without the token");
    }
    server.terminate();
}

/// Whether this binary's gateway starts with `config` as it is (an `upstreams.api` list):
/// `false` when it refuses the configuration because of `upstreams` (a binary from before the
/// list form); any other refusal fails.
fn gateway_takes_upstream_lists(config: &str) -> bool {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("gateway.toml");
    std::fs::write(&file, config).unwrap();
    let keys = tmp.path().join("api-keys");
    std::fs::write(&keys, "keys = []\n").unwrap();
    let args: Vec<String> = [
        "gateway",
        "--listen",
        "127.0.0.1:0",
        "--log-json",
        "--config",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([file.display().to_string()])
    .collect();
    let env = [(
        "WEAVER_GATEWAY__AUTH__API_KEYS_FILE".to_owned(),
        keys.display().to_string(),
    )];
    let mut gateway = Process::start("gateway-upstream-lists", &args, &env, tmp.path());
    let started = Instant::now();
    loop {
        if gateway.log().contains("listening") {
            return true;
        }
        if let Some(status) = gateway.child.try_wait().unwrap() {
            let log = gateway.log();
            assert!(
                log.contains("upstreams"),
                "the gateway refused deploy/gateway.toml ({status}) for another reason:\n{log}"
            );
            return false;
        }
        assert!(
            started.elapsed() < BOUND,
            "the gateway neither listened nor exited:\n{}",
            gateway.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every `*_file` setting of a parsed configuration (at any depth) names a file that the
/// container mounts from a Secret (the whole Secret, or an item with that file name).
fn assert_files_from_secrets(what: &str, deployment: &Value, container: &Value, config: &Value) {
    fn walk(prefix: &str, value: &Value, found: &mut Vec<(String, String)>) {
        for (key, value) in value.as_object().into_iter().flatten() {
            let name = format!("{prefix}{key}");
            match value {
                Value::String(path) if key.ends_with("_file") => found.push((name, path.clone())),
                Value::Object(_) => walk(&format!("{name}."), value, found),
                _ => {}
            }
        }
    }
    let mut files = Vec::new();
    walk("", config, &mut files);
    for (key, path) in files {
        let path = PathBuf::from(path);
        let (_, volume) = mount_at(deployment, container, &path);
        let items = &volume["secret"]["items"];
        let file = path.file_name().unwrap().to_str().unwrap();
        assert!(
            volume.get("secret").is_some()
                && (items.is_null() || items.as_array().unwrap().iter().any(|i| i["path"] == file)),
            "{what}: {key} `{}` comes from a Secret",
            path.display()
        );
    }
}

/// The text of the Secret entry mounted at `path`, when the overlay renders that Secret in plain
/// text (a SealedSecret holds ciphertext: `None`).
fn secret_file(
    docs: &[Value],
    deployment: &Value,
    container: &Value,
    path: &Path,
) -> Option<String> {
    let (mount, volume) = mount_at(deployment, container, path);
    let name = volume["secret"]["secretName"].as_str()?;
    let relative = path
        .strip_prefix(mount["mountPath"].as_str().unwrap())
        .unwrap();
    let key = volume["secret"]["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| Path::new(i["path"].as_str().unwrap()) == relative)
        })
        .map_or_else(
            || relative.to_str().unwrap().to_owned(),
            |i| i["key"].as_str().unwrap().to_owned(),
        );
    let secret = docs
        .iter()
        .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == name)?;
    let data = secret["data"][&key]
        .as_str()
        .unwrap_or_else(|| panic!("Secret {name} has no entry {key}"));
    Some(String::from_utf8(base64_decode(data)).unwrap())
}

/// Standard base64 (whitespace ignored, as YAML may fold a long value).
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET
            .iter()
            .position(|a| *a == byte)
            .unwrap_or_else(|| panic!("not base64: {text}"));
        bits = (bits << 6) | u32::try_from(value).unwrap();
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).unwrap());
        }
    }
    out
}

/// terminationGracePeriodSeconds covers the preStop sleep, `server.shutdown_timeout_secs` and
/// the runtime's last seconds.
fn assert_drain(what: &str, deployment: &Value, container: &Value, config: &Value) {
    let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap();
    let sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap();
    let drain = config["server"]["shutdown_timeout_secs"].as_u64().unwrap();
    assert!(
        grace >= sleep + drain + RUNTIME_GRACE_SECS,
        "{what}: terminationGracePeriodSeconds {grace} < preStop {sleep} + drain {drain} + {RUNTIME_GRACE_SECS}"
    );
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

/// The volume mount of `container` at `path`, and the pod volume behind it.
fn mount_at<'a>(deployment: &'a Value, container: &Value, path: &Path) -> (Value, &'a Value) {
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| path.starts_with(m["mountPath"].as_str().unwrap()))
        .max_by_key(|m| m["mountPath"].as_str().unwrap().len())
        .unwrap_or_else(|| panic!("nothing is mounted at {}", path.display()))
        .clone();
    let volume = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    (mount, volume)
}

fn probe(container: &Value, kind: &str) -> (String, String) {
    let get = &container[kind]["httpGet"];
    (
        get["path"]
            .as_str()
            .unwrap_or_else(|| panic!("{kind} missing"))
            .to_owned(),
        get["port"].as_str().unwrap().to_owned(),
    )
}

/// Probes, port and Service of one Weaver role; returns the container.
fn check_role<'a>(docs: &'a [Value], name: &str, subcommand: &str) -> &'a Value {
    let deployment = object(docs, "Deployment", name);
    let c = container(deployment);
    let args = strings(&c["args"]);
    assert_eq!(args[0], subcommand, "{name}: runs `weaver {subcommand}`");
    let port = http_port(c);
    let listen = flag(&args, "--listen").expect("--listen");
    assert_eq!(
        port_of(listen),
        port,
        "{name}: --listen is the container port"
    );
    assert!(
        listen.starts_with("0.0.0.0:"),
        "{name}: listens on every interface"
    );
    for (kind, path) in [
        ("startupProbe", "/livez"),
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/livez"),
    ] {
        assert_eq!(
            probe(c, kind),
            (path.to_owned(), "http".to_owned()),
            "{name}: {kind}"
        );
    }
    let service = object(docs, "Service", name);
    let ports = service["spec"]["ports"].as_array().unwrap();
    assert!(
        ports.iter().any(|p| p["targetPort"] == "http"),
        "{name}: the Service targets the http port"
    );
    c
}

/// What cluster mode's manifests say that the runs need: the variable the database URL comes
/// in, the bridge, and the vault it imports.
struct ClusterManifests<'a> {
    /// The variable the replicas (and the bridge) read the database URL from.
    url_env: String,
    /// The replicas' Deployment and its init container, which waits for the vaults.
    deployment: &'a Value,
    /// The bridge's Deployment and container.
    bridge_deployment: &'a Value,
    bridge: &'a Value,
    /// The vault the bridge imports and mirrors (`--name`).
    vault: String,
    /// The database's CA: the mount path of its Secret volume and the file name that
    /// `sslrootcert` names in it.
    ca: (String, String),
}

/// The variable of `container` whose value comes from a Secret, with that Secret's name and key.
fn secret_env(container: &Value) -> Vec<(String, String, String)> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|var| {
            let secret = &var["valueFrom"]["secretKeyRef"];
            Some((
                var["name"].as_str()?.to_owned(),
                secret["name"].as_str()?.to_owned(),
                secret["key"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// `None` in the local mode (no `[cluster]`: then there is no bridge and no database either).
/// In cluster mode: no `[vaults]`, `data_dir` on a writable emptyDir with a size limit, no
/// persistent volume in the replicas' pods, the database URL in exactly one variable from
/// CloudNativePG's Secret `<cluster>-app` (key `uri`) in the replicas, their init container and
/// the bridge; the bridge runs `weaver bridge DIR --name NAME` on the writable vault volume and
/// uses only flags its `--help` documents (once the binary has the command).
fn cluster_manifests<'a>(
    docs: &'a [Value],
    deployment: &'a Value,
    c: &'a Value,
    parsed: &Value,
) -> Option<ClusterManifests<'a>> {
    let has_bridge = docs
        .iter()
        .any(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "weaver-bridge");
    if !parsed["cluster"].is_object() {
        assert!(
            !has_bridge,
            "local mode: a bridge would be a second writer of the vault folder"
        );
        return None;
    }
    assert!(
        parsed["vaults"]
            .as_object()
            .is_none_or(serde_json::Map::is_empty),
        "cluster mode: weaver.toml has no [vaults.*] (the vaults are the database's)"
    );
    let data_dir = PathBuf::from(
        parsed["cluster"]["data_dir"]
            .as_str()
            .expect("cluster.data_dir: the replica's emptyDir"),
    );
    let (mount, volume) = mount_at(deployment, c, &data_dir);
    assert!(
        volume["emptyDir"]["sizeLimit"].is_string(),
        "cluster.data_dir `{}` is an emptyDir with a sizeLimit: {volume}",
        data_dir.display()
    );
    assert_ne!(mount["readOnly"], true, "cluster.data_dir is writable");
    for v in deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
    {
        assert!(
            v.get("persistentVolumeClaim").is_none(),
            "cluster mode: the replicas mount no persistent volume (the vault is the bridge's): {v}"
        );
    }
    let [(url_env, secret, key)] = <[_; 1]>::try_from(secret_env(c))
        .unwrap_or_else(|e| panic!("weaver: one variable from a Secret (the database URL): {e:?}"));
    let database = docs
        .iter()
        .find(|d| d["apiVersion"] == "postgresql.cnpg.io/v1" && d["kind"] == "Cluster")
        .expect("cluster mode renders a CloudNativePG Cluster");
    let name = database["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        (secret.as_str(), key.as_str()),
        (format!("{name}-app").as_str(), "uri"),
        "weaver's {url_env} is CloudNativePG's application URL"
    );
    let same = vec![(url_env.clone(), secret.clone(), key.clone())];
    for init in deployment["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert_eq!(
            secret_env(init),
            same,
            "weaver/{}: the same URL",
            init["name"]
        );
    }
    let ca = database_ca(deployment, c, &url_env);
    let bridge_deployment = object(docs, "Deployment", "weaver-bridge");
    let bridge = check_role(docs, "weaver-bridge", "bridge");
    assert_eq!(secret_env(bridge), same, "weaver-bridge: the same URL");
    let bridge_args = strings(&bridge["args"]);
    let folder = PathBuf::from(&bridge_args[1]);
    let (mount, volume) = mount_at(bridge_deployment, bridge, &folder);
    assert!(
        volume.get("persistentVolumeClaim").is_some() && mount["readOnly"] != true,
        "weaver-bridge: DIR `{}` is the writable vault volume",
        folder.display()
    );
    let vault = flag(&bridge_args, "--name")
        .expect("weaver-bridge: --name")
        .to_owned();
    match help("bridge") {
        Some(text) => assert_documented(
            "weaver-bridge",
            &text,
            &bridge_args[1..],
            &environment(docs, bridge),
        ),
        None => eprintln!(
            "skipped: `weaver bridge --help` fails (this binary has no bridge yet): the bridge's flags are not checked"
        ),
    }
    Some(ClusterManifests {
        url_env,
        deployment,
        bridge_deployment,
        bridge,
        vault,
        ca,
    })
}

/// The database URL the replicas use is the Secret's (`$(url_env)`) with TLS verified against
/// a CA file (`sslmode=verify-full`, `sslrootcert=FILE`) that a Secret volume of the pod mounts;
/// that volume's mount path and the file's name.
fn database_ca(deployment: &Value, c: &Value, url_env: &str) -> (String, String) {
    let reference = format!("$({url_env})");
    let url = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|var| var["value"].as_str())
        .find(|value| value.contains(&reference))
        .unwrap_or_else(|| panic!("weaver: no variable builds the URL from $({url_env})"));
    assert!(
        url.contains("sslmode=verify-full"),
        "weaver: the database's certificate is verified: {url}"
    );
    let file = url
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("sslrootcert="))
        .unwrap_or_else(|| panic!("weaver: sslrootcert names the database's CA: {url}"));
    let file = Path::new(file);
    let (mount, volume) = mount_at(deployment, c, file);
    assert!(
        volume["secret"]["secretName"].is_string(),
        "weaver: sslrootcert `{}` is in a Secret volume: {volume}",
        file.display()
    );
    (
        mount["mountPath"].as_str().unwrap().to_owned(),
        file.file_name().unwrap().to_str().unwrap().to_owned(),
    )
}

/// Cluster mode for real. Without a database, the rendered configuration loads and the replica
/// lives but is not ready. With one (a real PostgreSQL, skipped when absent): the replicas' init
/// container waits while the vault is missing; the bridge, as the manifest runs it, imports the
/// vault folder and turns ready (when this binary has `weaver bridge`; else `weaver cluster
/// import` stands in, said on stderr); the init container then exits 0; the replica starts, is
/// ready, and `front` runs mcp-server and the gateway in front of it.
fn run_cluster(
    overlay: &str,
    docs: &[Value],
    cluster: &ClusterManifests<'_>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    config: &str,
    front: impl FnOnce(SocketAddr),
) {
    // The database CA's Secret volume, played by a folder holding the test CA's certificate.
    let secrets = tempfile::tempdir().unwrap();
    let (ca_mount, ca_file) = &cluster.ca;
    let pki = Pki::new(&["127.0.0.1"]);
    std::fs::write(secrets.path().join(ca_file), &pki.ca).unwrap();
    let mounts = [(ca_mount.clone(), secrets.path().to_owned())];

    let nowhere = format!("postgresql://weaver@127.0.0.1:{}/weaver", free_port());
    run_serve(
        &format!("{overlay}/weaver without a database"),
        args.clone(),
        env.clone(),
        config,
        &Mode::Cluster {
            url_env: &cluster.url_env,
            url: &nowhere,
            reachable: false,
            mounts: &mounts,
        },
        |_| {},
    );

    let Some(pg) = Postgres::start() else { return };
    // The database as CloudNativePG runs it: TLS only, its certificate signed by its CA.
    pg.require_tls(&pki.cert, &pki.key);
    let url = pg.database("weaver");
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("vault");
    small_vault(&folder);

    // The init container (`command` + `args`, run by bash with this binary as `weaver`).
    let inits = cluster.deployment["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut waiting = Vec::new();
    for init in &inits {
        let mut argv = strings(&init["command"]);
        argv.extend(strings(&init["args"]));
        let mut command = Command::new(&argv[0]);
        let bin = Path::new(env!("CARGO_BIN_EXE_weaver")).parent().unwrap();
        let mut init_env = environment(docs, init);
        init_env.push((cluster.url_env.clone(), url.clone()));
        command
            .args(&argv[1..])
            .env_clear()
            .envs(kube_env(init_env, &mounts))
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
        let what = format!("{overlay}/weaver/{}", init["name"].as_str().unwrap());
        waiting.push(Process::spawn(&what, command, tmp.path()));
    }
    std::thread::sleep(Duration::from_millis(1500));
    for init in &mut waiting {
        assert!(
            init.child.try_wait().unwrap().is_none(),
            "{} exited before the vault was in the database:\n{}",
            init.what,
            init.log()
        );
    }

    let bridge = if help("bridge").is_some() {
        let mut bridge_args = strings(&cluster.bridge["args"]);
        bridge_args[1] = folder.display().to_string();
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        replace_flag(&mut bridge_args, "--listen", &addr.to_string());
        let mut bridge_env = environment(docs, cluster.bridge);
        bridge_env.push((cluster.url_env.clone(), url.clone()));
        let bridge_env = kube_env(bridge_env, &mounts);
        let mut bridge = Process::start(
            &format!("{overlay}/weaver-bridge"),
            &bridge_args,
            &bridge_env,
            tmp.path(),
        );
        bridge.wait_for(addr, "/livez");
        bridge.wait_for(addr, "/readyz");
        let (status, body) = get(addr, "/metrics", None).unwrap();
        assert_eq!(status, 200, "{overlay}/weaver-bridge: /metrics: {body}");
        assert_eq!(
            cluster.bridge_deployment["spec"]["strategy"]["type"], "Recreate",
            "one bridge at a time"
        );
        Some(bridge)
    } else {
        eprintln!(
            "skipped: this binary has no `weaver bridge`: {overlay}'s vault is imported with `weaver cluster import` instead"
        );
        let output = weaver()
            .args(["cluster", "import"])
            .arg(&folder)
            .args(["--name", &cluster.vault, "--postgres-url", &url])
            .env_clear()
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "weaver cluster import: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        None
    };
    for mut init in waiting {
        let status = init.wait_exit();
        assert!(
            status.success(),
            "{} exited with {status} once the vault was there:\n{}",
            init.what,
            init.log()
        );
    }

    run_serve(
        &format!("{overlay}/weaver"),
        args,
        env,
        config,
        &Mode::Cluster {
            url_env: &cluster.url_env,
            url: &url,
            reachable: true,
            mounts: &mounts,
        },
        front,
    );
    if let Some(bridge) = bridge {
        bridge.terminate();
    }
}

fn check_overlay(overlay: &str) {
    let Some(docs) = kustomize(&format!("kubernetes/overlays/{overlay}")) else {
        return;
    };

    // weaver: arguments, mounts and drain agree with weaver.toml; then run it for real.
    let deployment = object(&docs, "Deployment", "weaver");
    let c = check_role(&docs, "weaver", "serve");
    let args = strings(&c["args"]);
    let config_path = PathBuf::from(flag(&args, "--config").expect("--config"));
    let (mount, volume) = mount_at(deployment, c, &config_path);
    let map_name = volume["configMap"]["name"].as_str().expect("a ConfigMap");
    let file_name = config_path.file_name().unwrap().to_str().unwrap();
    let config = object(&docs, "ConfigMap", map_name)["data"][file_name]
        .as_str()
        .unwrap_or_else(|| panic!("{map_name} has no {file_name}"));
    assert!(
        mount.get("subPath").is_none(),
        "a subPath mount never sees ConfigMap updates (hot reload)"
    );
    let parsed = toml(config);
    assert_eq!(
        port_of(parsed["server"]["listen"].as_str().unwrap()),
        http_port(c),
        "server.listen agrees with the container port"
    );
    // Cluster mode (`[cluster]`): the database URL from CloudNativePG's Secret, the data folder
    // on an emptyDir, the bridge on the vault volume. Local mode: the vaults on volumes.
    let cluster = cluster_manifests(&docs, deployment, c, &parsed);
    if cluster.is_none() {
        for (name, vault) in parsed["vaults"].as_object().expect("[vaults.NAME]") {
            for key in ["path", "cache_dir"] {
                let path = PathBuf::from(vault[key].as_str().unwrap());
                let (mount, volume) = mount_at(deployment, c, &path);
                assert!(
                    volume.get("persistentVolumeClaim").is_some(),
                    "vaults.{name}.{key} `{}` is on a persistent volume",
                    path.display()
                );
                assert_ne!(mount["readOnly"], true, "vaults.{name}.{key} is writable");
            }
        }
    }
    assert_files_from_secrets("weaver", deployment, c, &parsed);
    let mcp_hosts = strings(&parsed["mcp"]["allowed_hosts"]);
    let namespace = deployment["metadata"]["namespace"].as_str().unwrap();
    for host in [
        "weaver".to_owned(),
        format!("weaver.{namespace}.svc.cluster.local"),
    ] {
        assert!(
            mcp_hosts.contains(&host),
            "[mcp] allowed_hosts lacks {host}"
        );
    }
    // The drain: preStop sleep, then server.shutdown_timeout_secs, then closing the vaults.
    assert_drain("weaver", deployment, c, &parsed);
    let env = environment(&docs, c);
    assert_documented("weaver", &help("serve").unwrap(), &args[1..], &env);

    // mcp-server: flags exist; its upstream is the weaver Service.
    let mcp = check_role(&docs, "mcp-server", "mcp");
    let mcp_args = strings(&mcp["args"]);
    assert_documented(
        "mcp-server",
        &help("mcp").unwrap(),
        &mcp_args[1..],
        &environment(&docs, mcp),
    );
    assert!(
        mcp_args.iter().any(|a| a == "--http"),
        "mcp-server serves HTTP"
    );
    let upstream = flag(&mcp_args, "--upstream").expect("--upstream");
    let authority = upstream
        .strip_prefix("http://")
        .unwrap()
        .trim_end_matches('/');
    let (host, port) = authority.split_once(':').unwrap();
    let weaver_service = object(&docs, "Service", host);
    assert!(
        weaver_service["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["port"].as_u64() == port.parse::<u64>().ok()),
        "--upstream {upstream} is a port of Service/{host}"
    );
    let hosts: Vec<&str> = mcp_args
        .iter()
        .enumerate()
        .filter(|(_, a)| *a == "--allowed-host")
        .map(|(i, _)| mcp_args[i + 1].as_str())
        .collect();
    for host in [
        "mcp-server".to_owned(),
        format!("mcp-server.{namespace}.svc.cluster.local"),
    ] {
        assert!(
            hosts.contains(&host.as_str()),
            "mcp-server: --allowed-host {host} missing"
        );
    }

    // api-gateway: flags, its gateway.toml (mounted as a folder) against the container port,
    // the Services, weaver's vaults and the Secret, and the drain.
    let gateway_deployment = object(&docs, "Deployment", "api-gateway");
    let gateway = check_role(&docs, "api-gateway", "gateway");
    let gateway_args = strings(&gateway["args"]);
    let gateway_env = environment(&docs, gateway);
    assert_documented(
        "api-gateway",
        &help("gateway").expect("`weaver gateway --help`"),
        &gateway_args[1..],
        &gateway_env,
    );
    let config_path = PathBuf::from(flag(&gateway_args, "--config").expect("--config"));
    let (mount, volume) = mount_at(gateway_deployment, gateway, &config_path);
    assert!(
        mount.get("subPath").is_none(),
        "api-gateway: a subPath mount never sees ConfigMap updates (reload)"
    );
    let map_name = volume["configMap"]["name"].as_str().expect("a ConfigMap");
    let file_name = config_path.file_name().unwrap().to_str().unwrap();
    let gateway_text = object(&docs, "ConfigMap", map_name)["data"][file_name]
        .as_str()
        .unwrap_or_else(|| panic!("{map_name} has no {file_name}"));
    let gateway_config = toml(gateway_text);
    assert_eq!(
        port_of(gateway_config["server"]["listen"].as_str().unwrap()),
        http_port(gateway),
        "gateway server.listen agrees with the container port"
    );
    for role in ["api", "mcp"] {
        let url = gateway_config["upstreams"][role].as_str().unwrap();
        let authority = url.strip_prefix("http://").unwrap().trim_end_matches('/');
        let (host, port) = authority.split_once(':').unwrap();
        assert!(
            object(&docs, "Service", host)["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["port"].as_u64() == port.parse::<u64>().ok()),
            "gateway upstreams.{role} {url} is a port of Service/{host}"
        );
    }
    let default_vault = gateway_config["upstreams"]["default_vault"]
        .as_str()
        .unwrap()
        .to_owned();
    match &cluster {
        Some(cluster) => assert_eq!(
            default_vault, cluster.vault,
            "gateway upstreams.default_vault is the vault the bridge imports (--name)"
        ),
        None => assert!(
            parsed["vaults"].get(&default_vault).is_some(),
            "gateway upstreams.default_vault `{default_vault}` is a vault of weaver.toml"
        ),
    }
    assert_files_from_secrets("api-gateway", gateway_deployment, gateway, &gateway_config);
    assert_drain("api-gateway", gateway_deployment, gateway, &gateway_config);
    let keys_path = PathBuf::from(gateway_config["auth"]["api_keys_file"].as_str().unwrap());
    let seed_keys = secret_file(&docs, gateway_deployment, gateway, &keys_path);

    // weaver for real, mcp-server for real in front of it, the gateway in front of both.
    let mcp_env = environment(&docs, mcp);
    let front = |weaver| {
        run_mcp(
            &format!("{overlay}/mcp-server"),
            mcp_args.clone(),
            mcp_env,
            weaver,
            |mcp| {
                run_gateway(
                    &format!("{overlay}/api-gateway"),
                    gateway_args.clone(),
                    gateway_env,
                    gateway_text,
                    &GatewayRun {
                        seed_keys: seed_keys.as_deref(),
                        vault: &default_vault,
                        upstreams: Some((weaver, mcp)),
                    },
                );
            },
        );
    };
    match &cluster {
        Some(cluster) => run_cluster(overlay, &docs, cluster, args, env, config, front),
        None => run_serve(
            &format!("{overlay}/weaver"),
            args,
            env,
            config,
            &Mode::Local,
            front,
        ),
    }
    // The shared environment is generated (hash-suffixed), so that a change rolls the pods.
    let env_map = config_map(&docs, "weave-nn-env");
    assert_ne!(
        env_map["metadata"]["name"], "weave-nn-env",
        "weave-nn-env carries a hash"
    );
}

#[test]
fn development_overlay_runs_on_the_binary() {
    check_overlay("development");
}

#[test]
fn staging_overlay_runs_on_the_binary() {
    check_overlay("staging");
}

#[test]
fn production_overlay_runs_on_the_binary() {
    check_overlay("production");
}

// ---------------------------------------------------------------------------------------------
// Docker Compose and the image

/// The image's default (`ENTRYPOINT ["weaver"]`, `CMD`, `ENV WEAVER_CONFIG`, the config file
/// copied from deploy/weaver.toml) and Compose's weaver (its command, deploy/weaver.toml and the
/// example env file) start and answer the health checks.
#[test]
fn compose_and_image_defaults_run_on_the_binary() {
    let config = read("deploy/weaver.toml");
    let dockerfile = read("Dockerfile");
    let instruction = |keyword: &str| -> String {
        dockerfile
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(keyword))
            .unwrap_or_else(|| panic!("no {keyword} in the Dockerfile"))
            .trim()
            .to_owned()
    };
    let entrypoint: Vec<String> = serde_json::from_str(&instruction("ENTRYPOINT ")).unwrap();
    assert_eq!(entrypoint, ["weaver"]);
    let cmd: Vec<String> = serde_json::from_str(&instruction("CMD ")).unwrap();
    assert!(
        dockerfile.contains("COPY deploy/weaver.toml /etc/weaver/weaver.toml")
            && instruction("ENV ").starts_with("WEAVER_CONFIG=/etc/weaver/weaver.toml"),
        "the image's default configuration is deploy/weaver.toml"
    );
    assert_eq!(
        port_of(flag(&cmd, "--listen").unwrap()),
        port_of(toml(&config)["server"]["listen"].as_str().unwrap())
    );
    assert!(
        instruction("EXPOSE ")
            .split_whitespace()
            .any(|p| p == "3000")
    );
    run_serve(
        "image/weaver",
        cmd,
        Vec::new(),
        &config,
        &Mode::Local,
        |_| {},
    );

    let compose: Value = serde_saphyr::from_str(&read("docker-compose.yml")).unwrap();
    let service = &compose["services"]["weaver"];
    let args = strings(&service["command"]);
    let config_env = service["environment"]["WEAVER_CONFIG"].as_str().unwrap();
    assert!(
        service["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| { v["target"] == config_env && v["source"] == "./deploy/weaver.toml" }),
        "Compose mounts deploy/weaver.toml where WEAVER_CONFIG points"
    );
    let env: Vec<(String, String)> = read("deploy/weaver.env.example")
        .lines()
        .filter_map(|l| l.trim_start_matches("# ").split_once('='))
        .filter(|(k, _)| k.starts_with("WEAVER_") && !k.contains(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert!(
        !env.is_empty(),
        "the example env file lists WEAVER_* variables"
    );
    // The example's secret file and vault switches are exercised by the Kubernetes runs; here,
    // the documented settings must be accepted together.
    let env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| !k.ends_with("_FILE"))
        .collect();
    assert_documented("compose weaver", &help("serve").unwrap(), &args[1..], &env);
    run_serve("compose/weaver", args, env, &config, &Mode::Local, |_| {});

    let mcp = strings(&compose["services"]["mcp-server"]["command"]);
    assert_eq!(mcp[0], "mcp");
    assert_documented("compose mcp-server", &help("mcp").unwrap(), &mcp[1..], &[]);

    // Profile `full`, cluster mode: the replicas weaver-N run deploy/weaver-cluster.toml (where
    // WEAVER_CONFIG points) with the database URL in their environment; without a database
    // each starts, lives and says `behind`. The bridge runs on the vault folder.
    let replicas: Vec<String> = compose["services"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| {
            k.strip_prefix("weaver-")
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .cloned()
        .collect();
    assert!(
        replicas.len() >= 2,
        "two cluster-mode replicas: {replicas:?}"
    );
    let cluster_config = read("deploy/weaver-cluster.toml");
    for name in &replicas {
        let service = &compose["services"][name.as_str()];
        let args = strings(&service["command"]);
        assert_eq!(args[0], "serve", "{name}");
        let config_env = service["environment"]["WEAVER_CONFIG"].as_str().unwrap();
        assert!(
            service["volumes"].as_array().unwrap().iter().any(|v| {
                v["target"] == config_env && v["source"] == "./deploy/weaver-cluster.toml"
            }),
            "{name}: Compose mounts deploy/weaver-cluster.toml where WEAVER_CONFIG points"
        );
        let (url_env, url) = service["environment"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, v)| v.as_str().is_some_and(|v| v.starts_with("postgresql://")))
            .unwrap_or_else(|| panic!("{name}: no database URL in its environment"));
        assert!(
            url.as_str().unwrap().contains("${POSTGRES_PASSWORD"),
            "{name}: the password comes from .env"
        );
        assert_documented(
            &format!("compose {name}"),
            &help("serve").unwrap(),
            &args[1..],
            &[],
        );
        let nowhere = format!("postgresql://weaver@127.0.0.1:{}/weaver", free_port());
        run_serve(
            &format!("compose/{name} without a database"),
            args,
            Vec::new(),
            &cluster_config,
            &Mode::Cluster {
                url_env,
                url: &nowhere,
                reachable: false,
                mounts: &[],
            },
            |_| {},
        );
    }
    let bridge = strings(&compose["services"]["weaver-bridge"]["command"]);
    assert_eq!(bridge[0], "bridge");
    assert!(
        compose["services"]["weaver-bridge"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["target"] == bridge[1] && v["type"] == "bind"),
        "weaver-bridge: DIR is the bind-mounted vault folder"
    );
    match help("bridge") {
        Some(text) => assert_documented("compose weaver-bridge", &text, &bridge[1..], &[]),
        None => eprintln!(
            "skipped: `weaver bridge --help` fails (this binary has no bridge yet): Compose's bridge flags are not checked"
        ),
    }

    // api-gateway: deploy/gateway.toml where --config points, the keys file as the secret at
    // its auth.api_keys_file, the upstreams are the Compose services; it starts with them.
    let service = &compose["services"]["api-gateway"];
    let args = strings(&service["command"]);
    assert_eq!(args[0], "gateway");
    assert_documented(
        "compose api-gateway",
        &help("gateway").unwrap(),
        &args[1..],
        &[],
    );
    let config_path = flag(&args, "--config").expect("--config");
    assert!(
        service["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["target"] == config_path && v["source"] == "./deploy/gateway.toml"),
        "Compose mounts deploy/gateway.toml where --config points"
    );
    let config = read("deploy/gateway.toml");
    let parsed = toml(&config);
    assert_eq!(
        port_of(parsed["server"]["listen"].as_str().unwrap()),
        port_of(flag(&args, "--listen").unwrap()),
        "deploy/gateway.toml's server.listen agrees with --listen"
    );
    let upstream = |service: &str| {
        let command = strings(&compose["services"][service]["command"]);
        format!(
            "http://{service}:{}",
            port_of(flag(&command, "--listen").unwrap())
        )
    };
    assert_eq!(
        parsed["upstreams"]["mcp"].as_str().unwrap(),
        upstream("mcp-server"),
        "upstreams.mcp is Compose's mcp-server"
    );
    // upstreams.api: the list of the cluster-mode replicas (round robin).
    let api = strings(&parsed["upstreams"]["api"]);
    let mut expected: Vec<String> = replicas.iter().map(|r| upstream(r)).collect();
    expected.sort();
    let mut listed = api.clone();
    listed.sort();
    assert_eq!(listed, expected, "upstreams.api lists Compose's replicas");
    let mut gateway_env = Vec::new();
    if !gateway_takes_upstream_lists(&config) {
        eprintln!(
            "skipped: this binary's gateway takes one upstreams.api URL only: deploy/gateway.toml runs with its first URL"
        );
        gateway_env.push(("WEAVER_GATEWAY__UPSTREAMS__API".to_owned(), api[0].clone()));
    }
    let keys_path = parsed["auth"]["api_keys_file"].as_str().unwrap();
    let secret = service["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"] == keys_path)
        .unwrap_or_else(|| {
            panic!("no Compose secret is mounted at auth.api_keys_file {keys_path}")
        });
    let source = compose["secrets"][secret["source"].as_str().unwrap()]["file"]
        .as_str()
        .unwrap();
    // `${GATEWAY_KEYS_FILE:-./deploy/...}`: the default, as with an empty .env.
    let source = source
        .split_once(":-")
        .map_or(source, |(_, default)| default.trim_end_matches('}'));
    let keys = read(source);
    run_gateway(
        "compose/api-gateway",
        args,
        gateway_env,
        &config,
        &GatewayRun {
            seed_keys: Some(&keys),
            vault: parsed["upstreams"]["default_vault"].as_str().unwrap(),
            upstreams: None,
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Metric names

/// Metric names declared in `crates/weaver-service/src/metrics.rs` (`pub const NAME: &str =
/// "...";`), and the ones cluster mode records by name in `crates/weaver-cluster/src/`
/// (`metrics::gauge!("weaver_cluster_...", ...)`, likewise counters and histograms).
fn declared_metrics() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = include_str!("../../../weaver-service/src/metrics.rs")
        .lines()
        .filter(|l| l.starts_with("pub const ") && l.contains(": &str = \""))
        .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
        .collect();
    let cluster = repo().join("crates/weaver-cluster/src");
    for entry in std::fs::read_dir(&cluster).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for macro_name in ["gauge!(", "counter!(", "histogram!("] {
            for (i, _) in text.match_indices(macro_name) {
                let rest = text[i + macro_name.len()..].trim_start();
                if let Some((name, _)) = rest.strip_prefix('"').and_then(|r| r.split_once('"')) {
                    names.insert(name.to_owned());
                }
            }
        }
    }
    names
}

/// Identifiers in a PromQL expression that name our metrics (`http_*`, `weaver_*`).
fn our_metrics(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut in_string = false;
    for ch in expr.chars().chain(std::iter::once(' ')) {
        if ch == '"' {
            in_string = !in_string;
            current.clear();
            continue;
        }
        if !in_string && (ch.is_ascii_alphanumeric() || ch == '_' || ch == ':') {
            current.push(ch);
            continue;
        }
        if !current.contains(':')
            && (current.starts_with("http_") || current.starts_with("weaver_"))
        {
            names.push(current.clone());
        }
        current.clear();
    }
    names
}

#[test]
fn monitoring_queries_use_declared_metrics() {
    let declared = declared_metrics();
    assert!(declared.contains("http_requests_total"), "{declared:?}");
    let mut exprs: Vec<(String, String)> = Vec::new();
    let rules: Value = serde_saphyr::from_str(&read("deploy/prometheus/alerts.yml")).unwrap();
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            exprs.push((
                "alerts.yml".into(),
                rule["expr"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let dashboard: Value =
        serde_json::from_str(&read("deploy/grafana/dashboards/weaver.json")).unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs.push((
                format!("dashboard panel `{}`", panel["title"].as_str().unwrap()),
                target["expr"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let adapter: Value = serde_saphyr::from_str(&read(
        "kubernetes/monitoring/prometheus/prometheus-adapter-values.yaml",
    ))
    .unwrap();
    for rule in adapter["rules"]["custom"].as_array().unwrap() {
        exprs.push((
            "prometheus-adapter".into(),
            rule["seriesQuery"].as_str().unwrap().to_owned(),
        ));
    }
    let mut used = BTreeSet::new();
    for (origin, expr) in &exprs {
        for name in our_metrics(expr) {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| declared.contains(*b)))
                .unwrap_or(&name)
                .to_owned();
            assert!(
                declared.contains(&base),
                "{origin} queries `{name}`, which crates/weaver-service/src/metrics.rs does not declare: {expr}"
            );
            used.insert(base);
        }
    }
    for needed in [
        "http_requests_total",
        "http_request_duration_seconds",
        "weaver_notes",
        "weaver_index_lag_seconds",
        "weaver_cluster_staleness_seconds",
        "weaver_cluster_lag_entries",
    ] {
        assert!(used.contains(needed), "nothing queries {needed}");
    }
}

/// The gateway builds without the engine: neither tantivy nor SQLite, nor any of Weaver's vault
/// crates, is in its dependency tree (normal, build or dev), so `cargo test -p weaver-gateway`
/// never compiles them.
#[test]
fn the_gateway_needs_neither_the_search_index_nor_sqlite() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args(["tree", "-p", "weaver-gateway", "-e", "normal,build,dev"])
        .args(["--prefix", "none", "--offline", "--locked"])
        .current_dir(repo())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.lines().any(|line| line.starts_with("weaver-service ")),
        "{text}"
    );
    for crate_name in [
        "tantivy",
        "rusqlite",
        "libsqlite3-sys",
        "weaver-core",
        "weaver-store",
        "weaver-search",
        "weaver-app",
    ] {
        let prefix = format!("{crate_name} ");
        assert!(
            !text.lines().any(|line| line.starts_with(&prefix)),
            "weaver-gateway depends on {crate_name}:\n{text}"
        );
    }
}
