//! Embedding throughput on this machine: `cargo run --release -p weaver-embed --example
//! throughput -- MODEL_DIR [CHUNKS] [BATCH]`. Embeds CHUNKS (default 256) chunks of
//! `CHUNK_WORDS` English-like words in batches of BATCH (default 16) and prints chunks/s.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing
)]

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: throughput MODEL_DIR [CHUNKS] [BATCH]");
    let chunks: usize = args.next().map_or(256, |a| a.parse().unwrap());
    let batch: usize = args.next().map_or(16, |a| a.parse().unwrap());
    let model = weaver_embed::Embedder::load(std::path::Path::new(&dir)).unwrap();
    let words = [
        "garden", "notes", "link", "graph", "the", "of", "search", "vault", "plugin", "theme",
        "daily", "review", "project", "idea", "write", "read", "index", "query", "answer", "time",
    ];
    let texts: Vec<String> = (0..chunks)
        .map(|i| {
            (0..weaver_embed::CHUNK_WORDS)
                .map(|j| words[(i * 7 + j * 13) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let tokens = model.count_tokens(&texts[0]).unwrap();
    let started = Instant::now();
    for group in texts.chunks(batch) {
        let refs: Vec<&str> = group.iter().map(String::as_str).collect();
        model.embed(&refs).unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{chunks} chunks of {} words ({tokens} tokens) in batches of {batch}: {seconds:.2} s, {:.1} chunks/s",
        weaver_embed::CHUNK_WORDS,
        chunks as f64 / seconds
    );
    let started = Instant::now();
    for _ in 0..20 {
        model
            .embed(&["how do I get my money back after buying a license"])
            .unwrap();
    }
    println!(
        "one query: {:.1} ms",
        started.elapsed().as_secs_f64() * 50.0
    );
}
