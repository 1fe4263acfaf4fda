//! The gateway's configuration, layered like `weaver serve`'s (later layers win):
//!
//! 1. built-in defaults;
//! 2. a TOML file: `--config PATH` or `WEAVER_GATEWAY_CONFIG` (must exist when given),
//!    otherwise `./gateway.toml` when there is one;
//! 3. environment variables `WEAVER_GATEWAY__SECTION__KEY`;
//! 4. the flags `--listen`, `--log-level` and `--log-json`.
//!
//! Unknown keys are errors. As in `weaver serve`, any string setting `foo` may be given as
//! `foo_file` (the path of a file holding the value, as Kubernetes mounts Secrets); every file
//! so named is watched, and a change to any of them (or to the config file, or a SIGHUP)
//! reloads the whole configuration. A reload that fails to validate is logged and the previous
//! configuration stays in force. A reload starts new rate-limit buckets and a new upstream
//! connection pool; requests in flight finish with the state they started with.
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:8080"           # restart to change
//! max_connections = 4096            # restart to change; beyond it: a 1 s wait, then 503
//! shutdown_timeout_secs = 30
//! header_timeout_secs = 10          # TLS handshake + request head, and the wait for the next
//! idle_timeout_secs = 120           # a connection moving no bytes is closed
//! body_timeout_secs = 30            # a request body must arrive within this
//! max_body_bytes = 8388608
//! trusted_proxies = ["10.0.0.0/8"]  # X-Forwarded-For/-Proto honoured only from these peers
//! allowed_origins = ["https://app.example.com"]   # CORS allow-list; empty: no CORS
//! metrics_token_file = "/run/secrets/metrics-token" # /metrics then wants this bearer token
//!
//! [tls]                             # optional: HTTPS (and HTTP/2 by ALPN)
//! cert_file = "/run/secrets/tls/tls.crt"
//! key_file = "/run/secrets/tls/tls.key"
//!
//! [upstreams]
//! api = "http://weaver:3000"        # /api/...; or a list, taken in turn (cluster replicas):
//!                                   # api = ["http://weaver-1:3000", "http://weaver-2:3000"]
//! mcp = "http://mcp-server:3001"    # /mcp and /mcp/{vault}
//! default_vault = "default"         # the vault `/mcp` means
//! connect_timeout_secs = 5
//! response_timeout_secs = 60        # until the upstream's response headers
//! retry_writes = false              # true for a weaver cluster: a write whose connection broke
//!                                   # is sent again with its x-request-id, which replicas dedupe
//!
//! [limits]                          # token buckets; 0 turns one off
//! identity_per_second = 20
//! identity_burst = 100
//! address_per_second = 50
//! address_burst = 200
//!
//! [auth]
//! api_keys_file = "/run/secrets/weave-nn/api-keys"   # `[[keys]]` tables, as below
//!
//! [[auth.keys]]                     # and/or inline
//! name = "alice"
//! hash = "sha256:..."               # from `weaver gateway keys create`
//! role = "write"                    # read | write | admin
//! vaults = ["default"]              # or ["*"]
//!
//! [auth.jwt]                        # optional bearer JWTs
//! hs256_secret_file = "/run/secrets/jwt-secret"   # and/or
//! jwks_file = "/run/secrets/jwks.json"            # RS256 / ES256 public keys
//! issuer = "https://login.example.com/"
//! audience = "weave-nn"
//! subject_claim = "sub"
//! vaults_claim = "weaver_vaults"    # an array, or a space-separated string
//! role_claim = "weaver_role"
//! leeway_secs = 30
//!
//! [log]
//! level = "info"
//! format = "json"                   # or "human"; restart to change
//!
//! [tracing]
//! otlp_endpoint = "http://jaeger:4318"   # restart to change
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use weaver_service::config::{ConfigError, LogConfig, Secret, TracingConfig, layered};

use super::auth::{KeyEntry, Role};

/// Environment variables with this prefix (followed by `__`) are gateway configuration.
const ENV_PREFIX: &str = "WEAVER_GATEWAY";
/// The file read when no `--config` is given, if it exists.
const DEFAULT_FILE: &str = "gateway.toml";

/// The whole gateway configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// The listener and its protections.
    pub server: ServerConfig,
    /// HTTPS.
    pub tls: Option<TlsConfig>,
    /// Where requests go.
    pub upstreams: UpstreamsConfig,
    /// Rate limits.
    pub limits: LimitsConfig,
    /// Who may do what.
    pub auth: AuthConfig,
    /// Logging.
    pub log: LogConfig,
    /// Trace export.
    pub tracing: TracingConfig,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Not reload-safe.
    pub listen: SocketAddr,
    /// Connections served at once. One beyond this waits up to a second for a slot, then is
    /// refused (`503 too_many_connections` over plain HTTP, closed under TLS). Not
    /// reload-safe.
    pub max_connections: usize,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_timeout_secs: u64,
    /// Time for a request head to arrive: from the connection's acceptance for the first
    /// (the TLS handshake included), from the end of the last response for the next one
    /// (HTTP/1 and HTTP/2). A connection that misses it is closed and frees its slot.
    pub header_timeout_secs: u64,
    /// A connection that moves no byte either way for this long is closed. Keep it above the
    /// 15 s keep-alive of `weaver serve`'s event streams, which then stay open.
    pub idle_timeout_secs: u64,
    /// Time for a whole request body to arrive.
    pub body_timeout_secs: u64,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: u64,
    /// Networks (`10.0.0.0/8`, `127.0.0.1/32`) of proxies whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<String>,
    /// Browser origins allowed by CORS (`https://app.example.com`); empty: CORS is off.
    pub allowed_origins: Vec<String>,
    /// When set, `/metrics` requires `Authorization: Bearer <token>` (it names the keys and
    /// counts their requests; `/livez` and `/readyz` stay open for probes).
    pub metrics_token: Option<Secret>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_connections: 4096,
            shutdown_timeout_secs: 30,
            header_timeout_secs: 10,
            idle_timeout_secs: 120,
            body_timeout_secs: 30,
            max_body_bytes: 8 * 1024 * 1024,
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
            metrics_token: None,
        }
    }
}

/// `[tls]`: a PEM certificate chain and private key (`cert_file`, `key_file`).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM.
    pub cert: String,
    /// The private key, PEM.
    pub key: Secret,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// One upstream URL, or a list of equivalent ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum UpstreamUrls {
    /// `api = "http://weaver:3000"`
    One(String),
    /// `api = ["http://weaver-1:3000", "http://weaver-2:3000"]`
    Many(Vec<String>),
}

impl UpstreamUrls {
    /// The URLs, in order.
    pub fn urls(&self) -> &[String] {
        match self {
            Self::One(url) => std::slice::from_ref(url),
            Self::Many(urls) => urls,
        }
    }
}

/// `[upstreams]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamsConfig {
    /// `weaver serve`, for `/api/...`: one URL, or several replicas of a cluster taken in
    /// turn (a request that could not reach one goes to the next).
    pub api: UpstreamUrls,
    /// `weaver mcp --http`, for `/mcp` and `/mcp/{vault}`.
    pub mcp: String,
    /// The vault `/mcp` (without a vault) is authorised for and forwarded to.
    pub default_vault: String,
    /// Time to connect to an upstream.
    pub connect_timeout_secs: u64,
    /// Time for an upstream to start its response (streams then run as long as they last).
    pub response_timeout_secs: u64,
    /// Send a write again (to the next upstream) when its connection broke after it was sent.
    /// Only safe in front of a weaver cluster, whose replicas do a request id once: the
    /// gateway gives every request an `x-request-id`. Reads, and requests that could not be
    /// sent at all, are always tried again.
    pub retry_writes: bool,
}

impl Default for UpstreamsConfig {
    fn default() -> Self {
        Self {
            api: UpstreamUrls::One("http://127.0.0.1:3000".to_owned()),
            mcp: "http://127.0.0.1:3001".to_owned(),
            default_vault: "default".to_owned(),
            connect_timeout_secs: 5,
            response_timeout_secs: 60,
            retry_writes: false,
        }
    }
}

/// `[limits]`: token buckets refilled at `*_per_second`, holding at most `*_burst`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Requests per second per identity (API key or token subject); 0: unlimited.
    pub identity_per_second: u32,
    /// Burst per identity.
    pub identity_burst: u32,
    /// Requests per second per client address, counted before authentication; 0: unlimited.
    pub address_per_second: u32,
    /// Burst per client address.
    pub address_burst: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            identity_per_second: 20,
            identity_burst: 100,
            address_per_second: 50,
            address_burst: 200,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The text of a keys file (`api_keys_file`): `[[keys]]` tables.
    pub api_keys: Option<Secret>,
    /// Keys given inline.
    pub keys: Vec<KeyEntry>,
    /// Bearer JWTs.
    pub jwt: Option<JwtConfig>,
}

/// `[auth.jwt]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// HS256 shared secret (`hs256_secret_file`).
    #[serde(default)]
    pub hs256_secret: Option<Secret>,
    /// A JWK Set (JSON) of RS256 / ES256 public keys (`jwks_file`).
    #[serde(default)]
    pub jwks: Option<String>,
    /// Required `iss`, when set.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Required `aud` (one of), when set.
    #[serde(default)]
    pub audience: Option<String>,
    /// The claim naming the identity.
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    /// The claim listing the vaults (array, or space-separated string; `*` is every vault).
    #[serde(default = "default_vaults_claim")]
    pub vaults_claim: String,
    /// The claim holding the role (`read`, `write`, `admin`).
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// The role when the role claim is absent.
    #[serde(default)]
    pub default_role: Role,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
}

fn default_subject_claim() -> String {
    "sub".to_owned()
}
fn default_vaults_claim() -> String {
    "weaver_vaults".to_owned()
}
fn default_role_claim() -> String {
    "weaver_role".to_owned()
}
fn default_leeway() -> u64 {
    30
}

/// A keys file: what `api_keys_file` names and `weaver gateway keys create --file` writes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysFile {
    /// The keys.
    pub keys: Vec<KeyEntry>,
}

/// Reads the layered gateway configuration; kept to re-read it on reload.
#[derive(Debug, Clone)]
pub struct Loader {
    file: Option<PathBuf>,
    listen: Option<SocketAddr>,
    log_level: Option<String>,
    log_json: bool,
    env: Option<HashMap<String, String>>,
}

/// A loaded configuration with the files it was made of (to watch).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration, validated.
    pub config: GatewayConfig,
    /// The config file and every `*_file` it named.
    pub files: Vec<PathBuf>,
}

impl Loader {
    /// A loader for `file` (when `None`: `./gateway.toml` if it exists) and `--listen`.
    pub fn new(file: Option<PathBuf>, listen: Option<SocketAddr>) -> Result<Self, ConfigError> {
        let file = match file {
            Some(file) if !file.exists() => return Err(ConfigError::MissingFile(file)),
            Some(file) => Some(file),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|f| f.is_file()),
        };
        let file = file.map(|f| std::path::absolute(&f).unwrap_or(f));
        Ok(Self {
            file,
            listen,
            log_level: None,
            log_json: false,
            env: None,
        })
    }

    /// `--log-level` and `--log-json`, which win over the file as for `weaver serve`.
    pub fn with_log(mut self, level: Option<String>, json: bool) -> Self {
        self.log_level = level;
        self.log_json = json;
        self
    }

    /// Uses `env` instead of the process environment (for tests).
    #[cfg(test)]
    pub fn with_env(mut self, env: HashMap<String, String>) -> Self {
        self.env = Some(env);
        self
    }

    /// Reads and validates the whole configuration now.
    pub fn load(&self) -> Result<Loaded, ConfigError> {
        let contents = self
            .file
            .as_ref()
            .map(|path| {
                fs_err::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })
            })
            .transpose()?;
        let (mut config, files): (GatewayConfig, Vec<PathBuf>) = layered(
            self.file.as_deref(),
            contents.as_deref(),
            ENV_PREFIX,
            self.env.clone(),
        )?;
        if let Some(listen) = self.listen {
            config.server.listen = listen;
        }
        if let Some(level) = &self.log_level {
            config.log.level.clone_from(level);
        }
        if self.log_json {
            config.log.format = weaver_service::config::LogFormat::Json;
        }
        validate(&config)?;
        // Absolute, so that each one's folder can be watched (`keys.toml` has the parent ``).
        let mut files: Vec<PathBuf> = files
            .into_iter()
            .map(|f| std::path::absolute(&f).unwrap_or(f))
            .collect();
        if let Some(file) = &self.file {
            files.insert(0, file.clone());
        }
        Ok(Loaded { config, files })
    }

    /// Where the configuration came from, for the start-up log.
    pub fn describe(&self) -> String {
        match &self.file {
            Some(file) => format!("{} + WEAVER_GATEWAY__* environment + flags", file.display()),
            None => "defaults + WEAVER_GATEWAY__* environment + flags (no config file)".to_owned(),
        }
    }
}

/// Checks what the types cannot say (keys, tokens and certificates are checked when the
/// gateway's state is built from the configuration).
fn validate(config: &GatewayConfig) -> Result<(), ConfigError> {
    let invalid = |key: &str, reason: String| {
        Err(ConfigError::Invalid {
            key: key.to_owned(),
            reason,
        })
    };
    let s = &config.server;
    for (key, value) in [
        ("server.header_timeout_secs", s.header_timeout_secs),
        ("server.idle_timeout_secs", s.idle_timeout_secs),
        ("server.body_timeout_secs", s.body_timeout_secs),
        ("server.max_body_bytes", s.max_body_bytes),
        (
            "upstreams.connect_timeout_secs",
            config.upstreams.connect_timeout_secs,
        ),
        (
            "upstreams.response_timeout_secs",
            config.upstreams.response_timeout_secs,
        ),
    ] {
        if value == 0 {
            return invalid(key, "expected a positive number".to_owned());
        }
    }
    if s.metrics_token
        .as_ref()
        .is_some_and(|t| t.expose().is_empty())
    {
        return invalid(
            "server.metrics_token",
            "expected a non-empty token".to_owned(),
        );
    }
    if s.max_connections == 0 {
        return invalid("server.max_connections", "expected at least 1".to_owned());
    }
    for net in &s.trusted_proxies {
        if parse_network(net).is_none() {
            return invalid(
                "server.trusted_proxies",
                format!("`{net}` is not an address or a network such as 10.0.0.0/8"),
            );
        }
    }
    for origin in &s.allowed_origins {
        if axum::http::HeaderValue::from_str(origin).is_err() || !origin.contains("://") {
            return invalid(
                "server.allowed_origins",
                format!("`{origin}` is not an origin such as https://app.example.com"),
            );
        }
    }
    if config.upstreams.api.urls().is_empty() {
        return invalid("upstreams.api", "expected at least one URL".to_owned());
    }
    let api = config.upstreams.api.urls().iter();
    for (key, url) in api
        .map(|url| ("upstreams.api", url))
        .chain([("upstreams.mcp", &config.upstreams.mcp)])
    {
        match url.parse::<axum::http::Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some() => {}
            _ => {
                return invalid(
                    key,
                    format!("`{url}` is not an http:// URL such as http://weaver:3000"),
                );
            }
        }
    }
    if !super::policy::is_vault_name(&config.upstreams.default_vault) {
        return invalid(
            "upstreams.default_vault",
            "vault names use only a-z, 0-9, `_` and `-`".to_owned(),
        );
    }
    if let Err(err) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        return invalid("log.level", format!("`{}`: {err}", config.log.level));
    }
    Ok(())
}

/// An address (`10.1.2.3`) or network (`10.0.0.0/8`).
pub fn parse_network(text: &str) -> Option<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gateway.toml");
        std::fs::write(&file, text).unwrap();
        Loader::new(Some(file), None)
            .unwrap()
            .with_env(
                env.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
            .load()
    }

    #[test]
    fn defaults_file_and_environment_layer() {
        let loaded = load(
            "[upstreams]\napi = \"http://weaver:3000\"\n[limits]\nidentity_per_second = 5\n",
            &[("WEAVER_GATEWAY__LIMITS__ADDRESS_BURST", "7")],
        )
        .unwrap();
        let c = loaded.config;
        assert_eq!(c.upstreams.api.urls(), ["http://weaver:3000"]);
        assert_eq!(c.upstreams.mcp, "http://127.0.0.1:3001");
        assert_eq!(c.limits.identity_per_second, 5);
        assert_eq!(c.limits.address_burst, 7);
        assert_eq!(c.server.max_body_bytes, 8 * 1024 * 1024);
        assert_eq!(loaded.files.len(), 1);
    }

    #[test]
    fn files_named_by_the_config_are_read_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys.toml");
        std::fs::write(&keys, "[[keys]]\nname = \"a\"\n").unwrap();
        let text = format!("[auth]\napi_keys_file = {:?}\n", keys.to_str().unwrap());
        let loaded = load(&text, &[]).unwrap();
        assert_eq!(
            loaded.config.auth.api_keys.unwrap().expose(),
            "[[keys]]\nname = \"a\""
        );
        assert_eq!(loaded.files.get(1), Some(&keys));
    }

    #[test]
    fn bad_values_are_named() {
        for (text, key) in [
            ("[server]\nmax_body_bytes = 0", "server.max_body_bytes"),
            (
                "[server]\ntrusted_proxies = [\"nope\"]",
                "server.trusted_proxies",
            ),
            ("[upstreams]\napi = \"weaver:3000\"", "upstreams.api"),
            ("[upstreams]\napi = \"https://weaver\"", "upstreams.api"),
            (
                "[upstreams]\napi = [\"http://a:3000\", \"b:3000\"]",
                "upstreams.api",
            ),
            (
                "[upstreams]\ndefault_vault = \"A B\"",
                "upstreams.default_vault",
            ),
            (
                "[server]\nallowed_origins = [\"*\"]",
                "server.allowed_origins",
            ),
        ] {
            match load(text, &[]) {
                Err(ConfigError::Invalid { key: got, .. }) => assert_eq!(got, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            load("[server]\nlisten_typo = 1", &[]),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn the_api_upstream_is_one_url_or_a_list() {
        let c = load(
            "[upstreams]\napi = [\"http://weaver-1:3000\", \"http://weaver-2:3000/\"]\n",
            &[],
        )
        .unwrap()
        .config;
        assert_eq!(
            c.upstreams.api.urls(),
            ["http://weaver-1:3000", "http://weaver-2:3000/"]
        );
    }

    #[test]
    fn networks_parse_as_addresses_or_cidrs() {
        assert!(parse_network("10.0.0.0/8").is_some());
        assert!(parse_network("127.0.0.1").is_some());
        assert!(parse_network("::1").is_some());
        assert!(parse_network("10.0.0.0/33").is_none());
    }
}
