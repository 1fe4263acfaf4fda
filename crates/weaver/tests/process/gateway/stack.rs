//! A whole deployment on `127.0.0.1:0`: `weaver serve` with the vaults `default` and `other`,
//! `weaver mcp --http --upstream` in front of it, and `weaver gateway` in front of both, each
//! a real child process with its logs captured.
//!
//! Every test starts its own stack, which takes about 0.2 s: nextest runs each test in its own
//! process, so a stack shared through a `static` would be neither shared there nor ever
//! dropped (its children would outlive the tests). Tests whose gateway needs no real upstream
//! point it at an echo server or a closed port instead, and start neither.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt as _};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::serve::support::{BOUND, Sandbox, Server, SseReader, Start, VAULT};

/// The vault `other`.
pub const OTHER: &str = "
//- Elsewhere.md
# Elsewhere
Only in the other vault.
";

/// The keys every stack starts with: name, role, vaults.
pub const KEYS: [(&str, &str, &[&str]); 4] = [
    ("reader", "read", &["default"]),
    ("writer", "write", &["default"]),
    ("admin", "admin", &["*"]),
    ("outsider", "write", &["other"]),
];

/// The API key of the holder `name` (keys are just strings with the `wvr_` prefix; the
/// gateway stores and compares their hashes).
pub fn key(name: &str) -> String {
    format!("wvr_test-key-of-{name}")
}

/// The stored form of `key`: `sha256:<hex>`, as `weaver gateway keys create` writes it.
pub fn hash(key: &str) -> String {
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A keys file holding `keys` (name, role, vaults).
pub fn keys_toml(keys: &[(&str, &str, &[&str])]) -> String {
    keys.iter()
        .map(|(name, role, vaults)| {
            let vaults: Vec<String> = vaults.iter().map(|v| format!("\"{v}\"")).collect();
            format!(
                "[[keys]]\nname = \"{name}\"\nhash = \"{}\"\nrole = \"{role}\"\nvaults = [{}]\n\n",
                hash(&key(name)),
                vaults.join(", ")
            )
        })
        .collect()
}

/// Replaces `path` with `content` atomically (a temporary file, then a rename), as
/// `weaver gateway keys` and Kubernetes do, so a watcher never reads half a file.
pub fn replace(path: &Path, content: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A port nothing listens on.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// How to configure a stack's gateway.
pub struct Builder {
    sandbox: Sandbox,
    server: Vec<String>,
    limits: Vec<String>,
    sections: Vec<String>,
    api: Option<String>,
    apis: Vec<String>,
    mcp: Option<String>,
}

impl Builder {
    /// Sends `/api/...` to these replicas in turn (`api = [...]`, with `retry_writes`), and
    /// `weaver mcp` to the last of them; no `weaver serve` is started.
    pub fn replicas(mut self, urls: &[&str]) -> Self {
        self.apis = urls.iter().map(|u| (*u).to_owned()).collect();
        self.api = urls.last().map(|u| (*u).to_owned());
        self
    }

    /// A line under `[server]`.
    pub fn server(mut self, setting: &str) -> Self {
        self.server.push(setting.to_owned());
        self
    }

    /// The `[limits]` lines (by default every limit is off).
    pub fn limits(mut self, settings: &[&str]) -> Self {
        self.limits = settings.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// More TOML after `[auth]` (`[auth.jwt]`, `[tls]`).
    pub fn section(mut self, toml: &str) -> Self {
        self.sections.push(toml.to_owned());
        self
    }

    /// Sends `/api/...` to `url` instead of a `weaver serve` (none is started).
    pub fn api(mut self, url: &str) -> Self {
        self.api = Some(url.to_owned());
        self
    }

    /// Sends `/mcp/...` to `url` instead of a `weaver mcp` (none is started).
    pub fn mcp(mut self, url: &str) -> Self {
        self.mcp = Some(url.to_owned());
        self
    }

    /// Writes a file below the sandbox.
    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        self.sandbox.write(rel, content)
    }

    /// Starts the upstreams, then the gateway, and waits until they all listen (and the
    /// vaults are open).
    pub async fn start(self) -> Stack {
        let Self {
            sandbox,
            server,
            limits,
            sections,
            api,
            apis,
            mcp,
        } = self;
        let default = sandbox.vault("default", VAULT);
        let other = sandbox.vault("other", OTHER);
        let serve = match api {
            Some(_) => None,
            None => {
                let config = sandbox.write(
                    "serve/weaver.toml",
                    &format!(
                        "[vaults.default]\npath = {default:?}\n[vaults.other]\npath = {other:?}\n"
                    ),
                );
                let serve = Start::new(&["--config", config.to_str().unwrap()]).spawn();
                serve.wait_ready().await;
                Some(serve)
            }
        };
        let api = api.unwrap_or_else(|| serve.as_ref().unwrap().base.clone());
        let mcp_server = match mcp {
            Some(_) => None,
            None => Some(
                Start::new(&["--http", "--upstream", &api, "--log-level", "info"])
                    .subcommand("mcp")
                    .spawn(),
            ),
        };
        let mcp = mcp.unwrap_or_else(|| mcp_server.as_ref().unwrap().base.clone());
        let keys_file = sandbox.write("gateway/keys.toml", &keys_toml(&KEYS));
        let api = if apis.is_empty() {
            format!("{api:?}")
        } else {
            format!("{apis:?}\nretry_writes = true")
        };
        let config = format!(
            "[server]\n{}\n\n[upstreams]\napi = {api}\nmcp = \"{mcp}\"\n\n[limits]\n{}\n\n\
             [auth]\napi_keys_file = {keys_file:?}\n\n{}\n",
            server.join("\n"),
            limits.join("\n"),
            sections.join("\n\n"),
        );
        let config_file = sandbox.write("gateway/gateway.toml", &config);
        let gateway = Start::new(&["--config", config_file.to_str().unwrap()])
            .subcommand("gateway")
            .spawn();
        Stack {
            client: client(),
            gateway,
            _mcp: mcp_server,
            serve,
            keys_file,
            sandbox,
        }
    }
}

/// A reqwest client whose requests fail after [`BOUND`] instead of hanging a test.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(BOUND).build().unwrap()
}

/// A running deployment. Fields drop in order: the processes stop before their folder goes.
pub struct Stack {
    pub client: reqwest::Client,
    pub gateway: Server,
    /// Kept running for the gateway.
    _mcp: Option<Server>,
    pub serve: Option<Server>,
    pub keys_file: PathBuf,
    pub sandbox: Sandbox,
}

impl Stack {
    /// A stack configuration with every rate limit off.
    pub fn builder() -> Builder {
        Builder {
            sandbox: Sandbox::new(),
            server: Vec::new(),
            limits: vec![
                "identity_per_second = 0".to_owned(),
                "address_per_second = 0".to_owned(),
            ],
            sections: Vec::new(),
            api: None,
            apis: Vec::new(),
            mcp: None,
        }
    }

    /// The default stack.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// The gateway's URL of `path`.
    pub fn url(&self, path: &str) -> String {
        self.gateway.url(path)
    }

    /// The gateway's address.
    pub fn addr(&self) -> SocketAddr {
        self.gateway
            .base
            .strip_prefix("http://")
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The folder of a vault.
    pub fn vault(&self, name: &str) -> PathBuf {
        self.sandbox.path(name)
    }

    /// A request to the gateway, with `key`'s bearer credential when given.
    pub fn request(&self, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    /// `GET path` as the holder of the key `name`.
    pub async fn get_as(&self, name: &str, path: &str) -> Reply {
        send(self.request(Method::GET, path, Some(&key(name)))).await
    }

    /// `PUT` a Markdown note into the vault `default` as the holder of the key `name`.
    pub async fn put_note(&self, name: &str, note: &str, content: &str) -> Reply {
        send(
            self.request(Method::PUT, &notes(note), Some(&key(name)))
                .header("content-type", "text/markdown")
                .body(content.to_owned()),
        )
        .await
    }

    /// Calls `f` every 50 ms until it returns `Some`, for at most [`BOUND`].
    pub async fn poll<T, F, Fut>(&self, f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        self.gateway.poll(f).await
    }

    /// An MCP client (rmcp's Streamable HTTP client) on the gateway's `path`, authenticated
    /// with `key`.
    pub async fn mcp_client(&self, path: &str, key: &str) -> RunningService<RoleClient, ()> {
        let config = StreamableHttpClientTransportConfig::with_uri(self.url(path)).auth_header(key);
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .unwrap()
    }

    /// One JSON-RPC `tools/call` POSTed to the gateway's `path` as plain HTTP.
    pub async fn call_raw(&self, path: &str, key: &str, tool: &str, arguments: Value) -> Reply {
        let message = json!({
            "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        });
        send(
            self.request(Method::POST, path, Some(key))
                .header("accept", "application/json, text/event-stream")
                .json(&message),
        )
        .await
    }

    /// Runs `weaver gateway keys <args> --file <keys file>` and returns its stdout.
    pub fn keys_command(&self, args: &[&str]) -> String {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_weaver"))
            .args(["gateway", "keys"])
            .args(args)
            .arg("--file")
            .arg(&self.keys_file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "weaver gateway keys {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The `weaver serve` behind the gateway.
    pub fn serve(&mut self) -> &mut Server {
        self.serve.as_mut().unwrap()
    }
}

/// `/api/v1/vaults/default/notes/<note>`.
pub fn notes(note: &str) -> String {
    format!("/api/v1/vaults/default/notes/{note}")
}

/// An answer: its status, headers and body (JSON, or the text as a JSON string).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The error code of an error body: `{"code": ...}`, or for MCP a JSON-RPC error whose
    /// `data` carries it.
    pub fn code(&self) -> &str {
        self.body["code"]
            .as_str()
            .or_else(|| self.body["error"]["data"]["code"].as_str())
            .unwrap_or_default()
    }

    /// Asserts an error answer with `status` and `code`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "{self:?}");
    }

    /// Asserts `status`.
    #[track_caller]
    pub fn assert_status(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request` and reads the whole answer.
pub async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        headers,
        body,
    }
}

/// Sends `request` (rebuilt each time) until it is refused with 429, at most 50 times; returns
/// the answers before it and the refusal.
pub async fn until_limited(
    mut request: impl FnMut() -> reqwest::RequestBuilder,
) -> (Vec<u16>, Reply) {
    let mut before = Vec::new();
    for _ in 0..50 {
        let reply = send(request()).await;
        if reply.status == 429 {
            return (before, reply);
        }
        before.push(reply.status);
    }
    panic!("never rate limited: {before:?}");
}

/// Calls an MCP tool through `client`.
pub async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    arguments: Value,
) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap()
}

/// The structured content of a successful tool call.
#[track_caller]
pub fn ok(result: &CallToolResult) -> &Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {result:?}");
    result.structured_content.as_ref().unwrap()
}

/// Opens `url` with `key` as an event stream through the gateway.
pub async fn events(client: &reqwest::Client, url: &str, key: &str) -> SseReader {
    let response = client
        .get(url)
        .bearer_auth(key)
        // The stream lasts longer than the client's request time-out.
        .timeout(std::time::Duration::from_secs(3600))
        .send()
        .await
        .unwrap();
    SseReader::from_response(response)
}
