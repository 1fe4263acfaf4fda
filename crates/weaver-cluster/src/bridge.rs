//! The bridge (`weaver bridge DIR`): mirrors a real folder (a volume fed by git, Syncthing or a
//! person) and a cluster vault both ways, exactly one per vault.
//!
//! It holds a session advisory lock per vault (a second bridge waits), opens the folder with
//! the engine (so it sees the same files, under the same rules, as an import: notes and
//! attachments, hidden paths and ignore rules left out, never through a link) and then, every
//! `interval`, runs one **cycle** inside one database transaction that holds the vault's head
//! row (`SELECT ... FOR UPDATE`, as every cluster write does):
//!
//! - the folder is brought up to date (a stat walk; only changed files are read);
//! - each path is compared three ways: the folder, the database, and the **base**
//!   (`weaver_bridge_files`: the content both sides last agreed on);
//! - changed only in the database: written to the folder, if the file there is still the base
//!   (checked at the rename, `Vault::mirror_file`);
//! - changed only in the folder: recorded in the database as one log entry (`kind = bridge`),
//!   which every replica applies;
//! - changed on both sides, differently: the database's version (acknowledged to a client)
//!   stays at the path, and the folder's is kept beside it as a conflict copy
//!   `NAME (conflict YYYY-MM-DD HHMMSS).EXT` on both sides; an edit against a deletion keeps
//!   the edit. Never a lost edit.
//!
//! The folder is written before the transaction commits the new base, so a crash in between
//! leaves paths where folder and database agree, which the next cycle records as the base.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::Client;
use serde::Serialize;
use weaver_app::{FileChange, Vault, VaultOptions, WriteMeta};
use weaver_core::{VaultPath, content_hash};

use crate::log::{self, EntryMeta};
use crate::{ClusterError, db, files, schema, valid_vault_name};

/// The advisory lock keys of bridges: this constant with the vault's name hashed in.
const BRIDGE_LOCK: i64 = 0x7765_6176_6572_1000;

/// How a bridge is set up.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// The folder mirrored.
    pub dir: PathBuf,
    /// The cluster vault it mirrors.
    pub name: String,
    /// The database (a libpq URL).
    pub postgres_url: String,
    /// Where the bridge keeps its index of the folder (so a restart does not re-read it all).
    pub cache_dir: Option<PathBuf>,
    /// Time between cycles.
    pub interval: Duration,
}

/// What the bridge is doing, for `/readyz` and logs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BridgeStatus {
    /// Holds the vault's bridge lock.
    pub leader: bool,
    /// The last cycle finished without an error, recently.
    pub in_sync: bool,
    /// The head of the vault's log after the last good cycle.
    pub seq: u64,
    /// Cycles run.
    pub cycles: u64,
    /// Conflict copies made since start.
    pub conflicts: u64,
    /// The last error, if the last cycle failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds since the last good cycle ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_ms: Option<u64>,
    #[serde(skip)]
    last_sync: Option<Instant>,
}

impl BridgeStatus {
    /// With `last_sync_ms` and `in_sync` computed for now (`in_sync` lapses after three
    /// intervals without a good cycle).
    pub fn now(&self, interval: Duration) -> Self {
        let mut s = self.clone();
        s.last_sync_ms = s.last_sync.map(|t| t.elapsed().as_millis() as u64);
        s.in_sync = s.error.is_none()
            && s.leader
            && s.last_sync
                .is_some_and(|t| t.elapsed() < interval * 3 + Duration::from_secs(2));
        s
    }
}

/// What one cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CycleReport {
    /// Files written to (or removed from) the folder.
    pub to_folder: usize,
    /// Files recorded in the database.
    pub to_database: usize,
    /// Conflict copies made.
    pub conflicts: usize,
    /// Paths left for the next cycle (the folder changed while this one ran).
    pub deferred: usize,
    /// The log entry recorded, if any.
    pub seq: Option<u64>,
    /// The head of the vault's log after the cycle.
    pub head: u64,
}

impl CycleReport {
    /// Whether the cycle moved anything (or had to leave something for the next one).
    pub fn did_something(&self) -> bool {
        self.to_folder + self.to_database + self.conflicts + self.deferred > 0
    }
}

/// One side's content of a path: its hash, `None` when absent.
type Side<'a> = Option<&'a str>;

/// Runs the bridge until `stop` is set: connects (with back-off), waits for the vault's lock,
/// imports the folder if the vault is new, then runs a cycle every interval.
pub fn run(
    options: &BridgeOptions,
    stop: &AtomicBool,
    status: &Mutex<BridgeStatus>,
) -> Result<(), ClusterError> {
    if !valid_vault_name(&options.name) {
        return Err(ClusterError::Invalid(format!(
            "`{}` is not a vault name: use lower-case letters, digits, `-` and `_`",
            options.name
        )));
    }
    let mut vault_options = VaultOptions::new(&options.dir);
    match &options.cache_dir {
        Some(dir) => vault_options.cache_dir = Some(dir.clone()),
        None => vault_options.in_memory = true,
    }
    let (vault, _) = Vault::open(&vault_options, &|_| {})?;
    let vault = Arc::new(vault);
    let mut mirror = Mirror::default();
    let mut client: Option<Client> = None;
    let mut delay = Duration::from_millis(200);
    let set = |f: &dyn Fn(&mut BridgeStatus)| {
        let mut guard = match status.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard);
    };
    while !stop.load(Ordering::Relaxed) {
        if client.as_ref().is_none_or(Client::is_closed) {
            set(&|s| s.leader = false);
            match connect_and_lock(options, stop) {
                Ok(Some(c)) => {
                    client = Some(c);
                    delay = Duration::from_millis(200);
                    set(&|s| {
                        s.leader = true;
                        s.error = None;
                    });
                    tracing::info!(vault = %options.name, "bridge: holding the vault's bridge lock");
                }
                Ok(None) => return Ok(()),
                Err(e @ ClusterError::SchemaTooNew { .. }) => return Err(e),
                Err(e) => {
                    let message = e.to_string();
                    tracing::warn!(error = %message, "bridge: cannot reach the database; retrying");
                    set(&|s| s.error = Some(message.clone()));
                    sleep(stop, delay);
                    delay = (delay * 2).min(Duration::from_secs(10));
                    continue;
                }
            }
        }
        let Some(c) = client.as_mut() else { continue };
        match cycle(c, &vault, &options.name, &mut mirror) {
            Ok(report) => {
                if report.did_something() {
                    tracing::info!(vault = %options.name, ?report, "bridge: cycle");
                }
                set(&|s| {
                    s.cycles += 1;
                    s.conflicts += report.conflicts as u64;
                    s.error = None;
                    s.last_sync = Some(Instant::now());
                    s.seq = report.head;
                });
                metrics::counter!("weaver_bridge_files_total", "direction" => "to_folder")
                    .increment(report.to_folder as u64);
                metrics::counter!("weaver_bridge_files_total", "direction" => "to_database")
                    .increment(report.to_database as u64);
                metrics::counter!("weaver_bridge_conflicts_total")
                    .increment(report.conflicts as u64);
            }
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(vault = %options.name, error = %message, "bridge: cycle failed; trying again");
                set(&|s| s.error = Some(message.clone()));
            }
        }
        sleep(stop, options.interval);
    }
    Ok(())
}

fn sleep(stop: &AtomicBool, d: Duration) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
}

/// Connects, migrates, waits for the vault's bridge lock and imports the folder when the
/// vault is not in the database. `None` when stopped while waiting.
fn connect_and_lock(
    options: &BridgeOptions,
    stop: &AtomicBool,
) -> Result<Option<Client>, ClusterError> {
    let mut client = db::connect(&options.postgres_url)?;
    schema::migrate(&mut client)?;
    let key = BRIDGE_LOCK ^ name_hash(&options.name);
    let mut waiting_logged = false;
    loop {
        let locked: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])?
            .get(0);
        if locked {
            break;
        }
        if !waiting_logged {
            tracing::info!(vault = %options.name, "bridge: another bridge holds this vault; waiting");
            waiting_logged = true;
        }
        sleep(stop, Duration::from_secs(1));
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
    }
    let folder = folder_id(&options.dir)?;
    let exists = client
        .query_opt(
            "SELECT 1 FROM weaver_vaults WHERE name = $1",
            &[&options.name],
        )?
        .is_some();
    if exists {
        let known: Option<String> = client
            .query_opt(
                "SELECT folder_id FROM weaver_bridges WHERE vault = $1",
                &[&options.name],
            )?
            .map(|row| row.get(0));
        if known.as_deref() != Some(folder.as_str()) {
            // Another folder (or a copy restored from elsewhere): the base describes a folder
            // this is not, so it is dropped, and every file that differs becomes a conflict
            // copy rather than overwriting either side.
            if known.is_some() {
                tracing::warn!(vault = %options.name, "bridge: this folder is not the one the vault was mirrored with; files that differ are kept on both sides as conflict copies");
            }
            let mut tx = client.transaction()?;
            tx.execute(
                "DELETE FROM weaver_bridge_files WHERE vault = $1",
                &[&options.name],
            )?;
            tx.execute(
                "INSERT INTO weaver_bridges (vault, folder_id) VALUES ($1, $2)
                 ON CONFLICT (vault) DO UPDATE SET folder_id = EXCLUDED.folder_id",
                &[&options.name, &folder],
            )?;
            tx.commit()?;
        }
    } else {
        let report = files::import(&options.postgres_url, &options.dir, &options.name)?;
        tracing::info!(vault = %options.name, added = report.added, "bridge: imported the folder as a new vault");
        // The import is the base: both sides agree on every file.
        let mut tx = client.transaction()?;
        tx.execute(
            "INSERT INTO weaver_bridge_files (vault, path, hash)
             SELECT vault, path, hash FROM weaver_files WHERE vault = $1
             ON CONFLICT (vault, path) DO UPDATE SET hash = EXCLUDED.hash",
            &[&options.name],
        )?;
        tx.execute(
            "INSERT INTO weaver_bridges (vault, folder_id) VALUES ($1, $2)
             ON CONFLICT (vault) DO UPDATE SET folder_id = EXCLUDED.folder_id",
            &[&options.name, &folder],
        )?;
        tx.commit()?;
    }
    Ok(Some(client))
}

/// The folder's identity, `.weaver/bridge-id` in it (made on first use: 128 random bits), so a
/// bridge started on another folder, or on a copy restored from elsewhere, never takes the
/// base of the folder before. Links are refused, as everywhere in a vault.
fn folder_id(dir: &std::path::Path) -> Result<String, ClusterError> {
    let not_a_link = |path: &std::path::Path| match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(ClusterError::Invalid(format!(
            "`{}` is a symbolic link; the bridge keeps its folder id there",
            path.display()
        ))),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    };
    let meta = dir.join(".weaver");
    if !not_a_link(&meta)? {
        std::fs::create_dir(&meta)?;
    }
    let file = meta.join("bridge-id");
    if not_a_link(&file)? {
        let id = std::fs::read_to_string(&file)?.trim().to_owned();
        if !id.is_empty() {
            return Ok(id);
        }
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ClusterError::Invalid(format!("no random bytes for the folder id: {e}")))?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let temp = meta.join(".bridge-id.tmp");
    std::fs::write(&temp, format!("{id}\n"))?;
    std::fs::rename(&temp, &file)?;
    Ok(id)
}

/// 64 bits of the name's content hash: the same in every process and version.
fn name_hash(name: &str) -> i64 {
    let hex = content_hash(name.as_bytes());
    u64::from_str_radix(hex.get(..16).unwrap_or("0"), 16).map_or(0, |v| v as i64)
}

/// The bridge's memory of attachments' hashes, by their size and modification time.
#[derive(Debug, Default)]
struct Mirror {
    attachments: BTreeMap<VaultPath, ((i64, u64), String)>,
}

impl Mirror {
    /// Every file of the folder the engine indexes, with its hash.
    fn folder(&mut self, vault: &Vault) -> Result<BTreeMap<VaultPath, String>, ClusterError> {
        let snapshot = vault.snapshot();
        let mut found = BTreeMap::new();
        for note in snapshot.notes() {
            found.insert(note.path.clone(), note.meta.hash.clone());
        }
        let mut kept = BTreeMap::new();
        for (path, stamp) in snapshot.attachment_stamps() {
            let hash = match self.attachments.remove(path) {
                Some((known, hash)) if known == stamp => hash,
                _ => content_hash(&vault.read_file(path)?),
            };
            found.insert(path.clone(), hash.clone());
            kept.insert(path.clone(), (stamp, hash));
        }
        self.attachments = kept;
        Ok(found)
    }
}

/// One cycle (see the module documentation).
fn cycle(
    client: &mut Client,
    vault: &Vault,
    name: &str,
    mirror: &mut Mirror,
) -> Result<CycleReport, ClusterError> {
    vault.sync(&weaver_app::Scope::All)?;
    let folder = mirror.folder(vault)?;
    let mut tx = client.transaction()?;
    let Some(head) = log::head(&mut tx, name, true)? else {
        return Err(ClusterError::UnknownVault(name.to_owned()));
    };
    let table = |tx: &mut postgres::Transaction<'_>, sql: &str| -> Result<_, ClusterError> {
        Ok(tx
            .query(sql, &[&name])?
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)))
            .collect::<BTreeMap<String, String>>())
    };
    // Hidden files in the database (the trash) are the cluster's own; the folder never has them.
    let database: BTreeMap<String, String> = table(
        &mut tx,
        "SELECT path, hash FROM weaver_files WHERE vault = $1",
    )?
    .into_iter()
    .filter(|(path, _)| !path.split('/').any(|s| s.starts_with('.')))
    .collect();
    let base = table(
        &mut tx,
        "SELECT path, hash FROM weaver_bridge_files WHERE vault = $1",
    )?;
    let folder_by_str: BTreeMap<&str, &str> = folder
        .iter()
        .map(|(p, h)| (p.as_str(), h.as_str()))
        .collect();
    let paths: BTreeSet<&str> = database
        .keys()
        .map(String::as_str)
        .chain(base.keys().map(String::as_str))
        .chain(folder_by_str.keys().copied())
        .collect();

    let mut report = CycleReport::default();
    let mut to_database: Vec<FileChange> = Vec::new();
    let mut new_base: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut fetch: Vec<(VaultPath, String, Side<'_>)> = Vec::new();
    let stamp = chrono_stamp();
    for path in paths {
        let b = base.get(path).map(String::as_str);
        let d = database.get(path).map(String::as_str);
        let f = folder_by_str.get(path).copied();
        let Ok(vpath) = VaultPath::normalize(path) else {
            continue;
        };
        if d == f {
            if b != d {
                new_base.insert(path.to_owned(), d.map(str::to_owned));
            }
            continue;
        }
        if f == b {
            // Only the database changed: the folder follows.
            match d {
                Some(hash) => fetch.push((vpath, hash.to_owned(), f)),
                None => {
                    if vault.mirror_file(&vpath, None, f)? {
                        report.to_folder += 1;
                        new_base.insert(path.to_owned(), None);
                    } else {
                        report.deferred += 1;
                    }
                }
            }
        } else if d == b || d.is_none() {
            // Only the folder changed (or it edited what the database deleted: the edit stays).
            match f {
                Some(hash) => {
                    let bytes = vault.read_file(&vpath)?;
                    if content_hash(&bytes) != hash {
                        report.deferred += 1;
                        continue;
                    }
                    to_database.push(FileChange::Put { path: vpath, bytes });
                }
                None => to_database.push(FileChange::Remove { path: vpath }),
            }
            new_base.insert(path.to_owned(), f.map(str::to_owned));
        } else if let (Some(d), Some(f)) = (d, f) {
            // Both changed, differently: the database's version stays at the path, the
            // folder's is kept as a conflict copy on both sides.
            let bytes = vault.read_file(&vpath)?;
            if content_hash(&bytes) != f {
                report.deferred += 1;
                continue;
            }
            let copy = conflict_path(&vpath, &stamp, |p| {
                folder.contains_key(p) || database.contains_key(p.as_str())
            });
            if !vault.mirror_file(&copy, Some(&bytes), None)? {
                report.deferred += 1;
                continue;
            }
            tracing::warn!(path = %vpath, copy = %copy, "bridge: changed in the folder and in the cluster; the folder's version is kept as a conflict copy");
            report.conflicts += 1;
            new_base.insert(copy.as_str().to_owned(), Some(f.to_owned()));
            to_database.push(FileChange::Put { path: copy, bytes });
            fetch.push((vpath, d.to_owned(), Some(f)));
        } else {
            // Deleted in the folder, edited in the database: the edit comes back.
            if let Some(d) = d {
                fetch.push((vpath, d.to_owned(), None));
            }
        }
    }
    // The database's versions, into the folder (only over what the cycle saw there).
    let hashes: Vec<&str> = fetch.iter().map(|(_, h, _)| h.as_str()).collect();
    let blobs = log::blobs(&mut tx, name, &hashes)?;
    for (path, hash, seen) in &fetch {
        let Some(bytes) = blobs.get(hash) else {
            return Err(ClusterError::BrokenLog {
                vault: name.to_owned(),
                reason: format!("no bytes for hash {hash}"),
            });
        };
        if vault.mirror_file(path, Some(bytes), *seen)? {
            report.to_folder += 1;
            new_base.insert(path.as_str().to_owned(), Some(hash.clone()));
        } else {
            report.deferred += 1;
        }
    }
    if !to_database.is_empty() {
        report.to_database = to_database.len();
        let seq = head + 1;
        let outcome =
            serde_json::to_value(&report).map_err(|e| ClusterError::Invalid(e.to_string()))?;
        let meta = WriteMeta {
            request_id: None,
            actor: Some("bridge".to_owned()),
        };
        log::record(
            &mut tx,
            name,
            seq,
            &to_database,
            &EntryMeta {
                kind: "bridge",
                meta: &meta,
                replica: "weaver bridge",
                outcome: &outcome,
            },
        )?;
        report.seq = Some(seq);
        report.head = seq;
    } else {
        report.head = head;
    }
    for (path, hash) in &new_base {
        match hash {
            Some(hash) => tx.execute(
                "INSERT INTO weaver_bridge_files (vault, path, hash) VALUES ($1, $2, $3)
                 ON CONFLICT (vault, path) DO UPDATE SET hash = EXCLUDED.hash",
                &[&name, path, hash],
            )?,
            None => tx.execute(
                "DELETE FROM weaver_bridge_files WHERE vault = $1 AND path = $2",
                &[&name, path],
            )?,
        };
    }
    tx.commit()?;
    Ok(report)
}

/// `2026-12-04 191500`, UTC, for conflict copies' names.
fn chrono_stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, secs) = (now / 86_400, now % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}{:02}{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `Folder/Note (conflict STAMP).md`, numbered when taken.
fn conflict_path(path: &VaultPath, stamp: &str, taken: impl Fn(&VaultPath) -> bool) -> VaultPath {
    let text = path.as_str();
    let (stem, ext) = match text.rfind('.') {
        Some(dot) if !text[dot..].contains('/') => (&text[..dot], &text[dot..]),
        _ => (text, ""),
    };
    for n in 1u32.. {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!(" {n}")
        };
        if let Ok(candidate) =
            VaultPath::normalize(&format!("{stem} (conflict {stamp}{suffix}){ext}"))
            && !taken(&candidate)
        {
            return candidate;
        }
    }
    path.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_791), (2026, 12, 4));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn conflict_copies_keep_the_extension_and_avoid_taken_names() {
        let path = VaultPath::normalize("Projects/Plan.md").unwrap();
        let first = conflict_path(&path, "2026-12-04 191500", |_| false);
        assert_eq!(
            first.as_str(),
            "Projects/Plan (conflict 2026-12-04 191500).md"
        );
        let second = conflict_path(&path, "2026-12-04 191500", |p| *p == first);
        assert_eq!(
            second.as_str(),
            "Projects/Plan (conflict 2026-12-04 191500 2).md"
        );
        let bare = VaultPath::normalize("v1.0/README").unwrap();
        assert_eq!(
            conflict_path(&bare, "S", |_| false).as_str(),
            "v1.0/README (conflict S)"
        );
    }
}
