//! Operations endpoints: `/livez`, `/readyz` and `/metrics`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::routes::vaults::summaries;
use super::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
}

/// 200 while the process runs.
#[utoipa::path(
    get,
    path = "/livez",
    tag = "operations",
    responses((status = 200, body = Liveness))
)]
pub async fn livez() -> Json<Liveness> {
    Json(Liveness {
        status: "ok".to_owned(),
    })
}

/// Readiness, with every vault's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, `opening` (a vault's initial index is not done), `behind` (cluster mode: not
    /// connected, or not caught up with the log) or `shutting_down`.
    pub status: String,
    /// By vault name.
    pub vaults: BTreeMap<String, VaultReadiness>,
    /// Cluster mode: the replica's place in the change log (ready only while every vault is
    /// caught up within `cluster.max_staleness_ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterReadiness>,
    /// Semantic search (never part of readiness: embedding runs after a vault is ready).
    pub semantic: SemanticReadiness,
}

/// The embedding model's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct SemanticReadiness {
    /// `off` (no model configured, or turned off), `loading`, `ready` or `failed`.
    pub state: String,
    /// Why it is off or failed; the model's identity when ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<weaver_app::ModelState> for SemanticReadiness {
    fn from(state: weaver_app::ModelState) -> Self {
        let (state, detail) = match state {
            weaver_app::ModelState::Off(why) => ("off", Some(why)),
            weaver_app::ModelState::Loading => ("loading", None),
            weaver_app::ModelState::Ready(model) => ("ready", Some(model)),
            // The error names the file; a server path stays out of the answer.
            weaver_app::ModelState::Failed(_) => (
                "failed",
                Some("the embedding model could not be loaded (see the server log)".to_owned()),
            ),
        };
        Self {
            state: state.to_owned(),
            detail,
        }
    }
}

/// A cluster replica's place in the change log.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterReadiness {
    /// This replica's id (`cluster.replica_id`).
    pub replica_id: String,
    /// Connected, every vault open and caught up within `cluster.max_staleness_ms`.
    pub ready: bool,
    /// Why it is not ready, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Each vault's place in its log.
    pub vaults: Vec<ClusterVaultReadiness>,
}

/// One vault's place in its change log on this replica.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterVaultReadiness {
    /// The vault.
    pub name: String,
    /// The last entry applied to this replica's copy.
    pub applied: u64,
    /// The head last seen in the database.
    pub head: u64,
    /// Milliseconds since the copy was last known to be caught up (absent: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_ms: Option<u64>,
    /// Why the copy stopped following the log, if it did (restart the replica to rebuild it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<String>,
}

impl From<weaver_cluster::ReplicaStatus> for ClusterReadiness {
    fn from(s: weaver_cluster::ReplicaStatus) -> Self {
        Self {
            replica_id: s.replica_id,
            ready: s.ready,
            reason: s.reason,
            vaults: s
                .vaults
                .into_iter()
                .map(|v| ClusterVaultReadiness {
                    name: v.name,
                    applied: v.applied,
                    head: v.head,
                    stale_ms: v.stale_ms,
                    broken: v.broken,
                })
                .collect(),
        }
    }
}

/// One vault's readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct VaultReadiness {
    /// `opening`, `ready`, `failed` or `closed`.
    pub state: String,
    /// Notes, once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<usize>,
    /// Why it failed, or why it is not watched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why its on-disk cache could not be used, when it is indexed in memory instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_error: Option<String>,
}

/// 200 once every vault has finished opening (a vault that failed to open does not hold the
/// others back: it is listed as `failed` and its routes answer 503); 503 before that and from
/// the moment shutdown begins.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Serving", body = Readiness),
        (status = 503, description = "A vault is still opening, or shutting down", body = Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let shutting_down = state.shutdown.is_cancelled();
    let opened = state.vaults.all_opened();
    let cluster: Option<ClusterReadiness> = state
        .cluster
        .as_ref()
        .map(|replica| replica.status().into());
    let status = if shutting_down {
        "shutting_down"
    } else if cluster.as_ref().is_some_and(|c| !c.ready) {
        "behind"
    } else if opened {
        "ready"
    } else {
        "opening"
    };
    let vaults = summaries(&state)
        .into_iter()
        .map(|s| {
            (
                s.name,
                VaultReadiness {
                    state: s.state,
                    notes: s.notes,
                    error: s.error,
                    cache_error: s.cache_error,
                },
            )
        })
        .collect();
    let code = if status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(Readiness {
            status: status.to_owned(),
            vaults,
            cluster,
            semantic: state.vaults.semantic().into(),
        }),
    )
}

/// Prometheus metrics (text format). When `server.metrics_token` is set, requires
/// `Authorization: Bearer <token>`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain"),
        (status = 401, description = "Token required", body = ErrorBody),
    )
)]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = state.config.load();
    if let Some(token) = &config.server.metrics_token
        && !weaver_service::keys::bearer_is(&headers, token.expose())
    {
        return ApiError::Unauthorized.into_response();
    }
    for entry in state.vaults.list() {
        if let Ok(open) = entry.ready() {
            if let Some(stats) = open.watch_stats() {
                super::metrics::watcher(&entry.name, stats.events(), stats.lag());
            }
            if let Some(status) = open.vault.semantic_status() {
                super::metrics::semantic(&entry.name, &status);
            }
        }
    }
    super::metrics::process();
    state.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Compares without an early exit, so the time taken does not tell how much of a guess matched.
#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::config::Config;

    #[tokio::test]
    async fn readiness_turns_503_when_shutdown_begins() {
        let state = AppState::new(
            Config::default(),
            crate::metrics::install(),
            CancellationToken::new(),
        );
        let (status, Json(body)) = readyz(State(state.clone())).await;
        assert_eq!((status, body.status.as_str()), (StatusCode::OK, "ready"));
        state.shutdown.cancel();
        let (status, Json(body)) = readyz(State(state)).await;
        assert_eq!(
            (status, body.status.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
        );
    }
}
