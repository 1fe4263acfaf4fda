//! The tools: arguments (their schemas are what agents read in `tools/list`), and one method
//! per tool that checks its arguments, calls the backend and shapes a bounded [`Reply`].
//!
//! Descriptions are short on purpose: every session of every agent pays for `tools/list` in
//! context. The `tools/list` snapshot test shows each change to what agents see.

use rmcp::RoleServer;
use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use weaver_core::EditOp;

use super::McpServer;
use super::backend::{
    BacklinkEntry, DeleteRequest, DeleteResult, EditRequest, LinkDirection, LinkEntry,
    MentionEntry, MoveRequest, NeighborEntry, NeighborsRequest, NoteEntry, PathRequest, RecentNote,
    SearchHitEntry, SearchRequest, SimilarEntry, TagEntry, ToolError, UnresolvedEntry, Window,
    WritePrecondition, WriteRequest, WriteResult,
};
use super::note::{self, DEFAULT_MAX_CHARS, View};
use super::output::{Listing, MoveOutput, NoteOutput, PathOutput, Ranked, Reply, StatsOutput, fit};

pub use weaver_api::mcp::{READ_TOOLS, WRITE_TOOLS};

/// Deepest `graph_neighbors` walk.
const MAX_DEPTH: u32 = 3;

/// A page of a list.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PageArgs {
    /// Max items (default 50, max 200).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// A question or words (any may match; notes with all of them rank first), +required,
    /// "exact phrase" (required), prefix*, -excluded. Empty: newest notes first.
    #[serde(default)]
    pub query: String,
    /// keyword (words), semantic (meaning) or hybrid (both; the default when the server has
    /// an embedding model, else keyword).
    pub mode: Option<ModeArg>,
    /// Tags every hit must have; `area` also matches `area/sub`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Only notes in this folder or below.
    pub folder: Option<String>,
    /// Max hits (default 10, max 50).
    pub limit: Option<u32>,
    /// Hits to skip.
    pub offset: Option<u32>,
}

/// How a search ranks.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModeArg {
    Keyword,
    Semantic,
    Hybrid,
}

impl From<ModeArg> for weaver_api::dto::SearchModeDto {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Keyword => Self::Keyword,
            ModeArg::Semantic => Self::Semantic,
            ModeArg::Hybrid => Self::Hybrid,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SimilarArgs {
    /// Path, title or alias.
    pub note: String,
    /// Max notes (default 10, max 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadArgs {
    /// Path (`Folder/Note.md`), title or alias.
    pub note: String,
    /// Only the section under this heading.
    pub section: Option<String>,
    /// Only the headings.
    #[serde(default)]
    pub outline_only: bool,
    /// Character to start at, to continue a truncated read.
    pub offset: Option<u32>,
    /// Max characters (default 20000).
    pub max_chars: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FolderArgs {
    /// Only notes in this folder or below.
    pub folder: Option<String>,
    /// Max items (default 50, max 200).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoteListArgs {
    /// Path, title or alias.
    pub note: String,
    /// Max items (default 20, max 100).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NeighborsArgs {
    /// Path, title or alias.
    pub note: String,
    /// Link hops, 1 to 3 (default 1).
    pub depth: Option<u32>,
    /// Links to follow (default both).
    pub direction: Option<LinkDirection>,
    /// Max items (default 50, max 200).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PathArgs {
    /// Start note: path, title or alias.
    pub from: String,
    /// End note.
    pub to: String,
    /// Links to follow (default both).
    pub direction: Option<LinkDirection>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TagsArgs {
    /// Only tags starting with this.
    pub prefix: Option<String>,
    /// Max items (default 100, max 500).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WriteArgs {
    /// Vault path ending in `.md`.
    pub path: String,
    /// The whole Markdown, frontmatter included.
    pub content: String,
    /// Fail unless the note still has this hash (from read_note).
    pub if_match: Option<String>,
    /// Fail if the note exists.
    #[serde(default)]
    pub create_only: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct EditArgs {
    /// Vault path.
    pub path: String,
    /// Applied in order, all or nothing.
    pub ops: Vec<EditOpArg>,
    /// Fail unless the note still has this hash.
    pub if_match: Option<String>,
}

/// One edit: `weaver_core::EditOp` on the wire, deserialised by `EditOp` itself (which checks
/// each operation's fields exactly). Only its schema (below) is this crate's: one flat object
/// rather than a `oneOf` of eleven, a third of the size, and `oneOf`/`const` are what some model
/// providers' function calling does not accept.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct EditOpArg(pub EditOp);

impl JsonSchema for EditOpArg {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EditOp".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let schema = serde_json::json!({
            "type": "object",
            "description": "`op` and its fields: append, prepend {text}; insert_before_heading, insert_after_heading, append_to_section, replace_section {heading, text}; replace_block, append_to_block {block, text}; set_frontmatter {key, value}; delete_frontmatter {key}; find_replace {find, replace, expected?}. `heading` is its text (`Tasks`, `## Tasks` or `Project#Tasks`); a section includes its sub-sections.",
            "properties": {
                "op": {"type": "string", "enum": [
                    "append", "prepend", "insert_before_heading", "insert_after_heading",
                    "append_to_section", "replace_section", "replace_block", "append_to_block",
                    "set_frontmatter", "delete_frontmatter", "find_replace"
                ]},
                "text": {"type": "string", "description": "Markdown"},
                "heading": {"type": "string"},
                "block": {"type": "string", "description": "Block id, with or without ^"},
                "key": {"type": "string"},
                "value": {"description": "Any JSON value, written as YAML"},
                "find": {"type": "string", "description": "Literal, case-sensitive"},
                "replace": {"type": "string"},
                "expected": {"type": "integer", "description": "Required number of matches"}
            },
            "required": ["op"]
        });
        match schema {
            serde_json::Value::Object(map) => schemars::Schema::from(map),
            _ => schemars::Schema::default(),
        }
    }
}

impl From<EditOpArg> for EditOp {
    fn from(op: EditOpArg) -> Self {
        op.0
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MoveArgs {
    /// Current vault path of the note or folder.
    pub from: String,
    /// New vault path.
    pub to: String,
    /// Rewrite links to it (default true).
    pub update_links: Option<bool>,
    /// Fail unless the note still has this hash.
    pub if_match: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteArgs {
    /// Vault path.
    pub path: String,
    /// Delete instead of moving to `.trash/`.
    #[serde(default)]
    pub permanent: bool,
    /// Fail unless the note still has this hash.
    pub if_match: Option<String>,
}

/// The page asked for: `limit` defaults to `default` and is clamped to `1..=max`.
fn window(limit: Option<u32>, offset: Option<u32>, default: usize, max: usize) -> Window {
    Window {
        limit: limit.map_or(default, |l| (l as usize).clamp(1, max)),
        offset: offset.map_or(0, |o| o as usize),
    }
}

type ToolResult<T> = Result<Reply<T>, ToolError>;

#[tool_router(router = tool_router, vis = "pub(super)")]
impl McpServer {
    #[tool(
        description = "Search notes by words and, with an embedding model, by meaning (ask in sentences). Ranked paths with snippets and why each matched.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Ranked<SearchHitEntry>>()
    )]
    async fn search_notes(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<SearchArgs>,
    ) -> ToolResult<Ranked<SearchHitEntry>> {
        let window = window(args.limit, args.offset, 10, 50);
        let found = self
            .backend(&ctx)?
            .search(SearchRequest {
                text: args.query,
                mode: args.mode.map(Into::into),
                tags: args.tags,
                folder: args.folder,
                window,
            })
            .await?;
        let listing = Listing::new(
            "hits",
            found.page.total,
            window.offset,
            found.page.items,
            self.budget(),
        );
        Ok(self.reply(Ranked {
            mode: Some(found.mode),
            partial: found.partial,
            listing,
        }))
    }

    #[tool(
        description = "Notes nearest in meaning to a note that it does not link to yet (needs an embedding model).",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Ranked<SimilarEntry>>()
    )]
    async fn find_similar(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<SimilarArgs>,
    ) -> ToolResult<Ranked<SimilarEntry>> {
        let limit = args.limit.map_or(10, |l| (l as usize).clamp(1, 50));
        let found = self.backend(&ctx)?.similar(args.note, limit).await?;
        let total = found.items.len();
        let listing =
            Listing::new("similar notes", total, 0, found.items, self.budget()).about(found.note);
        Ok(self.reply(Ranked {
            mode: None,
            partial: found.partial,
            listing,
        }))
    }

    #[tool(
        description = "Notes that name a note (title, alias or file name) without linking to it, with the line: where a link is missing.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Listing<MentionEntry>>()
    )]
    async fn unlinked_mentions(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<NoteListArgs>,
    ) -> ToolResult<Listing<MentionEntry>> {
        let window = window(args.limit, args.offset, 20, 100);
        let found = self.backend(&ctx)?.mentions(args.note, window).await?;
        Ok(self.list_about(
            "unlinked mentions",
            found.note,
            window,
            found.page.total,
            found.page.items,
        ))
    }

    #[tool(
        description = "Read a note's Markdown by path, title or alias. For long notes use outline_only, section or offset. Returns `hash`, the version to pass as `if_match` when writing.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<NoteOutput>()
    )]
    async fn read_note(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<ReadArgs>,
    ) -> ToolResult<NoteOutput> {
        let source = self.backend(&ctx)?.read_note(args.note).await?;
        let view = View {
            section: args.section,
            outline_only: args.outline_only,
            offset: args.offset.map_or(0, |o| o as usize),
            max_chars: args
                .max_chars
                .map_or(DEFAULT_MAX_CHARS, |m| (m as usize).max(1)),
            budget: self.budget(),
        };
        Ok(self.reply(note::render(source, &view)?))
    }

    #[tool(
        description = "List notes (path, title) by path, optionally in a folder.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Listing<NoteEntry>>()
    )]
    async fn list_notes(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<FolderArgs>,
    ) -> ToolResult<Listing<NoteEntry>> {
        let window = window(args.limit, args.offset, 50, 200);
        let found = self.backend(&ctx)?.list_notes(args.folder, window).await?;
        Ok(self.list("notes", window, found.total, found.items))
    }

    #[tool(
        description = "Notes that link to a note, each with the linking line.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Listing<BacklinkEntry>>()
    )]
    async fn get_backlinks(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<NoteListArgs>,
    ) -> ToolResult<Listing<BacklinkEntry>> {
        let window = window(args.limit, args.offset, 20, 100);
        let found = self.backend(&ctx)?.backlinks(args.note, window).await?;
        Ok(self.list_about(
            "backlinks",
            found.note,
            window,
            found.page.total,
            found.page.items,
        ))
    }

    #[tool(
        description = "Links from a note and the file each resolves to.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Listing<LinkEntry>>()
    )]
    async fn get_links(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<NoteListArgs>,
    ) -> ToolResult<Listing<LinkEntry>> {
        let window = window(args.limit, args.offset, 20, 100);
        let found = self.backend(&ctx)?.links(args.note, window).await?;
        Ok(self.list_about(
            "links",
            found.note,
            window,
            found.page.total,
            found.page.items,
        ))
    }

    #[tool(
        description = "Notes within `depth` links of a note, nearest first.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Listing<NeighborEntry>>()
    )]
    async fn graph_neighbors(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<NeighborsArgs>,
    ) -> ToolResult<Listing<NeighborEntry>> {
        let window = window(args.limit, args.offset, 50, 200);
        let found = self
            .backend(&ctx)?
            .neighbors(NeighborsRequest {
                note: args.note,
                depth: args.depth.unwrap_or(1).clamp(1, MAX_DEPTH),
                direction: args.direction.unwrap_or_default(),
                window,
            })
            .await?;
        Ok(self.list_about(
            "neighbours",
            found.note,
            window,
            found.page.total,
            found.page.items,
        ))
    }

    #[tool(
        description = "Shortest chain of links between two notes.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<PathOutput>()
    )]
    async fn find_path(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<PathArgs>,
    ) -> ToolResult<PathOutput> {
        let found = self
            .backend(&ctx)?
            .shortest_path(PathRequest {
                from: args.from,
                to: args.to,
                direction: args.direction.unwrap_or_default(),
            })
            .await?;
        let output = match found {
            Some(mut path) => {
                let hops = path.len().saturating_sub(1);
                // A path longer than the budget is cut; `hops` still tells its length.
                fit(&mut path, self.budget());
                PathOutput {
                    found: true,
                    hops: Some(hops),
                    path,
                }
            }
            None => PathOutput {
                found: false,
                hops: None,
                path: Vec::new(),
            },
        };
        Ok(self.reply(output))
    }

    #[tool(
        description = "Tags with note counts, most used first.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Listing<TagEntry>>()
    )]
    async fn list_tags(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<TagsArgs>,
    ) -> ToolResult<Listing<TagEntry>> {
        let window = window(args.limit, args.offset, 100, 500);
        let mut tags = self.backend(&ctx)?.tags().await?;
        if let Some(prefix) = args.prefix {
            let prefix = weaver_core::fold_name(prefix.trim_start_matches('#'));
            tags.retain(|t| weaver_core::fold_name(&t.name).starts_with(&prefix));
        }
        tags.sort_by(|a, b| b.notes.cmp(&a.notes).then_with(|| a.name.cmp(&b.name)));
        let total = tags.len();
        let page = tags
            .into_iter()
            .skip(window.offset)
            .take(window.limit)
            .collect();
        Ok(self.list("tags", window, total, page))
    }

    #[tool(
        description = "Vault counts: notes, links, unresolved links, tags, orphans, tasks, words.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<StatsOutput>()
    )]
    async fn vault_stats(&self, ctx: RequestContext<RoleServer>) -> ToolResult<StatsOutput> {
        let backend = self.backend(&ctx)?;
        let counts = backend.stats().await?;
        Ok(self.reply(StatsOutput {
            vault: backend.name().to_owned(),
            counts,
        }))
    }

    #[tool(
        description = "Notes with no links in or out.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Listing<NoteEntry>>()
    )]
    async fn find_orphans(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<PageArgs>,
    ) -> ToolResult<Listing<NoteEntry>> {
        let window = window(args.limit, args.offset, 50, 200);
        let found = self.backend(&ctx)?.orphans(window).await?;
        Ok(self.list("orphans", window, found.total, found.items))
    }

    #[tool(
        description = "Links whose target matches no note or file.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Listing<UnresolvedEntry>>()
    )]
    async fn find_unresolved_links(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<PageArgs>,
    ) -> ToolResult<Listing<UnresolvedEntry>> {
        let window = window(args.limit, args.offset, 50, 200);
        let found = self.backend(&ctx)?.unresolved(window).await?;
        Ok(self.list("unresolved links", window, found.total, found.items))
    }

    #[tool(
        description = "Notes by last modification, newest first.",
        annotations(read_only_hint = true),
        output_schema = schema_for_output::<Listing<RecentNote>>()
    )]
    async fn recent_changes(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<FolderArgs>,
    ) -> ToolResult<Listing<RecentNote>> {
        let window = window(args.limit, args.offset, 50, 200);
        let found = self
            .backend(&ctx)?
            .recent_notes(args.folder, window)
            .await?;
        Ok(self.list("notes", window, found.total, found.items))
    }

    #[tool(
        description = "Create or replace a note. Pass `if_match` (hash from read_note) to avoid overwriting changes, or `create_only`.",
        annotations(destructive_hint = true),
        output_schema = schema_for_output::<WriteResult>()
    )]
    async fn write_note(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<WriteArgs>,
    ) -> ToolResult<WriteResult> {
        let precondition = match (args.if_match, args.create_only) {
            (Some(_), true) => {
                return Err(ToolError::invalid_argument(
                    "`if_match` and `create_only` exclude each other: a note to create has no hash",
                ));
            }
            (Some(hash), false) => WritePrecondition::Matches(hash),
            (None, true) => WritePrecondition::Absent,
            (None, false) => WritePrecondition::Any,
        };
        let written = self
            .backend(&ctx)?
            .write_note(WriteRequest {
                path: args.path,
                content: args.content,
                precondition,
            })
            .await?;
        Ok(self.reply(written))
    }

    #[tool(
        description = "Edit a note in place: append, prepend, insert at or replace a heading's section or a ^block, set or delete frontmatter keys, find/replace.",
        annotations(destructive_hint = false),
        output_schema = schema_for_output::<WriteResult>()
    )]
    async fn edit_note(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<EditArgs>,
    ) -> ToolResult<WriteResult> {
        if args.ops.is_empty() {
            return Err(ToolError::invalid_argument(
                "`ops` is empty: give at least one edit",
            ));
        }
        let written = self
            .backend(&ctx)?
            .edit_note(EditRequest {
                path: args.path,
                ops: args.ops.into_iter().map(EditOp::from).collect(),
                if_match: args.if_match,
            })
            .await?;
        Ok(self.reply(written))
    }

    #[tool(
        description = "Move or rename a note or folder; links to it are rewritten in every note.",
        annotations(destructive_hint = false),
        output_schema = schema_for_output::<MoveOutput>()
    )]
    async fn move_note(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<MoveArgs>,
    ) -> ToolResult<MoveOutput> {
        let mut moved = self
            .backend(&ctx)?
            .move_note(MoveRequest {
                from: args.from,
                to: args.to,
                update_links: args.update_links.unwrap_or(true),
                if_match: args.if_match,
            })
            .await?;
        let links_rewritten = moved.rewritten.iter().map(|r| r.links).sum();
        let half = self.budget() / 2;
        let cut_moved = fit(&mut moved.moved, half);
        let cut_rewritten = fit(&mut moved.rewritten, half);
        Ok(self.reply(MoveOutput {
            moved: moved.moved,
            rewritten: moved.rewritten,
            links_rewritten,
            truncated: cut_moved || cut_rewritten,
        }))
    }

    #[tool(
        description = "Delete a note: moved to the vault's .trash/ unless `permanent`.",
        annotations(destructive_hint = true),
        output_schema = schema_for_output::<DeleteResult>()
    )]
    async fn delete_note(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<DeleteArgs>,
    ) -> ToolResult<DeleteResult> {
        let deleted = self
            .backend(&ctx)?
            .delete_note(DeleteRequest {
                path: args.path,
                permanent: args.permanent,
                if_match: args.if_match,
            })
            .await?;
        Ok(self.reply(deleted))
    }
}

impl McpServer {
    fn reply<T>(&self, value: T) -> Reply<T> {
        Reply::new(value, self.budget())
    }

    fn list<T: serde::Serialize>(
        &self,
        noun: &'static str,
        window: Window,
        total: usize,
        items: Vec<T>,
    ) -> Reply<Listing<T>> {
        self.reply(Listing::new(
            noun,
            total,
            window.offset,
            items,
            self.budget(),
        ))
    }

    fn list_about<T: serde::Serialize>(
        &self,
        noun: &'static str,
        note: String,
        window: Window,
        total: usize,
        items: Vec<T>,
    ) -> Reply<Listing<T>> {
        self.reply(Listing::new(noun, total, window.offset, items, self.budget()).about(note))
    }
}
