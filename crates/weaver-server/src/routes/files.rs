//! `GET /api/v1/vaults/{vault}/files/{path}`: a file of the vault by its exact path (the
//! images notes embed, which rendered HTML points at), read through the vault's directory
//! handle like every read.
//!
//! A file from the vault is content its author may not trust: it is served with
//! `X-Content-Type-Options: nosniff` and a `Content-Security-Policy` that sandboxes it and
//! loads nothing, so an SVG or HTML file opened on its own runs no script in the server's
//! origin; types not in the short list are `application/octet-stream` and downloaded.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use crate::state::{AppState, blocking};

/// The route.
pub const FILE: &str = "/api/v1/vaults/{vault}/files/{*path}";

/// What a served file may do in a browser: nothing but show itself (inline styles of SVGs).
const FILE_CSP: &str =
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route(FILE, get(file))
}

/// A file of the vault (an attachment such as an image, or a note's raw bytes) by its exact
/// path, up to 64 MiB, with its media type by extension and an `ETag`. Files the index does not
/// know (hidden, ignored, outside the vault, through a symbolic link) are 404.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/files/{path}",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Exact path of the file, such as `attachments/garden.png`"),
    ),
    responses(
        (status = 200, description = "The file's bytes, typed by extension (`weaver_app::view::CONTENT_TYPES`)",
            content(
                (String = "image/png"), (String = "image/jpeg"), (String = "image/gif"),
                (String = "image/webp"), (String = "image/avif"), (String = "image/bmp"),
                (String = "image/svg+xml"), (String = "application/pdf"),
                (String = "text/markdown"), (String = "text/plain"), (String = "audio/mpeg"),
                (String = "video/mp4"), (String = "application/octet-stream"),
            ),
            headers(("ETag" = String, description = "The content hash, quoted"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 400, description = "Not a valid vault path", body = ErrorBody),
        (status = 404, description = "Unknown vault or file", body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn file(
    State(state): State<AppState>,
    ApiPath((vault, path)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let open = state.vault(&vault)?;
    blocking(move || {
        let read = open.vault.read_vault_file(&path)?;
        let etag = format!("\"{}\"", read.hash);
        let unchanged = headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*");
        let mut response = if unchanged {
            axum::http::StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(read.content_type),
                )],
                read.bytes,
            )
                .into_response()
        };
        let h = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, value);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(FILE_CSP),
        );
        if read.content_type == "application/octet-stream" {
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment"),
            );
        }
        Ok(response)
    })
    .await
}
