//! Notes: the filtered list, one note (JSON or raw Markdown, with `ETag`), and a note's
//! backlinks, links and neighbours.
//!
//! A note path may contain `/`, so one wildcard route serves `notes/{*path}` and its
//! sub-resources: a last segment of exactly `backlinks`, `links`, `neighbors`, `similar`,
//! `mentions` or `html` (`GET`) or
//! `move` (`POST`, in `write.rs`) selects the sub-resource (a note named like that is reached
//! with its `.md`); any other method there is 405 ([`check_method`]).
//!
//! The `ETag` of a note is the content hash of the bytes the read found on disk, in both
//! representations (and the JSON's `hash`), never the index's hash alone: right after another
//! program edits a note, the index may still describe the old bytes, and an `ETag` from it would
//! make the next `If-Match` write fail for nothing. The JSON read re-indexes such a note first.
//! The `ETag` serves as the version for conditional writes (`If-Match`). The JSON also shows
//! backlinks, which change when *other* notes change: a client caching it should treat the
//! `ETag` as the note's version, not as a fingerprint of every field.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use weaver_api::dto::{
    BacklinkList, LinkList, MentionList, NeighborList, NoteDto, NoteList, NoteSummary,
    RenderedNoteDto, SimilarList,
};
use weaver_app::{NoteFilter, NoteOrder};

use super::{DirectionParam, PageQuery, page, parse_fields};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, parse_query};
use crate::metrics::RouteLabel;
use crate::state::{AppState, blocking, cancellable};
use weaver_api::dates::format_timestamp_ns;

/// The list route.
pub const NOTES: &str = "/api/v1/vaults/{vault}/notes";
/// The one-note route (and its sub-resources).
pub const NOTE: &str = "/api/v1/vaults/{vault}/notes/{*path}";

const MARKDOWN: &str = "text/markdown; charset=utf-8";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(NOTES, get(list))
        .route(NOTE, get(note_or_sub_resource))
}

// ---------------------------------------------------------------------------------------------
// The list.

/// Query of the note list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only notes in this folder or below (case-insensitive).
    pub folder: Option<String>,
    /// Only notes with this tag or one nested below it; repeatable, all must match.
    #[serde(default)]
    pub tag: Vec<String>,
    /// Only notes whose frontmatter has `KEY:VALUE` (case-insensitive; a list matches when any
    /// element does); repeatable, all must match.
    #[serde(default)]
    pub field: Vec<String>,
    /// `path` (default), `modified`, or either with `-` for descending.
    #[serde(default)]
    #[param(inline)]
    pub sort: NoteSort,
    /// Items per page (default 50, at most 1000).
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<usize>,
    /// Items to skip.
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 0)]
    pub offset: Option<usize>,
}

/// Order of the note list.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
pub enum NoteSort {
    /// By path, A to Z.
    #[default]
    #[serde(rename = "path")]
    Path,
    /// By path, Z to A.
    #[serde(rename = "-path")]
    PathDesc,
    /// Oldest change first.
    #[serde(rename = "modified")]
    Modified,
    /// Newest change first.
    #[serde(rename = "-modified")]
    ModifiedDesc,
}

/// List notes, filtered and sorted.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/notes",
    tag = "notes",
    params(("vault" = String, Path, description = "Vault name"), ListQuery),
    responses(
        (status = 200, body = NoteList),
        (status = 400, description = "Bad query parameter", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown vault", body = crate::error::ErrorBody),
        (status = 503, description = "Vault opening or unavailable", body = crate::error::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<NoteList>, ApiError> {
    let open = state.vault(&vault)?;
    let page = page(query.limit, query.offset, super::DEFAULT_LIMIT)?;
    let fields = parse_fields(&query.field)?;
    blocking(move || {
        let snapshot = open.vault.snapshot();
        let filter = NoteFilter {
            folder: query.folder.as_deref(),
            tags: &query.tag,
            fields: &fields,
        };
        let order = match query.sort {
            NoteSort::Path => NoteOrder::Path,
            NoteSort::PathDesc => NoteOrder::PathDesc,
            NoteSort::Modified => NoteOrder::Modified,
            NoteSort::ModifiedDesc => NoteOrder::ModifiedDesc,
        };
        let listed = snapshot.filter_notes(&filter, order, page);
        let total = listed.total;
        let items = listed
            .items
            .into_iter()
            .map(|n| NoteSummary {
                path: n.path.to_string(),
                title: n.note.title.clone(),
                modified: format_timestamp_ns(n.meta.mtime_ns),
                size: n.meta.size,
                tags: weaver_app::distinct_tags(n),
            })
            .collect();
        Ok(Json(NoteList { total, items }))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// One note and its sub-resources.

#[derive(Debug, Clone, Copy)]
enum Sub {
    Backlinks,
    Links,
    Neighbors,
    Similar,
    Mentions,
    Html,
}

/// The methods a `notes/{*path}` URL allows, by its last segment: `GET` on a sub-resource,
/// `POST` on `.../move`, and the note's own methods otherwise.
pub fn allowed_methods(path: &str) -> &'static str {
    match split_sub_resource(path) {
        (_, Some(_)) => "GET,HEAD",
        (_, None)
            if path
                .rsplit_once('/')
                .is_some_and(|(_, last)| last == "move") =>
        {
            "POST"
        }
        (_, None) => "GET,HEAD,PUT,PATCH,DELETE",
    }
}

/// Answers 405 (with `Allow`) before any extractor runs when the method does not fit the
/// `notes/{*path}` URL ([`allowed_methods`]): `PUT .../backlinks` is not a write of a note
/// named `backlinks`, and `GET .../move` is not a read.
pub async fn check_method(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::extract::{FromRequestParts, MatchedPath};
    let on_note = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| m.as_str() == NOTE);
    if !on_note {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let path = axum::extract::Path::<(String, String)>::from_request_parts(&mut parts, &())
        .await
        .map(|p| p.0.1);
    let request = axum::extract::Request::from_parts(parts, body);
    let Ok(path) = path else {
        return next.run(request).await;
    };
    let allow = allowed_methods(&path);
    let method = request.method().as_str();
    if allow.split(',').any(|m| m == method) {
        return next.run(request).await;
    }
    let mut response = ApiError::MethodNotAllowed(method.to_owned()).into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response.extensions_mut().insert(RouteLabel(NOTE));
    response
}

/// Splits `Projects/Plan.md/backlinks` into the note and the sub-resource.
fn split_sub_resource(path: &str) -> (&str, Option<Sub>) {
    let Some((note, last)) = path.rsplit_once('/') else {
        return (path, None);
    };
    match last {
        "backlinks" => (note, Some(Sub::Backlinks)),
        "links" => (note, Some(Sub::Links)),
        "neighbors" => (note, Some(Sub::Neighbors)),
        "similar" => (note, Some(Sub::Similar)),
        "mentions" => (note, Some(Sub::Mentions)),
        "html" => (note, Some(Sub::Html)),
        _ => (path, None),
    }
}

async fn note_or_sub_resource(
    State(state): State<AppState>,
    ApiPath((vault, path)): ApiPath<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (note, sub) = split_sub_resource(&path);
    let note = note.to_owned();
    let query = uri.query();
    let (label, result) = match sub {
        None => (NOTE, get_note(state, vault, note, query, &headers).await),
        Some(Sub::Backlinks) => (
            "/api/v1/vaults/{vault}/notes/{*path}/backlinks",
            backlinks(state, vault, note, query).await,
        ),
        Some(Sub::Links) => (
            "/api/v1/vaults/{vault}/notes/{*path}/links",
            links(state, vault, note, query).await,
        ),
        Some(Sub::Neighbors) => (
            "/api/v1/vaults/{vault}/notes/{*path}/neighbors",
            neighbors(state, vault, note, query).await,
        ),
        Some(Sub::Similar) => (
            "/api/v1/vaults/{vault}/notes/{*path}/similar",
            similar(state, vault, note, query).await,
        ),
        Some(Sub::Mentions) => (
            "/api/v1/vaults/{vault}/notes/{*path}/mentions",
            mentions(state, vault, note, query).await,
        ),
        Some(Sub::Html) => (
            "/api/v1/vaults/{vault}/notes/{*path}/html",
            html(state, vault, note, query, &headers).await,
        ),
    };
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response.extensions_mut().insert(RouteLabel(label));
    response
}

/// Query of one note.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoteQuery {
    /// Also return the raw Markdown in `content`.
    #[serde(default)]
    pub content: bool,
}

/// Which representation of a note the client wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    Json,
    Markdown,
}

/// Picks JSON or Markdown from `Accept` by quality; JSON wins ties and a missing header.
fn negotiate(headers: &HeaderMap) -> Result<Representation, ApiError> {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(Representation::Json);
    };
    let (mut json, mut markdown) = (0.0_f32, 0.0_f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/json" | "application/*" => json = json.max(q),
            "text/markdown" | "text/*" => markdown = markdown.max(q),
            "*/*" => {
                json = json.max(q);
                markdown = markdown.max(q);
            }
            _ => {}
        }
    }
    if json <= 0.0 && markdown <= 0.0 {
        return Err(ApiError::NotAcceptable(accept.to_owned()));
    }
    Ok(if markdown > json {
        Representation::Markdown
    } else {
        Representation::Json
    })
}

/// True when `If-None-Match` lists `etag` (or is `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// Get one note: metadata, outline, links and backlinks as JSON, or with `Accept:
/// text/markdown` the raw file. Both carry `ETag: "<content hash>"` and honour
/// `If-None-Match`.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/notes/{path}",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path (`Projects/Plan.md`), path without `.md`, name or alias"),
        NoteQuery,
    ),
    responses(
        (status = 200, description = "The note as JSON, or with `Accept: text/markdown` its raw Markdown",
            content((NoteDto = "application/json"), (String = "text/markdown")),
            headers(("ETag" = String, description = "The content hash of the bytes read, quoted"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "Unknown vault or note (with suggestions)", body = crate::error::ErrorBody),
        (status = 406, description = "Neither JSON nor Markdown is acceptable", body = crate::error::ErrorBody),
        (status = 503, description = "Vault opening or unavailable", body = crate::error::ErrorBody),
    )
)]
pub async fn get_note(
    state: AppState,
    vault: String,
    note: String,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let query: NoteQuery = parse_query(query)?;
    let representation = negotiate(headers)?;
    let open = state.vault(&vault)?;
    let headers = headers.clone();
    cancellable(move |cancel| {
        // The one read of a note: the bytes through the vault's directory handle, the index
        // brought up to date when they changed behind it.
        let read = open.vault.read_note(&note)?;
        // The version is that of the bytes read, whatever the index said: it is what a write's
        // `If-Match` is checked against.
        let etag = format!("\"{}\"", read.hash);
        if not_modified(&headers, &etag) {
            return Ok(not_modified_response(&etag));
        }
        let mut response = match representation {
            Representation::Markdown => (
                [(header::CONTENT_TYPE, HeaderValue::from_static(MARKDOWN))],
                read.bytes,
            )
                .into_response(),
            Representation::Json => {
                let details = read.details(cancel)?;
                let content = query.content.then(|| read.text());
                Json(weaver_app::dto::note_dto(details, content)).into_response()
            }
        };
        set_validators(&mut response, &etag);
        Ok(response)
    })
    .await
}

fn set_validators(response: &mut Response, etag: &str) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("accept"));
}

fn not_modified_response(etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    set_validators(&mut response, etag);
    response
}

/// Links from other notes to this one, each with its context line.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/notes/{path}/backlinks",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path, name or alias"),
        PageQuery,
    ),
    responses(
        (status = 200, body = BacklinkList),
        (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody),
    )
)]
pub async fn backlinks(
    state: AppState,
    vault: String,
    note: String,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let page = parse_query::<PageQuery>(query)?.page()?;
    let open = state.vault(&vault)?;
    cancellable(move |cancel| {
        let snapshot = open.vault.snapshot();
        let path = snapshot.find_note(&note)?.path.to_string();
        let paged = snapshot.backlinks(&path, page, cancel)?;
        Ok(Json(weaver_app::dto::backlink_list(path, paged)).into_response())
    })
    .await
}

/// Links from a note, with where each resolves.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/notes/{path}/links",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path, name or alias"),
    ),
    responses(
        (status = 200, body = LinkList),
        (status = 404, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody),
    )
)]
pub async fn links(
    state: AppState,
    vault: String,
    note: String,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let _: NoQuery = parse_query(query)?;
    let open = state.vault(&vault)?;
    blocking(move || {
        let snapshot = open.vault.snapshot();
        let path = snapshot.find_note(&note)?.path.to_string();
        let links = snapshot.outgoing(&path)?;
        Ok(Json(weaver_app::dto::link_list(path, &links)).into_response())
    })
    .await
}

/// No query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoQuery {}

/// Query of a neighbourhood.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NeighborsQuery {
    /// Hops from the note, 1 to 10 (default 1).
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 1, maximum = 10)]
    pub depth: Option<u32>,
    /// Which links to follow (default `both`).
    #[serde(default)]
    #[param(inline)]
    pub direction: DirectionParam,
    /// Items per page (default 50, at most 1000).
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<usize>,
    /// Items to skip.
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 0)]
    pub offset: Option<usize>,
}

/// The most hops a neighbourhood may span.
const MAX_DEPTH: u32 = 10;

/// Notes within `depth` links of a note.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/notes/{path}/neighbors",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path, name or alias"),
        NeighborsQuery,
    ),
    responses(
        (status = 200, body = NeighborList),
        (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody),
    )
)]
pub async fn neighbors(
    state: AppState,
    vault: String,
    note: String,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let query: NeighborsQuery = parse_query(query)?;
    let page = page(query.limit, query.offset, super::DEFAULT_LIMIT)?;
    let depth = query.depth.unwrap_or(1);
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(ApiError::InvalidQuery(format!(
            "`depth={depth}`: expected 1 to {MAX_DEPTH}"
        )));
    }
    let open = state.vault(&vault)?;
    blocking(move || {
        let snapshot = open.vault.snapshot();
        let path = snapshot.find_note(&note)?.path.to_string();
        let paged = snapshot.neighbors(&path, depth, query.direction.into(), page)?;
        Ok(Json(weaver_app::dto::neighbor_list(path, paged)).into_response())
    })
    .await
}

/// Query of similar notes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimilarQuery {
    /// How many notes (default 10, at most 1000).
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<usize>,
}

/// Notes nearest in meaning to this one (with an embedding model), leaving out the notes it
/// already links to: candidates for new links.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/notes/{path}/similar",
    tag = "search",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path, name or alias"),
        SimilarQuery,
    ),
    responses(
        (status = 200, body = SimilarList),
        (status = 400, description = "Bad limit; `semantic_unavailable`: the server has no embedding model", body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody),
    )
)]
pub async fn similar(
    state: AppState,
    vault: String,
    note: String,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let query: SimilarQuery = parse_query(query)?;
    let limit = page(query.limit, None, super::search::DEFAULT_LIMIT)?.limit;
    let open = state.vault(&vault)?;
    blocking(move || {
        let similar = open.vault.similar(&note, limit)?;
        Ok(Json(weaver_app::dto::similar_list(similar)).into_response())
    })
    .await
}

/// Notes that name this one (its title, an alias or its file name, as whole words) in their
/// text without linking to it: places where a link is missing.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/notes/{path}/mentions",
    tag = "search",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path, name or alias"),
        PageQuery,
    ),
    responses(
        (status = 200, body = MentionList),
        (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody),
    )
)]
pub async fn mentions(
    state: AppState,
    vault: String,
    note: String,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let page = parse_query::<PageQuery>(query)?.page()?;
    let open = state.vault(&vault)?;
    cancellable(move |cancel| {
        let path = open.vault.snapshot().find_note(&note)?.path.to_string();
        let paged = open.vault.unlinked_mentions(&path, page, cancel)?;
        Ok(Json(weaver_app::dto::mention_list(path, paged)).into_response())
    })
    .await
}

/// The note rendered to sanitised HTML, as Obsidian shows it: wikilinks that navigate
/// (unresolved ones marked), embeds, callouts, tasks, tags, highlights, footnotes, code.
/// Rendered from the bytes read, by the parser the index uses; no script in the note can run
/// where the HTML is shown. Carries the note's `ETag` and honours `If-None-Match`.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/notes/{path}/html",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path, name or alias"),
    ),
    responses(
        (status = 200, body = RenderedNoteDto,
            headers(("ETag" = String, description = "The content hash of the bytes read, quoted"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody),
    )
)]
pub async fn html(
    state: AppState,
    vault: String,
    note: String,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let _: NoQuery = parse_query(query)?;
    let open = state.vault(&vault)?;
    let headers = headers.clone();
    blocking(move || {
        let read = open.vault.read_note(&note)?;
        let etag = format!("\"{}\"", read.hash);
        if not_modified(&headers, &etag) {
            return Ok(not_modified_response(&etag));
        }
        let rendered = weaver_app::view::render_note(&vault, &read);
        let mut response = Json(weaver_app::dto::rendered_note_dto(rendered)).into_response();
        set_validators(&mut response, &etag);
        Ok(response)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn negotiation_prefers_json_unless_markdown_is_asked_for() {
        use Representation::{Json, Markdown};
        assert_eq!(negotiate(&HeaderMap::new()).unwrap(), Json);
        assert_eq!(negotiate(&accept("text/markdown")).unwrap(), Markdown);
        assert_eq!(negotiate(&accept("application/json")).unwrap(), Json);
        assert_eq!(negotiate(&accept("*/*")).unwrap(), Json);
        assert_eq!(
            negotiate(&accept("application/json;q=0.5, text/markdown")).unwrap(),
            Markdown
        );
        assert_eq!(
            negotiate(&accept("text/html,application/xhtml+xml,*/*;q=0.8")).unwrap(),
            Json
        );
        assert_eq!(
            negotiate(&accept("image/png")).unwrap_err().code().as_str(),
            "not_acceptable"
        );
    }

    #[test]
    fn sub_resources_are_the_last_segment() {
        assert!(matches!(
            split_sub_resource("a/b.md/backlinks"),
            ("a/b.md", Some(Sub::Backlinks))
        ));
        assert!(matches!(
            split_sub_resource("a/links"),
            ("a", Some(Sub::Links))
        ));
        assert!(matches!(split_sub_resource("links"), ("links", None)));
        assert_eq!(allowed_methods("a.md/backlinks"), "GET,HEAD");
        assert_eq!(allowed_methods("a.md/move"), "POST");
        assert_eq!(allowed_methods("move"), "GET,HEAD,PUT,PATCH,DELETE");
        assert_eq!(allowed_methods("a/move.md"), "GET,HEAD,PUT,PATCH,DELETE");
        assert!(matches!(
            split_sub_resource("a/links.md"),
            ("a/links.md", None)
        ));
    }

    #[test]
    fn if_none_match_lists_and_wildcards() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(not_modified(&headers, "\"abc\""));
        assert!(!not_modified(&headers, "\"abd\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&headers, "\"q\""));
        assert!(!not_modified(&HeaderMap::new(), "\"q\""));
    }
}
