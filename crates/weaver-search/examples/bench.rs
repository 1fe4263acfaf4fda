//! Indexing and search timings on a generated vault.
//!
//! `cargo run -p weaver-search --example bench -- [notes] [queries]` (defaults: 50000, 2000).
//! Notes are generated deterministically: ~3 KB bodies drawn from a Zipf-like vocabulary, a few
//! tags, folders and frontmatter fields. Prints indexing throughput and search latency
//! percentiles per query shape. Numbers from a debug build understate release speed.

// A measuring tool, not library code: every index comes from `Rng::below(len)` or a fixed
// table, and a panic here only ends a benchmark run.
#![allow(clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use weaver_search::{SearchDoc, SearchIndex, SearchQuery};

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Skewed towards small indices, like word frequencies.
    fn zipf(&mut self, n: usize) -> usize {
        let x = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(x) as usize).saturating_sub(1).min(n - 1)
    }
}

struct Note {
    path: String,
    title: String,
    aliases: Vec<String>,
    headings: Vec<String>,
    tags: Vec<String>,
    body: String,
    frontmatter: serde_json::Map<String, serde_json::Value>,
    modified: i64,
}

fn vocabulary(rng: &mut Rng, size: usize) -> Vec<String> {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "zu", "pe", "da", "fo", "gri", "ban",
        "tel", "mor", "qui", "son", "ar", "en",
    ];
    (0..size)
        .map(|_| {
            let len = 2 + rng.below(3);
            (0..len)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect()
        })
        .collect()
}

fn generate(count: usize) -> (Vec<Note>, Vec<String>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let words = vocabulary(&mut rng, 30_000);
    let folders = [
        "Projects",
        "Areas/Work",
        "Areas/Home",
        "Journal/2024",
        "Resources",
    ];
    let tags = [
        "project",
        "area/work",
        "area/home",
        "idea",
        "todo",
        "reading/book",
    ];
    let notes = (0..count)
        .map(|i| {
            let title: Vec<&str> = (0..3)
                .map(|_| words[rng.zipf(words.len())].as_str())
                .collect();
            let title = title.join(" ");
            let folder = folders[rng.below(folders.len())];
            let mut body = String::with_capacity(3200);
            while body.len() < 3000 {
                for _ in 0..12 {
                    body.push_str(&words[rng.zipf(words.len())]);
                    body.push(' ');
                }
                body.push_str(".\n");
            }
            let status = ["open", "done", "waiting"][rng.below(3)];
            let frontmatter = serde_json::json!({
                "status": status,
                "authors": [words[rng.below(50)].clone(), words[rng.below(50)].clone()],
                "priority": rng.below(5),
            });
            Note {
                path: format!("{folder}/{title} {i}.md"),
                title,
                aliases: vec![words[rng.zipf(words.len())].clone()],
                headings: (0..3)
                    .map(|_| words[rng.zipf(words.len())].clone())
                    .collect(),
                tags: vec![tags[rng.below(tags.len())].to_owned()],
                body,
                frontmatter: frontmatter.as_object().cloned().unwrap_or_default(),
                modified: 1_600_000_000_000 + (i as i64) * 60_000,
            }
        })
        .collect();
    (notes, words)
}

/// A named query generator.
type Shape<'a> = (&'static str, Box<dyn Fn(&mut Rng) -> SearchQuery + 'a>);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(50_000), |a| a.parse())?;
    let queries: usize = args.next().map_or(Ok(2_000), |a| a.parse())?;

    let started = Instant::now();
    let (notes, words) = generate(count);
    eprintln!("generated {count} notes in {:?}", started.elapsed());

    let dir = std::env::temp_dir().join(format!("weaver-search-bench-{}", std::process::id()));
    let (index, _) = SearchIndex::open(&dir)?;
    let started = Instant::now();
    let mut batch = index.batch()?;
    for note in &notes {
        batch.upsert(&SearchDoc {
            path: &note.path,
            title: &note.title,
            aliases: &note.aliases,
            headings: note.headings.iter().map(String::as_str).collect(),
            tags: note.tags.iter().map(String::as_str).collect(),
            body: &note.body,
            frontmatter: Some(&note.frontmatter),
            modified: note.modified,
        })?;
    }
    let added = started.elapsed();
    batch.commit(1)?;
    let total = started.elapsed();
    let bytes: usize = notes.iter().map(|n| n.body.len()).sum();
    eprintln!(
        "indexed {count} notes ({} MB of body) in {total:?} (adding {added:?}, commit {:?}): {:.0} notes/s",
        bytes / 1_000_000,
        total - added,
        count as f64 / total.as_secs_f64()
    );

    // Closing waits for background merges; searching a settled index is the steady state.
    drop(index);
    let started = Instant::now();
    let (index, _) = SearchIndex::open(&dir)?;
    eprintln!("merged and reopened in {:?}", started.elapsed());

    let mut rng = Rng(42);
    let shapes: Vec<Shape<'_>> = vec![
        (
            "one common word",
            Box::new(|rng: &mut Rng| text(&words[rng.below(20)])),
        ),
        (
            "two words",
            Box::new(|rng: &mut Rng| {
                text(&format!(
                    "{} {}",
                    words[rng.zipf(2000)],
                    words[rng.zipf(2000)]
                ))
            }),
        ),
        (
            "rare word",
            Box::new(|rng: &mut Rng| text(&words[5000 + rng.below(20_000)])),
        ),
        (
            "phrase from a note",
            Box::new(|rng: &mut Rng| {
                let body = &notes[rng.below(notes.len())].body;
                let body: Vec<&str> = body.split_whitespace().collect();
                let start = rng.below(body.len() - 1);
                text(&format!("\"{} {}\"", body[start], body[start + 1]))
            }),
        ),
        (
            "common-word phrase",
            Box::new(|rng: &mut Rng| {
                text(&format!(
                    "\"{} {}\"",
                    words[rng.zipf(200)],
                    words[rng.zipf(200)]
                ))
            }),
        ),
        (
            "prefix",
            Box::new(|rng: &mut Rng| {
                let word = &words[rng.zipf(5000)];
                text(&format!("{}*", &word[..3.min(word.len())]))
            }),
        ),
        (
            "word + exclusion",
            Box::new(|rng: &mut Rng| {
                text(&format!(
                    "{} -{}",
                    words[rng.below(50)],
                    words[rng.below(50)]
                ))
            }),
        ),
        (
            "word + filters",
            Box::new(|rng: &mut Rng| SearchQuery {
                text: words[rng.zipf(500)].clone(),
                tags: vec!["area".to_owned()],
                folder: Some("Areas".to_owned()),
                fields: vec![("status".to_owned(), "open".to_owned())],
                ..SearchQuery::default()
            }),
        ),
        (
            "filters only",
            Box::new(|rng: &mut Rng| SearchQuery {
                tags: vec![["idea", "todo", "area/work"][rng.below(3)].to_owned()],
                modified_after: Some(1_600_000_000_000 + rng.below(count) as i64 * 60_000),
                ..SearchQuery::default()
            }),
        ),
    ];
    for (name, make) in &shapes {
        let mut times = Vec::with_capacity(queries);
        let mut matched = 0;
        for _ in 0..queries {
            let query = make(&mut rng);
            let started = Instant::now();
            let results = index.search(&query)?;
            times.push(started.elapsed());
            matched += results.total;
        }
        times.sort();
        eprintln!(
            "{name:>18}: p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}  (avg total {})",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or_default(),
            matched / queries.max(1)
        );
    }
    drop(index);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn text(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.to_owned(),
        ..SearchQuery::default()
    }
}
