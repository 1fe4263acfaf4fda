//! The engine's answers as the wire shows them: the mapping from weaver-app's types to
//! `weaver_api::dto`, the one place it is written, used by the REST API, the MCP server's local
//! backend and the CLI's `--json`.

use weaver_api::dates::format_timestamp_ns;
use weaver_api::dto::{
    BacklinkDto, BacklinkList, BlockDto, CalloutDto, DeleteResult, DiagnosticDto, ExternalLinkDto,
    FragmentDto, HeadingDto, LinkDto, LinkList, MoveResult, MovedFile, NeighborDto, NeighborList,
    NoteDto, NoteRefDto, NoteRefList, PathDto, ProblemDto, ProblemList, RangeDto, RewrittenLinkDto,
    RewrittenNoteDto, SearchHitDto, SearchResultsDto, StatsDto, TagDto, TagList, TaskDto,
    UnresolvedDto, UnresolvedList, WriteResult,
};
use weaver_api::dto::{
    ChunkMatchDto, MatchReason, MentionDto, MentionList, SearchModeDto, SemanticStatsDto,
    SimilarList, SimilarNoteDto,
};
use weaver_core::Fragment;

use crate::{
    Backlink, ChunkMatch, DeleteOutcome, Mention, MoveOutcome, Neighbor, NoteDetails, NoteRef,
    OutgoingLink, Paged, Problem, SearchAnswer, SearchMode, SemanticStatus, SimilarNotes, TagCount,
    UnresolvedLink, VaultStats, WriteOutcome,
};

/// A search mode from the wire.
pub fn search_mode(mode: SearchModeDto) -> SearchMode {
    match mode {
        SearchModeDto::Keyword => SearchMode::Keyword,
        SearchModeDto::Semantic => SearchMode::Semantic,
        SearchModeDto::Hybrid => SearchMode::Hybrid,
    }
}

/// A page of search hits.
pub fn search_answer(answer: SearchAnswer) -> SearchResultsDto {
    SearchResultsDto {
        mode: match answer.mode {
            SearchMode::Keyword => SearchModeDto::Keyword,
            SearchMode::Semantic => SearchModeDto::Semantic,
            SearchMode::Hybrid => SearchModeDto::Hybrid,
        },
        partial: answer.partial,
        total: answer.total,
        items: answer
            .hits
            .into_iter()
            .map(|h| SearchHitDto {
                path: h.path,
                title: h.title,
                score: h.score,
                snippet: h.snippet,
                highlights: h
                    .highlights
                    .into_iter()
                    .map(|r| RangeDto {
                        start: r.start,
                        end: r.end,
                    })
                    .collect(),
                matched_by: [
                    h.keyword.then_some(MatchReason::Keyword),
                    h.chunk.is_some().then_some(MatchReason::Semantic),
                ]
                .into_iter()
                .flatten()
                .collect(),
                chunk: h.chunk.map(ChunkMatchDto::from),
            })
            .collect(),
    }
}

impl From<ChunkMatch> for ChunkMatchDto {
    fn from(c: ChunkMatch) -> Self {
        Self {
            heading: c.heading,
            text: c.text,
            similarity: c.similarity,
        }
    }
}

/// The notes similar to a note.
pub fn similar_list(similar: SimilarNotes) -> SimilarList {
    SimilarList {
        note: similar.path.to_string(),
        partial: similar.partial,
        items: similar
            .items
            .into_iter()
            .map(|n| SimilarNoteDto {
                path: n.path.to_string(),
                title: n.title,
                similarity: n.similarity,
                chunk: n.chunk.into(),
            })
            .collect(),
    }
}

/// A page of the unlinked mentions of `note` (its vault path).
pub fn mention_list(note: String, paged: Paged<Mention>) -> MentionList {
    MentionList {
        note,
        total: paged.total,
        items: paged
            .items
            .into_iter()
            .map(|m| MentionDto {
                source: m.source.to_string(),
                title: m.title,
                name: m.name,
                line: m.line,
                context: m.context,
            })
            .collect(),
    }
}

/// A vault's counts, with semantic search's progress when it is on.
pub fn stats(stats: VaultStats, semantic: Option<SemanticStatus>) -> StatsDto {
    StatsDto {
        semantic: semantic.map(|s| SemanticStatsDto {
            complete: s.complete(),
            model: s.model,
            notes: s.notes,
            embedded_notes: s.embedded_notes,
            chunks: s.chunks,
            chunks_computed: s.chunks_computed,
            chunks_cached: s.chunks_cached,
            chunks_shared: s.chunks_shared,
        }),
        ..StatsDto::from(stats)
    }
}

/// A page of the links to `note` (its vault path).
pub fn backlink_list(note: String, paged: Paged<Backlink>) -> BacklinkList {
    BacklinkList {
        note,
        total: paged.total,
        items: paged.items.into_iter().map(BacklinkDto::from).collect(),
    }
}

/// Every link from `note` (its vault path).
pub fn link_list(note: String, links: &[OutgoingLink]) -> LinkList {
    LinkList {
        note,
        total: links.len(),
        items: links.iter().map(LinkDto::from).collect(),
    }
}

/// A page of the notes around `note` (its vault path).
pub fn neighbor_list(note: String, paged: Paged<Neighbor>) -> NeighborList {
    NeighborList {
        note,
        total: paged.total,
        items: paged
            .items
            .into_iter()
            .map(|n| NeighborDto {
                path: n.path.to_string(),
                title: n.title,
                distance: n.distance,
            })
            .collect(),
    }
}

/// A shortest path, or none.
pub fn path_dto(path: Option<Vec<NoteRef>>) -> PathDto {
    PathDto {
        found: path.is_some(),
        notes: path
            .unwrap_or_default()
            .into_iter()
            .map(NoteRefDto::from)
            .collect(),
    }
}

/// A page of links to nothing.
pub fn unresolved_list(paged: Paged<UnresolvedLink>) -> UnresolvedList {
    UnresolvedList {
        total: paged.total,
        items: paged
            .items
            .into_iter()
            .map(|u| UnresolvedDto {
                source: u.source.to_string(),
                target: u.target,
                kind: u.kind.as_str().to_owned(),
                line: u.line,
            })
            .collect(),
    }
}

/// Every tag with its counts.
pub fn tag_list(tags: Vec<TagCount>) -> TagList {
    TagList {
        items: tags
            .into_iter()
            .map(|t| TagDto {
                name: t.name,
                direct: t.direct,
                notes: t.notes,
            })
            .collect(),
    }
}

/// `limit` problems after the first `offset`, of `problems`.
pub fn problem_list(problems: Vec<Problem>, offset: usize, limit: usize) -> ProblemList {
    ProblemList {
        total: problems.len(),
        items: problems
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|p| ProblemDto {
                path: p.path.to_string(),
                code: p.code.as_str().to_owned(),
                message: p.message,
                line: p.line,
                target: p.target,
            })
            .collect(),
    }
}

impl From<NoteRef> for NoteRefDto {
    fn from(r: NoteRef) -> Self {
        Self {
            path: r.path.to_string(),
            title: r.title,
        }
    }
}

impl From<Paged<NoteRef>> for NoteRefList {
    fn from(p: Paged<NoteRef>) -> Self {
        Self {
            total: p.total,
            items: p.items.into_iter().map(NoteRefDto::from).collect(),
        }
    }
}

impl From<VaultStats> for StatsDto {
    fn from(s: VaultStats) -> Self {
        Self {
            notes: s.notes,
            attachments: s.attachments,
            links: s.links,
            resolved_links: s.resolved_links,
            unresolved_links: s.unresolved_links,
            embeds: s.embeds,
            external_links: s.external_links,
            tags: s.tags,
            orphans: s.orphans,
            tasks_open: s.tasks_open,
            tasks_done: s.tasks_done,
            words: s.words,
            bytes: s.bytes,
            notes_with_problems: s.notes_with_problems,
            semantic: None,
        }
    }
}

impl From<&OutgoingLink> for LinkDto {
    fn from(l: &OutgoingLink) -> Self {
        Self {
            kind: l.kind.as_str().to_owned(),
            target: l.target.clone(),
            fragment: l.fragment.as_ref().map(|f| match f {
                Fragment::Heading(h) => FragmentDto {
                    kind: "heading".to_owned(),
                    value: h.clone(),
                },
                Fragment::Block(b) => FragmentDto {
                    kind: "block".to_owned(),
                    value: b.clone(),
                },
            }),
            display: l.display.clone(),
            line: l.line,
            resolved: l.resolved.as_ref().map(ToString::to_string),
            anchor_exists: l.anchor_exists,
        }
    }
}

impl From<Backlink> for BacklinkDto {
    fn from(b: Backlink) -> Self {
        Self {
            source: b.source.to_string(),
            title: b.title,
            kind: b.kind.as_str().to_owned(),
            line: b.line,
            display: b.display,
            context: b.context,
        }
    }
}

/// A note's details as the API shows them; `content` is its text, when asked for.
pub fn note_dto(d: NoteDetails, content: Option<String>) -> NoteDto {
    {
        NoteDto {
            path: d.path.to_string(),
            title: d.title,
            aliases: d.aliases,
            tags: d.tags,
            frontmatter: d.frontmatter,
            headings: d
                .headings
                .into_iter()
                .map(|h| HeadingDto {
                    level: h.level,
                    text: h.text,
                    anchor: h.anchor,
                    line: h.line,
                })
                .collect(),
            blocks: d
                .blocks
                .into_iter()
                .map(|b| BlockDto {
                    id: b.id,
                    line: b.line,
                })
                .collect(),
            tasks: d
                .tasks
                .into_iter()
                .map(|t| TaskDto {
                    status: t.status.to_string(),
                    done: t.done,
                    text: t.text,
                    line: t.line,
                })
                .collect(),
            callouts: d
                .callouts
                .into_iter()
                .map(|c| CalloutDto {
                    kind: c.kind,
                    title: c.title,
                    line: c.line,
                })
                .collect(),
            links: d.links.iter().map(LinkDto::from).collect(),
            external_links: d
                .external_links
                .into_iter()
                .map(|e| ExternalLinkDto {
                    url: e.url,
                    display: e.display,
                    line: e.line,
                })
                .collect(),
            backlinks: d.backlinks.into_iter().map(BacklinkDto::from).collect(),
            backlinks_total: d.backlinks_total,
            diagnostics: d
                .diagnostics
                .into_iter()
                .map(|x| DiagnosticDto {
                    code: x.code.as_str().to_owned(),
                    message: x.message,
                    line: x.line,
                })
                .collect(),
            hash: d.hash,
            size: d.size,
            modified: format_timestamp_ns(d.mtime_ns),
            word_count: d.word_count,
            content,
        }
    }
}

impl From<WriteOutcome> for WriteResult {
    fn from(o: WriteOutcome) -> Self {
        Self {
            path: o.path.to_string(),
            hash: o.hash,
            created: o.created,
            size: o.size,
        }
    }
}

impl From<MoveOutcome> for MoveResult {
    fn from(o: MoveOutcome) -> Self {
        Self {
            moved: o
                .moved
                .into_iter()
                .map(|(from, to)| MovedFile {
                    from: from.to_string(),
                    to: to.to_string(),
                })
                .collect(),
            rewritten: o
                .rewritten
                .into_iter()
                .map(|n| RewrittenNoteDto {
                    path: n.path.to_string(),
                    links: n
                        .links
                        .into_iter()
                        .map(|l| RewrittenLinkDto {
                            line: l.line,
                            before: l.before,
                            after: l.after,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<DeleteOutcome> for DeleteResult {
    fn from(o: DeleteOutcome) -> Self {
        Self {
            path: o.path.to_string(),
            trashed_to: o.trashed_to.map(|p| p.to_string()),
        }
    }
}

/// A rendered note on the wire.
pub fn rendered_note_dto(r: crate::view::RenderedNote) -> weaver_api::dto::RenderedNoteDto {
    weaver_api::dto::RenderedNoteDto {
        path: r.path,
        hash: r.hash,
        html: r.html,
        truncated: r.truncated,
    }
}

/// The graph on the wire.
pub fn graph_dto(g: crate::view::GraphView) -> weaver_api::dto::GraphDto {
    weaver_api::dto::GraphDto {
        nodes: g
            .nodes
            .into_iter()
            .map(|n| weaver_api::dto::GraphNodeDto {
                path: n.path,
                title: n.title,
                folder: n.folder,
                tags: n.tags,
                x: n.x,
                y: n.y,
                degree: n.degree,
            })
            .collect(),
        edges: g.edges.into_iter().map(|(s, t)| [s, t]).collect(),
    }
}

/// Loaded workflows and their definitions' problems as the wire shows them.
pub fn workflow_list(loaded: &weaver_workflows::Loaded) -> weaver_api::dto::WorkflowList {
    use weaver_workflows::StepAction;
    let workflows = loaded
        .workflows
        .iter()
        .map(|w| weaver_api::dto::WorkflowDto {
            name: w.name.clone(),
            file: w.file.clone(),
            description: w.description.clone(),
            enabled: w.enabled,
            on: w.trigger.on.iter().map(|k| k.as_str().to_owned()).collect(),
            paths: w.trigger.paths.clone(),
            schedule: w
                .trigger
                .schedule
                .as_ref()
                .map(|s| format!("{} ({})", s.expression, s.timezone.name())),
            steps: w
                .steps
                .iter()
                .map(|s| {
                    match s.action {
                        StepAction::SetFrontmatter(_) => "set_frontmatter",
                        StepAction::DeleteFrontmatter(_) => "delete_frontmatter",
                        StepAction::AddTags(_) => "add_tags",
                        StepAction::RemoveTags(_) => "remove_tags",
                        StepAction::MoveTo(_) => "move_to",
                        StepAction::Append { .. } => "append",
                        StepAction::Prepend { .. } => "prepend",
                        StepAction::CreateNote { .. } => "create_note",
                        StepAction::Http { .. } => "http",
                    }
                    .to_owned()
                })
                .collect(),
        })
        .collect();
    let errors = loaded
        .errors
        .iter()
        .map(|e| weaver_api::dto::WorkflowErrorDto {
            code: weaver_api::error::Code::WorkflowInvalid.as_str().to_owned(),
            file: e.file.clone(),
            line: e.line,
            column: e.column,
            field: e.field.clone(),
            message: e.message.clone(),
        })
        .collect();
    weaver_api::dto::WorkflowList { workflows, errors }
}
