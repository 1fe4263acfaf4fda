//! What a viewer of the vault needs beyond the note's data: the note rendered as safe HTML,
//! the vault's files (images) served from inside the vault, and the whole link graph with an
//! initial layout. The web UI uses these through the REST API (`notes/{path}/html`,
//! `files/{path}`, `graph`); anyone else may too.
//!
//! Rendering is weaver-core's [`render_html`] (the engine's own parse, rewritten for Obsidian
//! syntax) followed by ammonia: whatever HTML a note holds, what leaves here runs no script
//! (no `<script>`, no event handlers, no `javascript:` URLs, no SVG or `<style>`), and its ids
//! are prefixed with [`ID_PREFIX`] so a note cannot clobber the page's own ids.
//!
//! The layout is computed once per link graph: a snapshot that did not change any link shares
//! the previous [`Graph`] (see `vault.rs`), so the cache keyed by that graph's identity holds
//! exactly as long as the layout is right. Titles and tags are read from the snapshot on every
//! call.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use weaver_core::{Graph, LinkTargets, VaultPath, content_hash, render_html};

use crate::read::NoteRead;
use crate::vault::{Snapshot, Vault};
use crate::{AppError, distinct_tags};

/// Every `id` in rendered HTML starts with this (`# Goals` is `id="n-Goals"`), and fragment
/// links (`#x`, footnotes) are rewritten to match.
pub const ID_PREFIX: &str = "n-";

/// Notes longer than this are rendered up to the last line break before it, with
/// [`RenderedNote::truncated`] set.
pub const MAX_RENDER_BYTES: usize = 1 << 20;

/// The largest file [`Vault::read_vault_file`] serves.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Characters left unescaped in a path segment of a URL.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a vault path for a URL, keeping its `/`.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// A note as sanitised HTML.
#[derive(Debug, Clone)]
pub struct RenderedNote {
    /// The note's path.
    pub path: String,
    /// Content hash of the bytes rendered (the note's `ETag`).
    pub hash: String,
    /// Sanitised HTML of the body (the frontmatter is not in it).
    pub html: String,
    /// True when the note was longer than [`MAX_RENDER_BYTES`] and only its start is shown.
    pub truncated: bool,
}

/// The URLs rendered HTML uses, relative to the server's root: links to notes and tags are
/// routes of the web UI (`#/v/{vault}/n/{path}`, `#/v/{vault}/tag/{tag}`), files are the
/// API's `api/v1/vaults/{vault}/files/{path}`.
struct VaultLinks<'a> {
    vault: &'a str,
    source: &'a VaultPath,
    snapshot: &'a Snapshot,
}

impl LinkTargets for VaultLinks<'_> {
    fn resolve(&self, target: &str) -> Option<String> {
        if target.is_empty() {
            return Some(self.source.to_string());
        }
        let resolver = self.snapshot.resolver();
        resolver
            .resolve(self.source, target)
            .and_then(|id| resolver.path(id))
            .map(ToString::to_string)
    }

    fn note_href(&self, path: &str, heading: Option<&str>) -> String {
        let vault = encode_path(self.vault);
        let mut href = format!("#/v/{vault}/n/{}", encode_path(path));
        if let Some(heading) = heading {
            href.push_str("?h=");
            href.push_str(&utf8_percent_encode(heading, SEGMENT).to_string());
        }
        href
    }

    fn file_src(&self, path: &str) -> String {
        format!(
            "api/v1/vaults/{}/files/{}",
            encode_path(self.vault),
            encode_path(path)
        )
    }

    fn tag_href(&self, tag: &str) -> String {
        format!("#/v/{}/tag/{}", encode_path(self.vault), encode_path(tag))
    }
}

/// The sanitiser: ammonia's defaults (no script, style, forms, event handlers or unsafe URL
/// schemes; `rel="noopener noreferrer"` on links) plus what the renderer writes: classes and
/// `data-` attributes, heading and footnote ids (prefixed), disabled task checkboxes.
static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_generic_attributes(["class", "id"])
        .add_generic_attribute_prefixes(["data-"])
        .add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .set_tag_attribute_value("input", "type", "checkbox")
        .set_tag_attribute_value("input", "disabled", "")
        .add_tag_attributes("img", ["width", "height"])
        .id_prefix(Some(ID_PREFIX))
        .attribute_filter(|_element, attribute, value| {
            // Fragment links point at prefixed ids; UI routes (`#/...`) are left alone.
            if attribute == "href" && value.starts_with('#') && !value.starts_with("#/") {
                let rest = value.get(1..).unwrap_or("");
                return Some(Cow::Owned(format!("#{ID_PREFIX}{rest}")));
            }
            Some(Cow::Borrowed(value))
        });
    builder
});

/// Sanitises HTML for display (see `SANITISER`).
pub fn sanitise(html: &str) -> String {
    SANITISER.clean(html).to_string()
}

/// Renders the note `read` found, as the web UI shows it (see the module documentation).
pub fn render_note(vault: &str, read: &NoteRead) -> RenderedNote {
    let text = String::from_utf8_lossy(&read.bytes);
    let (text, truncated) = if text.len() > MAX_RENDER_BYTES {
        let cut = (0..=MAX_RENDER_BYTES)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let head = text.get(..cut).unwrap_or("");
        let cut = head.rfind('\n').map_or(cut, |nl| nl + 1);
        (text.get(..cut).unwrap_or(""), true)
    } else {
        (text.as_ref(), false)
    };
    let links = VaultLinks {
        vault,
        source: &read.path,
        snapshot: &read.snapshot,
    };
    RenderedNote {
        path: read.path.to_string(),
        hash: read.hash.clone(),
        html: sanitise(&render_html(text, &links)),
        truncated,
    }
}

/// A file of the vault as read.
#[derive(Debug, Clone)]
pub struct FileRead {
    /// Its path.
    pub path: VaultPath,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// [`content_hash`] of the bytes.
    pub hash: String,
    /// The media type its extension says (`application/octet-stream` when unknown).
    pub content_type: &'static str,
}

/// The media types [`content_type`] gives, by lower-case extension; anything else is
/// `application/octet-stream`. The REST route that serves files documents each of them.
pub const CONTENT_TYPES: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("svg", "image/svg+xml"),
    ("pdf", "application/pdf"),
    ("md", "text/markdown; charset=utf-8"),
    ("txt", "text/plain; charset=utf-8"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
];

/// The media type of a file by its extension, for the few kinds a note embeds.
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    CONTENT_TYPES
        .iter()
        .find(|(e, _)| *e == ext)
        .map_or("application/octet-stream", |(_, t)| t)
}

impl Vault {
    /// Reads a file of the vault (an attachment or a note) by its exact path, through the
    /// vault's directory handle (never through a symbolic link, never outside the vault), up
    /// to [`MAX_FILE_BYTES`]. Files the index does not know (ignored, hidden, the cache
    /// folder) are not found.
    pub fn read_vault_file(&self, path: &str) -> Result<FileRead, AppError> {
        let path = VaultPath::new(path)?;
        let snapshot = self.snapshot();
        let known = snapshot.attachments.contains_key(&path) || snapshot.get(&path).is_some();
        if !known {
            return Err(AppError::NoteNotFound {
                path: path.to_string(),
                suggestions: Vec::new(),
            });
        }
        let bytes = self
            .fs
            .read_limited(&path, MAX_FILE_BYTES)
            .map_err(|e| self.fs_error(&path, e))?;
        Ok(FileRead {
            content_type: content_type(path.as_str()),
            hash: content_hash(&bytes),
            path,
            bytes,
        })
    }

    /// The whole link graph with a laid-out position per note (see [`GraphView`]); the layout
    /// is computed once per link graph and cached.
    pub fn graph_view(&self) -> GraphView {
        let snapshot = self.snapshot();
        let layout = self.layout_for(&snapshot);
        graph_view(&snapshot, &layout)
    }

    fn layout_for(&self, snapshot: &Snapshot) -> Arc<Layout> {
        let mut cache = match self.layout.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((graph, layout)) = cache.as_ref()
            && graph
                .upgrade()
                .is_some_and(|g| Arc::ptr_eq(&g, &snapshot.graph))
        {
            return Arc::clone(layout);
        }
        let edges = simple_edges(&snapshot.graph);
        let positions =
            weaver_core::layout::force_layout(snapshot.graph.len(), &edges, &Default::default());
        let layout = Arc::new(Layout { positions, edges });
        *cache = Some((Arc::downgrade(&snapshot.graph), Arc::clone(&layout)));
        layout
    }
}

/// The cached part of a [`GraphView`].
#[derive(Debug)]
pub(crate) struct Layout {
    positions: Vec<(f32, f32)>,
    edges: Vec<(u32, u32)>,
}

/// The layout cache of a vault: the graph it was computed for, and the layout.
pub(crate) type LayoutCache = Mutex<Option<(Weak<Graph>, Arc<Layout>)>>;

/// Distinct directed note-to-note links without self-links, in source order.
fn simple_edges(graph: &Graph) -> Vec<(u32, u32)> {
    let mut edges = Vec::with_capacity(graph.edge_count());
    let mut seen = HashSet::new();
    for source in 0..u32::try_from(graph.len()).unwrap_or(u32::MAX) {
        seen.clear();
        for edge in graph.outgoing(source) {
            if edge.note != source && seen.insert(edge.note) {
                edges.push((source, edge.note));
            }
        }
    }
    edges
}

/// One note of the graph.
#[derive(Debug, Clone)]
pub struct GraphNode {
    /// Vault path.
    pub path: String,
    /// Title.
    pub title: String,
    /// Its folder (`""` at the root).
    pub folder: String,
    /// Distinct tags.
    pub tags: Vec<String>,
    /// Initial position.
    pub x: f32,
    /// Initial position.
    pub y: f32,
    /// Links in and out (distinct notes, both directions counted).
    pub degree: u32,
}

/// The whole link graph: every note, and every distinct link between two different notes as
/// indexes into `nodes`.
#[derive(Debug, Clone)]
pub struct GraphView {
    /// Notes, by path.
    pub nodes: Vec<GraphNode>,
    /// `(source, target)` indexes into `nodes`.
    pub edges: Vec<(u32, u32)>,
}

fn graph_view(snapshot: &Snapshot, layout: &Layout) -> GraphView {
    let mut degree = vec![0u32; snapshot.notes.len()];
    for &(s, t) in &layout.edges {
        for end in [s, t] {
            if let Some(d) = degree.get_mut(end as usize) {
                *d += 1;
            }
        }
    }
    let nodes = snapshot
        .notes
        .iter()
        .enumerate()
        .map(|(i, note)| {
            let (x, y) = layout.positions.get(i).copied().unwrap_or((0.0, 0.0));
            let path = note.path.as_str();
            GraphNode {
                path: path.to_owned(),
                title: note.note.title.clone(),
                folder: path
                    .rsplit_once('/')
                    .map_or_else(String::new, |(f, _)| f.to_owned()),
                tags: distinct_tags(note),
                x,
                y,
                degree: degree.get(i).copied().unwrap_or(0),
            }
        })
        .collect();
    GraphView {
        nodes,
        edges: layout.edges.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_comes_out_inert() {
        let cases = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<svg onload=alert(1)><script>alert(1)</script></svg>",
            "<iframe src=\"data:text/html,<script>alert(1)</script>\"></iframe>",
            "<div style=\"background:url(javascript:alert(1))\" onclick=\"alert(1)\">x</div>",
            "<object data=\"x.swf\"></object><embed src=x>",
            "<form action=x><input type=text name=q onfocus=alert(1) autofocus></form>",
            "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
            "<style>body{display:none}</style>",
            "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
        ];
        for case in cases {
            let clean = sanitise(case).to_ascii_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onload",
                "onclick",
                "onfocus",
                "javascript:",
                "<svg",
                "<iframe",
                "<object",
                "<embed",
                "<form",
                "style",
                "<meta",
                "autofocus",
            ] {
                assert!(
                    !clean.contains(bad),
                    "{bad:?} left in {clean:?} from {case:?}"
                );
            }
        }
        // What the renderer writes survives.
        let kept = sanitise(
            "<h2 id=\"Goals\">G</h2><a class=\"internal-link\" href=\"#/v/d/n/a.md\" data-note=\"a.md\">a</a>\
             <sup class=\"footnote-reference\"><a href=\"#1\">1</a></sup><input type=\"text\" checked=\"\">",
        );
        assert!(kept.contains("id=\"n-Goals\""), "{kept}");
        assert!(kept.contains("href=\"#/v/d/n/a.md\""), "{kept}");
        assert!(kept.contains("data-note=\"a.md\""), "{kept}");
        assert!(kept.contains("href=\"#n-1\""), "{kept}");
        assert!(kept.contains("type=\"checkbox\""), "{kept}");
        assert!(kept.contains("disabled"), "{kept}");
    }

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(
            encode_path("Concepts/Café culture.md"),
            "Concepts/Caf%C3%A9%20culture.md"
        );
        assert_eq!(encode_path("a#b?/c"), "a%23b%3F/c");
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("a/b.PNG"), "image/png");
        assert_eq!(content_type("x.svg"), "image/svg+xml");
        assert_eq!(content_type("x.exe"), "application/octet-stream");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
