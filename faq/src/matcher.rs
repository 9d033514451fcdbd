//! The matcher: from one citizen message to a decision over the published sheets.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sportello_encoder::CachedEncoder;

use crate::analysis::{self, Analyzer};
use crate::calibration::{self, COEFFICIENTS, Features, SEMANTIC_COEFFICIENTS};
use crate::index::{Index, Scored};
use crate::intent::{self, Intent};
use crate::semantic::{SemanticIndex, Vectors};
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
    /// Never answer at once when the second sheet's confidence is within this of the
    /// first's: offer both instead.
    pub tie_margin: f32,
    /// Use the sentence encoder beside the lexical index (`false`: lexical alone).
    pub semantic: bool,
    /// The encoder's model file.
    pub model: PathBuf,
}

impl Default for MatcherParams {
    fn default() -> Self {
        Self {
            answer_threshold: 0.85,
            clarify_threshold: 0.35,
            max_choices: 3,
            max_candidates: 10,
            builtin_lexicon: true,
            tie_margin: 0.05,
            semantic: true,
            model: PathBuf::from("models/e5-small-it-en.spe5"),
        }
    }
}

/// The text without HTML-like tags (`<b>`, `</a>`, `<br/>`), which citizens paste or type by
/// mistake: the lexical analysis never sees them as words, and neither should the encoder.
fn without_tags(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('<') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let is_tag = tail[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
        match tail.find('>').filter(|_| is_tag) {
            Some(end) => {
                out.push(' ');
                rest = &tail[end + 1..];
            }
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// A first sheet that leads the second by less than this in ranking score (in [0, 1]) is
/// a tie, whatever the confidences.
const TIE_SCORE: f32 = 0.01;

/// How many sheets each signal contributes to the semantic ranking's pool.
const POOL: usize = 24;

/// The lexical score's share of the semantic ranking; the rest is the encoder's.
/// Chosen with `examples/calibrate.rs` (grouped cross-validation over three offices).
pub const LEXICAL_SHARE: f32 = 0.5;

/// The matcher over a set of published sheets. Cheap to query, rebuilt when sheets change.
pub struct Matcher {
    analyzer: Analyzer,
    index: Index,
    /// Published sheets, in index order.
    sheets: Vec<Sheet>,
    by_id: HashMap<String, usize>,
    params: MatcherParams,
    /// The encoder's index, when semantic.
    semantic: Option<SemanticIndex>,
    lexical_share: f32,
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
            semantic: None,
            lexical_share: LEXICAL_SHARE,
        }
    }

    /// A matcher that ranks with the sentence encoder beside the lexical index. The
    /// sheets' embeddings come from `known` (by [`crate::semantic::text_key`]); the
    /// missing ones are computed here.
    pub fn with_semantic(
        sheets: &[Sheet],
        synonyms: &Synonyms,
        params: MatcherParams,
        encoder: Arc<CachedEncoder>,
        known: &Vectors,
    ) -> Self {
        let mut matcher = Self::new(sheets, synonyms, params);
        matcher.semantic = Some(SemanticIndex::build(encoder, &matcher.sheets, known));
        matcher
    }

    /// The semantic ranking with another lexical share: for `examples/calibrate.rs`.
    #[doc(hidden)]
    pub fn set_lexical_share(&mut self, share: f32) {
        self.lexical_share = share;
    }

    /// Whether the sentence encoder takes part in the ranking.
    pub fn is_semantic(&self) -> bool {
        self.semantic.is_some()
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
        self.explain_words(text, &analysis::words(text), k)
    }

    fn explain_words(&self, text: &str, words: &[String], k: usize) -> Vec<(String, Features)> {
        match &self.semantic {
            Some(semantic) => self.explain_semantic(semantic, text, words, k),
            None => self.explain_lexical(words, k),
        }
    }

    fn explain_lexical(&self, words: &[String], k: usize) -> Vec<(String, Features)> {
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
                ..Features::default()
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
        self.rank_words(text, &analysis::words(text), k)
    }

    fn rank_words(&self, text: &str, words: &[String], k: usize) -> Vec<Candidate> {
        self.rank_with_margin(text, words, k).0
    }

    /// The ranking, and the first sheet's lead in ranking score over the second.
    fn rank_with_margin(&self, text: &str, words: &[String], k: usize) -> (Vec<Candidate>, f32) {
        let explained = self.explain_words(text, words, k);
        let lead = explained.first().map_or(1.0, |(_, f)| {
            if self.semantic.is_some() {
                f.fused_margin
            } else {
                f.margin
            }
        });
        let candidates = explained
            .into_iter()
            .map(|(sheet_id, f)| Candidate {
                sheet_id,
                confidence: self.confidence(&f),
            })
            .collect();
        (candidates, lead)
    }

    /// The calibrated confidence of a candidate's features, with this matcher's model.
    pub fn confidence(&self, features: &Features) -> f32 {
        if self.semantic.is_some() {
            calibration::semantic_confidence(features, &SEMANTIC_COEFFICIENTS)
        } else {
            calibration::confidence(features, &COEFFICIENTS)
        }
    }

    /// The semantic ranking: a pool of the lexical index's best sheets and the encoder's
    /// best sheets, ordered by a blend of both scores, each normalised over the sheets
    /// (the lexical one by its best, the encoder's between its worst and its best).
    fn explain_semantic(
        &self,
        semantic: &SemanticIndex,
        text: &str,
        words: &[String],
        k: usize,
    ) -> Vec<(String, Features)> {
        let n = self.sheets.len();
        if n == 0 {
            return Vec::new();
        }
        let query = self.index.query(words, &self.analyzer);
        let known = self.index.known_share(&query);
        let length = (1.0 + query.len as f32).ln();
        let lexical = self.index.search(&query, POOL);
        let embedding = semantic.embed(&without_tags(text));
        let cos = semantic.cosines(&embedding, n);
        let sem: Vec<f32> = (0..n).map(|i| cos.phrasing[i].max(cos.answer[i])).collect();
        let (lo, hi) = sem
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        let span = (hi - lo).max(1e-6);
        let lex_best = lexical.first().map_or(0.0, |s| s.score).max(1e-6);
        let mut by_sheet: HashMap<u32, &Scored> = HashMap::with_capacity(lexical.len());
        for s in &lexical {
            by_sheet.insert(s.sheet, s);
        }
        let lex_of = |i: u32| by_sheet.get(&i).map_or(0.0, |s| s.score);
        let share = self.lexical_share;
        let fused =
            |i: u32| share * lex_of(i) / lex_best + (1.0 - share) * (sem[i as usize] - lo) / span;
        // The pool: the lexical best and the encoder's best.
        let mut order: Vec<u32> = (0..n as u32).collect();
        let by_sem =
            |a: &u32, b: &u32| sem[*b as usize].total_cmp(&sem[*a as usize]).then(a.cmp(b));
        if order.len() > POOL {
            order.select_nth_unstable_by(POOL - 1, by_sem);
            order.truncate(POOL);
        }
        order.sort_by(by_sem);
        let sem_first = order[0];
        let sem_second = order.get(1).map_or(lo, |&i| sem[i as usize]);
        let mut pool = order;
        for s in &lexical {
            if !pool.contains(&s.sheet) {
                pool.push(s.sheet);
            }
        }
        let mut ranked: Vec<(u32, f32)> = pool.into_iter().map(|i| (i, fused(i))).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let lex_first = lexical.first().map(|s| s.sheet);
        let lex_second = lexical.get(1).map_or(0.0, |s| s.score);
        let features = |rank: usize, (i, f): (u32, f32)| {
            let other = if rank == 0 {
                ranked.get(1).map_or(0.0, |o| o.1)
            } else {
                ranked[0].1
            };
            let s = by_sheet.get(&i);
            let score = s.map_or(0.0, |s| s.score);
            let lex_other = if Some(i) == lex_first {
                lex_second
            } else {
                lexical.first().map_or(0.0, |s| s.score)
            };
            let sem_other = if i == sem_first {
                sem_second
            } else {
                sem[sem_first as usize]
            };
            Features {
                score,
                margin: score - lex_other,
                bm25: s.map_or(0.0, |s| s.bm25),
                phrasing: s.map_or(0.0, |s| s.phrasing),
                coverage: s.map_or(0.0, |s| s.coverage),
                known,
                length,
                agreement: s.map_or(0.0, |s| f32::from(s.firsts) / 2.0),
                direct: s.map_or(0.0, |s| s.direct),
                fused: f,
                fused_margin: f - other,
                cos_phrasing: cos.phrasing[i as usize],
                cos_answer: cos.answer[i as usize],
                cos_margin: sem[i as usize] - sem_other,
                sem_first: f32::from(u8::from(i == sem_first)),
                lex_norm: lex_of(i) / lex_best,
                sem_norm: (sem[i as usize] - lo) / span,
            }
        };
        ranked
            .iter()
            .take(k)
            .enumerate()
            .map(|(rank, &r)| (self.sheets[r.0 as usize].id.clone(), features(rank, r)))
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
        let (mut candidates, lead) =
            self.rank_with_margin(text, &words, self.params.max_candidates.max(1));
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
        // A near tie is never answered at once: the citizen chooses. Near in confidence,
        // or in the ranking score itself (two sheets saying the same thing).
        let tie = candidates.get(1).is_some_and(|c| {
            c.confidence >= confidence - self.params.tie_margin || lead < TIE_SCORE
        });
        if confidence >= self.params.answer_threshold && !tie {
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

#[cfg(test)]
mod tests {
    use super::without_tags;

    #[test]
    fn tags_are_dropped_and_other_angle_brackets_kept() {
        assert_eq!(without_tags("<b>orari urp</b>").trim(), "orari urp");
        assert_eq!(without_tags("a < b e c > d"), "a < b e c > d");
        assert_eq!(
            without_tags("<script>alert(1)</script>ciao").trim(),
            "alert(1) ciao"
        );
        assert_eq!(without_tags("prezzo <5 euro"), "prezzo <5 euro");
    }
}
