//! Whole-vault questions: shortest path, orphans, unresolved links, tags, statistics, problems.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weaver_app::{Page, VaultStats};

use super::{DirectionParam, NoteRefDto, NoteRefList, PageQuery};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::{AppState, blocking};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/vaults/{vault}/path", get(path))
        .route("/api/v1/vaults/{vault}/orphans", get(orphans))
        .route("/api/v1/vaults/{vault}/unresolved", get(unresolved))
        .route("/api/v1/vaults/{vault}/tags", get(tags))
        .route("/api/v1/vaults/{vault}/stats", get(stats))
        .route("/api/v1/vaults/{vault}/check", get(check))
}

/// Query of a shortest path.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PathQuery {
    /// Start note: path, name or alias.
    pub from: String,
    /// End note: path, name or alias.
    pub to: String,
    /// Which links to follow (default `both`).
    #[serde(default)]
    #[param(inline)]
    pub direction: DirectionParam,
}

/// A shortest chain of links.
#[derive(Debug, Serialize, ToSchema)]
pub struct PathDto {
    /// Whether the notes are connected.
    pub found: bool,
    /// The notes along the path, both ends included; empty when not found.
    pub notes: Vec<NoteRefDto>,
}

/// A shortest chain of links between two notes.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/path",
    tag = "graph",
    params(("vault" = String, Path, description = "Vault name"), PathQuery),
    responses(
        (status = 200, body = PathDto),
        (status = 400, description = "Missing `from` or `to`", body = ErrorBody),
        (status = 404, description = "Unknown vault or note", body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn path(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
    ApiQuery(query): ApiQuery<PathQuery>,
) -> Result<Json<PathDto>, ApiError> {
    let open = state.vault(&vault)?;
    blocking(move || {
        let path =
            open.vault
                .snapshot()
                .shortest_path(&query.from, &query.to, query.direction.into())?;
        Ok(Json(PathDto {
            found: path.is_some(),
            notes: path
                .unwrap_or_default()
                .into_iter()
                .map(NoteRefDto::from)
                .collect(),
        }))
    })
    .await
}

/// Notes with no links in or out.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/orphans",
    tag = "graph",
    params(("vault" = String, Path, description = "Vault name"), PageQuery),
    responses(
        (status = 200, body = NoteRefList),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn orphans(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<NoteRefList>, ApiError> {
    let page = query.page()?;
    let open = state.vault(&vault)?;
    blocking(move || Ok(Json(open.vault.snapshot().orphans(page).into()))).await
}

/// A page of unresolved links.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnresolvedList {
    /// Unresolved links in all.
    pub total: usize,
    /// This page, by source path and line.
    pub items: Vec<UnresolvedDto>,
}

/// A link that points at nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnresolvedDto {
    /// The linking note.
    pub source: String,
    /// The target as written.
    pub target: String,
    /// Link syntax.
    pub kind: String,
    /// Line.
    pub line: u32,
}

/// Links whose target matches no file.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/unresolved",
    tag = "graph",
    params(("vault" = String, Path, description = "Vault name"), PageQuery),
    responses(
        (status = 200, body = UnresolvedList),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn unresolved(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<UnresolvedList>, ApiError> {
    let page = query.page()?;
    let open = state.vault(&vault)?;
    blocking(move || {
        let paged = open.vault.snapshot().unresolved(page);
        Ok(Json(UnresolvedList {
            total: paged.total,
            items: paged
                .items
                .into_iter()
                .map(|u| UnresolvedDto {
                    source: u.source.to_string(),
                    target: u.target,
                    kind: u.kind.as_str().to_owned(),
                    line: u.line,
                })
                .collect(),
        }))
    })
    .await
}

/// Every tag.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagList {
    /// By name.
    pub items: Vec<TagDto>,
}

/// A tag and its notes.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagDto {
    /// The tag, nested with `/`.
    pub name: String,
    /// Notes tagged with exactly this tag.
    pub direct: usize,
    /// Notes tagged with it or a tag nested below it.
    pub notes: usize,
}

/// Tags with note counts; nested tags count towards their parents.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/tags",
    tag = "graph",
    params(("vault" = String, Path, description = "Vault name")),
    responses(
        (status = 200, body = TagList),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn tags(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
) -> Result<Json<TagList>, ApiError> {
    let open = state.vault(&vault)?;
    blocking(move || {
        let items = open
            .vault
            .snapshot()
            .tags()
            .into_iter()
            .map(|t| TagDto {
                name: t.name,
                direct: t.direct,
                notes: t.notes,
            })
            .collect();
        Ok(Json(TagList { items }))
    })
    .await
}

/// Counts over the whole vault.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsDto {
    /// Markdown notes.
    pub notes: usize,
    /// Other files.
    pub attachments: usize,
    /// Links to notes and attachments.
    pub links: usize,
    /// Links that resolve to a file.
    pub resolved_links: usize,
    /// Links that resolve to nothing.
    pub unresolved_links: usize,
    /// Embeds among the links.
    pub embeds: usize,
    /// Links to URLs.
    pub external_links: usize,
    /// Distinct tags.
    pub tags: usize,
    /// Notes with no links in or out.
    pub orphans: usize,
    /// Open tasks.
    pub tasks_open: usize,
    /// Completed tasks.
    pub tasks_done: usize,
    /// Words in all notes.
    pub words: u64,
    /// Bytes of all notes.
    pub bytes: u64,
    /// Notes with at least one parse problem.
    pub notes_with_problems: usize,
}

impl From<VaultStats> for StatsDto {
    fn from(s: VaultStats) -> Self {
        Self {
            notes: s.notes,
            attachments: s.attachments,
            links: s.links,
            resolved_links: s.resolved_links,
            unresolved_links: s.unresolved_links,
            embeds: s.embeds,
            external_links: s.external_links,
            tags: s.tags,
            orphans: s.orphans,
            tasks_open: s.tasks_open,
            tasks_done: s.tasks_done,
            words: s.words,
            bytes: s.bytes,
            notes_with_problems: s.notes_with_problems,
        }
    }
}

/// Vault statistics.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/stats",
    tag = "graph",
    params(("vault" = String, Path, description = "Vault name")),
    responses(
        (status = 200, body = StatsDto),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn stats(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
) -> Result<Json<StatsDto>, ApiError> {
    let open = state.vault(&vault)?;
    blocking(move || Ok(Json(open.vault.snapshot().stats().into()))).await
}

/// A page of problems.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemList {
    /// Problems in all.
    pub total: usize,
    /// This page, by path and line.
    pub items: Vec<ProblemDto>,
}

/// One problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDto {
    /// The note.
    pub path: String,
    /// Stable code, such as `unresolved_link` or `frontmatter_invalid`.
    pub code: String,
    /// Explanation.
    pub message: String,
    /// Line.
    pub line: Option<u32>,
    /// For link problems: the target as written.
    pub target: Option<String>,
}

/// Broken links, broken anchors and malformed notes.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/check",
    tag = "graph",
    params(("vault" = String, Path, description = "Vault name"), PageQuery),
    responses(
        (status = 200, body = ProblemList),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<ProblemList>, ApiError> {
    let Page { limit, offset } = query.page()?;
    let open = state.vault(&vault)?;
    blocking(move || {
        let problems = open.vault.snapshot().check();
        Ok(Json(ProblemList {
            total: problems.len(),
            items: problems
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|p| ProblemDto {
                    path: p.path.to_string(),
                    code: p.code.as_str().to_owned(),
                    message: p.message,
                    line: p.line,
                    target: p.target,
                })
                .collect(),
        }))
    })
    .await
}
