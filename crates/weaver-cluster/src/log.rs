//! The change log: recording a write as the next entry, reading entries back, and
//! [`PgLog`], the [`ChangeLog`] a cluster replica attaches to each of its vaults.

use std::collections::HashMap;
use std::sync::Arc;

use postgres::GenericClient;
use serde::{Deserialize, Serialize};
use weaver_app::{AppError, ChangeLog, Committed, FileChange, Planned, Vault, WriteMeta};
use weaver_core::{VaultPath, content_hash};

use crate::ClusterError;
use crate::replica::{Follower, Replica};

/// One file change as the log stores it (`weaver_changes.ops`); a put's bytes are in
/// `weaver_blobs` under their hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum OpRecord {
    Put { path: VaultPath, hash: String },
    Remove { path: VaultPath },
    Rename { from: VaultPath, to: VaultPath },
}

/// One entry of a vault's log.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) changes: Vec<FileChange>,
}

/// What an entry records besides its changes.
pub(crate) struct EntryMeta<'a> {
    pub(crate) kind: &'a str,
    pub(crate) meta: &'a WriteMeta,
    pub(crate) replica: &'a str,
    pub(crate) outcome: &'a serde_json::Value,
}

/// Records `changes` as entry `seq` of `vault` (whose head row the caller has locked at
/// `seq - 1`): bytes, files, the entry, the new head, and a notification sent at commit.
pub(crate) fn record(
    tx: &mut impl GenericClient,
    vault: &str,
    seq: u64,
    changes: &[FileChange],
    entry: &EntryMeta<'_>,
) -> Result<(), ClusterError> {
    let seq_i = seq_to_db(seq)?;
    let mut ops = Vec::with_capacity(changes.len());
    for change in changes {
        match change {
            FileChange::Put { path, bytes } => {
                let hash = content_hash(bytes);
                tx.execute(
                    "INSERT INTO weaver_blobs (vault, hash, bytes) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&vault, &hash, bytes],
                )?;
                tx.execute(
                    "INSERT INTO weaver_files (vault, path, hash, seq) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (vault, path) DO UPDATE SET hash = EXCLUDED.hash, seq = EXCLUDED.seq",
                    &[&vault, &path.as_str(), &hash, &seq_i],
                )?;
                ops.push(OpRecord::Put {
                    path: path.clone(),
                    hash,
                });
            }
            FileChange::Remove { path } => {
                tx.execute(
                    "DELETE FROM weaver_files WHERE vault = $1 AND path = $2",
                    &[&vault, &path.as_str()],
                )?;
                ops.push(OpRecord::Remove { path: path.clone() });
            }
            FileChange::Rename { from, to } => {
                let moved = tx.execute(
                    "UPDATE weaver_files SET path = $3, seq = $4 WHERE vault = $1 AND path = $2",
                    &[&vault, &from.as_str(), &to.as_str(), &seq_i],
                )?;
                if moved != 1 {
                    return Err(ClusterError::BrokenLog {
                        vault: vault.to_owned(),
                        reason: format!("`{from}` is not in the database, so it cannot move"),
                    });
                }
                ops.push(OpRecord::Rename {
                    from: from.clone(),
                    to: to.clone(),
                });
            }
        }
    }
    let ops = serde_json::to_value(&ops).map_err(|e| ClusterError::Invalid(e.to_string()))?;
    tx.execute(
        "INSERT INTO weaver_changes (vault, seq, request_id, kind, actor, replica, ops, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &vault,
            &seq_i,
            &entry.meta.request_id,
            &entry.kind,
            &entry.meta.actor.as_deref().unwrap_or(""),
            &entry.replica,
            &ops,
            entry.outcome,
        ],
    )?;
    tx.execute(
        "UPDATE weaver_vaults SET head = $2 WHERE name = $1",
        &[&vault, &seq_i],
    )?;
    tx.execute("SELECT pg_notify('weaver_changes', $1)", &[&vault])?;
    Ok(())
}

/// The entries of `vault` after `after`, up to `head`, in order, with their bytes. A missing
/// entry (a gap) or an undecodable one is a broken log.
pub(crate) fn entries(
    client: &mut impl GenericClient,
    vault: &str,
    after: u64,
    head: u64,
) -> Result<Vec<Entry>, ClusterError> {
    let broken = |reason: String| ClusterError::BrokenLog {
        vault: vault.to_owned(),
        reason,
    };
    let rows = client.query(
        "SELECT seq, ops FROM weaver_changes WHERE vault = $1 AND seq > $2 AND seq <= $3
         ORDER BY seq",
        &[&vault, &seq_to_db(after)?, &seq_to_db(head)?],
    )?;
    let mut decoded: Vec<(u64, Vec<OpRecord>)> = Vec::with_capacity(rows.len());
    let mut expected = after + 1;
    for row in rows {
        let seq = u64::try_from(row.get::<_, i64>(0)).map_err(|e| broken(e.to_string()))?;
        if seq != expected {
            return Err(broken(format!("entry {expected} is missing (found {seq})")));
        }
        expected += 1;
        let ops: Vec<OpRecord> = serde_json::from_value(row.get(1))
            .map_err(|e| broken(format!("entry {seq} cannot be read: {e}")))?;
        decoded.push((seq, ops));
    }
    if expected != head + 1 {
        return Err(broken(format!(
            "entries {expected}..={head} are missing from the log"
        )));
    }
    let hashes: Vec<&str> = decoded
        .iter()
        .flat_map(|(_, ops)| ops)
        .filter_map(|op| match op {
            OpRecord::Put { hash, .. } => Some(hash.as_str()),
            _ => None,
        })
        .collect();
    let blobs = blobs(client, vault, &hashes)?;
    decoded
        .into_iter()
        .map(|(seq, ops)| {
            let changes = ops
                .into_iter()
                .map(|op| match op {
                    OpRecord::Put { path, hash } => blobs
                        .get(&hash)
                        .map(|bytes| FileChange::Put {
                            path,
                            bytes: bytes.clone(),
                        })
                        .ok_or_else(|| broken(format!("entry {seq}: no bytes for hash {hash}"))),
                    OpRecord::Remove { path } => Ok(FileChange::Remove { path }),
                    OpRecord::Rename { from, to } => Ok(FileChange::Rename { from, to }),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Entry { seq, changes })
        })
        .collect()
}

/// The bytes of `hashes` in `vault`, checked against their hash.
pub(crate) fn blobs(
    client: &mut impl GenericClient,
    vault: &str,
    hashes: &[&str],
) -> Result<HashMap<String, Vec<u8>>, ClusterError> {
    let mut found = HashMap::new();
    if hashes.is_empty() {
        return Ok(found);
    }
    for chunk in hashes.chunks(1000) {
        let wanted: Vec<&str> = chunk.to_vec();
        for row in client.query(
            "SELECT hash, bytes FROM weaver_blobs WHERE vault = $1 AND hash = ANY($2)",
            &[&vault, &wanted],
        )? {
            let hash: String = row.get(0);
            let bytes: Vec<u8> = row.get(1);
            if content_hash(&bytes) != hash {
                return Err(ClusterError::BrokenLog {
                    vault: vault.to_owned(),
                    reason: format!("the bytes stored for hash {hash} do not have that hash"),
                });
            }
            found.insert(hash, bytes);
        }
    }
    Ok(found)
}

/// The head of `vault`, `None` when there is no such vault; locked until the transaction ends
/// with `for_update`.
pub(crate) fn head(
    client: &mut impl GenericClient,
    vault: &str,
    for_update: bool,
) -> Result<Option<u64>, ClusterError> {
    let sql = if for_update {
        "SELECT head FROM weaver_vaults WHERE name = $1 FOR UPDATE"
    } else {
        "SELECT head FROM weaver_vaults WHERE name = $1"
    };
    client
        .query_opt(sql, &[&vault])?
        .map(|row| seq_from_db(vault, row.get(0)))
        .transpose()
}

pub(crate) fn seq_to_db(seq: u64) -> Result<i64, ClusterError> {
    i64::try_from(seq).map_err(|_| ClusterError::Invalid(format!("sequence {seq} is too large")))
}

pub(crate) fn seq_from_db(vault: &str, seq: i64) -> Result<u64, ClusterError> {
    u64::try_from(seq).map_err(|_| ClusterError::BrokenLog {
        vault: vault.to_owned(),
        reason: format!("negative sequence {seq}"),
    })
}

/// The change log of one vault of a replica: writes are committed to PostgreSQL.
#[derive(Debug)]
pub struct PgLog {
    pub(crate) replica: Arc<Replica>,
    pub(crate) follower: Arc<Follower>,
}

/// How a commit ended.
enum Outcome {
    New(u64, Planned),
    Replayed(u64, serde_json::Value),
    /// The request id was used for another kind of write.
    Reused(String),
}

impl ChangeLog for PgLog {
    fn commit(
        &self,
        vault: &Vault,
        meta: &WriteMeta,
        kind: &'static str,
        plan: &mut dyn FnMut() -> Result<Planned, AppError>,
    ) -> Result<Committed, AppError> {
        let name = self.follower.name.as_str();
        let mut applied = self.follower.lock_applied();
        let mut planning_error = None;
        let result = self.replica.with_writer(|client| {
            let mut tx = client.transaction()?;
            let Some(head) = head(&mut tx, name, true)? else {
                return Err(ClusterError::UnknownVault(name.to_owned()));
            };
            // A request id is the caller's: another caller's same id is another write.
            if let Some(request_id) = &meta.request_id
                && let Some(row) = tx.query_opt(
                    "SELECT seq, outcome, kind FROM weaver_changes
                         WHERE vault = $1 AND actor = $2 AND request_id = $3",
                    &[&name, &meta.actor.as_deref().unwrap_or(""), request_id],
                )?
            {
                let recorded: String = row.get(2);
                if recorded != kind {
                    return Ok(Outcome::Reused(recorded));
                }
                return Ok(Outcome::Replayed(
                    seq_from_db(name, row.get(0))?,
                    row.get(1),
                ));
            }
            // The copy must be the committed state before the plan reads it.
            if *applied < head {
                for entry in entries(&mut tx, name, *applied, head)? {
                    vault.apply_changes(&entry.changes)?;
                    *applied = entry.seq;
                    self.follower.published(entry.seq);
                }
            }
            let planned = match plan() {
                Ok(planned) => planned,
                Err(e) => {
                    planning_error = Some(e);
                    return Err(ClusterError::Invalid("the write was refused".to_owned()));
                }
            };
            let seq = head + 1;
            record(
                &mut tx,
                name,
                seq,
                &planned.changes,
                &EntryMeta {
                    kind,
                    meta,
                    replica: &self.replica.config().replica_id,
                    outcome: &planned.outcome,
                },
            )?;
            tx.commit()?;
            Ok(Outcome::New(seq, planned))
        });
        if let Some(e) = planning_error {
            return Err(e);
        }
        match result {
            Ok(Outcome::Replayed(seq, outcome)) => Ok(Committed { seq, outcome }),
            Ok(Outcome::Reused(recorded)) => Err(AppError::RequestIdReused {
                request_id: meta.request_id.clone().unwrap_or_default(),
                kind: recorded,
            }),
            Ok(Outcome::New(seq, planned)) => {
                // Committed: the write has happened whatever the local copy does now.
                if let Err(error) = vault.apply_changes(&planned.changes) {
                    self.follower.mark_broken(format!(
                        "entry {seq}, committed here, could not be applied to the copy: {error}"
                    ));
                } else {
                    *applied = seq;
                    self.follower.published(seq);
                }
                Ok(Committed {
                    seq,
                    outcome: planned.outcome,
                })
            }
            Err(ClusterError::BrokenLog { vault: v, reason }) => {
                let error = ClusterError::BrokenLog { vault: v, reason };
                self.follower.mark_broken(error.to_string());
                Err(error.into())
            }
            Err(e) => Err(e.into()),
        }
    }
}
