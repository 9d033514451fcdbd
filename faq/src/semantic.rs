//! Semantic matching: the sentence encoder's view of the sheets.
//!
//! Every published sheet contributes texts to embed ([`sheet_texts`]): its title and
//! each of its `questions`, embedded as questions (`query: `), and its answer (summary
//! and body), embedded as a passage. A citizen's message is embedded as a question; a
//! sheet's semantic scores are the cosine to its best phrasing and the cosine to its
//! answer. Those become ranking and confidence features beside the lexical ones
//! (`matcher.rs`).
//!
//! Embeddings are keyed by [`text_key`] (a hash of the kind and the text), so that the
//! store can keep them under (model id, key): a restart or another instance reuses them,
//! and an edited sheet only re-embeds the texts that changed.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sportello_encoder::{CachedEncoder, DIMENSION, Kind};

use crate::sheet::Sheet;

/// One text of a sheet that the encoder embeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetText {
    /// [`text_key`] of the kind and the text.
    pub key: String,
    /// A phrasing (question) or the answer (passage).
    pub kind: Kind,
    /// The text itself.
    pub text: String,
}

/// Embeddings by [`text_key`].
pub type Vectors = HashMap<String, Arc<[f32]>>;

/// The key of an embedding: the first 128 bits of SHA-256 over the kind's prefix and
/// the text, in hex.
pub fn text_key(kind: Kind, text: &str) -> String {
    let prefix = match kind {
        Kind::Query => "query: ",
        Kind::Passage => "passage: ",
    };
    let mut h = Sha256::new();
    h.update(prefix.as_bytes());
    h.update(text.as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A sheet's answer as the encoder reads it: the summary, then the body.
fn answer_text(sheet: &Sheet) -> String {
    format!("{}\n\n{}", sheet.summary.trim(), sheet.body.trim())
        .trim()
        .to_string()
}

/// The texts of one sheet to embed: the title and each question (as questions), then
/// the answer (as a passage). Empty phrasings are skipped.
pub fn sheet_texts(sheet: &Sheet) -> Vec<SheetText> {
    let text = |kind, text: &str| SheetText {
        key: text_key(kind, text),
        kind,
        text: text.to_string(),
    };
    std::iter::once(&sheet.title)
        .chain(&sheet.questions)
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| text(Kind::Query, p))
        .chain(std::iter::once(text(Kind::Passage, &answer_text(sheet))))
        .collect()
}

/// The embeddings of the published sheets, laid out for scanning.
pub(crate) struct SemanticIndex {
    encoder: Arc<CachedEncoder>,
    /// Phrasing embeddings, one row of [`DIMENSION`] each.
    phrasings: Vec<f32>,
    /// The sheet (index order) of each phrasing row.
    phrasing_sheet: Vec<u32>,
    /// Answer embeddings, one row per sheet in index order.
    answers: Vec<f32>,
}

/// A message's semantic scores against every sheet, in index order.
pub(crate) struct Cosines {
    /// Best cosine between the message and one of the sheet's phrasings.
    pub phrasing: Vec<f32>,
    /// Cosine between the message and the sheet's answer.
    pub answer: Vec<f32>,
}

impl SemanticIndex {
    /// The index over `sheets` (in index order), taking embeddings from `known` and
    /// computing the missing ones with the encoder.
    pub(crate) fn build(encoder: Arc<CachedEncoder>, sheets: &[Sheet], known: &Vectors) -> Self {
        let mut phrasings = Vec::new();
        let mut phrasing_sheet = Vec::new();
        let mut answers = Vec::with_capacity(sheets.len() * DIMENSION);
        for (i, sheet) in sheets.iter().enumerate() {
            for t in sheet_texts(sheet) {
                let v = known
                    .get(&t.key)
                    .filter(|v| v.len() == DIMENSION)
                    .cloned()
                    .unwrap_or_else(|| encoder.embed(&t.text, t.kind));
                match t.kind {
                    Kind::Query => {
                        phrasings.extend_from_slice(&v);
                        phrasing_sheet.push(i as u32);
                    }
                    Kind::Passage => answers.extend_from_slice(&v),
                }
            }
        }
        Self {
            encoder,
            phrasings,
            phrasing_sheet,
            answers,
        }
    }

    /// The message's embedding (from the encoder's cache when asked before).
    pub(crate) fn embed(&self, text: &str) -> Arc<[f32]> {
        self.encoder.query(text)
    }

    /// Cosines of a message's embedding with every sheet.
    pub(crate) fn cosines(&self, query: &[f32], n_sheets: usize) -> Cosines {
        let mut phrasing = vec![-1f32; n_sheets];
        for (row, &sheet) in self
            .phrasings
            .chunks_exact(DIMENSION)
            .zip(&self.phrasing_sheet)
        {
            let c = dot(row, query);
            let best = &mut phrasing[sheet as usize];
            if c > *best {
                *best = c;
            }
        }
        let answer = self
            .answers
            .chunks_exact(DIMENSION)
            .map(|row| dot(row, query))
            .collect();
        Cosines { phrasing, answer }
    }
}

/// Dot product of two unit vectors: their cosine. Eight lanes, so that it vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_the_kind_and_the_text() {
        let q = text_key(Kind::Query, "carta rosa");
        assert_eq!(q.len(), 32);
        assert_eq!(q, text_key(Kind::Query, "carta rosa"));
        assert_ne!(q, text_key(Kind::Passage, "carta rosa"));
        assert_ne!(q, text_key(Kind::Query, "carta rosa "));
    }

    #[test]
    fn a_sheet_gives_its_phrasings_then_its_answer() {
        let sheet = crate::testing::sheet("s", "Titolo", "Risposta", &["Domanda?", "  "], &[]);
        let texts = sheet_texts(&sheet);
        let kinds: Vec<Kind> = texts.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [Kind::Query, Kind::Query, Kind::Passage]);
        assert_eq!(texts[1].text, "Domanda?");
        assert!(texts[2].text.starts_with("Risposta"));
    }
}
