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

mod query;

pub use query::Query;

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
    term_ids: HashMap<String, u32>,
    vocab: Vec<String>,
    df: Vec<u32>,
    idf: Vec<f32>,
    /// term → (sheet, BM25F contribution without idf).
    postings: Vec<Vec<(u32, f32)>>,
    /// term → phrasings holding it.
    phrasing_postings: Vec<Vec<u32>>,
    phrasing_sheet: Vec<u32>,
    phrasing_mass: Vec<f32>,
    unknown_idf: f32,
    n_sheets: usize,
    typos: Typos,
}

impl Index {
    /// Build the index over `sheets` (all of them: filter drafts before).
    pub fn new(sheets: &[&Sheet], analyzer: &Analyzer) -> Self {
        let mut term_ids: HashMap<String, u32> = HashMap::new();
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
                let terms = analyzer.terms(&text);
                let mut counts = HashMap::new();
                for t in &terms {
                    *counts.entry(intern(t.clone())).or_insert(0.0) += 1.0;
                }
                fields.push((counts, terms.len() as f32));
            }
            sheet_fields.push(fields);
            for p in std::iter::once(&sheet.title).chain(&sheet.questions) {
                let mut ids: Vec<u32> = analyzer.terms(p).into_iter().map(&mut intern).collect();
                ids.sort_unstable();
                ids.dedup();
                if !ids.is_empty() {
                    phrasings.push((i as u32, ids));
                }
            }
        }
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
                    *pseudo_tf.entry(t).or_insert(0.0) += spec.weight * c / norm;
                }
            }
            for (t, tf) in pseudo_tf {
                df[t as usize] += 1;
                postings[t as usize].push((i as u32, tf / (K1 + tf)));
            }
        }
        let idf_of = |df: u32| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        let idf: Vec<f32> = df.iter().map(|&d| idf_of(d)).collect();
        let mut phrasing_postings: Vec<Vec<u32>> = vec![Vec::new(); n_terms];
        let mut phrasing_sheet = Vec::new();
        let mut phrasing_mass = Vec::new();
        for (p, (sheet, ids)) in phrasings.iter().enumerate() {
            phrasing_sheet.push(*sheet);
            phrasing_mass.push(ids.iter().map(|&t| idf[t as usize]).sum());
            for &t in ids {
                phrasing_postings[t as usize].push(p as u32);
            }
        }
        let typos = Typos::new(vocab.iter().map(String::as_str));
        Self {
            term_ids,
            vocab,
            df,
            idf,
            postings,
            phrasing_postings,
            phrasing_sheet,
            phrasing_mass,
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

    /// Score every sheet that shares a term with the query; best first, at most `k`.
    pub fn search(&self, query: &Query, k: usize) -> Vec<Scored> {
        if query.terms.is_empty() || query.mass <= 0.0 {
            return Vec::new();
        }
        let mut bm25 = vec![0f32; self.n_sheets];
        let mut cover = vec![0f32; self.n_sheets];
        let mut direct = vec![0f32; self.n_sheets];
        let mut touched: Vec<u32> = Vec::new();
        let mut overlap: HashMap<u32, f32> = HashMap::new();
        for qt in &query.terms {
            let t = qt.term as usize;
            let w = self.idf[t] * qt.weight;
            for &(sheet, contrib) in &self.postings[t] {
                let s = sheet as usize;
                if cover[s] == 0.0 {
                    touched.push(sheet);
                }
                bm25[s] += w * contrib;
                cover[s] += w;
                if qt.direct {
                    direct[s] += w;
                }
            }
            for &p in &self.phrasing_postings[t] {
                *overlap.entry(p).or_insert(0.0) += w;
            }
        }
        let mut best_phrasing = vec![0f32; 0];
        best_phrasing.resize(self.n_sheets, 0.0);
        for (p, o) in overlap {
            // Weighted cosine: measured better than Dice or query coverage alone.
            let cosine = o
                / (query.mass * self.phrasing_mass[p as usize])
                    .sqrt()
                    .max(1e-6);
            let s = self.phrasing_sheet[p as usize] as usize;
            best_phrasing[s] = best_phrasing[s].max(cosine);
        }
        let mut scored: Vec<Scored> = touched
            .into_iter()
            .map(|sheet| {
                let s = sheet as usize;
                let bm = (bm25[s] / query.mass).min(1.0);
                let ph = best_phrasing[s].min(1.0);
                Scored {
                    sheet,
                    bm25: bm,
                    phrasing: ph,
                    coverage: (cover[s] / query.mass).min(1.0),
                    firsts: 0,
                    direct: if query.direct_mass > 0.0 {
                        (direct[s] / query.direct_mass).min(1.0)
                    } else {
                        0.0
                    },
                    score: BM25_SHARE * bm
                        + (1.0 - BM25_SHARE) * ph
                        + COVERAGE_BONUS * (cover[s] / query.mass).min(1.0),
                }
            })
            .collect();
        let first_by = |key: fn(&Scored) -> f32| {
            scored
                .iter()
                .max_by(|a, b| key(a).total_cmp(&key(b)).then(b.sheet.cmp(&a.sheet)))
                .map(|s| s.sheet)
        };
        let (by_bm25, by_phrasing) = (first_by(|s| s.bm25), first_by(|s| s.phrasing));
        for s in &mut scored {
            s.firsts = u8::from(Some(s.sheet) == by_bm25) + u8::from(Some(s.sheet) == by_phrasing);
        }
        let order =
            |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.sheet.cmp(&b.sheet));
        if k < scored.len() {
            // Only the best k need sorting: at 100,000 sheets most are touched.
            scored.select_nth_unstable_by(k, order);
            scored.truncate(k);
        }
        scored.sort_by(order);
        scored
    }
}
