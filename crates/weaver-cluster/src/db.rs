//! Connections and the errors of the database.

use postgres::{Client, NoTls};

use crate::tls;

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

/// Opens a connection (every host of the URL in turn, as libpq does), encrypted as the URL's
/// `sslmode` and `sslrootcert` say (see [`crate::tls`]).
pub(crate) fn connect(url: &str) -> Result<Client, ClusterError> {
    let (url, tls_options) = tls::split_url(url)?;
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
    match tls::client_config(&tls_options)? {
        None => Ok(config.connect(NoTls)?),
        Some(client) => Ok(config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(client))?),
    }
}

#[cfg(test)]
mod tests {
    use super::connect;

    use weaver_testkit::tls::Pki;

    /// Whether the session of `url` is encrypted, from the server's own view.
    fn encrypted(url: &str) -> Result<bool, String> {
        let mut client = connect(url).map_err(|e| e.to_string())?;
        let row = client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .map_err(|e| e.to_string())?;
        Ok(row.get(0))
    }

    #[test]
    fn connections_are_encrypted_and_verified_as_sslmode_says() {
        let Some(pg) = weaver_testkit::postgres::Postgres::start() else {
            return;
        };
        let base = pg.database("tls");
        // Plain before TLS is on: the default (`prefer`) falls back to it.
        assert_eq!(encrypted(&base), Ok(false));

        let good = Pki::new(&["127.0.0.1"]);
        pg.require_tls(&good.cert, &good.key);
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, &good.ca).unwrap();
        let other_ca = dir.path().join("other-ca.crt");
        std::fs::write(&other_ca, Pki::new(&["127.0.0.1"]).ca).unwrap();
        let with = |params: &str| format!("{base}?{params}");

        // The server now refuses plain connections (pg_hba `hostssl`).
        let refused = encrypted(&with("sslmode=disable")).unwrap_err();
        assert!(
            refused.contains("no encryption") || refused.contains("pg_hba"),
            "{refused}"
        );
        assert_eq!(encrypted(&base), Ok(true), "prefer encrypts when offered");
        assert_eq!(encrypted(&with("sslmode=require")), Ok(true));
        let verified = format!("sslmode=verify-full&sslrootcert={}", ca.display());
        assert_eq!(encrypted(&with(&verified)), Ok(true));
        assert_eq!(
            encrypted(&with(&format!(
                "sslmode=verify-ca&sslrootcert={}",
                ca.display()
            ))),
            Ok(true)
        );
        // Another CA's certificate is refused, whatever mode verifies.
        for mode in ["verify-full", "verify-ca", "require"] {
            let error = encrypted(&with(&format!(
                "sslmode={mode}&sslrootcert={}",
                other_ca.display()
            )))
            .unwrap_err();
            assert!(error.contains("certificate"), "{mode}: {error}");
        }
    }

    #[test]
    fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
        let Some(pg) = weaver_testkit::postgres::Postgres::start() else {
            return;
        };
        let base = pg.database("names");
        // A certificate for another name than the address connected to.
        let pki = Pki::new(&["db.example.internal"]);
        pg.require_tls(&pki.cert, &pki.key);
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, &pki.ca).unwrap();
        let error = encrypted(&format!(
            "{base}?sslmode=verify-full&sslrootcert={}",
            ca.display()
        ))
        .unwrap_err();
        assert!(error.contains("certificate"), "{error}");
        assert_eq!(
            encrypted(&format!(
                "{base}?sslmode=verify-ca&sslrootcert={}",
                ca.display()
            )),
            Ok(true)
        );
    }
}
