//! Configuration through the real process: layering of file, environment and flags, and hot
//! reload through a Kubernetes-style ConfigMap symlink swap and SIGHUP.

use std::path::{Path, PathBuf};

use crate::serve::support::{Sandbox, Start, VAULT};

#[tokio::test]
async fn flags_beat_environment_beats_file() {
    let sandbox = Sandbox::new();
    let from_file = sandbox.vault("from-file", VAULT);
    let from_flag = sandbox.vault("from-flag", "//- only.md\n# Only\n");
    let config = sandbox.write(
        "weaver.toml",
        &format!(
            // An address this machine cannot bind: the flag must win for the server to start.
            "[server]\nlisten = \"192.0.2.1:1\"\n[log]\nformat = \"human\"\n[vaults.fromfile]\npath = {from_file:?}\n"
        ),
    );
    // The environment asks for JSON logs over the file's human ones: the harness finds the
    // `listening` line only if that layer won.
    let server = Start::new(&[
        "--config",
        config.to_str().unwrap(),
        "--vault",
        from_flag.to_str().unwrap(),
    ])
    .log_format_from_config()
    .env("WEAVER__LOG__FORMAT", "json")
    .spawn();
    server.wait_ready().await;
    let vaults = server.ok("/api/v1/vaults").await;
    assert_eq!(vaults["items"].as_array().unwrap().len(), 1);
    assert_eq!(vaults["items"][0]["name"], "default");
    assert_eq!(vaults["items"][0]["notes"], 1);
    let loaded = server
        .log_lines()
        .into_iter()
        .find(|l| l["fields"]["message"] == "configuration loaded")
        .unwrap();
    let described = loaded["fields"]["config"].as_str().unwrap();
    assert!(described.contains("weaver.toml"), "{described}");
}

/// A folder laid out the way Kubernetes mounts a ConfigMap: `weaver.toml -> ..data/weaver.toml`,
/// `..data -> ..<version>`; an update writes a new version folder and swaps `..data` atomically.
struct ConfigMap {
    dir: PathBuf,
    version: u32,
}

impl ConfigMap {
    fn new(dir: PathBuf, contents: &str) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let mut map = Self { dir, version: 0 };
        map.update(contents);
        std::os::unix::fs::symlink("..data/weaver.toml", map.file()).unwrap();
        map
    }

    fn file(&self) -> PathBuf {
        self.dir.join("weaver.toml")
    }

    fn update(&mut self, contents: &str) {
        self.version += 1;
        let version = format!("..v{}", self.version);
        std::fs::create_dir(self.dir.join(&version)).unwrap();
        std::fs::write(self.dir.join(&version).join("weaver.toml"), contents).unwrap();
        let tmp = self.dir.join("..data_tmp");
        std::os::unix::fs::symlink(&version, &tmp).unwrap();
        std::fs::rename(&tmp, self.dir.join("..data")).unwrap();
    }
}

fn vault_section(name: &str, path: &Path) -> String {
    format!("[vaults.{name}]\npath = {path:?}\n")
}

fn vault_names(list: &serde_json::Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{}:{}",
                v["name"].as_str().unwrap(),
                v["state"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn configmap_swaps_reload_vaults_and_log_level() {
    let sandbox = Sandbox::new();
    let a = sandbox.vault("a", VAULT);
    let b = sandbox.vault("b", "//- b.md\n# B\n");
    let mut map = ConfigMap::new(sandbox.path("config"), &vault_section("a", &a));
    let mut server = Start::new(&["--config", map.file().to_str().unwrap()]).spawn();
    server.wait_ready().await;
    server.wait_log(|l| l["fields"]["message"] == "watching the configuration for changes");
    // At `info`, rejected requests are not logged.
    server
        .error("/api/v1/vaults/zzz/stats", 404, "vault_not_found")
        .await;

    // Add a vault and turn on debug logs.
    map.update(&format!(
        "[log]\nlevel = \"debug\"\n{}{}",
        vault_section("a", &a),
        vault_section("b", &b)
    ));
    server
        .poll(|| async {
            let list = server.ok("/api/v1/vaults").await;
            (vault_names(&list) == ["a:ready", "b:ready"]).then_some(())
        })
        .await;
    assert_eq!(server.ok("/api/v1/vaults/b/stats").await["notes"], 1);
    server
        .error("/api/v1/vaults/yyy/stats", 404, "vault_not_found")
        .await;
    server.wait_log(|l| {
        l["fields"]["message"] == "request rejected"
            && l["fields"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("yyy"))
    });
    assert!(
        !server.logs().contains("`zzz`"),
        "the request before the reload was not logged at debug"
    );

    // An invalid configuration is refused; the previous one stays.
    map.update(&format!(
        "{}[server]\nlisten_typo = 1\n",
        vault_section("a", &a)
    ));
    server.wait_log(|l| {
        l["fields"]["message"]
            == "the new configuration is invalid; keeping the current configuration"
    });
    let list = server.ok("/api/v1/vaults").await;
    assert_eq!(vault_names(&list), ["a:ready", "b:ready"]);

    // Removing a vault closes it.
    map.update(&vault_section("b", &b));
    server
        .poll(|| async {
            let list = server.ok("/api/v1/vaults").await;
            (vault_names(&list) == ["b:ready"]).then_some(())
        })
        .await;
    server
        .error("/api/v1/vaults/a/stats", 404, "vault_not_found")
        .await;
    server.wait_log(|l| l["fields"]["message"] == "vault closed" && l["fields"]["vault"] == "a");
}

#[tokio::test]
async fn sighup_reloads_and_retries_failed_vaults() {
    let sandbox = Sandbox::new();
    let later = sandbox.path("later");
    let config = sandbox.write("weaver.toml", &vault_section("later", &later));
    let server = Start::new(&["--config", config.to_str().unwrap()]).spawn();
    let ready = server.wait_ready().await;
    assert_eq!(ready["vaults"]["later"]["state"], "failed");

    // The folder appears (a volume mounted late, a clone finished); SIGHUP opens it.
    sandbox.vault("later", VAULT);
    server.signal("HUP");
    server
        .poll(|| async {
            let (status, ready) = server.get_json("/readyz").await;
            (status == 200 && ready["vaults"]["later"]["state"] == "ready").then_some(())
        })
        .await;
    assert_eq!(server.ok("/api/v1/vaults/later/stats").await["notes"], 5);
}
