//! The confidence: a logistic model over the ranking's features.
//!
//! The matcher's scores rank sheets but say little on their own about whether the first
//! one is right. The confidence is a logistic model over the first candidate's features
//! (its score, its margin over the second, how much of the message it covers, whether the
//! message's words are known at all, …), so that it reads as a probability of being
//! right. Coefficients are fixed here and were fitted offline (see [`COEFFICIENTS`]); the
//! `examples/calibrate.rs` tool refits and cross-validates them after any change to the
//! analysis or the ranking.

use serde::{Deserialize, Serialize};

/// What the matcher knows about one candidate sheet for one message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// The combined ranking score, in [0, 1].
    pub score: f32,
    /// This score minus the best other sheet's score (negative below the first).
    pub margin: f32,
    /// BM25F over all fields, divided by the query's idf mass, in [0, 1].
    pub bm25: f32,
    /// idf-weighted cosine with the best-matching phrasing (title or question), in [0, 1].
    pub phrasing: f32,
    /// Share of the query's idf mass found anywhere in the sheet, in [0, 1].
    pub coverage: f32,
    /// Share of the query's idf mass made of words the sheets use at all, in [0, 1].
    pub known: f32,
    /// How many content words the message has, `ln(1 + n)`.
    pub length: f32,
    /// Whether BM25F and the best phrasing, each alone, rank this sheet first: 0, ½ or 1.
    pub agreement: f32,
    /// Share of the message's own stems' idf mass found in the sheet as such (not through
    /// synonyms or prefixes), in [0, 1].
    pub direct: f32,
    /// Semantic ranking only: the blended ranking score, in [0, 1].
    #[serde(default)]
    pub fused: f32,
    /// Semantic ranking only: `fused` minus the best other sheet's.
    #[serde(default)]
    pub fused_margin: f32,
    /// Semantic ranking only: the encoder's cosine to the sheet's best phrasing.
    #[serde(default)]
    pub cos_phrasing: f32,
    /// Semantic ranking only: the encoder's cosine to the sheet's answer.
    #[serde(default)]
    pub cos_answer: f32,
    /// Semantic ranking only: the sheet's best cosine minus the best other sheet's.
    #[serde(default)]
    pub cos_margin: f32,
    /// Semantic ranking only: 1 when the encoder alone ranks this sheet first.
    #[serde(default)]
    pub sem_first: f32,
    /// Semantic ranking only: the lexical score over the best sheet's, in [0, 1].
    #[serde(default)]
    pub lex_norm: f32,
    /// Semantic ranking only: the encoder's score between the worst and the best sheet's.
    #[serde(default)]
    pub sem_norm: f32,
}

impl Features {
    /// The features as a vector, in the order of [`COEFFICIENTS`] after the intercept; then
    /// two interactions (margin × agreement, score × known) and the squares and cubes of
    /// the margin and of the phrasing cosine, which let the confidence bend where a linear
    /// term cannot (measured: +2 to +3 points of held-out right answers at 1 % wrong).
    pub fn to_vec(&self) -> [f32; N_FEATURES] {
        [
            self.score,
            self.margin,
            self.bm25,
            self.phrasing,
            self.coverage,
            self.known,
            self.length,
            self.agreement,
            self.direct,
            self.margin * self.agreement,
            self.score * self.known,
            self.margin.powi(2),
            self.margin.powi(3),
            self.phrasing.powi(2),
            self.phrasing.powi(3),
        ]
    }
}

/// How many features the model has.
pub const N_FEATURES: usize = 15;

impl Features {
    /// The features of the semantic model, in the order of [`SEMANTIC_COEFFICIENTS`]
    /// after the intercept: the blended score and its margin, the lexical features, the
    /// encoder's cosines and margin, and a few products that let the confidence bend.
    pub fn to_semantic_vec(&self) -> [f32; N_SEMANTIC] {
        [
            self.fused,
            self.fused_margin,
            self.score,
            self.margin,
            self.bm25,
            self.phrasing,
            self.coverage,
            self.known,
            self.length,
            self.agreement,
            self.direct,
            self.cos_phrasing,
            self.cos_answer,
            self.cos_margin,
            self.sem_first,
            self.fused_margin.powi(2),
            self.cos_margin * self.sem_first,
            self.cos_phrasing.powi(2),
            self.fused * self.known,
            self.margin * self.agreement,
        ]
    }
}

/// How many features the semantic model has.
pub const N_SEMANTIC: usize = 20;

/// Intercept, then one weight per feature in [`Features::to_vec`] order.
///
/// Obtained with `examples/calibrate.rs`: logistic regression (gradient descent, 20,000
/// steps, L2 1e-4) whose label is "the first candidate is a right sheet", over the
/// first candidates of the 1,110 UnlockPA queries against both `sheets.csv` and
/// `sheets-fewshot.csv` (2,220 rows; `-` queries are never right). Five folds grouped by
/// expected sheet gave these held-out figures for answers at confidence ≥ t
/// (precision / wrong answers over all queries / answerable queries answered right):
///
/// | t | `sheets.csv` | `sheets-fewshot.csv` |
/// | --- | --- | --- |
/// | 0.75 | 0.849 / 0.030 / 0.225 | 0.919 / 0.033 / 0.511 |
/// | 0.84 | 0.904 / 0.012 / 0.148 | 0.960 / 0.014 / 0.432 |
/// | 0.85 | 0.907 / 0.011 / 0.142 | 0.961 / 0.013 / 0.415 |
/// | 0.90 | 0.956 / 0.004 / 0.104 | 0.982 / 0.005 / 0.334 |
///
/// hence the default answer threshold of 0.85. The shipped coefficients are the fit on
/// all rows. Without the squares and cubes, the same folds gave 0.895 / 0.014 / 0.155
/// and 0.963 / 0.011 / 0.383 at 0.85; averaged over five fold assignments, the right
/// share at a held-out wrong rate of 1 % rose from 0.122 to 0.140 (`sheets.csv`) and from
/// 0.382 to 0.412 (`sheets-fewshot.csv`).
pub const COEFFICIENTS: [f32; N_FEATURES + 1] = [
    -4.523597,
    0.81691223,
    3.8910103,
    2.8471138,
    -1.9246387,
    -0.60753053,
    2.0038521,
    0.6750557,
    0.47792348,
    -1.1442264,
    1.1896669,
    0.31319973,
    -1.9745835,
    -1.6864345,
    0.31021586,
    3.4011626,
];

/// Intercept, then one weight per feature in [`Features::to_semantic_vec`] order, for a
/// matcher with the sentence encoder.
///
/// Obtained with `examples/calibrate.rs --model`: the same logistic regression as
/// [`COEFFICIENTS`], over the first candidates of three offices' labelled queries (3,033
/// rows): UnlockPA (1,110 queries, against both `sheets.csv` and `sheets-fewshot.csv`),
/// the sample sheets (`faq/eval/sample-queries.tsv`) and the registry office set written
/// for the project by an author who never saw the matcher (`faq/eval/anagrafe`). Held-out
/// figures at confidence ≥ 0.85 (precision / wrong answers over all queries / answerable
/// queries answered right):
///
/// | set | 5 folds grouped by sheet | leave one office out |
/// | --- | --- | --- |
/// | UnlockPA `sheets.csv` | 0.938 / 0.013 / 0.257 | 0.946 / 0.008 / 0.191 |
/// | UnlockPA `sheets-fewshot.csv` | 0.958 / 0.016 / 0.502 | 0.930 / 0.027 / 0.482 |
/// | sample sheets | 0.980 / 0.009 / 0.548 | 0.984 / 0.007 / 0.496 |
/// | registry office | 0.961 / 0.014 / 0.456 | 0.959 / 0.014 / 0.433 |
///
/// The lexical model's figures on the same UnlockPA folds were 0.907 / 0.011 / 0.142 and
/// 0.961 / 0.013 / 0.415. The shipped coefficients are the fit on all rows.
pub const SEMANTIC_COEFFICIENTS: [f32; N_SEMANTIC + 1] = [
    -11.540452,
    -3.2785857,
    3.449053,
    1.9981393,
    0.34399843,
    4.6553855,
    -1.5198188,
    -0.93593097,
    -1.0935619,
    0.75702137,
    0.40563515,
    -1.2186767,
    1.3768656,
    3.2132795,
    4.4878654,
    0.32731667,
    0.8236053,
    3.6069386,
    7.40723,
    2.8798246,
    -1.404249,
];

/// The calibrated probability that this candidate answers the message (lexical matcher).
pub fn confidence(features: &Features, coefficients: &[f32; N_FEATURES + 1]) -> f32 {
    logistic(coefficients, &features.to_vec())
}

/// The calibrated probability that this candidate answers the message (with the encoder).
pub fn semantic_confidence(features: &Features, coefficients: &[f32; N_SEMANTIC + 1]) -> f32 {
    logistic(coefficients, &features.to_semantic_vec())
}

fn logistic(coefficients: &[f32], x: &[f32]) -> f32 {
    let z = coefficients[0]
        + coefficients[1..]
            .iter()
            .zip(x)
            .map(|(w, v)| w * v)
            .sum::<f32>();
    let p = 1.0 / (1.0 + (-z).exp());
    if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    }
}
