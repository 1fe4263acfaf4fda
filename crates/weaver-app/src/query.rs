//! Read-only questions about a vault: notes, links, graph walks, tags, stats and problems.
//!
//! Every function here works on one [`Snapshot`], so an answer never mixes two versions of the
//! vault. The CLI, the REST API and the MCP tools all call these same functions.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use weaver_core::{
    Block, Callout, Diagnostic, DiagnosticCode, Direction, ExternalLink, Fragment, Heading, Link,
    LinkKind, NoteId, Task, VaultPath, fold_name, fragment_exists,
};
use weaver_store::NoteRecord;

use crate::AppError;
use crate::vault::Snapshot;
use crate::vaultfs::VaultFs;

/// Longest context line of a backlink, in bytes; a longer line is cut around the link (on
/// character boundaries) and marked with `…` where it was cut.
pub const CONTEXT_LINE_BYTES: usize = 240;

/// Context bytes in one answer: once they are spent, the remaining backlinks of the answer come
/// with an empty `context`. With [`CONTEXT_LINE_BYTES`] this bounds an answer of any length.
pub const CONTEXT_BUDGET_BYTES: usize = 256 * 1024;

/// Backlinks listed in [`NoteDetails`]; the rest are paged through [`Snapshot::backlinks`].
pub const DETAIL_BACKLINKS: usize = 100;

/// A window into a long list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// At most this many items.
    pub limit: usize,
    /// Skip this many items first.
    pub offset: usize,
}

impl Page {
    /// The first `limit` items.
    pub fn first(limit: usize) -> Self {
        Self { limit, offset: 0 }
    }

    /// Everything.
    pub const ALL: Self = Self {
        limit: usize::MAX,
        offset: 0,
    };

    pub(crate) fn apply<T>(self, items: Vec<T>) -> Paged<T> {
        let total = items.len();
        let items = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        Paged { total, items }
    }
}

/// One page of a list, with the size of the whole list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paged<T> {
    /// Items in the whole list.
    pub total: usize,
    /// The items of this page.
    pub items: Vec<T>,
}

/// A note's path and title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRef {
    /// Vault-relative path.
    pub path: VaultPath,
    /// Title.
    pub title: String,
}

/// Everything known about one note.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteDetails {
    /// Vault-relative path.
    pub path: VaultPath,
    /// Title.
    pub title: String,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Distinct tags, frontmatter first, in the case first written.
    pub tags: Vec<String>,
    /// Frontmatter as JSON.
    pub frontmatter: Option<serde_json::Map<String, serde_json::Value>>,
    /// Outline.
    pub headings: Vec<Heading>,
    /// Block ids.
    pub blocks: Vec<Block>,
    /// Tasks.
    pub tasks: Vec<Task>,
    /// Callouts.
    pub callouts: Vec<Callout>,
    /// Links from this note, with where they resolve.
    pub links: Vec<OutgoingLink>,
    /// Links to URLs.
    pub external_links: Vec<ExternalLink>,
    /// Links from other notes to this one: the first [`DETAIL_BACKLINKS`], by source path and
    /// line.
    pub backlinks: Vec<Backlink>,
    /// Links from other notes to this one, in all.
    pub backlinks_total: usize,
    /// Parse problems.
    pub diagnostics: Vec<Diagnostic>,
    /// Content hash (blake3, hex): the note's version.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Words in the body.
    pub word_count: u32,
}

/// A link from a note, with its resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutgoingLink {
    /// Syntax of the link.
    pub kind: LinkKind,
    /// Target as written (decoded).
    pub target: String,
    /// Heading or block fragment.
    pub fragment: Option<Fragment>,
    /// Display text.
    pub display: Option<String>,
    /// Line in the source note.
    pub line: u32,
    /// The file it points to, if any.
    pub resolved: Option<VaultPath>,
    /// For links with a fragment into a note: whether the heading or block exists.
    pub anchor_exists: Option<bool>,
}

/// A link from another note to this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backlink {
    /// The linking note.
    pub source: VaultPath,
    /// Its title.
    pub title: String,
    /// Syntax of the link.
    pub kind: LinkKind,
    /// Line of the link in the source note.
    pub line: u32,
    /// Display text of the link.
    pub display: Option<String>,
    /// The source line around the link: trimmed, cut to [`CONTEXT_LINE_BYTES`] around the link;
    /// empty when the file cannot be read or the answer's [`CONTEXT_BUDGET_BYTES`] are spent.
    pub context: String,
}

/// A note reached by a graph walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbor {
    /// Vault-relative path.
    pub path: VaultPath,
    /// Title.
    pub title: String,
    /// Hops from the start note.
    pub distance: u32,
}

/// A link whose target matches no file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnresolvedLink {
    /// The linking note.
    pub source: VaultPath,
    /// The target as written.
    pub target: String,
    /// Syntax of the link.
    pub kind: LinkKind,
    /// Line of the link.
    pub line: u32,
}

/// A tag and how many notes carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagCount {
    /// The tag, in the case first seen, nested with `/`.
    pub name: String,
    /// Notes tagged with exactly this tag.
    pub direct: usize,
    /// Notes tagged with this tag or any tag nested below it.
    pub notes: usize,
}

/// Counts over the whole vault.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VaultStats {
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
    /// Distinct tags (case-insensitive).
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

/// One problem found by [`Snapshot::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The note with the problem.
    pub path: VaultPath,
    /// Stable code.
    pub code: DiagnosticCode,
    /// Explanation.
    pub message: String,
    /// Line, when there is one.
    pub line: Option<u32>,
    /// For link problems: the link's target as written.
    pub target: Option<String>,
}

impl Snapshot {
    /// Finds a note by path (`Projects/Plan.md`), path without `.md`, or name (`Plan`), the way a
    /// link from the vault root would, and failing that by alias (the shortest path wins when
    /// several notes share one). Fails with suggestions when nothing matches.
    pub fn find(&self, input: &str) -> Result<NoteId, AppError> {
        let trimmed = input.trim();
        if let Ok(path) = VaultPath::normalize(trimmed)
            && let Some(id) = self.id(&path)
        {
            return Ok(id);
        }
        let root = VaultPath::normalize("_").ok();
        let found = root
            .as_ref()
            .and_then(|root| self.resolver().resolve(root, trimmed))
            .and_then(|id| self.resolver().path(id))
            .and_then(|path| self.id(path));
        if let Some(id) = found {
            return Ok(id);
        }
        let folded = fold_name(trimmed);
        let by_alias = self
            .notes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.note.aliases.iter().any(|a| fold_name(a) == folded))
            .min_by_key(|(_, n)| (n.path.as_str().len(), n.path.as_str()))
            .and_then(|(i, _)| NoteId::try_from(i).ok());
        by_alias.ok_or_else(|| AppError::NoteNotFound {
            path: input.to_owned(),
            suggestions: self.suggest(trimmed),
        })
    }

    /// Like [`Snapshot::find`], returning the note.
    pub fn find_note(&self, input: &str) -> Result<&NoteRecord, AppError> {
        let id = self.find(input)?;
        self.note(id).ok_or_else(|| AppError::NoteNotFound {
            path: input.to_owned(),
            suggestions: Vec::new(),
        })
    }

    /// Up to three note paths close to `input` (by edit distance of folded paths and names).
    fn suggest(&self, input: &str) -> Vec<String> {
        let wanted = fold_name(input.trim_end_matches(".md"));
        let wanted_name = wanted.rsplit('/').next().unwrap_or(&wanted).to_owned();
        let budget = (wanted.chars().count() / 3).clamp(1, 4);
        let mut scored: Vec<(usize, &VaultPath)> = self
            .notes
            .iter()
            .filter_map(|n| {
                let path = fold_name(n.path.without_md());
                let name = fold_name(n.path.stem());
                let d = edit_distance(&wanted, &path, budget)
                    .into_iter()
                    .chain(edit_distance(&wanted_name, &name, budget))
                    .min()?;
                Some((d, &n.path))
            })
            .collect();
        if scored.is_empty() && wanted_name.chars().count() >= 3 {
            // No near spelling: fall back to notes whose name contains the asked-for name.
            scored = self
                .notes
                .iter()
                .filter_map(|n| {
                    let name = fold_name(n.path.stem());
                    name.contains(&wanted_name)
                        .then(|| (name.len() - wanted_name.len(), &n.path))
                })
                .collect();
        }
        scored.sort();
        scored
            .into_iter()
            .take(3)
            .map(|(_, p)| p.to_string())
            .collect()
    }

    fn note_ref(&self, id: NoteId) -> Option<NoteRef> {
        self.note(id).map(|n| NoteRef {
            path: n.path.clone(),
            title: n.note.title.clone(),
        })
    }

    /// All notes, optionally only those in `folder` (and below), sorted by path.
    pub fn list_notes(&self, folder: Option<&str>, page: Page) -> Paged<NoteRef> {
        let prefix = folder.map(|f| fold_name(f.trim_matches('/')));
        let items = self
            .notes
            .iter()
            .filter(|n| in_folder(n, prefix.as_deref()))
            .map(|n| NoteRef {
                path: n.path.clone(),
                title: n.note.title.clone(),
            })
            .collect();
        page.apply(items)
    }

    /// Notes matching every part of `filter`, in `order`: the REST note list and the MCP
    /// `recent_changes` tool both answer from here.
    pub fn filter_notes(
        &self,
        filter: &NoteFilter<'_>,
        order: NoteOrder,
        page: Page,
    ) -> Paged<&NoteRecord> {
        let prefix = filter.folder.map(|f| fold_name(f.trim_matches('/')));
        let tags: Vec<String> = filter
            .tags
            .iter()
            .map(|t| fold_name(t.trim().trim_start_matches('#')))
            .filter(|t| !t.is_empty())
            .collect();
        let mut notes: Vec<&NoteRecord> = self
            .notes
            .iter()
            .map(AsRef::as_ref)
            .filter(|n| in_folder(n, prefix.as_deref()))
            .filter(|n| tags.iter().all(|t| has_tag(n, t)))
            .filter(|n| filter.fields.iter().all(|(k, v)| has_field(n, k, v)))
            .collect();
        match order {
            NoteOrder::Path => {}
            NoteOrder::PathDesc => notes.reverse(),
            NoteOrder::Modified => notes.sort_by(|a, b| {
                a.meta
                    .mtime_ns
                    .cmp(&b.meta.mtime_ns)
                    .then_with(|| a.path.cmp(&b.path))
            }),
            // Newest first; the path breaks ties so pages are stable.
            NoteOrder::ModifiedDesc => notes.sort_by(|a, b| {
                b.meta
                    .mtime_ns
                    .cmp(&a.meta.mtime_ns)
                    .then_with(|| a.path.cmp(&b.path))
            }),
        }
        page.apply(notes)
    }

    /// Everything about one note, with its links and the first [`DETAIL_BACKLINKS`] backlinks
    /// (their context lines read from the snapshot's vault); when `cancel` fires the reading
    /// stops with [`AppError::Cancelled`].
    pub fn details(
        &self,
        input: &str,
        cancel: &CancellationToken,
    ) -> Result<NoteDetails, AppError> {
        let id = self.find(input)?;
        let record = self.note(id).ok_or_else(|| AppError::NoteNotFound {
            path: input.to_owned(),
            suggestions: Vec::new(),
        })?;
        let note = &record.note;
        let tags = distinct_tags(record);
        let backlinks = self.backlinks_of(id, Page::first(DETAIL_BACKLINKS), cancel, |source| {
            read_source(&self.fs, &source.path, source.meta.size)
        })?;
        Ok(NoteDetails {
            path: record.path.clone(),
            title: note.title.clone(),
            aliases: note.aliases.clone(),
            tags,
            frontmatter: note.frontmatter.clone(),
            headings: note.headings.clone(),
            blocks: note.blocks.clone(),
            tasks: note.tasks.clone(),
            callouts: note.callouts.clone(),
            links: self.outgoing_of(record),
            external_links: note.external_links.clone(),
            backlinks: backlinks.items,
            backlinks_total: backlinks.total,
            diagnostics: note.diagnostics.clone(),
            hash: record.meta.hash.clone(),
            size: record.meta.size,
            mtime_ns: record.meta.mtime_ns,
            word_count: note.word_count,
        })
    }

    /// Links from a note, with where each resolves.
    pub fn outgoing(&self, input: &str) -> Result<Vec<OutgoingLink>, AppError> {
        Ok(self.outgoing_of(self.find_note(input)?))
    }

    fn outgoing_of(&self, record: &NoteRecord) -> Vec<OutgoingLink> {
        record
            .note
            .links
            .iter()
            .zip(&record.resolved)
            .map(|(link, resolved)| OutgoingLink {
                kind: link.kind,
                target: link.target.clone(),
                fragment: link.fragment.clone(),
                display: link.display.clone(),
                line: link.line,
                resolved: resolved.clone(),
                anchor_exists: link.fragment.as_ref().and_then(|f| {
                    let target = self.get(resolved.as_ref()?)?;
                    Some(anchor_exists(f, target))
                }),
            })
            .collect()
    }

    /// Links from other notes to a note, each with its context line, by source path and line.
    ///
    /// Each source note of the page is read once, whatever the number of its links, and the
    /// context lines are bounded ([`CONTEXT_LINE_BYTES`] each, [`CONTEXT_BUDGET_BYTES`] in all).
    /// `cancel` is checked before each source is read: once it fires the answer is
    /// [`AppError::Cancelled`], so the work of a request whose client has gone stops there.
    pub fn backlinks(
        &self,
        input: &str,
        page: Page,
        cancel: &CancellationToken,
    ) -> Result<Paged<Backlink>, AppError> {
        let id = self.find(input)?;
        self.backlinks_of(id, page, cancel, |source| {
            read_source(&self.fs, &source.path, source.meta.size)
        })
    }

    /// How many links from other notes reach a note; reads no file.
    pub fn backlink_count(&self, input: &str) -> Result<usize, AppError> {
        let id = self.find(input)?;
        Ok(self.graph.incoming(id).len())
    }

    /// The backlinks of `id`, reading each source with `read`.
    fn backlinks_of(
        &self,
        id: NoteId,
        page: Page,
        cancel: &CancellationToken,
        read: impl FnMut(&NoteRecord) -> std::io::Result<Vec<u8>>,
    ) -> Result<Paged<Backlink>, AppError> {
        // By source path and link: note ids follow paths, so by id. The graph keeps them in this
        // order already; only a page of them is looked at, without copying the rest.
        let incoming = self.graph.incoming(id);
        let key = |e: &weaver_core::Edge| (e.note, e.link);
        let edges: std::borrow::Cow<'_, [weaver_core::Edge]> = if incoming.is_sorted_by_key(key) {
            std::borrow::Cow::Borrowed(incoming)
        } else {
            let mut sorted = incoming.to_vec();
            sorted.sort_unstable_by_key(key);
            std::borrow::Cow::Owned(sorted)
        };
        let total = edges.len();
        let edges: Vec<(&NoteRecord, &Link)> = edges
            .iter()
            .skip(page.offset)
            .take(page.limit)
            .filter_map(|e| {
                let source = self.note(e.note)?;
                Some((source, source.note.links.get(e.link as usize)?))
            })
            .collect();
        let contexts = context_lines(&edges, read, cancel)?;
        let items = edges
            .into_iter()
            .zip(contexts)
            .map(|((source, link), context)| Backlink {
                source: source.path.clone(),
                title: source.note.title.clone(),
                kind: link.kind,
                line: link.line,
                display: link.display.clone(),
                context,
            })
            .collect();
        Ok(Paged { total, items })
    }

    /// Notes within `depth` hops of a note.
    pub fn neighbors(
        &self,
        input: &str,
        depth: u32,
        direction: Direction,
        page: Page,
    ) -> Result<Paged<Neighbor>, AppError> {
        let id = self.find(input)?;
        let items = self
            .graph
            .neighbors(id, depth, direction)
            .into_iter()
            .filter_map(|(n, distance)| {
                let r = self.note_ref(n)?;
                Some(Neighbor {
                    path: r.path,
                    title: r.title,
                    distance,
                })
            })
            .collect();
        Ok(page.apply(items))
    }

    /// A shortest chain of notes from one note to another, both included; `None` when there is
    /// no path.
    pub fn shortest_path(
        &self,
        from: &str,
        to: &str,
        direction: Direction,
    ) -> Result<Option<Vec<NoteRef>>, AppError> {
        let from = self.find(from)?;
        let to = self.find(to)?;
        Ok(self
            .graph
            .shortest_path(from, to, direction)
            .map(|ids| ids.into_iter().filter_map(|id| self.note_ref(id)).collect()))
    }

    /// Notes with no resolved links in or out, by path.
    pub fn orphans(&self, page: Page) -> Paged<NoteRef> {
        let items = self
            .graph
            .orphans()
            .into_iter()
            .filter_map(|id| self.note_ref(id))
            .collect();
        page.apply(items)
    }

    /// Links that resolve to no file, by source path and line.
    pub fn unresolved(&self, page: Page) -> Paged<UnresolvedLink> {
        let items = self
            .notes
            .iter()
            .flat_map(|n| {
                n.note
                    .links
                    .iter()
                    .zip(&n.resolved)
                    .filter(|(_, r)| r.is_none())
                    .map(|(l, _)| UnresolvedLink {
                        source: n.path.clone(),
                        target: l.target.clone(),
                        kind: l.kind,
                        line: l.line,
                    })
            })
            .collect();
        page.apply(items)
    }

    /// Every tag with note counts, sorted by name; nested tags also count towards their parents.
    pub fn tags(&self) -> Vec<TagCount> {
        // folded name -> (display name, direct notes, notes including nested)
        let mut counts: BTreeMap<String, (String, usize, usize)> = BTreeMap::new();
        for note in &self.notes {
            let mut direct = HashSet::new();
            let mut any = HashSet::new();
            for tag in &note.note.tags {
                let folded = fold_name(&tag.name);
                if direct.insert(folded.clone()) {
                    counts
                        .entry(folded.clone())
                        .or_insert_with(|| (tag.name.clone(), 0, 0))
                        .1 += 1;
                }
                let mut end = 0;
                let parts: Vec<&str> = tag.name.split('/').collect();
                for (depth, part) in parts.iter().enumerate() {
                    end += part.len() + usize::from(depth > 0);
                    let prefix = tag.name.get(..end).unwrap_or(&tag.name);
                    let folded_prefix = fold_name(prefix);
                    if any.insert(folded_prefix.clone()) {
                        counts
                            .entry(folded_prefix)
                            .or_insert_with(|| (prefix.to_owned(), 0, 0))
                            .2 += 1;
                    }
                }
            }
        }
        counts
            .into_values()
            .map(|(name, direct, notes)| TagCount {
                name,
                direct,
                notes,
            })
            .collect()
    }

    /// Counts over the whole vault.
    pub fn stats(&self) -> VaultStats {
        let mut stats = VaultStats {
            notes: self.notes.len(),
            attachments: self.attachments.len(),
            orphans: self.graph.orphans().len(),
            ..VaultStats::default()
        };
        let mut tags = HashSet::new();
        for n in &self.notes {
            stats.links += n.note.links.len();
            stats.resolved_links += n.resolved.iter().filter(|r| r.is_some()).count();
            stats.embeds += n
                .note
                .links
                .iter()
                .filter(|l| matches!(l.kind, LinkKind::Embed | LinkKind::MarkdownEmbed))
                .count();
            stats.external_links += n.note.external_links.len();
            stats.tasks_done += n.note.tasks.iter().filter(|t| t.done).count();
            stats.tasks_open += n.note.tasks.iter().filter(|t| !t.done).count();
            stats.words += u64::from(n.note.word_count);
            stats.bytes += n.meta.size;
            if n.note.diagnostics.iter().any(|d| d.code.is_problem()) {
                stats.notes_with_problems += 1;
            }
            for t in &n.note.tags {
                tags.insert(fold_name(&t.name));
            }
        }
        stats.unresolved_links = stats.links - stats.resolved_links;
        stats.tags = tags.len();
        stats
    }

    /// Every problem in the vault: parse diagnostics, unresolved links, broken anchors. Sorted by
    /// path and line.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        for path in self.twins.iter() {
            problems.push(Problem {
                path: path.clone(),
                code: DiagnosticCode::DuplicateName,
                message: format!(
                    "`{path}` exists on disk under more than one Unicode spelling (NFC and NFD); only one is indexed: rename or merge the others"
                ),
                line: None,
                target: None,
            });
        }
        for n in &self.notes {
            for d in n.note.diagnostics.iter().filter(|d| d.code.is_problem()) {
                problems.push(Problem {
                    path: n.path.clone(),
                    code: d.code,
                    message: d.message.clone(),
                    line: d.line,
                    target: None,
                });
            }
            for (link, resolved) in n.note.links.iter().zip(&n.resolved) {
                let shown = link_text(link);
                match resolved {
                    None => problems.push(Problem {
                        path: n.path.clone(),
                        code: DiagnosticCode::UnresolvedLink,
                        message: format!("link `{shown}` matches no note or attachment"),
                        line: Some(link.line),
                        target: Some(link.target.clone()),
                    }),
                    Some(target) => {
                        let Some(fragment) = &link.fragment else {
                            continue;
                        };
                        let Some(target_note) = self.get(target) else {
                            continue;
                        };
                        if !anchor_exists(fragment, target_note) {
                            problems.push(Problem {
                                path: n.path.clone(),
                                code: DiagnosticCode::BrokenAnchor,
                                message: format!(
                                    "link `{shown}`: `{target}` has no {}",
                                    match fragment {
                                        Fragment::Heading(h) => format!("heading `{h}`"),
                                        Fragment::Block(b) => format!("block `^{b}`"),
                                    }
                                ),
                                line: Some(link.line),
                                target: Some(link.target.clone()),
                            });
                        }
                    }
                }
            }
        }
        problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
        problems
    }
}

/// Which notes [`Snapshot::filter_notes`] keeps. Empty parts keep everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoteFilter<'a> {
    /// Notes in this folder or below (case-insensitive).
    pub folder: Option<&'a str>,
    /// Tags that must all be present; `area` also matches `area/sub`, not `areas`.
    pub tags: &'a [String],
    /// Frontmatter `key`/`value` pairs that must all match (case-insensitive; a list matches when
    /// any element does).
    pub fields: &'a [(String, String)],
}

/// The order of [`Snapshot::filter_notes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoteOrder {
    /// By path, A to Z.
    #[default]
    Path,
    /// By path, Z to A.
    PathDesc,
    /// Oldest first.
    Modified,
    /// Newest first.
    ModifiedDesc,
}

/// `prefix` is folded; `None` or empty keeps every note.
fn in_folder(note: &NoteRecord, prefix: Option<&str>) -> bool {
    match prefix {
        None | Some("") => true,
        Some(p) => {
            let folded = fold_name(note.path.folder());
            folded == p || folded.strip_prefix(p).is_some_and(|r| r.starts_with('/'))
        }
    }
}

/// `wanted` is folded; `area` matches `area` and `Area/sub`, not `areas`.
fn has_tag(note: &NoteRecord, wanted: &str) -> bool {
    note.note.tags.iter().any(|t| {
        let folded = fold_name(&t.name);
        folded == wanted
            || folded
                .strip_prefix(wanted)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

fn has_field(note: &NoteRecord, key: &str, value: &str) -> bool {
    let Some(frontmatter) = &note.note.frontmatter else {
        return false;
    };
    let value = value.to_lowercase();
    let matches = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.to_lowercase() == value,
        serde_json::Value::Number(n) => n.to_string() == value,
        serde_json::Value::Bool(b) => b.to_string() == value,
        _ => false,
    };
    frontmatter
        .iter()
        .filter(|(k, _)| k.to_lowercase() == key.to_lowercase())
        .any(|(_, v)| match v {
            serde_json::Value::Array(items) => items.iter().any(matches),
            other => matches(other),
        })
}

fn link_text(link: &weaver_core::Link) -> String {
    let mut s = link.target.clone();
    match &link.fragment {
        Some(Fragment::Heading(h)) => {
            s.push('#');
            s.push_str(h);
        }
        Some(Fragment::Block(b)) => {
            s.push_str("#^");
            s.push_str(b);
        }
        None => {}
    }
    s
}

fn anchor_exists(fragment: &Fragment, target: &NoteRecord) -> bool {
    fragment_exists(
        fragment,
        &target.note.headings,
        target.note.blocks.iter().map(|b| b.id.as_str()),
    )
}

/// Reads a source note for its context lines: at most `max_bytes` (its indexed size, which the
/// link offsets refer to), so a file that grew since it was indexed costs no more.
///
/// The one place where queries read a vault file.
fn read_source(files: &VaultFs, path: &VaultPath, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    files.read_up_to(path, max_bytes)
}

/// The context line of every edge, in order. `edges` are grouped by source (as sorted by path):
/// each source is read once with `read`, and all its lines are cut from that one read. `cancel`
/// is checked before every read.
fn context_lines(
    edges: &[(&NoteRecord, &Link)],
    mut read: impl FnMut(&NoteRecord) -> std::io::Result<Vec<u8>>,
    cancel: &CancellationToken,
) -> Result<Vec<String>, AppError> {
    let mut contexts = vec![String::new(); edges.len()];
    let mut slots = contexts.as_mut_slice();
    let mut budget = CONTEXT_BUDGET_BYTES;
    for group in edges.chunk_by(|a, b| a.0.path == b.0.path) {
        if cancel.is_cancelled() {
            return Err(AppError::Cancelled);
        }
        let n = group.len().min(slots.len());
        let (mine, rest) = std::mem::take(&mut slots).split_at_mut(n);
        slots = rest;
        let Some((source, _)) = group.first() else {
            continue;
        };
        if budget == 0 {
            break;
        }
        let bytes = match read(source) {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::debug!(path = %source.path, error = %err, "no context lines: cannot read the note");
                continue;
            }
        };
        let lines = lines_at(&bytes, group.iter().map(|(_, link)| link.range.start));
        for (slot, line) in mine.iter_mut().zip(lines) {
            if line.len() > budget {
                budget = 0;
                break;
            }
            budget -= line.len();
            *slot = line;
        }
    }
    Ok(contexts)
}

/// The context line at each of `offsets` in `bytes`, in the order given, found in one pass over
/// the file: line ends are searched once, and each line is trimmed once however many links it
/// holds.
pub(crate) fn lines_at(bytes: &[u8], offsets: impl Iterator<Item = usize>) -> Vec<String> {
    let mut order: Vec<(usize, usize)> = offsets
        .map(|offset| offset.min(bytes.len()))
        .enumerate()
        .map(|(i, offset)| (offset, i))
        .collect();
    order.sort_unstable();
    let mut lines = vec![String::new(); order.len()];
    let line_end = |from: usize| {
        bytes
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map_or(bytes.len(), |i| from + i)
    };
    // The current line is `start..end` (`end` is its newline, or the end of the file), trimmed
    // to `trimmed`.
    let (mut start, mut end) = (0, line_end(0));
    let mut trimmed = None;
    for (offset, i) in order {
        while offset > end {
            start = end + 1;
            end = line_end(start);
            trimmed = None;
        }
        let span = *trimmed.get_or_insert_with(|| trim_span(bytes, start, end));
        if let Some(slot) = lines.get_mut(i) {
            *slot = cut_line(bytes, span, offset);
        }
    }
    lines
}

/// `start..end` without the ASCII whitespace at either end.
fn trim_span(bytes: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    let space = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_whitespace);
    while start < end && space(start) {
        start += 1;
    }
    while end > start && space(end - 1) {
        end -= 1;
    }
    (start, end)
}

/// The trimmed line `start..end` as text, cut to [`CONTEXT_LINE_BYTES`] around `offset` when it
/// is longer. Cuts fall on character boundaries and are marked with `…`.
fn cut_line(bytes: &[u8], (start, end): (usize, usize), offset: usize) -> String {
    const MAX: usize = CONTEXT_LINE_BYTES;
    let line = bytes.get(start..end).unwrap_or_default();
    if line.len() <= MAX {
        let text = String::from_utf8_lossy(line);
        return truncate(text.trim(), MAX).to_owned();
    }
    let continuation = |i: usize| line.get(i).is_some_and(|&b| b & 0xC0 == 0x80);
    let rel = offset.clamp(start, end) - start;
    let mut from = rel.saturating_sub(MAX / 2).min(line.len() - MAX);
    while from > 0 && continuation(from) {
        from -= 1;
    }
    let mut to = (from + MAX).min(line.len());
    while to > from && continuation(to) {
        to -= 1;
    }
    let text = String::from_utf8_lossy(line.get(from..to).unwrap_or_default());
    let mut out = String::with_capacity(MAX + 2 * '…'.len_utf8());
    if from > 0 {
        out.push('…');
    }
    out.push_str(truncate(&text, MAX));
    if to < line.len() {
        out.push('…');
    }
    out
}

/// `text` cut to at most `max` bytes on a character boundary (invalid UTF-8 decodes to three
/// bytes a byte, so a cut slice can grow).
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Levenshtein distance between `a` and `b` if it is at most `budget`.
fn edit_distance(a: &str, b: &str, budget: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > budget {
        return None;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        if let Some(first) = current.first_mut() {
            *first = i + 1;
        }
        let mut row_min = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let value = [
                previous.get(j + 1).map_or(usize::MAX, |v| v + 1),
                current.get(j).map_or(usize::MAX, |v| v + 1),
                previous.get(j).map_or(usize::MAX, |v| v + cost),
            ]
            .into_iter()
            .min()
            .unwrap_or(usize::MAX);
            if let Some(slot) = current.get_mut(j + 1) {
                *slot = value;
            }
            row_min = row_min.min(value);
        }
        if row_min > budget {
            return None;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous.last().copied().filter(|&d| d <= budget)
}

/// A note's tags, each once (case-insensitively; the first spelling wins), frontmatter first:
/// what every view of a note lists.
pub fn distinct_tags(record: &NoteRecord) -> Vec<String> {
    let mut seen = HashSet::new();
    record
        .note
        .tags
        .iter()
        .filter(|t| seen.insert(fold_name(&t.name)))
        .map(|t| t.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_is_bounded() {
        assert_eq!(edit_distance("projets/plan", "projects/plan", 2), Some(1));
        assert_eq!(edit_distance("abc", "abc", 0), Some(0));
        assert_eq!(edit_distance("abc", "xyz", 2), None);
        assert_eq!(edit_distance("a", "abcdef", 2), None);
    }

    fn line_at(bytes: &[u8], offset: usize) -> String {
        lines_at(bytes, std::iter::once(offset)).remove(0)
    }

    #[test]
    fn context_lines_cut_long_lines_on_char_boundaries() {
        let long = format!("{}[[target]]{}", "é".repeat(300), "ü".repeat(300));
        let text = format!("first\n{long}\nlast");
        let offset = "first\n".len() + "é".repeat(300).len();
        let line = line_at(text.as_bytes(), offset);
        assert!(line.contains("[[target]]"), "{line}");
        assert!(line.starts_with('…') && line.ends_with('…'));
        assert!(line.len() <= CONTEXT_LINE_BYTES + 2 * '…'.len_utf8());
        assert_eq!(line_at(text.as_bytes(), 0), "first");
        assert_eq!(line_at(text.as_bytes(), text.len()), "last");
        assert_eq!(line_at(text.as_bytes(), usize::MAX), "last");
    }

    #[test]
    fn context_lines_near_the_ends_of_long_lines() {
        let line = format!("  [[a]]{}[[z]]  ", "x".repeat(1000));
        let bytes = line.as_bytes();
        let both = lines_at(bytes, [bytes.len() - 7, 2].into_iter());
        assert!(
            both[0].starts_with('…') && both[0].ends_with("[[z]]"),
            "{}",
            both[0]
        );
        assert!(
            both[1].starts_with("[[a]]") && both[1].ends_with('…'),
            "{}",
            both[1]
        );
        // Invalid UTF-8 decodes to replacement characters, still within the bound.
        let bad = vec![0xFF; 2000];
        let cut = line_at(&bad, 1000);
        assert!(
            cut.len() <= CONTEXT_LINE_BYTES + 2 * '…'.len_utf8(),
            "{}",
            cut.len()
        );
        let short = vec![0xFF; 200];
        assert!(line_at(&short, 10).len() <= CONTEXT_LINE_BYTES);
    }

    #[test]
    fn lines_are_found_in_the_order_asked_whatever_the_offsets() {
        let text = "zero\n  one  \n\ntwo [[x]] [[y]]\n";
        let got = lines_at(text.as_bytes(), [20, 0, 7, 13, 25, 4].into_iter());
        assert_eq!(
            got,
            [
                "two [[x]] [[y]]",
                "zero",
                "one",
                "",
                "two [[x]] [[y]]",
                "zero"
            ]
        );
    }

    /// A vault with a target, two sources with many links each (one on a single long line) and
    /// one with a single link.
    fn many_sources() -> (tempfile::TempDir, crate::Vault) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("target.md"), "# Target\n").unwrap();
        std::fs::write(root.join("a.md"), "[[target]] ".repeat(500)).unwrap();
        std::fs::write(root.join("b.md"), "see [[target]]\n".repeat(300)).unwrap();
        std::fs::write(root.join("c.md"), "one [[target]]\n").unwrap();
        let mut options = crate::VaultOptions::new(root);
        options.in_memory = true;
        let (vault, _) = crate::Vault::open(&options, &|_| {}).unwrap();
        (dir, vault)
    }

    #[test]
    fn each_source_is_read_once_per_answer() {
        let (_dir, vault) = many_sources();
        let snapshot = vault.snapshot();
        let id = snapshot.find("target").unwrap();
        let root = vault.fs();
        let mut reads: Vec<String> = Vec::new();
        let page = snapshot
            .backlinks_of(id, Page::ALL, &CancellationToken::new(), |source| {
                reads.push(source.path.to_string());
                read_source(root, &source.path, source.meta.size)
            })
            .unwrap();
        assert_eq!(page.total, 801);
        assert_eq!(page.items.len(), 801);
        assert_eq!(reads, ["a.md", "b.md", "c.md"]);
        assert!(page.items.iter().all(|b| b.context.contains("[[target]]")));
        // A page spanning the end of one source and the start of the next reads just those.
        reads.clear();
        let window = Page {
            limit: 10,
            offset: 495,
        };
        let page = snapshot
            .backlinks_of(id, window, &CancellationToken::new(), |source| {
                reads.push(source.path.to_string());
                read_source(root, &source.path, source.meta.size)
            })
            .unwrap();
        assert_eq!(page.items.len(), 10);
        assert_eq!(reads, ["a.md", "b.md"]);
    }

    #[test]
    fn a_cancelled_answer_reads_nothing_more() {
        let (_dir, vault) = many_sources();
        let snapshot = vault.snapshot();
        let id = snapshot.find("target").unwrap();
        let root = vault.fs();
        let cancel = CancellationToken::new();
        let mut reads = 0;
        let result = snapshot.backlinks_of(id, Page::ALL, &cancel, |source| {
            reads += 1;
            // The client goes away while the first source is being read.
            cancel.cancel();
            read_source(root, &source.path, source.meta.size)
        });
        assert!(matches!(result, Err(AppError::Cancelled)), "{result:?}");
        assert_eq!(reads, 1);
    }

    #[test]
    fn context_bytes_are_bounded_per_answer() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("target.md"), "# Target\n").unwrap();
        // 3,000 links, each on a 200-byte line: 600 KB of context lines in all.
        let line = format!("{} [[target]]\n", "w".repeat(188));
        std::fs::write(root.join("a.md"), line.repeat(3000)).unwrap();
        let mut options = crate::VaultOptions::new(root);
        options.in_memory = true;
        let (vault, _) = crate::Vault::open(&options, &|_| {}).unwrap();
        let snapshot = vault.snapshot();
        let page = snapshot
            .backlinks("target", Page::ALL, &CancellationToken::new())
            .unwrap();
        assert_eq!(page.items.len(), 3000);
        let bytes: usize = page.items.iter().map(|b| b.context.len()).sum();
        assert!(bytes <= CONTEXT_BUDGET_BYTES, "{bytes}");
        assert!(bytes > CONTEXT_BUDGET_BYTES - 300, "{bytes}");
        // The first backlinks keep their context; past the budget they come without.
        assert_eq!(page.items[0].context, line.trim());
        assert_eq!(page.items[2999].context, "");
    }
}
