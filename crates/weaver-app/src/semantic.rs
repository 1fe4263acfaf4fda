//! Semantic search over a vault: every note cut into chunks ([`weaver_embed::chunks`]),
//! embedded by a local model in the background, searched exactly ([`VectorIndex`]).
//!
//! [`Vault::enable_semantic`] starts one worker thread per vault. It embeds whatever the
//! current snapshot has that it has not embedded yet (new notes, notes whose content hash
//! changed) and forgets deleted notes, then sleeps until the vault reports a sync. Embeddings
//! are cached in the store by model and chunk text hash, so a restart embeds nothing that was
//! embedded before and an edit embeds only the chunks whose text changed. The keyword index
//! never waits for any of this: readiness is the keyword index's, and
//! [`SemanticStatus`] says how far embedding has come, so a search while it is incomplete can
//! say so.
//!
//! The worker holds the vault weakly and ends when the vault is dropped (its event channel
//! closes) or [`SemanticHandle::stop`] is called.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use weaver_core::VaultPath;
use weaver_embed::{Chunk, Embedder, Section, chunks};
use weaver_search::SearchQuery;
use weaver_search::vectors::{VectorHit, VectorIndex};
use weaver_store::NoteRecord;

use crate::search::ChunkMatch;
use crate::{AppError, Snapshot, Vault, VaultEvent};

/// Chunks embedded in one model call: large enough to keep both cores busy, small enough that a
/// stop request or a new sync is noticed within a second or two.
const EMBED_BATCH: usize = 16;

/// Query embeddings kept, so that a repeated query (a page turned, a search typed again) costs
/// no model call; the cache is emptied when full.
const QUERY_CACHE: usize = 256;

/// Longest chunk text shown as the reason of a match, in bytes.
const CHUNK_TEXT_BYTES: usize = 600;

/// The first batch of candidates that the keyword index checks against a query's filters and
/// required clauses; each next batch is four times larger, so a filter that keeps few notes
/// costs a few index queries, not one per note.
const FIRST_CHECK_BATCH: usize = 256;

/// What the worker has done, for `stats`, metrics and a search's `partial` flag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SemanticStatus {
    /// The model: its folder name and a hash of its files.
    pub model: String,
    /// Notes of the current snapshot.
    pub notes: usize,
    /// Notes whose current version is embedded.
    pub embedded_notes: usize,
    /// Chunk vectors held.
    pub chunks: usize,
    /// Chunks embedded by the model since the vault was opened (not taken from the cache).
    pub chunks_computed: usize,
    /// Chunks taken from the cache since the vault was opened.
    pub chunks_cached: usize,
    /// Memory held by the chunk vectors, in bytes.
    pub vector_bytes: usize,
    /// Chunks taken from the cache shared with other processes since the vault was opened
    /// (counted in `chunks_cached` too).
    pub chunks_shared: usize,
}

impl SemanticStatus {
    /// Whether every note of the snapshot is embedded.
    pub fn complete(&self) -> bool {
        self.embedded_notes >= self.notes
    }
}

/// A note found by meaning, with the chunk that matched best.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticHit {
    /// The note.
    pub path: VaultPath,
    /// Cosine similarity of its best chunk to the query.
    pub score: f32,
    /// That chunk's heading path (empty before the first heading).
    pub heading: String,
    /// That chunk's text as embedded (title and heading path first).
    pub text: String,
}

/// A second level of the embeddings cache, shared by several processes: in cluster mode the
/// replicas share one in PostgreSQL, so that a new or restarted replica (on an empty
/// `data_dir`) fetches the vectors another one computed instead of running the model over the
/// whole vault again. Errors are the caller's to log; a failing shared cache never stops
/// embedding (the model computes what it cannot give).
pub trait SharedEmbeddings: Send + Sync + std::fmt::Debug {
    /// The vectors of `model` for these chunk text hashes, in order (`None` where absent).
    fn get(&self, model: &str, hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<f32>>>, String>;
    /// Keeps these vectors of `model` (an entry already there is left as it is).
    fn put(&self, model: &str, entries: &[([u8; 32], &[f32])]) -> Result<(), String>;
}

/// A shared cache, as vaults hold it.
type Shared = Arc<dyn SharedEmbeddings>;

/// One note as embedded: the version and its chunks' hashes and headings.
#[derive(Debug, Clone)]
struct Embedded {
    hash: String,
    chunk_hashes: Vec<[u8; 32]>,
}

/// The per-vault state of semantic search.
pub(crate) struct Semantic {
    embedder: Arc<Embedder>,
    model_id: String,
    vectors: RwLock<VectorIndex>,
    embedded: RwLock<HashMap<VaultPath, Embedded>>,
    notes: AtomicUsize,
    computed: AtomicUsize,
    cached: AtomicUsize,
    stop: AtomicBool,
    /// Embeddings of recent query texts.
    queries: Mutex<HashMap<String, Arc<Vec<f32>>>>,
    /// The last snapshot found with every note embedded (see `Vault::semantic_partial`).
    complete_at: Mutex<Weak<Snapshot>>,
    /// The cache shared with other processes, if any.
    shared: Option<Arc<dyn SharedEmbeddings>>,
    /// Chunks taken from the shared cache since the vault was opened.
    shared_hits: AtomicUsize,
}

impl Semantic {
    /// The embedding of a query text, from the cache when it was asked recently.
    fn query_vector(&self, text: &str) -> Result<Arc<Vec<f32>>, AppError> {
        let cache = self
            .queries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(vector) = cache.get(text) {
            return Ok(Arc::clone(vector));
        }
        drop(cache);
        let vector = Arc::new(
            self.embedder
                .embed(&[text])
                .map_err(|e| AppError::Semantic(e.to_string()))?
                .pop()
                .unwrap_or_default(),
        );
        let mut cache = self
            .queries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= QUERY_CACHE {
            cache.clear();
        }
        cache.insert(text.to_owned(), Arc::clone(&vector));
        Ok(vector)
    }
}

/// Stops a vault's semantic worker when asked (it also ends with the vault).
#[derive(Debug, Clone)]
pub struct SemanticHandle {
    semantic: Weak<Semantic>,
}

impl std::fmt::Debug for Semantic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semantic")
            .field("model_id", &self.model_id)
            .finish_non_exhaustive()
    }
}

impl SemanticHandle {
    /// Asks the worker to stop after its current model call.
    pub fn stop(&self) {
        if let Some(semantic) = self.semantic.upgrade() {
            semantic.stop.store(true, Ordering::SeqCst);
        }
    }
}

/// The identity of a model directory for the cache: its folder name and the hash of its
/// configuration and weights' sizes, so that another model (or another version of it) never
/// reads this one's vectors.
fn model_id(embedder: &Embedder) -> String {
    let dir = embedder.dir();
    let mut hasher = blake3::Hasher::new();
    for name in ["config.json", "tokenizer.json"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            hasher.update(&bytes);
        }
    }
    if let Ok(meta) = std::fs::metadata(dir.join("model.safetensors")) {
        hasher.update(&meta.len().to_le_bytes());
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{name}-{}", &hasher.finalize().to_hex()[..16])
}

impl Vault {
    /// Turns semantic search on with `embedder` and starts the worker that embeds the vault in
    /// the background (see the module docs). Calling it again changes nothing and returns the
    /// running worker's handle.
    pub fn enable_semantic(self: &Arc<Self>, embedder: Arc<Embedder>) -> SemanticHandle {
        self.enable_semantic_sharing(embedder, None)
    }

    /// [`Vault::enable_semantic`] with a second-level cache shared with other processes
    /// ([`SharedEmbeddings`]): vectors missing from the vault's own cache are looked up there
    /// before the model computes them, and what the model computes is put there too.
    pub fn enable_semantic_sharing(
        self: &Arc<Self>,
        embedder: Arc<Embedder>,
        shared: Option<Arc<dyn SharedEmbeddings>>,
    ) -> SemanticHandle {
        let semantic = self
            .semantic
            .get_or_init(|| {
                let semantic = Arc::new(Semantic {
                    model_id: model_id(&embedder),
                    vectors: RwLock::new(VectorIndex::new(embedder.dimensions())),
                    embedder,
                    embedded: RwLock::new(HashMap::new()),
                    notes: AtomicUsize::new(0),
                    computed: AtomicUsize::new(0),
                    cached: AtomicUsize::new(0),
                    stop: AtomicBool::new(false),
                    queries: Mutex::new(HashMap::new()),
                    complete_at: Mutex::new(Weak::new()),
                    shared,
                    shared_hits: AtomicUsize::new(0),
                });
                let vault = Arc::downgrade(self);
                let events = self.subscribe();
                let worker = Arc::clone(&semantic);
                let spawned = std::thread::Builder::new()
                    .name("weaver-embed".to_owned())
                    .spawn(move || run(&vault, &worker, events));
                if let Err(error) = spawned {
                    tracing::error!(%error, "cannot start the embedding worker");
                }
                semantic
            })
            .clone();
        SemanticHandle {
            semantic: Arc::downgrade(&semantic),
        }
    }

    /// How far semantic search has come; `None` when it is off.
    pub fn semantic_status(&self) -> Option<SemanticStatus> {
        let semantic = self.semantic.get()?;
        let snapshot = self.snapshot();
        // One lock at a time, each once: a second read of a lock this thread holds blocks
        // behind a writer queued in between (std's RwLock lets a waiting writer go first), and
        // the writer waits for the first read: both stop for good.
        let embedded_notes = embedded_notes(semantic, &snapshot);
        let (chunks, vector_bytes) = {
            let vectors = read(&semantic.vectors);
            (vectors.len(), vectors.memory_bytes())
        };
        Some(SemanticStatus {
            model: semantic.model_id.clone(),
            notes: snapshot.notes().len(),
            embedded_notes,
            chunks,
            vector_bytes,
            chunks_shared: semantic.shared_hits.load(Ordering::Relaxed),
            chunks_computed: semantic.computed.load(Ordering::Relaxed),
            chunks_cached: semantic.cached.load(Ordering::Relaxed),
        })
    }

    /// Whether semantic answers may miss notes now: some note of the current snapshot is not
    /// embedded (or embedded as an older version). What every search reports as `partial`, so
    /// it is cheap in the steady state: once a snapshot is found complete, the answer for it is
    /// kept until the snapshot changes, instead of checking every note again.
    pub(crate) fn semantic_partial(&self) -> bool {
        let Some(semantic) = self.semantic.get() else {
            return false;
        };
        let snapshot = self.snapshot();
        let known = std::ptr::eq(lock(&semantic.complete_at).as_ptr(), Arc::as_ptr(&snapshot));
        if known {
            return false;
        }
        let complete = embedded_notes(semantic, &snapshot) >= snapshot.notes().len();
        if complete {
            // A `Weak` keeps the snapshot's allocation, so no later snapshot can have its address.
            *lock(&semantic.complete_at) = Arc::downgrade(&snapshot);
        }
        !complete
    }

    /// Benchmark support: caches a stand-in vector, `vector(chunk text hash)`, for every chunk of
    /// the snapshot's notes that `embedder`'s cache lacks, so that a latency benchmark at a
    /// scale the model would take hours to embed (50,000 notes) can run; the model computes
    /// nothing when semantic search is then turned on. Returns how many were cached. Vectors
    /// must have the model's dimensions (they are made unit length here).
    pub fn cache_stand_in_embeddings(
        &self,
        embedder: &Embedder,
        vector: impl Fn(&[u8; 32]) -> Vec<f32>,
    ) -> Result<usize, AppError> {
        let model = model_id(embedder);
        let snapshot = self.snapshot();
        let mut cached = 0;
        for group in snapshot.notes().chunks(256) {
            let mut hashes = Vec::new();
            for record in group {
                for chunk in self.chunks_of(record).unwrap_or_default() {
                    hashes.push(*blake3::hash(chunk.text.as_bytes()).as_bytes());
                }
            }
            let mut store = self
                .store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let known = store.embeddings(&model, &hashes)?;
            let vectors: Vec<([u8; 32], Vec<f32>)> = hashes
                .iter()
                .zip(known)
                .filter(|(_, known)| known.is_none())
                .map(|(hash, _)| {
                    let mut v = vector(hash);
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                    v.iter_mut().for_each(|x| *x /= norm);
                    (*hash, v)
                })
                .collect();
            let entries: Vec<([u8; 32], &[f32])> =
                vectors.iter().map(|(h, v)| (*h, v.as_slice())).collect();
            store.put_embeddings(&model, &entries)?;
            cached += entries.len();
        }
        Ok(cached)
    }

    /// The `limit` notes nearest in meaning to `text`, best first, each with its best chunk;
    /// notes for which `skip` holds are left out. [`AppError::SemanticOff`] when semantic
    /// search is not enabled.
    pub fn semantic_search(
        &self,
        text: &str,
        limit: usize,
        skip: impl Fn(&VaultPath) -> bool,
    ) -> Result<Vec<SemanticHit>, AppError> {
        let semantic = self.semantic.get().ok_or(AppError::SemanticOff)?;
        let query = semantic.query_vector(text)?;
        self.nearest(semantic, &query, limit, skip)
    }

    /// The notes nearest in meaning to `meaning` (a query's words), best first, at most
    /// `depth`, each with its best chunk. With `constrained` the keyword index keeps only
    /// those that satisfy `query`'s filters and required and excluded clauses.
    pub(crate) fn semantic_ranking(
        &self,
        query: &SearchQuery,
        meaning: &str,
        constrained: bool,
        depth: usize,
    ) -> Result<Vec<VectorHit>, AppError> {
        let semantic = self.semantic.get().ok_or(AppError::SemanticOff)?;
        let vector = semantic.query_vector(meaning)?;
        let snapshot = self.snapshot();
        // A note deleted since its vectors were made is dropped here (the worker forgets it on
        // its next pass); the index checks only the notes it takes, best first.
        let gone =
            |path: &str| VaultPath::new(path).map_or(true, |path| snapshot.get(&path).is_none());
        if !constrained {
            return Ok(read(&semantic.vectors).search(&vector, depth, gone));
        }
        // Taken best first in growing batches, each checked against the filters at once; the
        // ranking orders only as much as is taken.
        let vectors = read(&semantic.vectors);
        let mut ranking = vectors.ranking(&vector);
        let mut out = Vec::new();
        let mut batch = FIRST_CHECK_BATCH;
        ranking.reserve(batch);
        while out.len() < depth {
            let now: Vec<VectorHit> = ranking.by_ref().take(batch).collect();
            if now.is_empty() {
                break;
            }
            batch = batch.saturating_mul(4);
            let paths: Vec<&str> = now.iter().map(|hit| hit.path.as_str()).collect();
            let keep = self.search_index().matching_paths(query, &paths)?;
            out.extend(
                now.into_iter()
                    .filter(|hit| keep.contains(&hit.path) && !gone(&hit.path)),
            );
        }
        out.truncate(depth);
        Ok(out)
    }

    /// The chunk of a semantic hit, read from the note as it is now.
    pub(crate) fn chunk_match(&self, snapshot: &Snapshot, hit: &VectorHit) -> Option<ChunkMatch> {
        let path = VaultPath::new(&hit.path).ok()?;
        let record = snapshot.get(&path)?;
        let chunk = self
            .chunks_of(record)?
            .into_iter()
            .nth(usize::try_from(hit.chunk).ok()?)?;
        Some(ChunkMatch {
            heading: chunk.heading,
            text: weaver_core::clip(&chunk.text, CHUNK_TEXT_BYTES).into_owned(),
            similarity: hit.score,
        })
    }

    /// The `limit` notes nearest in meaning to note `path` (its chunks' mean direction), best first,
    /// leaving out the note itself and those for which `skip` holds. Empty while the note is
    /// not embedded yet.
    pub fn similar_notes(
        &self,
        path: &VaultPath,
        limit: usize,
        skip: impl Fn(&VaultPath) -> bool,
    ) -> Result<Vec<SemanticHit>, AppError> {
        let semantic = self.semantic.get().ok_or(AppError::SemanticOff)?;
        let query = {
            let vectors = read(&semantic.vectors);
            let rows = vectors.vectors_of(path.as_str());
            let mut mean = vec![0.0f32; vectors.dimensions()];
            for row in &rows {
                for (sum, x) in mean.iter_mut().zip(row.iter()) {
                    *sum += x;
                }
            }
            // A unit vector again, so that scores are cosines like a query's.
            let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                for x in &mut mean {
                    *x /= norm;
                }
            }
            mean
        };
        if query.iter().all(|x| *x == 0.0) {
            return Ok(Vec::new());
        }
        self.nearest(semantic, &query, limit, |p| p == path || skip(p))
    }

    fn nearest(
        &self,
        semantic: &Semantic,
        query: &[f32],
        limit: usize,
        skip: impl Fn(&VaultPath) -> bool,
    ) -> Result<Vec<SemanticHit>, AppError> {
        let snapshot = self.snapshot();
        let found = {
            let vectors = read(&semantic.vectors);
            vectors.search(query, limit, |path| {
                VaultPath::new(path).map_or(true, |p| snapshot.get(&p).is_none() || skip(&p))
            })
        };
        let mut hits = Vec::with_capacity(found.len());
        for hit in found {
            let Ok(path) = VaultPath::new(&hit.path) else {
                continue;
            };
            let Some(record) = snapshot.get(&path) else {
                continue;
            };
            let chunk = self
                .chunks_of(record)
                .and_then(|c| c.into_iter().nth(hit.chunk as usize));
            let (heading, text) = chunk.map(|c| (c.heading, c.text)).unwrap_or_default();
            hits.push(SemanticHit {
                path,
                score: hit.score,
                heading,
                text,
            });
        }
        Ok(hits)
    }

    /// The chunks of a note as it is on disk now, cut by its recorded headings; `None` when it
    /// cannot be read.
    fn chunks_of(&self, record: &NoteRecord) -> Option<Vec<Chunk>> {
        let bytes = self
            .fs
            .read_limited(&record.path, self.parse_options.max_file_bytes)
            .ok()?;
        let text = String::from_utf8_lossy(&bytes);
        Some(note_chunks(record, &text))
    }
}

/// The chunks of `record` whose file text is `text`: sections between its headings (the
/// frontmatter left out), each under the path of headings above it.
fn note_chunks(record: &NoteRecord, text: &str) -> Vec<Chunk> {
    let body_start = record
        .note
        .frontmatter_range
        .as_ref()
        .map_or(0, |r| r.end)
        .min(text.len());
    let mut sections = Vec::new();
    let mut path: Vec<(u8, &str)> = Vec::new();
    let mut start = body_start;
    let mut headings: Vec<&str> = Vec::new();
    for heading in &record.note.headings {
        let (h_start, h_end) = (heading.range.start, heading.range.end.min(text.len()));
        if h_start < start || !text.is_char_boundary(h_start) || !text.is_char_boundary(h_end) {
            continue;
        }
        sections.push(Section {
            headings: headings.clone(),
            text: text.get(start..h_start).unwrap_or_default(),
        });
        while path
            .last()
            .is_some_and(|(level, _)| *level >= heading.level)
        {
            path.pop();
        }
        path.push((heading.level, heading.text.as_str()));
        headings = path.iter().map(|(_, t)| *t).collect();
        start = h_end;
    }
    sections.push(Section {
        headings,
        text: text.get(start..).unwrap_or_default(),
    });
    chunks(&record.note.title, &sections)
}

/// How many notes of `snapshot` are embedded as they are in it.
fn embedded_notes(semantic: &Semantic, snapshot: &Snapshot) -> usize {
    let embedded = read(&semantic.embedded);
    snapshot
        .notes()
        .iter()
        .filter(|n| embedded.get(&n.path).is_some_and(|e| e.hash == n.meta.hash))
        .count()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The worker: a pass over the snapshot, then a wait for the next sync.
fn run(
    vault: &Weak<Vault>,
    semantic: &Semantic,
    mut events: tokio::sync::broadcast::Receiver<VaultEvent>,
) {
    loop {
        if semantic.stop.load(Ordering::SeqCst) {
            return;
        }
        match vault.upgrade() {
            Some(vault) => {
                if let Err(error) = pass(&vault, semantic) {
                    tracing::warn!(%error, "embedding pass failed; retried on the next sync");
                }
            }
            None => return,
        }
        // Wait for a sync; several queued ones need one pass.
        match events.blocking_recv() {
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                while events.try_recv().is_ok() {}
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Embeds what the current snapshot has and the index lacks; forgets what it no longer has.
fn pass(vault: &Vault, semantic: &Semantic) -> Result<(), AppError> {
    let snapshot = vault.snapshot();
    semantic
        .notes
        .store(snapshot.notes().len(), Ordering::Relaxed);
    let live: HashSet<&VaultPath> = snapshot.notes().iter().map(|n| &n.path).collect();
    let gone: Vec<VaultPath> = read(&semantic.embedded)
        .keys()
        .filter(|p| !live.contains(p))
        .cloned()
        .collect();
    if !gone.is_empty() {
        let mut vectors = write(&semantic.vectors);
        let mut embedded = write(&semantic.embedded);
        for path in &gone {
            vectors.remove(path.as_str());
            embedded.remove(path);
        }
    }
    let todo: Vec<&Arc<NoteRecord>> = {
        let embedded = read(&semantic.embedded);
        snapshot
            .notes()
            .iter()
            .filter(|n| embedded.get(&n.path).is_none_or(|e| e.hash != n.meta.hash))
            .collect()
    };
    let worked = !todo.is_empty() || !gone.is_empty();
    for group in todo.chunks(EMBED_BATCH) {
        if semantic.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        embed_notes(vault, semantic, group)?;
    }
    if worked && !semantic.stop.load(Ordering::SeqCst) {
        let keep: HashSet<[u8; 32]> = read(&semantic.embedded)
            .values()
            .flat_map(|e| e.chunk_hashes.iter().copied())
            .collect();
        let mut store = vault
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pruned = store.prune_embeddings(&semantic.model_id, &keep)?;
        tracing::debug!(pruned, "embeddings cache pruned");
    }
    Ok(())
}

/// A note, its chunks and their text hashes.
type NoteChunks<'a> = (&'a NoteRecord, Vec<Chunk>, Vec<[u8; 32]>);

/// Embeds a group of notes: their chunks from the cache where it has them, from the model
/// otherwise (and into the cache), then into the vector index.
fn embed_notes(
    vault: &Vault,
    semantic: &Semantic,
    notes: &[&Arc<NoteRecord>],
) -> Result<(), AppError> {
    let mut per_note: Vec<NoteChunks<'_>> = Vec::new();
    for record in notes {
        // A note that cannot be read now is retried on the next pass.
        let Some(chunks) = vault.chunks_of(record) else {
            continue;
        };
        let hashes = chunks
            .iter()
            .map(|c| *blake3::hash(c.text.as_bytes()).as_bytes())
            .collect();
        per_note.push((record.as_ref(), chunks, hashes));
    }
    let all_hashes: Vec<[u8; 32]> = per_note.iter().flat_map(|(_, _, h)| h.clone()).collect();
    let mut found: Vec<Option<Vec<f32>>> = {
        let store = vault
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        store.embeddings(&semantic.model_id, &all_hashes)?
    };
    let dimensions = semantic.embedder.dimensions();
    let absent = |found: &[Option<Vec<f32>>]| -> Vec<usize> {
        found
            .iter()
            .enumerate()
            .filter(|(_, v)| v.as_ref().is_none_or(|v| v.len() != dimensions))
            .map(|(i, _)| i)
            .collect()
    };
    let mut missing = absent(&found);
    // The shared cache next: what another process computed, kept here too.
    if let Some(shared) = semantic.shared.as_ref().filter(|_| !missing.is_empty()) {
        let wanted: Vec<[u8; 32]> = missing
            .iter()
            .filter_map(|&i| all_hashes.get(i).copied())
            .collect();
        match shared.get(&semantic.model_id, &wanted) {
            Ok(vectors) => {
                let mut taken: Vec<([u8; 32], Vec<f32>)> = Vec::new();
                for ((&i, hash), vector) in missing.iter().zip(&wanted).zip(vectors) {
                    if let (Some(vector), Some(slot)) = (vector, found.get_mut(i))
                        && vector.len() == dimensions
                    {
                        *slot = Some(vector.clone());
                        taken.push((*hash, vector));
                    }
                }
                if !taken.is_empty() {
                    semantic
                        .shared_hits
                        .fetch_add(taken.len(), Ordering::Relaxed);
                    let entries: Vec<([u8; 32], &[f32])> =
                        taken.iter().map(|(h, v)| (*h, v.as_slice())).collect();
                    let mut store = vault
                        .store
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    store.put_embeddings(&semantic.model_id, &entries)?;
                }
                missing = absent(&found);
            }
            Err(error) => {
                tracing::warn!(%error, "the shared embeddings cache failed; computing instead");
            }
        }
    }
    semantic
        .cached
        .fetch_add(found.len() - missing.len(), Ordering::Relaxed);
    if !missing.is_empty() {
        let texts: Vec<&str> = per_note
            .iter()
            .flat_map(|(_, chunks, _)| chunks.iter().map(|c| c.text.as_str()))
            .collect();
        // A batch is padded to its longest text: texts of like length batched together waste
        // least (a vault's many one-line sections beside its long ones).
        missing.sort_by_key(|&i| texts.get(i).map_or(0, |t| t.len()));
        let mut computed: Vec<([u8; 32], Vec<f32>)> = Vec::with_capacity(missing.len());
        for group in missing.chunks(EMBED_BATCH) {
            let batch: Vec<&str> = group
                .iter()
                .filter_map(|&i| texts.get(i).copied())
                .collect();
            let vectors = semantic
                .embedder
                .embed(&batch)
                .map_err(|e| AppError::Semantic(e.to_string()))?;
            for (&i, vector) in group.iter().zip(vectors) {
                if let (Some(slot), Some(hash)) = (found.get_mut(i), all_hashes.get(i)) {
                    *slot = Some(vector.clone());
                    computed.push((*hash, vector));
                }
            }
        }
        semantic
            .computed
            .fetch_add(computed.len(), Ordering::Relaxed);
        let entries: Vec<([u8; 32], &[f32])> =
            computed.iter().map(|(h, v)| (*h, v.as_slice())).collect();
        if let Some(shared) = &semantic.shared
            && let Err(error) = shared.put(&semantic.model_id, &entries)
        {
            tracing::warn!(%error, "cannot share computed embeddings; kept locally");
        }
        let mut store = vault
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        store.put_embeddings(&semantic.model_id, &entries)?;
    }
    let mut found = found.into_iter();
    let mut vectors = write(&semantic.vectors);
    let mut embedded = write(&semantic.embedded);
    for (record, chunks, hashes) in per_note {
        let rows: Vec<Vec<f32>> = found
            .by_ref()
            .take(chunks.len())
            .map(Option::unwrap_or_default)
            .collect();
        vectors
            .set(record.path.as_str(), &rows)
            .map_err(AppError::Semantic)?;
        embedded.insert(
            record.path.clone(),
            Embedded {
                hash: record.meta.hash.clone(),
                chunk_hashes: hashes,
            },
        );
    }
    Ok(())
}

/// Where `weaver model download` puts the model, and where a process looks for one when its
/// configuration names none: `$XDG_DATA_HOME/weaver/models/all-MiniLM-L6-v2`, else
/// `~/.local/share/weaver/models/all-MiniLM-L6-v2`. `None` when neither variable is set.
pub fn default_model_dir() -> Option<std::path::PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| std::path::PathBuf::from(home).join(".local/share"))
        })?;
    Some(data.join("weaver/models").join(DEFAULT_MODEL_NAME))
}

/// The model Weaver is tested with and downloads: sentence-transformers' all-MiniLM-L6-v2.
pub const DEFAULT_MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Where a process's embedding model is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Semantic search is off: the reason (none configured, or turned off).
    Off(String),
    /// Loading from the folder.
    Loading,
    /// Loaded: the model's identity for the cache.
    Ready(String),
    /// The folder could not be loaded: the error, naming the file. Keyword search works.
    Failed(String),
}

/// A process's embedding model: loaded once, in the background, and given to every vault that
/// is opened (before or after it is ready), so that opening a vault never waits for it and one
/// model serves them all.
#[derive(Debug)]
pub struct SemanticModel {
    inner: Mutex<ModelInner>,
}

#[derive(Debug)]
struct ModelInner {
    state: ModelState,
    embedder: Option<Arc<Embedder>>,
    /// Vaults attached while the model was loading (with their shared cache).
    waiting: Vec<(Weak<Vault>, Option<Shared>)>,
}

impl SemanticModel {
    /// Semantic search off, for `reason`.
    pub fn off(reason: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(ModelInner {
                state: ModelState::Off(reason.into()),
                embedder: None,
                waiting: Vec::new(),
            }),
        })
    }

    /// Starts loading the model in `dir` on a thread of its own; vaults attached meanwhile
    /// get it when it is ready. A folder that cannot be loaded is logged (naming the file)
    /// and leaves semantic search off.
    pub fn load_in_background(dir: std::path::PathBuf) -> Arc<Self> {
        let model = Arc::new(Self {
            inner: Mutex::new(ModelInner {
                state: ModelState::Loading,
                embedder: None,
                waiting: Vec::new(),
            }),
        });
        let loading = Arc::clone(&model);
        let spawned = std::thread::Builder::new()
            .name("weaver-model".to_owned())
            .spawn(move || {
                let started = std::time::Instant::now();
                match Embedder::load(&dir) {
                    Ok(embedder) => {
                        let embedder = Arc::new(embedder);
                        tracing::info!(
                            model = %dir.display(),
                            dimensions = embedder.dimensions(),
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "embedding model loaded: semantic search on"
                        );
                        loading.ready(embedder);
                    }
                    Err(error) => {
                        tracing::error!(%error, "cannot load the embedding model; semantic search is off, keyword search works");
                        loading.set(ModelState::Failed(error.to_string()));
                    }
                }
            });
        if let Err(error) = spawned {
            model.set(ModelState::Failed(format!(
                "cannot start the loading thread: {error}"
            )));
        }
        model
    }

    /// The model in `dir`, else the one `weaver model download` put in
    /// [`default_model_dir`] when it is there, loading in the background; off (saying why)
    /// when there is none.
    pub fn choose(dir: Option<std::path::PathBuf>) -> Arc<Self> {
        match dir {
            Some(dir) => Self::load_in_background(dir),
            None => match default_model_dir().filter(|d| d.is_dir()) {
                Some(dir) => {
                    tracing::info!(model = %dir.display(), "using the downloaded embedding model");
                    Self::load_in_background(dir)
                }
                None => {
                    tracing::info!(
                        "semantic search off: no embedding model (configure its folder, or run `weaver model download`)"
                    );
                    Self::off("no embedding model is configured (`search.semantic.model_dir`)")
                }
            },
        }
    }

    /// Waits until the model is loaded or has failed, at most `timeout`; its state then.
    pub fn wait(&self, timeout: std::time::Duration) -> ModelState {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let state = self.state();
            if state != ModelState::Loading || std::time::Instant::now() >= deadline {
                return state;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// A model already loaded (tests, the CLI).
    pub fn loaded(embedder: Arc<Embedder>) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(ModelInner {
                state: ModelState::Ready(model_id(&embedder)),
                embedder: Some(embedder),
                waiting: Vec::new(),
            }),
        })
    }

    /// The loaded model, once it is ready.
    pub fn embedder(&self) -> Option<Arc<Embedder>> {
        self.lock().embedder.clone()
    }

    /// The model's state.
    pub fn state(&self) -> ModelState {
        self.lock().state.clone()
    }

    /// Turns semantic search on for `vault`: now when the model is ready, else as soon as it
    /// is. Nothing happens when the model is off or failed.
    pub fn attach(&self, vault: &Arc<Vault>) {
        self.attach_sharing(vault, None);
    }

    /// [`SemanticModel::attach`] with a cache shared with other processes.
    pub fn attach_sharing(&self, vault: &Arc<Vault>, shared: Option<Arc<dyn SharedEmbeddings>>) {
        let embedder = {
            let mut inner = self.lock();
            match (&inner.state, &inner.embedder) {
                (ModelState::Ready(_), Some(embedder)) => Some(Arc::clone(embedder)),
                (ModelState::Loading, _) => {
                    inner.waiting.retain(|(w, _)| w.strong_count() > 0);
                    inner.waiting.push((Arc::downgrade(vault), shared.clone()));
                    None
                }
                _ => None,
            }
        };
        if let Some(embedder) = embedder {
            vault.enable_semantic_sharing(embedder, shared);
        }
    }

    fn ready(&self, embedder: Arc<Embedder>) {
        let waiting = {
            let mut inner = self.lock();
            inner.state = ModelState::Ready(model_id(&embedder));
            inner.embedder = Some(Arc::clone(&embedder));
            std::mem::take(&mut inner.waiting)
        };
        for (vault, shared) in waiting {
            if let Some(vault) = vault.upgrade() {
                vault.enable_semantic_sharing(Arc::clone(&embedder), shared);
            }
        }
    }

    fn set(&self, state: ModelState) {
        let mut inner = self.lock();
        inner.state = state;
        inner.waiting.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ModelInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
