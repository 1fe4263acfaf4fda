//! The vault service: opening a vault, keeping cache, search index and graph in step with the
//! files, and handing out consistent snapshots to queries.
//!
//! Readers take an `Arc<Snapshot>` and never wait for indexing. One sync runs at a time (the store
//! mutex serialises them); it builds the next snapshot beside the current one and swaps it in.
//!
//! The search index and the store agree through a generation number: every sync that changes
//! anything commits the search index with generation `g + 1` first and then writes `g + 1` into the
//! store in the same transaction as the note changes. On open, a mismatch (a crash between the two)
//! means the search index is rebuilt from the files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rayon::prelude::*;
use serde::Serialize;
use tokio::sync::broadcast;
use weaver_core::{
    Diagnostic, DiagnosticCode, Graph, NoteId, ParseOptions, ParsedNote, Resolver, VaultPath,
    content_hash, fold_name, parse_note,
};
use weaver_search::{SearchDoc, SearchIndex};
use weaver_store::{ChangeSet, FileMeta, NoteRecord, OpenOutcome, SqliteStore, Store};

use crate::AppError;
use crate::journal;
use crate::scan::{FileStat, IgnoreRules};
use crate::vaultfs::{Found, FsError, VaultFs, WalkExtras};

const SEARCH_GENERATION: &str = "search_generation";
/// Events kept for slow subscribers before they are told they lagged.
const EVENT_BUFFER: usize = 4096;
/// Notes parsed per parallel chunk: bounds the memory held by note texts awaiting indexing.
const CHUNK: usize = 1024;

/// How to open a vault.
#[derive(Debug, Clone)]
pub struct VaultOptions {
    /// The vault folder.
    pub root: PathBuf,
    /// Where the cache and search index live; `None` means `<root>/.weaver`.
    pub cache_dir: Option<PathBuf>,
    /// Keep cache and index in memory only (nothing written next to the vault).
    pub in_memory: bool,
    /// Larger files are recorded with a diagnostic and not parsed.
    pub max_file_bytes: u64,
    /// Extra gitignore-style patterns of files and folders to leave out.
    pub ignore: Vec<String>,
    /// Refuse every write.
    pub read_only: bool,
}

impl VaultOptions {
    /// Defaults for a vault folder: cache in `<root>/.weaver`, 10 MiB file limit, no extra ignores.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            cache_dir: None,
            in_memory: false,
            max_file_bytes: ParseOptions::DEFAULT_MAX_FILE_BYTES,
            ignore: Vec::new(),
            read_only: false,
        }
    }
}

/// What happened to the shadow cache when the vault was opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum CacheState {
    /// An existing cache was reused.
    Reused,
    /// No cache existed; one was created.
    Created,
    /// The cache was unusable (corrupt, from another version) and was rebuilt from the files.
    Rebuilt(String),
    /// Another process holds the cache; this one indexed into memory instead.
    InUse,
    /// The cache cannot be created or opened where it should live (a read-only or unwritable
    /// location, a file where its folder should be, damage that removing files did not cure):
    /// the vault was indexed into memory instead. The reason names the failure.
    Unavailable(String),
    /// The vault was opened with an in-memory cache on purpose.
    InMemory,
}

/// Progress of indexing, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Walking the folder.
    Scanning,
    /// Parsing changed notes: `done` of `total`.
    Parsing {
        /// Notes parsed so far.
        done: usize,
        /// Notes to parse.
        total: usize,
    },
    /// Writing the cache and committing the search index.
    Writing,
}

/// What kind of change a sync saw for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The file is new.
    Created,
    /// The file's content changed.
    Modified,
    /// The file is gone.
    Deleted,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The file.
    pub path: VaultPath,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// The outcome of one sync between the files and the index.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Files seen by the walk (notes and attachments) in the synced scope.
    pub scanned: usize,
    /// Notes read and parsed.
    pub parsed: usize,
    /// Notes whose cached form was reused (unchanged size and mtime, or unchanged hash).
    pub unchanged: usize,
    /// Changed files, notes and attachments.
    pub changes: Vec<Change>,
    /// True when the search index was rebuilt from scratch.
    pub search_rebuilt: bool,
    /// Wall time of the sync.
    #[serde(serialize_with = "serialize_millis")]
    pub elapsed: Duration,
}

fn serialize_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// The outcome of opening a vault.
#[derive(Debug, Clone, Serialize)]
pub struct OpenReport {
    /// What happened to the cache.
    pub cache: CacheState,
    /// The initial sync.
    pub sync: SyncReport,
    /// Notes in the vault.
    pub notes: usize,
    /// Attachments in the vault.
    pub attachments: usize,
}

/// An immutable view of the indexed vault. Queries run against one snapshot, so an answer never
/// mixes two versions of the vault. It knows its vault's files (the directory handle), which
/// the queries that show context lines read.
#[derive(Debug)]
pub struct Snapshot {
    pub(crate) fs: Arc<VaultFs>,
    /// Sorted by path; the index is the note's id in `graph`.
    pub(crate) notes: Vec<Arc<NoteRecord>>,
    pub(crate) attachments: BTreeMap<VaultPath, (i64, u64)>,
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) graph: Arc<Graph>,
    pub(crate) indexed_at: Option<SystemTime>,
    /// Paths with more than one spelling on disk (NFC and NFD), as of the last full walk.
    pub(crate) twins: Arc<Vec<VaultPath>>,
}

impl Snapshot {
    /// Notes, sorted by path; a note's index is its [`NoteId`].
    pub fn notes(&self) -> &[Arc<NoteRecord>] {
        &self.notes
    }

    /// The note with this exact path.
    pub fn get(&self, path: &VaultPath) -> Option<&NoteRecord> {
        self.id(path).and_then(|id| self.note(id))
    }

    pub(crate) fn id(&self, path: &VaultPath) -> Option<NoteId> {
        let index = self.notes.binary_search_by(|n| n.path.cmp(path)).ok()?;
        NoteId::try_from(index).ok()
    }

    pub(crate) fn note(&self, id: NoteId) -> Option<&NoteRecord> {
        self.notes.get(id as usize).map(Arc::as_ref)
    }

    /// Attachment paths.
    pub fn attachments(&self) -> impl Iterator<Item = &VaultPath> {
        self.attachments.keys()
    }

    /// Every attachment with its modification time (ns) and size, as the last sync saw them.
    pub fn attachment_stamps(&self) -> impl Iterator<Item = (&VaultPath, (i64, u64))> {
        self.attachments.iter().map(|(p, s)| (p, *s))
    }

    /// The link graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The resolver over every file of this snapshot.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// The vault's files: the directory handle every read goes through.
    pub fn fs(&self) -> &VaultFs {
        &self.fs
    }

    /// Builds a snapshot from notes sorted by path, reusing `graph` when the caller knows the
    /// links are unchanged (same notes, same resolved targets).
    fn build(
        fs: Arc<VaultFs>,
        notes: Vec<Arc<NoteRecord>>,
        attachments: BTreeMap<VaultPath, (i64, u64)>,
        resolver: Arc<Resolver>,
        graph: Option<Arc<Graph>>,
        twins: Arc<Vec<VaultPath>>,
    ) -> Self {
        if let Some(graph) = graph {
            return Self {
                fs,
                notes,
                attachments,
                resolver,
                graph,
                indexed_at: Some(SystemTime::now()),
                twins,
            };
        }
        let ids: HashMap<&str, NoteId> = notes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((n.path.as_str(), NoteId::try_from(i).ok()?)))
            .collect();
        let edges: Vec<(NoteId, u32, NoteId)> = notes
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, n)| {
                let ids = &ids;
                n.resolved
                    .iter()
                    .enumerate()
                    .filter_map(move |(link, target)| {
                        let target = ids.get(target.as_ref()?.as_str())?;
                        Some((
                            NoteId::try_from(i).ok()?,
                            u32::try_from(link).ok()?,
                            *target,
                        ))
                    })
            })
            .collect();
        drop(ids);
        let graph = Arc::new(Graph::build(notes.len(), edges));
        Self {
            fs,
            notes,
            attachments,
            resolver,
            graph,
            indexed_at: Some(SystemTime::now()),
            twins,
        }
    }
}

/// The notes of the snapshot being built: the previous snapshot's sorted list plus an overlay
/// of changes, merged once at the end, so a one-file sync costs little more than that file.
struct NoteSet<'a> {
    base: &'a Snapshot,
    /// Changed notes; `None` marks a removal.
    changed: HashMap<VaultPath, Option<Arc<NoteRecord>>>,
}

impl<'a> NoteSet<'a> {
    fn new(base: &'a Snapshot) -> Self {
        Self {
            base,
            changed: HashMap::new(),
        }
    }

    fn get(&self, path: &VaultPath) -> Option<&Arc<NoteRecord>> {
        match self.changed.get(path) {
            Some(entry) => entry.as_ref(),
            None => self
                .base
                .id(path)
                .and_then(|id| self.base.notes.get(id as usize)),
        }
    }

    fn contains(&self, path: &VaultPath) -> bool {
        self.get(path).is_some()
    }

    fn insert(&mut self, record: Arc<NoteRecord>) {
        self.changed.insert(record.path.clone(), Some(record));
    }

    /// Removes a note, returning whether it was there.
    fn remove(&mut self, path: &VaultPath) -> bool {
        let existed = self.contains(path);
        if existed {
            self.changed.insert(path.clone(), None);
        }
        existed
    }

    /// Every note, in no particular order.
    fn iter(&self) -> impl Iterator<Item = &Arc<NoteRecord>> {
        let unchanged = self
            .base
            .notes
            .iter()
            .filter(|n| !self.changed.contains_key(&n.path));
        unchanged.chain(self.changed.values().flatten())
    }

    /// The merged list, sorted by path.
    fn into_sorted(self) -> Vec<Arc<NoteRecord>> {
        // Few changes: patch a copy of the sorted list. Many: collect and sort.
        if self.changed.len() <= 256 {
            let mut notes = self.base.notes.clone();
            for (path, entry) in self.changed {
                match (notes.binary_search_by(|n| n.path.cmp(&path)), entry) {
                    (Ok(i), Some(record)) => {
                        if let Some(slot) = notes.get_mut(i) {
                            *slot = record;
                        }
                    }
                    (Ok(i), None) => {
                        notes.remove(i);
                    }
                    (Err(i), Some(record)) => notes.insert(i, record),
                    (Err(_), None) => {}
                }
            }
            notes
        } else {
            let mut notes: Vec<Arc<NoteRecord>> = self.iter().cloned().collect();
            notes.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
            notes
        }
    }
}

/// Which part of the vault a sync looks at.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Everything: a full reconcile.
    All,
    /// These vault paths (files or folders, existing or deleted) and everything below them.
    Paths(Vec<VaultPath>),
}

impl Scope {
    fn contains(&self, path: &VaultPath) -> bool {
        match self {
            Self::All => true,
            Self::Paths(paths) => paths.iter().any(|p| {
                path == p
                    || path
                        .as_str()
                        .strip_prefix(p.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }),
        }
    }
}

/// An open vault: its files, shadow cache, search index and graph, kept in step.
pub struct Vault {
    root: PathBuf,
    pub(crate) fs: Arc<VaultFs>,
    /// Scopes whose sync failed (a full disk, say), retried by [`Vault::repair`] and before the
    /// next sync.
    repair: Mutex<Repair>,
    cache_dir: Option<PathBuf>,
    rules: IgnoreRules,
    pub(crate) parse_options: ParseOptions,
    snapshot: RwLock<Arc<Snapshot>>,
    pub(crate) store: Mutex<Box<dyn Store>>,
    search: SearchIndex,
    generation: AtomicU64,
    read_only: bool,
    writes: Mutex<()>,
    /// Cluster mode: where writes are committed (see `changes.rs`); unset on one machine.
    log: std::sync::OnceLock<Arc<dyn crate::ChangeLog>>,
    /// Semantic search, once enabled (see `semantic.rs`).
    pub(crate) semantic: std::sync::OnceLock<Arc<crate::semantic::Semantic>>,
    events: broadcast::Sender<VaultEvent>,
    /// The graph layout of the last link graph asked for (see `view.rs`).
    pub(crate) layout: crate::view::LayoutCache,
    _lock: Option<std::fs::File>,
    /// The handle through which the in-vault cache folder is used (see `VaultFs::pin_cache_dir`).
    _cache_handle: Option<std::os::fd::OwnedFd>,
}

/// What a failed sync left to redo.
#[derive(Debug, Default)]
struct Repair {
    all: bool,
    paths: Vec<VaultPath>,
}

impl Repair {
    fn is_empty(&self) -> bool {
        !self.all && self.paths.is_empty()
    }

    fn add(&mut self, scope: &Scope) {
        match scope {
            Scope::All => {
                self.all = true;
                self.paths.clear();
            }
            Scope::Paths(paths) if !self.all => {
                self.paths.extend(paths.iter().cloned());
                self.paths.sort();
                self.paths.dedup();
                if self.paths.len() > 4096 {
                    self.all = true;
                    self.paths.clear();
                }
            }
            Scope::Paths(_) => {}
        }
    }

    /// `scope` widened by what is pending.
    fn widen(&self, scope: &Scope) -> Scope {
        match scope {
            Scope::All => Scope::All,
            _ if self.all => Scope::All,
            Scope::Paths(paths) => {
                let mut all = paths.clone();
                all.extend(self.paths.iter().cloned());
                Scope::Paths(all)
            }
        }
    }
}

/// Something that happened to a vault, for live subscribers (SSE, MCP notifications).
#[derive(Debug, Clone)]
pub enum VaultEvent {
    /// A sync applied these changes (from the watcher, an API write or a reconcile).
    Synced(Arc<SyncReport>),
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("root", &self.root)
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens a vault: checks the folder, opens (or rebuilds) the cache and search index, and
    /// brings them up to date with the files. `progress` is called from this thread only.
    #[tracing::instrument(name = "vault.open", skip_all, fields(root = %options.root.display()))]
    pub fn open(
        options: &VaultOptions,
        progress: &dyn Fn(Progress),
    ) -> Result<(Self, OpenReport), AppError> {
        let started = Instant::now();
        let root = check_root(&options.root)?;
        let fs = VaultFs::open(&root).map_err(|source| AppError::VaultUnreadable {
            path: options.root.clone(),
            source,
        })?;
        let rules = IgnoreRules::new(&root, &options.ignore)?;
        if options.read_only {
            if journal::pending(&fs) {
                tracing::warn!(
                    "the vault has an interrupted move, but it is opened read-only: not finishing it"
                );
            }
        } else {
            // Before anything is indexed: the vault must be on one side of every move.
            journal::recover(&fs);
        }
        let cache_dir = options
            .cache_dir
            .clone()
            .unwrap_or_else(|| root.join(".weaver"));
        let mut cache_handle = None;
        let (store, search, lock, cache, cache_dir) = if options.in_memory {
            let (store, search) = memory_backends()?;
            (store, search, None, CacheState::InMemory, None)
        } else if options.cache_dir.is_none() {
            // The default cache is a folder of the vault: opened like every other one, never
            // through a link, and used through its handle so a swap cannot redirect it.
            match fs.pin_cache_dir() {
                Ok((handle, pinned)) => {
                    let (store, search, lock, cache, used) = open_backends(&pinned)?;
                    cache_handle = Some(handle);
                    (store, search, lock, cache, used.map(|_| cache_dir.clone()))
                }
                Err(error) => {
                    let reason = format!("`.weaver` in the vault cannot be used: {error}");
                    tracing::warn!(%reason, "the cache cannot be used; indexing into memory");
                    let (store, search) = memory_backends()?;
                    (store, search, None, CacheState::Unavailable(reason), None)
                }
            }
        } else {
            open_backends(&cache_dir)?
        };
        let stored_generation = store
            .meta(SEARCH_GENERATION)?
            .and_then(|g| g.parse::<u64>().ok());
        let search_generation = search.generation();
        let opened_at = Instant::now();
        tracing::debug!(rss_mb = rss_mb(), "cache opened");
        let records = store.load_all()?;
        tracing::debug!(
            open_ms = (opened_at - started).as_millis() as u64,
            load_ms = opened_at.elapsed().as_millis() as u64,
            notes = records.len(),
            rss_mb = rss_mb(),
            "cache loaded"
        );
        let search_stale = cache != CacheState::Reused
            || stored_generation.is_none()
            || stored_generation != search_generation;
        let generation = stored_generation.max(search_generation).unwrap_or(0);

        let mut notes: Vec<Arc<NoteRecord>> = records.into_iter().map(Arc::new).collect();
        notes.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
        let resolver = Arc::new(Resolver::new(notes.iter().map(|n| n.path.clone())));
        let fs = Arc::new(fs);
        let initial = Snapshot {
            fs: Arc::clone(&fs),
            notes,
            attachments: BTreeMap::new(),
            resolver,
            graph: Arc::default(),
            indexed_at: None,
            twins: Arc::default(),
        };
        let vault = Self {
            root,
            fs,
            repair: Mutex::new(Repair::default()),
            cache_dir,
            rules,
            parse_options: ParseOptions {
                max_file_bytes: options.max_file_bytes,
            },
            snapshot: RwLock::new(Arc::new(initial)),
            store: Mutex::new(store),
            search,
            generation: AtomicU64::new(generation),
            read_only: options.read_only,
            writes: Mutex::new(()),
            log: std::sync::OnceLock::new(),
            semantic: std::sync::OnceLock::new(),
            events: broadcast::channel(EVENT_BUFFER).0,
            layout: Mutex::new(None),
            _lock: lock,
            _cache_handle: cache_handle,
        };
        let sync = if search_stale {
            vault.rebuild_search(progress)?
        } else {
            vault.sync_files(&Scope::All, progress)?
        };
        let snapshot = vault.snapshot();
        let report = OpenReport {
            cache,
            sync,
            notes: snapshot.notes.len(),
            attachments: snapshot.attachments.len(),
        };
        Ok((vault, report))
    }

    /// The vault folder (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The vault's files, opened safely: every read of a note's bytes goes through this.
    pub fn fs(&self) -> &VaultFs {
        &self.fs
    }

    /// Reads a note's (or attachment's) bytes, never through a symbolic link and never outside
    /// the vault. The one function the REST API, MCP tools and the CLI read files with.
    pub fn read_file(&self, path: &VaultPath) -> Result<Vec<u8>, AppError> {
        self.fs.read(path).map_err(|e| self.fs_error(path, e))
    }

    /// True when a sync failed and its changes are not yet in the index.
    pub fn needs_repair(&self) -> bool {
        !self.lock_repair().is_empty()
    }

    /// Retries what failed syncs left out (see [`Vault::needs_repair`]). The watcher calls this
    /// on a short timer, so the index heals once the cause (a full disk) is gone.
    pub fn repair(&self) -> Result<Option<SyncReport>, AppError> {
        if !self.needs_repair() {
            return Ok(None);
        }
        self.sync(&Scope::Paths(Vec::new())).map(Some)
    }

    fn lock_repair(&self) -> std::sync::MutexGuard<'_, Repair> {
        match self.repair.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Where the cache lives, unless it is in memory.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Subscribes to this vault's events. A subscriber that falls more than a few thousand
    /// events behind is told so (`RecvError::Lagged`) rather than slowing the vault down.
    pub fn subscribe(&self) -> broadcast::Receiver<VaultEvent> {
        self.events.subscribe()
    }

    /// True when the vault was opened read-only: every write fails with [`AppError::ReadOnly`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Takes the vault's write lock (see `write.rs`), refusing when the vault is read-only.
    pub(crate) fn write_guard(&self) -> Result<std::sync::MutexGuard<'_, ()>, AppError> {
        if self.read_only {
            return Err(AppError::ReadOnly);
        }
        Ok(match self.writes.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        })
    }

    /// Cluster mode: from now on every write is committed to `log` first (see `changes.rs`).
    /// Set once, right after opening, before the vault serves writes; a second call is ignored
    /// and returns false.
    pub fn attach_log(&self, log: Arc<dyn crate::ChangeLog>) -> bool {
        self.log.set(log).is_ok()
    }

    /// The change log writes are committed to, in cluster mode.
    pub fn change_log(&self) -> Option<&Arc<dyn crate::ChangeLog>> {
        self.log.get()
    }

    /// The full-text index.
    pub fn search_index(&self) -> &SearchIndex {
        &self.search
    }

    pub(crate) fn ignore_rules(&self) -> &IgnoreRules {
        &self.rules
    }

    /// Brings the index up to date with the files in `scope` (and with whatever an earlier
    /// failed sync left out). A failure is remembered for [`Vault::repair`].
    pub fn sync(&self, scope: &Scope) -> Result<SyncReport, AppError> {
        let scope = {
            let mut pending = self.lock_repair();
            let widened = pending.widen(scope);
            *pending = Repair::default();
            widened
        };
        let result = self.sync_files(&scope, &|_| {});
        if let Err(error) = &result {
            tracing::warn!(%error, "sync failed; it is retried");
            self.lock_repair().add(&scope);
        }
        result
    }

    /// Brings the index up to date with the files in `scope`, re-reading only what changed.
    fn sync_files(
        &self,
        scope: &Scope,
        progress: &dyn Fn(Progress),
    ) -> Result<SyncReport, AppError> {
        self.run_sync(scope, Mode::Incremental, progress)
    }

    /// Re-reads every note and rebuilds the search index from nothing (it was missing, damaged
    /// or of another generation than the cache), bringing the cache up to date on the way.
    fn rebuild_search(&self, progress: &dyn Fn(Progress)) -> Result<SyncReport, AppError> {
        self.run_sync(&Scope::All, Mode::RebuildSearch, progress)
    }

    /// One sync, in phases: [`plan`] (what changed on disk), [`Vault::parse_changed`]
    /// (read, parse and feed the search batch), [`resolve_again`] (links that point elsewhere
    /// now), [`Vault::commit`] (cache and search index, side by side) and [`Vault::publish`]
    /// (the new snapshot, then search, then the event). The store's lock is held throughout, so
    /// syncs never interleave.
    #[tracing::instrument(name = "vault.sync", skip_all, fields(full = matches!(scope, Scope::All)))]
    fn run_sync(
        &self,
        scope: &Scope,
        mode: Mode,
        progress: &dyn Fn(Progress),
    ) -> Result<SyncReport, AppError> {
        let started = Instant::now();
        let mut store = match self.store.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let old = self.snapshot();
        progress(Progress::Scanning);
        let (observed, extras) = self.observe(scope);
        let twins = match extras {
            Some(extras) => {
                if !extras.stale_temps.is_empty() && !self.read_only {
                    self.fs.remove_stale_temps(&extras.stale_temps);
                }
                Arc::new(extras.twins)
            }
            None => Arc::clone(&old.twins),
        };
        let scanned_at = Instant::now();
        let mut plan = plan(&old, scope, &observed, mode);
        let parsed = self.parse_changed(&mut plan, mode, progress)?;
        let unchanged = observed
            .iter()
            .filter(|s| s.path.is_note())
            .count()
            .saturating_sub(parsed.count);
        let parsed_at = Instant::now();
        let resolutions = resolve_again(&mut plan, &parsed.upserts);
        let resolved_at = Instant::now();
        progress(Progress::Writing);
        let any_change = self.commit(
            &mut **store,
            &plan,
            parsed.batch,
            &parsed.upserts,
            &resolutions,
        )?;
        let written_at = Instant::now();
        let changes = self.publish(&old, plan, twins, &parsed.upserts, &resolutions, any_change)?;
        drop(store);
        let report = SyncReport {
            scanned: observed.len(),
            parsed: parsed.count,
            unchanged,
            changes,
            search_rebuilt: matches!(mode, Mode::RebuildSearch),
            elapsed: started.elapsed(),
        };
        if !report.changes.is_empty() {
            // No subscriber is fine; a send only fails when nobody listens.
            let _ = self
                .events
                .send(VaultEvent::Synced(Arc::new(report.clone())));
        }
        tracing::debug!(
            scanned = report.scanned,
            parsed = report.parsed,
            changes = report.changes.len(),
            elapsed_ms = report.elapsed.as_millis() as u64,
            scan_ms = (scanned_at - started).as_millis() as u64,
            parse_ms = (parsed_at - scanned_at).as_millis() as u64,
            resolve_ms = (resolved_at - parsed_at).as_millis() as u64,
            write_ms = (written_at - resolved_at).as_millis() as u64,
            snapshot_ms = written_at.elapsed().as_millis() as u64,
            rss_mb = rss_mb(),
            "vault synced"
        );
        Ok(report)
    }

    /// Parse phase: reads and parses the notes to read in parallel chunks, feeding the search
    /// index as it goes so note texts never pile up in memory. A note that vanished or cannot
    /// be read is treated as gone.
    fn parse_changed(
        &self,
        plan: &mut Plan<'_>,
        mode: Mode,
        progress: &dyn Fn(Progress),
    ) -> Result<Parsed<'_>, AppError> {
        let mut batch = None;
        if matches!(mode, Mode::RebuildSearch) {
            let b = batch.insert(self.search.batch()?);
            b.delete_all()?;
        }
        for path in &plan.removed_notes {
            let b = match batch.as_mut() {
                Some(b) => b,
                None => batch.insert(self.search.batch()?),
            };
            b.delete(path.as_str())?;
        }
        let mut upserts: Vec<Arc<NoteRecord>> = Vec::new();
        let mut count = 0;
        let total = plan.to_read.len();
        let to_read = std::mem::take(&mut plan.to_read);
        for chunk in to_read.chunks(CHUNK) {
            progress(Progress::Parsing { done: count, total });
            let results: Vec<Option<(NoteRecord, String)>> = chunk
                .par_iter()
                .map(|stat| self.parse_file(stat, &plan.resolver))
                .collect();
            for (stat, result) in chunk.iter().zip(results) {
                let Some((record, text)) = result else {
                    if plan.notes.remove(&stat.path) {
                        plan.files_changed = true;
                        plan.changed_names.insert(link_name(&stat.path));
                        plan.changes.push(Change {
                            path: stat.path.clone(),
                            kind: ChangeKind::Deleted,
                        });
                        let b = match batch.as_mut() {
                            Some(b) => b,
                            None => batch.insert(self.search.batch()?),
                        };
                        b.delete(stat.path.as_str())?;
                    }
                    continue;
                };
                count += 1;
                let previous = plan.notes.get(&record.path);
                let content_changed = previous.is_none_or(|p| p.meta.hash != record.meta.hash);
                if content_changed || matches!(mode, Mode::RebuildSearch) {
                    let b = match batch.as_mut() {
                        Some(b) => b,
                        None => batch.insert(self.search.batch()?),
                    };
                    b.upsert(&search_doc(&record, &text))?;
                }
                if content_changed {
                    plan.changes.push(Change {
                        path: record.path.clone(),
                        kind: if previous.is_some() {
                            ChangeKind::Modified
                        } else {
                            ChangeKind::Created
                        },
                    });
                }
                let record = Arc::new(record);
                plan.notes.insert(Arc::clone(&record));
                upserts.push(record);
            }
        }
        Ok(Parsed {
            batch,
            upserts,
            count,
        })
    }

    /// Commit phase: the cache and the search index, side by side, under a new generation.
    /// Returns whether anything was written.
    fn commit(
        &self,
        store: &mut dyn Store,
        plan: &Plan<'_>,
        batch: Option<weaver_search::IndexBatch<'_>>,
        upserts: &[Arc<NoteRecord>],
        resolutions: &[(VaultPath, u32, Option<VaultPath>)],
    ) -> Result<bool, AppError> {
        let any_change = batch.is_some() || !upserts.is_empty() || !resolutions.is_empty();
        if !any_change {
            return Ok(false);
        }
        let generation = self.generation.load(Ordering::SeqCst) + 1;
        let changeset = ChangeSet {
            upserts: upserts.iter().map(Arc::as_ref).collect(),
            deletes: plan.removed_notes.iter().collect(),
            resolutions: resolutions
                .iter()
                .map(|(p, l, t)| (p, *l, t.as_ref()))
                .collect(),
            meta: vec![(SEARCH_GENERATION, generation.to_string())],
        };
        // The two commits run side by side: either may land first, and a crash between them
        // leaves different generations, which the next open detects and repairs.
        let applied = std::thread::scope(|scope| {
            let writer = scope.spawn(|| store.apply(&changeset));
            let committed = batch.map_or(Ok(()), |b| b.commit_deferred(generation));
            let applied = writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            committed
                .map_err(AppError::from)
                .and(applied.map_err(AppError::from))
        });
        applied?;
        self.generation.store(generation, Ordering::SeqCst);
        Ok(true)
    }

    /// Publish phase: the new snapshot replaces the old one, and only then does search see the
    /// changes, so a hit never names a note the snapshot lacks. Returns the changes.
    fn publish(
        &self,
        old: &Snapshot,
        plan: Plan<'_>,
        twins: Arc<Vec<VaultPath>>,
        upserts: &[Arc<NoteRecord>],
        resolutions: &[(VaultPath, u32, Option<VaultPath>)],
        any_change: bool,
    ) -> Result<Vec<Change>, AppError> {
        // Most saves edit text, not links: then the graph of the previous snapshot still holds.
        let same_links = !plan.files_changed
            && resolutions.is_empty()
            && upserts.iter().all(|r| {
                old.get(&r.path).is_some_and(|o| {
                    o.resolved == r.resolved && o.note.links.len() == r.note.links.len()
                })
            });
        let graph = (same_links && !old.graph.is_empty()).then(|| Arc::clone(&old.graph));
        let snapshot = Arc::new(Snapshot::build(
            Arc::clone(&self.fs),
            plan.notes.into_sorted(),
            plan.attachments,
            plan.resolver,
            graph,
            twins,
        ));
        match self.snapshot.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        if any_change {
            self.search.reload()?;
        }
        Ok(plan.changes)
    }

    /// Lists the files in `scope` as they are on disk now, through the vault's directory
    /// handle: a path reached through a symbolic link (a watcher event under a linked folder)
    /// is not there.
    fn observe(&self, scope: &Scope) -> (Vec<FileStat>, Option<WalkExtras>) {
        let keep = |relative: &str, is_dir: bool| !self.rules.is_ignored(relative, is_dir);
        let stat = |found: Found| FileStat {
            path: found.path,
            mtime_ns: found.entry.mtime_ns,
            size: found.entry.size,
        };
        match scope {
            Scope::All => {
                let (found, extras) = self.fs.walk(None, &keep);
                (found.into_iter().map(stat).collect(), Some(extras))
            }
            Scope::Paths(paths) => {
                let mut found = Vec::new();
                for path in paths {
                    if self.rules.is_ignored(path.as_str(), false) {
                        continue;
                    }
                    match self.fs.stat(path) {
                        Ok(Some(entry))
                            if entry.is_dir() && !self.rules.is_ignored(path.as_str(), true) =>
                        {
                            found.extend(self.fs.walk(Some(path), &keep).0.into_iter().map(stat));
                        }
                        Ok(Some(entry)) if entry.is_file() => found.push(FileStat {
                            path: path.clone(),
                            mtime_ns: entry.mtime_ns,
                            size: entry.size,
                        }),
                        // Gone, a link, or behind a link: not part of the vault.
                        _ => {}
                    }
                }
                found.sort_unstable_by(|a, b| a.path.cmp(&b.path));
                found.dedup_by(|a, b| a.path == b.path);
                (found, None)
            }
        }
    }

    /// Reads, hashes and parses one note; `None` when it cannot be read.
    fn parse_file(&self, stat: &FileStat, resolver: &Resolver) -> Option<(NoteRecord, String)> {
        let (mut note, hash, size) = if stat.size > self.parse_options.max_file_bytes {
            (
                too_large(&stat.path, stat.size, self.parse_options.max_file_bytes),
                format!("size:{}:{}", stat.size, stat.mtime_ns),
                stat.size,
            )
        } else {
            let bytes = match self
                .fs
                .read_limited(&stat.path, self.parse_options.max_file_bytes)
            {
                Ok(bytes) => bytes,
                // Replaced by a link, or grown past the limit since the walk: the next sync
                // sees it as it is.
                Err(FsError::NotFound | FsError::Symlink | FsError::WrongType) => return None,
                Err(FsError::TooLarge(size)) => {
                    return self.parse_file(
                        &FileStat {
                            size,
                            ..stat.clone()
                        },
                        resolver,
                    );
                }
                Err(error) => {
                    tracing::warn!(path = %stat.path, %error, "cannot read note");
                    return None;
                }
            };
            let note = parse_note(&stat.path, &bytes, &self.parse_options);
            (note, content_hash(&bytes), bytes.len() as u64)
        };
        let text = std::mem::take(&mut note.text);
        let resolved = note
            .links
            .iter()
            .map(|l| {
                resolver
                    .resolve(&stat.path, &l.target)
                    .and_then(|id| resolver.path(id))
                    .cloned()
            })
            .collect();
        let record = NoteRecord {
            path: stat.path.clone(),
            meta: FileMeta {
                mtime_ns: stat.mtime_ns,
                size,
                hash,
            },
            note,
            resolved,
        };
        Some((record, text))
    }
}

/// Whether a sync re-reads what changed or everything.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Only files whose size or modification time changed are read again.
    Incremental,
    /// Every note is read again and the search index is rebuilt from nothing.
    RebuildSearch,
}

/// What a sync found changed on disk, and the state it builds up phase by phase.
struct Plan<'a> {
    /// The notes as they will be: the old snapshot's, with changes.
    notes: NoteSet<'a>,
    attachments: BTreeMap<VaultPath, (i64, u64)>,
    changes: Vec<Change>,
    /// Notes to read and parse (taken by the parse phase).
    to_read: Vec<FileStat>,
    removed_notes: Vec<VaultPath>,
    /// Whether a file appeared or disappeared (so links may resolve differently).
    files_changed: bool,
    /// Folded names of files that appeared or disappeared: only links whose target ends in one
    /// of these names can resolve differently now.
    changed_names: HashSet<String>,
    /// The resolver of the files as they will be.
    resolver: Arc<Resolver>,
}

/// What the parse phase produced.
struct Parsed<'a> {
    /// The search index's pending changes, if any.
    batch: Option<weaver_search::IndexBatch<'a>>,
    /// Every note read and parsed.
    upserts: Vec<Arc<NoteRecord>>,
    /// How many notes were parsed.
    count: usize,
}

/// Plan phase: compares the files `observed` in `scope` with the `old` snapshot, file by file.
fn plan<'a>(old: &'a Snapshot, scope: &Scope, observed: &[FileStat], mode: Mode) -> Plan<'a> {
    let mut notes = NoteSet::new(old);
    let mut attachments = old.attachments.clone();
    let mut changes = Vec::new();
    let mut to_read: Vec<FileStat> = Vec::new();
    let mut seen: HashSet<&VaultPath> = HashSet::with_capacity(observed.len());
    let mut files_changed = false;
    let mut changed_names: HashSet<String> = HashSet::new();
    for stat in observed {
        seen.insert(&stat.path);
        if stat.path.is_note() {
            match notes.get(&stat.path) {
                Some(old) if matches!(mode, Mode::Incremental) && same_file(&old.meta, stat) => {}
                _ => to_read.push(stat.clone()),
            }
        } else {
            match attachments.insert(stat.path.clone(), (stat.mtime_ns, stat.size)) {
                // Attachments are not cached, so the first sync after opening sees them all
                // as new: only later syncs report them as created.
                None if old.indexed_at.is_none() => {
                    files_changed = true;
                    changed_names.insert(fold_name(stat.path.file_name()));
                }
                None => {
                    files_changed = true;
                    changed_names.insert(fold_name(stat.path.file_name()));
                    changes.push(Change {
                        path: stat.path.clone(),
                        kind: ChangeKind::Created,
                    });
                }
                Some(previous) if previous != (stat.mtime_ns, stat.size) => {
                    changes.push(Change {
                        path: stat.path.clone(),
                        kind: ChangeKind::Modified,
                    });
                }
                Some(_) => {}
            }
        }
    }
    let removed_notes: Vec<VaultPath> = old
        .notes
        .iter()
        .map(|n| &n.path)
        .filter(|p| scope.contains(p) && !seen.contains(p))
        .cloned()
        .collect();
    let removed_attachments: Vec<VaultPath> = attachments
        .keys()
        .filter(|p| scope.contains(p) && !seen.contains(p))
        .cloned()
        .collect();
    for path in &removed_notes {
        notes.remove(path);
    }
    for path in &removed_attachments {
        attachments.remove(path);
    }
    files_changed |= !removed_notes.is_empty() || !removed_attachments.is_empty();
    for path in removed_notes.iter().chain(&removed_attachments) {
        changed_names.insert(link_name(path));
    }
    changes.extend(
        removed_notes
            .iter()
            .chain(&removed_attachments)
            .map(|path| Change {
                path: path.clone(),
                kind: ChangeKind::Deleted,
            }),
    );
    for stat in to_read.iter().filter(|s| !notes.contains(&s.path)) {
        files_changed = true;
        changed_names.insert(link_name(&stat.path));
    }
    // The resolver only depends on which files exist.
    let resolver = if files_changed {
        let reading: HashSet<&VaultPath> = to_read.iter().map(|s| &s.path).collect();
        Arc::new(Resolver::new(
            notes
                .iter()
                .map(|n| &n.path)
                .filter(|p| !reading.contains(p))
                .chain(to_read.iter().map(|s| &s.path))
                .chain(attachments.keys())
                .cloned(),
        ))
    } else {
        Arc::clone(&old.resolver)
    };
    Plan {
        notes,
        attachments,
        changes,
        to_read,
        removed_notes,
        files_changed,
        changed_names,
        resolver,
    }
}

/// Resolve phase: a new or deleted file can change where the links of notes that were not
/// read again point. Updates those notes in `plan` and returns every changed resolution.
fn resolve_again(
    plan: &mut Plan<'_>,
    upserts: &[Arc<NoteRecord>],
) -> Vec<(VaultPath, u32, Option<VaultPath>)> {
    let mut resolutions = Vec::new();
    if !plan.files_changed {
        return resolutions;
    }
    let upserted: HashSet<&VaultPath> = upserts.iter().map(|r| &r.path).collect();
    let candidates: Vec<&Arc<NoteRecord>> = plan
        .notes
        .iter()
        .filter(|n| !upserted.contains(&n.path))
        .collect();
    let updates: Vec<(Arc<NoteRecord>, Vec<LinkResolution>)> = candidates
        .par_iter()
        .filter_map(|record| {
            let diffs = re_resolve(record, &plan.resolver, &plan.changed_names);
            (!diffs.is_empty()).then(|| (Arc::clone(record), diffs))
        })
        .collect();
    drop(candidates);
    for (record, diffs) in updates {
        let mut updated = NoteRecord::clone(&record);
        for (link, target) in &diffs {
            if let Some(slot) = updated.resolved.get_mut(*link as usize) {
                slot.clone_from(target);
            }
        }
        let path = updated.path.clone();
        plan.notes.insert(Arc::new(updated));
        resolutions.extend(diffs.into_iter().map(|(l, t)| (path.clone(), l, t)));
    }
    resolutions
}

fn same_file(meta: &FileMeta, stat: &FileStat) -> bool {
    meta.mtime_ns == stat.mtime_ns && meta.size == stat.size
}

fn too_large(path: &VaultPath, size: u64, limit: u64) -> ParsedNote {
    ParsedNote {
        title: path.stem().to_owned(),
        diagnostics: vec![Diagnostic {
            code: DiagnosticCode::FileTooLarge,
            message: format!("file is {size} bytes, over the limit of {limit} bytes; not parsed"),
            line: None,
        }],
        ..ParsedNote::default()
    }
}

/// A link index and where that link now resolves.
type LinkResolution = (u32, Option<VaultPath>);

/// The folded name a link to `path` ends with: the file name, without `.md` for notes.
fn link_name(path: &VaultPath) -> String {
    if path.is_note() {
        fold_name(path.stem())
    } else {
        fold_name(path.file_name())
    }
}

/// Could a link with this target point at a file named one of `names` (folded)? Cheap for the
/// common case: an ASCII target whose length matches no name is rejected without allocating.
fn may_name_one_of(target: &str, names: &HashSet<String>) -> bool {
    let target = target.trim();
    if target.is_empty() || names.is_empty() {
        return false;
    }
    let last = target.rsplit(['/', '\\']).next().unwrap_or(target);
    if last.is_ascii() && names.len() <= 64 {
        return names.iter().any(|name| {
            let n = name.len();
            (last.len() == n && last.eq_ignore_ascii_case(name))
                || (last.len() == n + 3
                    && last.get(..n).is_some_and(|s| s.eq_ignore_ascii_case(name))
                    && last.get(n..).is_some_and(|s| s.eq_ignore_ascii_case(".md")))
        });
    }
    let folded = fold_name(last);
    names.contains(&folded)
        || folded
            .strip_suffix(".md")
            .is_some_and(|s| names.contains(s))
}

/// Links of `record` whose resolution differs under `resolver`, looking only at links whose
/// target's last segment (with or without `.md`) is one of `names`.
fn re_resolve(
    record: &NoteRecord,
    resolver: &Resolver,
    names: &HashSet<String>,
) -> Vec<LinkResolution> {
    record
        .note
        .links
        .iter()
        .zip(&record.resolved)
        .enumerate()
        .filter(|(_, (link, _))| may_name_one_of(&link.target, names))
        .filter_map(|(i, (link, current))| {
            let now = resolver
                .resolve(&record.path, &link.target)
                .and_then(|id| resolver.path(id));
            (now != current.as_ref()).then(|| Some((u32::try_from(i).ok()?, now.cloned())))?
        })
        .collect()
}

fn search_doc<'a>(record: &'a NoteRecord, text: &'a str) -> SearchDoc<'a> {
    SearchDoc {
        path: record.path.as_str(),
        title: &record.note.title,
        aliases: &record.note.aliases,
        headings: record
            .note
            .headings
            .iter()
            .map(|h| h.text.as_str())
            .collect(),
        tags: record.note.tags.iter().map(|t| t.name.as_str()).collect(),
        body: text,
        frontmatter: record.note.frontmatter.as_ref(),
        modified: record.meta.mtime_ns / 1_000_000,
    }
}

fn check_root(root: &Path) -> Result<PathBuf, AppError> {
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(AppError::VaultNotADirectory(root.to_path_buf())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppError::VaultNotFound(root.to_path_buf()));
        }
        Err(source) => {
            return Err(AppError::VaultUnreadable {
                path: root.to_path_buf(),
                source,
            });
        }
    }
    let canonical = std::fs::canonicalize(root).map_err(|source| AppError::VaultUnreadable {
        path: root.to_path_buf(),
        source,
    })?;
    std::fs::read_dir(&canonical).map_err(|source| AppError::VaultUnreadable {
        path: root.to_path_buf(),
        source,
    })?;
    Ok(canonical)
}

type Backends = (
    Box<dyn Store>,
    SearchIndex,
    Option<std::fs::File>,
    CacheState,
    Option<PathBuf>,
);

fn memory_backends() -> Result<(Box<dyn Store>, SearchIndex), AppError> {
    let store: Box<dyn Store> = Box::new(SqliteStore::open_in_memory()?);
    Ok((store, SearchIndex::in_memory()?))
}

/// Opens the on-disk cache, healing what can be healed and falling back to memory otherwise:
/// never does a cache problem keep the vault from opening (the cache is disposable).
///
/// - Another process holds the cache: memory ([`CacheState::InUse`]).
/// - An entry inside the cache folder is damaged or of the wrong kind (a file where the search
///   index's folder should be, an empty folder where the database should be): it is removed and
///   created afresh ([`CacheState::Rebuilt`]).
/// - Anything else (the folder cannot be created: read-only file system, no permission, a file
///   in its place; an entry that cannot be removed): memory, with a warning
///   ([`CacheState::Unavailable`]).
fn open_backends(cache_dir: &Path) -> Result<Backends, AppError> {
    match open_on_disk(cache_dir) {
        Ok(backends) => Ok(backends),
        Err(err) => {
            let reason = err.to_string();
            tracing::warn!(
                cache = %cache_dir.display(),
                error = %reason,
                "the cache cannot be used; indexing into memory"
            );
            let (store, search) = memory_backends()?;
            Ok((store, search, None, CacheState::Unavailable(reason), None))
        }
    }
}

fn open_on_disk(cache_dir: &Path) -> Result<Backends, AppError> {
    fs_err::create_dir_all(cache_dir).map_err(|e| AppError::io(cache_dir, e))?;
    let lock_path = cache_dir.join("lock");
    let open_lock = || {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
    };
    let lock = match open_lock() {
        Ok(lock) => lock,
        // A regular lock file may be another process's: only something else is cleared.
        Err(err) if std::fs::symlink_metadata(&lock_path).is_ok_and(|m| !m.is_file()) => {
            clear_entry(&lock_path).map_err(|_| AppError::io(&lock_path, err))?;
            open_lock().map_err(|e| AppError::io(&lock_path, e))?
        }
        Err(err) => return Err(AppError::io(&lock_path, err)),
    };
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            tracing::warn!(
                cache = %cache_dir.display(),
                "the cache is in use by another weaver process; indexing into memory"
            );
            let (store, search) = memory_backends()?;
            return Ok((store, search, None, CacheState::InUse, None));
        }
        Err(std::fs::TryLockError::Error(err)) => return Err(AppError::io(&lock_path, err)),
    }
    // The lock is held: what is inside the folder is this process's to remove.
    let mut rebuilt = None;
    let store_path = cache_dir.join("cache.sqlite");
    let (store, outcome) = match SqliteStore::open(&store_path) {
        Ok(opened) => opened,
        Err(err) => {
            tracing::warn!(error = %err, "the note cache cannot be opened; creating it afresh");
            SqliteStore::delete_files(&store_path).map_err(|_| err)?;
            rebuilt = Some("the note cache could not be opened".to_owned());
            SqliteStore::open(&store_path)?
        }
    };
    let search_path = cache_dir.join("search");
    let (search, opened) = match SearchIndex::open(&search_path) {
        Ok(opened) => opened,
        // A folder is the index's to judge (it refuses to wipe files it did not write); a file
        // or link in its place is only in the way.
        Err(err) if std::fs::symlink_metadata(&search_path).is_ok_and(|m| !m.is_dir()) => {
            tracing::warn!(error = %err, "the search index cannot be opened; creating it afresh");
            clear_entry(&search_path).map_err(|_| err)?;
            rebuilt = Some("the search index could not be opened".to_owned());
            SearchIndex::open(&search_path)?
        }
        Err(err) => return Err(err.into()),
    };
    let mut cache = match outcome {
        OpenOutcome::Opened => CacheState::Reused,
        OpenOutcome::Created => CacheState::Created,
        OpenOutcome::Rebuilt { reason } => {
            tracing::warn!(reason = %reason, "the cache was unusable and is rebuilt from the files");
            CacheState::Rebuilt(reason)
        }
    };
    if opened.rebuilt && cache == CacheState::Reused {
        cache = CacheState::Rebuilt("the search index was unusable".to_owned());
    }
    if let Some(reason) = rebuilt
        && !matches!(cache, CacheState::Rebuilt(_))
    {
        cache = CacheState::Rebuilt(reason);
    }
    let store: Box<dyn Store> = Box::new(store);
    Ok((
        store,
        search,
        Some(lock),
        cache,
        Some(cache_dir.to_path_buf()),
    ))
}

/// Removes a file or link, or an empty folder, at `path`; never a folder's contents.
fn clear_entry(path: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path)?.is_dir() {
        std::fs::remove_dir(path)
    } else {
        std::fs::remove_file(path)
    }
}

/// Resident memory in MiB, for debug logs (Linux; 0 elsewhere).
fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb / 1024)
}
