//! The MCP endpoint of `weaver serve`: `/mcp` (the default vault) and `/mcp/{vault}`, the same
//! tools as `weaver mcp`, answered by the vaults this server already has open.

use std::sync::Arc;

use crate::config::McpConfig;
use weaver_mcp::{
    BodyLimit, HttpOptions, LocalBackend, McpOptions, ToolError, VaultBackend, VaultDirectory,
};

use super::state::AppState;

/// The vaults of this server, as MCP backends.
struct ServeVaults(AppState);

impl VaultDirectory for ServeVaults {
    fn backend(&self, name: Option<&str>) -> Result<Arc<dyn VaultBackend>, ToolError> {
        // `/mcp` is the vault named `default`, or the only vault when there is just one.
        let name = match name {
            Some(name) => name.to_owned(),
            None => {
                let vaults = self.0.vaults.list();
                match vaults.as_slice() {
                    [only] => only.name.clone(),
                    _ => "default".to_owned(),
                }
            }
        };
        let open = self.0.vault(&name).map_err(|err| ToolError {
            code: err.code().as_str().to_owned(),
            message: err.body().message,
        })?;
        Ok(Arc::new(LocalBackend::new(&name, Arc::clone(&open.vault))))
    }
}

/// The `/mcp` router, to nest at `/mcp`. When `[mcp] api_key_hashes` is set (read live, so a
/// reload adds or revokes keys), requests need a matching bearer key.
pub fn router(state: &AppState, config: &McpConfig) -> axum::Router<AppState> {
    let live = state.clone();
    let limit = state.clone();
    let service = weaver_mcp::http_service(
        Arc::new(ServeVaults(state.clone())),
        McpOptions::new(config.read_only),
        HttpOptions {
            allowed_hosts: config.allowed_hosts.clone(),
            allowed_origins: config.allowed_origins.clone(),
            shutdown: state.shutdown.clone(),
            // `server.max_body_bytes` as it is now: a reload applies to the next request.
            max_body_bytes: BodyLimit::live(move || limit.config.load().server.max_body_bytes),
        },
    );
    service.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let hashes = live.config.load().mcp.api_key_hashes.clone();
            async move { weaver_service::keys::require_bearer(&hashes, request, next).await }
        },
    ))
}
