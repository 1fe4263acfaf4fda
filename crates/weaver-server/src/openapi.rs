//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! DTOs' `ToSchema` derives, served at `/api/v1/openapi.json` with Swagger UI at `/docs`
//! (bundled into the binary: it works offline).
//!
//! The routes are registered by hand in `routes/` rather than through `utoipa-axum`'s router:
//! one axum wildcard route serves `notes/{path}` and its sub-resources, which the document lists
//! as operations of their own. The integration tests check that every documented operation is
//! routed, and snapshot the document so API changes are reviewed.

use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::events::{ChangeData, LaggedData, ReadyData};
use super::ops;
use super::routes::{events, files, graph, notes, search, vaults, workflows, write};
use super::state::AppState;

/// Where the document is served.
pub const OPENAPI_JSON: &str = "/api/v1/openapi.json";

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Weaver",
        description = "A knowledge graph over a folder of Markdown notes (an Obsidian vault): \
            notes, links, backlinks, graph walks, tags, search by words and by meaning, similar \
            notes, unlinked mentions and live change events. \
            Errors are `{\"code\": \"...\", \"message\": \"...\"}` with a stable snake_case code."
    ),
    paths(
        vaults::list,
        notes::list,
        notes::get_note,
        notes::backlinks,
        notes::links,
        notes::neighbors,
        notes::similar,
        notes::mentions,
        notes::html,
        files::file,
        write::put_note,
        write::patch_note,
        write::move_note,
        write::delete_note,
        graph::graph,
        graph::path,
        graph::orphans,
        graph::unresolved,
        graph::tags,
        graph::stats,
        graph::check,
        search::search,
        workflows::list,
        events::events,
        ops::livez,
        ops::readyz,
        ops::metrics,
    ),
    components(schemas(ChangeData, ReadyData, LaggedData)),
    modifiers(&CommonErrors),
    tags(
        (name = "vaults", description = "The vaults this server serves"),
        (name = "notes", description = "Notes, their content, links and backlinks"),
        (name = "graph", description = "Whole-vault graph questions and statistics"),
        (name = "search", description = "Search by words (BM25), by meaning (a local embedding model) or both; similar notes; unlinked mentions"),
        (name = "events", description = "Live changes as Server-Sent Events"),
        (name = "workflows", description = "Automation on vault events: the vault's workflow definitions"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

/// Adds the error answers every operation of a kind can give, so no annotation can forget
/// one (schemathesis checks that every status the server answers is documented):
///
/// - under `/api/v1/vaults/{vault}`: 400 (a malformed path, query parameter or header), 404
///   (unknown vault or note), 503 (vault opening or unavailable, request timeout);
/// - with a request body: 413 (over `server.max_body_bytes`) and 415 (wrong content type).
///
/// An operation's own description of a status is kept.
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in &mut openapi.paths.paths {
            let in_vault = path.starts_with("/api/v1/vaults/{vault}");
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let has_body = operation.request_body.is_some();
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description));
                };
                if in_vault {
                    add("400", "A malformed path, query parameter or header");
                    add("404", "Unknown vault or note");
                    add(
                        "503",
                        "Vault opening or unavailable, or the request timed out",
                    );
                }
                if has_body {
                    add("400", "A malformed body");
                    add("413", "Body over the limit");
                    add("415", "Wrong content type");
                }
            }
        }
    }
}

/// `/api/v1/openapi.json` and `/docs`.
pub fn router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url(OPENAPI_JSON, ApiDoc::openapi()))
}
