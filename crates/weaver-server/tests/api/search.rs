//! Search modes, similar notes and unlinked mentions over REST: without a model (the modes that
//! need one are refused with `semantic_unavailable`, keyword search is unchanged) and with the
//! real all-MiniLM-L6-v2 (skipped with a message when it is absent, see `weaver-embed`).

use serde_json::Value;

use crate::support::{Sandbox, Server, Start};

const NOTES: &str = r#"
    //- Billing/Refunds.md
    # Refund policy
    If you bought a license by mistake, ask for your money back within 30 days.
    //- Billing/Licenses.md
    # Commercial license
    A company with two or more people using the app needs a license per seat.
    //- Guides/Graph view.md
    # Graph view
    The graph view draws your notes as dots and their links as lines between them.
    //- Guides/Sync.md
    # Sync
    Sync keeps the vault the same on your phone and computer. See [[Graph view]].
    //- Guides/Tips.md
    # Tips
    The graph view is handy; Sync is not a backup.
"#;

async fn start(model: Option<&std::path::Path>) -> (Sandbox, Server) {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", NOTES);
    let start = Start::vault(&vault);
    let start = match model {
        Some(dir) => start.env("WEAVER__SEARCH__SEMANTIC__MODEL_DIR", dir.to_str().unwrap()),
        None => start.env("WEAVER__SEARCH__SEMANTIC__ENABLED", "false"),
    };
    let server = start.spawn();
    server.wait_ready().await;
    (sandbox, server)
}

fn paths(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().or(i["source"].as_str()).unwrap())
        .collect()
}

const V: &str = "/api/v1/vaults/default";

#[tokio::test]
async fn without_a_model_modes_that_need_one_are_refused() {
    let (_s, server) = start(None).await;
    let keyword = server.ok(&format!("{V}/search?q=graph+view")).await;
    assert_eq!(keyword["mode"], "keyword");
    assert_eq!(keyword["partial"], false);
    assert_eq!(paths(&keyword)[0], "Guides/Graph view.md");
    assert_eq!(
        keyword["items"][0]["matched_by"],
        serde_json::json!(["keyword"])
    );
    assert!(keyword["items"][0].get("chunk").is_none());
    let explicit = server
        .ok(&format!("{V}/search?q=graph+view&mode=keyword"))
        .await;
    assert_eq!(explicit, keyword);
    for mode in ["semantic", "hybrid"] {
        let message = server
            .error(
                &format!("{V}/search?q=graph&mode={mode}"),
                400,
                "semantic_unavailable",
            )
            .await;
        assert!(message.contains("model_dir"), "{message}");
    }
    let message = server
        .error(
            &format!("{V}/search?q=graph&mode=magic"),
            400,
            "invalid_query",
        )
        .await;
    assert!(message.contains("`magic`"), "{message}");
    server
        .error(
            &format!("{V}/notes/Sync/similar"),
            400,
            "semantic_unavailable",
        )
        .await;
    let stats = server.ok(&format!("{V}/stats")).await;
    assert_eq!(stats["semantic"], Value::Null);
    let ready = server.ok("/readyz").await;
    assert_eq!(ready["semantic"]["state"], "off");
    // Unlinked mentions need no model: Tips names Sync and Graph view without links.
    let mentions = server.ok(&format!("{V}/notes/Sync/mentions")).await;
    assert_eq!(mentions["note"], "Guides/Sync.md");
    assert_eq!(paths(&mentions), ["Guides/Tips.md"]);
    assert_eq!(mentions["items"][0]["name"], "Sync");
    assert_eq!(mentions["items"][0]["line"], 2);
    // Graph view is linked from Sync: only Tips mentions it without a link.
    let mentions = server.ok(&format!("{V}/notes/Graph%20view/mentions")).await;
    assert_eq!(paths(&mentions), ["Guides/Tips.md"]);
    server
        .error(&format!("{V}/notes/Nope/mentions"), 404, "note_not_found")
        .await;
    server
        .error(
            &format!("{V}/notes/Sync/mentions?limit=x"),
            400,
            "invalid_query",
        )
        .await;
}

#[tokio::test]
async fn with_a_model_hybrid_is_the_default_and_similar_notes_are_served() {
    let Some(model) = weaver_testkit::test_model_dir() else {
        return;
    };
    let (_s, server) = start(Some(&model)).await;
    // Readiness is the keyword index's; embedding goes on behind it.
    let ready = server.ok("/readyz").await;
    assert_eq!(ready["status"], "ready");
    server
        .poll(|| async {
            let stats = server.ok(&format!("{V}/stats")).await;
            (stats["semantic"]["complete"] == true).then_some(())
        })
        .await;
    let stats = server.ok(&format!("{V}/stats")).await;
    assert_eq!(stats["semantic"]["notes"], 5);
    assert_eq!(stats["semantic"]["embedded_notes"], 5);
    assert!(
        stats["semantic"]["model"]
            .as_str()
            .unwrap()
            .starts_with("all-MiniLM-L6-v2")
    );
    assert_eq!(server.ok("/readyz").await["semantic"]["state"], "ready");

    let answer = server
        .ok(&format!("{V}/search?q=reimburse+my+purchase"))
        .await;
    assert_eq!(answer["mode"], "hybrid");
    assert_eq!(answer["partial"], false);
    assert_eq!(paths(&answer)[0], "Billing/Refunds.md", "{answer}");
    let best = &answer["items"][0];
    assert_eq!(best["matched_by"], serde_json::json!(["semantic"]));
    assert_eq!(best["chunk"]["heading"], "Refund policy");
    let semantic = server
        .ok(&format!(
            "{V}/search?q=reimburse+my+purchase&mode=semantic&folder=Guides"
        ))
        .await;
    assert_eq!(semantic["mode"], "semantic");
    assert!(paths(&semantic).iter().all(|p| p.starts_with("Guides/")));

    let similar = server.ok(&format!("{V}/notes/Sync/similar?limit=3")).await;
    assert_eq!(similar["note"], "Guides/Sync.md");
    let found = paths(&similar);
    assert!(!found.contains(&"Guides/Sync.md"));
    assert!(
        !found.contains(&"Guides/Graph view.md"),
        "linked: {similar}"
    );
    assert!(found.len() <= 3);
    for item in similar["items"].as_array().unwrap() {
        let s = item["similarity"].as_f64().unwrap();
        assert!((-1.0..=1.0001).contains(&s), "{item}");
    }
    server
        .error(
            &format!("{V}/notes/Sync/similar?limit=-1"),
            400,
            "invalid_query",
        )
        .await;
}
