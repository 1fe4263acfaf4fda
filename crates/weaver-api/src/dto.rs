//! The request and response bodies of the REST API (`/api/v1`): what `weaver serve` emits, what
//! `weaver mcp --upstream` reads back, and what the CLI's `--json` prints. Serde and OpenAPI
//! (`utoipa::ToSchema`) only: the mapping from the engine's types is in `weaver_app::dto`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Parses frontmatter filters written `KEY:VALUE` (the REST API's `field=KEY:VALUE`, the
/// CLI's `--field KEY:VALUE`) into trimmed pairs; the error is the first filter that is not.
pub fn parse_fields(fields: &[String]) -> Result<Vec<(String, String)>, String> {
    fields
        .iter()
        .map(|f| {
            f.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| f.clone())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shared

/// A note's path and title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoteRefDto {
    /// Vault path, such as `Projects/Plan.md`.
    pub path: String,
    /// Title.
    pub title: String,
}

/// A page of notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoteRefList {
    /// Items in the whole list.
    pub total: usize,
    /// This page.
    pub items: Vec<NoteRefDto>,
}

// ---------------------------------------------------------------------------------------------
// Vaults

/// The vaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VaultList {
    /// By name.
    pub items: Vec<VaultSummary>,
}

/// One vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VaultSummary {
    /// Name, as used in URLs.
    pub name: String,
    /// `opening`, `ready`, `failed` or `closed`.
    pub state: String,
    /// Whether the API refuses writes to it.
    pub read_only: bool,
    /// Notes, once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<usize>,
    /// Attachments, once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<usize>,
    /// Why it failed to open, or why it is not watched for changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why its on-disk cache could not be used, when it is indexed in memory instead (it serves
    /// all the same; the index is rebuilt at every start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Notes

/// A page of notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoteList {
    /// Notes matching the filters.
    pub total: usize,
    /// This page.
    pub items: Vec<NoteSummary>,
}

/// One note in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoteSummary {
    /// Vault path.
    pub path: String,
    /// Title.
    pub title: String,
    /// Last modification, RFC 3339 UTC.
    pub modified: String,
    /// Size in bytes.
    pub size: u64,
    /// Distinct tags.
    pub tags: Vec<String>,
}

/// Everything known about one note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoteDto {
    /// Vault path.
    pub path: String,
    /// Title: frontmatter `title`, else the file name.
    pub title: String,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Distinct tags, frontmatter first.
    pub tags: Vec<String>,
    /// Frontmatter as a JSON object.
    #[schema(value_type = Option<Object>)]
    pub frontmatter: Option<serde_json::Map<String, serde_json::Value>>,
    /// Outline.
    pub headings: Vec<HeadingDto>,
    /// Block ids (`^id`).
    pub blocks: Vec<BlockDto>,
    /// Tasks.
    pub tasks: Vec<TaskDto>,
    /// Callouts.
    pub callouts: Vec<CalloutDto>,
    /// Links from this note, with where they resolve.
    pub links: Vec<LinkDto>,
    /// Links to URLs.
    pub external_links: Vec<ExternalLinkDto>,
    /// Links from other notes to this one: the first 100, by source path and line (page through
    /// `.../backlinks` for the rest).
    pub backlinks: Vec<BacklinkDto>,
    /// Links from other notes to this one, in all.
    pub backlinks_total: usize,
    /// Parse problems.
    pub diagnostics: Vec<DiagnosticDto>,
    /// Content hash (blake3, hex); also the `ETag`.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, RFC 3339 UTC.
    pub modified: String,
    /// Words in the body.
    pub word_count: u32,
    /// The raw Markdown, with `?content=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A heading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HeadingDto {
    /// 1 to 6.
    pub level: u8,
    /// Text.
    pub text: String,
    /// What `[[note#anchor]]` links use.
    pub anchor: String,
    /// Line (1-based).
    pub line: u32,
}

/// A block id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BlockDto {
    /// The id, without `^`.
    pub id: String,
    /// Line.
    pub line: u32,
}

/// A task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskDto {
    /// The status character (` ` open, `x` done, others custom).
    pub status: String,
    /// Done (`x` or `X`).
    pub done: bool,
    /// Text.
    pub text: String,
    /// Line.
    pub line: u32,
}

/// A callout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CalloutDto {
    /// Type, lower-case (`note`, `warning`, ...).
    pub kind: String,
    /// Title.
    pub title: String,
    /// Line.
    pub line: u32,
}

/// A link from the note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LinkDto {
    /// `wikilink`, `embed`, `markdown` or `markdown_embed`.
    pub kind: String,
    /// Target as written.
    pub target: String,
    /// Heading or block after `#`.
    pub fragment: Option<FragmentDto>,
    /// Display text.
    pub display: Option<String>,
    /// Line.
    pub line: u32,
    /// The file it resolves to.
    pub resolved: Option<String>,
    /// For links into a note with a fragment: whether the heading or block exists.
    pub anchor_exists: Option<bool>,
}

/// The part of a link after `#`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FragmentDto {
    /// `heading` or `block`.
    pub kind: String,
    /// Heading text or block id.
    pub value: String,
}

/// A link to a URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExternalLinkDto {
    /// The URL.
    pub url: String,
    /// Link text.
    pub display: Option<String>,
    /// Line.
    pub line: u32,
}

/// A link from another note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BacklinkDto {
    /// The linking note.
    pub source: String,
    /// Its title.
    pub title: String,
    /// Link syntax.
    pub kind: String,
    /// Line in the source.
    pub line: u32,
    /// Display text.
    pub display: Option<String>,
    /// The source line around the link, trimmed; a line over 240 bytes is cut around the link
    /// and marked `…`. Empty when the note cannot be read, or once the response's 256 KiB of
    /// context are spent.
    pub context: String,
}

/// A parse problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DiagnosticDto {
    /// Stable code, such as `frontmatter_invalid`.
    pub code: String,
    /// Explanation.
    pub message: String,
    /// Line.
    pub line: Option<u32>,
}

/// A page of backlinks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BacklinkList {
    /// The note, as found (its vault path).
    pub note: String,
    /// Backlinks in all.
    pub total: usize,
    /// This page, by source path and line.
    pub items: Vec<BacklinkDto>,
}

/// The links of a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LinkList {
    /// The note, as found (its vault path).
    pub note: String,
    /// Links in all.
    pub total: usize,
    /// In source order.
    pub items: Vec<LinkDto>,
}

/// A page of neighbours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NeighborList {
    /// The start note, as found (its vault path).
    pub note: String,
    /// Neighbours in all.
    pub total: usize,
    /// This page, nearest first.
    pub items: Vec<NeighborDto>,
}

/// A note reached by the walk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NeighborDto {
    /// Vault path.
    pub path: String,
    /// Title.
    pub title: String,
    /// Hops from the start note.
    pub distance: u32,
}

// ---------------------------------------------------------------------------------------------
// Search

/// How a search ranks notes (`mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchModeDto {
    /// BM25 over the words (the full-text index).
    Keyword,
    /// Nearness in meaning (the embedding model).
    Semantic,
    /// Both rankings fused (the default when the server has a model).
    Hybrid,
}

impl SearchModeDto {
    /// The mode's name (`keyword`, `semantic`, `hybrid`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keyword => "keyword",
            Self::Semantic => "semantic",
            Self::Hybrid => "hybrid",
        }
    }
}

impl std::str::FromStr for SearchModeDto {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "keyword" => Ok(Self::Keyword),
            "semantic" => Ok(Self::Semantic),
            "hybrid" => Ok(Self::Hybrid),
            _ => Err(format!(
                "search mode `{s}` is not one of keyword, semantic, hybrid"
            )),
        }
    }
}

/// Why a hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MatchReason {
    /// Its words match the query's (`snippet` and `highlights` show where).
    Keyword,
    /// Its text is near the query in meaning (`chunk` shows the nearest part).
    Semantic,
}

/// A page of hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResultsDto {
    /// The mode that ranked the hits: as asked, except that a query without words to rank by
    /// (empty, punctuation, exclusions only) is always `keyword` (the filtered notes, newest
    /// first).
    #[serde(default = "keyword_mode")]
    pub mode: SearchModeDto,
    /// The semantic ranking ran over a vault not yet wholly embedded (the model works in the
    /// background after a start or a large change): notes still waiting can be missing.
    #[serde(default)]
    pub partial: bool,
    /// Keyword mode: matching notes in all. Semantic and hybrid: the notes ranked, at least
    /// `offset + limit` when the vault has that many.
    pub total: usize,
    /// This page, best first.
    pub items: Vec<SearchHitDto>,
}

fn keyword_mode() -> SearchModeDto {
    SearchModeDto::Keyword
}

/// One matching note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchHitDto {
    /// Vault path.
    pub path: String,
    /// Title.
    pub title: String,
    /// Keyword: BM25 relevance (0 without query text). Semantic: cosine similarity of the best
    /// chunk. Hybrid: the fused score (reciprocal ranks).
    pub score: f32,
    /// About 160 characters around the best keyword match; for a note found by meaning only,
    /// the start of its nearest chunk.
    pub snippet: String,
    /// Byte ranges of the matched words in `snippet`.
    pub highlights: Vec<RangeDto>,
    /// Why it was found: by its words, by its meaning, or both.
    #[serde(default)]
    pub matched_by: Vec<MatchReason>,
    /// The part of the note nearest in meaning to the query, when the model found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<ChunkMatchDto>,
}

/// The part of a note nearest in meaning to a query or to another note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChunkMatchDto {
    /// Its heading path (`Setup > Phone`); empty before the first heading.
    pub heading: String,
    /// Its text as the model read it (title and heading path first), at most 600 bytes.
    pub text: String,
    /// Cosine similarity, from -1 to 1.
    pub similarity: f32,
}

/// Notes similar in meaning to a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SimilarList {
    /// The note, as found (its vault path).
    pub note: String,
    /// Not every note is embedded yet: similar ones can be missing.
    pub partial: bool,
    /// Nearest first; never the note itself nor a note it already links to.
    pub items: Vec<SimilarNoteDto>,
}

/// A note similar in meaning to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SimilarNoteDto {
    /// Vault path.
    pub path: String,
    /// Title.
    pub title: String,
    /// Cosine similarity of its nearest chunk, from -1 to 1.
    pub similarity: f32,
    /// That chunk.
    pub chunk: ChunkMatchDto,
}

/// A page of notes that name a note without linking to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MentionList {
    /// The note, as found (its vault path).
    pub note: String,
    /// Mentioning notes in all.
    pub total: usize,
    /// This page, by source path.
    pub items: Vec<MentionDto>,
}

/// A note that names another in its text without a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MentionDto {
    /// The mentioning note's vault path.
    pub source: String,
    /// Its title.
    pub title: String,
    /// The name it uses: the mentioned note's title, an alias or its file name.
    pub name: String,
    /// Line of the first mention (1-based).
    pub line: u32,
    /// That line, trimmed and cut to 240 bytes around the mention.
    pub context: String,
}

/// How far semantic search has come on a vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SemanticStatsDto {
    /// The embedding model's folder name and a hash of its files.
    pub model: String,
    /// Notes in the vault.
    pub notes: usize,
    /// Notes whose current version is embedded.
    pub embedded_notes: usize,
    /// Every note is embedded (searches are not `partial`).
    pub complete: bool,
    /// Chunk vectors held.
    pub chunks: usize,
    /// Chunks the model computed since the vault was opened.
    pub chunks_computed: usize,
    /// Chunks taken from the cache since the vault was opened.
    pub chunks_cached: usize,
    /// Of those, chunks taken from the cache the cluster's replicas share (another replica
    /// computed them); 0 on one machine.
    #[serde(default)]
    pub chunks_shared: usize,
}

/// A byte range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RangeDto {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

// ---------------------------------------------------------------------------------------------
// Graph

/// A shortest chain of links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PathDto {
    /// Whether the notes are connected.
    pub found: bool,
    /// The notes along the path, both ends included; empty when not found.
    pub notes: Vec<NoteRefDto>,
}

/// A page of unresolved links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnresolvedList {
    /// Unresolved links in all.
    pub total: usize,
    /// This page, by source path and line.
    pub items: Vec<UnresolvedDto>,
}

/// A link that points at nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnresolvedDto {
    /// The linking note.
    pub source: String,
    /// The target as written.
    pub target: String,
    /// Link syntax.
    pub kind: String,
    /// Line.
    pub line: u32,
}

/// Every tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TagList {
    /// By name.
    pub items: Vec<TagDto>,
}

/// A tag and its notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TagDto {
    /// The tag, nested with `/`.
    pub name: String,
    /// Notes tagged with exactly this tag.
    pub direct: usize,
    /// Notes tagged with it or a tag nested below it.
    pub notes: usize,
}

/// Counts over the whole vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatsDto {
    /// Markdown notes.
    pub notes: usize,
    /// Other files.
    pub attachments: usize,
    /// Links to notes and attachments.
    pub links: usize,
    /// Links that resolve to a file.
    pub resolved_links: usize,
    /// Links that resolve to nothing.
    pub unresolved_links: usize,
    /// Embeds among the links.
    pub embeds: usize,
    /// Links to URLs.
    pub external_links: usize,
    /// Distinct tags.
    pub tags: usize,
    /// Notes with no links in or out.
    pub orphans: usize,
    /// Open tasks.
    pub tasks_open: usize,
    /// Completed tasks.
    pub tasks_done: usize,
    /// Words in all notes.
    pub words: u64,
    /// Bytes of all notes.
    pub bytes: u64,
    /// Notes with at least one parse problem.
    pub notes_with_problems: usize,
    /// Semantic search: `null` when the server has no embedding model.
    #[serde(default)]
    pub semantic: Option<SemanticStatsDto>,
}

/// A page of problems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProblemList {
    /// Problems in all.
    pub total: usize,
    /// This page, by path and line.
    pub items: Vec<ProblemDto>,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProblemDto {
    /// The note.
    pub path: String,
    /// Stable code, such as `unresolved_link` or `frontmatter_invalid`.
    pub code: String,
    /// Explanation.
    pub message: String,
    /// Line.
    pub line: Option<u32>,
    /// For link problems: the target as written.
    pub target: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Writes

fn yes() -> bool {
    true
}

/// The result of a create, replace or patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WriteResult {
    /// The note written.
    pub path: String,
    /// Its new content hash: the next `If-Match`.
    pub hash: String,
    /// True when the note was created.
    pub created: bool,
    /// Size in bytes.
    pub size: u64,
}

/// Where to move a note or folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The new path.
    pub to: String,
    /// Rewrite every link that pointed at what moved (default true).
    #[serde(default = "yes")]
    pub update_links: bool,
}

/// The result of a move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MoveResult {
    /// Every file moved.
    pub moved: Vec<MovedFile>,
    /// Notes whose links were rewritten.
    pub rewritten: Vec<RewrittenNoteDto>,
}

/// One moved file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MovedFile {
    /// Old path.
    pub from: String,
    /// New path.
    pub to: String,
}

/// Links rewritten in one note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RewrittenNoteDto {
    /// The note (at its new path if it moved).
    pub path: String,
    /// The links changed.
    pub links: Vec<RewrittenLinkDto>,
}

/// One rewritten link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RewrittenLinkDto {
    /// Line of the link.
    pub line: u32,
    /// The link before.
    pub before: String,
    /// The link after.
    pub after: String,
}

/// The result of a delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeleteResult {
    /// The note deleted.
    pub path: String,
    /// Where it went in `.trash/`, unless deleted permanently.
    pub trashed_to: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Viewing: rendered notes and the graph (what the web UI shows; usable by anyone)

/// A note rendered to HTML the way Obsidian shows it, sanitised (no script can run in it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenderedNoteDto {
    /// Vault path.
    pub path: String,
    /// Content hash of the bytes rendered; also the `ETag`.
    pub hash: String,
    /// The body (without frontmatter) as HTML. Wikilinks are `a.internal-link` with
    /// `data-note` (the target's path) and an `href` of the web UI (`#/v/{vault}/n/{path}`),
    /// or `a.internal-link.is-unresolved` with `data-target`; note embeds are `span.embed`
    /// with `data-note` (fetch that note to show it); images point at
    /// `api/v1/vaults/{vault}/files/{path}`; callouts are `div.callout[data-callout]`; ids
    /// start with `n-`.
    pub html: String,
    /// True when the note was too long to render whole: `html` is its first mebibyte.
    pub truncated: bool,
}

/// The whole link graph with an initial layout, for drawing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GraphDto {
    /// Every note, by path.
    pub nodes: Vec<GraphNodeDto>,
    /// Distinct links between two different notes: `[source, target]` indexes into `nodes`.
    pub edges: Vec<[u32; 2]>,
}

/// A note in the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GraphNodeDto {
    /// Vault path.
    pub path: String,
    /// Title.
    pub title: String,
    /// Folder (`""` at the root).
    pub folder: String,
    /// Distinct tags.
    pub tags: Vec<String>,
    /// Initial position, from a force-directed layout computed on the server and cached until
    /// a link changes.
    pub x: f32,
    /// Initial position.
    pub y: f32,
    /// Links in and out (distinct neighbours per direction).
    pub degree: u32,
}

// ---------------------------------------------------------------------------------------------
// Workflows

/// A workflow as loaded from its definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowDto {
    /// Its unique name.
    pub name: String,
    /// The file it was defined in (vault-relative for a vault's workflows).
    pub file: String,
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Disabled workflows never run.
    pub enabled: bool,
    /// The events that start it (`created`, `updated`, `deleted`, `moved`, `schedule`,
    /// `manual`, `webhook`).
    pub on: Vec<String>,
    /// Path globs it is limited to (empty: every path).
    pub paths: Vec<String>,
    /// The cron expression and time zone, for a scheduled workflow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Its steps' actions, in order (`set_frontmatter`, `add_tags`, ...).
    pub steps: Vec<String>,
}

/// One problem of a workflow definition, where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowErrorDto {
    /// Always `workflow_invalid`.
    pub code: String,
    /// The file.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// The field at fault, dotted (`steps[1].add_tags`), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Workflows and the problems of the definitions that could not be loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowList {
    /// The valid workflows.
    pub workflows: Vec<WorkflowDto>,
    /// Every problem found (a file with any has no workflow loaded).
    pub errors: Vec<WorkflowErrorDto>,
}
