//! `GET /api/v1/vaults/{vault}/search`: full-text search with filters.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;
use weaver_api::dto::{SearchModeDto, SearchResultsDto};
use weaver_app::SearchQuery;

use super::{page, parse_fields};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::{AppState, blocking};
use weaver_api::dates::parse_date;

/// Hits per page when the request does not say.
pub(crate) const DEFAULT_LIMIT: usize = 10;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/vaults/{vault}/search", get(search))
}

// utoipa takes only a literal for `max_length`; this keeps it in step with the index's limit.
const _: () = assert!(weaver_search::MAX_QUERY_BYTES == 1024);

/// Query of a search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words (any may match, best first), `+required`, `"exact phrases"`, `prefix*`,
    /// `-excluded`. Empty lists the filtered notes, newest first. At most 1024 bytes, 32 clauses, 64 words and 8 prefixes
    /// (`query_too_long`, `query_too_complex`; see docs/search.md).
    #[param(max_length = 1024)]
    pub q: Option<String>,
    /// How to rank: `keyword` (BM25 over the words), `semantic` (nearness in meaning, with an
    /// embedding model), `hybrid` (both fused). Default: `hybrid` when the server has a model,
    /// else `keyword`; `semantic` and `hybrid` without one are `semantic_unavailable`.
    /// Filters and `+required`, `"phrase"` and `-excluded` hold in every mode.
    pub mode: Option<SearchModeDto>,
    /// Only notes with this tag or one nested below it; repeatable.
    #[serde(default)]
    pub tag: Vec<String>,
    /// Only notes in this folder or below.
    pub folder: Option<String>,
    /// Only notes whose frontmatter has `KEY:VALUE`; repeatable.
    #[serde(default)]
    pub field: Vec<String>,
    /// Only notes modified on or after this date (`YYYY-MM-DD` or RFC 3339, UTC).
    pub after: Option<String>,
    /// Only notes modified before this date.
    pub before: Option<String>,
    /// Hits per page (default 10, at most 1000).
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<usize>,
    /// Hits to skip.
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 0)]
    pub offset: Option<usize>,
}

/// Search with filters: by words, by meaning, or both.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/search",
    tag = "search",
    params(("vault" = String, Path, description = "Vault name"), SearchParams),
    responses(
        (status = 200, body = SearchResultsDto),
        (status = 400, description = "Bad date, field, mode or limit; query text or filters over their limits; `semantic_unavailable`: a semantic or hybrid search without an embedding model", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, description = "Vault not ready, or the search ran out of its time budget (`search_timeout`)", body = ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResultsDto>, ApiError> {
    let page = page(params.limit, params.offset, DEFAULT_LIMIT)?;
    let date = |d: Option<&str>| {
        d.map(parse_date)
            .transpose()
            .map_err(|e| ApiError::InvalidQuery(e.to_string()))
    };
    let query = SearchQuery {
        text: params.q.unwrap_or_default(),
        tags: params.tag,
        folder: params.folder,
        fields: parse_fields(&params.field)?,
        modified_after: date(params.after.as_deref())?,
        modified_before: date(params.before.as_deref())?,
        limit: page.limit,
        offset: page.offset,
    };
    let mode = params.mode.map(weaver_app::dto::search_mode);
    let open = state.vault(&vault)?;
    blocking(move || {
        // The index treats 0 as "the default"; an explicit `limit=0` asks for the count only.
        let answer = open.vault.find(
            &SearchQuery {
                limit: query.limit.max(1),
                ..query.clone()
            },
            mode,
        )?;
        let mut found = weaver_app::dto::search_answer(answer);
        if query.limit == 0 {
            found.items.clear();
        }
        Ok(Json(found))
    })
    .await
}
