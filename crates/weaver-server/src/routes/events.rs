//! `GET /api/v1/vaults/{vault}/events`: the vault's changes as Server-Sent Events.
//!
//! Event names: `note.created`, `note.updated`, `note.deleted`, `file.created`,
//! `file.updated`, `file.deleted` (data `{vault, path, hash?}`), `index.ready` (data
//! `{vault, notes, attachments}`; sent first when the vault is already ready on connect, else
//! when its initial index is done) and `events.lagged` (data `{vault, skipped}`) when this
//! subscriber fell behind and missed events. A comment line every 15 seconds keeps proxies from
//! closing an idle stream. The stream ends when the vault closes or the server shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{Stream, StreamExt, stream};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::error::{ApiError, ErrorBody};
use crate::events::{LaggedData, VaultEvent};
use crate::extract::ApiPath;
use crate::state::AppState;
use crate::vaults::VaultState;

/// Interval of keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/vaults/{vault}/events", get(events))
}

/// Live changes of a vault as Server-Sent Events. Available while the vault is still opening
/// (then `index.ready` tells when it is done).
#[utoipa::path(
    get,
    path = "/api/v1/vaults/{vault}/events",
    tag = "events",
    params(("vault" = String, Path, description = "Vault name")),
    responses(
        (status = 200, description = "An endless `text/event-stream`: `note.created`, `note.updated`, `note.deleted`, `file.created`, `file.updated`, `file.deleted` (data: ChangeData), `index.ready` (data: ReadyData), `events.lagged` (data: LaggedData)", content_type = "text/event-stream", body = String),
        (status = 404, description = "Unknown vault", body = ErrorBody),
        (status = 503, description = "Vault unavailable or server shutting down", body = ErrorBody),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    ApiPath(vault): ApiPath<String>,
) -> Result<Response, ApiError> {
    let entry = state.entry(&vault)?;
    // Checking the state and subscribing under the state lock: `index.ready` is published
    // under the same lock, so it arrives exactly once either way.
    let subscribed = entry.with_state(|s| match s {
        VaultState::Opening => Ok((None, entry.events.subscribe())),
        VaultState::Ready(open) => {
            let snapshot = open.vault.snapshot();
            let ready = VaultEvent::IndexReady {
                notes: snapshot.notes().len(),
                attachments: snapshot.attachments().count(),
            };
            Ok((Some(ready), entry.events.subscribe()))
        }
        VaultState::Failed(_) | VaultState::Closed => Err(()),
    });
    let (first, rx) = match subscribed {
        Ok(s) => s,
        Err(()) => return Err(entry.ready().err().unwrap_or(ApiError::ShuttingDown)),
    };
    let name = entry.name.clone();
    let live = BroadcastStream::new(rx).map(move |item| match item {
        Ok(event) => sse_event(&event, &name),
        Err(BroadcastStreamRecvError::Lagged(skipped)) => {
            tracing::warn!(vault = %name, skipped, "an events subscriber lagged");
            json_event(
                "events.lagged",
                &LaggedData {
                    vault: name.clone(),
                    skipped,
                },
            )
        }
    });
    let name = entry.name.clone();
    let first = stream::iter(first.map(move |e| sse_event(&e, &name)));
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> = Box::pin(
        first
            .chain(live)
            .take_until(entry.closed.clone().cancelled_owned()),
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

fn sse_event(event: &VaultEvent, vault: &str) -> Result<Event, Infallible> {
    json_event(event.name(), &event.data(vault))
}

fn json_event(name: &str, data: &impl serde::Serialize) -> Result<Event, Infallible> {
    let event = Event::default().event(name);
    Ok(match serde_json::to_string(data) {
        Ok(json) => event.data(json),
        Err(err) => {
            tracing::error!(error = %err, "cannot serialise an event");
            event.data("{}")
        }
    })
}
