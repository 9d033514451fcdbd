//! The inverted index over published sheets and its scoring.
//!
//! Two signals per sheet, both computed from posting lists so that a query touches only
//! the sheets that share a term with it:
//! - BM25F over all fields, weighted (title and phrasings most, body least), with the
//!   per-posting contribution precomputed at build time;
//! - the best phrasing: an idf-weighted cosine between the query and the title or each
//!   of the `questions`, keeping the best one.
//!
//! Weights were chosen by measurement on the UnlockPA development set (see the crate's
//! `examples/eval.rs`), not per query.

use std::collections::HashMap;

use crate::analysis::Analyzer;
use crate::sheet::Sheet;
use crate::typos::Typos;
use rustc_hash::FxHashMap;

mod query;
mod search;

pub use query::Query;

/// The BM25F weights of [`FIELDS`], in order.
pub const FIELD_WEIGHTS: [f32; 6] = [
    FIELDS[0].weight,
    FIELDS[1].weight,
    FIELDS[2].weight,
    FIELDS[3].weight,
    FIELDS[4].weight,
    FIELDS[5].weight,
];

/// BM25 saturation.
const K1: f32 = 1.2;

/// One field of a sheet: its BM25F weight and length normalisation.
struct Field {
    weight: f32,
    b: f32,
}

/// Title, questions, keywords, tags, summary, body. Measured on UnlockPA: results move
/// by less than a point across reasonable weights; phrasings and titles count most.
const FIELDS: [Field; 6] = [
    Field {
        weight: 3.0,
        b: 0.3,
    },
    Field {
        weight: 2.0,
        b: 0.5,
    },
    Field {
        weight: 2.0,
        b: 0.0,
    },
    Field {
        weight: 1.0,
        b: 0.0,
    },
    Field {
        weight: 1.0,
        b: 0.75,
    },
    Field {
        weight: 0.5,
        b: 0.75,
    },
];

/// Share of the final score that comes from BM25F; the rest is the best phrasing's
/// weighted cosine.
const BM25_SHARE: f32 = 0.6;

/// Added to the score per share of the query found in the sheet: a small push towards
/// sheets that cover the whole question (measured: +0.5 to +1 point of P@1).
const COVERAGE_BONUS: f32 = 0.2;

fn field_texts(sheet: &Sheet) -> [String; 6] {
    [
        sheet.title.clone(),
        sheet.questions.join(" . "),
        sheet.keywords.join(" . "),
        sheet.tags.join(" . "),
        sheet.summary.clone(),
        sheet.body.clone(),
    ]
}

/// A sheet's scores for one query.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scored {
    /// Position of the sheet in the index.
    pub sheet: u32,
    /// BM25F over the query mass, in [0, 1].
    pub bm25: f32,
    /// Best phrasing's idf-weighted cosine, in [0, 1].
    pub phrasing: f32,
    /// Share of the query mass found anywhere in the sheet, in [0, 1].
    pub coverage: f32,
    /// Share of the message's own stems' mass found in the sheet as such, in [0, 1].
    pub direct: f32,
    /// The combined ranking score, in [0, 1].
    pub score: f32,
    /// How many of the two signals (BM25F, best phrasing) rank this sheet first: 0, 1, 2.
    pub firsts: u8,
}

/// The index over the published sheets.
pub struct Index {
    term_ids: FxHashMap<String, u32>,
    vocab: Vec<String>,
    df: Vec<u32>,
    idf: Vec<f32>,
    /// term → (sheet, BM25F contribution without idf).
    postings: Vec<Vec<(u32, f32)>>,
    /// sheet → its phrasings, `start..end` in `phrasing_starts` and `phrasing_mass`.
    sheet_phrasings: Vec<(u32, u32)>,
    /// Phrasing `p`'s distinct terms, sorted, are
    /// `phrasing_terms[phrasing_starts[p]..phrasing_starts[p + 1]]`: one array, so that a
    /// sheet's phrasings lie side by side in memory.
    phrasing_terms: Vec<u32>,
    phrasing_starts: Vec<u32>,
    phrasing_mass: Vec<f32>,
    /// Every word the sheets use → its stem's term id.
    word_stems: FxHashMap<String, u32>,
    unknown_idf: f32,
    n_sheets: usize,
    typos: Typos,
}

impl Index {
    /// Build the index over `sheets` (all of them: filter drafts before) with these BM25F
    /// field weights (title, questions, keywords, tags, summary, body; normally
    /// [`FIELD_WEIGHTS`]).
    pub fn with_field_weights(sheets: &[&Sheet], analyzer: &Analyzer, weights: [f32; 6]) -> Self {
        // Stemming is the costliest step of analysis: each distinct word is stemmed once,
        // and the table is kept for queries.
        let mut stems: HashMap<String, String> = HashMap::new();
        let mut stem = |w: &str| -> String {
            if let Some(s) = stems.get(w) {
                return s.clone();
            }
            let s = analyzer.stem(w).into_owned();
            stems.insert(w.to_string(), s.clone());
            s
        };
        let mut term_ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut vocab: Vec<String> = Vec::new();
        let mut intern = |t: String| -> u32 {
            if let Some(&id) = term_ids.get(&t) {
                return id;
            }
            let id = vocab.len() as u32;
            vocab.push(t.clone());
            term_ids.insert(t, id);
            id
        };
        // Per sheet: per field, term counts and length.
        let mut sheet_fields: Vec<Vec<(HashMap<u32, f32>, f32)>> = Vec::new();
        let mut phrasings: Vec<(u32, Vec<u32>)> = Vec::new();
        for (i, sheet) in sheets.iter().enumerate() {
            let mut fields = Vec::new();
            for text in field_texts(sheet) {
                let terms = analyzer.terms_with(&text, &mut stem);
                let mut counts = HashMap::new();
                for t in &terms {
                    *counts.entry(intern(t.clone())).or_insert(0.0) += 1.0;
                }
                fields.push((counts, terms.len() as f32));
            }
            sheet_fields.push(fields);
            for p in std::iter::once(&sheet.title).chain(&sheet.questions) {
                let mut ids: Vec<u32> = analyzer
                    .terms_with(p, &mut stem)
                    .into_iter()
                    .map(&mut intern)
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                if !ids.is_empty() {
                    phrasings.push((i as u32, ids));
                }
            }
        }
        let word_stems: FxHashMap<String, u32> =
            stems.into_iter().map(|(w, s)| (w, term_ids[&s])).collect();
        let n_terms = vocab.len();
        let n = sheets.len().max(1) as f32;
        let mut avg_len = [0f32; 6];
        for fields in &sheet_fields {
            for (f, (_, len)) in fields.iter().enumerate() {
                avg_len[f] += len / n;
            }
        }
        let mut df = vec![0u32; n_terms];
        let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_terms];
        for (i, fields) in sheet_fields.iter().enumerate() {
            let mut pseudo_tf: HashMap<u32, f32> = HashMap::new();
            for (f, (counts, len)) in fields.iter().enumerate() {
                let spec = &FIELDS[f];
                let norm = 1.0 - spec.b + spec.b * len / avg_len[f].max(1.0);
                for (&t, &c) in counts {
                    *pseudo_tf.entry(t).or_insert(0.0) += weights[f] * c / norm;
                }
            }
            for (t, tf) in pseudo_tf {
                df[t as usize] += 1;
                postings[t as usize].push((i as u32, tf / (K1 + tf)));
            }
        }
        let idf_of = |df: u32| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        let idf: Vec<f32> = df.iter().map(|&d| idf_of(d)).collect();
        // Phrasings are numbered sheet by sheet, so a sheet's are a contiguous range.
        let mut sheet_phrasings = vec![(0u32, 0u32); sheets.len()];
        let mut phrasing_mass: Vec<f32> = Vec::with_capacity(phrasings.len());
        let mut phrasing_terms: Vec<u32> = Vec::new();
        let mut phrasing_starts: Vec<u32> = Vec::with_capacity(phrasings.len() + 1);
        phrasing_starts.push(0);
        for (p, (sheet, ids)) in phrasings.into_iter().enumerate() {
            let range = &mut sheet_phrasings[sheet as usize];
            if range.1 == 0 {
                range.0 = p as u32;
            }
            range.1 = p as u32 + 1;
            phrasing_mass.push(ids.iter().map(|&t| idf[t as usize]).sum());
            phrasing_terms.extend(&ids);
            phrasing_starts.push(phrasing_terms.len() as u32);
        }
        // Impact order, for early termination in very large indexes (see `search.rs`).
        for list in &mut postings {
            list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        // Misspellings are corrected towards words a citizen would type: those of titles,
        // phrasings, keywords and tags, and any other word used by two sheets or more.
        // Rare words of summaries and bodies are left out, which keeps the table small.
        let mut query_facing = vec![false; n_terms];
        for fields in &sheet_fields {
            for (counts, _) in &fields[..4] {
                for &t in counts.keys() {
                    query_facing[t as usize] = true;
                }
            }
        }
        let typos = Typos::new(
            vocab
                .iter()
                .enumerate()
                .filter(|&(i, _)| query_facing[i] || df[i] >= 2)
                .map(|(i, s)| (i as u32, s.as_str())),
        );
        Self {
            term_ids,
            vocab,
            df,
            idf,
            postings,
            sheet_phrasings,
            phrasing_terms,
            phrasing_starts,
            phrasing_mass,
            word_stems,
            unknown_idf: idf_of(0),
            n_sheets: sheets.len(),
            typos,
        }
    }

    /// Share of the query's mass that the index knows, in [0, 1].
    pub fn known_share(&self, query: &Query) -> f32 {
        if query.mass > 0.0 {
            query.known_mass / query.mass
        } else {
            0.0
        }
    }
}
