//! Where a request goes and what it needs: the upstream, the vault it touches and the least
//! [`Role`] that may send it. Decided from the method, the raw path and (for MCP) the
//! JSON-RPC body, before anything is forwarded.
//!
//! # Invariants
//!
//! - Every forwarded request names at most one vault, and that vault is the one authorised:
//!   vault names are `[a-z0-9_-]+`, so the raw path segment *is* the name the upstream decodes
//!   (no percent-encoding or case folding can make the two differ), and `/mcp` (no vault) is
//!   forwarded as `/mcp/{default_vault}` so the upstream cannot pick a different default.
//! - Paths with `.`/`..` segments (raw or percent-encoded) are refused, not normalised.
//! - MCP: `tools/call` of a tool not known to read ([`READ_TOOLS`]) needs `write`;
//!   `delete_note` with `permanent` needs `admin`. A body that is not JSON-RPC the gateway can
//!   read is refused rather than forwarded: the gateway and mcp-server parse with the same
//!   `serde_json`, and duplicate keys in the fields read here are an error, so the two cannot
//!   see different tool names. A `tools/list` from an identity that may not write is answered
//!   without the write tools. A resource URI (`weaver://{vault}/...`) must name the endpoint's
//!   own vault.
//! - REST: `GET`/`HEAD`/`OPTIONS` need `read`; other methods on a vault need `write`, and
//!   `DELETE ...?permanent=...` needs `admin`; other methods outside a vault need `admin`.

use axum::http::{Method, Uri};
use serde::Deserialize;

use super::auth::Role;
use weaver_api::mcp::{DELETE_NOTE, PERMANENT, READ_TOOLS};

/// Which service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// `weaver serve` (`/api/...`).
    Api,
    /// `weaver mcp --http` (`/mcp`, `/mcp/{vault}`).
    Mcp,
}

impl Upstream {
    /// A metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Mcp => "mcp",
        }
    }
}

/// What the gateway decided about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where it goes.
    pub upstream: Upstream,
    /// The vault it touches, if any.
    pub vault: Option<String>,
    /// The least role that may send it (MCP POSTs: raised by [`mcp_request`] once the body is in).
    pub role: Role,
    /// The upstream path and query.
    pub path_and_query: String,
    /// `GET /api/v1/vaults`: the answer is filtered to the caller's vaults.
    pub vault_list: bool,
    /// An MCP `POST`: the body decides the role.
    pub inspect_body: bool,
    /// A bounded route label for metrics and logs.
    pub route: &'static str,
}

/// Why a request cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such route (or a vault name that cannot exist).
    NotFound,
    /// A path with dot segments.
    BadPath,
}

/// Whether `name` can be a vault name (`[a-z0-9_-]+`, as `weaver serve` requires).
pub fn is_vault_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Routes `method uri`; `default_vault` is the vault `/mcp` means.
pub fn classify(method: &Method, uri: &Uri, default_vault: &str) -> Result<Target, Refusal> {
    let path = uri.path();
    if path.split('/').any(|seg| {
        matches!(
            seg.to_ascii_lowercase().as_str(),
            "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
        )
    }) {
        return Err(Refusal::BadPath);
    }
    let query = uri.query();
    if let Some(rest) = path.strip_prefix("/mcp") {
        let vault = match rest {
            "" | "/" => default_vault,
            _ => {
                let name = rest.strip_prefix('/').ok_or(Refusal::NotFound)?;
                if !is_vault_name(name) {
                    return Err(Refusal::NotFound);
                }
                name
            }
        };
        let mut path_and_query = format!("/mcp/{vault}");
        if let Some(q) = query {
            path_and_query.push('?');
            path_and_query.push_str(q);
        }
        return Ok(Target {
            upstream: Upstream::Mcp,
            vault: Some(vault.to_owned()),
            role: Role::Read,
            path_and_query,
            vault_list: false,
            inspect_body: *method == Method::POST,
            route: "/mcp/{vault}",
        });
    }
    if path != "/api" && !path.starts_with("/api/") {
        return Err(Refusal::NotFound);
    }
    let reading = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| path.to_owned(), |pq| pq.as_str().to_owned());
    let mut target = Target {
        upstream: Upstream::Api,
        vault: None,
        role: if reading { Role::Read } else { Role::Admin },
        path_and_query,
        vault_list: false,
        inspect_body: false,
        route: "/api",
    };
    if path == "/api/v1/vaults" || path == "/api/v1/vaults/" {
        target.vault_list = *method == Method::GET;
        target.route = "/api/v1/vaults";
        return Ok(target);
    }
    if let Some(rest) = path.strip_prefix("/api/v1/vaults/") {
        let (name, below) = rest.split_once('/').unwrap_or((rest, ""));
        if !is_vault_name(name) {
            return Err(Refusal::NotFound);
        }
        target.vault = Some(name.to_owned());
        target.route = vault_route(below);
        target.role = if reading {
            Role::Read
        } else if *method == Method::DELETE && permanent(query) {
            Role::Admin
        } else {
            Role::Write
        };
    }
    Ok(target)
}

/// A bounded label for a path below `/api/v1/vaults/{vault}/`.
fn vault_route(below: &str) -> &'static str {
    let first = below.split('/').next().unwrap_or_default();
    match first {
        "notes" if below.len() > "notes/".len() => "/api/v1/vaults/{vault}/notes/{path}",
        "notes" => "/api/v1/vaults/{vault}/notes",
        "search" => "/api/v1/vaults/{vault}/search",
        "events" => "/api/v1/vaults/{vault}/events",
        "tags" | "stats" | "check" | "orphans" | "unresolved" | "path" => {
            "/api/v1/vaults/{vault}/graph"
        }
        _ => "/api/v1/vaults/{vault}/other",
    }
}

/// Whether a query asks for a permanent delete: any `permanent` value but `false`.
/// Keys and values are form-decoded (`%61`, `+`) as the upstream decodes them, so no spelling
/// of `permanent=true` escapes the check.
fn permanent(query: Option<&str>) -> bool {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(&text.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query.is_some_and(|q| {
        q.split('&').any(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            decode(key) == PERMANENT && decode(value) != "false"
        })
    })
}

/// One JSON-RPC message, as far as the gateway reads it, parsed straight from the bytes:
/// derived structs refuse duplicate fields, so `{"method": "a", "method": "b"}` is an error,
/// not a choice.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<Params>,
}

/// The `params` fields that matter for `tools/call` (other methods' params pass through).
#[derive(Deserialize)]
struct Params {
    #[serde(default)]
    name: Option<serde_json::Value>,
    #[serde(default)]
    arguments: Option<serde_json::Value>,
    #[serde(default)]
    uri: Option<serde_json::Value>,
}

/// Why an MCP body cannot be authorised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON-RPC the gateway can read.
    Unreadable(String),
}

/// What the gateway needs to know of an MCP request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpRequest {
    /// The least role that may send it.
    pub role: Role,
    /// It is a single `tools/list`: its answer can be trimmed to the tools the caller may use.
    pub lists_tools: bool,
    /// The id of a single request, for a JSON-RPC error answer.
    pub id: Option<serde_json::Value>,
    /// Vaults named inside the messages (resource URIs `weaver://{vault}/...`): each must be
    /// the endpoint's own.
    pub vaults: Vec<String>,
}

/// Reads an MCP request body (one message or a batch).
pub fn mcp_request(body: &[u8]) -> Result<McpRequest, BodyError> {
    let (role, messages) = mcp_messages(body)?;
    let lists_tools =
        matches!(messages.as_slice(), [m] if m.method.as_deref() == Some("tools/list"));
    let id = match messages.as_slice() {
        [m] => m.id.clone(),
        _ => None,
    };
    let vaults = messages.iter().filter_map(named_vault).collect();
    Ok(McpRequest {
        role,
        lists_tools,
        id,
        vaults,
    })
}

/// The least role that may send this MCP request body (one message or a batch).
#[cfg(test)]
fn mcp_role(body: &[u8]) -> Result<Role, BodyError> {
    mcp_messages(body).map(|(role, _)| role)
}

fn mcp_messages(body: &[u8]) -> Result<(Role, Vec<Message>), BodyError> {
    let unreadable = |e: serde_json::Error| BodyError::Unreadable(e.to_string());
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let messages: Vec<Message> = match first {
        Some(b'[') => serde_json::from_slice(body).map_err(unreadable)?,
        Some(b'{') => vec![serde_json::from_slice(body).map_err(unreadable)?],
        _ => {
            return Err(BodyError::Unreadable(
                "expected a JSON-RPC message or batch".to_owned(),
            ));
        }
    };
    if messages.is_empty() {
        return Err(BodyError::Unreadable("an empty batch".to_owned()));
    }
    let mut role = Role::Read;
    for message in &messages {
        role = role.max(message_role(message)?);
    }
    Ok((role, messages))
}

/// The vault a resource request names in its URI (`weaver://{vault}/...`), if any. A URI the
/// gateway cannot read names the vault `?`, which no endpoint serves.
fn named_vault(message: &Message) -> Option<String> {
    let method = message.method.as_deref()?;
    if !method.starts_with("resources/") {
        return None;
    }
    let uri = message.params.as_ref()?.uri.as_ref()?;
    let vault = uri
        .as_str()
        .and_then(|u| u.strip_prefix("weaver://"))
        .and_then(|rest| rest.split('/').next())
        .filter(|v| is_vault_name(v))
        .unwrap_or("?");
    Some(vault.to_owned())
}

/// Whether an identity with `role` may call the tool `name` at all (`delete_note` may still
/// need `admin` for a permanent delete).
pub fn tool_allowed(role: Role, name: &str) -> bool {
    role >= Role::Write || READ_TOOLS.contains(&name)
}

fn message_role(message: &Message) -> Result<Role, BodyError> {
    if message.method.as_deref() != Some("tools/call") {
        return Ok(Role::Read);
    }
    let params = message
        .params
        .as_ref()
        .ok_or_else(|| BodyError::Unreadable("tools/call without params".to_owned()))?;
    let name = params
        .name
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| BodyError::Unreadable("tools/call without a tool name".to_owned()))?;
    if READ_TOOLS.contains(&name) {
        return Ok(Role::Read);
    }
    let permanent = params
        .arguments
        .as_ref()
        .and_then(|a| a.get(PERMANENT))
        .is_some_and(|v| !matches!(v, serde_json::Value::Null | serde_json::Value::Bool(false)));
    if name == DELETE_NOTE && permanent {
        return Ok(Role::Admin);
    }
    // The write tools, and any tool this gateway does not know.
    Ok(Role::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: Method, uri: &str) -> Result<Target, Refusal> {
        classify(&method, &uri.parse().unwrap(), "default")
    }

    #[test]
    fn rest_paths_name_their_vault_and_role() {
        let t = route(Method::GET, "/api/v1/vaults/notes/notes/A%20B.md?x=1").unwrap();
        assert_eq!(t.upstream, Upstream::Api);
        assert_eq!(t.vault.as_deref(), Some("notes"));
        assert_eq!(t.role, Role::Read);
        assert_eq!(t.path_and_query, "/api/v1/vaults/notes/notes/A%20B.md?x=1");
        assert_eq!(t.route, "/api/v1/vaults/{vault}/notes/{path}");
        let role = |method: Method, query: &str| {
            let uri = format!("/api/v1/vaults/notes/notes/a.md{query}");
            route(method, &uri).unwrap().role
        };
        assert_eq!(role(Method::PUT, ""), Role::Write);
        assert_eq!(role(Method::DELETE, "?permanent=false"), Role::Write);
        assert_eq!(role(Method::DELETE, "?permanent=f%61lse"), Role::Write);
        // Every spelling of a permanent delete needs admin, as the upstream decodes them all.
        for query in [
            "?permanent=true",
            "?perm%61nent=true",
            "?permanent=%74rue",
            "?x=1&permanent",
            "?permanent=1",
        ] {
            assert_eq!(role(Method::DELETE, query), Role::Admin, "{query}");
        }
        let list = route(Method::GET, "/api/v1/vaults").unwrap();
        assert!(list.vault_list && list.vault.is_none());
        let spec = route(Method::GET, "/api/v1/openapi.json").unwrap();
        assert_eq!((spec.vault, spec.role), (None, Role::Read));
        assert_eq!(
            route(Method::POST, "/api/v1/other").unwrap().role,
            Role::Admin
        );
    }

    #[test]
    fn odd_paths_are_refused() {
        for (uri, why) in [
            ("/api/v1/vaults/Notes/search", Refusal::NotFound),
            ("/api/v1/vaults/a%2Fb/search", Refusal::NotFound),
            ("/api/v1/vaults/a/../b/search", Refusal::BadPath),
            ("/api/v1/vaults/a/%2E%2E/b", Refusal::BadPath),
            ("/api/v1/vaults/a/notes/./x.md", Refusal::BadPath),
            ("/mcp/a/b", Refusal::NotFound),
            ("/mcp/A", Refusal::NotFound),
            ("/mcpx", Refusal::NotFound),
            ("/apix", Refusal::NotFound),
            ("/", Refusal::NotFound),
            ("/metrics2", Refusal::NotFound),
        ] {
            assert_eq!(route(Method::GET, uri), Err(why), "{uri}");
        }
    }

    #[test]
    fn mcp_paths_always_name_a_vault() {
        let t = route(Method::POST, "/mcp").unwrap();
        assert_eq!(t.path_and_query, "/mcp/default");
        assert_eq!(t.vault.as_deref(), Some("default"));
        assert!(t.inspect_body);
        let t = route(Method::GET, "/mcp/work?x=1").unwrap();
        assert_eq!(t.path_and_query, "/mcp/work?x=1");
        assert!(!t.inspect_body);
    }

    #[test]
    fn mcp_bodies_decide_the_role() {
        let call = |name: &str, args: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{args}}}}}"#
            )
        };
        assert_eq!(mcp_role(call("read_note", "{}").as_bytes()), Ok(Role::Read));
        assert_eq!(
            mcp_role(call("write_note", "{}").as_bytes()),
            Ok(Role::Write)
        );
        assert_eq!(
            mcp_role(call("delete_note", r#"{"permanent":false}"#).as_bytes()),
            Ok(Role::Write)
        );
        assert_eq!(
            mcp_role(call("delete_note", r#"{"permanent":true}"#).as_bytes()),
            Ok(Role::Admin)
        );
        assert_eq!(
            mcp_role(call("future_tool", "{}").as_bytes()),
            Ok(Role::Write)
        );
        assert_eq!(
            mcp_role(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#),
            Ok(Role::Read)
        );
        assert_eq!(
            mcp_role(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Ok(Role::Read)
        );
        assert_eq!(
            mcp_request(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            Ok(McpRequest {
                role: Role::Read,
                lists_tools: true,
                id: Some(serde_json::json!(1)),
                vaults: Vec::new(),
            })
        );
        assert!(
            !mcp_request(call("read_note", "{}").as_bytes())
                .unwrap()
                .lists_tools
        );
        assert!(tool_allowed(Role::Read, "read_note") && !tool_allowed(Role::Read, "write_note"));
        assert!(tool_allowed(Role::Write, "write_note"));
        let read = |uri: &str| {
            mcp_request(
                format!(r#"{{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{{"uri":"{uri}"}}}}"#)
                    .as_bytes(),
            )
            .unwrap()
            .vaults
        };
        assert_eq!(read("weaver://other/note/A.md"), ["other"]);
        assert_eq!(read("weaver://Other%2Fx/note/A.md"), ["?"]);
        assert_eq!(read("file:///etc/passwd"), ["?"]);
        let batch = format!("[{},{}]", call("read_note", "{}"), call("move_note", "{}"));
        assert_eq!(mcp_role(batch.as_bytes()), Ok(Role::Write));
        for bad in [
            "not json",
            "[]",
            "42",
            r#"{"method":"tools/call","method":"tools/list"}"#,
            r#"{"method":"tools/call","params":{"name":"read_note","name":"write_note"}}"#,
            r#"{"method":"tools/call"}"#,
        ] {
            assert!(mcp_role(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
