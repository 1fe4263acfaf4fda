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
//! itself is revalidated every time (`no-cache` with an `ETag`). Assets are served brotli- or
//! gzip-encoded when the client accepts it (the build writes a `.br` and a `.gz` next to each,
//! at the best levels, so nothing is compressed per request); the `ETag` names the content,
//! whatever the encoding. The page's
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
    if file.ends_with(".gz") || file.ends_with(".br") || file == "index.html" {
        return not_found(&format!("assets/{file}"));
    }
    serve(&format!("assets/{file}"), &headers, true)
}

/// The API's 404 for an unknown route (`{"code": "route_not_found", ...}`).
fn not_found(name: &str) -> Response {
    let code = weaver_api::Code::RouteNotFound;
    let body =
        serde_json::json!({ "code": code.as_str(), "message": format!("no route GET /{name}") });
    (code.status(), axum::Json(body)).into_response()
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
        return not_found(name);
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
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let encoded = [("br", ".br"), ("gzip", ".gz")]
            .into_iter()
            .filter(|(coding, _)| accepts(headers, coding))
            .find_map(|(coding, suffix)| {
                Assets::get(&format!("{name}{suffix}")).map(|file| (coding, file))
            });
        match encoded {
            Some((coding, compressed)) => (
                [(header::CONTENT_ENCODING, HeaderValue::from_static(coding))],
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

/// True when `Accept-Encoding` names `coding` with a non-zero weight.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            parts
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case(coding))
                && !parts.any(|p| {
                    p.strip_prefix("q=")
                        .or_else(|| p.strip_prefix("Q="))
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_weights_are_read() {
        let check = |value: &str, coding: &str, expected: bool| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            assert_eq!(accepts(&headers, coding), expected, "{value} / {coding}");
        };
        check("gzip, deflate, br, zstd", "br", true);
        check("gzip, deflate, br, zstd", "gzip", true);
        check("gzip", "br", false);
        check("br;q=0, gzip;q=0.5", "br", false);
        check("br;q=0, gzip;q=0.5", "gzip", true);
        check("BR", "br", true);
        check("", "gzip", false);
    }
}
