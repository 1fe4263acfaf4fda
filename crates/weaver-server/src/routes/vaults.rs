//! `GET /api/v1/vaults`: the configured vaults with their state and size.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use weaver_api::dto::{VaultList, VaultSummary};

use crate::state::AppState;
use crate::vaults::VaultState;

/// The route.
pub const VAULTS: &str = "/api/v1/vaults";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route(VAULTS, get(list))
}

/// Summarises every vault (also used by `/readyz`).
pub fn summaries(state: &AppState) -> Vec<VaultSummary> {
    state
        .vaults
        .list()
        .into_iter()
        .map(|entry| {
            let vault_state = entry.state();
            let read_only = entry.config.read().map(|c| c.read_only).unwrap_or(false);
            let (notes, attachments, error, cache_error) = match &vault_state {
                VaultState::Ready(open) => {
                    let snapshot = open.vault.snapshot();
                    (
                        Some(snapshot.notes().len()),
                        Some(snapshot.attachments().count()),
                        open.watch_error.clone(),
                        open.cache_error.clone(),
                    )
                }
                VaultState::Failed(reason) => (None, None, Some(reason.to_string()), None),
                VaultState::Opening | VaultState::Closed => (None, None, None, None),
            };
            VaultSummary {
                name: entry.name.clone(),
                state: vault_state.name().to_owned(),
                read_only,
                notes,
                attachments,
                error,
                cache_error,
            }
        })
        .collect()
}

/// List the vaults this server serves.
#[utoipa::path(
    get,
    path = "/api/v1/vaults",
    tag = "vaults",
    responses((status = 200, description = "The vaults, by name", body = VaultList))
)]
pub async fn list(State(state): State<AppState>) -> Json<VaultList> {
    Json(VaultList {
        items: summaries(&state),
    })
}
