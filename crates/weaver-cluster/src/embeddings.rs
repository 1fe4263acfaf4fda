//! The embeddings cache the replicas share ([`weaver_app::SharedEmbeddings`] on PostgreSQL), so
//! that a replica starting on an empty `data_dir` fetches the vectors another one computed
//! instead of running the model over the whole vault again.
//!
//! One table, `weaver_embeddings (model, hash, vector)`, keyed like each replica's own cache by
//! the model's identity and the chunk text's hash: vectors are facts about a text, not about a
//! vault, so every vault shares them. An entry is never changed once written (`ON CONFLICT DO
//! NOTHING`). The connection is this cache's own, opened on first use and again after it
//! breaks; while the database is away, lookups fail and the caller computes.

use std::sync::Mutex;

use postgres::Client;

use crate::config::ClusterConfig;
use crate::db;

/// Most hashes asked or written in one statement.
const BATCH: usize = 512;

/// The shared cache of a replica.
pub struct PgEmbeddings {
    url: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PgEmbeddings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("PgEmbeddings").finish_non_exhaustive()
    }
}

impl PgEmbeddings {
    /// The cache of the database `config` names; nothing is connected yet.
    pub fn new(config: &ClusterConfig) -> Self {
        Self {
            url: config.postgres_url.clone(),
            client: Mutex::new(None),
        }
    }

    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, String> {
        let mut guard = self
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(db::connect(&self.url).map_err(|e| e.to_string())?);
        }
        let Some(client) = guard.as_mut() else {
            return Err("no connection".to_owned());
        };
        let result = f(client).map_err(|e| db::describe(&e));
        if client.is_closed() {
            *guard = None;
        }
        result
    }
}

impl weaver_app::SharedEmbeddings for PgEmbeddings {
    fn get(&self, model: &str, hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<f32>>>, String> {
        let mut found: std::collections::HashMap<Vec<u8>, Vec<f32>> =
            std::collections::HashMap::new();
        for group in hashes.chunks(BATCH) {
            let keys: Vec<&[u8]> = group.iter().map(|h| h.as_slice()).collect();
            let rows = self.with_client(|client| {
                client.query(
                    "SELECT hash, vector FROM weaver_embeddings WHERE model = $1 AND hash = ANY($2)",
                    &[&model, &keys],
                )
            })?;
            for row in rows {
                let hash: Vec<u8> = row.get(0);
                let bytes: Vec<u8> = row.get(1);
                found.insert(hash, from_bytes(&bytes));
            }
        }
        Ok(hashes.iter().map(|h| found.remove(h.as_slice())).collect())
    }

    fn put(&self, model: &str, entries: &[([u8; 32], &[f32])]) -> Result<(), String> {
        for group in entries.chunks(BATCH) {
            let hashes: Vec<&[u8]> = group.iter().map(|(h, _)| h.as_slice()).collect();
            let vectors: Vec<Vec<u8>> = group.iter().map(|(_, v)| to_bytes(v)).collect();
            self.with_client(|client| {
                client.execute(
                    "INSERT INTO weaver_embeddings (model, hash, vector)
                     SELECT $1, h, v FROM unnest($2::bytea[], $3::bytea[]) AS t(h, v)
                     ON CONFLICT (model, hash) DO NOTHING",
                    &[&model, &hashes, &vectors],
                )
            })?;
        }
        Ok(())
    }
}

fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .filter_map(|b| <[u8; 4]>::try_from(b).ok().map(f32::from_le_bytes))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weaver_app::SharedEmbeddings;

    #[test]
    fn vectors_round_trip_and_are_shared_between_caches() {
        let Some(pg) = weaver_testkit::postgres::Postgres::start() else {
            return;
        };
        let url = pg.database("embeddings");
        // The schema comes from a replica's first connection.
        let replica = crate::Replica::new(ClusterConfig::new(&url));
        drop(replica.connect().unwrap());
        let one = PgEmbeddings::new(&ClusterConfig::new(&url));
        let other = PgEmbeddings::new(&ClusterConfig::new(&url));
        let a = [1u8; 32];
        let b = [2u8; 32];
        let va = vec![0.25f32, -0.5, 1.0];
        one.put("m", &[(a, &va)]).unwrap();
        // Written once: a second put of another vector for the same text keeps the first.
        one.put("m", &[(a, &[9.0, 9.0, 9.0])]).unwrap();
        assert_eq!(other.get("m", &[a, b]).unwrap(), vec![Some(va), None]);
        // Another model's vectors are its own.
        assert_eq!(other.get("n", &[a]).unwrap(), vec![None]);
        // Many at once.
        let many: Vec<([u8; 32], Vec<f32>)> = (0..1200u32)
            .map(|i| {
                let mut h = [0u8; 32];
                h[..4].copy_from_slice(&i.to_le_bytes());
                (h, vec![i as f32; 4])
            })
            .collect();
        let entries: Vec<([u8; 32], &[f32])> =
            many.iter().map(|(h, v)| (*h, v.as_slice())).collect();
        one.put("m", &entries).unwrap();
        let hashes: Vec<[u8; 32]> = many.iter().map(|(h, _)| *h).collect();
        let got = other.get("m", &hashes).unwrap();
        assert!(
            got.iter()
                .zip(&many)
                .all(|(g, (_, v))| g.as_ref() == Some(v))
        );
    }
}
