//! Start-up, readiness, broken vaults and graceful shutdown.

use serde_json::json;

use crate::serve::support::{Sandbox, SseReader, Start, VAULT, mkfifo};

/// A named pipe in place of the cache's lock file holds `Vault::open` inside `open(2)` until
/// the test opens the pipe's other end: a vault that stays "opening" exactly as long as the
/// test wants, with no timing involved. (The lock file is `<cache>/lock`; see weaver-app's
/// `open_backends`.)
#[tokio::test]
async fn readiness_waits_for_every_vault_then_turns_ready() {
    let sandbox = Sandbox::new();
    let fast = sandbox.vault("fast", VAULT);
    let slow = sandbox.vault("slow", "//- a.md\n# A\n");
    let gate = sandbox.path("slow-cache/lock");
    mkfifo(&gate);
    let config = sandbox.write(
        "weaver.toml",
        &format!(
            "[vaults.fast]\npath = {fast:?}\n[vaults.slow]\npath = {slow:?}\ncache_dir = {:?}\n",
            sandbox.path("slow-cache")
        ),
    );
    let server = Start::new(&["--config", config.to_str().unwrap()]).spawn();

    // The server listens at once; the fast vault becomes ready, the slow one is held.
    server
        .poll(|| async {
            let (_, v) = server.get_json("/api/v1/vaults").await;
            (v["items"][0]["state"] == "ready").then_some(())
        })
        .await;
    let (status, ready) = server.get_json("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(ready["status"], "opening");
    assert_eq!(ready["vaults"]["slow"], json!({"state": "opening"}));
    assert_eq!(ready["vaults"]["fast"]["state"], "ready");
    assert_eq!(ready["vaults"]["fast"]["notes"], 5);

    // The opening vault answers 503 with Retry-After; the other one serves.
    let response = server.get("/api/v1/vaults/slow/stats").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "vault_not_ready");
    assert!(body["message"].as_str().unwrap().contains("`slow`"));
    server.ok("/api/v1/vaults/fast/stats").await;

    // Events can be subscribed to while opening; `index.ready` says when it is done.
    let mut events = SseReader::open(&server, "/api/v1/vaults/slow/events").await;

    // Release the gate.
    let reader = std::thread::spawn(move || std::fs::File::open(gate).unwrap());
    let ready = server.wait_ready().await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(
        ready["vaults"]["slow"],
        json!({"state": "ready", "notes": 1})
    );
    let event = events.next_named("index.ready").await;
    assert_eq!(
        event.data,
        json!({"vault": "slow", "notes": 1, "attachments": 0})
    );
    server.ok("/api/v1/vaults/slow/stats").await;
    drop(reader.join().unwrap());
}

#[tokio::test]
async fn a_broken_vault_does_not_stop_the_others() {
    let sandbox = Sandbox::new();
    let good = sandbox.vault("good", VAULT);
    let missing = sandbox.path("no-such-folder");
    let config = sandbox.write(
        "weaver.toml",
        &format!("[vaults.good]\npath = {good:?}\n[vaults.broken]\npath = {missing:?}\n"),
    );
    let server = Start::new(&["--config", config.to_str().unwrap()]).spawn();
    let ready = server.wait_ready().await;
    assert_eq!(ready["vaults"]["broken"]["state"], "failed");
    // The reason, without the server's paths (the log has them).
    let error = ready["vaults"]["broken"]["error"].as_str().unwrap();
    assert_eq!(error, "the vault's folder does not exist");
    assert!(server.logs().contains("no-such-folder"));

    let msg = server
        .error("/api/v1/vaults/broken/notes", 503, "vault_unavailable")
        .await;
    assert_eq!(
        msg,
        "vault `broken` is unavailable: the vault's folder does not exist"
    );
    server
        .error("/api/v1/vaults/broken/events", 503, "vault_unavailable")
        .await;
    assert_eq!(server.ok("/api/v1/vaults/good/stats").await["notes"], 5);
    let list = server.ok("/api/v1/vaults").await;
    assert_eq!(list["items"][0]["name"], "broken");
    assert_eq!(list["items"][0]["state"], "failed");
}

#[tokio::test]
async fn sigterm_drains_and_exits_with_an_event_stream_open() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", VAULT);
    // A drain deadline far beyond the test's bound: the server must not need it, because open
    // event streams end as soon as shutdown begins.
    let mut server = Start::vault(&vault)
        .env("WEAVER__SERVER__SHUTDOWN_TIMEOUT_SECS", "3600")
        .spawn();
    server.wait_ready().await;
    let mut events = SseReader::open(&server, "/api/v1/vaults/default/events").await;
    assert_eq!(events.next().await.unwrap().name, "index.ready");

    server.signal("TERM");
    assert!(events.next().await.is_none(), "the stream ends on shutdown");
    let status = server.wait_exit();
    assert!(status.success(), "{status}");
    let messages: Vec<String> = server
        .log_lines()
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str().map(str::to_owned))
        .collect();
    let order: Vec<&str> = [
        "SIGTERM received",
        "shutting down: not accepting connections, finishing requests in flight",
        "closing vaults",
        "vault closed",
        "stopped",
    ]
    .into_iter()
    .filter(|m| messages.iter().any(|x| x == m))
    .collect();
    assert_eq!(order.len(), 5, "{messages:?}");
    let positions: Vec<usize> = order
        .iter()
        .map(|m| messages.iter().position(|x| x == m).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{messages:?}");
    // The cache was released: another process can take its lock now.
    assert!(sandbox.path("vault/.weaver/cache.sqlite").exists());
}

#[tokio::test]
async fn serve_vault_works_with_a_relative_path_and_nothing_else() {
    let sandbox = Sandbox::new();
    sandbox.vault("notes", VAULT);
    let server = Start::new(&["--vault", "./notes"])
        .current_dir(&sandbox.path(""))
        .spawn();
    server.wait_ready().await;
    assert_eq!(server.ok("/api/v1/vaults/default/stats").await["notes"], 5);
    assert_eq!(server.ok("/livez").await, json!({"status": "ok"}));
}

#[test]
fn bad_configuration_fails_fast_naming_the_problem() {
    let sandbox = Sandbox::new();
    let config = sandbox.write(
        "weaver.toml",
        "[server]\nlisten = \"127.0.0.1:0\"\nlistn = 1\n",
    );
    let output = Start::new(&["--config", config.to_str().unwrap()])
        .command()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listn"), "{stderr}");

    let output = Start::new(&["--config", "/no/such/weaver.toml"])
        .command()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("config file `/no/such/weaver.toml` does not exist"),
        "{stderr}"
    );

    // Without `--config`, `./weaver.toml` is read when there is one.
    let output = Start::new(&[])
        .current_dir(&sandbox.path(""))
        .command()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listn"), "{stderr}");
}
