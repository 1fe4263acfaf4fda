//! `weaver bench`: the deterministic vault generator and the benchmark runner whose numbers go
//! into `docs/benchmarks.md`.
//!
//! `bench run` never touches the vault it is given: it copies it to a scratch folder first. Index
//! timings run the real binary as a child process (`weaver index`), so they include process
//! start-up and report the child's own peak RSS; query latencies are measured in-process on a
//! warm vault, and live-update latency through the real file watcher.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Serialize;
use weaver_app::vaultgen::{GenOptions, write_vault};
use weaver_app::{CancellationToken, Page, SearchQuery, Vault, WatchOptions};
use weaver_core::Direction;

use crate::cli::Global;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Measure `weaver mcp` over stdio on --vault: start-up to `initialize` with a warm cache,
    /// and `read_note` / `search_notes` round trips
    Mcp {
        /// Round trips per tool
        #[arg(long, default_value_t = 500)]
        iterations: usize,
    },
    /// Generate a deterministic synthetic vault (same notes and seed, same bytes)
    Gen {
        /// Number of notes
        #[arg(long)]
        notes: usize,
        /// Random seed
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output folder (must not exist or be empty)
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure semantic search on --vault (read, never written; caches in --scratch): embedding
    /// throughput and time, vector memory, and query latency of each search mode
    Semantic {
        /// Query iterations per mode
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        /// Question set (`bench/questions/*.json`) to query with [default: built-in questions]
        #[arg(long)]
        questions: Option<PathBuf>,
        /// Fill the embeddings cache with stand-in vectors instead of running the model over
        /// the vault (for latency at a scale the model would take hours to embed); the model
        /// still embeds every query
        #[arg(long)]
        stand_in: bool,
        /// Scratch folder for the caches (kept: a second run reuses the embeddings)
        /// [default: a temporary folder]
        #[arg(long)]
        scratch: Option<PathBuf>,
        /// A label for the report (e.g. `gen-50k`)
        #[arg(long)]
        label: Option<String>,
    },
    /// Measure indexing, query latency and live-update latency on --vault (copied first)
    Run {
        /// Query iterations per measured operation
        #[arg(long, default_value_t = 500)]
        iterations: usize,
        /// Live-update round trips through the watcher
        #[arg(long, default_value_t = 10)]
        live_rounds: usize,
        /// Scratch folder for the vault copy and caches [default: a temporary folder]
        #[arg(long)]
        scratch: Option<PathBuf>,
        /// A label for the report (e.g. `gen-10k`)
        #[arg(long)]
        label: Option<String>,
    },
}

pub fn run(global: &Global, cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Gen { notes, seed, out } => {
            let started = Instant::now();
            let summary = write_vault(&out, &GenOptions { notes, seed })
                .with_context(|| format!("cannot write the vault to `{}`", out.display()))?;
            eprintln!(
                "generated {} notes, {} attachments, {} links ({} broken), {} bytes in {:.1} s into {}",
                summary.notes,
                summary.attachments,
                summary.links,
                summary.broken_links,
                summary.bytes,
                started.elapsed().as_secs_f64(),
                out.display()
            );
        }
        BenchCommand::Mcp { iterations } => {
            let source = match &global.vault {
                Some(v) => v.clone(),
                None => std::env::current_dir()?,
            };
            print!("{}", mcp_bench(&source, iterations)?);
        }
        BenchCommand::Semantic {
            iterations,
            questions,
            stand_in,
            scratch,
            label,
        } => {
            let source = match &global.vault {
                Some(v) => v.clone(),
                None => std::env::current_dir()?,
            };
            let temp;
            let scratch = match scratch {
                Some(s) => s,
                None => {
                    temp = tempfile::tempdir()?;
                    temp.path().to_path_buf()
                }
            };
            let options = SemanticBench {
                iterations,
                questions,
                stand_in,
                label,
            };
            print!(
                "{}",
                crate::bench_semantic::run(&source, &scratch, global.model_dir.clone(), &options)?
            );
        }
        BenchCommand::Run {
            iterations,
            live_rounds,
            scratch,
            label,
        } => {
            let source = match &global.vault {
                Some(v) => v.clone(),
                None => std::env::current_dir()?,
            };
            let temp;
            let scratch = match scratch {
                Some(s) => s,
                None => {
                    temp = tempfile::tempdir()?;
                    temp.path().to_path_buf()
                }
            };
            let report = run_bench(&source, &scratch, iterations, live_rounds, label)?;
            if global.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.markdown());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The options of `weaver bench semantic`.
#[derive(Debug)]
pub struct SemanticBench {
    pub iterations: usize,
    pub questions: Option<PathBuf>,
    pub stand_in: bool,
    pub label: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub samples: usize,
}

impl Latency {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        Self {
            p50_us: at(0.5),
            p99_us: at(0.99),
            max_us: at(1.0),
            samples: samples.len(),
        }
    }
}

#[derive(Debug, Serialize)]
struct IndexRun {
    wall_ms: f64,
    sync_ms: f64,
    parsed: u64,
    peak_rss_mb: Option<f64>,
}

#[derive(Debug, Serialize)]
struct BenchReport {
    label: String,
    notes: usize,
    attachments: usize,
    links: usize,
    bytes: u64,
    cold: IndexRun,
    warm: IndexRun,
    one_changed: IndexRun,
    search: Latency,
    backlinks: Latency,
    neighbors_2hop: Latency,
    live_update: Latency,
}

impl BenchReport {
    fn markdown(&self) -> String {
        let ms = |us: f64| format!("{:.3}", us / 1000.0);
        let rss = |r: &IndexRun| {
            r.peak_rss_mb
                .map_or("n/a".to_owned(), |m| format!("{m:.0}"))
        };
        let mut s = format!(
            "### {} ({} notes, {} attachments, {} links, {:.1} MB)\n\n",
            self.label,
            self.notes,
            self.attachments,
            self.links,
            self.bytes as f64 / 1e6
        );
        s.push_str("| phase | wall (ms) | sync (ms) | notes parsed | peak RSS (MB) |\n|---|---:|---:|---:|---:|\n");
        for (name, r) in [
            ("cold index (no cache)", &self.cold),
            ("warm start (nothing changed)", &self.warm),
            ("one note changed", &self.one_changed),
        ] {
            s.push_str(&format!(
                "| {name} | {:.0} | {:.0} | {} | {} |\n",
                r.wall_ms,
                r.sync_ms,
                r.parsed,
                rss(r)
            ));
        }
        s.push_str(
            "\n| query | p50 (ms) | p99 (ms) | max (ms) | samples |\n|---|---:|---:|---:|---:|\n",
        );
        for (name, l) in [
            ("search", &self.search),
            ("backlinks (with context, limit 50)", &self.backlinks),
            ("neighbours, 2 hops", &self.neighbors_2hop),
            ("saved file -> searchable (watcher)", &self.live_update),
        ] {
            s.push_str(&format!(
                "| {name} | {} | {} | {} | {} |\n",
                ms(l.p50_us),
                ms(l.p99_us),
                ms(l.max_us),
                l.samples
            ));
        }
        s.push('\n');
        s
    }
}

fn run_bench(
    source: &Path,
    scratch: &Path,
    iterations: usize,
    live_rounds: usize,
    label: Option<String>,
) -> anyhow::Result<BenchReport> {
    if !source.is_dir() {
        bail!("vault `{}` is not a folder", source.display());
    }
    let vault_dir = scratch.join("vault");
    let cache_dir = scratch.join("cache");
    if vault_dir.exists() {
        fs_err::remove_dir_all(&vault_dir)?;
    }
    if cache_dir.exists() {
        fs_err::remove_dir_all(&cache_dir)?;
    }
    eprintln!("copying {} to {}", source.display(), vault_dir.display());
    copy_tree(source, &vault_dir)?;

    eprintln!("cold index");
    let cold = index_child(&vault_dir, &cache_dir)?;
    eprintln!("warm start");
    let warm = index_child(&vault_dir, &cache_dir)?;
    let changed = touch_one_note(&vault_dir)?;
    eprintln!("one note changed ({changed})");
    let one_changed = index_child(&vault_dir, &cache_dir)?;

    let mut options = weaver_app::VaultOptions::new(&vault_dir);
    options.cache_dir = Some(cache_dir.clone());
    let (vault, _) = Vault::open(&options, &|_| {})?;
    let snapshot = vault.snapshot();
    let stats = snapshot.stats();
    let queries = query_set(&vault);
    eprintln!("search: {} queries x {iterations}", queries.len());
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let Some(q) = queries.get(i % queries.len().max(1)) else {
            break;
        };
        let t = Instant::now();
        let results = vault.search(q)?;
        samples.push(t.elapsed());
        std::hint::black_box(results);
    }
    let search = Latency::of(samples);

    let notes: Vec<String> = snapshot
        .notes()
        .iter()
        .map(|n| n.path.to_string())
        .collect();
    let pick = |i: usize| notes.get((i * 7919) % notes.len().max(1));
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let Some(note) = pick(i) else { break };
        let t = Instant::now();
        let page = snapshot.backlinks(note, Page::first(50), &CancellationToken::new())?;
        samples.push(t.elapsed());
        std::hint::black_box(page);
    }
    let backlinks = Latency::of(samples);
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let Some(note) = pick(i) else { break };
        let t = Instant::now();
        let page = snapshot.neighbors(note, 2, Direction::Both, Page::first(100))?;
        samples.push(t.elapsed());
        std::hint::black_box(page);
    }
    let neighbors_2hop = Latency::of(samples);
    drop(snapshot);

    eprintln!("live update: {live_rounds} rounds");
    let live_update = live_latency(vault, &vault_dir, live_rounds)?;
    Ok(BenchReport {
        label: label.unwrap_or_else(|| source.display().to_string()),
        notes: stats.notes,
        attachments: stats.attachments,
        links: stats.links,
        bytes: stats.bytes,
        cold,
        warm,
        one_changed,
        search,
        backlinks,
        neighbors_2hop,
        live_update,
    })
}

/// Runs `weaver index` on the vault as a child process and reads its JSON report.
fn index_child(vault: &Path, cache: &Path) -> anyhow::Result<IndexRun> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let output = Command::new(exe)
        .arg("--vault")
        .arg(vault)
        .arg("--cache-dir")
        .arg(cache)
        .args(["--json", "index"])
        .output()
        .context("cannot run `weaver index`")?;
    let wall = started.elapsed();
    if !output.status.success() {
        bail!(
            "`weaver index` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    Ok(IndexRun {
        wall_ms: wall.as_secs_f64() * 1000.0,
        sync_ms: report
            .pointer("/sync/elapsed")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0),
        parsed: report
            .pointer("/sync/parsed")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0),
        peak_rss_mb: report
            .get("peak_rss_bytes")
            .and_then(serde_json::Value::as_f64)
            .map(|b| b / 1_048_576.0),
    })
}

/// Appends a line to the first note (by path) so the next index sees exactly one change.
fn touch_one_note(vault: &Path) -> anyhow::Result<String> {
    let mut notes: Vec<PathBuf> = walk_md(vault)?;
    notes.sort();
    let first = notes.first().context("the vault has no notes")?;
    let mut text = fs_err::read_to_string(first).unwrap_or_default();
    text.push_str("\nEdited by the benchmark.\n");
    fs_err::write(first, text)?;
    Ok(first
        .strip_prefix(vault)
        .unwrap_or(first)
        .display()
        .to_string())
}

fn walk_md(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs_err::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs_err::create_dir_all(to)?;
    for entry in fs_err::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let target = to.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs_err::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A fixed, vault-derived query mix: single words from titles, two-word AND queries, phrases,
/// prefixes, and a word with a tag filter.
fn query_set(vault: &Vault) -> Vec<SearchQuery> {
    let snapshot = vault.snapshot();
    let notes = snapshot.notes();
    let step = (notes.len() / 25).max(1);
    let mut queries = Vec::new();
    for note in notes.iter().step_by(step) {
        let words: Vec<&str> = note
            .note
            .title
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 4)
            .collect();
        let Some(first) = words.first() else { continue };
        let q = |text: String| SearchQuery {
            text,
            limit: 10,
            ..SearchQuery::default()
        };
        queries.push(q((*first).to_owned()));
        if let Some(second) = words.get(1) {
            queries.push(q(format!("{first} {second}")));
            queries.push(q(format!("\"{first} {second}\"")));
        }
        let prefix: String = first.chars().take(3).collect();
        queries.push(q(format!("{prefix}*")));
        if let Some(tag) = note.note.tags.first() {
            queries.push(SearchQuery {
                tags: vec![tag.name.clone()],
                ..q((*first).to_owned())
            });
        }
    }
    queries
}

/// Saves an existing note with a new unique word (what an editor's save does) and measures until
/// search finds the word, through the real watcher.
fn live_latency(vault: Vault, dir: &Path, rounds: usize) -> anyhow::Result<Latency> {
    let vault = Arc::new(vault);
    let mut notes = walk_md(dir)?;
    notes.sort();
    let handle = weaver_app::watch(Arc::clone(&vault), WatchOptions::default(), |_| {})?;
    // Let the watcher settle before the first write.
    std::thread::sleep(Duration::from_millis(200));
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let word = format!("zqxlive{round}token");
        let query = SearchQuery {
            text: word.clone(),
            limit: 1,
            ..SearchQuery::default()
        };
        let path = notes
            .get((round * 7919) % notes.len().max(1))
            .context("the vault has no notes")?;
        let mut text = fs_err::read_to_string(path)?;
        text.push_str(&format!("\n{word} was saved here.\n"));
        let started = Instant::now();
        fs_err::write(path, text)?;
        loop {
            if vault.search(&query)?.total > 0 {
                samples.push(started.elapsed());
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("a saved note was not searchable after 10 s");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    handle.stop();
    Ok(Latency::of(samples))
}

/// A line-delimited JSON-RPC peer over a child's stdin and stdout: just enough of the MCP
/// stdio framing to time round trips without a client library in the measurement.
struct StdioPeer {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    next_id: u64,
}

impl StdioPeer {
    fn request(
        &mut self,
        method: &str,
        params: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        use std::io::{BufRead, Write};
        self.next_id += 1;
        let id = self.next_id;
        let message =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(self.stdin, "{message}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("`weaver mcp` closed its output");
            }
            let reply: serde_json::Value = serde_json::from_str(&line)?;
            if reply.get("id").and_then(serde_json::Value::as_u64) == Some(id) {
                if let Some(error) = reply.get("error") {
                    bail!("`{method}` failed: {error}");
                }
                return Ok(reply);
            }
        }
    }

    fn notify(&mut self, method: &str) -> anyhow::Result<()> {
        use std::io::Write;
        writeln!(
            self.stdin,
            "{}",
            serde_json::json!({"jsonrpc": "2.0", "method": method})
        )?;
        Ok(self.stdin.flush()?)
    }
}

impl Drop for StdioPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mcp_bench(source: &Path, iterations: usize) -> anyhow::Result<String> {
    let exe = std::env::current_exe()?;
    let cache = tempfile::tempdir()?;
    // Warm the cache first: the measured start-up reuses it, as a desktop client's restart does.
    let status = Command::new(&exe)
        .arg("--vault")
        .arg(source)
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("index")
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        bail!("`weaver index` failed");
    }
    let started = Instant::now();
    let mut child = Command::new(&exe)
        .arg("--vault")
        .arg(source)
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("mcp")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let stdin = child.stdin.take().context("no stdin")?;
    let stdout = std::io::BufReader::new(child.stdout.take().context("no stdout")?);
    let mut peer = StdioPeer {
        child,
        stdin,
        stdout,
        next_id: 0,
    };
    peer.request(
        "initialize",
        serde_json::json!({"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "weaver-bench", "version": "0"}}),
    )?;
    let initialize = started.elapsed();
    peer.notify("notifications/initialized")?;
    // Wait until the vault answers (it opens in the background), then measure.
    let ready_started = Instant::now();
    loop {
        let reply = peer.request(
            "tools/call",
            serde_json::json!({"name": "vault_stats", "arguments": {}}),
        )?;
        if reply.pointer("/result/isError") != Some(&serde_json::Value::Bool(true)) {
            break;
        }
        if ready_started.elapsed() > Duration::from_secs(60) {
            bail!("the vault did not become ready");
        }
    }
    let ready = started.elapsed();
    let list = peer.request(
        "tools/call",
        serde_json::json!({"name": "list_notes", "arguments": {"limit": 200}}),
    )?;
    let notes: Vec<String> = list
        .pointer("/result/structuredContent/items")
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    i.get("path")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    if notes.is_empty() {
        bail!("the vault has no notes");
    }
    let mut reads = Vec::with_capacity(iterations);
    let mut searches = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let note = notes.get(i % notes.len()).cloned().unwrap_or_default();
        let t = Instant::now();
        peer.request(
            "tools/call",
            serde_json::json!({"name": "read_note", "arguments": {"note": note}}),
        )?;
        reads.push(t.elapsed());
        let word: String = note
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .split(|c: char| !c.is_alphanumeric())
            .find(|w| w.chars().count() >= 4)
            .unwrap_or("note")
            .to_owned();
        let t = Instant::now();
        peer.request(
            "tools/call",
            serde_json::json!({"name": "search_notes", "arguments": {"query": word}}),
        )?;
        searches.push(t.elapsed());
    }
    let (reads, searches) = (Latency::of(reads), Latency::of(searches));
    let ms = |us: f64| format!("{:.3}", us / 1000.0);
    Ok(format!(
        "### MCP over stdio: {}\n\n| measure | value |\n|---|---:|\n| start-up to `initialize` answered (warm cache) | {:.0} ms |\n| start-up to the first tool answered from the vault | {:.0} ms |\n\n| tool round trip | p50 (ms) | p99 (ms) | max (ms) | samples |\n|---|---:|---:|---:|---:|\n| read_note | {} | {} | {} | {} |\n| search_notes | {} | {} | {} | {} |\n\n",
        source.display(),
        initialize.as_secs_f64() * 1000.0,
        ready.as_secs_f64() * 1000.0,
        ms(reads.p50_us),
        ms(reads.p99_us),
        ms(reads.max_us),
        reads.samples,
        ms(searches.p50_us),
        ms(searches.p99_us),
        ms(searches.max_us),
        searches.samples,
    ))
}
