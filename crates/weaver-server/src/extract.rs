//! Extractors whose rejections are [`ApiError`]s, so a bad query string, path segment or body
//! gets the same JSON error shape as everything else (axum's own extractors answer plain text).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, JsonRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The body limit in force for this request, put there by the body-limit middleware.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub u64);

/// Query-string parameters. Unlike axum's `Query`, repeated keys fill `Vec` fields
/// (`field=a:1&field=b:2`), and unknown keys are rejected when the type says
/// `deny_unknown_fields`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query()).map(ApiQuery)
    }
}

/// Parses a query string into `T`.
pub fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    serde_html_form::from_str(query.unwrap_or_default())
        .map_err(|e| ApiError::InvalidQuery(e.to_string()))
}

/// For `#[serde(default, deserialize_with = "number")]` on an optional numeric query parameter:
/// absent is `None`, a number is `Some`, and anything else (`limit=`, `limit=-1`, `limit=ten`)
/// is refused, where serde's own `Option` would take an empty value for absent.
pub fn number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    use serde::Deserialize;
    // Called only when the key is present (`default` covers absent): read the raw text, as an
    // `Option` would read an empty value as `None`.
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Err(serde::de::Error::custom(
            "expected a number, found an empty value",
        ));
    }
    text.parse::<T>().map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{}` is not a number: {e}",
            weaver_core::clip_value(&text)
        ))
    })
}

/// Path parameters.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|rejection| ApiError::InvalidArgument(rejection.body_text()))
    }
}

/// A raw request body (the Markdown of `PUT`): a body over the limit is `body_too_large` (413),
/// one that cannot be read (the client went away mid-body) `invalid_argument` (400).
#[derive(Debug)]
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(|rejection| bytes_rejection(&rejection, limit))
    }
}

fn bytes_rejection(rejection: &BytesRejection, limit: Option<u64>) -> ApiError {
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            ApiError::BodyTooLarge(limit.unwrap_or_default())
        }
        other => ApiError::InvalidArgument(format!(
            "cannot read the request body: {}",
            other.body_text()
        )),
    }
}

/// A JSON request body (for the write routes): wrong content type is `unsupported_media_type`
/// (415), a body over the limit `body_too_large` (413), malformed JSON `invalid_argument` (400).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|j| ApiJson(j.0))
            .map_err(|rejection| json_rejection(&rejection, limit))
    }
}

fn json_rejection(rejection: &JsonRejection, limit: Option<u64>) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("expected `Content-Type: application/json`".to_owned())
        }
        JsonRejection::BytesRejection(bytes) => bytes_rejection(bytes, limit),
        other => ApiError::InvalidArgument(other.body_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Q {
        #[serde(default)]
        field: Vec<String>,
        #[serde(default, deserialize_with = "number")]
        limit: Option<usize>,
        content: Option<bool>,
    }

    #[test]
    fn repeated_keys_fill_lists_and_unknown_keys_fail() {
        let q: Q = parse_query(Some("field=a:1&field=b%3A2&limit=5&content=true")).unwrap();
        assert_eq!(
            q,
            Q {
                field: vec!["a:1".to_owned(), "b:2".to_owned()],
                limit: Some(5),
                content: Some(true),
            }
        );
        let q: Q = parse_query(None).unwrap();
        assert_eq!(q.limit, None);
        let err = parse_query::<Q>(Some("limt=5")).unwrap_err();
        assert!(err.to_string().contains("limt"), "{err}");
        let err = parse_query::<Q>(Some("limit=many")).unwrap_err();
        assert_eq!(err.code().as_str(), "invalid_query");
        for bad in ["limit=", "limit", "limit=-1", "limit=1.5", "limit=%20"] {
            let err = parse_query::<Q>(Some(bad)).unwrap_err();
            assert_eq!(err.code().as_str(), "invalid_query", "{bad}");
        }
    }
}
