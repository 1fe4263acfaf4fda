//! Who is calling: API keys (stored as hashes, compared in constant time) and, optionally,
//! bearer JWTs (HS256 with a shared secret, RS256/ES256 with a JWK Set), each mapped to an
//! [`Identity`]: a name, a [`Role`] and the vaults it may reach.

use std::collections::HashSet;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::config::{AuthConfig, JwtConfig, KeysFile};
use weaver_service::keys;

/// What an identity may do, in increasing order: each role includes the ones before it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read notes, search, query the graph.
    #[default]
    Read,
    /// Also create, edit, move and delete notes (to the vault's `.trash/`).
    Write,
    /// Also delete notes permanently.
    Admin,
}

impl Role {
    /// Its name, as configured and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// One API key: `[[keys]]` in a keys file or `[[auth.keys]]` in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Who holds it (`[A-Za-z0-9._-]`, unique): logged and used as a metrics label.
    pub name: String,
    /// `sha256:<64 hex digits>` of the key.
    pub hash: String,
    /// What it may do.
    pub role: Role,
    /// The vaults it may reach; `*` is every vault.
    pub vaults: Vec<String>,
}

/// The vaults an identity may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vaults {
    /// Every vault (`*`).
    All,
    /// Only these.
    Only(HashSet<String>),
}

impl Vaults {
    fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = HashSet::new();
        for name in names {
            if name == "*" {
                return Self::All;
            }
            set.insert(name.to_owned());
        }
        Self::Only(set)
    }

    /// Whether `vault` is among them.
    pub fn allows(&self, vault: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set.contains(vault),
        }
    }
}

/// How an identity proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// An API key.
    Key,
    /// A JWT.
    Jwt,
}

/// A caller the gateway recognised.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The key's name or the token's subject.
    pub name: Arc<str>,
    /// How it authenticated.
    pub method: Method,
    /// What it may do.
    pub role: Role,
    /// Where.
    pub vaults: Vaults,
}

impl Identity {
    /// A bounded metrics label: the key's name (keys are configured, so few), or `jwt` for
    /// every token subject (subjects are unbounded).
    pub fn label(&self) -> String {
        match self.method {
            Method::Key => format!("key:{}", self.name),
            Method::Jwt => "jwt".to_owned(),
        }
    }

    /// The rate-limit bucket: one per key, one per token subject.
    pub fn bucket(&self) -> String {
        match self.method {
            Method::Key => format!("key:{}", self.name),
            Method::Jwt => format!("jwt:{}", self.name),
        }
    }
}

/// Why a request is not authenticated. Messages never contain the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer credential: send `Authorization: Bearer <API key or token>`")]
    Missing,
    /// A credential that matches no key, or a token that does not verify.
    #[error("invalid credential")]
    Invalid(String),
}

/// A stored key: its digest and its identity.
struct StoredKey {
    digest: [u8; 32],
    identity: Arc<Identity>,
}

/// The configured keys and token verifier; rebuilt on every reload.
pub struct Authenticator {
    keys: Vec<StoredKey>,
    jwt: Option<JwtVerifier>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.keys.len())
            .field("jwt", &self.jwt.is_some())
            .finish()
    }
}

impl Authenticator {
    /// Builds the keys (from the keys file and inline) and the token verifier, checking
    /// every entry; the error names the offending one.
    pub fn new(config: &AuthConfig) -> Result<Self, String> {
        let mut entries = config.keys.clone();
        if let Some(text) = &config.api_keys {
            let file: KeysFile =
                toml_from_str(text.expose()).map_err(|e| format!("auth.api_keys_file: {e}"))?;
            entries.extend(file.keys);
        }
        let mut names = HashSet::new();
        let mut keys = Vec::with_capacity(entries.len());
        for entry in entries {
            check_entry(&entry)?;
            if !names.insert(entry.name.clone()) {
                return Err(format!("key name `{}` is used twice", entry.name));
            }
            let digest = parse_digest(&entry.hash)
                .ok_or_else(|| format!("key `{}`: invalid hash", entry.name))?;
            if keys.iter().any(|k: &StoredKey| k.digest == digest) {
                return Err(format!(
                    "key `{}`: the same hash is listed twice",
                    entry.name
                ));
            }
            keys.push(StoredKey {
                digest,
                identity: Arc::new(Identity {
                    name: Arc::from(entry.name.as_str()),
                    method: Method::Key,
                    role: entry.role,
                    vaults: Vaults::from_names(entry.vaults.iter().map(String::as_str)),
                }),
            });
        }
        let jwt = config.jwt.as_ref().map(JwtVerifier::new).transpose()?;
        Ok(Self { keys, jwt })
    }

    /// How many keys are configured.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Whether bearer JWTs are accepted.
    pub fn accepts_tokens(&self) -> bool {
        self.jwt.is_some()
    }

    /// The identity behind a request's `Authorization` header.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Arc<Identity>, AuthError> {
        let credential = keys::bearer(authorization).ok_or(AuthError::Missing)?;
        if credential.starts_with(keys::KEY_PREFIX) {
            return self.key(credential);
        }
        match &self.jwt {
            Some(jwt) => jwt.verify(credential).map(Arc::new),
            None => Err(AuthError::Invalid("not an API key".to_owned())),
        }
    }

    /// Looks `key` up: its digest is compared with every stored one in constant time, and the
    /// match (if any) is selected without an early exit.
    fn key(&self, key: &str) -> Result<Arc<Identity>, AuthError> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut found: Option<&StoredKey> = None;
        for stored in &self.keys {
            let equal: bool = stored.digest.ct_eq(&digest).into();
            if equal {
                found = Some(stored);
            }
        }
        found
            .map(|k| Arc::clone(&k.identity))
            .ok_or_else(|| AuthError::Invalid("unknown API key".to_owned()))
    }
}

fn check_entry(entry: &KeyEntry) -> Result<(), String> {
    if !is_key_name(&entry.name) {
        return Err(format!(
            "key name `{}`: use 1 to 64 of A-Z, a-z, 0-9, `.`, `_` and `-`",
            entry.name
        ));
    }
    keys::validate_hash(&entry.hash).map_err(|e| format!("key `{}`: {e}", entry.name))?;
    if entry.vaults.is_empty() {
        return Err(format!(
            "key `{}`: list its vaults (or `*` for every vault)",
            entry.name
        ));
    }
    for vault in &entry.vaults {
        if vault != "*" && !super::policy::is_vault_name(vault) {
            return Err(format!(
                "key `{}`: `{vault}` is not a vault name",
                entry.name
            ));
        }
    }
    Ok(())
}

/// Whether `name` is a valid key name.
pub fn is_key_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn parse_digest(hash: &str) -> Option<[u8; 32]> {
    let hex = hash.strip_prefix(keys::HASH_PREFIX)?;
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = hex.get(2 * i..2 * i + 2)?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// TOML through the `config` crate (the one TOML reader of the project).
pub fn toml_from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .and_then(config::Config::try_deserialize)
        .map_err(|e| e.to_string())
}

/// Verifies bearer JWTs and maps their claims to an identity.
struct JwtVerifier {
    hs256: Option<DecodingKey>,
    jwks: Option<JwkSet>,
    config: JwtConfig,
}

impl JwtVerifier {
    fn new(config: &JwtConfig) -> Result<Self, String> {
        let hs256 = match &config.hs256_secret {
            Some(secret) if secret.expose().len() < 32 => {
                return Err("auth.jwt.hs256_secret: use at least 32 bytes".to_owned());
            }
            Some(secret) => Some(DecodingKey::from_secret(secret.expose().as_bytes())),
            None => None,
        };
        let jwks = config
            .jwks
            .as_deref()
            .map(|text| {
                let set: JwkSet = serde_json::from_str(text)
                    .map_err(|e| format!("auth.jwt.jwks_file: not a JWK Set: {e}"))?;
                for jwk in &set.keys {
                    DecodingKey::from_jwk(jwk)
                        .map_err(|e| format!("auth.jwt.jwks_file: unusable key: {e}"))?;
                }
                Ok::<_, String>(set)
            })
            .transpose()?;
        if hs256.is_none() && jwks.is_none() {
            return Err("auth.jwt: give `hs256_secret_file` or `jwks_file`".to_owned());
        }
        Ok(Self {
            hs256,
            jwks,
            config: config.clone(),
        })
    }

    fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let invalid = |why: String| AuthError::Invalid(why);
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        let key = match header.alg {
            Algorithm::HS256 => self
                .hs256
                .clone()
                .ok_or_else(|| invalid("HS256 tokens are not accepted".to_owned()))?,
            Algorithm::RS256 | Algorithm::ES256 => {
                let set = self
                    .jwks
                    .as_ref()
                    .ok_or_else(|| invalid("no JWK Set configured".to_owned()))?;
                let jwk = match &header.kid {
                    Some(kid) => set.find(kid),
                    None if set.keys.len() == 1 => set.keys.first(),
                    None => None,
                }
                .ok_or_else(|| invalid("no matching key in the JWK Set".to_owned()))?;
                DecodingKey::from_jwk(jwk).map_err(|e| invalid(e.to_string()))?
            }
            other => return Err(invalid(format!("algorithm {other:?} is not accepted"))),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.config.leeway_secs;
        validation.validate_nbf = true;
        match &self.config.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.config.issuer {
            validation.set_issuer(&[iss]);
        }
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| invalid(e.to_string()))?;
        let claims = data.claims;
        let name = claims
            .get(&self.config.subject_claim)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(format!("no `{}` claim", self.config.subject_claim)))?;
        let role = match claims.get(&self.config.role_claim) {
            None => self.config.default_role,
            Some(value) => value
                .as_str()
                .and_then(Role::parse)
                .ok_or_else(|| invalid(format!("`{}` is not a role", self.config.role_claim)))?,
        };
        let vaults = match claims.get(&self.config.vaults_claim) {
            Some(serde_json::Value::String(s)) => Vaults::from_names(s.split_whitespace()),
            Some(serde_json::Value::Array(items)) => {
                Vaults::from_names(items.iter().filter_map(serde_json::Value::as_str))
            }
            _ => Vaults::Only(HashSet::new()),
        };
        Ok(Identity {
            name: Arc::from(name),
            method: Method::Jwt,
            role,
            vaults,
        })
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};

    use super::*;
    use weaver_service::config::Secret;

    fn entry(name: &str, key: &str, role: Role, vaults: &[&str]) -> KeyEntry {
        KeyEntry {
            name: name.to_owned(),
            hash: keys::hash(key),
            role,
            vaults: vaults.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn secret(text: &str) -> Secret {
        serde_json::from_value(serde_json::json!(text)).unwrap()
    }

    #[test]
    fn keys_map_to_their_identities() {
        let alice = keys::generate().unwrap();
        let bob = keys::generate().unwrap();
        let config = AuthConfig {
            keys: vec![entry("alice", &alice, Role::Write, &["notes"])],
            api_keys: Some(secret(&format!(
                "[[keys]]\nname = \"bob\"\nhash = \"{}\"\nrole = \"read\"\nvaults = [\"*\"]\n",
                keys::hash(&bob)
            ))),
            jwt: None,
        };
        let auth = Authenticator::new(&config).unwrap();
        assert_eq!(auth.key_count(), 2);
        let a = auth.authenticate(Some(&format!("Bearer {alice}"))).unwrap();
        assert_eq!((&*a.name, a.role), ("alice", Role::Write));
        assert!(a.vaults.allows("notes") && !a.vaults.allows("other"));
        let b = auth.authenticate(Some(&format!("bearer {bob}"))).unwrap();
        assert_eq!(
            (&*b.name, b.role, b.vaults.clone()),
            ("bob", Role::Read, Vaults::All)
        );
        assert_eq!(b.label(), "key:bob");
        assert_eq!(auth.authenticate(None).unwrap_err(), AuthError::Missing);
        assert!(matches!(
            auth.authenticate(Some("Bearer wvr_nope")),
            Err(AuthError::Invalid(_))
        ));
        assert!(matches!(
            auth.authenticate(Some("Bearer a.b.c")),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn bad_entries_are_refused_with_their_name() {
        let k = keys::generate().unwrap();
        for (entries, needle) in [
            (vec![entry("a b", &k, Role::Read, &["x"])], "key name"),
            (vec![entry("a", &k, Role::Read, &[])], "list its vaults"),
            (
                vec![entry("a", &k, Role::Read, &["Bad Vault"])],
                "not a vault",
            ),
            (
                vec![
                    entry("a", &k, Role::Read, &["x"]),
                    entry("a", "other", Role::Read, &["x"]),
                ],
                "used twice",
            ),
            (
                vec![
                    entry("a", &k, Role::Read, &["x"]),
                    entry("b", &k, Role::Read, &["x"]),
                ],
                "listed twice",
            ),
        ] {
            let config = AuthConfig {
                keys: entries,
                ..AuthConfig::default()
            };
            let err = Authenticator::new(&config).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
        let config = AuthConfig {
            api_keys: Some(secret(
                "[[keys]]\nname = \"a\"\nhash = \"sha256:00\"\nrole = \"read\"\nvaults = [\"x\"]",
            )),
            ..AuthConfig::default()
        };
        assert!(Authenticator::new(&config).unwrap_err().contains("`a`"));
    }

    fn jwt_config(secret_text: &str) -> JwtConfig {
        serde_json::from_value(serde_json::json!({
            "hs256_secret": secret_text,
            "issuer": "https://login.example.com/",
            "audience": "weave-nn",
        }))
        .unwrap()
    }

    fn token(secret_text: &str, claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret_text.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn hs256_tokens_map_claims_to_scopes() {
        let secret_text = "0123456789abcdef0123456789abcdef";
        let auth = Authenticator::new(&AuthConfig {
            jwt: Some(jwt_config(secret_text)),
            ..AuthConfig::default()
        })
        .unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let good = serde_json::json!({
            "sub": "carol", "iss": "https://login.example.com/", "aud": "weave-nn",
            "exp": now + 600, "weaver_role": "write", "weaver_vaults": "notes work",
        });
        let id = auth
            .authenticate(Some(&format!(
                "Bearer {}",
                token(secret_text, good.clone())
            )))
            .unwrap();
        assert_eq!(
            (&*id.name, id.role, id.method),
            ("carol", Role::Write, Method::Jwt)
        );
        assert!(id.vaults.allows("work") && !id.vaults.allows("x"));
        assert_eq!(id.label(), "jwt");

        let mut expired = good.clone();
        expired["exp"] = serde_json::json!(now - 600);
        let mut wrong_aud = good.clone();
        wrong_aud["aud"] = serde_json::json!("someone-else");
        let mut bad_role = good.clone();
        bad_role["weaver_role"] = serde_json::json!("root");
        for (claims, key) in [
            (expired, secret_text),
            (wrong_aud, secret_text),
            (bad_role, secret_text),
            (good, "another secret of at least 32 bytes!"),
        ] {
            let bearer = format!("Bearer {}", token(key, claims.clone()));
            assert!(
                matches!(auth.authenticate(Some(&bearer)), Err(AuthError::Invalid(_))),
                "{claims}"
            );
        }
        assert!(
            Authenticator::new(&AuthConfig {
                jwt: Some(jwt_config("short")),
                ..AuthConfig::default()
            })
            .is_err()
        );
    }

    #[test]
    fn es256_tokens_verify_against_a_jwks() {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let point = pair.public_key_raw();
        let (x, y) = point.get(1..).unwrap().split_at(32);
        let jwks = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
            "x": keys::base64url(x), "y": keys::base64url(y),
        }]});
        let config: JwtConfig = serde_json::from_value(serde_json::json!({
            "jwks": jwks.to_string(),
            "default_role": "read",
        }))
        .unwrap();
        let auth = Authenticator::new(&AuthConfig {
            jwt: Some(config),
            ..AuthConfig::default()
        })
        .unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".to_owned());
        let claims = serde_json::json!({
            "sub": "agent-7", "exp": jsonwebtoken::get_current_timestamp() + 60,
            "weaver_vaults": ["default"],
        });
        let token = encode(
            &header,
            &claims,
            &EncodingKey::from_ec_der(&pair.serialize_der()),
        )
        .unwrap();
        let id = auth.authenticate(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!((&*id.name, id.role), ("agent-7", Role::Read));
        assert!(id.vaults.allows("default"));
        // An HS256 token is refused when only a JWKS is configured (no algorithm confusion).
        let forged = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(jwks.to_string().as_bytes()),
        )
        .unwrap();
        assert!(
            auth.authenticate(Some(&format!("Bearer {forged}")))
                .is_err()
        );
    }
}
