//! The model: a BERT encoder and its tokenizer, loaded from a directory.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::TruncationParams;
use tokenizers::pipeline::PipelineTokenizer;
use tokenizers::pipeline::{EncodeOptions, Override};

use crate::EmbedError;

/// Longest input in tokens (special tokens included); longer text is cut. all-MiniLM-L6-v2 was
/// trained on 128 and accepts 256 (its `max_seq_length`); chunks stay below it.
pub const MAX_TOKENS: usize = 256;

/// A loaded sentence encoder.
pub struct Embedder {
    model: BertModel,
    tokenizer: PipelineTokenizer,
    dimensions: usize,
    pad_id: u32,
    device: Device,
    dir: PathBuf,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("dir", &self.dir)
            .field("dimensions", &self.dimensions)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads the model in `dir`: `config.json` (a BERT configuration), `tokenizer.json` and
    /// `model.safetensors`. Every error names the file at fault: missing, unreadable, not
    /// what its name says, or with tensors of another shape than the configuration's.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let config_file = dir.join("config.json");
        let tokenizer_file = dir.join("tokenizer.json");
        let weights_file = dir.join("model.safetensors");
        let config_text = fs_err::read_to_string(&config_file)
            .map_err(|e| EmbedError::file(&config_file, io_reason(&e)))?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| {
            EmbedError::file(&config_file, format!("not a BERT configuration ({e})"))
        })?;
        if config.hidden_size == 0 || config.num_attention_heads == 0 {
            return Err(EmbedError::file(
                &config_file,
                "hidden_size and num_attention_heads must be positive",
            ));
        }
        let tokenizer_text = fs_err::read_to_string(&tokenizer_file)
            .map_err(|e| EmbedError::file(&tokenizer_file, io_reason(&e)))?;
        // Files written by tokenizers before 1.0 (most on the hub) are upgraded in memory;
        // the model directory is never written.
        let tokenizer = tokenizers::canonicalize_str(&tokenizer_text)
            .map_err(|e| e.to_string())
            .and_then(|canonical| tokenizers::from_json(&canonical).map_err(|e| e.to_string()))
            .map_err(|e| EmbedError::file(&tokenizer_file, format!("not a tokenizer ({e})")))?;
        let weights = fs_err::read(&weights_file)
            .map_err(|e| EmbedError::file(&weights_file, io_reason(&e)))?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| EmbedError::file(&weights_file, format!("not safetensors ({e})")))?;
        // Sentence-transformers checkpoints name the encoder's tensors without the `bert.`
        // prefix, the original BERT ones with it.
        let model = BertModel::load(vb.clone(), &config)
            .or_else(|_| BertModel::load(vb.pp("bert"), &config))
            .map_err(|e| {
                EmbedError::file(&weights_file, format!("does not match config.json ({e})"))
            })?;
        let pad_id = config.pad_token_id as u32;
        let embedder = Self {
            model,
            tokenizer,
            dimensions: config.hidden_size,
            pad_id,
            device,
            dir: dir.to_owned(),
        };
        // One embedding proves the pieces fit together before anyone relies on them.
        embedder
            .embed(&["weaver"])
            .map_err(|e| EmbedError::file(&weights_file, e))?;
        Ok(embedder)
    }

    /// The length of every vector.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many tokens `text` is, without the special ones (for sizing chunks and queries).
    pub fn count_tokens(&self, text: &str) -> Result<usize, EmbedError> {
        let options = EncodeOptions {
            add_special_tokens: false,
            truncation: Override::Off,
            padding: Override::Off,
            ..EncodeOptions::default()
        };
        let encoded = self
            .tokenizer
            .encode(text, &options)
            .wait()
            .map_err(|e| EmbedError::Model(format!("tokenizing failed: {e}")))?;
        Ok(encoded.first().map_or(0, |e| e.len()))
    }

    /// Unit-length embeddings of `texts`, in order; each text is cut at [`MAX_TOKENS`].
    /// An empty text gets the embedding of the special tokens alone.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let model_error = |e: candle_core::Error| EmbedError::Model(e.to_string());
        let options = EncodeOptions {
            truncation: Override::With(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }),
            padding: Override::Off,
            ..EncodeOptions::default()
        };
        let encoded = self
            .tokenizer
            .encode(texts.to_vec(), &options)
            .wait()
            .map_err(|e| EmbedError::Model(format!("tokenizing failed: {e}")))?;
        let longest = encoded.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let rows = encoded.len();
        let mut ids = Vec::with_capacity(rows * longest);
        let mut mask = Vec::with_capacity(rows * longest);
        for encoding in &encoded {
            let tokens = tokenizers::pipeline::PipelineToken::cast_slice(encoding.ids());
            ids.extend_from_slice(tokens);
            mask.extend(std::iter::repeat_n(1u32, tokens.len()));
            ids.extend(std::iter::repeat_n(self.pad_id, longest - tokens.len()));
            mask.extend(std::iter::repeat_n(0u32, longest - tokens.len()));
        }
        let ids = Tensor::from_vec(ids, (rows, longest), &self.device).map_err(model_error)?;
        let mask = Tensor::from_vec(mask, (rows, longest), &self.device).map_err(model_error)?;
        let types = ids.zeros_like().map_err(model_error)?;
        let hidden = self
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(model_error)?;
        // Mean over the real tokens, then unit length.
        let mask = mask
            .to_dtype(DType::F32)
            .and_then(|m| m.unsqueeze(2))
            .map_err(model_error)?;
        let summed = hidden
            .broadcast_mul(&mask)
            .and_then(|t| t.sum(1))
            .map_err(model_error)?;
        let counts = mask.sum(1).map_err(model_error)?;
        let mean = summed.broadcast_div(&counts).map_err(model_error)?;
        let norms = mean
            .sqr()
            .and_then(|t| t.sum_keepdim(1))
            .and_then(|t| t.sqrt())
            .and_then(|t| t.clamp(1e-12, f32::MAX))
            .map_err(model_error)?;
        let unit = mean.broadcast_div(&norms).map_err(model_error)?;
        unit.to_vec2::<f32>().map_err(model_error)
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "missing".to_owned(),
        _ => e.to_string(),
    }
}
