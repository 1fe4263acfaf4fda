//! Files in and out of the database: `weaver cluster import DIR` and `export DIR`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use weaver_app::{FileChange, Vault, VaultOptions, WriteMeta};
use weaver_core::content_hash;

use crate::log::{self, EntryMeta};
use crate::replica::write_file;
use crate::{ClusterError, db, schema, valid_vault_name};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The vault imported into.
    pub vault: String,
    /// Files new in the database.
    pub added: usize,
    /// Files whose content changed.
    pub changed: usize,
    /// Files removed (in the database, not in the folder).
    pub removed: usize,
    /// Files already as in the folder.
    pub unchanged: usize,
    /// The log entry the import made (`None` when nothing changed).
    pub seq: Option<u64>,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The vault exported.
    pub vault: String,
    /// Files written.
    pub files: usize,
    /// The log entry the files reflect.
    pub seq: u64,
}

/// Imports the folder `dir` as vault `name`: every file the engine indexes there (notes and
/// attachments, honouring the vault's ignore rules, never through a link). A new vault is
/// created; an existing one gets one log entry with the differences (files added, changed, and
/// removed when no longer in the folder; the trash is kept), which every replica follows.
pub fn import(url: &str, dir: &Path, name: &str) -> Result<ImportReport, ClusterError> {
    if !valid_vault_name(name) {
        return Err(ClusterError::Invalid(format!(
            "`{name}` is not a vault name: use lower-case letters, digits, `-` and `_`"
        )));
    }
    let mut options = VaultOptions::new(dir);
    options.in_memory = true;
    options.read_only = true;
    let (vault, _) = Vault::open(&options, &|_| {})?;
    let snapshot = vault.snapshot();
    let mut folder: BTreeMap<weaver_core::VaultPath, Vec<u8>> = BTreeMap::new();
    for note in snapshot.notes() {
        folder.insert(note.path.clone(), vault.read_file(&note.path)?);
    }
    for path in snapshot.attachments() {
        folder.insert(path.clone(), vault.read_file(path)?);
    }
    let mut client = db::connect(url)?;
    schema::migrate(&mut client)?;
    let mut tx = client.transaction()?;
    tx.execute(
        "INSERT INTO weaver_vaults (name) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&name],
    )?;
    let Some(head) = log::head(&mut tx, name, true)? else {
        return Err(ClusterError::UnknownVault(name.to_owned()));
    };
    let existing: BTreeMap<String, String> = tx
        .query(
            "SELECT path, hash FROM weaver_files WHERE vault = $1",
            &[&name],
        )?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let mut report = ImportReport {
        vault: name.to_owned(),
        added: 0,
        changed: 0,
        removed: 0,
        unchanged: 0,
        seq: None,
    };
    let in_folder: std::collections::HashSet<String> =
        folder.keys().map(|p| p.as_str().to_owned()).collect();
    let mut changes = Vec::new();
    for (path, bytes) in folder {
        match existing.get(path.as_str()) {
            Some(hash) if *hash == content_hash(&bytes) => {
                report.unchanged += 1;
                continue;
            }
            Some(_) => report.changed += 1,
            None => report.added += 1,
        }
        changes.push(FileChange::Put { path, bytes });
    }
    for path in existing.keys() {
        // The trash (and any hidden file) is the cluster's own: an import keeps it.
        let hidden = path.split('/').any(|s| s.starts_with('.'));
        if in_folder.contains(path) || hidden {
            continue;
        }
        let path =
            weaver_core::VaultPath::normalize(path).map_err(|e| ClusterError::BrokenLog {
                vault: name.to_owned(),
                reason: format!("bad path in the files table: {e}"),
            })?;
        report.removed += 1;
        changes.push(FileChange::Remove { path });
    }
    if changes.is_empty() {
        tx.commit()?;
        return Ok(report);
    }
    let seq = head + 1;
    report.seq = Some(seq);
    let outcome =
        serde_json::to_value(&report).map_err(|e| ClusterError::Invalid(e.to_string()))?;
    let meta = WriteMeta {
        request_id: None,
        actor: Some("import".to_owned()),
    };
    log::record(
        &mut tx,
        name,
        seq,
        &changes,
        &EntryMeta {
            kind: "import",
            meta: &meta,
            replica: "weaver cluster import",
            outcome: &outcome,
        },
    )?;
    tx.commit()?;
    Ok(report)
}

/// Writes every file of vault `name` (the trash too) into `dir`, which must be empty or absent:
/// the folder a single-machine weaver (or Obsidian) can open.
pub fn export(url: &str, dir: &Path, name: &str) -> Result<ExportReport, ClusterError> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(ClusterError::Invalid(format!(
            "`{}` is not empty; export into a new or empty folder",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)?;
    let mut client = db::connect(url)?;
    schema::migrate(&mut client)?;
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
            "SELECT path, hash FROM weaver_files WHERE vault = $1 ORDER BY path",
            &[&name],
        )?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    for chunk in files.chunks(500) {
        let hashes: Vec<&str> = chunk.iter().map(|(_, h)| h.as_str()).collect();
        let blobs = log::blobs(&mut tx, name, &hashes)?;
        for (path, hash) in chunk {
            let path =
                weaver_core::VaultPath::normalize(path).map_err(|e| ClusterError::BrokenLog {
                    vault: name.to_owned(),
                    reason: format!("bad path in the files table: {e}"),
                })?;
            let bytes = blobs.get(hash).ok_or_else(|| ClusterError::BrokenLog {
                vault: name.to_owned(),
                reason: format!("no bytes for hash {hash}"),
            })?;
            write_file(&dir.join(path.as_str()), bytes)?;
        }
    }
    tx.commit()?;
    Ok(ExportReport {
        vault: name.to_owned(),
        files: files.len(),
        seq: head,
    })
}

/// The vaults in the database with their heads.
pub fn list(url: &str) -> Result<Vec<(String, u64)>, ClusterError> {
    let mut client = db::connect(url)?;
    schema::migrate(&mut client)?;
    client
        .query("SELECT name, head FROM weaver_vaults ORDER BY name", &[])?
        .iter()
        .map(|row| {
            let name: String = row.get(0);
            let head = log::seq_from_db(&name, row.get(1))?;
            Ok((name, head))
        })
        .collect()
}
