//! Writes: create or replace (`PUT`), patch (`PATCH`), move with link rewriting
//! (`POST .../move`) and delete (`DELETE`) a note.
//!
//! Versions are content hashes: `GET` returns one as the `ETag`, writes take it back as
//! `If-Match`. Replacing an existing note without `If-Match` is refused with 428 unless
//! `server.allow_blind_writes` is set; `If-None-Match: *` creates only. Every write is atomic and
//! re-checks the file just before it lands, so an edit made meanwhile by another program is a 412
//! rather than a lost update (see `weaver_app::write`). The index is updated before the response,
//! so a read after a write sees it, and the change is broadcast on the vault's event stream.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use weaver_api::dto::{DeleteResult, MoveRequest, MoveResult, WriteResult};
use weaver_app::{AppError, Precondition, WriteMeta, WriteOutcome, Written};
use weaver_core::EditOp;

use super::notes::NOTE;
use crate::error::ApiError;
use crate::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery};
use crate::metrics::{self, RouteLabel};
use crate::state::{AppState, blocking};

/// The routes of this module (on the same wildcard route as `GET notes/{*path}`).
pub fn router() -> Router<AppState> {
    Router::new().route(
        NOTE,
        put(put_note)
            .patch(patch_note)
            .delete(delete_note)
            .post(post_note),
    )
}

/// The response header with a write's sequence number in the change log (cluster mode).
pub const WEAVER_SEQ: &str = "weaver-seq";

/// Who makes a write: the request's id (set by the request-id layer when the client sent none),
/// so a retry with the same id is done once in cluster mode, and the caller (`Weaver-Actor`,
/// which the gateway sets to the identity's name), so one caller's id never replays another's.
fn write_meta(headers: &HeaderMap) -> WriteMeta {
    WriteMeta {
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect()),
        // Set by the gateway from the caller's identity (it drops a client's own).
        actor: headers
            .get("weaver-actor")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect()),
    }
}

/// Adds `Weaver-Seq` to a write's response in cluster mode.
fn with_seq(mut response: Response, seq: Option<u64>) -> Response {
    if let Some(seq) = seq {
        response
            .headers_mut()
            .insert(WEAVER_SEQ, HeaderValue::from(seq));
    }
    response
}

fn written(written: Written<WriteOutcome>, label: &'static str) -> Response {
    let Written { outcome, seq } = written;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let etag = HeaderValue::from_str(&format!("\"{}\"", outcome.hash)).ok();
    let mut response = (status, Json(WriteResult::from(outcome))).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response.extensions_mut().insert(RouteLabel(label));
    with_seq(response, seq)
}

/// The hash in an `If-Match` header: quotes and a weak prefix removed; `*` means "any".
fn if_match(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::InvalidArgument("`If-Match` is not ASCII".to_owned()))?
        .trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    Ok(Some(text.trim_matches('"').to_owned()))
}

fn if_none_match_star(headers: &HeaderMap) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "*")
}

/// Counts a conflict for the metrics before the error leaves.
fn count_conflict(vault: &str, err: ApiError) -> ApiError {
    if matches!(
        err,
        ApiError::App(AppError::Conflict { .. } | AppError::AlreadyExists(_))
    ) {
        metrics::write_conflict(vault);
    }
    err
}

/// Creates or replaces a note with the request body (UTF-8 Markdown).
#[utoipa::path(
    put,
    path = "/api/v1/vaults/{vault}/notes/{path}",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path, ending in `.md`"),
        ("If-Match" = Option<String>, Header, description = "Replace only this version (the `ETag` of a read)"),
        ("If-None-Match" = Option<String>, Header, description = "`*`: create only"),
    ),
    request_body(content = String, content_type = "text/markdown", description = "The note's Markdown"),
    responses(
        (status = 200, description = "Replaced", body = WriteResult, headers(("ETag" = String))),
        (status = 201, description = "Created", body = WriteResult, headers(("ETag" = String))),
        (status = 400, description = "Bad path", body = crate::error::ErrorBody),
        (status = 403, description = "Read-only vault", body = crate::error::ErrorBody),
        (status = 412, description = "The note changed (or exists, with `If-None-Match: *`)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over the limit", body = crate::error::ErrorBody),
        (status = 415, description = "Not a text body", body = crate::error::ErrorBody),
        (status = 422, description = "Body is not UTF-8", body = crate::error::ErrorBody),
        (status = 428, description = "Replacing needs `If-Match`", body = crate::error::ErrorBody),
    )
)]
pub async fn put_note(
    State(state): State<AppState>,
    ApiPath((vault, path)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Response {
    let result = async {
        check_text_body(&headers)?;
        let open = state.vault(&vault)?;
        let blind_ok = state.config.load().server.allow_blind_writes;
        let precondition = if if_none_match_star(&headers) {
            Precondition::Absent
        } else if let Some(hash) = if_match(&headers)? {
            if hash == "*" {
                Precondition::Any
            } else {
                Precondition::Matches(hash)
            }
        } else if blind_ok {
            Precondition::Any
        } else {
            // Without a version, only a create is safe.
            Precondition::Absent
        };
        let name = vault.clone();
        let meta = write_meta(&headers);
        let outcome = blocking(move || {
            open.vault
                .writer(&meta)
                .write_note(&path, &body, &precondition)
                .map_err(|err| match (err, &precondition) {
                    (AppError::AlreadyExists(p), Precondition::Absent)
                        if !if_none_match_star(&headers) =>
                    {
                        ApiError::PreconditionRequired(p)
                    }
                    (err, _) => ApiError::App(err),
                })
        })
        .await
        .map_err(|e| count_conflict(&name, e))?;
        Ok::<_, ApiError>(outcome)
    }
    .await;
    match result {
        Ok(outcome) => written(outcome, NOTE),
        Err(err) => labelled(err, NOTE),
    }
}

/// Only text bodies are notes.
fn check_text_body(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let media = value.to_str().unwrap_or_default().to_ascii_lowercase();
    let essence = media.split(';').next().unwrap_or_default().trim();
    if essence.starts_with("text/") || essence == "application/octet-stream" {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "`{essence}`: send the note as text/markdown"
        )))
    }
}

fn labelled(err: ApiError, label: &'static str) -> Response {
    let mut response = err.into_response();
    response.extensions_mut().insert(RouteLabel(label));
    response
}

/// A list of edit operations, applied in order, all or nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRequest {
    /// The operations.
    pub operations: Vec<EditOp>,
}

/// Applies edit operations to a note.
#[utoipa::path(
    patch,
    path = "/api/v1/vaults/{vault}/notes/{path}",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path, ending in `.md`"),
        ("If-Match" = Option<String>, Header, description = "Apply only to this version"),
    ),
    request_body = PatchRequest,
    responses(
        (status = 200, description = "Patched", body = WriteResult, headers(("ETag" = String))),
        (status = 404, description = "Unknown note", body = crate::error::ErrorBody),
        (status = 412, description = "The note changed", body = crate::error::ErrorBody),
        (status = 422, description = "An operation does not apply (heading not found, match count, ...)", body = crate::error::ErrorBody),
    )
)]
pub async fn patch_note(
    State(state): State<AppState>,
    ApiPath((vault, path)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PatchRequest>,
) -> Response {
    let result = async {
        let open = state.vault(&vault)?;
        let expected = if_match(&headers)?;
        let ops = request.operations;
        let name = vault.clone();
        let meta = write_meta(&headers);
        blocking(move || {
            Ok(open
                .vault
                .writer(&meta)
                .patch_note(&path, &ops, expected.as_deref())?)
        })
        .await
        .map_err(|e| count_conflict(&name, e))
    }
    .await;
    match result {
        Ok(outcome) => written(outcome, NOTE),
        Err(err) => labelled(err, NOTE),
    }
}

const MOVE: &str = "/api/v1/vaults/{vault}/notes/{*path}/move";

/// `POST notes/{path}/move`; any other `POST` on a note is not allowed.
async fn post_note(
    State(state): State<AppState>,
    ApiPath((vault, path)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<MoveRequest>,
) -> Response {
    // `routes::notes::check_method` let only `.../move` through.
    let Some(from) = path.strip_suffix("/move").map(str::to_owned) else {
        return labelled(ApiError::MethodNotAllowed("POST".to_owned()), NOTE);
    };
    match move_note(state, vault, from, headers, request).await {
        Ok((result, seq)) => {
            let mut response = Json(result).into_response();
            response.extensions_mut().insert(RouteLabel(MOVE));
            with_seq(response, seq)
        }
        Err(err) => labelled(err, MOVE),
    }
}

/// Moves or renames a note or folder, rewriting links to it.
#[utoipa::path(
    post,
    path = "/api/v1/vaults/{vault}/notes/{path}/move",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note or folder path"),
        ("If-Match" = Option<String>, Header, description = "Move only this version of the note"),
    ),
    request_body = MoveRequest,
    responses(
        (status = 200, description = "Moved", body = MoveResult),
        (status = 404, description = "Unknown note", body = crate::error::ErrorBody),
        (status = 409, description = "The destination exists", body = crate::error::ErrorBody),
        (status = 412, description = "The note changed", body = crate::error::ErrorBody),
    )
)]
pub async fn move_note(
    state: AppState,
    vault: String,
    from: String,
    headers: HeaderMap,
    request: MoveRequest,
) -> Result<(MoveResult, Option<u64>), ApiError> {
    let open = state.vault(&vault)?;
    let expected = if_match(&headers)?;
    let name = vault.clone();
    let meta = write_meta(&headers);
    let outcome = blocking(move || {
        Ok(open.vault.writer(&meta).move_note(
            &from,
            &request.to,
            request.update_links,
            expected.as_deref(),
        )?)
    })
    .await
    .map_err(|e| count_conflict(&name, e))?;
    Ok((MoveResult::from(outcome.outcome), outcome.seq))
}

/// How to delete.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Delete for good instead of moving to the vault's `.trash/`.
    #[serde(default)]
    pub permanent: bool,
}

/// Deletes a note: to the vault's `.trash/` (as Obsidian does) or permanently.
#[utoipa::path(
    delete,
    path = "/api/v1/vaults/{vault}/notes/{path}",
    tag = "notes",
    params(
        ("vault" = String, Path, description = "Vault name"),
        ("path" = String, Path, description = "Note path, ending in `.md`"),
        ("If-Match" = Option<String>, Header, description = "Delete only this version"),
        DeleteQuery,
    ),
    responses(
        (status = 200, description = "Deleted", body = DeleteResult),
        (status = 404, description = "Unknown note", body = crate::error::ErrorBody),
        (status = 412, description = "The note changed", body = crate::error::ErrorBody),
    )
)]
pub async fn delete_note(
    State(state): State<AppState>,
    ApiPath((vault, path)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let open = state.vault(&vault)?;
        let expected = if_match(&headers)?;
        let name = vault.clone();
        let meta = write_meta(&headers);
        blocking(move || {
            Ok(open
                .vault
                .writer(&meta)
                .delete_note(&path, query.permanent, expected.as_deref())?)
        })
        .await
        .map_err(|e| count_conflict(&name, e))
    }
    .await;
    match result {
        Ok(outcome) => {
            let mut response = Json(DeleteResult::from(outcome.outcome)).into_response();
            response.extensions_mut().insert(RouteLabel(NOTE));
            with_seq(response, outcome.seq)
        }
        Err(err) => labelled(err, NOTE),
    }
}
