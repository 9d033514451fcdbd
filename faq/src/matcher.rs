//! The matcher: from one citizen message to a decision over the published sheets.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::analysis::{self, Analyzer};
use crate::calibration::{self, COEFFICIENTS, Features};
use crate::index::{Index, Scored};
use crate::intent::{self, Intent};
use crate::sheet::{Sheet, SheetStatus, Synonyms};

/// What the bot does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// Answer at once from the first candidate sheet.
    Answer,
    /// Offer the candidate sheets (at most three) for the citizen to choose.
    Clarify,
    /// Reply to a greeting, thanks or goodbye.
    Smalltalk,
    /// Give the conversation to an operator.
    Handoff,
}

impl DecisionKind {
    /// The lowercase name used in the store and in `eval` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answer => "answer",
            Self::Clarify => "clarify",
            Self::Smalltalk => "smalltalk",
            Self::Handoff => "handoff",
        }
    }
}

/// Why the matcher decided as it did; selects the reply text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "sheet")]
pub enum Reason {
    /// A sheet matched with enough confidence.
    Matched,
    /// Several sheets are plausible.
    Unsure,
    /// A greeting.
    Greeting,
    /// Thanks.
    Thanks,
    /// A goodbye.
    Goodbye,
    /// Only an acknowledgement ("ok", "va bene").
    Acknowledgement,
    /// The citizen asked for a person.
    PersonRequested,
    /// Insults or abuse.
    Abuse,
    /// No sheet fits.
    NoMatch,
    /// Nothing to match: empty, only emoji, punctuation or a link.
    Empty,
    /// The matched sheet must always be handled by an operator.
    SheetRequiresOperator(String),
}

/// A sheet the matcher considered, with its confidence in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The sheet's id.
    pub sheet_id: String,
    /// Calibrated confidence that this sheet answers the message.
    pub confidence: f32,
}

/// The matcher's decision for one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// What to do.
    pub kind: DecisionKind,
    /// Why.
    pub reason: Reason,
    /// Confidence of the first candidate (0 when there is none).
    pub confidence: f32,
    /// Candidate sheets, best first.
    ///
    /// For `Clarify`, exactly the sheets to offer (at most [`MatcherParams::max_choices`],
    /// never more than 3). For every other decision about a question (answer, no match,
    /// a person requested, a sheet that needs an operator) the ranking's top
    /// [`MatcherParams::max_candidates`], so that operators see suggestions and `eval` can
    /// compute MRR. Empty for small talk, abuse and empty messages.
    pub candidates: Vec<Candidate>,
}

/// Tunable thresholds, from `[matcher]` in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatcherParams {
    /// Answer at once when the best sheet's confidence reaches this.
    pub answer_threshold: f32,
    /// Offer a choice when the best confidence reaches this (and is below `answer_threshold`).
    pub clarify_threshold: f32,
    /// How many sheets a clarification offers (at most 3).
    pub max_choices: usize,
    /// How many ranked candidates other decisions carry (for operators and `eval`).
    pub max_candidates: usize,
    /// Use the built-in lexicon of Italian near-synonyms besides `synonyms.toml`.
    pub builtin_lexicon: bool,
}

impl Default for MatcherParams {
    fn default() -> Self {
        Self {
            answer_threshold: 0.85,
            clarify_threshold: 0.35,
            max_choices: 3,
            max_candidates: 10,
            builtin_lexicon: true,
        }
    }
}

/// The matcher over a set of published sheets. Cheap to query, rebuilt when sheets change.
pub struct Matcher {
    analyzer: Analyzer,
    index: Index,
    /// Published sheets, in index order.
    sheets: Vec<Sheet>,
    by_id: HashMap<String, usize>,
    params: MatcherParams,
}

impl Matcher {
    /// Build the matcher from sheets; drafts are ignored.
    pub fn new(sheets: &[Sheet], synonyms: &Synonyms, params: MatcherParams) -> Self {
        Self::with_field_weights(sheets, synonyms, params, crate::index::FIELD_WEIGHTS)
    }

    /// [`Matcher::new`] with other BM25F field weights (title, questions, keywords, tags,
    /// summary, body): for `examples/fields.rs`, which chooses them by cross-validation.
    #[doc(hidden)]
    pub fn with_field_weights(
        sheets: &[Sheet],
        synonyms: &Synonyms,
        params: MatcherParams,
        weights: [f32; 6],
    ) -> Self {
        let analyzer = Analyzer::new(synonyms, params.builtin_lexicon);
        let published: Vec<&Sheet> = sheets
            .iter()
            .filter(|s| s.status == SheetStatus::Published)
            .collect();
        let index = Index::with_field_weights(&published, &analyzer, weights);
        let sheets: Vec<Sheet> = published.into_iter().cloned().collect();
        let by_id = sheets
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        Self {
            analyzer,
            index,
            sheets,
            by_id,
            params,
        }
    }

    /// The sheet with this id, if the matcher knows it.
    pub fn sheet(&self, id: &str) -> Option<&Sheet> {
        self.by_id.get(id).map(|&i| &self.sheets[i])
    }

    /// How many sheets the matcher uses.
    pub fn len(&self) -> usize {
        self.sheets.len()
    }

    /// Whether the matcher has no sheets.
    pub fn is_empty(&self) -> bool {
        self.sheets.is_empty()
    }

    /// The thresholds in force.
    pub fn params(&self) -> &MatcherParams {
        &self.params
    }

    /// The best `k` sheets for a message with their features, best first.
    pub fn explain(&self, text: &str, k: usize) -> Vec<(String, Features)> {
        self.explain_words(&analysis::words(text), k)
    }

    fn explain_words(&self, words: &[String], k: usize) -> Vec<(String, Features)> {
        let query = self.index.query(words, &self.analyzer);
        let known = self.index.known_share(&query);
        let length = (1.0 + query.len as f32).ln();
        // One more than asked, so that the last one's margin is known.
        let scored = self.index.search(&query, k.max(1) + 1);
        let features = |i: usize, s: &Scored| {
            let other = if i == 0 {
                scored.get(1).map_or(0.0, |o| o.score)
            } else {
                scored[0].score
            };
            Features {
                score: s.score,
                margin: s.score - other,
                bm25: s.bm25,
                phrasing: s.phrasing,
                coverage: s.coverage,
                known,
                length,
                agreement: f32::from(s.firsts) / 2.0,
                direct: s.direct,
            }
        };
        scored
            .iter()
            .enumerate()
            .take(k)
            .map(|(i, s)| (self.sheets[s.sheet as usize].id.clone(), features(i, s)))
            .collect()
    }

    /// The best `k` sheets for a message, best first, with calibrated confidences,
    /// whatever the decision would be.
    pub fn rank(&self, text: &str, k: usize) -> Vec<Candidate> {
        self.rank_words(&analysis::words(text), k)
    }

    fn rank_words(&self, words: &[String], k: usize) -> Vec<Candidate> {
        self.explain_words(words, k)
            .into_iter()
            .map(|(sheet_id, f)| Candidate {
                sheet_id,
                confidence: calibration::confidence(&f, &COEFFICIENTS),
            })
            .collect()
    }

    /// Decide what to do with one message.
    pub fn decide(&self, text: &str) -> Decision {
        let bare = |kind, reason| Decision {
            kind,
            reason,
            confidence: 0.0,
            candidates: Vec::new(),
        };
        let words = analysis::words(text);
        if words.is_empty() {
            return bare(DecisionKind::Handoff, Reason::Empty);
        }
        let intent = intent::classify(&words);
        match intent {
            Some(Intent::Greeting) => return bare(DecisionKind::Smalltalk, Reason::Greeting),
            Some(Intent::Thanks) => return bare(DecisionKind::Smalltalk, Reason::Thanks),
            Some(Intent::Goodbye) => return bare(DecisionKind::Smalltalk, Reason::Goodbye),
            Some(Intent::Acknowledgement) => {
                return bare(DecisionKind::Smalltalk, Reason::Acknowledgement);
            }
            Some(Intent::Abuse) => return bare(DecisionKind::Handoff, Reason::Abuse),
            Some(Intent::Person) | None => {}
        }
        let person = intent == Some(Intent::Person);
        let mut candidates = self.rank_words(&words, self.params.max_candidates.max(1));
        let confidence = candidates.first().map_or(0.0, |c| c.confidence);
        let with = |kind, reason, candidates| Decision {
            kind,
            reason,
            confidence,
            candidates,
        };
        if person {
            return with(DecisionKind::Handoff, Reason::PersonRequested, candidates);
        }
        if confidence >= self.params.answer_threshold {
            let top = &candidates[0].sheet_id;
            let reason = match self.sheet(top) {
                Some(s) if s.handoff => Reason::SheetRequiresOperator(s.id.clone()),
                _ => Reason::Matched,
            };
            let kind = if reason == Reason::Matched {
                DecisionKind::Answer
            } else {
                DecisionKind::Handoff
            };
            return with(kind, reason, candidates);
        }
        if confidence >= self.params.clarify_threshold && !candidates.is_empty() {
            candidates.truncate(self.params.max_choices.clamp(1, 3));
            return with(DecisionKind::Clarify, Reason::Unsure, candidates);
        }
        with(DecisionKind::Handoff, Reason::NoMatch, candidates)
    }
}
