//! TLS to PostgreSQL, configured the way libpq is: `sslmode` and `sslrootcert` in the URL.
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | no | - |
//! | `prefer` (the default) | when the server offers it | no |
//! | `require` | yes, or the connection fails | no; with `sslrootcert`, as `verify-ca` |
//! | `verify-ca` | yes | signed by the CA of `sslrootcert` |
//! | `verify-full` | yes | signed by that CA and naming the host connected to |
//!
//! `sslrootcert` is a PEM file of CA certificates (a CloudNativePG cluster's `*-ca` secret,
//! mounted); without it `verify-ca` and `verify-full` use `~/.postgresql/root.crt` as libpq
//! does, and fail with a clear error when that is absent. Client certificates (`sslcert`,
//! `sslkey`) are refused with an error rather than ignored. The PostgreSQL driver does not know
//! the libpq-only parameters, so they are taken out of the URL here and the driver is told
//! `sslmode=require` for the two verifying modes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::db::ClusterError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Never encrypt.
    Disable,
    /// Encrypt when the server offers it; no certificate check.
    Prefer,
    /// Encrypt; no certificate check.
    Require,
    /// Encrypt; the certificate must chain to the root certificates.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host.
    VerifyFull,
}

/// How one connection is secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsOptions {
    /// The mode asked for.
    pub mode: SslMode,
    /// `sslrootcert`: PEM file of CA certificates.
    pub root_cert: Option<PathBuf>,
}

/// Splits the libpq TLS parameters out of `url` (URL or `key=value` form): the URL the driver
/// can parse, and the options.
pub(crate) fn split_url(url: &str) -> Result<(String, TlsOptions), ClusterError> {
    let mut options = TlsOptions {
        mode: SslMode::Prefer,
        root_cert: None,
    };
    let mut take = |key: &str, value: &str| -> Result<Option<String>, ClusterError> {
        match key {
            "sslmode" => {
                options.mode = match value {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(ClusterError::Invalid(format!(
                            "bad database URL: sslmode `{other}` is not one of disable, allow, \
                             prefer, require, verify-ca, verify-full"
                        )));
                    }
                };
                // The driver knows disable, prefer and require; it encrypts for the others.
                Ok(Some(
                    match options.mode {
                        SslMode::Disable => "disable",
                        SslMode::Prefer => "prefer",
                        _ => "require",
                    }
                    .to_owned(),
                ))
            }
            "sslrootcert" => {
                if value == "system" {
                    return Err(ClusterError::Invalid(
                        "bad database URL: sslrootcert=system is not supported; name the CA \
                         certificate file"
                            .to_owned(),
                    ));
                }
                options.root_cert = Some(PathBuf::from(value));
                Ok(None)
            }
            "sslcert" | "sslkey" | "sslpassword" => Err(ClusterError::Invalid(format!(
                "bad database URL: client certificates (`{key}`) are not supported; use \
                 password authentication over TLS"
            ))),
            _ => Ok(Some(value.to_owned())),
        }
    };
    let rebuilt = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                    let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
                    let value = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
                    if let Some(value) = take(key, &value)? {
                        // A rewritten `sslmode` is a plain word; others are kept as written.
                        kept.push(if key == "sslmode" {
                            format!("sslmode={value}")
                        } else {
                            pair.to_owned()
                        });
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        // `host=... sslmode=...`: whitespace-separated, values without spaces or quotes.
        let mut kept = Vec::new();
        for pair in url.split_whitespace() {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if let Some(value) = take(key, value)? {
                kept.push(format!("{key}={value}"));
            }
        }
        kept.join(" ")
    };
    Ok((rebuilt, options))
}

/// The rustls client configuration for `options`; `None` for `disable`.
pub(crate) fn client_config(options: &TlsOptions) -> Result<Option<ClientConfig>, ClusterError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ClusterError::Invalid(format!("TLS setup failed: {e}")))?;
    let root_file = options.root_cert.clone().or_else(|| {
        matches!(options.mode, SslMode::VerifyCa | SslMode::VerifyFull)
            .then(default_root_cert)
            .flatten()
    });
    let verifier: Arc<dyn ServerCertVerifier> = match (options.mode, &root_file) {
        (SslMode::Disable, _) => return Ok(None),
        (SslMode::Prefer, _) | (SslMode::Require, None) => {
            Arc::new(EncryptOnly(Arc::clone(&provider)))
        }
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(ClusterError::Invalid(
                "sslmode=verify-ca and verify-full need the CA certificate: add \
                 sslrootcert=FILE to the database URL (or put it in ~/.postgresql/root.crt)"
                    .to_owned(),
            ));
        }
        (mode, Some(file)) => {
            let roots = load_roots(file)?;
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| ClusterError::Invalid(format!("TLS setup failed: {e}")))?;
            if mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
    };
    Ok(Some(
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
    ))
}

/// libpq's default root certificate file, when it exists.
fn default_root_cert() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let file = Path::new(&home).join(".postgresql/root.crt");
    file.is_file().then_some(file)
}

fn load_roots(file: &Path) -> Result<RootCertStore, ClusterError> {
    let bad =
        |why: String| ClusterError::Invalid(format!("sslrootcert `{}`: {why}", file.display()));
    let pem = std::fs::read(file).map_err(|e| bad(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("not a PEM certificate file ({e})")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("unusable certificate ({e})")))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no certificate".to_owned()));
    }
    Ok(roots)
}

/// `prefer` and `require`: the connection is encrypted, the certificate is not checked (as
/// libpq does); the handshake's signatures still are.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name in the certificate may differ
/// from the host (a database reached through an address its certificate does not list).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The chain is checked before the name: a name error means the chain held.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, TlsOptions) {
        split_url(url).unwrap()
    }

    #[test]
    fn libpq_parameters_are_taken_out_of_urls() {
        let (url, options) = split(
            "postgresql://u@db-rw:5432,db-ro:5432/weaver?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.crt&target_session_attrs=read-write",
        );
        assert_eq!(
            url,
            "postgresql://u@db-rw:5432,db-ro:5432/weaver?sslmode=require&target_session_attrs=read-write"
        );
        assert_eq!(options.mode, SslMode::VerifyFull);
        assert_eq!(options.root_cert, Some(PathBuf::from("/etc/ca.crt")));

        let (url, options) = split("postgresql://u@h/d");
        assert_eq!(
            (url.as_str(), options.mode),
            ("postgresql://u@h/d", SslMode::Prefer)
        );
        let (url, options) = split("postgresql://u@h/d?sslrootcert=/ca.pem");
        assert_eq!(url, "postgresql://u@h/d");
        assert_eq!(options.root_cert, Some(PathBuf::from("/ca.pem")));

        let (url, options) = split("host=h user=u sslmode=verify-ca sslrootcert=/ca.pem");
        assert_eq!(url, "host=h user=u sslmode=require");
        assert_eq!(options.mode, SslMode::VerifyCa);
        let (_, options) = split("host=h sslmode=disable");
        assert_eq!(options.mode, SslMode::Disable);
    }

    #[test]
    fn unsupported_parameters_are_refused_by_name() {
        for (url, needle) in [
            ("postgresql://h/d?sslmode=sometimes", "sslmode `sometimes`"),
            (
                "postgresql://h/d?sslcert=/c.pem",
                "client certificates (`sslcert`)",
            ),
            ("host=h sslkey=/k.pem", "client certificates (`sslkey`)"),
            ("postgresql://h/d?sslrootcert=system", "sslrootcert=system"),
        ] {
            let error = split_url(url).unwrap_err().to_string();
            assert!(error.contains(needle), "{url}: {error}");
        }
    }

    #[test]
    fn verifying_modes_need_a_readable_ca_file() {
        let options = |mode, root_cert: Option<&str>| TlsOptions {
            mode,
            root_cert: root_cert.map(PathBuf::from),
        };
        assert!(
            client_config(&options(SslMode::Disable, None))
                .unwrap()
                .is_none()
        );
        assert!(
            client_config(&options(SslMode::Require, None))
                .unwrap()
                .is_some()
        );
        let missing = client_config(&options(SslMode::VerifyFull, Some("/nonexistent/ca.pem")))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let junk_error = client_config(&options(SslMode::VerifyCa, junk.to_str()))
            .unwrap_err()
            .to_string();
        assert!(junk_error.contains("holds no certificate"), "{junk_error}");
    }
}
