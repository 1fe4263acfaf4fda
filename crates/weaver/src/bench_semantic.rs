//! `weaver bench semantic`: what semantic search costs on a vault, for docs/benchmarks.md.
//!
//! Opens the vault with its caches in the scratch folder (the vault is only read), embeds it
//! with the model (or caches stand-in vectors, `--stand-in`, when the model would take hours:
//! the exact vector search costs the same whatever the vectors say), then asks a question set
//! in each mode. Query latency is measured with each question's embedding already cached (the
//! query cache of a warm server), and the embedding of a question is timed on its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use weaver_app::{SearchMode, SearchQuery, SemanticModel, Vault};

use crate::bench::{Latency, SemanticBench};

/// Questions used when no question set is given: how people ask (no operators).
const QUESTIONS: [&str; 16] = [
    "how do I get my money back",
    "what links to this project",
    "notes about planning the week",
    "where did I write about the garden",
    "ideas for the next release",
    "how to keep my notes in sync across devices",
    "meeting notes with the design team",
    "what is a zettelkasten",
    "books I want to read",
    "how to search notes by tag",
    "recipes with tomatoes",
    "problems with the build",
    "travel plans for the summer",
    "what did we decide about pricing",
    "daily review template",
    "how the graph view works",
];

pub fn run(
    source: &Path,
    scratch: &Path,
    model_dir: Option<PathBuf>,
    options: &SemanticBench,
) -> anyhow::Result<String> {
    if !source.is_dir() {
        bail!("vault `{}` is not a folder", source.display());
    }
    let model = SemanticModel::choose(model_dir);
    let state = model.wait(Duration::from_secs(120));
    let (weaver_app::ModelState::Ready(_), Some(embedder)) = (&state, model.embedder()) else {
        bail!("no embedding model: {state:?} (pass --model-dir or run `weaver model download`)");
    };
    let questions = questions(options.questions.as_deref())?;

    let mut vault_options = weaver_app::VaultOptions::new(source);
    vault_options.cache_dir = Some(scratch.join("cache"));
    eprintln!("opening {}", source.display());
    let (vault, _) = Vault::open(&vault_options, &|_| {})?;
    let vault = Arc::new(vault);
    let notes = vault.snapshot().notes().len();
    let stand_ins = if options.stand_in {
        eprintln!("caching stand-in vectors");
        let dimensions = embedder.dimensions();
        vault.cache_stand_in_embeddings(&embedder, |hash| stand_in(hash, dimensions))?
    } else {
        0
    };
    let started = Instant::now();
    vault.enable_semantic(Arc::clone(&embedder));
    let mut last_report = Instant::now();
    let status = loop {
        let status = vault
            .semantic_status()
            .context("semantic search did not start")?;
        if status.complete() {
            break status;
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "embedded {} of {} notes ({} chunks computed, {:.1} chunks/s)",
                status.embedded_notes,
                status.notes,
                status.chunks_computed,
                status.chunks_computed as f64 / started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let embed_seconds = started.elapsed().as_secs_f64();

    // The query embedding alone.
    let mut samples = Vec::new();
    for question in questions.iter().cycle().take(options.iterations.min(200)) {
        let t = Instant::now();
        std::hint::black_box(embedder.embed(&[question.as_str()])?);
        samples.push(t.elapsed());
    }
    let embedding = Latency::of(samples);

    let mut rows = Vec::new();
    for mode in [
        SearchMode::Keyword,
        SearchMode::Semantic,
        SearchMode::Hybrid,
    ] {
        let query = |q: &str| SearchQuery {
            text: q.to_owned(),
            limit: 10,
            ..SearchQuery::default()
        };
        // Warm: every question's embedding in the query cache.
        for question in &questions {
            vault.find(&query(question), Some(mode))?;
        }
        let mut samples = Vec::with_capacity(options.iterations);
        for question in questions.iter().cycle().take(options.iterations) {
            let q = query(question);
            let t = Instant::now();
            std::hint::black_box(vault.find(&q, Some(mode))?);
            samples.push(t.elapsed());
        }
        rows.push((mode, Latency::of(samples)));
    }

    let label = options
        .label
        .clone()
        .unwrap_or_else(|| source.display().to_string());
    let ms = |us: f64| format!("{:.2}", us / 1000.0);
    let mut out = format!("### Semantic search: {label} ({notes} notes)\n\n");
    out.push_str("| figure | value |\n|---|---:|\n");
    out.push_str(&format!("| chunks | {} |\n", status.chunks));
    if options.stand_in {
        out.push_str(&format!(
            "| vectors | {stand_ins} stand-ins cached, {} computed |\n",
            status.chunks_computed
        ));
    } else {
        out.push_str(&format!(
            "| embedding (cold cache) | {:.0} s, {:.1} chunks/s ({} computed, {} cached) |\n",
            embed_seconds,
            status.chunks_computed as f64 / embed_seconds.max(1e-9),
            status.chunks_computed,
            status.chunks_cached
        ));
    }
    out.push_str(&format!(
        "| vector memory | {:.1} MB ({:.1} MB per 10k chunks) |\n",
        status.vector_bytes as f64 / 1e6,
        status.vector_bytes as f64 / 1e6 / (status.chunks.max(1) as f64 / 10_000.0)
    ));
    out.push_str(&format!(
        "| query embedding p50 / p99 | {} / {} ms |\n",
        ms(embedding.p50_us),
        ms(embedding.p99_us)
    ));
    if let Some(rss) = crate::output::peak_rss_bytes() {
        out.push_str(&format!("| peak RSS | {:.0} MB |\n", rss as f64 / 1e6));
    }
    out.push_str(
        "\n| mode | p50 (ms) | p99 (ms) | max (ms) | samples |\n|---|---:|---:|---:|---:|\n",
    );
    for (mode, latency) in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            mode.as_str(),
            ms(latency.p50_us),
            ms(latency.p99_us),
            ms(latency.max_us),
            latency.samples
        ));
    }
    out.push('\n');
    Ok(out)
}

/// The questions of a question set, or the built-in ones.
fn questions(file: Option<&Path>) -> anyhow::Result<Vec<String>> {
    let Some(file) = file else {
        return Ok(QUESTIONS.iter().map(|q| (*q).to_owned()).collect());
    };
    let text = fs_err::read_to_string(file)?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("`{}` is not JSON", file.display()))?;
    let questions: Vec<String> = value
        .get("questions")
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|q| q.get("q")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if questions.is_empty() {
        bail!(
            "`{}` has no questions (`{{\"questions\": [{{\"q\": ...}}]}}`)",
            file.display()
        );
    }
    Ok(questions)
}

/// A deterministic pseudo-random vector from a chunk hash (splitmix64 over its first bytes).
fn stand_in(hash: &[u8; 32], dimensions: usize) -> Vec<f32> {
    let mut seed = u64::from_le_bytes(hash.first_chunk::<8>().copied().unwrap_or_default());
    (0..dimensions)
        .map(|_| {
            seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}
