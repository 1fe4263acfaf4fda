//! Tool results: their structured form (with the schema agents see as `outputSchema`), their
//! readable text form, and the size cap that keeps any one call from flooding an agent's
//! context.
//!
//! Every result goes out twice, as the MCP specification recommends: `structuredContent` (JSON
//! matching the tool's output schema) and one text block. The text block is written for a model
//! to read (one line per item, a header saying how much is shown) rather than being the JSON
//! again; clients pass one or the other to the model.
//!
//! Size: lists are cut so their JSON stays under the byte budget ([`fit`]); the cut moves
//! `next_offset` back so nothing is skipped. A note's text is cut by characters and bytes with a
//! visible marker. As a last guard, [`Reply`] cuts any text block over the budget.

use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use schemars::JsonSchema;
use serde::Serialize;

use super::backend::{
    BacklinkEntry, DeleteResult, LinkCounts, LinkEntry, MentionEntry, MovedFile, NeighborEntry,
    NoteEntry, RecentNote, RewrittenNote, SearchHitEntry, SimilarEntry, TagEntry, ToolError,
    UnresolvedEntry, VaultCounts, WriteResult,
};

/// Room left in the budget for a list's header fields (`total`, `offset`, ...).
const ENVELOPE: usize = 512;

/// What a tool returns: a value and the byte budget of its text form.
pub struct Reply<T> {
    value: T,
    budget: usize,
}

impl<T> Reply<T> {
    pub fn new(value: T, budget: usize) -> Self {
        Self { value, budget }
    }
}

/// The readable text form of a result.
pub trait Render {
    fn render(&self) -> String;
}

impl<T: Serialize + Render> IntoCallToolResult for Reply<T> {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let structured = serde_json::to_value(&self.value).map_err(|e| {
            rmcp::ErrorData::internal_error(format!("cannot serialise a tool result: {e}"), None)
        })?;
        let text = cap_text(self.value.render(), self.budget);
        let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
        result.structured_content = Some(structured);
        Ok(result.into())
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        // Text only: a structured error would not match the tool's output schema, which strict
        // clients validate `structuredContent` against.
        // Capped whatever made it: an error names the bad value, which may be huge.
        let text = weaver_core::clip(&self.to_string(), weaver_api::MAX_MESSAGE_BYTES).into_owned();
        Ok(CallToolResult::error(vec![ContentBlock::text(text)]).into())
    }
}

/// Cuts `text` to at most `budget` bytes (on a character boundary) with a marker.
pub fn cap_text(mut text: String, budget: usize) -> String {
    if text.len() <= budget {
        return text;
    }
    let marker = format!(
        "\n[… truncated: output over {budget} bytes; ask for less with limit, offset or section]"
    );
    let mut cut = budget.saturating_sub(marker.len());
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(&marker);
    text
}

/// Keeps the longest prefix of `items` whose JSON fits in `budget` bytes (at least one item, so
/// a list always moves forward). Returns whether items were dropped.
pub fn fit<T: Serialize>(items: &mut Vec<T>, budget: usize) -> bool {
    let budget = budget.saturating_sub(ENVELOPE);
    let mut used = 0;
    let mut keep = items.len();
    for (i, item) in items.iter().enumerate() {
        used += serde_json::to_vec(item).map_or(0, |v| v.len()) + 1;
        if used > budget && i > 0 {
            keep = i;
            break;
        }
    }
    let cut = keep < items.len();
    items.truncate(keep);
    cut
}

/// One page of a list. `next_offset` is present when there is more to fetch.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Listing<T> {
    // The note the list is about, as resolved from the `note` argument.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub total: usize,
    pub offset: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
    pub items: Vec<T>,
    #[serde(skip)]
    #[schemars(skip)]
    noun: &'static str,
}

impl<T: Serialize> Listing<T> {
    /// A page of `total` items starting at `offset`, cut to `budget` bytes.
    pub fn new(
        noun: &'static str,
        total: usize,
        offset: usize,
        mut items: Vec<T>,
        budget: usize,
    ) -> Self {
        fit(&mut items, budget);
        let end = offset + items.len();
        Self {
            note: None,
            total,
            offset,
            next_offset: (end < total && !items.is_empty()).then_some(end),
            items,
            noun,
        }
    }

    /// The same list, about `note`.
    pub fn about(mut self, note: String) -> Self {
        self.note = Some(note);
        self
    }
}

/// A ranked list: a [`Listing`] with how it was ranked.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Ranked<T> {
    // keyword, semantic or hybrid (search_notes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    // The model has not embedded every note yet: some may be missing.
    pub partial: bool,
    #[serde(flatten)]
    pub listing: Listing<T>,
}

impl<T: Line> Render for Ranked<T> {
    fn render(&self) -> String {
        let mut notes = Vec::new();
        if let Some(mode) = &self.mode {
            notes.push(format!("{mode} ranking"));
        }
        if self.partial {
            notes.push("embedding still in progress: some notes may be missing".to_owned());
        }
        let listing = self.listing.render();
        if notes.is_empty() {
            listing
        } else {
            format!("({})\n{listing}", notes.join("; "))
        }
    }
}

/// One line of text per item.
pub trait Line {
    fn line(&self) -> String;
}

impl<T: Line> Render for Listing<T> {
    fn render(&self) -> String {
        let mut out = String::new();
        let shown = self.items.len();
        let about = self
            .note
            .as_ref()
            .map(|n| format!(" of `{n}`"))
            .unwrap_or_default();
        if shown == 0 {
            out.push_str(&format!(
                "No {}{about} (total {}, offset {}).",
                self.noun, self.total, self.offset
            ));
        } else {
            out.push_str(&format!(
                "{}{about} {}–{} of {}",
                capitalize(self.noun),
                self.offset + 1,
                self.offset + shown,
                self.total
            ));
            if let Some(next) = self.next_offset {
                out.push_str(&format!("; more with offset={next}"));
            }
            out.push(':');
        }
        for item in &self.items {
            out.push('\n');
            out.push_str(&item.line());
        }
        out
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `path (title)`, or just the path when the title is the file name.
fn titled(path: &str, title: &str) -> String {
    let stem = path
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".md");
    if title == stem || title.is_empty() {
        path.to_owned()
    } else {
        format!("{path} ({title})")
    }
}

impl Line for NoteEntry {
    fn line(&self) -> String {
        format!("- {}", titled(&self.path, &self.title))
    }
}

impl Line for SearchHitEntry {
    fn line(&self) -> String {
        let why = if self.matched_by.is_empty() {
            String::new()
        } else {
            format!("; {}", self.matched_by.join("+"))
        };
        let section = self
            .section
            .as_ref()
            .map(|s| format!(" § {s}"))
            .unwrap_or_default();
        format!(
            "- {}{section} [score {}{why}]\n  {}",
            titled(&self.path, &self.title),
            self.score,
            self.snippet
        )
    }
}

impl Line for SimilarEntry {
    fn line(&self) -> String {
        let section = if self.section.is_empty() {
            String::new()
        } else {
            format!(" § {}", self.section)
        };
        format!(
            "- {}{section} [similarity {}]",
            titled(&self.path, &self.title),
            self.similarity
        )
    }
}

impl Line for MentionEntry {
    fn line(&self) -> String {
        format!(
            "- {}:{}: names it as \"{}\": {}",
            self.source, self.line, self.name, self.context
        )
    }
}

impl Line for RecentNote {
    fn line(&self) -> String {
        format!("- {} {}", self.modified, titled(&self.path, &self.title))
    }
}

impl Line for BacklinkEntry {
    fn line(&self) -> String {
        format!("- {}:{}: {}", self.source, self.line, self.context)
    }
}

impl Line for LinkEntry {
    fn line(&self) -> String {
        let to = self.resolved.as_deref().unwrap_or("(unresolved)");
        format!("- line {}: {} -> {to}", self.line, self.target)
    }
}

impl Line for NeighborEntry {
    fn line(&self) -> String {
        format!(
            "- {} hop{}: {}",
            self.distance,
            if self.distance == 1 { "" } else { "s" },
            titled(&self.path, &self.title)
        )
    }
}

impl Line for TagEntry {
    fn line(&self) -> String {
        format!(
            "- #{} ({} note{})",
            self.name,
            self.notes,
            if self.notes == 1 { "" } else { "s" }
        )
    }
}

impl Line for UnresolvedEntry {
    fn line(&self) -> String {
        format!("- {}:{}: [[{}]]", self.source, self.line, self.target)
    }
}

/// A heading of a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct OutlineEntry {
    pub level: u32,
    pub text: String,
    pub line: u32,
}

/// A note, or one section of it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NoteOutput {
    pub path: String,
    pub title: String,
    // The version: pass it as `if_match` to write safely.
    pub hash: String,
    pub modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontmatter: Option<serde_json::Map<String, serde_json::Value>>,
    pub links: LinkCounts,
    // The heading whose section `content` holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outline: Option<Vec<OutlineEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    // Characters in the whole note (or section).
    pub chars: usize,
    // Character offset of `content`.
    pub offset: usize,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

impl Render for NoteOutput {
    fn render(&self) -> String {
        let mut out = format!(
            "path: {}\ntitle: {}\nhash: {}\nmodified: {}\nlinks: {} out ({} unresolved), {} backlinks",
            self.path,
            self.title,
            self.hash,
            self.modified,
            self.links.outgoing,
            self.links.unresolved,
            self.links.backlinks
        );
        if !self.tags.is_empty() {
            out.push_str(&format!("\ntags: {}", self.tags.join(", ")));
        }
        if !self.aliases.is_empty() {
            out.push_str(&format!("\naliases: {}", self.aliases.join(", ")));
        }
        if let Some(section) = &self.section {
            out.push_str(&format!("\nsection: {section}"));
        }
        if let Some(outline) = &self.outline {
            out.push_str("\noutline:");
            for h in outline {
                out.push_str(&format!(
                    "\n{} {} (line {})",
                    "#".repeat(h.level as usize),
                    h.text,
                    h.line
                ));
            }
        }
        if let Some(content) = &self.content {
            out.push_str("\n---\n");
            out.push_str(content);
        }
        out
    }
}

/// Vault counts.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatsOutput {
    pub vault: String,
    #[serde(flatten)]
    pub counts: VaultCounts,
}

impl Render for StatsOutput {
    fn render(&self) -> String {
        let c = &self.counts;
        format!(
            "vault `{}`: notes {}, attachments {}, links {} ({} unresolved), tags {}, orphans {}, open tasks {}, done tasks {}, words {}",
            self.vault,
            c.notes,
            c.attachments,
            c.links,
            c.unresolved_links,
            c.tags,
            c.orphans,
            c.tasks_open,
            c.tasks_done,
            c.words
        )
    }
}

/// A chain of links between two notes.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PathOutput {
    pub found: bool,
    // Links along the path; absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hops: Option<usize>,
    pub path: Vec<NoteEntry>,
}

impl Render for PathOutput {
    fn render(&self) -> String {
        if !self.found {
            return "No path: the notes are not connected by links.".to_owned();
        }
        let chain: Vec<&str> = self.path.iter().map(|n| n.path.as_str()).collect();
        format!(
            "{} hop{}: {}",
            self.hops.unwrap_or(0),
            if self.hops == Some(1) { "" } else { "s" },
            chain.join(" -> ")
        )
    }
}

impl Render for WriteResult {
    fn render(&self) -> String {
        format!(
            "{} `{}` ({} bytes); hash: {}",
            if self.created { "Created" } else { "Wrote" },
            self.path,
            self.size,
            self.hash
        )
    }
}

/// What a move did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MoveOutput {
    pub moved: Vec<MovedFile>,
    pub rewritten: Vec<RewrittenNote>,
    // Links rewritten in all notes.
    pub links_rewritten: usize,
    // True when `moved` or `rewritten` was cut to fit.
    pub truncated: bool,
}

impl Render for MoveOutput {
    fn render(&self) -> String {
        let mut out = format!(
            "Moved {} file{}; rewrote {} link{} in {} note{}",
            self.moved.len(),
            if self.moved.len() == 1 { "" } else { "s" },
            self.links_rewritten,
            if self.links_rewritten == 1 { "" } else { "s" },
            self.rewritten.len(),
            if self.rewritten.len() == 1 { "" } else { "s" },
        );
        if self.truncated {
            out.push_str(" (lists cut to fit)");
        }
        for m in &self.moved {
            out.push_str(&format!("\n- {} -> {}", m.from, m.to));
        }
        for r in &self.rewritten {
            out.push_str(&format!("\n- rewrote {} link(s) in {}", r.links, r.path));
        }
        out
    }
}

impl Render for DeleteResult {
    fn render(&self) -> String {
        match &self.trashed_to {
            Some(trash) => format!("Moved `{}` to `{trash}`", self.path),
            None => format!("Deleted `{}` permanently", self.path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_a_prefix_under_the_budget_and_at_least_one_item() {
        let mut items: Vec<String> = (0..100).map(|i| format!("{i:0>50}")).collect();
        assert!(fit(&mut items, ENVELOPE + 530));
        assert_eq!(items.len(), 10);
        let mut one = vec!["x".repeat(10_000)];
        assert!(!fit(&mut one, 100));
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn cap_text_cuts_on_a_char_boundary_with_a_marker() {
        let text = "é".repeat(1000);
        let capped = cap_text(text, 300);
        assert!(capped.len() <= 300, "{}", capped.len());
        assert!(capped.contains("truncated"));
        assert_eq!(cap_text("short".to_owned(), 300), "short");
    }

    #[test]
    fn listing_points_at_the_next_page() {
        let items = vec![NoteEntry {
            path: "a.md".into(),
            title: "a".into(),
        }];
        let listing = Listing::new("notes", 3, 1, items, 10_000);
        assert_eq!(listing.next_offset, Some(2));
        assert_eq!(
            listing.render(),
            "Notes 2–2 of 3; more with offset=2:\n- a.md"
        );
    }
}
