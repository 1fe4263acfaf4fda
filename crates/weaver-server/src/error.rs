//! Errors of the REST API: every failure leaves as `{"code": "...", "message": "..."}` with the
//! code and status from the one table in `crate::error`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use weaver_app::AppError;

pub use weaver_api::ErrorBody;
use weaver_api::{Code, MAX_MESSAGE_BYTES};

/// Seconds a client should wait before retrying a vault that is still opening.
const RETRY_AFTER_SECS: u64 = 2;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A vault operation failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// No vault of that name is configured.
    #[error("vault not found: `{0}`")]
    UnknownVault(String),
    /// The vault's initial index is still being built.
    #[error("vault `{0}` is still opening; retry shortly")]
    VaultNotReady(String),
    /// The vault could not be opened.
    #[error("vault `{name}` is unavailable: {reason}")]
    VaultUnavailable {
        /// The vault.
        name: String,
        /// Why it failed to open.
        reason: String,
    },
    /// The server is stopping.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// Cluster mode: `Weaver-Min-Seq` asked for an entry this replica has not applied in time.
    #[error(
        "this replica has applied vault `{vault}` up to entry {applied}, not yet {wanted}; retry (another replica may have it)"
    )]
    ReplicaBehind {
        /// The vault.
        vault: String,
        /// The sequence asked for.
        wanted: u64,
        /// The sequence applied.
        applied: u64,
    },
    /// A query-string parameter is missing, unknown or malformed.
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    /// A path segment or other input is malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No route matches.
    #[error("no route for `{method} {path}`")]
    RouteNotFound {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
    },
    /// The route exists, not with this method.
    #[error("method `{0}` is not allowed on this route")]
    MethodNotAllowed(String),
    /// None of the offered representations is acceptable.
    #[error("cannot produce any of `{0}`; this resource is application/json or text/markdown")]
    NotAcceptable(String),
    /// The request body is over `server.max_body_bytes`.
    #[error("request body is over the limit of {0} bytes")]
    BodyTooLarge(u64),
    /// The request body has the wrong content type.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Replacing an existing note needs `If-Match` (or `server.allow_blind_writes`).
    #[error("`{0}` exists: replacing it needs `If-Match` with its current `ETag`")]
    PreconditionRequired(String),
    /// A bearer token is required and was missing or wrong.
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// The handler did not finish within `server.request_timeout_secs`.
    #[error("the request did not finish within {0} seconds")]
    Timeout(u64),
    /// A bug: a panic or a failed background task.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The stable code of this error.
    pub fn code(&self) -> Code {
        match self {
            Self::App(err) => err.code(),
            Self::UnknownVault(_) => Code::VaultNotFound,
            Self::VaultNotReady(_) => Code::VaultNotReady,
            Self::VaultUnavailable { .. } => Code::VaultUnavailable,
            Self::ShuttingDown => Code::ShuttingDown,
            Self::ReplicaBehind { .. } => Code::ReplicaBehind,
            Self::InvalidQuery(_) => Code::InvalidQuery,
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::RouteNotFound { .. } => Code::RouteNotFound,
            Self::MethodNotAllowed(_) => Code::MethodNotAllowed,
            Self::NotAcceptable(_) => Code::NotAcceptable,
            Self::BodyTooLarge(_) => Code::BodyTooLarge,
            Self::UnsupportedMediaType(_) => Code::UnsupportedMediaType,
            Self::Unauthorized => Code::Unauthorized,
            Self::PreconditionRequired(_) => Code::PreconditionRequired,
            Self::Timeout(_) => Code::RequestTimeout,
            Self::Internal(_) => Code::InternalError,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        let suggestions = match self {
            Self::App(AppError::NoteNotFound { suggestions, .. }) => suggestions.clone(),
            _ => Vec::new(),
        };
        let message = match self {
            Self::App(err) => err.public_message(),
            other => weaver_core::clip(&other.to_string(), MAX_MESSAGE_BYTES).into_owned(),
        };
        ErrorBody {
            code: self.code().as_str().to_owned(),
            message,
            suggestions,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = code.status();
        // The log has the whole error, server paths included; the body has `public_message`.
        if status.is_server_error() {
            tracing::warn!(code = code.as_str(), error = %self, "request failed");
        } else {
            tracing::debug!(code = code.as_str(), error = %self, "request rejected");
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        match self {
            Self::VaultNotReady(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// The 404 for paths no route matches.
pub async fn route_not_found(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::RouteNotFound {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// The 405 for routes that exist with other methods. axum lists the route's methods in `Allow`;
/// a note URL gets the methods of what it names instead (its sub-resources share one route).
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let mut response = ApiError::MethodNotAllowed(method.to_string()).into_response();
    if let Some(allow) = note_url_methods(uri.path()) {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

/// The methods `routes::notes::allowed_methods` gives a `/api/v1/vaults/{vault}/notes/{*path}`
/// URL, or `None` for any other URL.
fn note_url_methods(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/api/v1/vaults/")?;
    let (_, note) = rest.split_once('/')?;
    let note = note.strip_prefix("notes/")?;
    let decoded = percent_encoding::percent_decode_str(note)
        .decode_utf8()
        .ok()?;
    Some(super::routes::notes::allowed_methods(&decoded))
}
