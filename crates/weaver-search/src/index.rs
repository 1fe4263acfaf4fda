//! The index itself: opening (and rebuilding), write batches, searching.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::TermSetQuery;
use tantivy::schema::{Field, Schema, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument,
    Term,
};

use crate::budget::{Budget, Budgeted};
use crate::query::{check_clauses, check_size, combine, filters, parse, text_query};
use crate::schema::{Fields, SCHEMA_VERSION, build_schema, to_document};
use crate::snippet::{MAX_SNIPPET_SCAN_BYTES, around_matches, leading};
use crate::tokenizer::{TOKENIZER_NAME, analyzer};
use crate::{SearchDoc, SearchError, SearchHit, SearchQuery, SearchResults};

/// Memory the writer may use for buffered documents, shared by its threads. tantivy flushes a
/// segment whenever a thread's share fills up.
const WRITER_MEMORY_BYTES: usize = 40 * 1024 * 1024;

/// Indexing threads. The service runs on small machines; two threads already index tens of
/// thousands of notes per second.
const MAX_WRITER_THREADS: usize = 2;

/// Results per page when the query asks for 0, and the largest page served.
pub const DEFAULT_LIMIT: usize = 20;
/// See [`DEFAULT_LIMIT`].
pub const MAX_LIMIT: usize = 1000;

/// How long one search may run, from parsing to the last snippet, before it is stopped with
/// [`SearchError::Timeout`]. Searches take milliseconds; this only stops the pathological ones
/// (and frees their thread) well before a client's own timeout.
pub const TIME_BUDGET: Duration = Duration::from_secs(3);

/// Bytes of note text that the snippets of one page may scan for matches, in all. A page of
/// large notes would otherwise tokenize up to 256 KiB per hit; once this is spent, the
/// remaining hits show the start of their note (or a title match) as their snippet.
pub const SNIPPET_SCAN_BUDGET: usize = 8 * 1024 * 1024;

/// What [`SearchIndex::open`] found on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The generation of the last commit, `None` for a new or rebuilt index.
    pub generation: Option<u64>,
    /// The directory held an unusable index (corrupt, or another schema version) and was wiped:
    /// the caller must add every note again.
    pub rebuilt: bool,
}

/// What every commit records besides the documents.
#[derive(Debug, Deserialize)]
struct Payload {
    schema_version: u32,
    generation: Option<u64>,
}

fn payload_json(schema_version: u32, generation: u64) -> String {
    serde_json::json!({ "schema_version": schema_version, "generation": generation }).to_string()
}

/// A full-text index of notes. Searches are cheap and may run from many threads at once,
/// also while a write batch is open; they see the last commit.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    analyzer: TextAnalyzer,
    /// The single writer, created on the first batch and kept.
    writer: Mutex<Option<IndexWriter>>,
    generation: Mutex<Option<u64>>,
    /// Recorded in every commit; [`SCHEMA_VERSION`] except in tests.
    schema_version: u32,
    /// Where the index lives; `None` in memory.
    dir: Option<PathBuf>,
    /// [`TIME_BUDGET`] except in tests.
    time_budget: Duration,
    /// [`SNIPPET_SCAN_BUDGET`] except in tests.
    snippet_scan_budget: usize,
}

impl fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .field("generation", &self.generation())
            .field("num_docs", &self.num_docs())
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating the directory and an empty index when missing.
    ///
    /// An index that cannot be used — it fails to open or load, its checksums do not match, or
    /// it was written with another [`SCHEMA_VERSION`] — is wiped and replaced by an empty one,
    /// reported as [`Opened::rebuilt`]. The directory is only wiped when every entry in it
    /// looks like an index file; anything else gives [`SearchError::NotAnIndex`] and nothing is
    /// deleted.
    pub fn open(dir: &Path) -> Result<(SearchIndex, Opened), SearchError> {
        Self::open_versioned(dir, SCHEMA_VERSION)
    }

    /// [`SearchIndex::open`] with the schema version as a parameter, so tests can simulate an
    /// index written by another version.
    fn open_versioned(dir: &Path, version: u32) -> Result<(SearchIndex, Opened), SearchError> {
        fs_err::create_dir_all(dir)?;
        let (schema, fields) = build_schema();
        let mut rebuilt = false;
        if fs_err::exists(dir.join("meta.json"))? {
            match open_existing(dir, &schema, fields, version) {
                Ok(index) => {
                    let generation = index.generation();
                    let opened = Opened {
                        generation,
                        rebuilt: false,
                    };
                    return Ok((index, opened));
                }
                Err(reason) => {
                    tracing::warn!(
                        index.dir = %dir.display(),
                        reason = %reason,
                        "search index is unusable; rebuilding it"
                    );
                    wipe(dir)?;
                    rebuilt = true;
                }
            }
        } else if fs_err::read_dir(dir)?.next().is_some() {
            tracing::warn!(
                index.dir = %dir.display(),
                "search index directory has files but no metadata; rebuilding it"
            );
            wipe(dir)?;
            rebuilt = true;
        }
        let index = Index::create_in_dir(dir, schema)?;
        let index = SearchIndex::from_index(index, fields, None, version, Some(dir.to_owned()))?;
        Ok((
            index,
            Opened {
                generation: None,
                rebuilt,
            },
        ))
    }

    /// A fresh index held in memory, for tests and throw-away uses.
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        let (schema, fields) = build_schema();
        SearchIndex::from_index(
            Index::create_in_ram(schema),
            fields,
            None,
            SCHEMA_VERSION,
            None,
        )
    }

    fn from_index(
        index: Index,
        fields: Fields,
        generation: Option<u64>,
        schema_version: u32,
        dir: Option<PathBuf>,
    ) -> Result<SearchIndex, SearchError> {
        let analyzer = analyzer();
        index
            .tokenizers()
            .register(TOKENIZER_NAME, analyzer.clone());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            analyzer,
            writer: Mutex::new(None),
            generation: Mutex::new(generation),
            schema_version,
            dir,
            time_budget: TIME_BUDGET,
            snippet_scan_budget: SNIPPET_SCAN_BUDGET,
        })
    }

    /// The generation recorded by the last commit, `None` when nothing was committed yet.
    pub fn generation(&self) -> Option<u64> {
        *self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of notes visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Starts a write batch. Only one batch exists at a time: this waits while another is open.
    /// Changes become visible to searches when [`IndexBatch::commit`] returns; a batch dropped
    /// without commit is rolled back.
    pub fn batch(&self) -> Result<IndexBatch<'_>, SearchError> {
        // The writer is only touched through tantivy's own error-returning calls, so a panic
        // elsewhere while the lock was held cannot leave it half-updated.
        let mut guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, MAX_WRITER_THREADS);
            *guard = Some(
                self.index
                    .writer_with_num_threads(threads, WRITER_MEMORY_BYTES)?,
            );
        }
        Ok(IndexBatch {
            index: self,
            writer: guard,
            committed: false,
        })
    }

    /// Makes every committed change visible to searches started after this returns.
    pub fn reload(&self) -> Result<(), SearchError> {
        self.reader.reload()?;
        Ok(())
    }

    /// Runs `query`. See [`SearchQuery`] for the language, the filters and the limits.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchResults, SearchError> {
        let run = self.run(query, None)?;
        let total = run.total;
        let hits = run.hits(self)?;
        Ok(SearchResults { total, hits })
    }

    /// The page of `query` as paths and scores only, without snippets or titles: for a caller
    /// that fuses this ranking with another and shows only some of it ([`Self::hits_for`]).
    /// Bounded like [`Self::search`].
    pub fn rank(&self, query: &SearchQuery) -> Result<Ranked, SearchError> {
        let run = self.run(query, None)?;
        let mut paths = Vec::with_capacity(run.found.len());
        for (score, address) in &run.found {
            run.budget.check()?;
            let doc: TantivyDocument = run.searcher.doc(*address)?;
            let path = doc
                .get_first(self.fields.path)
                .and_then(|value| value.as_str())
                .unwrap_or_default()
                .to_owned();
            paths.push((path, *score));
        }
        Ok(Ranked {
            total: run.total,
            paths,
        })
    }

    /// The hits of `query` among `paths` (at most a few hundred), with snippets, best first:
    /// [`Self::search`] restricted to those notes (its `limit` and `offset` are ignored).
    pub fn hits_for(
        &self,
        query: &SearchQuery,
        paths: &[&str],
    ) -> Result<Vec<SearchHit>, SearchError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let restricted = SearchQuery {
            limit: paths.len().min(MAX_LIMIT),
            offset: 0,
            ..query.clone()
        };
        let run = self.run(&restricted, Some(paths))?;
        run.hits(self)
    }

    /// Parses, checks and runs `query` (restricted to `only` when given): the page's
    /// documents and the total.
    fn run(&self, query: &SearchQuery, only: Option<&[&str]>) -> Result<Run, SearchError> {
        let budget = Budget::start(self.time_budget);
        check_size(query)?;
        let searcher = self.reader.searcher();
        let mut analyzer = self.analyzer.clone();
        let clauses = parse(&query.text, &mut analyzer);
        check_clauses(&clauses)?;
        let mut text = text_query(&clauses, &searcher, &self.fields, &budget)?;
        let mut filters = filters(query, &self.fields)?;
        if let Some(paths) = only {
            let terms = paths
                .iter()
                .map(|path| Term::from_field_text(self.fields.path, path));
            filters.push(Box::new(TermSetQuery::new(terms)));
        }
        let ranked = text.ranked();
        let highlight = if ranked {
            std::mem::take(&mut text.highlight)
        } else {
            BTreeSet::new()
        };
        let combined = Budgeted {
            query: Arc::new(combine(text, filters)),
            budget: budget.clone(),
        };

        let limit = match query.limit {
            0 => DEFAULT_LIMIT,
            limit => limit.min(MAX_LIMIT),
        };
        // Past the number of documents nothing can match; clamping keeps tantivy's top-k heap
        // small for absurd offsets.
        let num_docs = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let offset = query.offset.min(num_docs);
        let top = TopDocs::with_limit(limit).and_offset(offset);
        let (found, total): (Vec<(f32, DocAddress)>, usize) = if ranked {
            searcher.search(&combined, &(top.order_by_score(), Count))?
        } else {
            let (found, total) = searcher.search(
                &combined,
                &(
                    top.order_by_fast_field::<i64>("modified", Order::Desc),
                    Count,
                ),
            )?;
            (
                found
                    .into_iter()
                    .map(|(_, address)| (0.0, address))
                    .collect(),
                total,
            )
        };
        // A budgeted scorer that ran out ended its stream early: the counts are partial.
        budget.check()?;
        Ok(Run {
            searcher,
            analyzer,
            highlight,
            found,
            total,
            budget,
        })
    }

    /// Which of `paths` (at most a few hundred: one term each) match `query`'s filters and its
    /// clauses that must hold (`+required`, quoted phrases, `-excluded`); its optional words
    /// are ignored. Another ranking (semantic search) uses it to keep the meaning of filters
    /// and explicit syntax. Bounded like [`Self::search`].
    pub fn matching_paths(
        &self,
        query: &SearchQuery,
        paths: &[&str],
    ) -> Result<HashSet<String>, SearchError> {
        let budget = Budget::start(self.time_budget);
        check_size(query)?;
        if paths.is_empty() {
            return Ok(HashSet::new());
        }
        let searcher = self.reader.searcher();
        let mut analyzer = self.analyzer.clone();
        let clauses = parse(&query.text, &mut analyzer);
        check_clauses(&clauses)?;
        let mut text = text_query(&clauses, &searcher, &self.fields, &budget)?;
        text.optional.clear();
        text.boosts.clear();
        let mut filters = filters(query, &self.fields)?;
        let terms = paths
            .iter()
            .map(|path| Term::from_field_text(self.fields.path, path));
        filters.push(Box::new(TermSetQuery::new(terms)));
        let combined = Budgeted {
            query: Arc::new(combine(text, filters)),
            budget: budget.clone(),
        };
        let found = searcher.search(&combined, &DocSetCollector)?;
        budget.check()?;
        let mut out = HashSet::with_capacity(found.len());
        for address in found {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(path) = doc.get_first(self.fields.path).and_then(|v| v.as_str()) {
                out.insert(path.to_owned());
            }
        }
        Ok(out)
    }

    fn hit(
        &self,
        searcher: &Searcher,
        analyzer: &mut TextAnalyzer,
        highlight: &BTreeSet<String>,
        scan_left: &mut usize,
        score: f32,
        address: DocAddress,
    ) -> Result<SearchHit, SearchError> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let stored = |field: Field| {
            doc.get_first(field)
                .and_then(|value| value.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let path = stored(self.fields.path);
        let title = stored(self.fields.title);
        let body = stored(self.fields.body);
        let scan = body.len().min(MAX_SNIPPET_SCAN_BYTES).min(*scan_left);
        *scan_left -= scan;
        let snippet = around_matches(analyzer, &body, scan, highlight)
            .or_else(|| around_matches(analyzer, &title, title.len(), highlight));
        let (snippet, highlights) = match snippet {
            Some(snippet) => (snippet.text, snippet.highlights),
            None => (leading(&body), Vec::new()),
        };
        Ok(SearchHit {
            path,
            title,
            score,
            snippet,
            highlights,
        })
    }
}

/// A query run by [`SearchIndex::run`]: the page's documents, and what their hits need.
struct Run {
    searcher: Searcher,
    analyzer: TextAnalyzer,
    highlight: BTreeSet<String>,
    found: Vec<(f32, DocAddress)>,
    total: usize,
    budget: Budget,
}

impl Run {
    /// The page's hits with titles and snippets.
    fn hits(mut self, index: &SearchIndex) -> Result<Vec<SearchHit>, SearchError> {
        let mut scan_left = index.snippet_scan_budget;
        let found = std::mem::take(&mut self.found);
        found
            .into_iter()
            .map(|(score, address)| {
                self.budget.check()?;
                index.hit(
                    &self.searcher,
                    &mut self.analyzer,
                    &self.highlight,
                    &mut scan_left,
                    score,
                    address,
                )
            })
            .collect()
    }
}

/// A ranking without snippets ([`SearchIndex::rank`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// How many notes match in all.
    pub total: usize,
    /// The page: each note's path and score, best first.
    pub paths: Vec<(String, f32)>,
}

impl Drop for SearchIndex {
    fn drop(&mut self) {
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Let background merges finish so the directory is consistent (and deletable) once
        // the index is gone.
        if let Some(writer) = writer
            && let Err(error) = writer.wait_merging_threads()
        {
            tracing::warn!(%error, "search index merge failed while closing");
        }
    }
}

/// Opens an existing on-disk index and checks it can be used as is; the error explains why not.
fn open_existing(
    dir: &Path,
    schema: &Schema,
    fields: Fields,
    version: u32,
) -> Result<SearchIndex, String> {
    let index = Index::open_in_dir(dir).map_err(|error| format!("cannot open: {error}"))?;
    if index.schema() != *schema {
        return Err("its schema differs from this version's".to_owned());
    }
    let metas = index
        .load_metas()
        .map_err(|error| format!("cannot load metadata: {error}"))?;
    let generation = match metas.payload.as_deref() {
        // A freshly created index that never committed.
        None if metas.segments.is_empty() => None,
        None => return Err("its last commit has no payload".to_owned()),
        Some(payload) => {
            let payload: Payload = serde_json::from_str(payload)
                .map_err(|error| format!("cannot read commit payload `{payload}`: {error}"))?;
            if payload.schema_version != version {
                return Err(format!(
                    "it has schema version `{}`, expected `{version}`",
                    payload.schema_version
                ));
            }
            payload.generation
        }
    };
    let corrupted = index
        .validate_checksum()
        .map_err(|error| format!("cannot verify checksums: {error}"))?;
    if let Some(file) = corrupted.iter().next() {
        return Err(format!("file `{}` is corrupted", file.display()));
    }
    SearchIndex::from_index(index, fields, generation, version, Some(dir.to_owned()))
        .map_err(|error| error.to_string())
}

/// Deletes every file in `dir` after checking that all of them are index files.
fn wipe(dir: &Path) -> Result<(), SearchError> {
    let mut files = Vec::new();
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type()?.is_file() || !is_index_file(&name) {
            return Err(SearchError::NotAnIndex {
                dir: dir.to_owned(),
                entry: name,
            });
        }
        files.push(entry.path());
    }
    for file in files {
        fs_err::remove_file(file)?;
    }
    Ok(())
}

/// Names tantivy gives its files: `meta.json`, `.managed.json`, lock and temporary files, and
/// segment files named by a 32-digit hex id (`<id>.idx`, `<id>.<opstamp>.del`, ...).
fn is_index_file(name: &str) -> bool {
    let segment_file = name
        .split_once('.')
        .is_some_and(|(id, _)| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    segment_file
        || name == "meta.json"
        || name == ".managed.json"
        || name.starts_with(".tantivy")
        || name.starts_with(".tmp")
}

/// A write batch: the only way to change the index. Holds the index's single writer until it
/// is committed or dropped (dropping rolls the changes back).
pub struct IndexBatch<'a> {
    index: &'a SearchIndex,
    writer: MutexGuard<'a, Option<IndexWriter>>,
    committed: bool,
}

impl fmt::Debug for IndexBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexBatch")
            .field("index", &self.index.dir)
            .finish_non_exhaustive()
    }
}

impl IndexBatch<'_> {
    fn writer(&mut self) -> Result<&mut IndexWriter, SearchError> {
        self.writer.as_mut().ok_or(SearchError::WriterUnavailable)
    }

    fn path_term(&self, path: &str) -> Term {
        Term::from_field_text(self.index.fields.path, path)
    }

    /// Adds `doc`, replacing any note with the same path.
    pub fn upsert(&mut self, doc: &SearchDoc<'_>) -> Result<(), SearchError> {
        let term = self.path_term(doc.path);
        let document = to_document(&self.index.fields, doc);
        let writer = self.writer()?;
        writer.delete_term(term);
        writer.add_document(document)?;
        Ok(())
    }

    /// Removes the note at `path` (nothing happens when there is none).
    pub fn delete(&mut self, path: &str) -> Result<(), SearchError> {
        let term = self.path_term(path);
        self.writer()?.delete_term(term);
        Ok(())
    }

    /// Removes every note.
    pub fn delete_all(&mut self) -> Result<(), SearchError> {
        self.writer()?.delete_all_documents()?;
        Ok(())
    }

    /// Commits the batch with `generation` recorded alongside, and makes it visible: searches
    /// started after this returns see the changes. On failure the writer is discarded, so the
    /// next batch starts again from the last successful commit.
    pub fn commit(self, generation: u64) -> Result<(), SearchError> {
        let index = self.index;
        self.commit_deferred(generation)?;
        index.reload()
    }

    /// Commits like [`IndexBatch::commit`] but leaves the changes invisible to searches until
    /// [`SearchIndex::reload`]: a caller can publish them together with other state.
    pub fn commit_deferred(mut self, generation: u64) -> Result<(), SearchError> {
        self.committed = true;
        let payload = payload_json(self.index.schema_version, generation);
        let result = self.writer().and_then(|writer| {
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()?;
            Ok(())
        });
        if let Err(error) = result {
            *self.writer = None;
            return Err(error);
        }
        *self
            .index
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(generation);
        Ok(())
    }
}

impl Drop for IndexBatch<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let Some(writer) = self.writer.as_mut()
            && let Err(error) = writer.rollback()
        {
            tracing::warn!(%error, "search index rollback failed; discarding the writer");
            *self.writer = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc<'a>(path: &'a str, body: &'a str) -> SearchDoc<'a> {
        SearchDoc {
            path,
            title: "",
            aliases: &[],
            headings: Vec::new(),
            tags: Vec::new(),
            body,
            frontmatter: None,
            modified: 0,
        }
    }

    #[test]
    fn schema_version_mismatch_rebuilds() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (index, opened) = SearchIndex::open_versioned(dir.path(), 7).unwrap();
            assert!(!opened.rebuilt);
            let mut batch = index.batch().unwrap();
            batch.upsert(&doc("a.md", "hello")).unwrap();
            batch.commit(3).unwrap();
        }
        let (index, opened) = SearchIndex::open_versioned(dir.path(), 7).unwrap();
        assert_eq!(
            opened,
            Opened {
                generation: Some(3),
                rebuilt: false
            }
        );
        assert_eq!(index.num_docs(), 1);
        drop(index);
        let (index, opened) = SearchIndex::open_versioned(dir.path(), 8).unwrap();
        assert_eq!(
            opened,
            Opened {
                generation: None,
                rebuilt: true
            }
        );
        assert_eq!(index.num_docs(), 0);
        assert_eq!(index.generation(), None);
    }

    #[test]
    fn foreign_files_are_never_wiped() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("meta.json"), "garbage").unwrap();
        fs_err::write(dir.path().join("Note.md"), "# my note").unwrap();
        let error = SearchIndex::open(dir.path()).unwrap_err();
        assert!(matches!(error, SearchError::NotAnIndex { ref entry, .. } if entry == "Note.md"));
        assert_eq!(
            fs_err::read_to_string(dir.path().join("Note.md")).unwrap(),
            "# my note"
        );
    }

    #[test]
    fn index_file_names() {
        assert!(is_index_file("0123456789abcdef0123456789abcdef.idx"));
        assert!(is_index_file("0123456789abcdef0123456789abcdef.12.del"));
        assert!(is_index_file("meta.json"));
        assert!(is_index_file(".managed.json"));
        assert!(is_index_file(".tantivy-writer.lock"));
        assert!(!is_index_file("notes.md"));
        assert!(!is_index_file("0123.idx"));
    }

    #[test]
    fn a_spent_time_budget_stops_every_kind_of_search() {
        let mut index = SearchIndex::in_memory().unwrap();
        {
            let mut batch = index.batch().unwrap();
            for n in 0..100 {
                let path = format!("n{n}.md");
                batch.upsert(&doc(&path, "hello help")).unwrap();
            }
            batch.commit(1).unwrap();
        }
        let query = |text: &str| SearchQuery {
            text: text.to_owned(),
            ..SearchQuery::default()
        };
        assert_eq!(index.search(&query("hel*")).unwrap().total, 100);

        index.time_budget = Duration::ZERO;
        for text in ["", "hello", "hel*", "-hello", "\"hello help\""] {
            let error = index.search(&query(text)).unwrap_err();
            assert!(
                matches!(error, SearchError::Timeout { budget } if budget == Duration::ZERO),
                "query {text:?}: {error:?}"
            );
        }
    }

    #[test]
    fn snippets_of_one_page_share_a_scan_budget() {
        let mut index = SearchIndex::in_memory().unwrap();
        let body = format!("{} needle", "filler ".repeat(20));
        {
            let mut batch = index.batch().unwrap();
            for n in 0..3 {
                batch.upsert(&doc(&format!("n{n}.md"), &body)).unwrap();
            }
            batch.commit(1).unwrap();
        }
        let query = SearchQuery {
            text: "needle".to_owned(),
            ..SearchQuery::default()
        };
        let highlighted = |index: &SearchIndex| {
            let results = index.search(&query).unwrap();
            assert_eq!(results.hits.len(), 3);
            results
                .hits
                .iter()
                .filter(|hit| !hit.highlights.is_empty())
                .count()
        };
        assert_eq!(highlighted(&index), 3);
        // Room for one body and a half: the second hit's scan stops before its match, the
        // third scans nothing, and both show the start of their note.
        index.snippet_scan_budget = body.len() * 3 / 2;
        assert_eq!(highlighted(&index), 1);
    }

    #[test]
    fn dropped_batch_is_rolled_back() {
        let index = SearchIndex::in_memory().unwrap();
        {
            let mut batch = index.batch().unwrap();
            batch.upsert(&doc("a.md", "kept")).unwrap();
            batch.commit(1).unwrap();
        }
        {
            let mut batch = index.batch().unwrap();
            batch.upsert(&doc("b.md", "dropped")).unwrap();
        }
        let batch = index.batch().unwrap();
        batch.commit(2).unwrap();
        assert_eq!(index.num_docs(), 1);
        assert_eq!(index.generation(), Some(2));
    }
}
