//! API keys: generated once, shown once, stored only as SHA-256 hashes, compared in constant time.
//!
//! A key looks like `wvr_<43 base64url characters>` (256 random bits); its stored form is
//! `sha256:<64 hex digits>`. Configuration holds only the hashes, so a leaked config file does
//! not leak a key, and a key is checked without an early exit on the first differing byte.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of every key, so a leaked one is recognisable in logs and scanners.
pub const KEY_PREFIX: &str = "wvr_";
/// Prefix of a stored hash.
pub const HASH_PREFIX: &str = "sha256:";

/// A new random key.
pub fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(format!("{KEY_PREFIX}{}", base64url(&bytes)))
}

/// The stored form of `key`.
pub fn hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(HASH_PREFIX.len() + 64);
    out.push_str(HASH_PREFIX);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Checks that `hash` is a stored key hash (`sha256:` and 64 hex digits).
pub fn validate_hash(hash: &str) -> Result<(), String> {
    let hex = hash
        .strip_prefix(HASH_PREFIX)
        .ok_or_else(|| format!("`{hash}` does not start with `{HASH_PREFIX}`"))?;
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "`{hash}`: expected {HASH_PREFIX} and 64 hex digits"
        ))
    }
}

/// True when `key` hashes to one of `hashes`. Every stored hash is compared, in constant time.
pub fn matches(key: &str, hashes: &[String]) -> bool {
    let candidate = hash(key);
    let mut found = subtle::Choice::from(0);
    for stored in hashes {
        let stored = stored.to_ascii_lowercase();
        if stored.len() == candidate.len() {
            found |= stored.as_bytes().ct_eq(candidate.as_bytes());
        }
    }
    found.into()
}

/// Whether a request's bearer key is one of `hashes`; no hashes means no key is required.
pub fn authorized(headers: &axum::http::HeaderMap, hashes: &[String]) -> bool {
    if hashes.is_empty() {
        return true;
    }
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    bearer(header).is_some_and(|key| matches(key, hashes))
}

/// Whether the request's `Authorization: Bearer` token is `token`, compared in constant time
/// (a scrape token for `/metrics`).
pub fn bearer_is(headers: &axum::http::HeaderMap, token: &str) -> bool {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    bearer(given).is_some_and(|given| given.as_bytes().ct_eq(token.as_bytes()).into())
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Unpadded base64url (RFC 4648 §5).
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = ((n >> (18 - 6 * i)) & 63) as usize;
            if let Some(&c) = ALPHABET.get(index) {
                out.push(char::from(c));
            }
        }
    }
    out
}

/// The answer to a request without a valid key: `401 unauthorized` with the error table's body
/// and `WWW-Authenticate: Bearer`.
pub fn unauthorized() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let code = weaver_api::Code::Unauthorized;
    (
        code.status(),
        [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(weaver_api::ErrorBody::new(
            code,
            "missing or invalid bearer token",
        )),
    )
        .into_response()
}

/// The one bearer check of the services' `/mcp` endpoints (`weaver serve`'s and `weaver mcp
/// --http`'s), as an axum middleware body: the request goes on when its key is one of `hashes`
/// (none: no key is required), else it is answered [`unauthorized`].
pub async fn require_bearer(
    hashes: &[String],
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if authorized(request.headers(), hashes) {
        next.run(request).await
    } else {
        unauthorized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_hash() {
        let key = generate().unwrap();
        assert!(key.starts_with(KEY_PREFIX));
        assert_eq!(key.len(), KEY_PREFIX.len() + 43);
        let stored = hash(&key);
        validate_hash(&stored).unwrap();
        assert!(matches(&key, &[hash("other"), stored.clone()]));
        assert!(matches(
            &key,
            &[stored.to_uppercase().replace("SHA256:", "sha256:")]
        ));
        assert!(!matches("wvr_wrong", &[stored]));
        assert!(!matches(&key, &[]));
        assert_ne!(generate().unwrap(), key);
    }

    #[test]
    fn known_hash_and_parsing() {
        assert_eq!(
            hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(validate_hash("sha256:xyz").is_err());
        assert!(validate_hash("md5:00").is_err());
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(None), None);
        let mut headers = axum::http::HeaderMap::new();
        assert!(!bearer_is(&headers, "t0ken"));
        headers.insert("authorization", "Bearer t0ken".parse().unwrap());
        assert!(bearer_is(&headers, "t0ken"));
        assert!(!bearer_is(&headers, "t0ke"));
        assert!(!bearer_is(&headers, "t0kens"));
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
