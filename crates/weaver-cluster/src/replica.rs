//! A replica: connects to the database, bootstraps local copies of the vaults, follows the
//! change log, and says whether it is caught up.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};

use postgres::Client;
use postgres::fallible_iterator::FallibleIterator;
use serde::Serialize;
use weaver_app::Vault;
use weaver_core::{VaultPath, content_hash};

use crate::log::{self, PgLog};
use crate::{ClusterConfig, ClusterError, db, schema};

/// The notification channel entries are announced on (the payload is the vault's name).
pub const CHANNEL: &str = "weaver_changes";

/// One vault a replica serves, as it follows the log.
#[derive(Debug)]
pub struct Follower {
    pub(crate) name: String,
    vault: RwLock<Weak<Vault>>,
    /// The last entry applied to the copy; held while applying, so entries apply once, in
    /// order, whether the follower thread or a write applies them.
    applied: Mutex<u64>,
    seq: tokio::sync::watch::Sender<u64>,
    head: Mutex<u64>,
    caught_up_at: Mutex<Option<Instant>>,
    broken: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Follower {
    pub(crate) fn lock_applied(&self) -> MutexGuard<'_, u64> {
        lock(&self.applied)
    }

    /// Announces that `seq` is applied (for `Weaver-Min-Seq` waits and metrics).
    pub(crate) fn published(&self, seq: u64) {
        self.seq.send_replace(seq);
        let mut head = lock(&self.head);
        *head = (*head).max(seq);
        metrics::gauge!("weaver_cluster_applied_seq", "vault" => self.name.clone()).set(seq as f64);
    }

    /// Stops applying: the replica turns unready and says why, loudly.
    pub(crate) fn mark_broken(&self, reason: String) {
        tracing::error!(vault = %self.name, %reason, "cluster: the vault's copy stopped following the log; restart the replica to rebuild it");
        *lock(&self.broken) = Some(reason);
    }

    fn vault(&self) -> Option<Arc<Vault>> {
        match self.vault.read() {
            Ok(guard) => guard.upgrade(),
            Err(poisoned) => poisoned.into_inner().upgrade(),
        }
    }
}

/// How one vault of a replica stands.
#[derive(Debug, Clone, Serialize)]
pub struct VaultStatus {
    /// The vault.
    pub name: String,
    /// The last entry applied to the local copy.
    pub applied: u64,
    /// The head last seen in the database.
    pub head: u64,
    /// Milliseconds since the copy was last known to be caught up (`None`: never).
    pub stale_ms: Option<u64>,
    /// Why the copy stopped following the log, if it did.
    pub broken: Option<String>,
}

/// How a replica stands, for `/readyz` and metrics.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaStatus {
    /// This replica's id.
    pub replica_id: String,
    /// Ready: connected once, every vault open and caught up within `max_staleness_ms`.
    pub ready: bool,
    /// Why it is not ready, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Each vault.
    pub vaults: Vec<VaultStatus>,
}

/// A cluster replica.
pub struct Replica {
    config: ClusterConfig,
    /// The connection writes commit through (reconnected when it breaks).
    writer: Mutex<Option<Client>>,
    /// The vaults in the database, once the first connection listed them.
    names: RwLock<Option<Vec<String>>>,
    followers: RwLock<BTreeMap<String, Arc<Follower>>>,
    last_error: Mutex<Option<String>>,
    stop: AtomicBool,
    /// Bumped whenever the list of vaults in the database changes (a vault imported while the
    /// replica runs), so the server opens it.
    names_changed: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Replica {
    /// A replica for `config`; nothing is connected yet.
    pub fn new(config: ClusterConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            writer: Mutex::new(None),
            names: RwLock::new(None),
            followers: RwLock::new(BTreeMap::new()),
            last_error: Mutex::new(None),
            stop: AtomicBool::new(false),
            names_changed: tokio::sync::watch::Sender::new(0),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Connects (retrying with back-off until it works or `stop` is called), migrates the
    /// schema and lists the vaults. Blocking. A schema newer than this binary is an error that
    /// retrying cannot fix, returned at once.
    pub fn connect(&self) -> Result<Vec<String>, ClusterError> {
        let mut delay = Duration::from_millis(200);
        loop {
            match self.try_connect() {
                Ok(names) => {
                    *lock(&self.last_error) = None;
                    return Ok(names);
                }
                Err(e @ ClusterError::SchemaTooNew { .. }) => {
                    *lock(&self.last_error) = Some(e.to_string());
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_ms = delay.as_millis() as u64, "cluster: cannot reach the database; retrying");
                    *lock(&self.last_error) = Some(e.to_string());
                }
            }
            if self.sleep(delay) {
                return Err(ClusterError::Unavailable("stopped".to_owned()));
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    fn try_connect(&self) -> Result<Vec<String>, ClusterError> {
        let mut client = db::connect(&self.config.postgres_url)?;
        schema::migrate(&mut client)?;
        let names: Vec<String> = client
            .query("SELECT name FROM weaver_vaults ORDER BY name", &[])?
            .iter()
            .map(|row| row.get(0))
            .collect();
        *lock(&self.writer) = Some(client);
        if let Ok(mut guard) = self.names.write() {
            *guard = Some(names.clone());
        }
        Ok(names)
    }

    /// The vaults in the database, once connected.
    pub fn vault_names(&self) -> Option<Vec<String>> {
        self.names.read().ok().and_then(|g| g.clone())
    }

    /// Changes whenever [`Replica::vault_names`] does after the first connection.
    pub fn subscribe_names(&self) -> tokio::sync::watch::Receiver<u64> {
        self.names_changed.subscribe()
    }

    /// Reads the vault list again; a change is announced to [`Replica::subscribe_names`].
    fn refresh_names(&self, client: &mut Client) -> Result<(), ClusterError> {
        let names: Vec<String> = client
            .query("SELECT name FROM weaver_vaults ORDER BY name", &[])?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let changed = self.vault_names().is_some_and(|known| known != names);
        if changed {
            tracing::info!(vaults = ?names, "cluster: the vaults in the database changed");
            if let Ok(mut guard) = self.names.write() {
                *guard = Some(names);
            }
            self.names_changed.send_modify(|v| *v += 1);
        }
        Ok(())
    }

    /// Sleeps up to `d`, returning true when the replica is stopping.
    fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.stop.load(Ordering::Relaxed) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
        self.stop.load(Ordering::Relaxed)
    }

    /// Runs `f` on the write connection, connecting first if needed; a connection that broke is
    /// dropped so the next write reconnects.
    pub(crate) fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, ClusterError>,
    ) -> Result<T, ClusterError> {
        let mut guard = lock(&self.writer);
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(db::connect(&self.config.postgres_url)?);
        }
        let Some(client) = guard.as_mut() else {
            return Err(ClusterError::Unavailable("no connection".to_owned()));
        };
        let result = f(client);
        if client.is_closed() {
            *guard = None;
        }
        result
    }

    /// Makes the local copy of vault `name` equal to the database's files (fetching only what
    /// differs, removing what the database does not have) and returns the head it reflects.
    /// Blocking; run before the vault is opened.
    pub fn bootstrap(&self, name: &str) -> Result<u64, ClusterError> {
        let root = self.config.vault_dir(name);
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(self.config.cache_dir(name))?;
        let started = Instant::now();
        let (head, fetched, removed) = self.with_writer(|client| {
            let mut tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let Some(head) = log::head(&mut tx, name, false)? else {
                return Err(ClusterError::UnknownVault(name.to_owned()));
            };
            let files: Vec<(String, String)> = tx
                .query(
                    "SELECT path, hash FROM weaver_files WHERE vault = $1",
                    &[&name],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            let mut local = local_files(&root)?;
            let mut wanted: Vec<(PathBuf, String)> = Vec::new();
            for (path, hash) in &files {
                let path = VaultPath::normalize(path).map_err(|e| ClusterError::BrokenLog {
                    vault: name.to_owned(),
                    reason: format!("bad path in the files table: {e}"),
                })?;
                let file = root.join(path.as_str());
                match local.remove(&file) {
                    Some(have) if have == *hash => {}
                    _ => wanted.push((file, hash.clone())),
                }
            }
            let fetched = wanted.len();
            for chunk in wanted.chunks(500) {
                let hashes: Vec<&str> = chunk.iter().map(|(_, h)| h.as_str()).collect();
                let blobs = log::blobs(&mut tx, name, &hashes)?;
                for (file, hash) in chunk {
                    let bytes = blobs.get(hash).ok_or_else(|| ClusterError::BrokenLog {
                        vault: name.to_owned(),
                        reason: format!("no bytes for hash {hash}"),
                    })?;
                    write_file(file, bytes)?;
                }
            }
            let removed = local.len();
            for file in local.keys() {
                std::fs::remove_file(file)?;
            }
            tx.commit()?;
            Ok((head, fetched, removed))
        })?;
        tracing::info!(vault = %name, head, fetched, removed, elapsed_ms = started.elapsed().as_millis() as u64, "cluster: local copy bootstrapped");
        Ok(head)
    }

    /// Starts following vault `name` (just opened over its bootstrapped copy at `head`) and
    /// attaches the change log its writes commit to.
    pub fn follow(self: &Arc<Self>, name: &str, vault: &Arc<Vault>, head: u64) {
        let follower = Arc::new(Follower {
            name: name.to_owned(),
            vault: RwLock::new(Arc::downgrade(vault)),
            applied: Mutex::new(head),
            seq: tokio::sync::watch::Sender::new(head),
            head: Mutex::new(head),
            caught_up_at: Mutex::new(Some(Instant::now())),
            broken: Mutex::new(None),
        });
        follower.published(head);
        vault.attach_log(Arc::new(PgLog {
            replica: Arc::clone(self),
            follower: Arc::clone(&follower),
        }));
        if let Ok(mut map) = self.followers.write() {
            map.insert(name.to_owned(), follower);
        }
    }

    /// Stops following vault `name` (it closed).
    pub fn unfollow(&self, name: &str) {
        if let Ok(mut map) = self.followers.write() {
            map.remove(name);
        }
    }

    /// Starts the thread that follows the log for every followed vault: woken by `LISTEN`,
    /// polling every `poll_interval_ms` too. It ends when [`Replica::stop`] is called.
    pub fn spawn_follower(self: &Arc<Self>) -> std::io::Result<std::thread::JoinHandle<()>> {
        let replica = Arc::clone(self);
        std::thread::Builder::new()
            .name("weaver-cluster-follow".to_owned())
            .spawn(move || replica.follow_loop())
    }

    /// Asks the follower thread and any connection retry to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn follow_loop(&self) {
        let mut listener: Option<Client> = None;
        let mut delay = Duration::from_millis(200);
        while !self.stop.load(Ordering::Relaxed) {
            if listener.as_ref().is_none_or(Client::is_closed) {
                match db::connect(&self.config.postgres_url).and_then(|mut c| {
                    c.batch_execute(&format!("LISTEN {CHANNEL}"))?;
                    Ok(c)
                }) {
                    Ok(client) => {
                        listener = Some(client);
                        delay = Duration::from_millis(200);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster: cannot follow the log; retrying");
                        *lock(&self.last_error) = Some(e.to_string());
                        if self.sleep(delay) {
                            return;
                        }
                        delay = (delay * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            }
            let Some(client) = listener.as_mut() else {
                continue;
            };
            // Wait for a notification (or the poll interval), then drain the rest.
            let woken = {
                let mut notifications = client.notifications();
                let first = notifications
                    .timeout_iter(self.config.poll_interval())
                    .next()
                    .map(drop);
                if first.is_ok() {
                    while let Ok(Some(_)) = notifications.iter().next() {}
                }
                first
            };
            if let Err(e) = woken {
                tracing::warn!(error = %db::describe(&e), "cluster: the log connection broke; reconnecting");
                listener = None;
                continue;
            }
            let followers: Vec<Arc<Follower>> = self
                .followers
                .read()
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default();
            if let Err(e) = self.refresh_names(client) {
                tracing::warn!(error = %e, "cluster: cannot list the vaults");
            }
            for follower in followers {
                if let Err(e) = self.catch_up(client, &follower) {
                    match e {
                        ClusterError::BrokenLog { .. } => follower.mark_broken(e.to_string()),
                        other => {
                            tracing::warn!(vault = %follower.name, error = %other, "cluster: cannot read the log");
                            *lock(&self.last_error) = Some(other.to_string());
                        }
                    }
                }
            }
            if client.is_closed() {
                listener = None;
            }
        }
    }

    /// Applies every entry of `follower`'s vault after the one it has, up to the head.
    fn catch_up(&self, client: &mut Client, follower: &Follower) -> Result<(), ClusterError> {
        if lock(&follower.broken).is_some() {
            return Ok(());
        }
        let Some(vault) = follower.vault() else {
            return Ok(());
        };
        let checked_at = Instant::now();
        // The applied lock first: a write of this replica commits and applies under it, so the
        // head read after it is never older than the copy (read before it, a write committed
        // in between would look like a database gone back in time).
        let mut applied = follower.lock_applied();
        let Some(head) = log::head(client, &follower.name, false)? else {
            return Err(ClusterError::BrokenLog {
                vault: follower.name.clone(),
                reason: "the vault is gone from the database".to_owned(),
            });
        };
        *lock(&follower.head) = head;
        if head < *applied {
            return Err(ClusterError::BrokenLog {
                vault: follower.name.clone(),
                reason: format!(
                    "the database's head ({head}) is behind this copy ({}): was it restored from an older backup?",
                    *applied
                ),
            });
        }
        if head > *applied {
            for entry in log::entries(client, &follower.name, *applied, head)? {
                vault.apply_changes(&entry.changes)?;
                *applied = entry.seq;
                follower.published(entry.seq);
            }
        }
        *lock(&follower.caught_up_at) = Some(checked_at);
        metrics::gauge!("weaver_cluster_lag_entries", "vault" => follower.name.clone()).set(0.0);
        Ok(())
    }

    /// Waits until vault `name` has applied entry `seq`, at most `timeout`; returns the
    /// sequence reached (which is below `seq` when the wait timed out).
    pub async fn wait_applied(&self, name: &str, seq: u64, timeout: Duration) -> Option<u64> {
        let follower = self.followers.read().ok()?.get(name).cloned()?;
        let mut rx = follower.seq.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|s| *s >= seq)).await;
        Some(match reached {
            Ok(Ok(s)) => *s,
            _ => *follower.seq.borrow(),
        })
    }

    /// The last entry vault `name` applied.
    pub fn applied(&self, name: &str) -> Option<u64> {
        let follower = self.followers.read().ok()?.get(name).cloned()?;
        Some(*follower.seq.borrow())
    }

    /// Where the replica stands.
    pub fn status(&self) -> ReplicaStatus {
        let max = self.config.max_staleness();
        let followers: Vec<Arc<Follower>> = self
            .followers
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        let mut reason = None;
        let names = self.vault_names();
        if names.is_none() {
            reason = Some(match lock(&self.last_error).clone() {
                Some(e) => format!("not connected to the database yet: {e}"),
                None => "connecting to the database".to_owned(),
            });
        }
        let mut vaults = Vec::new();
        for f in &followers {
            let stale = lock(&f.caught_up_at).map(|t| t.elapsed());
            let broken = lock(&f.broken).clone();
            let applied = *f.seq.borrow();
            let head = *lock(&f.head);
            if reason.is_none() {
                if let Some(b) = &broken {
                    reason = Some(format!("vault `{}`: {b}", f.name));
                } else if stale.is_none_or(|s| s > max) {
                    reason = Some(format!(
                        "vault `{}` has not been caught up with the log for over {} ms",
                        f.name, self.config.max_staleness_ms
                    ));
                }
            }
            metrics::gauge!("weaver_cluster_staleness_seconds", "vault" => f.name.clone())
                .set(stale.map_or(f64::INFINITY, |s| s.as_secs_f64()));
            vaults.push(VaultStatus {
                name: f.name.clone(),
                applied,
                head,
                stale_ms: stale.map(|s| s.as_millis() as u64),
                broken,
            });
        }
        if reason.is_none()
            && let Some(names) = &names
            && let Some(missing) = names
                .iter()
                .find(|n| !followers.iter().any(|f| &f.name == *n))
        {
            reason = Some(format!("vault `{missing}` is still opening"));
        }
        ReplicaStatus {
            replica_id: self.config.replica_id.clone(),
            ready: reason.is_none(),
            reason,
            vaults,
        }
    }
}

/// Every regular file under `root` with its content hash, by absolute path. Links and the
/// engine's temporary files (a replica killed while applying leaves them) are removed: nothing
/// but the replica writes there.
fn local_files(root: &Path) -> Result<HashMap<PathBuf, String>, ClusterError> {
    let mut found = HashMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_symlink() {
                std::fs::remove_file(&path)?;
            } else if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(".weaver-") && name.ends_with(".tmp") {
                    // A write's temporary file, left by a replica killed while applying.
                    std::fs::remove_file(&path)?;
                    continue;
                }
                let bytes = std::fs::read(&path)?;
                found.insert(path, content_hash(&bytes));
            }
        }
    }
    Ok(found)
}

/// Writes `bytes` to `file` atomically (a temporary file beside it, then a rename).
pub(crate) fn write_file(file: &Path, bytes: &[u8]) -> Result<(), ClusterError> {
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = file.with_file_name(format!(".weaver-bootstrap-{name}.tmp"));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, file)?;
    Ok(())
}
