//! The MCP endpoint of `weaver serve`: `/mcp` (the default vault) and `/mcp/{vault}`, the same
//! tools as `weaver mcp`, answered by the vaults this server already has open.

use std::sync::Arc;

use crate::config::McpConfig;
use crate::mcp::{HttpOptions, LocalBackend, McpOptions, ToolError, VaultBackend, VaultDirectory};

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
            message: err.to_string(),
        })?;
        Ok(Arc::new(LocalBackend::new(&name, Arc::clone(&open.vault))))
    }
}

/// The `/mcp` router, to nest at `/mcp`.
pub fn router(state: &AppState, config: &McpConfig) -> axum::Router<AppState> {
    crate::mcp::http_service(
        Arc::new(ServeVaults(state.clone())),
        McpOptions::new(config.read_only),
        HttpOptions {
            allowed_hosts: config.allowed_hosts.clone(),
            allowed_origins: config.allowed_origins.clone(),
            shutdown: state.shutdown.clone(),
        },
    )
}
