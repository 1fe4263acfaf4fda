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

/// A page of hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResultsDto {
    /// Matching notes in all.
    pub total: usize,
    /// This page, best first.
    pub items: Vec<SearchHitDto>,
}

/// One matching note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchHitDto {
    /// Vault path.
    pub path: String,
    /// Title.
    pub title: String,
    /// BM25 relevance; 0 without query text.
    pub score: f32,
    /// About 160 characters around the best match.
    pub snippet: String,
    /// Byte ranges of the matched words in `snippet`.
    pub highlights: Vec<RangeDto>,
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
