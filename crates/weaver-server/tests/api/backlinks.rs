//! Backlinks of heavily linked notes: bounded answers, and no request that hangs on a special
//! file put in place of a note.

use crate::support::{Sandbox, Server, Start, mkfifo};

/// `name value` of a metric without labels, from the Prometheus text.
async fn metric(server: &Server, name: &str) -> Option<f64> {
    let text = server.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// The shape of the report: one 2 MB note with 190,000 links to one target.
#[tokio::test]
async fn backlinks_of_a_note_linked_190k_times_are_bounded() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", "//- Weaver.md\n# Weaver\n");
    // Ten links a line, and one line of 10,000 links.
    let mut hub = "[[Weaver]] ".repeat(10).trim_end().to_owned();
    hub.push('\n');
    let mut text = hub.repeat(18_000);
    text.push_str(&"[[Weaver]] ".repeat(10_000));
    std::fs::write(vault.join("Hub.md"), &text).unwrap();
    std::fs::write(vault.join("Other.md"), "Also [[Weaver]].\n").unwrap();
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let note = "/api/v1/vaults/default/notes/Weaver";

    let response = server.get(&format!("{note}/backlinks?limit=1000")).await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["total"], 190_001);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1000);
    for item in items {
        let context = item["context"].as_str().unwrap();
        assert!(context.len() <= 240 + 6, "{}", context.len());
    }
    assert!(body.len() < 1000 * 400, "{} bytes", body.len());

    // The far end of the long line, cut around the link.
    let tail = server
        .ok(&format!("{note}/backlinks?limit=3&offset=189998"))
        .await;
    let tail: Vec<&str> = tail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["context"].as_str().unwrap())
        .collect();
    assert!(tail[0].starts_with('…') && tail[0].ends_with("[[Weaver]]"));
    assert_eq!(tail[2], "Also [[Weaver]].");

    server
        .error(
            &format!("{note}/backlinks?limit=1001"),
            400,
            "invalid_query",
        )
        .await;

    // The note itself lists the first backlinks and says how many there are.
    let details = server.ok(note).await;
    assert_eq!(details["backlinks"].as_array().unwrap().len(), 100);
    assert_eq!(details["backlinks_total"], 190_001);
}

// A note replaced by a named pipe after indexing (whose reads would block until a writer
// comes) is refused by the vault's file layer, so the request still answers at once instead of
// hanging a worker. That the work of a request whose client left stops is shown in-process by
// weaver-app's `a_cancelled_backlinks_query_stops` (the token this server cancels on drop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_files_in_place_of_notes_never_hang_a_backlinks_query() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault(
        "vault",
        "//- Weaver.md\n# Weaver\n//- a.md\nA [[Weaver]]\n//- b.md\nB [[Weaver]]\n",
    );
    let config = sandbox.write(
        "weaver.toml",
        &format!(
            "[watch]\ndebounce_ms = 3600000\nrescan_secs = 3600\n[vaults.default]\npath = {vault:?}\n"
        ),
    );
    let server = Start::config(&config).spawn();
    server.wait_ready().await;
    for name in ["a.md", "b.md"] {
        std::fs::remove_file(vault.join(name)).unwrap();
        mkfifo(&vault.join(name));
    }
    let page = server
        .ok("/api/v1/vaults/default/notes/Weaver/backlinks")
        .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|b| b["context"] == ""), "{items:?}");
    server
        .poll(|| async {
            (metric(&server, "weaver_queries_in_flight").await == Some(0.0)).then_some(())
        })
        .await;
    let stats = server.ok("/api/v1/vaults/default/stats").await;
    assert_eq!(stats["notes"], 3);
}
