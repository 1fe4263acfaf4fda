//! `GET /api/v1/vaults/{vault}/workflows`: the vault's workflow definitions
//! (`.weaver/workflows/*.toml`) as loaded, with every problem of those that could not be.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use weaver_api::dto::WorkflowList;

use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use crate::state::{AppState, blocking};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/vaults/{vault}/workflows", get(list))
}

/// The vault's workflows, read from `.weaver/workflows/*.toml` now (an edited definition shows
/// at once), and each problem of a definition that could not be loaded (code
/// `workflow_invalid`, with file, line, column and field). The same answer as `weaver
/// workflows validate --json`.
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/workflows",
    tag = "workflows",
    params(("vault" = String, Path, description = "Vault name")),
    responses(
        (status = 200, body = WorkflowList),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
) -> Result<Json<WorkflowList>, ApiError> {
    let open = state.vault(&vault)?;
    blocking(move || {
        let loaded = weaver_app::load_workflows(open.vault.root())?;
        Ok(Json(weaver_app::dto::workflow_list(&loaded)))
    })
    .await
}
