//! Connections and the errors of the database.

use postgres::{Client, NoTls};

/// A failure of cluster mode.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The database could not be reached or failed a statement.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database's schema is newer than this binary knows.
    #[error(
        "the database schema is version {found}, newer than this weaver knows ({known}); upgrade weaver"
    )]
    SchemaTooNew {
        /// The version in the database.
        found: i32,
        /// The newest version this binary has.
        known: i32,
    },
    /// The change log of a vault is broken (a gap, a corrupt entry, a file missing).
    #[error("the change log of vault `{vault}` is broken: {reason}")]
    BrokenLog {
        /// The vault.
        vault: String,
        /// What is wrong.
        reason: String,
    },
    /// A vault of that name is not in the database.
    #[error("no vault `{0}` in the database")]
    UnknownVault(String),
    /// Input the caller gave is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The vault engine failed.
    #[error(transparent)]
    App(#[from] weaver_app::AppError),
    /// A local file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<postgres::Error> for ClusterError {
    fn from(e: postgres::Error) -> Self {
        Self::Unavailable(describe(&e))
    }
}

impl From<ClusterError> for weaver_app::AppError {
    fn from(e: ClusterError) -> Self {
        match e {
            ClusterError::App(e) => e,
            other => Self::ClusterUnavailable(other.to_string()),
        }
    }
}

/// A database error in one line: the server's message (and code) when there is one, else the
/// client's. Never the URL (which may hold a password).
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Opens a connection (every host of the URL in turn, as libpq does).
pub(crate) fn connect(url: &str) -> Result<Client, ClusterError> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e: postgres::Error| ClusterError::Invalid(format!("bad database URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(5));
    }
    if config.get_application_name().is_none() {
        config.application_name("weaver");
    }
    // A database behind a broken network (a partition, a node gone without a reset) must fail
    // a connection within seconds, not the kernel's minutes: unacknowledged data for 10 s, or
    // an idle connection unanswered for 10 + 3 x 2 s, ends it, and the replica reconnects.
    if config.get_tcp_user_timeout().is_none_or(|t| t.is_zero()) {
        config.tcp_user_timeout(std::time::Duration::from_secs(10));
    }
    // (Unless the URL set its own: libpq's default idle time is two hours.)
    if config.get_keepalives_idle() >= std::time::Duration::from_secs(7200) {
        config
            .keepalives(true)
            .keepalives_idle(std::time::Duration::from_secs(10))
            .keepalives_interval(std::time::Duration::from_secs(2))
            .keepalives_retries(3);
    }
    Ok(config.connect(NoTls)?)
}
