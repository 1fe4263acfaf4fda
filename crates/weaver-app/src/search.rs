//! Search in three modes, and the two questions semantic search answers besides: notes similar
//! to a note, and notes that mention a note without linking to it.
//!
//! - **keyword**: the full-text index alone (BM25 over any of the words, see `weaver-search`).
//! - **semantic**: the notes whose best chunk is nearest in meaning to the query's words (see
//!   `semantic.rs`), with the query's filters and explicit syntax (`+required`, quoted phrases,
//!   `-excluded`) still holding: the index checks each candidate
//!   ([`weaver_search::SearchIndex::matching_paths`]).
//! - **hybrid** (the default when a model is loaded): both rankings fused by weighted
//!   reciprocal rank fusion, so a note high in either stays high and no score calibration
//!   between BM25 and cosine is needed.
//!
//! A query without words to rank by (empty, punctuation, exclusions only) is a keyword search
//! whatever the mode asked: it lists the filtered notes, newest first.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use weaver_core::VaultPath;
use weaver_search::{MAX_LIMIT, SearchQuery, query_text};

use crate::query::{Page, Paged};
use crate::{AppError, CancellationToken, Vault};

/// How a search ranks notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// The full-text index: BM25 over the words.
    Keyword,
    /// The embedding model: nearness in meaning.
    Semantic,
    /// Both, fused.
    Hybrid,
}

impl SearchMode {
    /// The mode's name on the wire (`keyword`, `semantic`, `hybrid`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keyword => "keyword",
            Self::Semantic => "semantic",
            Self::Hybrid => "hybrid",
        }
    }
}

/// Each ranking contributes at least this many notes to a fusion (more when the page asked
/// for reaches further): deep enough that a note found by one ranking alone can rise.
pub const FUSION_DEPTH: usize = 100;

/// The weight of the keyword ranking in the fusion.
const KEYWORD_WEIGHT: f32 = 1.0;

/// The weight of the semantic ranking in the fusion: three times the keyword ranking's, chosen
/// with `scripts/search-quality.py --fusion-sweep` (docs/benchmarks.md). With k = 10 it puts
/// hybrid above both modes alone on both question sets (obsidian-hub nDCG@10 0.767 against
/// semantic 0.729 and keyword 0.346; demo vault 0.984 against 0.980 and 0.897), and the
/// keyword ranking still lifts exact matches within the semantic one.
const SEMANTIC_WEIGHT: f32 = 3.0;

/// Longest snippet taken from a chunk for a hit found by meaning only, in bytes.
const CHUNK_SNIPPET_BYTES: usize = 200;

/// Longest chunk text shown as the reason of a semantic match, in bytes.
const CHUNK_TEXT_BYTES: usize = 600;

/// The answer to a search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchAnswer {
    /// The mode that ranked the hits (a query without words is always `keyword`).
    pub mode: SearchMode,
    /// The semantic ranking saw a vault not yet wholly embedded: notes still waiting for the
    /// model can be missing from it.
    pub partial: bool,
    /// Keyword mode: the notes that match in all. Semantic and hybrid: the notes ranked (the
    /// candidates fused), at least `offset + limit` when there are that many.
    pub total: usize,
    /// The page asked for, best first.
    pub hits: Vec<FoundNote>,
}

/// One note of a search's answer, with why it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundNote {
    /// The note.
    pub path: String,
    /// Its title.
    pub title: String,
    /// BM25 in keyword mode, cosine similarity in semantic mode, the fused score in hybrid.
    pub score: f32,
    /// About 160 characters around the best keyword match; for a note found by meaning only,
    /// the start of its best chunk.
    pub snippet: String,
    /// Byte ranges in `snippet` of the matched words (none for a note found by meaning only).
    pub highlights: Vec<Range<usize>>,
    /// The keyword index found it (its words match).
    pub keyword: bool,
    /// The model found it: its best-matching chunk.
    pub chunk: Option<ChunkMatch>,
}

/// The chunk of a note nearest in meaning to a query.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkMatch {
    /// The chunk's heading path (`Setup > Phone`), empty before the first heading.
    pub heading: String,
    /// The chunk's text as the model read it (title and heading path first), cut to a few
    /// hundred bytes.
    pub text: String,
    /// Cosine similarity to the query.
    pub similarity: f32,
}

/// A note similar in meaning to another.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarNote {
    /// The note.
    pub path: VaultPath,
    /// Its title.
    pub title: String,
    /// Cosine similarity of its best chunk to the other note (its chunks' mean).
    pub similarity: f32,
    /// That chunk.
    pub chunk: ChunkMatch,
}

/// Notes similar to a note.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarNotes {
    /// The note asked about.
    pub path: VaultPath,
    /// Not every note is embedded yet: similar ones can be missing.
    pub partial: bool,
    /// Nearest first; never the note itself nor a note it links to.
    pub items: Vec<SimilarNote>,
}

/// A note that names another in its text without linking to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// The note that mentions.
    pub source: VaultPath,
    /// Its title.
    pub title: String,
    /// The name it uses (the title, an alias or the file name, as the mentioned note spells it).
    pub name: String,
    /// Line of the first mention (1-based).
    pub line: u32,
    /// That line, cut like a backlink's context line.
    pub context: String,
}

impl Vault {
    /// Searches in `mode` (`None`: hybrid when semantic search is on, keyword otherwise).
    ///
    /// Fails with [`AppError::SemanticOff`] when `semantic` or `hybrid` is asked of a vault
    /// without a model, and with the index's errors (limits, time budget) in every mode.
    pub fn find(
        &self,
        query: &SearchQuery,
        mode: Option<SearchMode>,
    ) -> Result<SearchAnswer, AppError> {
        let semantic_on = self.semantic.get().is_some();
        let mode = match mode {
            Some(SearchMode::Keyword) => SearchMode::Keyword,
            Some(asked) if !semantic_on => {
                tracing::debug!(
                    mode = asked.as_str(),
                    "semantic search asked of a vault without a model"
                );
                return Err(AppError::SemanticOff);
            }
            Some(asked) => asked,
            None if semantic_on => SearchMode::Hybrid,
            None => SearchMode::Keyword,
        };
        let text = query_text(&query.text);
        if mode != SearchMode::Keyword {
            // Refused before the model reads it, exactly as the index would refuse it.
            weaver_search::check_query(query)?;
        }
        if mode == SearchMode::Keyword || !text.ranked {
            // Limits and the time budget are the index's, whatever the mode asked.
            let results = self.search_index().search(query)?;
            return Ok(SearchAnswer {
                mode: SearchMode::Keyword,
                partial: false,
                total: results.total,
                hits: results.hits.into_iter().map(keyword_hit).collect(),
            });
        }
        let limit = match query.limit {
            0 => weaver_search::DEFAULT_LIMIT,
            limit => limit.min(MAX_LIMIT),
        };
        let depth = (query.offset.saturating_add(limit)).clamp(FUSION_DEPTH, MAX_LIMIT);
        let partial = self.semantic_partial();
        let constrained = text.constrained || has_filters(query);
        let semantic = self.semantic_ranking(query, &text.meaning, constrained, depth)?;
        let ranked: Vec<Fused> = if mode == SearchMode::Semantic {
            semantic
                .iter()
                .enumerate()
                .map(|(i, hit)| Fused {
                    path: hit.path.clone(),
                    score: hit.score,
                    keyword: None,
                    semantic: Some(i),
                })
                .collect()
        } else {
            let keyword = self.search_index().rank(&SearchQuery {
                limit: depth,
                offset: 0,
                ..query.clone()
            })?;
            fuse(
                keyword.paths.iter().map(|(path, _)| path.as_str()),
                semantic.iter().map(|hit| hit.path.as_str()),
            )
        };
        let total = ranked.len();
        // The page, then what each of its hits shows.
        let page: Vec<Fused> = ranked.into_iter().skip(query.offset).take(limit).collect();
        let wanted: Vec<&str> = page
            .iter()
            .filter(|hit| hit.keyword.is_some())
            .map(|hit| hit.path.as_str())
            .collect();
        let keyword_page: HashMap<String, weaver_search::SearchHit> = self
            .search_index()
            .hits_for(query, &wanted)?
            .into_iter()
            .map(|hit| (hit.path.clone(), hit))
            .collect();
        let snapshot = self.snapshot();
        let mut hits = Vec::with_capacity(page.len());
        for Fused {
            path,
            score,
            keyword,
            semantic: semantic_rank,
        } in page
        {
            let chunk = semantic_rank
                .and_then(|i| semantic.get(i))
                .and_then(|hit| self.chunk_match(&snapshot, hit));
            let found = keyword_page.get(path.as_str());
            let (title, snippet, highlights) = match found {
                Some(hit) => (
                    hit.title.clone(),
                    hit.snippet.clone(),
                    hit.highlights.clone(),
                ),
                None => {
                    let title = VaultPath::new(&path)
                        .ok()
                        .and_then(|p| snapshot.get(&p).map(|r| r.note.title.clone()))
                        .unwrap_or_default();
                    let snippet = chunk
                        .as_ref()
                        .map(|c| chunk_snippet(&c.text))
                        .unwrap_or_default();
                    (title, snippet, Vec::new())
                }
            };
            hits.push(FoundNote {
                path,
                title,
                score,
                snippet,
                highlights,
                keyword: keyword.is_some() && found.is_some(),
                chunk,
            });
        }
        Ok(SearchAnswer {
            mode,
            partial,
            total,
            hits,
        })
    }

    /// Notes nearest in meaning to note `input` (by path or name), leaving out the note itself
    /// and the notes it links to, nearest first.
    pub fn similar(&self, input: &str, limit: usize) -> Result<SimilarNotes, AppError> {
        let snapshot = self.snapshot();
        let record = snapshot.find_note(input)?;
        let linked: HashSet<&VaultPath> = record.resolved.iter().flatten().collect();
        let found =
            self.similar_notes(&record.path, limit.min(MAX_LIMIT), |p| linked.contains(p))?;
        let partial = self.semantic_partial();
        let items = found
            .into_iter()
            .map(|hit| SimilarNote {
                title: snapshot
                    .get(&hit.path)
                    .map(|r| r.note.title.clone())
                    .unwrap_or_default(),
                similarity: hit.score,
                chunk: ChunkMatch {
                    heading: hit.heading,
                    text: weaver_core::clip(&hit.text, CHUNK_TEXT_BYTES).into_owned(),
                    similarity: hit.score,
                },
                path: hit.path,
            })
            .collect();
        Ok(SimilarNotes {
            path: record.path.clone(),
            partial,
            items,
        })
    }

    /// Notes that name note `input` (its title, an alias, or its file name) in their text
    /// without linking to it: what a person would turn into links. Names are matched as whole
    /// words, case-insensitively, outside link syntax. By source path; each source is read
    /// once, and `cancel` is checked before each read.
    pub fn unlinked_mentions(
        &self,
        input: &str,
        page: Page,
        cancel: &CancellationToken,
    ) -> Result<Paged<Mention>, AppError> {
        let snapshot = self.snapshot();
        let id = snapshot.find(input)?;
        let Some(target) = snapshot.note(id) else {
            return Err(AppError::NoteNotFound {
                path: input.to_owned(),
                suggestions: Vec::new(),
            });
        };
        let names = mention_names(target);
        let linking: HashSet<u32> = snapshot
            .graph()
            .incoming(id)
            .iter()
            .map(|edge| edge.note)
            .collect();
        // Candidates: notes whose indexed text has one of the names as a phrase.
        let mut candidates: Vec<String> = Vec::new();
        for name in &names {
            let phrase = name.replace('"', " ");
            let found = self.search_index().rank(&SearchQuery {
                text: format!("\"{phrase}\""),
                limit: MAX_LIMIT,
                ..SearchQuery::default()
            })?;
            candidates.extend(found.paths.into_iter().map(|(path, _)| path));
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut mentions = Vec::new();
        for path in candidates {
            let Ok(path) = VaultPath::new(&path) else {
                continue;
            };
            let Some(source_id) = snapshot.id(&path) else {
                continue;
            };
            if source_id == id || linking.contains(&source_id) {
                continue;
            }
            let Some(source) = snapshot.note(source_id) else {
                continue;
            };
            if cancel.is_cancelled() {
                return Err(AppError::Cancelled);
            }
            let bytes = match snapshot.fs().read_up_to(&source.path, source.meta.size) {
                Ok(bytes) => bytes,
                Err(error) => {
                    tracing::debug!(path = %source.path, %error, "mention not checked: cannot read the note");
                    continue;
                }
            };
            let text = String::from_utf8_lossy(&bytes);
            if let Some((name, offset)) = first_mention(source, &text, &names) {
                let line =
                    u32::try_from(text.get(..offset).unwrap_or_default().matches('\n').count() + 1)
                        .unwrap_or(u32::MAX);
                let context = crate::query::lines_at(&bytes, std::iter::once(offset))
                    .pop()
                    .unwrap_or_default();
                mentions.push(Mention {
                    source: source.path.clone(),
                    title: source.note.title.clone(),
                    name: name.to_owned(),
                    line,
                    context,
                });
            }
        }
        Ok(page.apply(mentions))
    }
}

/// A keyword hit as an answer's hit.
fn keyword_hit(hit: weaver_search::SearchHit) -> FoundNote {
    FoundNote {
        path: hit.path,
        title: hit.title,
        score: hit.score,
        snippet: hit.snippet,
        highlights: hit.highlights,
        keyword: true,
        chunk: None,
    }
}

/// Whether `query` restricts notes besides its text.
fn has_filters(query: &SearchQuery) -> bool {
    !query.tags.is_empty()
        || query
            .folder
            .as_deref()
            .is_some_and(|f| !f.trim_matches('/').is_empty())
        || !query.fields.is_empty()
        || query.modified_after.is_some()
        || query.modified_before.is_some()
}

/// A note of the ranking a page is cut from.
#[derive(Debug, Clone, PartialEq)]
struct Fused {
    path: String,
    score: f32,
    /// Its rank (from 0) in the keyword ranking.
    keyword: Option<usize>,
    /// Its rank (from 0) in the semantic ranking.
    semantic: Option<usize>,
}

/// Weighted reciprocal rank fusion of the keyword and semantic rankings, best first.
fn fuse<'a>(
    keyword: impl Iterator<Item = &'a str>,
    semantic: impl Iterator<Item = &'a str>,
) -> Vec<Fused> {
    let keyword: Vec<&str> = keyword.collect();
    let semantic: Vec<&str> = semantic.collect();
    weaver_search::vectors::fuse(&[(&keyword, KEYWORD_WEIGHT), (&semantic, SEMANTIC_WEIGHT)])
        .into_iter()
        .map(|f| Fused {
            keyword: f.ranks.first().copied().flatten(),
            semantic: f.ranks.get(1).copied().flatten(),
            path: f.path,
            score: f.score,
        })
        .collect()
}

/// The start of a chunk's own text (after the title and heading line) as a snippet.
fn chunk_snippet(chunk: &str) -> String {
    let body = chunk
        .split_once('\n')
        .map_or(chunk, |(_, body)| body)
        .trim();
    weaver_core::clip(body, CHUNK_SNIPPET_BYTES).into_owned()
}

/// The names a note goes by in other notes' text: its title, its aliases and its file name,
/// each once (case-insensitively), empty ones left out.
fn mention_names(record: &weaver_store::NoteRecord) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let candidates = std::iter::once(record.note.title.as_str())
        .chain(record.note.aliases.iter().map(String::as_str))
        .chain(std::iter::once(record.path.stem()));
    for name in candidates {
        let name = name.trim();
        if name.is_empty()
            || names
                .iter()
                .any(|n| n.to_lowercase() == name.to_lowercase())
        {
            continue;
        }
        names.push(name.to_owned());
    }
    names
}

/// The first place `text` (the file of `source`) names one of `names` as whole words,
/// case-insensitively, outside its frontmatter and its links: the name and the byte offset.
fn first_mention<'n>(
    source: &weaver_store::NoteRecord,
    text: &str,
    names: &'n [String],
) -> Option<(&'n str, usize)> {
    let lower = text.to_lowercase();
    // Lower-casing can change lengths (rarely); offsets are then only approximate, so the
    // masks and the context fall back to the original when they differ.
    let same_offsets = lower.len() == text.len();
    let masked = |start: usize, end: usize| {
        source
            .note
            .frontmatter_range
            .as_ref()
            .is_some_and(|r| start < r.end && r.start < end)
            || source
                .note
                .links
                .iter()
                .any(|link| start < link.range.end && link.range.start < end)
    };
    let mut best: Option<(&str, usize)> = None;
    for name in names {
        let needle = name.to_lowercase();
        if needle.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(found) = lower.get(from..).and_then(|rest| rest.find(&needle)) {
            let start = from + found;
            let end = start + needle.len();
            from = start + needle.chars().next().map_or(1, char::len_utf8);
            let before = lower.get(..start).and_then(|s| s.chars().next_back());
            let after = lower.get(end..).and_then(|s| s.chars().next());
            let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
            if !boundary(before) || !boundary(after) {
                continue;
            }
            if same_offsets && masked(start, end) {
                continue;
            }
            if best.is_none_or(|(_, at)| start < at) {
                best = Some((name.as_str(), if same_offsets { start } else { 0 }));
            }
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_ranks_notes_in_both_lists_highest_weighted_to_meaning() {
        let fused = fuse(["a", "b", "c"].into_iter(), ["c", "d", "a"].into_iter());
        let order: Vec<&str> = fused.iter().map(|f| f.path.as_str()).collect();
        // k = 10, weights 1 : 3. c: 1/13 + 3/11; a: 1/11 + 3/13; d: 3/12; b: 1/12.
        assert_eq!(order, ["c", "a", "d", "b"]);
        assert_eq!((fused[0].keyword, fused[0].semantic), (Some(2), Some(0)));
        assert_eq!((fused[1].keyword, fused[1].semantic), (Some(0), Some(2)));
        assert_eq!((fused[2].keyword, fused[2].semantic), (None, Some(1)));
        assert_eq!((fused[3].keyword, fused[3].semantic), (Some(1), None));
    }

    #[test]
    fn chunk_snippets_leave_out_the_title_line() {
        assert_eq!(
            chunk_snippet("Refunds > Policy\nAsk within 30 days."),
            "Ask within 30 days."
        );
        assert_eq!(chunk_snippet("Only a title"), "Only a title");
    }
}
