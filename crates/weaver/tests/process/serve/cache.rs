//! Broken caches never make a vault unavailable: what is in the way inside the cache folder is
//! rebuilt, and a cache that cannot live where it should is kept in memory instead.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::serve::support::{Sandbox, Server, Start, VAULT};

/// Every vault of the server is ready and answers a note read and a search.
async fn serves(server: &Server, names: &[&str]) -> Value {
    let ready = server.wait_ready().await;
    for name in names {
        assert_eq!(ready["vaults"][name]["state"], "ready", "{name}: {ready}");
        assert_eq!(ready["vaults"][name]["notes"], 5, "{name}: {ready}");
        let base = format!("/api/v1/vaults/{name}");
        let found = server.ok(&format!("{base}/search?q=weaving")).await;
        assert_eq!(found["items"][0]["path"], "Ideas.md", "{name}: {found}");
        let note = server.ok(&format!("{base}/notes/Projects/Plan.md")).await;
        assert_eq!(note["backlinks_total"], 1, "{name}");
    }
    ready
}

#[tokio::test]
async fn broken_caches_are_rebuilt_or_kept_in_memory() {
    let sandbox = Sandbox::new();
    // Inside the cache folder, in the way: rebuilt in place.
    let search_file = sandbox.vault("search-file", VAULT);
    sandbox.write("search-file/.weaver/search", "not an index\n");
    let db_dir = sandbox.vault("db-dir", VAULT);
    std::fs::create_dir_all(db_dir.join(".weaver/cache.sqlite")).unwrap();
    let lock_dir = sandbox.vault("lock-dir", VAULT);
    std::fs::create_dir_all(lock_dir.join(".weaver/lock")).unwrap();
    // The cache folder cannot be created: kept in memory, nothing of the user's touched.
    let cache_file = sandbox.vault("cache-file", VAULT);
    sandbox.write("cache-file/.weaver", "a file of the user's\n");
    let under_file = sandbox.vault("under-file", VAULT);
    sandbox.write(
        "blocker",
        "a file where the cache's parent folder should be\n",
    );
    // A folder with content where the database should be is not removed: kept in memory.
    let db_full = sandbox.vault("db-full", VAULT);
    sandbox.write("db-full/.weaver/cache.sqlite/keep.txt", "unknown\n");
    let config = sandbox.write(
        "weaver.toml",
        &format!(
            "[vaults.search-file]\npath = {search_file:?}\n\
             [vaults.db-dir]\npath = {db_dir:?}\n\
             [vaults.lock-dir]\npath = {lock_dir:?}\n\
             [vaults.cache-file]\npath = {cache_file:?}\n\
             [vaults.under-file]\npath = {under_file:?}\ncache_dir = {:?}\n\
             [vaults.db-full]\npath = {db_full:?}\n",
            sandbox.path("blocker/cache")
        ),
    );
    let server = Start::new(&["--config", config.to_str().unwrap()]).spawn();
    let names = [
        "search-file",
        "db-dir",
        "lock-dir",
        "cache-file",
        "under-file",
        "db-full",
    ];
    let ready = serves(&server, &names).await;
    assert_eq!(ready["status"], "ready");

    for healed in ["search-file", "db-dir", "lock-dir"] {
        assert_eq!(ready["vaults"][healed].get("cache_error"), None, "{healed}");
    }
    assert!(search_file.join(".weaver/search/meta.json").is_file());
    assert!(db_dir.join(".weaver/cache.sqlite").is_file());
    assert!(lock_dir.join(".weaver/lock").is_file());

    for in_memory in ["cache-file", "under-file", "db-full"] {
        let reason = ready["vaults"][in_memory]["cache_error"].as_str();
        assert!(
            reason.is_some_and(|r| !r.is_empty()),
            "{in_memory}: {ready}"
        );
    }
    let list = server.ok("/api/v1/vaults").await;
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "cache-file")
        .unwrap();
    assert!(listed["cache_error"].is_string(), "{listed}");
    assert_eq!(
        std::fs::read_to_string(cache_file.join(".weaver")).unwrap(),
        "a file of the user's\n"
    );
    assert!(db_full.join(".weaver/cache.sqlite/keep.txt").is_file());
    let warned = server.log_lines().into_iter().any(|l| {
        l["level"] == "WARN"
            && l["fields"]["message"] == "the cache cannot be used; indexing into memory"
    });
    assert!(warned, "{}", server.logs());

    // A healed cache is a cache again: the next start reuses it.
    drop(server);
    let server = Start::new(&["--config", config.to_str().unwrap()]).spawn();
    serves(&server, &names).await;
}

/// Runs `weaver serve` in a private mount namespace where `vault` is a read-only bind mount of
/// itself: a real `EROFS`, as on a read-only volume in a container. (Making the folder
/// read-only with `chmod` proves nothing: the tests run as root.) `None` when this machine
/// cannot make one (no `unshare`, or no right to mount).
fn read_only_server(vault: &Path) -> Option<Server> {
    let probe = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs none /mnt"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        return None;
    }
    let script = r#"mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@""#;
    let vault = vault.to_str().unwrap();
    Some(
        Start::vault(Path::new(vault))
            .wrap("unshare", &["-m", "sh", "-c", script, "sh", vault])
            .spawn(),
    )
}

#[tokio::test]
async fn a_vault_on_a_read_only_file_system_serves_from_memory() {
    let sandbox = Sandbox::new();
    // Without a cache folder, and with one left from a writable past.
    let bare = sandbox.vault("bare", VAULT);
    let Some(server) = read_only_server(&bare) else {
        eprintln!("skipped: cannot make a read-only mount here (needs unshare and mount rights)");
        return;
    };
    let ready = serves(&server, &["default"]).await;
    let reason = ready["vaults"]["default"]["cache_error"].as_str().unwrap();
    assert!(reason.contains("Read-only file system"), "{reason}");
    drop(server);

    let used = sandbox.vault("used", VAULT);
    let status = Command::new(env!("CARGO_BIN_EXE_weaver"))
        .args(["--vault", used.to_str().unwrap(), "index"])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(used.join(".weaver/cache.sqlite").is_file());
    let server = read_only_server(&used).unwrap();
    let ready = serves(&server, &["default"]).await;
    assert!(
        ready["vaults"]["default"]["cache_error"].is_string(),
        "{ready}"
    );
}
