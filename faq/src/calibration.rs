//! The confidence: a logistic model over the ranking's features.
//!
//! Coefficients are fixed here and were fitted offline (see `COEFFICIENTS`); the
//! `examples/calibrate.rs` tool refits and cross-validates them.

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
    /// Weighted Dice overlap with the best-matching phrasing (title or question), in [0, 1].
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
    /// The features as a vector, in the order of [`COEFFICIENTS`] after the intercept.
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
        ]
    }
}

/// How many features the model has.
pub const N_FEATURES: usize = 9;

/// Intercept, then one weight per feature in [`Features::to_vec`] order.
///
/// PLACEHOLDER until fitted.
pub const COEFFICIENTS: [f32; N_FEATURES + 1] = [
    -5.2193127, 1.747909, 3.0032852, 2.3769982, 1.6651238, -1.7215902, 1.6299908, 0.6370374,
    0.64620805, 0.0,
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
