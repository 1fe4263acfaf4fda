//! `[cluster]`: where the database is and how this replica follows it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// `[cluster]` (also `WEAVER__CLUSTER__*`). Present: the server is a cluster replica and serves
/// the vaults in the database; absent: files on disk are the truth.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// A libpq URL (`postgresql://user:pass@host1,host2/db?target_session_attrs=read-write`);
    /// several hosts are tried in order.
    pub postgres_url: String,
    /// This replica's name in the change log and the logs (default: `$HOSTNAME`, else
    /// `replica`).
    #[serde(default = "default_replica_id")]
    pub replica_id: String,
    /// The replica's local copies and caches (`vaults/NAME`, `cache/NAME`); an `emptyDir` is
    /// enough: everything in it is rebuilt from the database.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The replica is ready only while it has been caught up with the log within this long;
    /// reads with `Weaver-Min-Seq` wait at most this long too.
    #[serde(default = "default_max_staleness_ms")]
    pub max_staleness_ms: u64,
    /// How often the log is polled when no notification arrives.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("postgres_url", &redact_url(&self.postgres_url))
            .field("replica_id", &self.replica_id)
            .field("data_dir", &self.data_dir)
            .field("max_staleness_ms", &self.max_staleness_ms)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .finish()
    }
}

impl ClusterConfig {
    /// Defaults for a database URL.
    pub fn new(postgres_url: impl Into<String>) -> Self {
        Self {
            postgres_url: postgres_url.into(),
            replica_id: default_replica_id(),
            data_dir: default_data_dir(),
            max_staleness_ms: default_max_staleness_ms(),
            poll_interval_ms: default_poll_interval_ms(),
        }
    }

    /// `max_staleness_ms` as a duration.
    pub fn max_staleness(&self) -> Duration {
        Duration::from_millis(self.max_staleness_ms)
    }

    /// `poll_interval_ms` as a duration (at least 10 ms).
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(10))
    }

    /// The local copy of vault `name`.
    pub fn vault_dir(&self, name: &str) -> PathBuf {
        self.data_dir.join("vaults").join(name)
    }

    /// The cache and search index of vault `name` (outside its copy).
    pub fn cache_dir(&self, name: &str) -> PathBuf {
        self.data_dir.join("cache").join(name)
    }

    /// What is wrong with the settings, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.postgres_url.trim().is_empty() {
            return Some("`cluster.postgres_url` is empty".to_owned());
        }
        // Checked as `connect` reads it: the libpq TLS parameters the driver does not know
        // (`sslmode=verify-full`, `sslrootcert`) are taken out first.
        match crate::tls::split_url(&self.postgres_url) {
            Err(e) => return Some(format!("`cluster.postgres_url`: {e}")),
            Ok((url, _)) => {
                if let Err(e) = url.parse::<postgres::Config>() {
                    return Some(format!("`cluster.postgres_url` is not a libpq URL: {e}"));
                }
            }
        }
        if self.replica_id.trim().is_empty() {
            return Some("`cluster.replica_id` is empty".to_owned());
        }
        if self.max_staleness_ms == 0 {
            return Some("`cluster.max_staleness_ms` must be at least 1".to_owned());
        }
        None
    }
}

/// The URL with its password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

fn default_replica_id() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| "replica".to_owned())
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("weaver-data")
}

fn default_max_staleness_ms() -> u64 {
    5_000
}

fn default_poll_interval_ms() -> u64 {
    1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgresql://weaver:s3cret@db:5432/weaver"),
            "postgresql://weaver:***@db:5432/weaver"
        );
        assert_eq!(
            redact_url("postgresql://weaver@db/weaver"),
            "postgresql://weaver@db/weaver"
        );
        let config = ClusterConfig::new("postgresql://u:pw@h/d");
        assert!(!format!("{config:?}").contains("pw"));
    }

    #[test]
    fn bad_urls_are_named() {
        assert!(ClusterConfig::new("postgresql://u@h/d").problem().is_none());
        assert!(ClusterConfig::new("").problem().is_some());
        assert!(
            ClusterConfig::new("postgresql://h/d?sslmode=bogus")
                .problem()
                .is_some()
        );
        // The libpq TLS parameters the driver does not parse itself (the deployment's URL).
        for url in [
            "postgresql://u:pw@db-rw:5432/app?sslmode=verify-full&sslrootcert=/run/secrets/ca.crt",
            "postgresql://u@a:5432,b:5432/d?sslmode=verify-ca&sslrootcert=%2Fca.pem&target_session_attrs=read-write",
            "host=h user=u sslmode=verify-full sslrootcert=/ca.pem",
        ] {
            assert_eq!(ClusterConfig::new(url).problem(), None, "{url}");
        }
    }
}
