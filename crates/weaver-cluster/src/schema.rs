//! Versioned migrations, run once under an advisory lock.

use postgres::Client;

use crate::ClusterError;

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i32 = 3;

/// The advisory lock migrations run under (any constant shared by every replica).
const MIGRATION_LOCK: i64 = 0x7765_6176_6572_0001;

/// Migration `n` (1-based) brings the schema from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    // 1: vaults with their head, content-addressed bytes, the files, the change log.
    r"
    CREATE TABLE weaver_vaults (
        name        text PRIMARY KEY,
        head        bigint NOT NULL DEFAULT 0,
        created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE weaver_blobs (
        vault  text NOT NULL REFERENCES weaver_vaults (name) ON DELETE CASCADE,
        hash   text NOT NULL,
        bytes  bytea NOT NULL,
        PRIMARY KEY (vault, hash)
    );
    CREATE TABLE weaver_files (
        vault  text NOT NULL REFERENCES weaver_vaults (name) ON DELETE CASCADE,
        path   text NOT NULL,
        hash   text NOT NULL,
        seq    bigint NOT NULL,
        PRIMARY KEY (vault, path)
    );
    CREATE TABLE weaver_changes (
        vault       text NOT NULL REFERENCES weaver_vaults (name) ON DELETE CASCADE,
        seq         bigint NOT NULL,
        request_id  text,
        kind        text NOT NULL,
        actor       text NOT NULL,
        replica     text NOT NULL,
        at          timestamptz NOT NULL DEFAULT now(),
        ops         jsonb NOT NULL,
        outcome     jsonb NOT NULL,
        PRIMARY KEY (vault, seq),
        UNIQUE (vault, actor, request_id)
    );
    ",
    // 2: the bridge: which folder it mirrors, and its base (each mirrored file as both sides
    // last agreed on it).
    r"
    CREATE TABLE weaver_bridges (
        vault      text PRIMARY KEY REFERENCES weaver_vaults (name) ON DELETE CASCADE,
        folder_id  text NOT NULL
    );
    CREATE TABLE weaver_bridge_files (
        vault  text NOT NULL REFERENCES weaver_vaults (name) ON DELETE CASCADE,
        path   text NOT NULL,
        hash   text NOT NULL,
        PRIMARY KEY (vault, path)
    );
    ",
    // 3: the embeddings the replicas share (semantic search): by model and chunk text hash,
    // little-endian f32 components.
    r"
    CREATE TABLE weaver_embeddings (
        model   text NOT NULL,
        hash    bytea NOT NULL,
        vector  bytea NOT NULL,
        PRIMARY KEY (model, hash)
    );
    ",
];

/// Brings the schema to [`SCHEMA_VERSION`], once across replicas (an advisory lock); refuses a
/// database whose schema is newer than this binary.
pub(crate) fn migrate(client: &mut Client) -> Result<(), ClusterError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = run_migrations(client);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result?;
    unlocked?;
    Ok(())
}

fn run_migrations(client: &mut Client) -> Result<(), ClusterError> {
    client.batch_execute(
        "SET client_min_messages = warning;
         CREATE TABLE IF NOT EXISTS weaver_schema (version integer NOT NULL);
         INSERT INTO weaver_schema (version)
             SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM weaver_schema);",
    )?;
    let found: i32 = client
        .query_one("SELECT max(version) FROM weaver_schema", &[])?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(ClusterError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let version = i as i32 + 1;
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute("UPDATE weaver_schema SET version = $1", &[&version])?;
        tx.commit()?;
        tracing::info!(version, "database schema migrated");
    }
    Ok(())
}
