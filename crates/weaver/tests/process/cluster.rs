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
    if response.status() != 200 {
        let status = response.status();
        let body = response.text().await.unwrap();
        let (_, ready) = server.get_json("/readyz").await;
        panic!(
            "GET {path} at {seq}: {status} {body}\nreadyz: {ready}\nlogs:\n{}",
            server.logs()
        );
    }
    response.text().await.unwrap()
}

fn seq_of(response: &reqwest::Response) -> u64 {
    response.headers()["weaver-seq"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Asserts that two folders' files are equal, naming the paths that differ (not the bytes).
fn assert_same_files(
    got: &std::collections::BTreeMap<String, Vec<u8>>,
    want: &std::collections::BTreeMap<String, Vec<u8>>,
    what: &str,
) {
    let differ: Vec<&String> = got
        .keys()
        .chain(want.keys())
        .filter(|k| got.get(*k) != want.get(*k))
        .collect();
    assert!(differ.is_empty(), "{what}: these paths differ: {differ:?}");
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
    // A generous staleness bound: it is also how long a read at a sequence may wait, and a
    // loaded 2-core CI machine applies a debug build's entries slowly.
    let replicas: Vec<Server> = ["r1", "r2", "r3"]
        .iter()
        .map(|id| replica(&sandbox, &url, id, 20_000))
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
        assert_same_files(&files(&copy), &expected, &format!("replica {id}"));
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

/// The head of vault `default` in the database at `pg`.
fn db_head(pg: &Postgres) -> u64 {
    pg.psql(
        "weaver",
        "SELECT head FROM weaver_vaults WHERE name = 'default'",
    )
    .parse()
    .unwrap()
}

/// Waits until `server` has applied entry `seq` of `default`.
async fn wait_applied(server: &Server, seq: u64) {
    server
        .poll(|| async {
            let (_, json) = server.get_json("/readyz").await;
            (json["cluster"]["vaults"][0]["applied"].as_u64() >= Some(seq)).then_some(())
        })
        .await;
}

#[tokio::test]
async fn a_replica_killed_in_the_middle_of_a_500_link_move_leaves_all_or_nothing_everywhere() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let vault = sandbox.path("vault");
    std::fs::create_dir_all(vault.join("notes")).unwrap();
    std::fs::write(vault.join("Target.md"), "# Target\n").unwrap();
    for i in 0..500 {
        std::fs::write(
            vault.join(format!("notes/n{i:03}.md")),
            format!("# Note {i}\n\nSee [[Target]] and more.\n"),
        )
        .unwrap();
    }
    cluster(&url, &["import", vault.to_str().unwrap()]);
    let witness = replica(&sandbox, &url, "witness", 30_000);
    witness.wait_ready().await;

    // How long a move takes here, unkilled; then kill the moving replica at fractions of that:
    // before, during and after its commit.
    let mut current = "Target".to_owned();
    let mut took = std::time::Duration::ZERO;
    let mut outcomes = Vec::new();
    // (The commit comes early; most of a move's time is applying it to the local copy.)
    for (round, percent) in [
        None,
        Some(5u32),
        Some(12),
        Some(20),
        Some(28),
        Some(50),
        Some(100),
    ]
    .into_iter()
    .enumerate()
    {
        let mut victim = replica(&sandbox, &url, "victim", 30_000);
        victim.wait_ready().await;
        let next = format!("Moved/Target{round}");
        let started = std::time::Instant::now();
        let request = victim
            .client
            .post(victim.url(&format!("/api/v1/vaults/default/notes/{current}.md/move")))
            .json(&serde_json::json!({ "to": format!("{next}.md") }))
            .send();
        let killer = async {
            if let Some(percent) = percent {
                tokio::time::sleep(took * percent / 100).await;
                victim.signal("KILL");
            }
        };
        let (answer, ()) = tokio::join!(request, killer);
        let acknowledged = answer.is_ok_and(|r| r.status() == 200);
        if percent.is_none() {
            assert!(acknowledged, "the unkilled move");
            took = started.elapsed();
        }
        victim.signal("KILL");
        victim.wait_exit();

        // The database holds the old state or the new one, whole; the witness converges on it.
        let head = db_head(&pg);
        wait_applied(&witness, head).await;
        let exported = sandbox.path(&format!("export-{round}"));
        cluster(&url, &["export", exported.to_str().unwrap()]);
        let expected = files(&exported);
        let moved = expected.contains_key(&format!("{next}.md"));
        assert_ne!(
            moved,
            expected.contains_key(&format!("{current}.md")),
            "round {round}: exactly one of the two paths exists"
        );
        assert!(
            !acknowledged || moved,
            "round {round}: an acknowledged move is in the database"
        );
        // A bare wikilink stays bare: the links name the note's file name.
        let spelled = if moved { &next } else { &current };
        let spelled = spelled.rsplit('/').next().unwrap();
        let linking = expected
            .iter()
            .filter(|(path, bytes)| {
                path.starts_with("notes/")
                    && String::from_utf8_lossy(bytes).contains(&format!("[[{spelled}]]"))
            })
            .count();
        assert_eq!(
            linking, 500,
            "round {round}: every link follows, or none does"
        );
        let copy = sandbox.path("data-witness/vaults/default");
        assert_same_files(
            &files(&copy),
            &expected,
            &format!("round {round}: the witness's copy"),
        );
        outcomes.push((percent, moved));
        if moved {
            current = next;
        }
    }
    // A restarted replica repairs whatever the kill left in its copy.
    let victim = replica(&sandbox, &url, "victim", 30_000);
    victim.wait_ready().await;
    let exported = sandbox.path("export-final");
    cluster(&url, &["export", exported.to_str().unwrap()]);
    assert_same_files(
        &files(&sandbox.path("data-victim/vaults/default")),
        &files(&exported),
        "the restarted replica's copy",
    );
    eprintln!("a move takes {took:?}; (kill at % of that, committed): {outcomes:?}");
}

#[tokio::test]
async fn a_failover_to_the_synchronous_standby_keeps_every_acknowledged_write() {
    let Some(primary) = Postgres::start() else {
        return;
    };
    let url = primary.database("weaver");
    let standby = primary.standby();
    primary.psql("weaver", "ALTER SYSTEM SET synchronous_standby_names = '*'");
    primary.psql("weaver", "SELECT pg_reload_conf()");
    let deadline = std::time::Instant::now() + weaver_testkit::BOUND;
    while primary.psql(
        "weaver",
        "SELECT string_agg(sync_state, ',') FROM pg_stat_replication",
    ) != "sync"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the standby never became synchronous"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    cluster(&url, &["import", vault.to_str().unwrap()]);
    // Both hosts, the primary first; libpq's rule picks whichever accepts writes.
    let multi = format!(
        "postgresql://postgres@127.0.0.1:{},127.0.0.1:{}/weaver?target_session_attrs=read-write",
        primary.port(),
        standby.port()
    );
    let replicas = [
        replica(&sandbox, &multi, "a", 60_000),
        replica(&sandbox, &multi, "b", 60_000),
    ];
    for r in &replicas {
        r.wait_ready().await;
    }

    let stop = std::sync::atomic::AtomicBool::new(false);
    // Readers on both replicas, all along: every read answers.
    let reads = async {
        let mut failed = Vec::new();
        let mut count = 0u32;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            for r in &replicas {
                let status = r.get(NOTE).await.status();
                count += 1;
                if status != 200 {
                    failed.push(status);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        (count, failed)
    };
    // A writer alternating between the replicas; a write that fails is retried with its
    // request id until it is acknowledged, so each line is written once.
    let writes = async {
        let mut acknowledged = Vec::new();
        let mut last_seq = 0;
        let mut refused = 0u32;
        let mut killed_at = None;
        let mut failover = None;
        for i in 0..60u32 {
            if i == 20 {
                killed_at = Some(std::time::Instant::now());
                primary.kill();
                standby.promote();
            }
            let line = format!("line-{i:03}");
            let started = std::time::Instant::now();
            loop {
                let r = &replicas[i as usize % 2];
                let answer = r
                    .client
                    .patch(r.url(NOTE))
                    .header("x-request-id", format!("failover-{i}"))
                    .json(&serde_json::json!({"operations": [{"op": "append", "text": format!("\n{line}\n")}]}))
                    .send()
                    .await;
                match answer {
                    Ok(a) if a.status() == 200 => {
                        last_seq = seq_of(&a);
                        if failover.is_none()
                            && let Some(at) = killed_at
                        {
                            failover = Some(at.elapsed());
                        }
                        break;
                    }
                    Ok(a) => {
                        refused += 1;
                        let status = a.status();
                        let body: Value = a.json().await.unwrap();
                        assert_eq!(status, 503, "{body}");
                        assert_eq!(body["code"], "cluster_unavailable", "{body}");
                    }
                    Err(e) => panic!("write {i}: {e}"),
                }
                assert!(
                    started.elapsed() < weaver_testkit::BOUND,
                    "write {i} never succeeded after the failover"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            acknowledged.push(line);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        eprintln!(
            "failover: {refused} writes refused (503) and retried; first write acknowledged {failover:?} after the primary was killed"
        );
        (acknowledged, last_seq)
    };
    let ((count, failed), (acknowledged, last_seq)) = tokio::join!(reads, writes);
    assert!(
        failed.is_empty(),
        "{} of {count} reads failed: {failed:?}",
        failed.len()
    );
    assert_eq!(standby.psql("weaver", "SELECT pg_is_in_recovery()"), "f");
    for r in &replicas {
        let raw = raw_at(r, NOTE, last_seq).await;
        for line in &acknowledged {
            assert_eq!(raw.matches(line.as_str()).count(), 1, "{line} in:\n{raw}");
        }
    }
}

#[tokio::test]
async fn the_gateway_takes_replicas_in_turn_and_goes_on_when_one_dies() {
    use crate::gateway::stack::{Stack, key, send};
    use reqwest::Method;

    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    cluster(&url, &["import", vault.to_str().unwrap()]);
    let doomed = replica(&sandbox, &url, "doomed", 5_000);
    let survivor = replica(&sandbox, &url, "survivor", 5_000);
    doomed.wait_ready().await;
    survivor.wait_ready().await;
    let stack = Stack::builder()
        .replicas(&[&doomed.base, &survivor.base])
        .start()
        .await;
    let append = |as_key: &str, id: &str, line: &str| {
        stack
            .request(Method::PATCH, NOTE, Some(&key(as_key)))
            .header("x-request-id", id)
            .json(&serde_json::json!({"operations": [{"op": "append", "text": format!("\n{line}\n")}]}))
    };

    // A write through the gateway answers with its sequence; reads at it, on either replica
    // in turn, see it.
    let written = send(append("writer", "gw-1", "first line")).await;
    written.assert_status(200);
    let seq = written.header("weaver-seq").unwrap().to_owned();
    for _ in 0..4 {
        let read = send(
            stack
                .request(Method::GET, NOTE, Some(&key("reader")))
                .header("accept", "text/markdown")
                .header("weaver-min-seq", &seq),
        )
        .await;
        read.assert_status(200);
    }

    // The same request id from two identities is two writes; from the same one, one.
    send(append("admin", "gw-1", "admin line"))
        .await
        .assert_status(200);
    send(append("writer", "gw-1", "first line"))
        .await
        .assert_status(200);
    assert_eq!(
        pg.psql(
            "weaver",
            "SELECT string_agg(actor, ',' ORDER BY actor) FROM weaver_changes WHERE request_id = 'gw-1'"
        ),
        "admin,writer"
    );
    // The same id for another kind of write is refused, not replayed.
    let reused = send(
        stack
            .request(Method::POST, &format!("{NOTE}/move"), Some(&key("writer")))
            .header("x-request-id", "gw-1")
            .json(&serde_json::json!({"to": "Elsewhere.md"})),
    )
    .await;
    reused.assert_error(409, "request_id_reused");

    // One replica dies: every request goes on through the other.
    doomed.signal("KILL");
    for i in 0..10 {
        let read = stack.get_as("reader", NOTE).await;
        read.assert_status(200);
        send(append(
            "writer",
            &format!("after-{i}"),
            &format!("after {i}"),
        ))
        .await
        .assert_status(200);
    }
    let head = db_head(&pg);
    let text = raw_at(&survivor, NOTE, head).await;
    assert_eq!(text.matches("first line").count(), 1, "{text}");
    assert_eq!(text.matches("admin line").count(), 1, "{text}");
    for i in 0..10 {
        assert!(text.contains(&format!("after {i}")), "{text}");
    }
}

/// `weaver bridge DIR` for the database at `url`, cycling every 150 ms.
fn bridge(url: &str, dir: &Path) -> Server {
    Start::new(&[
        dir.to_str().unwrap(),
        "--postgres-url",
        url,
        "--interval-ms",
        "150",
    ])
    .subcommand("bridge")
    .spawn()
}

/// Polls until `f` holds, naming `what` when it never does.
async fn eventually(server: &Server, what: &str, f: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + weaver_testkit::BOUND;
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened; logs:\n{}",
            server.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_bridge_mirrors_a_folder_both_ways_and_keeps_both_sides_of_a_conflict() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let folder = sandbox.vault("vault", VAULT);
    let mut mirror = bridge(&url, &folder);
    mirror.wait_ready().await;
    // A second bridge for the vault waits for the first one's lock.
    let spare_folder = sandbox.vault("spare", VAULT);
    let mut spare = bridge(&url, &spare_folder);
    let (status, body) = spare.get_json("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["leader"], false, "{body}");
    spare.wait_log(|l| {
        l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("another bridge holds this vault"))
    });
    spare.signal("TERM");
    spare.wait_exit();

    // The bridge imported the folder: a replica serves it.
    let server = replica(&sandbox, &url, "r1", 5_000);
    server.wait_ready().await;
    let plan = folder.join("Projects/Plan.md");

    // An edit in the folder reaches the cluster.
    std::fs::write(&plan, "# Plan\n\nedited in the folder\n").unwrap();
    server
        .poll(|| async {
            let text = server
                .client
                .get(server.url(NOTE))
                .header("accept", "text/markdown")
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.contains("edited in the folder").then_some(())
        })
        .await;
    // A write through the API reaches the folder.
    let etag = server.get(NOTE).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let written = put(&server, NOTE, "# Plan\n\nwritten through the API\n", &etag).await;
    assert_eq!(written.status(), 200);
    eventually(&mirror, "the API write in the folder", || {
        std::fs::read_to_string(&plan).is_ok_and(|t| t.contains("written through the API"))
    })
    .await;

    // Both sides change the note while the bridge is down: the cluster's version stays at
    // the path, the folder's is kept as a conflict copy, on both sides.
    mirror.signal("TERM");
    mirror.wait_exit();
    std::fs::write(&plan, "# Plan\n\nthe folder's side\n").unwrap();
    let etag = server.get(NOTE).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let written = put(&server, NOTE, "# Plan\n\nthe cluster's side\n", &etag).await;
    assert_eq!(written.status(), 200);
    let mirror = bridge(&url, &folder);
    let copy_of = |dir: &Path| {
        std::fs::read_dir(dir.join("Projects"))
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("Plan (conflict ")
            })
            .map(|e| e.path())
    };
    eventually(&mirror, "the conflict copy", || {
        copy_of(&folder).is_some()
            && std::fs::read_to_string(&plan).is_ok_and(|t| t.contains("the cluster's side"))
    })
    .await;
    let copy = copy_of(&folder).unwrap();
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        "# Plan\n\nthe folder's side\n"
    );
    let name = copy.file_name().unwrap().to_string_lossy().into_owned();
    let in_cluster = format!("/api/v1/vaults/default/notes/Projects/{name}");
    server
        .poll(|| async {
            let response = server
                .client
                .get(server.url(&in_cluster))
                .header("accept", "text/markdown")
                .send()
                .await
                .ok()?;
            (response.status() == 200).then_some(())
        })
        .await;

    // A file deleted in the folder is deleted in the cluster.
    std::fs::remove_file(folder.join("Home.md")).unwrap();
    server
        .poll(|| async {
            let status = server
                .get("/api/v1/vaults/default/notes/Home.md")
                .await
                .status();
            (status == 404).then_some(())
        })
        .await;

    // A bridge on another folder (a stale copy) overwrites nothing: where it differs from the
    // cluster, the cluster's version stays and the folder's becomes a conflict copy.
    let mut mirror = mirror;
    mirror.signal("TERM");
    mirror.wait_exit();
    let spare_plan = spare_folder.join("Projects/Plan.md");
    let original = std::fs::read_to_string(&spare_plan).unwrap();
    let stale = bridge(&url, &spare_folder);
    let kept_as_copy = || {
        std::fs::read_dir(spare_folder.join("Projects"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("Plan (conflict ")
            })
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t == original))
    };
    eventually(&stale, "the stale folder's conflict copy", || {
        kept_as_copy()
            && std::fs::read_to_string(&spare_plan).is_ok_and(|t| t.contains("the cluster's side"))
    })
    .await;
    let head = db_head(&pg);
    let text = raw_at(&server, NOTE, head).await;
    assert!(text.contains("the cluster's side"), "{text}");
}

#[tokio::test]
async fn a_vault_imported_while_replicas_run_is_served_without_a_restart() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    cluster(&url, &["import", vault.to_str().unwrap()]);
    let server = replica(&sandbox, &url, "r1", 5_000);
    server.wait_ready().await;
    let second = sandbox.vault("second", "//- Elsewhere.md\n# Elsewhere\nonly here\n");
    cluster(
        &url,
        &["import", second.to_str().unwrap(), "--name", "second"],
    );
    server
        .poll(|| async {
            let response = server.get("/api/v1/vaults/second/notes/Elsewhere.md").await;
            (response.status() == 200).then_some(())
        })
        .await;
    let ready = server.wait_ready().await;
    assert_eq!(ready["vaults"]["second"]["state"], "ready", "{ready}");
    assert_eq!(
        ready["cluster"]["vaults"].as_array().unwrap().len(),
        2,
        "{ready}"
    );
}

// Two worker threads: the restarts block one (waiting for a child), the load runs on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_through_the_gateway_fails_no_request() {
    use crate::gateway::stack::{Stack, key, send};
    use reqwest::Method;

    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    cluster(&url, &["import", vault.to_str().unwrap()]);
    // Fixed ports, so a restarted replica is where the gateway looks for it.
    let ports: Vec<u16> = (0..2)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    let start = |i: usize| {
        let id = format!("roll{i}");
        let config = sandbox.write(
            &format!("{id}.toml"),
            &format!(
                "[server]\nlisten = \"127.0.0.1:{}\"\n[cluster]\npostgres_url = \"{url}\"\nreplica_id = \"{id}\"\ndata_dir = \"{}\"\nmax_staleness_ms = 10000\npoll_interval_ms = 200\n",
                ports[i],
                sandbox.path(&format!("data-{id}")).display()
            ),
        );
        Start::new(&[
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{}", ports[i]),
        ])
        .spawn()
    };
    let mut replicas = vec![start(0), start(1)];
    for r in &replicas {
        r.wait_ready().await;
    }
    let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();
    let stack = std::sync::Arc::new(
        Stack::builder()
            .replicas(&[&bases[0], &bases[1]])
            .start()
            .await,
    );

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (load_stack, load_stop) = (std::sync::Arc::clone(&stack), std::sync::Arc::clone(&stop));
    let load = tokio::spawn(async move {
        let (stack, stop) = (load_stack, load_stop);
        let (mut ok, mut failed, mut lines) = (0u32, Vec::new(), Vec::new());
        let mut i = 0u32;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let read = stack.get_as("reader", NOTE).await;
            let line = format!("rolling-{i:04}");
            let write = send(
                stack
                    .request(Method::PATCH, NOTE, Some(&key("writer")))
                    .header("x-request-id", &line)
                    .json(&serde_json::json!({"operations": [{"op": "append", "text": format!("\n{line}\n")}]})),
            )
            .await;
            for (what, reply) in [("read", &read), ("write", &write)] {
                if reply.status == 200 {
                    ok += 1;
                } else {
                    failed.push(format!("{what} {i}: {} {}", reply.status, reply.body));
                }
            }
            if write.status == 200 {
                lines.push(line);
            }
            i += 1;
        }
        (ok, failed, lines)
    });
    // Reads on their own as well, as fast as they go.
    let (read_stack, read_stop) = (std::sync::Arc::clone(&stack), std::sync::Arc::clone(&stop));
    let reads = tokio::spawn(async move {
        let (mut ok, mut failed) = (0u32, Vec::new());
        while !read_stop.load(std::sync::atomic::Ordering::Relaxed) {
            let read = read_stack
                .get_as("reader", "/api/v1/vaults/default/search?q=plan")
                .await;
            if read.status == 200 {
                ok += 1;
            } else {
                failed.push(format!("search: {} {}", read.status, read.body));
            }
        }
        (ok, failed)
    });
    let roll = async {
        for (i, replica) in replicas.iter_mut().enumerate() {
            tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
            replica.signal("TERM");
            replica.wait_exit();
            *replica = start(i);
            replica.wait_ready().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    roll.await;
    let (ok, mut failed, lines) = load.await.unwrap();
    let (read_ok, read_failed) = reads.await.unwrap();
    failed.extend(read_failed);
    let ok = ok + read_ok;
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {failed:#?}",
        failed.len(),
        ok as usize + failed.len()
    );
    assert!(lines.len() > 5, "too little load: {} writes", lines.len());
    let head = db_head(&pg);
    for r in &replicas {
        let text = raw_at(r, NOTE, head).await;
        for line in &lines {
            assert_eq!(text.matches(line.as_str()).count(), 1, "{line}");
        }
    }
    eprintln!("rolling restart: {ok} requests, none failed");
}

/// A network namespace joined to this one by two veth links, one for the database and one for
/// HTTP, so that the database link can be cut while the test still reaches the replica.
struct Netns {
    name: String,
    /// The host side of the database link.
    db_link: String,
    /// The host's address on the database link, and the namespace's on the HTTP link.
    host_db: String,
    ns_http: String,
}

impl Netns {
    fn ip(args: &[&str]) -> bool {
        Command::new("ip")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// `None` (and a message) where namespaces cannot be made: not root, no `ip`.
    fn new() -> Option<Self> {
        let n = std::process::id() % 200 + 20;
        let name = format!("wvr{n}");
        let (db_link, http_link) = (format!("wvd{n}"), format!("wvh{n}"));
        let _ = Self::ip(&["netns", "del", &name]);
        if !Self::ip(&["netns", "add", &name]) {
            eprintln!("skipping: cannot create a network namespace (needs root and iproute2)");
            return None;
        }
        let ns = Self {
            name: name.clone(),
            db_link: db_link.clone(),
            host_db: format!("10.77.{n}.1"),
            ns_http: format!("10.78.{n}.2"),
        };
        for (link, net) in [(&db_link, 77), (&http_link, 78)] {
            let peer = format!("{link}p");
            let ok = Self::ip(&["link", "add", link, "type", "veth", "peer", "name", &peer])
                && Self::ip(&["link", "set", &peer, "netns", &name])
                && Self::ip(&["addr", "add", &format!("10.{net}.{n}.1/24"), "dev", link])
                && Self::ip(&["link", "set", link, "up"])
                && Self::ip(&[
                    "-n",
                    &name,
                    "addr",
                    "add",
                    &format!("10.{net}.{n}.2/24"),
                    "dev",
                    &peer,
                ])
                && Self::ip(&["-n", &name, "link", "set", &peer, "up"]);
            assert!(ok, "cannot set up the veth link {link}");
        }
        assert!(Self::ip(&["-n", &name, "link", "set", "lo", "up"]));
        Some(ns)
    }

    fn cut(&self, cut: bool) {
        let state = if cut { "down" } else { "up" };
        assert!(Self::ip(&["link", "set", &self.db_link, state]));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes its ends of the links, and with them both pairs.
        let _ = Self::ip(&["netns", "del", &self.name]);
    }
}

/// Relays TCP from `listen` to `to` (so a server on loopback is reachable on a veth address).
async fn relay(listen: &str, to: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_replica_serves_stale_reads_turns_unready_and_catches_up() {
    let Some(pg) = Postgres::start() else { return };
    let Some(ns) = Netns::new() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    cluster(&url, &["import", vault.to_str().unwrap()]);
    let relayed = relay(
        &format!("{}:0", ns.host_db),
        std::net::SocketAddr::from(([127, 0, 0, 1], pg.port())),
    )
    .await;
    let ns_url = format!("postgresql://postgres@{relayed}/weaver");
    let config = sandbox.write(
        "island.toml",
        &format!(
            "[cluster]\npostgres_url = \"{ns_url}\"\nreplica_id = \"island\"\ndata_dir = \"{}\"\nmax_staleness_ms = 1500\npoll_interval_ms = 200\n",
            sandbox.path("data-island").display()
        ),
    );
    let island = Start::new(&[
        "--config",
        config.to_str().unwrap(),
        "--listen",
        &format!("{}:0", ns.ns_http),
    ])
    .wrap("ip", &["netns", "exec", &ns.name])
    .spawn();
    island.wait_ready().await;
    let mainland = replica(&sandbox, &url, "mainland", 5_000);
    mainland.wait_ready().await;

    // Cut the island's database link; the mainland writes on.
    ns.cut(true);
    let etag = mainland.get(NOTE).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let written = put(
        &mainland,
        NOTE,
        "# Plan\n\nwhile the island was cut off\n",
        &etag,
    )
    .await;
    assert_eq!(written.status(), 200);
    let seq = seq_of(&written);
    // The island still answers reads from its copy (stale), then says it is behind.
    let stale = island
        .client
        .get(island.url(NOTE))
        .header("accept", "text/markdown")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    assert!(!stale.text().await.unwrap().contains("cut off"));
    island
        .poll(|| async {
            let (status, json) = island.get_json("/readyz").await;
            (status == 503 && json["status"] == "behind").then_some(())
        })
        .await;

    // The link comes back: the island catches up and is ready again.
    ns.cut(false);
    island
        .poll(|| async {
            let (status, json) = island.get_json("/readyz").await;
            (status == 200 && json["cluster"]["vaults"][0]["applied"].as_u64() >= Some(seq))
                .then_some(())
        })
        .await;
    let text = raw_at(&island, NOTE, seq).await;
    assert!(text.contains("while the island was cut off"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_waits_for_a_database_that_is_down_at_start_and_stops_at_a_broken_log() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("weaver");
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    cluster(&url, &["import", vault.to_str().unwrap()]);
    // The replica's URL names a port where nothing listens yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = replica(
        &sandbox,
        &format!("postgresql://postgres@127.0.0.1:{port}/weaver"),
        "late",
        2_000,
    );
    let (status, body) = server.get_json("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "behind", "{body}");
    server
        .poll(|| async {
            let (_, body) = server.get_json("/readyz").await;
            body["cluster"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("not connected to the database"))
                .then_some(())
        })
        .await;
    // The database appears: the replica connects on its next try and serves.
    relay(
        &format!("127.0.0.1:{port}"),
        std::net::SocketAddr::from(([127, 0, 0, 1], pg.port())),
    )
    .await;
    let ready = server.wait_ready().await;
    assert_eq!(ready["cluster"]["ready"], true, "{ready}");

    // A gap in the log (entries the head promises are not there): the replica stops applying,
    // turns unready and says why, loudly; it never skips ahead.
    pg.psql(
        "weaver",
        "UPDATE weaver_vaults SET head = head + 2 WHERE name = 'default'",
    );
    pg.psql("weaver", "SELECT pg_notify('weaver_changes', 'default')");
    server
        .poll(|| async {
            let (status, body) = server.get_json("/readyz").await;
            (status == 503
                && body["cluster"]["vaults"][0]["broken"]
                    .as_str()
                    .is_some_and(|b| b.contains("missing")))
            .then_some(())
        })
        .await;
    let (_, body) = server.get_json("/readyz").await;
    assert_eq!(body["cluster"]["vaults"][0]["applied"], 1, "{body}");
    assert!(
        server.logs().contains("stopped following the log"),
        "{}",
        server.logs()
    );
}
