//! The REST API under `/api/v1`, one module per area. Each module exposes `router()`, merged
//! here; handlers are thin: parse the request into a `weaver-app` call, run it off the async
//! threads, and map the answer to a DTO defined next to the route. Domain types never go on
//! the wire directly, so the API is a contract of its own.
//!
//! To add an area (the write routes: `write.rs`), add `mod write;`, merge `write::router()` in
//! [`router`] and list its handlers in `super::openapi::ApiDoc`.

pub mod events;
pub mod files;
pub mod graph;
pub mod notes;
pub mod search;
pub mod vaults;
pub mod workflows;
pub mod write;

use axum::Router;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use weaver_app::Page;

use super::error::ApiError;
use super::state::AppState;

/// Items per page when the request does not say.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items one page may ask for.
pub const MAX_LIMIT: usize = 1000;

/// Every API route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(vaults::router())
        .merge(notes::router())
        .merge(graph::router())
        .merge(search::router())
        .merge(events::router())
        .merge(write::router())
        .merge(files::router())
        .merge(workflows::router())
        .route_layer(axum::middleware::from_fn(notes::check_method))
}

/// `limit` and `offset` of a paged list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (default 50, at most 1000).
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<usize>,
    /// Items to skip (default 0).
    #[serde(default, deserialize_with = "crate::extract::number")]
    #[param(minimum = 0)]
    pub offset: Option<usize>,
}

impl PageQuery {
    /// The page asked for, with the default limit.
    pub fn page(&self) -> Result<Page, ApiError> {
        page(self.limit, self.offset, DEFAULT_LIMIT)
    }
}

/// A page from optional `limit` and `offset`, rejecting limits over [`MAX_LIMIT`].
pub fn page(limit: Option<usize>, offset: Option<usize>, default: usize) -> Result<Page, ApiError> {
    let limit = limit.unwrap_or(default);
    if limit > MAX_LIMIT {
        return Err(ApiError::InvalidQuery(format!(
            "`limit={limit}` is over the maximum of {MAX_LIMIT}"
        )));
    }
    Ok(Page {
        limit,
        offset: offset.unwrap_or(0),
    })
}

/// `field=KEY:VALUE` parameters as pairs.
pub fn parse_fields(fields: &[String]) -> Result<Vec<(String, String)>, ApiError> {
    weaver_api::dto::parse_fields(fields)
        .map_err(|f| ApiError::InvalidQuery(format!("`field={f}`: expected `field=KEY:VALUE`")))
}

/// Which links a graph walk follows.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DirectionParam {
    /// Links from the note.
    Out,
    /// Links to the note.
    In,
    /// Both.
    #[default]
    Both,
}

impl From<DirectionParam> for weaver_core::Direction {
    fn from(d: DirectionParam) -> Self {
        match d {
            DirectionParam::Out => Self::Out,
            DirectionParam::In => Self::In,
            DirectionParam::Both => Self::Both,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_fields_are_validated() {
        assert_eq!(page(None, None, 50).unwrap(), Page::first(50));
        assert_eq!(page(Some(1000), Some(3), 50).unwrap().offset, 3);
        let err = page(Some(1001), None, 50).unwrap_err();
        assert_eq!(err.code().as_str(), "invalid_query");
        assert!(err.to_string().contains("1001"));
        assert_eq!(
            parse_fields(&["status: done".to_owned(), "a:b:c".to_owned()]).unwrap(),
            vec![
                ("status".to_owned(), "done".to_owned()),
                ("a".to_owned(), "b:c".to_owned())
            ]
        );
        assert!(parse_fields(&["nocolon".to_owned()]).is_err());
        assert!(parse_fields(&[":v".to_owned()]).is_err());
    }
}
