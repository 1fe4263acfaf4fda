//! The service's one typed configuration, layered (later layers win):
//!
//! 1. built-in defaults ([`Config::default`], per-field serde defaults);
//! 2. a TOML file: `--config PATH` or `WEAVER_CONFIG` (must exist when given), otherwise
//!    `./weaver.toml` when there is one;
//! 3. environment variables `WEAVER__SECTION__KEY` (double underscores separate the prefix and
//!    the levels, e.g. `WEAVER__SERVER__LISTEN=0.0.0.0:3000`,
//!    `WEAVER__VAULTS__NOTES__PATH=/vault`); values that look like numbers or booleans are
//!    parsed as such; lists (`ignore`) can only be set in the file;
//! 4. command-line flags (`--listen`, `--vault PATH` = one vault named `default`, replacing the
//!    file's vaults, `--log-level`, `--log-json`).
//!
//! Unknown keys are errors (`deny_unknown_fields` everywhere): a typo fails at start-up, or
//! makes a reload keep the previous configuration.
//!
//! **Secrets from files.** Any string setting `foo` may instead be given as `foo_file`: the path
//! of a file whose content (without the trailing newline) is the value, as Kubernetes mounts
//! Secrets. Giving both is an error. Keys ending in `_file` are reserved for this.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:3000"
//! shutdown_timeout_secs = 30
//! request_timeout_secs = 30
//! max_body_bytes = 5242880
//! allow_blind_writes = false
//! metrics_token_file = "/run/secrets/metrics-token"   # optional bearer token for /metrics
//!
//! [log]
//! level = "info"        # a tracing filter directive
//! format = "human"      # or "json"
//!
//! [watch]
//! debounce_ms = 50
//! rescan_secs = 300
//!
//! [search.semantic]
//! enabled = true                           # with a model: hybrid search by default
//! model_dir = "/usr/share/weaver/models/all-MiniLM-L6-v2"   # default: `weaver model download`'s
//!
//! [vaults.default]
//! path = "/vault"
//! cache_dir = "/data/default"   # optional; default `<path>/.weaver`
//! read_only = false
//! ignore = []
//! max_file_bytes = 10485760
//! ```
//!
//! Reload-safe (applied on a config-file change or SIGHUP): `log.level`, every `server.*` key
//! except `listen`, and the vault list. `server.listen`, `log.format`, `search.*` and `watch.*`
//! need a restart (`watch.*` applies to vaults opened after the change).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use weaver_service::config::layered;
pub use weaver_service::config::{ConfigError, LogConfig, LogFormat, Secret, TracingConfig};

/// Environment variables with this prefix (followed by `__`) are configuration.
const ENV_PREFIX: &str = "WEAVER";
/// The file read when no `--config` is given, if it exists.
const DEFAULT_FILE: &str = "weaver.toml";

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The HTTP server.
    pub server: ServerConfig,
    /// Logging.
    pub log: LogConfig,
    /// The file watchers.
    pub watch: WatchConfig,
    /// Search.
    pub search: SearchConfig,
    /// The MCP endpoint at `/mcp` (Streamable HTTP).
    pub mcp: McpConfig,
    /// Trace export.
    pub tracing: TracingConfig,
    /// The vaults served, by name (`[a-z0-9_-]+`). Empty in cluster mode: the vaults are
    /// the database's.
    pub vaults: BTreeMap<String, VaultConfig>,
    /// Cluster mode (`[cluster]`, `WEAVER__CLUSTER__*`): PostgreSQL holds the vaults and this
    /// server is one of its replicas. Absent: the files on disk are the truth.
    pub cluster: Option<weaver_cluster::ClusterConfig>,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Not reload-safe.
    pub listen: SocketAddr,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_timeout_secs: u64,
    /// Requests that take longer are answered with `request_timeout`.
    pub request_timeout_secs: u64,
    /// Larger request bodies are answered with `body_too_large`.
    pub max_body_bytes: u64,
    /// Whether writes without `If-Match` are accepted (used by the write routes).
    pub allow_blind_writes: bool,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            shutdown_timeout_secs: 30,
            request_timeout_secs: 30,
            max_body_bytes: 5 * 1024 * 1024,
            allow_blind_writes: false,
            metrics_token: None,
        }
    }
}

/// `[mcp]`: the Model Context Protocol endpoint of `weaver serve` at `/mcp` and `/mcp/{vault}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpConfig {
    /// Serve `/mcp` at all.
    pub enabled: bool,
    /// Hide and refuse the write tools (vaults marked `read_only` refuse writes anyway).
    pub read_only: bool,
    /// Accepted `Host` headers (DNS-rebinding protection). The default accepts loopback only;
    /// list the public host names in a deployment, or `[]` behind a proxy that checks `Host`.
    pub allowed_hosts: Vec<String>,
    /// Accepted browser `Origin`s (`https://app.example.com`); empty: not checked.
    pub allowed_origins: Vec<String>,
    /// When not empty, `/mcp` requires `Authorization: Bearer <key>` with a key whose hash is
    /// listed (`sha256:...`, from `weaver keys create`). For direct remote use without the
    /// gateway; reloads with the file.
    pub api_key_hashes: Vec<String>,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            read_only: false,
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: Vec::new(),
            api_key_hashes: Vec::new(),
        }
    }
}

/// `[search]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Semantic search.
    pub semantic: SemanticConfig,
}

/// `[search.semantic]`: search by meaning with a local embedding model (all-MiniLM-L6-v2, run
/// in-process; nothing is downloaded unless `weaver model download` is run).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SemanticConfig {
    /// Use a model when there is one (default true).
    pub enabled: bool,
    /// A model folder in the Hugging Face layout (`config.json`, `tokenizer.json`,
    /// `model.safetensors`). Default: where `weaver model download` puts it
    /// (`$XDG_DATA_HOME/weaver/models/all-MiniLM-L6-v2`), when it is there. A folder that is
    /// missing or broken is logged, naming the file, and leaves semantic search off; keyword
    /// search works either way.
    pub model_dir: Option<PathBuf>,
}

impl Default for SemanticConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            model_dir: None,
        }
    }
}

impl SemanticConfig {
    /// The model these settings ask for, loading in the background (or off, saying why).
    pub fn model(&self) -> std::sync::Arc<weaver_app::SemanticModel> {
        if !self.enabled {
            return weaver_app::SemanticModel::off(
                "turned off (`search.semantic.enabled = false`)",
            );
        }
        weaver_app::SemanticModel::choose(self.model_dir.clone())
    }
}

/// `[watch]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// How long a burst of file events settles before it is indexed.
    pub debounce_ms: u64,
    /// How often each vault is fully reconciled, whatever the events said.
    pub rescan_secs: u64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            debounce_ms: 50,
            rescan_secs: 300,
        }
    }
}

impl WatchConfig {
    /// The watcher options these settings describe.
    pub fn options(&self) -> weaver_app::WatchOptions {
        weaver_app::WatchOptions {
            debounce: std::time::Duration::from_millis(self.debounce_ms),
            rescan: std::time::Duration::from_secs(self.rescan_secs),
        }
    }
}

/// `[vaults.NAME]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// The vault folder.
    pub path: PathBuf,
    /// Where cache and search index live; default `<path>/.weaver`.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Refuse every write (`vault_read_only`).
    #[serde(default)]
    pub read_only: bool,
    /// Extra gitignore-style patterns of files to leave out.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Larger files are recorded with a diagnostic and not parsed.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
}

fn default_max_file_bytes() -> u64 {
    weaver_core::ParseOptions::DEFAULT_MAX_FILE_BYTES
}

impl VaultConfig {
    /// A vault at `path` with default settings.
    pub fn at(path: PathBuf) -> Self {
        Self {
            path,
            cache_dir: None,
            read_only: false,
            ignore: Vec::new(),
            max_file_bytes: default_max_file_bytes(),
        }
    }

    /// How to open this vault.
    pub fn open_options(&self) -> weaver_app::VaultOptions {
        let mut options = weaver_app::VaultOptions::new(&self.path);
        options.cache_dir.clone_from(&self.cache_dir);
        options.max_file_bytes = self.max_file_bytes;
        options.ignore.clone_from(&self.ignore);
        options.read_only = self.read_only;
        options
    }
}

/// Settings given on the command line: the last layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`
    pub listen: Option<SocketAddr>,
    /// `--vault`: serve this one folder as the vault `default`, instead of the file's vaults.
    pub vault: Option<PathBuf>,
    /// `--cache-dir` for the `--vault` vault.
    pub cache_dir: Option<PathBuf>,
    /// `--ignore` patterns for the `--vault` vault.
    pub ignore: Vec<String>,
    /// `--max-file-bytes` for the `--vault` vault.
    pub max_file_bytes: Option<u64>,
    /// `--log-level`
    pub log_level: Option<String>,
    /// `--log-json`
    pub log_json: bool,
}

/// Reads the layered configuration; kept by the server to re-read it on reload.
#[derive(Debug, Clone)]
pub struct Loader {
    file: Option<PathBuf>,
    /// `None` reads the process environment; tests pass their own.
    env: Option<HashMap<String, String>>,
    overrides: Overrides,
}

impl Loader {
    /// A loader for `file` (`--config`/`WEAVER_CONFIG`; when `None`, `./weaver.toml` if it
    /// exists) and the command-line `overrides`.
    pub fn new(file: Option<PathBuf>, overrides: Overrides) -> Result<Self, ConfigError> {
        let file = match file {
            Some(file) if !file.exists() => return Err(ConfigError::MissingFile(file)),
            Some(file) => Some(file),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|f| f.is_file()),
        };
        // An absolute path keeps working for reloads whatever the working folder becomes, and
        // names the file unambiguously in logs.
        let file = file.map(|f| std::path::absolute(&f).unwrap_or(f));
        Ok(Self {
            file,
            env: None,
            overrides,
        })
    }

    /// Uses `env` instead of the process environment (tests, and a service embedded in another
    /// process).
    #[must_use]
    pub fn with_env(mut self, env: HashMap<String, String>) -> Self {
        self.env = Some(env);
        self
    }

    /// The configuration file in use, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Reads the file's current bytes (`None` without a file).
    pub fn read_file(&self) -> Result<Option<String>, ConfigError> {
        self.file
            .as_ref()
            .map(|path| {
                fs_err::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })
            })
            .transpose()
    }

    /// Reads and validates the whole configuration now.
    pub fn load(&self) -> Result<Config, ConfigError> {
        self.load_from(self.read_file()?.as_deref())
    }

    /// Validates the configuration made of `contents` (the file's text, already read), the
    /// environment and the overrides.
    pub fn load_from(&self, contents: Option<&str>) -> Result<Config, ConfigError> {
        let (mut config, _files): (Config, _) =
            layered(self.file.as_deref(), contents, ENV_PREFIX, self.env.clone())?;
        self.apply_overrides(&mut config);
        validate(&config)?;
        Ok(config)
    }

    fn apply_overrides(&self, config: &mut Config) {
        let o = &self.overrides;
        if let Some(listen) = o.listen {
            config.server.listen = listen;
        }
        if let Some(level) = &o.log_level {
            config.log.level.clone_from(level);
        }
        if o.log_json {
            config.log.format = LogFormat::Json;
        }
        if let Some(path) = &o.vault {
            let mut vault = VaultConfig::at(path.clone());
            vault.cache_dir.clone_from(&o.cache_dir);
            vault.ignore.clone_from(&o.ignore);
            if let Some(max) = o.max_file_bytes {
                vault.max_file_bytes = max;
            }
            config.vaults = BTreeMap::from([("default".to_owned(), vault)]);
        }
    }

    /// A one-line description of where the configuration came from, for the start-up log.
    pub fn describe(&self) -> String {
        match &self.file {
            Some(file) => format!("{} + WEAVER__* environment + flags", file.display()),
            None => "defaults + WEAVER__* environment + flags (no config file)".to_owned(),
        }
    }
}

/// Checks what the types cannot say.
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    let invalid = |key: &str, reason: &str| {
        Err(ConfigError::Invalid {
            key: key.to_owned(),
            reason: reason.to_owned(),
        })
    };
    for hash in &config.mcp.api_key_hashes {
        if let Err(reason) = weaver_service::keys::validate_hash(hash) {
            return invalid("mcp.api_key_hashes", &reason);
        }
    }
    if let Some(cluster) = &config.cluster {
        if let Some(problem) = cluster.problem() {
            return invalid("cluster", &problem);
        }
        if !config.vaults.is_empty() {
            return invalid(
                "vaults",
                "in cluster mode the vaults are the database's (`weaver cluster import DIR`); remove `[vaults]` and `--vault`",
            );
        }
    } else if config.vaults.is_empty() {
        return invalid(
            "vaults",
            "no vault configured: pass `--vault PATH` or add a `[vaults.NAME]` section with a `path`",
        );
    }
    for (name, vault) in &config.vaults {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return invalid(
                &format!("vaults.{name}"),
                "vault names use only a-z, 0-9, `_` and `-`",
            );
        }
        if vault.path.as_os_str().is_empty() {
            return invalid(&format!("vaults.{name}.path"), "expected a folder");
        }
        if vault.max_file_bytes == 0 {
            return invalid(
                &format!("vaults.{name}.max_file_bytes"),
                "expected a positive number of bytes",
            );
        }
    }
    if let Err(err) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        return invalid("log.level", &format!("`{}`: {err}", config.log.level));
    }
    if config.server.request_timeout_secs == 0 {
        return invalid(
            "server.request_timeout_secs",
            "expected a positive number of seconds",
        );
    }
    if config.server.max_body_bytes == 0 {
        return invalid(
            "server.max_body_bytes",
            "expected a positive number of bytes",
        );
    }
    if config.watch.debounce_ms == 0 || config.watch.rescan_secs == 0 {
        return invalid("watch", "expected positive `debounce_ms` and `rescan_secs`");
    }
    if config
        .server
        .metrics_token
        .as_ref()
        .is_some_and(|t| t.expose().is_empty())
    {
        return invalid("server.metrics_token", "expected a non-empty token");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn loader(file: Option<&Path>, env_pairs: &[(&str, &str)], overrides: Overrides) -> Loader {
        Loader::new(file.map(Path::to_path_buf), overrides)
            .unwrap()
            .with_env(env(env_pairs))
    }

    const FILE: &str = r#"
        [server]
        listen = "127.0.0.1:1111"
        request_timeout_secs = 5
        shutdown_timeout_secs = 9

        [log]
        level = "debug"

        [vaults.notes]
        path = "/srv/notes"
        ignore = ["drafts/"]
    "#;

    #[test]
    fn layers_apply_in_order_defaults_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weaver.toml");
        std::fs::write(&file, FILE).unwrap();

        // Defaults and the file.
        let config = loader(Some(&file), &[], Overrides::default())
            .load()
            .unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:1111");
        assert_eq!(config.server.request_timeout_secs, 5);
        assert_eq!(config.server.max_body_bytes, 5 * 1024 * 1024, "default");
        assert_eq!(config.log.level, "debug");
        assert_eq!(config.log.format, LogFormat::Human, "default");
        assert_eq!(config.vaults["notes"].ignore, vec!["drafts/"]);
        assert_eq!(config.vaults["notes"].max_file_bytes, 10 * 1024 * 1024);

        // The environment beats the file.
        let env_pairs = [
            ("WEAVER__SERVER__LISTEN", "127.0.0.1:2222"),
            ("WEAVER__SERVER__REQUEST_TIMEOUT_SECS", "7"),
            ("WEAVER__LOG__FORMAT", "json"),
            ("WEAVER__VAULTS__NOTES__READ_ONLY", "true"),
            ("WEAVER_CONFIG", "/not/a/layer"),
            ("UNRELATED", "x"),
        ];
        let config = loader(Some(&file), &env_pairs, Overrides::default())
            .load()
            .unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:2222");
        assert_eq!(config.server.request_timeout_secs, 7);
        assert_eq!(config.server.shutdown_timeout_secs, 9, "file");
        assert_eq!(config.log.format, LogFormat::Json);
        assert!(config.vaults["notes"].read_only);
        assert_eq!(config.vaults["notes"].path, PathBuf::from("/srv/notes"));

        // Flags beat both; `--vault` replaces the vault list.
        let flags = Overrides {
            listen: Some("127.0.0.1:3333".parse().unwrap()),
            vault: Some(PathBuf::from("/x")),
            log_level: Some("warn".to_owned()),
            ..Overrides::default()
        };
        let config = loader(Some(&file), &env_pairs, flags).load().unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:3333");
        assert_eq!(config.server.request_timeout_secs, 7, "env");
        assert_eq!(config.log.level, "warn");
        assert_eq!(
            config.vaults.keys().collect::<Vec<_>>(),
            vec!["default"],
            "--vault replaces the file's vaults"
        );
    }

    #[test]
    fn vaults_can_come_from_the_environment_alone() {
        let config = loader(
            None,
            &[
                ("WEAVER__VAULTS__MY_NOTES__PATH", "/a"),
                ("WEAVER__VAULTS__WORK__PATH", "/b"),
                ("WEAVER__VAULTS__WORK__MAX_FILE_BYTES", "1000"),
            ],
            Overrides::default(),
        )
        .load()
        .unwrap();
        assert_eq!(config.vaults["my_notes"].path, PathBuf::from("/a"));
        assert_eq!(config.vaults["work"].max_file_bytes, 1000);
        assert_eq!(config.server, ServerConfig::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected() {
        let check = |toml: &str, expected: &str| {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("weaver.toml");
            std::fs::write(&file, toml).unwrap();
            let err = loader(Some(&file), &[], Overrides::default())
                .load()
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}\nexpected: {expected}");
        };
        let vault = "[vaults.a]\npath = \"/a\"\n";
        check(&format!("[server]\nlistn = \"x\"\n{vault}"), "listn");
        check(
            &format!("[server]\nlisten = \"nope\"\n{vault}"),
            "server.listen",
        );
        check(&format!("[sever]\nlisten = \"x\"\n{vault}"), "sever");
        check("[vaults.a]\npath = \"/a\"\nreadonly = true\n", "readonly");
        check("[vaults.Bad]\npath = \"/a\"\n", "vaults.Bad");
        check("[vaults.a]\ncache_dir = \"/c\"\n", "path");
        check(&format!("[log]\nlevel = \"[\"\n{vault}"), "log.level");
        check(&format!("[log]\nformat = \"xml\"\n{vault}"), "xml");
        check("[server]\n", "no vault configured");
        check(
            &format!("{vault}[server]\nmax_body_bytes = 0\n"),
            "max_body_bytes",
        );
        check("not toml [", "invalid configuration");
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("token");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let file = dir.path().join("weaver.toml");
        std::fs::write(
            &file,
            format!(
                "[server]\nmetrics_token_file = {:?}\n[vaults.a]\npath = \"/a\"\n",
                secret.display().to_string()
            ),
        )
        .unwrap();
        let config = loader(Some(&file), &[], Overrides::default())
            .load()
            .unwrap();
        let token = config.server.metrics_token.unwrap();
        assert_eq!(token.expose(), "s3cret");
        assert_eq!(format!("{token:?}"), "Secret(***)");

        // From the environment too, and never both.
        let config = loader(
            None,
            &[
                (
                    "WEAVER__SERVER__METRICS_TOKEN_FILE",
                    secret.to_str().unwrap(),
                ),
                ("WEAVER__VAULTS__A__PATH", "/a"),
            ],
            Overrides::default(),
        )
        .load()
        .unwrap();
        assert_eq!(config.server.metrics_token.unwrap().expose(), "s3cret");
        let err = loader(
            Some(&file),
            &[("WEAVER__SERVER__METRICS_TOKEN", "other")],
            Overrides::default(),
        )
        .load()
        .unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");

        let err = loader(
            None,
            &[
                ("WEAVER__SERVER__METRICS_TOKEN_FILE", "/does/not/exist"),
                ("WEAVER__VAULTS__A__PATH", "/a"),
            ],
            Overrides::default(),
        )
        .load()
        .unwrap_err();
        assert!(err.to_string().contains("/does/not/exist"), "{err}");
    }

    #[test]
    fn an_explicit_missing_file_fails_fast() {
        let err = Loader::new(
            Some(PathBuf::from("/no/such/weaver.toml")),
            Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config file `/no/such/weaver.toml` does not exist"
        );
    }
}
