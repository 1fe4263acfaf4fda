//! `weaver search --mode`, `weaver similar`, `weaver mentions` and `weaver model`: the search
//! modes from the command line, with the real model where one is needed (skipped with a message
//! without it), and the checked download from a hub played by a local HTTP server.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::support::{TestVault, strings, weaver};

const NOTES: &[(&str, &str)] = &[
    (
        "Refunds.md",
        "# Refund policy\nIf you bought a license by mistake, ask for your money back within 30 days.\n",
    ),
    (
        "Graph view.md",
        "# Graph view\nThe graph view draws your notes as dots and their links as lines.\n",
    ),
    (
        "Sync.md",
        "# Sync\nSync keeps the vault the same on your phone and computer. See [[Graph view]].\n",
    ),
    (
        "Tips.md",
        "# Tips\nThe graph view is handy; sync is not a backup.\n",
    ),
];

#[test]
fn without_a_model_semantic_commands_say_how_to_get_one_and_mentions_work() {
    let vault = TestVault::with_files(NOTES);
    for args in [
        &["search", "money", "--mode", "semantic"][..],
        &["search", "money", "--mode", "hybrid"],
        &["similar", "Sync"],
    ] {
        let run = vault.run(args).exit(2);
        assert!(
            run.stderr.contains("weaver model download"),
            "{args:?}: {}",
            run.stderr
        );
    }
    // Keyword search is the default and needs nothing.
    let (hits, _) = vault.search(&["money"]);
    assert_eq!(hits, ["Refunds.md"]);
    let mentions = vault.json(&["mentions", "Graph view"]);
    assert_eq!(mentions["note"], "Graph view.md");
    assert_eq!(strings(&mentions["items"], "source"), ["Tips.md"]);
    let text = vault.run(&["mentions", "Sync"]).success();
    assert!(text.stdout.contains("Tips.md:2"), "{}", text.stdout);
    // A model folder that does not exist is named.
    let run = vault
        .run(&["--model-dir", "/nonexistent/model", "similar", "Sync"])
        .exit(2);
    assert!(run.stderr.contains("config.json"), "{}", run.stderr);
    let status = weaver()
        .args(["model", "status", "--model-dir", "/nonexistent/model"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));
}

#[test]
fn with_a_model_search_modes_and_similar_notes_answer_by_meaning() {
    let Some(model) = weaver_testkit::test_model_dir() else {
        return;
    };
    let vault = TestVault::with_files(NOTES);
    let model = model.to_str().unwrap();
    let answer = vault
        .run_cached(&[
            "--json",
            "--model-dir",
            model,
            "search",
            "reimburse my purchase",
            "--mode",
            "hybrid",
        ])
        .success()
        .json();
    assert_eq!(answer["mode"], "hybrid");
    assert_eq!(answer["partial"], false);
    assert_eq!(answer["items"][0]["path"], "Refunds.md", "{answer}");
    assert_eq!(
        answer["items"][0]["matched_by"],
        serde_json::json!(["semantic"])
    );
    // The second run takes every embedding from the cache; the text form says why it matched.
    let text = vault
        .run_cached(&[
            "--model-dir",
            model,
            "search",
            "reimburse my purchase",
            "--mode",
            "semantic",
        ])
        .success();
    assert!(text.stdout.starts_with("Refunds.md"), "{}", text.stdout);
    assert!(text.stdout.contains("[meaning]"), "{}", text.stdout);
    assert!(text.stdout.contains("semantic ranking"), "{}", text.stdout);

    let similar = vault
        .run_cached(&[
            "--json",
            "--model-dir",
            model,
            "similar",
            "Sync",
            "--limit",
            "5",
        ])
        .success()
        .json();
    assert_eq!(similar["note"], "Sync.md");
    let found = strings(&similar["items"], "path");
    assert!(!found.contains(&"Sync.md".to_owned()));
    assert!(
        !found.contains(&"Graph view.md".to_owned()),
        "linked: {similar}"
    );

    let status = weaver()
        .args(["model", "status", "--json", "--model-dir", model])
        .output()
        .unwrap();
    assert!(status.status.success());
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["status"], "ready");
    assert_eq!(status["dimensions"], 384);
}

/// A hub on `127.0.0.1`: answers `GET /sentence-transformers/all-MiniLM-L6-v2/resolve/main/NAME`
/// with `files[NAME]`, anything else with 404. Returns its base URL.
fn hub(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let files = Arc::clone(&files);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = request.split(' ').nth(1).unwrap_or_default();
                let name =
                    path.strip_prefix("/sentence-transformers/all-MiniLM-L6-v2/resolve/main/");
                match name.and_then(|n| files.get(n)) {
                    Some(body) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(body);
                    }
                    None => {
                        let _ = stream.write_all(
                            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        );
                    }
                }
            });
        }
    });
    base
}

fn model_files(model: &Path) -> HashMap<String, Vec<u8>> {
    ["config.json", "tokenizer.json", "model.safetensors"]
        .into_iter()
        .map(|name| (name.to_owned(), std::fs::read(model.join(name)).unwrap()))
        .collect()
}

fn download(dir: &Path, hub: &str) -> std::process::Output {
    weaver()
        .args(["model", "download", "--dir"])
        .arg(dir)
        .args(["--hub-url", hub])
        .output()
        .unwrap()
}

#[test]
fn the_download_checks_every_file_and_keeps_nothing_that_does_not_match() {
    let Some(model) = weaver_testkit::test_model_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("models/all-MiniLM-L6-v2");

    // A file that differs from the release by one byte is refused, and nothing is left.
    let mut files = model_files(&model);
    files.get_mut("config.json").unwrap()[10] ^= 1;
    let out = download(&dir, &hub(files));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`config.json`") && stderr.contains("SHA-256"),
        "{stderr}"
    );
    assert!(!dir.exists());
    assert_eq!(
        std::fs::read_dir(tmp.path().join("models"))
            .unwrap()
            .count(),
        0,
        "no staging folder is left"
    );
    // A missing file is a clear error too.
    let mut files = model_files(&model);
    files.remove("tokenizer.json");
    let out = download(&dir, &hub(files));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
    assert!(!dir.exists());

    // The real files are taken, and the folder loads.
    let base = hub(model_files(&model));
    let out = download(&dir, &base);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["config.json", "tokenizer.json", "model.safetensors"] {
        assert_eq!(
            std::fs::read(dir.join(name)).unwrap(),
            std::fs::read(model.join(name)).unwrap(),
            "{name}"
        );
    }
    // Again: nothing to fetch (the hub is gone and it still succeeds).
    let out = download(&dir, "http://127.0.0.1:9");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("already present"));

    // The default folder is where the commands look: a search uses it without --model-dir.
    let data = tmp.path().join("data");
    let out = weaver()
        .env("XDG_DATA_HOME", &data)
        .args(["model", "download", "--hub-url", &base])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        data.join("weaver/models/all-MiniLM-L6-v2/model.safetensors")
            .is_file()
    );
    let vault = TestVault::with_files(NOTES);
    let mut cmd = vault.cmd();
    let out = cmd
        .env("XDG_DATA_HOME", &data)
        .args([
            "--no-cache",
            "--json",
            "search",
            "reimburse",
            "--mode",
            "semantic",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["mode"], "semantic");
}
