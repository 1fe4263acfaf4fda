//! Sentence embeddings on a local model, and the chunks of a note they are computed for.
//!
//! [`Embedder::load`] reads a model directory in the Hugging Face layout (`config.json`,
//! `tokenizer.json`, `model.safetensors`) of a BERT sentence encoder such as
//! all-MiniLM-L6-v2 and runs it in process on the CPU (candle); nothing is downloaded.
//! [`Embedder::embed`] turns texts into unit-length vectors (mean pooling over the tokens, as
//! sentence-transformers does), so the dot product of two is their cosine similarity.
//! [`chunks`] cuts a note into the pieces that are embedded: one or more per heading section,
//! each starting with the note's title and the section's heading path.
//!
//! This crate knows no vault, index or store: callers hand it text. It is the only one that
//! depends on candle and tokenizers, which are slow to build.
#![deny(missing_docs)]

mod chunk;
mod model;

pub use chunk::{CHUNK_OVERLAP_WORDS, CHUNK_WORDS, Chunk, Section, chunks};
pub use model::{Embedder, MAX_TOKENS};

use std::path::PathBuf;

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A file of the model directory is missing or unreadable.
    #[error("model file `{}`: {reason}", file.display())]
    ModelFile {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The model ran and failed (a tensor of the wrong shape, ...).
    #[error("embedding failed: {0}")]
    Model(String),
}

impl EmbedError {
    fn file(file: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Self::ModelFile {
            file: file.into(),
            reason: reason.to_string(),
        }
    }
}
