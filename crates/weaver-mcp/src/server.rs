//! [`McpServer`]: the MCP handler. Tools live in `tools.rs`; here are the server's identity,
//! read-only mode, vault selection, resources and prompts.

use std::sync::Arc;

use axum::http::request::Parts;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::{IntoCallToolResult, ToolCallContext};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    GetPromptResult, Implementation, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, Prompt, PromptArgument,
    PromptMessage, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, Role, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::backend::{
    LinkDirection, NeighborsRequest, PathRequest, SingleVault, ToolError, VaultBackend,
    VaultDirectory, Window,
};
use super::schema;
use super::tools::WRITE_TOOLS;
use weaver_api::Code;

/// Bytes of text a tool result may hold, by default: about 8k tokens.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 32 * 1024;

/// Notes per page of `resources/list`.
const RESOURCES_PAGE: usize = 100;

/// How rmcp words a tool error for arguments that do not match the tool's input type.
const ARGUMENT_ERROR_PREFIX: &str = "failed to deserialize parameters:";

/// The resource URI template of notes.
pub const NOTE_URI_TEMPLATE: &str = "weaver://{vault}/note/{path}";

/// How the MCP server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpOptions {
    /// Hide every tool that writes from `tools/list` and refuse calls to them.
    pub read_only: bool,
    /// Bytes of text any one tool result may hold (each of its text and structured forms).
    pub max_output_bytes: usize,
}

impl McpOptions {
    /// Writes allowed or not, and the default output cap.
    pub fn new(read_only: bool) -> Self {
        Self {
            read_only,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
        }
    }
}

/// The vault a Streamable HTTP request named in its path (`/mcp/{vault}`), put into the HTTP
/// request's extensions by the router of [`super::http_service`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultName(pub String);

/// The MCP server of one session (stdio) or one request (stateless Streamable HTTP). Cheap to
/// clone: everything is shared.
#[derive(Clone)]
pub struct McpServer {
    vaults: Arc<dyn VaultDirectory>,
    options: McpOptions,
    pub(super) tool_router: Arc<ToolRouter<McpServer>>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl McpServer {
    /// A server over the vaults of `vaults`.
    pub fn new(vaults: Arc<dyn VaultDirectory>, options: McpOptions) -> Self {
        let mut router = ToolRouter::new();
        for mut route in Self::tool_router() {
            if options.read_only && WRITE_TOOLS.contains(&route.attr.name.as_ref()) {
                continue;
            }
            route.attr.input_schema = Arc::new(schema::compact(&route.attr.input_schema));
            route.attr.output_schema = route
                .attr
                .output_schema
                .map(|s| Arc::new(schema::compact(&s)));
            router.add_route(route);
        }
        Self {
            vaults,
            options,
            tool_router: Arc::new(router),
        }
    }

    /// A server over one vault.
    #[allow(
        dead_code,
        reason = "the tests' shorthand; the binary serves a `VaultDirectory`"
    )]
    pub fn single(backend: Arc<dyn VaultBackend>, options: McpOptions) -> Self {
        Self::new(Arc::new(SingleVault(backend)), options)
    }

    pub(super) fn budget(&self) -> usize {
        self.options.max_output_bytes
    }

    /// The backend of the vault this request is for.
    pub(super) fn backend(
        &self,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Arc<dyn VaultBackend>, ToolError> {
        let name = ctx
            .extensions
            .get::<Parts>()
            .and_then(|parts| parts.extensions.get::<VaultName>())
            .map(|v| v.0.as_str());
        self.backend_named(ctx, name)
    }

    /// The backend of the vault `name` (the default vault for `None`), for this request.
    fn backend_named(
        &self,
        ctx: &RequestContext<RoleServer>,
        name: Option<&str>,
    ) -> Result<Arc<dyn VaultBackend>, ToolError> {
        match ctx.extensions.get::<Parts>() {
            Some(parts) => self.vaults.backend_for_request(name, &parts.headers),
            None => self.vaults.backend(name),
        }
    }
}

const INSTRUCTIONS: &str = "Weaver serves an Obsidian vault as a knowledge graph. Name notes by \
vault path (`Folder/Note.md`), title or alias. Find notes with search_notes, list_notes or \
recent_changes; read_note returns Markdown and a `hash` to pass as `if_match` when writing. \
Lists are paged: follow `next_offset`.";

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new("weaver", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tool_router.list_all()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tool_router.get(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if self.options.read_only && WRITE_TOOLS.contains(&request.name.as_ref()) {
            return ToolError::new(
                Code::VaultReadOnly,
                format!(
                    "`{}` is not available: this MCP server is read-only",
                    request.name
                ),
            )
            .into_call_tool_result();
        }
        let name = request.name.clone();
        let started = std::time::Instant::now();
        let call = ToolCallContext::new(self, request, context);
        // One span per tool call: exported with the caller's trace when trace export is on.
        let span = tracing::info_span!("mcp.tool", mcp.tool = %name);
        let mut response =
            tracing::Instrument::instrument(self.tool_router.call(call), span).await?;
        // rmcp reports arguments that do not deserialise as a tool error of its own wording;
        // give it the stable code every other failure has.
        if let CallToolResponse::Complete(result) = &response
            && result.is_error == Some(true)
            && let Some(reason) = result
                .content
                .first()
                .and_then(|c| c.as_text())
                .and_then(|t| t.text.strip_prefix(ARGUMENT_ERROR_PREFIX))
        {
            response = ToolError::invalid_argument(format!(
                "invalid arguments for `{name}`: {}",
                reason.trim()
            ))
            .into_call_tool_result()?;
        }
        let failed = matches!(&response, CallToolResponse::Complete(r) if r.is_error == Some(true));
        tracing::debug!(
            mcp.tool = %name,
            failed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "mcp tool call"
        );
        Ok(response)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let template = ResourceTemplate::new(NOTE_URI_TEMPLATE, "note")
            .with_title("Vault note")
            .with_description(
                "The Markdown of a note; {path} is its vault path, such as Projects/Plan.md",
            )
            .with_mime_type("text/markdown");
        Ok(ListResourceTemplatesResult::with_all_items(vec![template]))
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let offset = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(cursor) => cursor.parse::<usize>().map_err(|_| {
                ErrorData::invalid_params(format!("invalid cursor `{cursor}`"), None)
            })?,
        };
        let backend = self.backend(&context).map_err(protocol_error)?;
        let window = Window {
            limit: RESOURCES_PAGE,
            offset,
        };
        let page = backend
            .list_notes(None, window)
            .await
            .map_err(protocol_error)?;
        let end = offset + page.items.len();
        let resources = page
            .items
            .into_iter()
            .map(|n| {
                Resource::new(note_uri(backend.name(), &n.path), n.path)
                    .with_title(n.title)
                    .with_mime_type("text/markdown")
            })
            .collect();
        let mut result = ListResourcesResult::with_all_items(resources);
        result.next_cursor = (end < page.total).then(|| end.to_string());
        Ok(result)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let (vault, path) = parse_note_uri(&request.uri).ok_or_else(|| {
            ErrorData::resource_not_found(
                format!(
                    "resource `{}` is not a note URI; expected `{NOTE_URI_TEMPLATE}`",
                    request.uri
                ),
                None,
            )
        })?;
        // An endpoint serves one vault: a note of another vault is not reachable through it
        // (the gateway authorises the endpoint's vault, and nothing else).
        let backend = self.backend(&context).map_err(protocol_error)?;
        if backend.name() != vault {
            return Err(ErrorData::resource_not_found(
                format!(
                    "resource `{}` is in the vault `{vault}`; this endpoint serves the vault `{}`",
                    request.uri,
                    backend.name()
                ),
                None,
            ));
        }
        let source = backend.read_note(path).await.map_err(protocol_error)?;
        let contents =
            ResourceContents::text(source.content, request.uri).with_mime_type("text/markdown");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let note_arg = |name: &str, description: &str| {
            PromptArgument::new(name)
                .with_description(description)
                .with_required(true)
        };
        Ok(ListPromptsResult::with_all_items(vec![
            Prompt::new(
                "summarize_note",
                Some("Summarize a note with the notes that link to it"),
                Some(vec![note_arg("note", "Path, title or alias")]),
            ),
            Prompt::new(
                "connect_notes",
                Some("Explain how two notes are connected: link path and shared neighbours"),
                Some(vec![
                    note_arg("from", "First note: path, title or alias"),
                    note_arg("to", "Second note"),
                ]),
            ),
        ]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let arg = |name: &str| -> Result<String, ErrorData> {
            request
                .arguments
                .as_ref()
                .and_then(|a| a.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| {
                    ErrorData::invalid_params(format!("missing argument `{name}`"), None)
                })
        };
        let backend = self.backend(&context).map_err(protocol_error)?;
        let text = match request.name.as_str() {
            "summarize_note" => summarize_prompt(backend.as_ref(), arg("note")?, self.budget())
                .await
                .map_err(protocol_error)?,
            "connect_notes" => connect_prompt(backend.as_ref(), arg("from")?, arg("to")?)
                .await
                .map_err(protocol_error)?,
            other => {
                return Err(ErrorData::invalid_params(
                    format!(
                        "unknown prompt `{other}`; expected `summarize_note` or `connect_notes`"
                    ),
                    None,
                ));
            }
        };
        let text = super::output::cap_text(text, self.budget());
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).into())
    }
}

/// A backend error as a JSON-RPC error, for requests that have no tool-error channel.
fn protocol_error(err: ToolError) -> ErrorData {
    let data = Some(serde_json::json!({ "code": err.code }));
    let message = weaver_core::clip(&err.to_string(), weaver_api::MAX_MESSAGE_BYTES).into_owned();
    if err.code == Code::NoteNotFound.as_str() {
        ErrorData::resource_not_found(message, data)
    } else {
        ErrorData::invalid_params(message, data)
    }
}

/// Characters kept as they are in a path segment of a note URI.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `weaver://{vault}/note/{path}` with each path segment percent-encoded.
pub fn note_uri(vault: &str, path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect();
    format!(
        "weaver://{}/note/{}",
        utf8_percent_encode(vault, SEGMENT),
        segments.join("/")
    )
}

/// The vault and note path of a note URI; slashes in the path may be written as `%2F`.
pub fn parse_note_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("weaver://")?;
    let (vault, rest) = rest.split_once('/')?;
    let path = rest.strip_prefix("note/")?;
    let vault = percent_decode_str(vault).decode_utf8().ok()?.into_owned();
    let path = percent_decode_str(path).decode_utf8().ok()?.into_owned();
    (!vault.is_empty() && !path.is_empty()).then_some((vault, path))
}

async fn summarize_prompt(
    backend: &dyn VaultBackend,
    note: String,
    budget: usize,
) -> Result<String, ToolError> {
    let source = backend.read_note(note).await?;
    let backlinks = backend
        .backlinks(
            source.path.clone(),
            Window {
                limit: 20,
                offset: 0,
            },
        )
        .await?;
    let mut linking = String::new();
    for b in &backlinks.page.items {
        linking.push_str(&format!("\n- {}:{}: {}", b.source, b.line, b.context));
    }
    if backlinks.page.total > backlinks.page.items.len() {
        linking.push_str(&format!(
            "\n- … and {} more (get_backlinks)",
            backlinks.page.total - backlinks.page.items.len()
        ));
    }
    if linking.is_empty() {
        linking.push_str("\n(none)");
    }
    // Leave room for the instructions and the backlinks.
    let room = budget.saturating_sub(linking.len() + 1024);
    let content = super::output::cap_text(source.content, room);
    Ok(format!(
        "Summarize the note `{path}` (\"{title}\") for someone who has not read it: its main \
points, decisions, open questions and tasks, then how it relates to the notes that link to it.\n\n\
<note path=\"{path}\">\n{content}\n</note>\n\nNotes linking to it ({total}):{linking}",
        path = source.path,
        title = source.title,
        total = backlinks.page.total,
    ))
}

async fn connect_prompt(
    backend: &dyn VaultBackend,
    from: String,
    to: String,
) -> Result<String, ToolError> {
    let path = backend
        .shortest_path(PathRequest {
            from: from.clone(),
            to: to.clone(),
            direction: LinkDirection::Both,
        })
        .await?;
    let around = |note: String| NeighborsRequest {
        note,
        depth: 1,
        direction: LinkDirection::Both,
        window: Window {
            limit: 500,
            offset: 0,
        },
    };
    let near_from = backend.neighbors(around(from)).await?;
    let near_to = backend.neighbors(around(to)).await?;
    let (a, b) = (near_from.note, near_to.note);
    let shared: Vec<String> = near_from
        .page
        .items
        .iter()
        .filter(|n| near_to.page.items.iter().any(|m| m.path == n.path))
        .take(50)
        .map(|n| format!("- {}", n.path))
        .collect();
    let path_text = match path {
        Some(notes) => {
            let chain: Vec<&str> = notes.iter().map(|n| n.path.as_str()).collect();
            format!(
                "Shortest link path ({} hops): {}",
                notes.len().saturating_sub(1),
                chain.join(" -> ")
            )
        }
        None => "The notes are not connected by any chain of links.".to_owned(),
    };
    let shared_text = if shared.is_empty() {
        "No shared neighbours.".to_owned()
    } else {
        format!(
            "Shared neighbours (notes linked with both):\n{}",
            shared.join("\n")
        )
    };
    Ok(format!(
        "Explain how the notes `{a}` and `{b}` are connected.\n\n{path_text}\n{shared_text}\n\n\
Read the two notes and the notes along the path or shared with read_note, then explain the \
connection in a few sentences. If they are not connected, say what a link between them could \
be."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_uris_round_trip_with_spaces_and_folders() {
        let uri = note_uri("notes", "Projects/Plan A#1.md");
        assert_eq!(uri, "weaver://notes/note/Projects/Plan%20A%231.md");
        assert_eq!(
            parse_note_uri(&uri),
            Some(("notes".into(), "Projects/Plan A#1.md".into()))
        );
        assert_eq!(
            parse_note_uri("weaver://notes/note/Projects%2FPlan.md"),
            Some(("notes".into(), "Projects/Plan.md".into()))
        );
        assert_eq!(parse_note_uri("weaver://notes/tag/x"), None);
        assert_eq!(parse_note_uri("file:///x.md"), None);
    }

    #[test]
    fn every_tool_is_classified_as_reading_or_writing() {
        let mut listed: Vec<String> = McpServer::tool_router()
            .list_all()
            .into_iter()
            .map(|t| t.name.into_owned())
            .collect();
        listed.sort();
        let mut classified: Vec<String> = super::super::tools::READ_TOOLS
            .iter()
            .chain(WRITE_TOOLS.iter())
            .map(|t| (*t).to_owned())
            .collect();
        classified.sort();
        assert_eq!(listed, classified);
    }
}
