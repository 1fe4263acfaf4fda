//! Cluster mode for real: a PostgreSQL server (`weaver_testkit::postgres`, skipped with a
//! message when absent), vaults imported with `weaver cluster import`, and three `weaver serve`
//! replicas on `127.0.0.1:0`, each with its own data folder.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use weaver_testkit::postgres::Postgres;

use crate::serve::support::{Sandbox, Server, Start, VAULT};

const NOTE: &str = "/api/v1/vaults/default/notes/Projects/Plan.md";

/// `weaver cluster ARGS --postgres-url URL`, expecting success; its stdout.
fn cluster(url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_weaver"))
        .arg("cluster")
        .args(args)
        .args(["--postgres-url", url])
        .env_remove("WEAVER__CLUSTER__POSTGRES_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "weaver cluster {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A replica `id` of the database at `url`, with its data under `sandbox`.
fn replica(sandbox: &Sandbox, url: &str, id: &str, staleness_ms: u64) -> Server {
    let config = sandbox.write(
        &format!("{id}.toml"),
        &format!(
            "[cluster]\npostgres_url = \"{url}\"\nreplica_id = \"{id}\"\ndata_dir = \"{}\"\nmax_staleness_ms = {staleness_ms}\npoll_interval_ms = 200\n",
            sandbox.path(&format!("data-{id}")).display()
        ),
    );
    Start::new(&["--config", config.to_str().unwrap()]).spawn()
}

async fn put(server: &Server, path: &str, body: &str, if_match: &str) -> reqwest::Response {
    server
        .client
        .put(server.url(path))
        .header("if-match", if_match)
        .header("content-type", "text/markdown")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// `GET path` as JSON on `server` once it has applied entry `seq`.
async fn read_at(server: &Server, path: &str, seq: u64) -> Value {
    let response = server
        .client
        .get(server.url(path))
        .header("weaver-min-seq", seq.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path} at {seq}");
    response.json().await.unwrap()
}

/// The Markdown of the note at `path` on `server` once it has applied entry `seq`.
async fn raw_at(server: &Server, path: &str, seq: u64) -> String {
    let response = server
        .client
        .get(server.url(path))
        .header("accept", "text/markdown")
        .header("weaver-min-seq", seq.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path} at {seq}");
    response.text().await.unwrap()
}

fn seq_of(response: &reqwest::Response) -> u64 {
    response.headers()["weaver-seq"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Every file under `root` with its bytes, by relative path.
fn files(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut found = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

#[tokio::test]
async fn three_replicas_take_one_of_three_racing_writes_and_converge() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    let imported = cluster(&url, &["import", vault.to_str().unwrap()]);
    assert!(imported.contains("added"), "{imported}");
    let replicas: Vec<Server> = ["r1", "r2", "r3"]
        .iter()
        .map(|id| replica(&sandbox, &url, id, 5_000))
        .collect();
    for r in &replicas {
        let ready = r.wait_ready().await;
        assert_eq!(ready["cluster"]["ready"], true, "{ready}");
    }

    // The same If-Match sent to the three replicas at once: exactly one wins.
    let etag = replicas[0].get(NOTE).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let bodies = [
        "# Plan\n\nby r1\n",
        "# Plan\n\nby r2\n",
        "# Plan\n\nby r3\n",
    ];
    let (a, b, c) = tokio::join!(
        put(&replicas[0], NOTE, bodies[0], &etag),
        put(&replicas[1], NOTE, bodies[1], &etag),
        put(&replicas[2], NOTE, bodies[2], &etag),
    );
    let responses = [a, b, c];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        2,
        "{statuses:?}"
    );
    let winner = statuses.iter().position(|s| *s == 200).unwrap();
    let seq = seq_of(&responses[winner]);
    for r in &replicas {
        assert_eq!(raw_at(r, NOTE, seq).await, bodies[winner]);
        let hits = read_at(r, "/api/v1/vaults/default/search?q=by", seq).await;
        assert_eq!(hits["total"], 1, "{hits}");
    }

    // A move with its link rewrites is one entry, seen whole everywhere.
    let moved = replicas[1]
        .client
        .post(replicas[1].url(&format!("{NOTE}/move")))
        .json(&serde_json::json!({"to": "Archive/Plan.md"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let seq = seq_of(&moved);
    for r in &replicas {
        let home = raw_at(r, "/api/v1/vaults/default/notes/Home.md", seq).await;
        assert!(home.contains("[[Archive/Plan]]"), "{home}");
        let back = read_at(
            r,
            "/api/v1/vaults/default/notes/Archive/Plan.md/backlinks",
            seq,
        )
        .await;
        assert!(!back["items"].as_array().unwrap().is_empty(), "{back}");
    }

    // Every replica's copy is byte for byte what an export of the database writes.
    let exported = sandbox.path("export");
    cluster(&url, &["export", exported.to_str().unwrap()]);
    let expected = files(&exported);
    assert!(
        expected.contains_key("Archive/Plan.md"),
        "{:?}",
        expected.keys()
    );
    for id in ["r1", "r2", "r3"] {
        let copy = sandbox.path(&format!("data-{id}/vaults/default"));
        assert_eq!(files(&copy), expected, "replica {id}");
    }
}

#[tokio::test]
async fn a_retried_request_id_is_done_once_on_any_replica() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    cluster(&url, &["import", vault.to_str().unwrap()]);
    let one = replica(&sandbox, &url, "one", 5_000);
    let two = replica(&sandbox, &url, "two", 5_000);
    one.wait_ready().await;
    two.wait_ready().await;
    let patch = |server: &Server| {
        server
            .client
            .patch(server.url(NOTE))
            .header("x-request-id", "retry-me-1")
            .json(&serde_json::json!({"operations": [{"op": "append", "text": "\nonce\n"}]}))
            .send()
    };
    let first = patch(&one).await.unwrap();
    assert_eq!(first.status(), 200);
    let seq = seq_of(&first);
    let again = patch(&two).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(seq_of(&again), seq, "the retry gets the first outcome");
    let raw = raw_at(&two, NOTE, seq).await;
    assert_eq!(raw.matches("once").count(), 1, "{raw}");
}

#[tokio::test]
async fn without_the_database_writes_fail_cleanly_and_reads_go_on() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    cluster(&url, &["import", vault.to_str().unwrap()]);
    let server = replica(&sandbox, &url, "solo", 1_000);
    server.wait_ready().await;
    let etag = server.get(NOTE).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();

    pg.kill();
    let refused = put(&server, NOTE, "# Plan\n\nlost?\n", &etag).await;
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "cluster_unavailable", "{body}");
    assert!(
        !body["message"].as_str().unwrap().contains("postgresql://"),
        "{body}"
    );
    // Reads are served from the copy; readiness lapses after `max_staleness_ms`.
    server.ok(NOTE).await;
    server
        .poll(|| async {
            let (status, json) = server.get_json("/readyz").await;
            (status == 503 && json["status"] == "behind").then_some(())
        })
        .await;
    // A read that asks for an entry the replica cannot have waits, then says so.
    let behind = server
        .client
        .get(server.url(NOTE))
        .header("weaver-min-seq", "99")
        .send()
        .await
        .unwrap();
    assert_eq!(behind.status(), 503);
    let body: Value = behind.json().await.unwrap();
    assert_eq!(body["code"], "replica_behind", "{body}");
}

#[test]
fn a_schema_newer_than_the_binary_is_refused() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    cluster(&url, &["list"]);
    pg.psql("weaver", "UPDATE weaver_schema SET version = 999");
    let out = Command::new(env!("CARGO_BIN_EXE_weaver"))
        .args(["cluster", "list", "--postgres-url", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("version 999"), "{stderr}");
}
