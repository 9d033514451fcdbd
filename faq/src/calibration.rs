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
}

impl Features {
    /// The features as a vector, in the order of [`COEFFICIENTS`] after the intercept; the
    /// last two are interactions (margin × agreement, score × known).
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
        ]
    }
}

/// How many features the model has.
pub const N_FEATURES: usize = 11;

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
/// | 0.75 | 0.838 / 0.034 / 0.238 | 0.915 / 0.035 / 0.508 |
/// | 0.85 | 0.895 / 0.014 / 0.155 | 0.963 / 0.011 / 0.383 |
/// | 0.90 | 0.923 / 0.006 / 0.102 | 0.979 / 0.005 / 0.287 |
///
/// hence the default answer threshold of 0.85. The shipped coefficients are the fit on
/// all rows.
pub const COEFFICIENTS: [f32; N_FEATURES + 1] = [
    -4.8496943,
    1.2084674,
    2.9642708,
    1.5780782,
    1.1877408,
    -1.0671885,
    0.8563134,
    0.7004807,
    0.6805069,
    -0.93608093,
    0.13657686,
    2.06955,
];

/// The calibrated probability that this candidate answers the message.
pub fn confidence(features: &Features, coefficients: &[f32; N_FEATURES + 1]) -> f32 {
    let x = features.to_vec();
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
