//! The configuration pieces every service shares: layering (TOML file, then
//! `<PREFIX>__SECTION__KEY` environment variables, with `foo_file` secrets read from files), the
//! `[log]` and `[tracing]` sections, [`Secret`] and [`ConfigError`].
//!
//! **Secrets from files.** Any string setting `foo` may instead be given as `foo_file`: the path
//! of a file whose content (without the trailing newline) is the value, as Kubernetes mounts
//! Secrets. Giving both is an error. Keys ending in `_file` are reserved for this.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Suffix of keys whose value is read from a file.
const FILE_SUFFIX: &str = "_file";

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file given with `--config` or `WEAVER_CONFIG` does not exist.
    #[error("config file `{}` does not exist", .0.display())]
    MissingFile(PathBuf),
    /// The file could not be read.
    #[error("cannot read config file `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The layered configuration does not parse into the service's configuration (unknown key, wrong type, bad
    /// TOML).
    #[error("invalid configuration{}: {source}", origin(.file.as_deref()))]
    Parse {
        /// The file, if one was read.
        file: Option<PathBuf>,
        /// What the parser said (boxed: it is large, and every `Result` carries its size).
        source: Box<config::ConfigError>,
    },
    /// A `foo_file` secret could not be read.
    #[error("cannot read `{key}` from file `{}`: {source}", path.display())]
    SecretFile {
        /// The key, such as `server.metrics_token_file`.
        key: String,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Both `foo` and `foo_file` were given, or `foo_file` is not a string.
    #[error("invalid `{key}`: {reason}")]
    SecretKey {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A value parsed but is not acceptable.
    #[error("invalid `{key}`: {reason}")]
    Invalid {
        /// The key, such as `vaults.My Notes`.
        key: String,
        /// What was expected.
        reason: String,
    },
}

fn origin(file: Option<&Path>) -> String {
    file.map(|f| format!(" in `{}` or the environment", f.display()))
        .unwrap_or_default()
}

/// `[tracing]`: OpenTelemetry trace export over OTLP/HTTP. Off unless an endpoint is set here
/// or in `OTEL_EXPORTER_OTLP_ENDPOINT`. Not reload-safe.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    /// OTLP/HTTP base URL, such as `http://jaeger:4318` (`/v1/traces` is appended).
    pub otlp_endpoint: Option<String>,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter (`info`, `weaver=debug,tower_http=info`, ...). Reload-safe.
    pub level: String,
    /// Output format. Not reload-safe.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Human,
        }
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One compact line per event, for people.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A secret string: never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Parses the layers shared by every service's configuration: `contents` (the TOML file's text,
/// already read from `file`), then `<env_prefix>__SECTION__KEY` variables (`env`, or the
/// process environment when `None`), with `foo_file` keys replaced by the files' contents. Also
/// returns the files so read, for a reload to watch.
pub fn layered<T: serde::de::DeserializeOwned>(
    file: Option<&Path>,
    contents: Option<&str>,
    env_prefix: &str,
    env: Option<HashMap<String, String>>,
) -> Result<(T, Vec<PathBuf>), ConfigError> {
    let parse = |source| ConfigError::Parse {
        file: file.map(Path::to_path_buf),
        source: Box::new(source),
    };
    let mut builder = config::Config::builder();
    if let Some(text) = contents {
        builder = builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
    }
    let env = config::Environment::with_prefix(env_prefix)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(env);
    let merged: serde_json::Value = builder
        .add_source(env)
        .build()
        .and_then(config::Config::try_deserialize)
        .map_err(parse)?;
    let mut files = Vec::new();
    let resolved = resolve_secret_files(merged, "", &mut files)?;
    // Back through `config` so that its lenient typing applies (`"8080"` from the
    // environment is a fine `u64`, `123` a fine string) and errors name the key.
    let config: T = config::Config::try_from(&resolved)
        .and_then(config::Config::try_deserialize)
        .map_err(parse)?;
    Ok((config, files))
}

/// Replaces every `foo_file = "path"` by `foo = "<content of path>"`, recursively; the paths
/// read are added to `files`.
fn resolve_secret_files(
    value: serde_json::Value,
    prefix: &str,
    files: &mut Vec<PathBuf>,
) -> Result<serde_json::Value, ConfigError> {
    let serde_json::Value::Object(map) = value else {
        return Ok(value);
    };
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match key.strip_suffix(FILE_SUFFIX) {
            Some(field) if !field.is_empty() => {
                let serde_json::Value::String(path) = value else {
                    return Err(ConfigError::SecretKey {
                        key: full,
                        reason: "expected the path of a file".to_owned(),
                    });
                };
                let path = PathBuf::from(path);
                let content =
                    fs_err::read_to_string(&path).map_err(|source| ConfigError::SecretFile {
                        key: full.clone(),
                        path: path.clone(),
                        source,
                    })?;
                let content = content.trim_end_matches(['\n', '\r']).to_owned();
                files.push(path);
                if out
                    .insert(field.to_owned(), serde_json::Value::String(content))
                    .is_some()
                {
                    return Err(both_given(prefix, field));
                }
            }
            _ => {
                let value = resolve_secret_files(value, &full, files)?;
                if out.insert(key.clone(), value).is_some() {
                    return Err(both_given(prefix, &key));
                }
            }
        }
    }
    Ok(serde_json::Value::Object(out))
}

fn both_given(prefix: &str, field: &str) -> ConfigError {
    let key = if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    };
    ConfigError::SecretKey {
        reason: format!("give either `{key}` or `{key}{FILE_SUFFIX}`, not both"),
        key,
    }
}
