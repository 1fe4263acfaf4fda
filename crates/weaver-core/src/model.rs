//! The parsed form of a note: what the parser produces, the store keeps and the graph links.
//!
//! Byte ranges are offsets into the file's bytes exactly as read (after lossy UTF-8 decoding, which
//! keeps valid files byte-identical), so a rename can rewrite a link in place. Lines are 1-based.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Everything the parser learned about one note. Parsing never fails: problems are reported in
/// [`ParsedNote::diagnostics`] and the note keeps whatever could be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedNote {
    /// Frontmatter `title`, else the file name without `.md` (Obsidian shows the file name).
    pub title: String,
    /// Frontmatter `aliases` (or `alias`), as a list whatever the YAML spelled.
    pub aliases: Vec<String>,
    /// Tags from the frontmatter and the body, in source order, duplicates kept (each has a line).
    pub tags: Vec<Tag>,
    /// The frontmatter as a JSON object (`None` when the note has none or it is malformed).
    /// Dates and times stay strings, as Obsidian keeps them.
    pub frontmatter: Option<serde_json::Map<String, serde_json::Value>>,
    /// Byte range of the whole frontmatter block including both `---` fences and the newline
    /// after the closing fence.
    pub frontmatter_range: Option<Range<usize>>,
    /// Headings in document order.
    pub headings: Vec<Heading>,
    /// Block ids (`^id`) in document order.
    pub blocks: Vec<Block>,
    /// Tasks (`- [ ]`, `- [x]`, any one-character status) in document order.
    pub tasks: Vec<Task>,
    /// Callouts (`> [!note] Title`) in document order.
    pub callouts: Vec<Callout>,
    /// Links to notes and attachments (wikilinks, embeds, Markdown links to local paths).
    pub links: Vec<Link>,
    /// Links to URLs (`https://`, `mailto:`, `obsidian://`, ...), kept apart from the graph.
    pub external_links: Vec<ExternalLink>,
    /// The searchable plain text of the body: Markdown syntax and frontmatter removed, one line
    /// per block, code kept (people search for code).
    pub text: String,
    /// Number of words in `text` (Unicode word boundaries approximated by whitespace).
    pub word_count: u32,
    /// Problems found while reading the note.
    pub diagnostics: Vec<Diagnostic>,
}

/// A tag without its `#`, such as `area/sub`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The tag text as written, without `#` (case is kept; comparisons fold case).
    pub name: String,
    /// Where the tag was written.
    pub source: TagSource,
    /// Line of the tag (the frontmatter's first line for frontmatter tags).
    pub line: u32,
}

/// Where a tag came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagSource {
    /// The `tags` (or `tag`) frontmatter field.
    Frontmatter,
    /// An inline `#tag` in the body.
    Inline,
}

/// A Markdown or setext heading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// The heading's text with inline syntax removed (wikilinks keep their display text).
    pub text: String,
    /// The anchor other notes use to link here, as Obsidian writes it in `[[note#anchor]]`:
    /// the heading text with `#|^:%[]` removed and whitespace collapsed.
    pub anchor: String,
    /// Line of the heading.
    pub line: u32,
    /// Byte range of the heading's line(s), from its first `#` (or text) to the end of the line
    /// (newline excluded).
    pub range: Range<usize>,
}

/// A block id such as `^intro` at the end of a paragraph or list item, or on its own line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The id without `^`.
    pub id: String,
    /// Line where the `^id` is written.
    pub line: u32,
    /// Byte range of the block the id labels (the paragraph, list item or, for an id on its own
    /// line, the block just before it).
    pub range: Range<usize>,
}

/// A task list item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The status character between the brackets: `' '` open, `'x'` done, others custom.
    pub status: char,
    /// True when the status is `x` or `X`.
    pub done: bool,
    /// The task's text, trimmed, with inline syntax kept.
    pub text: String,
    /// Line of the task.
    pub line: u32,
}

/// A callout block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callout {
    /// The callout type, lower-cased (`note`, `warning`, ...).
    pub kind: String,
    /// The title after the type, possibly empty.
    pub title: String,
    /// Line of the callout's first line.
    pub line: u32,
}

/// What kind of syntax made a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// `[[target]]`
    Wikilink,
    /// `![[target]]`
    Embed,
    /// `[text](target.md)`
    Markdown,
    /// `![alt](image.png)`
    MarkdownEmbed,
}

impl LinkKind {
    /// Stable snake_case name, used in the store and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wikilink => "wikilink",
            Self::Embed => "embed",
            Self::Markdown => "markdown",
            Self::MarkdownEmbed => "markdown_embed",
        }
    }

    /// Inverse of [`LinkKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "wikilink" => Self::Wikilink,
            "embed" => Self::Embed,
            "markdown" => Self::Markdown,
            "markdown_embed" => Self::MarkdownEmbed,
            _ => return None,
        })
    }

    /// True for the `[[...]]` family.
    pub fn is_wiki(self) -> bool {
        matches!(self, Self::Wikilink | Self::Embed)
    }
}

/// The part of a link after `#`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Fragment {
    /// `#Heading` (possibly nested: `#A#B`, kept as written).
    Heading(String),
    /// `#^block-id`, without `^`.
    Block(String),
}

/// A link from a note to another note or an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The syntax used.
    pub kind: LinkKind,
    /// The link's target path as the user meant it: percent-decoded for Markdown links, without
    /// the fragment, trimmed; empty for same-note links such as `[[#Heading]]`.
    pub target: String,
    /// The fragment after `#`, if any.
    pub fragment: Option<Fragment>,
    /// Display text: the alias after `|` for wikilinks, the link text for Markdown links.
    pub display: Option<String>,
    /// Line of the link.
    pub line: u32,
    /// Byte range of the whole link syntax, e.g. `![[a#h|b]]` or `[t](a.md)`.
    pub range: Range<usize>,
    /// Byte range of the target path as written in the source (before the fragment). Empty
    /// (`start == end`) for same-note links. A rename replaces exactly these bytes.
    pub target_range: Range<usize>,
}

/// A link to something outside the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalLink {
    /// The URL as written.
    pub url: String,
    /// The link text, if any (autolinks have none).
    pub display: Option<String>,
    /// Line of the link.
    pub line: u32,
}

/// A problem found in a note. Notes with diagnostics are still indexed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Stable code.
    pub code: DiagnosticCode,
    /// Human-readable explanation naming the offending value.
    pub message: String,
    /// Line, when the problem has one.
    pub line: Option<u32>,
}

/// Stable codes for note problems; used by `weaver check`, the API and the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticCode {
    /// The frontmatter is not valid YAML or not a mapping.
    FrontmatterInvalid,
    /// The frontmatter exceeds the parser's budgets (alias expansion, nesting depth, size).
    FrontmatterTooComplex,
    /// The file is not valid UTF-8; invalid bytes were replaced.
    InvalidUtf8,
    /// The file looks binary (contains NUL bytes); its content was not parsed.
    BinaryFile,
    /// The file is larger than the configured limit; its content was not parsed.
    FileTooLarge,
    /// The file is empty.
    EmptyFile,
    /// A link whose target matches no note or attachment.
    UnresolvedLink,
    /// A link whose `#heading` or `#^block` does not exist in the target note.
    BrokenAnchor,
    /// Two files of one folder whose names differ only in Unicode normalisation (NFC and NFD
    /// spellings, as macOS and Linux write them): only one of them is indexed.
    DuplicateName,
}

impl DiagnosticCode {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FrontmatterInvalid => "frontmatter_invalid",
            Self::FrontmatterTooComplex => "frontmatter_too_complex",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::BinaryFile => "binary_file",
            Self::FileTooLarge => "file_too_large",
            Self::EmptyFile => "empty_file",
            Self::UnresolvedLink => "unresolved_link",
            Self::BrokenAnchor => "broken_anchor",
            Self::DuplicateName => "duplicate_name",
        }
    }

    /// True for codes that make `weaver check` fail. An empty note is not a problem.
    pub fn is_problem(self) -> bool {
        !matches!(self, Self::EmptyFile)
    }
}

/// Settings that change what the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Files larger than this are recorded with a [`DiagnosticCode::FileTooLarge`] diagnostic and
    /// not parsed.
    pub max_file_bytes: u64,
}

impl ParseOptions {
    /// Default size limit: 10 MiB.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: Self::DEFAULT_MAX_FILE_BYTES,
        }
    }
}
