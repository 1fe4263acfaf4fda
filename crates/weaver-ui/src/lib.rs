//! The web UI: the built front end of `web/` (committed in `web/dist`, embedded at compile
//! time, so building the binary never needs Node), served at `/` and `/assets/*` by
//! `weaver serve` and by `weaver gateway` (which serves it itself: the page and its scripts
//! hold no vault data, and nothing reaches an upstream unauthenticated).
//!
//! ```no_run
//! let app: axum::Router = weaver_ui::router();
//! ```
//!
//! Asset names carry a content hash, so they are cached for a year (`immutable`); the page
//! itself is revalidated every time (`no-cache` with an `ETag`). Assets are served gzipped
//! when the client accepts it (the build writes a `.gz` next to each). The page's
//! `Content-Security-Policy` allows scripts, styles and connections to this origin only (and
//! `blob:` workers for the graph layout), so even HTML that escaped sanitising could load and
//! run nothing.
#![deny(missing_docs)]

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

/// The built UI.
#[derive(RustEmbed)]
#[folder = "../../web/dist"]
struct Assets;

/// What the page may load: its own scripts and styles, images of the vault (and `blob:` ones
/// fetched with an API key), the layout worker.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// `/` and `/assets/{file}`, for a router of any state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    let mut response = serve("index.html", &headers, false);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file.ends_with(".gz") || file == "index.html" {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(&format!("assets/{file}"), &headers, true)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn serve(name: &str, headers: &HeaderMap, immutable: bool) -> Response {
    let Some(file) = Assets::get(name) else {
        let code = weaver_api::Code::RouteNotFound;
        let body = serde_json::json!({ "code": code.as_str(), "message": format!("no route GET /{name}") });
        return (code.status(), axum::Json(body)).into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match Assets::get(&format!("{name}.gz")).filter(|_| gzip) {
            Some(compressed) => (
                [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
                compressed.data.into_owned(),
            )
                .into_response(),
            None => file.data.into_owned().into_response(),
        }
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
