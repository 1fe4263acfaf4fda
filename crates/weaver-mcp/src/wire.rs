//! The tools' results from the REST API's bodies (`weaver_api::dto`): written once, used by
//! both backends. `RestBackend` reads the bodies from a `weaver serve`; `LocalBackend` gets the
//! same bodies from `weaver_app::dto`, so a tool answers the same whichever backend serves it.

use weaver_api::dto;
use weaver_core::Fragment;

use crate::backend::{
    BacklinkEntry, DeleteResult, LinkCounts, LinkEntry, MentionEntry, MoveResult, MovedFile,
    NeighborEntry, NoteEntry, NotePage, NoteSource, Page, RecentNote, RewrittenNote,
    SearchHitEntry, SearchPage, SimilarEntry, SimilarPage, TagEntry, UnresolvedEntry, VaultCounts,
    Window, WriteResult,
};

/// Rounded to three decimals: scores are for ordering, and agents read every digit.
fn round(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// The target of a link as written: `target`, `target#Heading` or `target#^block`.
pub fn link_target(target: &str, fragment: Option<&Fragment>) -> String {
    match fragment {
        None => target.to_owned(),
        Some(Fragment::Heading(h)) => format!("{target}#{h}"),
        Some(Fragment::Block(b)) => format!("{target}#^{b}"),
    }
}

pub fn search_page(found: dto::SearchResultsDto) -> SearchPage {
    SearchPage {
        mode: found.mode.as_str().to_owned(),
        partial: found.partial,
        page: Page {
            total: found.total,
            items: found
                .items
                .into_iter()
                .map(|hit| SearchHitEntry {
                    path: hit.path,
                    title: hit.title,
                    snippet: hit.snippet,
                    score: round(hit.score),
                    matched_by: hit
                        .matched_by
                        .iter()
                        .map(|m| match m {
                            dto::MatchReason::Keyword => "keyword".to_owned(),
                            dto::MatchReason::Semantic => "semantic".to_owned(),
                        })
                        .collect(),
                    section: hit.chunk.map(|c| c.heading).filter(|h| !h.is_empty()),
                })
                .collect(),
        },
    }
}

pub fn similar_page(found: dto::SimilarList) -> SimilarPage {
    SimilarPage {
        note: found.note,
        partial: found.partial,
        items: found
            .items
            .into_iter()
            .map(|n| SimilarEntry {
                path: n.path,
                title: n.title,
                similarity: round(n.similarity),
                section: n.chunk.heading,
            })
            .collect(),
    }
}

pub fn mention_page(found: dto::MentionList) -> NotePage<MentionEntry> {
    NotePage {
        note: found.note,
        page: Page {
            total: found.total,
            items: found
                .items
                .into_iter()
                .map(|m| MentionEntry {
                    source: m.source,
                    title: m.title,
                    name: m.name,
                    line: m.line,
                    context: m.context,
                })
                .collect(),
        },
    }
}

pub fn note_entry(note: dto::NoteSummary) -> NoteEntry {
    NoteEntry {
        path: note.path,
        title: note.title,
    }
}

pub fn recent_note(note: dto::NoteSummary) -> RecentNote {
    RecentNote {
        path: note.path,
        title: note.title,
        modified: note.modified,
    }
}

pub fn note_ref(note: dto::NoteRefDto) -> NoteEntry {
    NoteEntry {
        path: note.path,
        title: note.title,
    }
}

pub fn note_refs(list: dto::NoteRefList) -> Page<NoteEntry> {
    Page {
        total: list.total,
        items: list.items.into_iter().map(note_ref).collect(),
    }
}

pub fn backlink_page(found: dto::BacklinkList) -> NotePage<BacklinkEntry> {
    NotePage {
        note: found.note,
        page: Page {
            total: found.total,
            items: found
                .items
                .into_iter()
                .map(|b| BacklinkEntry {
                    source: b.source,
                    title: b.title,
                    line: b.line,
                    context: b.context,
                })
                .collect(),
        },
    }
}

fn link_entry(link: dto::LinkDto) -> LinkEntry {
    let fragment = link.fragment.map(|f| match f.kind.as_str() {
        "block" => Fragment::Block(f.value),
        _ => Fragment::Heading(f.value),
    });
    LinkEntry {
        target: link_target(&link.target, fragment.as_ref()),
        resolved: link.resolved,
        line: link.line,
        kind: link.kind,
    }
}

/// The page `window` of a note's links (the API answers them all at once: they come from the
/// index, no file is read).
pub fn link_page(found: dto::LinkList, window: Window) -> NotePage<LinkEntry> {
    NotePage {
        note: found.note,
        page: Page {
            total: found.total,
            items: found
                .items
                .into_iter()
                .skip(window.offset)
                .take(window.limit)
                .map(link_entry)
                .collect(),
        },
    }
}

pub fn neighbor_page(found: dto::NeighborList) -> NotePage<NeighborEntry> {
    NotePage {
        note: found.note,
        page: Page {
            total: found.total,
            items: found
                .items
                .into_iter()
                .map(|n| NeighborEntry {
                    path: n.path,
                    title: n.title,
                    distance: n.distance,
                })
                .collect(),
        },
    }
}

pub fn path_notes(found: dto::PathDto) -> Option<Vec<NoteEntry>> {
    found
        .found
        .then(|| found.notes.into_iter().map(note_ref).collect())
}

pub fn tag_entries(found: dto::TagList) -> Vec<TagEntry> {
    found
        .items
        .into_iter()
        .map(|t| TagEntry {
            name: t.name,
            notes: t.notes,
        })
        .collect()
}

pub fn unresolved_page(list: dto::UnresolvedList) -> Page<UnresolvedEntry> {
    Page {
        total: list.total,
        items: list
            .items
            .into_iter()
            .map(|u| UnresolvedEntry {
                source: u.source,
                target: u.target,
                line: u.line,
            })
            .collect(),
    }
}

pub fn vault_counts(stats: dto::StatsDto) -> VaultCounts {
    VaultCounts {
        notes: stats.notes,
        embedded_notes: stats.semantic.map(|s| s.embedded_notes),
        attachments: stats.attachments,
        links: stats.links,
        unresolved_links: stats.unresolved_links,
        tags: stats.tags,
        orphans: stats.orphans,
        tasks_open: stats.tasks_open,
        tasks_done: stats.tasks_done,
        words: stats.words,
    }
}

pub fn write_result(written: dto::WriteResult) -> WriteResult {
    WriteResult {
        path: written.path,
        hash: written.hash,
        created: written.created,
        size: written.size,
    }
}

pub fn move_result(moved: dto::MoveResult) -> MoveResult {
    MoveResult {
        moved: moved
            .moved
            .into_iter()
            .map(|m| MovedFile {
                from: m.from,
                to: m.to,
            })
            .collect(),
        rewritten: moved
            .rewritten
            .into_iter()
            .map(|r| RewrittenNote {
                path: r.path,
                links: r.links.len(),
            })
            .collect(),
    }
}

pub fn delete_result(deleted: dto::DeleteResult) -> DeleteResult {
    DeleteResult {
        path: deleted.path,
        trashed_to: deleted.trashed_to,
    }
}

/// A note read through the REST API (`?content=true`).
pub fn note_source(note: dto::NoteDto) -> NoteSource {
    let content = note.content.unwrap_or_default();
    // The hash of the text shown, as a local read computes it from the bytes it read; the
    // index's hash only for text that was not valid UTF-8 (and so was not shown as is).
    let hash = if content.contains(char::REPLACEMENT_CHARACTER) {
        note.hash
    } else {
        weaver_core::content_hash(content.as_bytes())
    };
    NoteSource {
        path: note.path,
        title: note.title,
        hash,
        modified: note.modified,
        frontmatter: note.frontmatter,
        tags: note.tags,
        aliases: note.aliases,
        links: LinkCounts {
            outgoing: note.links.len(),
            unresolved: note.links.iter().filter(|l| l.resolved.is_none()).count(),
            backlinks: note.backlinks_total,
        },
        content,
    }
}
