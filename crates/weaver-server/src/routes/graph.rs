//! Whole-vault questions: the graph itself (laid out), shortest path, orphans, unresolved
//! links, tags, statistics, problems.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;
use weaver_api::dto::{
    GraphDto, NoteRefList, PathDto, ProblemList, StatsDto, TagList, UnresolvedList,
};
use weaver_app::Page;

use super::{DirectionParam, PageQuery};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::{AppState, blocking};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/vaults/{vault}/graph", get(graph))
        .route("/api/v1/vaults/{vault}/path", get(path))
        .route("/api/v1/vaults/{vault}/orphans", get(orphans))
        .route("/api/v1/vaults/{vault}/unresolved", get(unresolved))
        .route("/api/v1/vaults/{vault}/tags", get(tags))
        .route("/api/v1/vaults/{vault}/stats", get(stats))
        .route("/api/v1/vaults/{vault}/check", get(check))
}

/// The whole link graph: every note (path, title, folder, tags, degree) with a position from
/// a force-directed layout computed on the server and cached until a link changes, and every
/// distinct link between two different notes. Enough to draw the vault's graph view in one
/// request.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/graph",
    tag = "graph",
    params(("vault" = String, Path, description = "Vault name")),
    responses(
        (status = 200, body = GraphDto),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn graph(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
) -> Result<Json<GraphDto>, ApiError> {
    let open = state.vault(&vault)?;
    blocking(move || Ok(Json(weaver_app::dto::graph_dto(open.vault.graph_view())))).await
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
        Ok(Json(weaver_app::dto::path_dto(path)))
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
        Ok(Json(weaver_app::dto::unresolved_list(paged)))
    })
    .await
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
        Ok(Json(weaver_app::dto::tag_list(
            open.vault.snapshot().tags(),
        )))
    })
    .await
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
    blocking(move || {
        Ok(Json(weaver_app::dto::stats(
            open.vault.snapshot().stats(),
            open.vault.semantic_status(),
        )))
    })
    .await
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
        Ok(Json(weaver_app::dto::problem_list(problems, offset, limit)))
    })
    .await
}
