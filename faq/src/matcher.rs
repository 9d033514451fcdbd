//! The matcher: from one citizen message to a decision over the published sheets.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

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
    /// Candidate sheets, best first (at most three for `Clarify`).
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
}

impl Default for MatcherParams {
    fn default() -> Self {
        Self {
            answer_threshold: 0.75,
            clarify_threshold: 0.35,
            max_choices: 3,
        }
    }
}

struct Indexed {
    id: String,
    handoff: bool,
    /// Each phrasing (title and questions) as a set of stems.
    phrasings: Vec<HashSet<String>>,
    /// Stems of keywords, tags and summary.
    context: HashSet<String>,
}

/// The matcher over a set of published sheets. Cheap to query, rebuilt when sheets change.
pub struct Matcher {
    sheets: Vec<Indexed>,
    by_id: HashMap<String, Sheet>,
    params: MatcherParams,
    stemmer: rust_stemmers::Stemmer,
}

const STOPWORDS: &[&str] = &[
    "il",
    "lo",
    "la",
    "i",
    "gli",
    "le",
    "un",
    "uno",
    "una",
    "di",
    "a",
    "da",
    "in",
    "con",
    "su",
    "per",
    "tra",
    "fra",
    "e",
    "ed",
    "o",
    "che",
    "mi",
    "ti",
    "si",
    "ci",
    "vi",
    "del",
    "della",
    "dei",
    "delle",
    "degli",
    "al",
    "alla",
    "ai",
    "alle",
    "nel",
    "nella",
    "nei",
    "sul",
    "sulla",
    "è",
    "e'",
    "sono",
    "ho",
    "ha",
    "hanno",
    "io",
    "tu",
    "lui",
    "lei",
    "noi",
    "voi",
    "mio",
    "mia",
    "come",
    "posso",
    "puo",
    "fare",
    "vorrei",
    "buongiorno",
    "salve",
];

fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Matcher {
    /// Build the matcher from sheets; drafts are ignored.
    pub fn new(sheets: &[Sheet], _synonyms: &Synonyms, params: MatcherParams) -> Self {
        let stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::Italian);
        let mut this = Self {
            sheets: Vec::new(),
            by_id: HashMap::new(),
            params,
            stemmer,
        };
        for sheet in sheets.iter().filter(|s| s.status == SheetStatus::Published) {
            let mut phrasings = vec![this.stems(&sheet.title)];
            phrasings.extend(sheet.questions.iter().map(|q| this.stems(q)));
            let mut context = this.stems(&sheet.keywords.join(" "));
            context.extend(this.stems(&sheet.tags.join(" ")));
            this.sheets.push(Indexed {
                id: sheet.id.clone(),
                handoff: sheet.handoff,
                phrasings,
                context,
            });
            this.by_id.insert(sheet.id.clone(), sheet.clone());
        }
        this
    }

    /// The sheet with this id, if the matcher knows it.
    pub fn sheet(&self, id: &str) -> Option<&Sheet> {
        self.by_id.get(id)
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

    fn words(text: &str) -> Vec<String> {
        fold(text)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn stems(&self, text: &str) -> HashSet<String> {
        Self::words(text)
            .into_iter()
            .filter(|w| !STOPWORDS.contains(&w.as_str()))
            .map(|w| self.stemmer.stem(&w).into_owned())
            .collect()
    }

    /// Decide what to do with one message.
    pub fn decide(&self, text: &str) -> Decision {
        let words = Self::words(text);
        let simple = |kind, reason| Decision {
            kind,
            reason,
            confidence: 0.0,
            candidates: Vec::new(),
        };
        if words.is_empty() {
            return simple(DecisionKind::Handoff, Reason::Empty);
        }
        if words
            .iter()
            .any(|w| matches!(w.as_str(), "operatore" | "operatrice" | "persona"))
        {
            return simple(DecisionKind::Handoff, Reason::PersonRequested);
        }
        if words.len() <= 3 {
            let first = words[0].as_str();
            if matches!(first, "ciao" | "buongiorno" | "buonasera" | "salve" | "hey") {
                return simple(DecisionKind::Smalltalk, Reason::Greeting);
            }
            if matches!(first, "grazie" | "thanks") {
                return simple(DecisionKind::Smalltalk, Reason::Thanks);
            }
            if matches!(first, "arrivederci" | "addio") {
                return simple(DecisionKind::Smalltalk, Reason::Goodbye);
            }
        }
        let query = self.stems(text);
        if query.is_empty() {
            return simple(DecisionKind::Handoff, Reason::NoMatch);
        }
        let mut scored: Vec<(f32, &Indexed)> = self
            .sheets
            .iter()
            .map(|s| {
                let best = s
                    .phrasings
                    .iter()
                    .map(|p| {
                        let common = p.intersection(&query).count() as f32;
                        common / (p.len().max(query.len()) as f32).max(1.0)
                    })
                    .fold(0.0f32, f32::max);
                let ctx = s.context.intersection(&query).count() as f32 / query.len() as f32;
                ((best * 0.85 + ctx * 0.15).min(1.0), s)
            })
            .filter(|(score, _)| *score > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let candidates: Vec<Candidate> = scored
            .iter()
            .take(self.params.max_choices.clamp(1, 3))
            .map(|(score, s)| Candidate {
                sheet_id: s.id.clone(),
                confidence: *score,
            })
            .collect();
        let Some((top, best)) = scored.first() else {
            return simple(DecisionKind::Handoff, Reason::NoMatch);
        };
        let decision = |kind, reason| Decision {
            kind,
            reason,
            confidence: *top,
            candidates: candidates.clone(),
        };
        if *top >= self.params.answer_threshold {
            if best.handoff {
                decision(
                    DecisionKind::Handoff,
                    Reason::SheetRequiresOperator(best.id.clone()),
                )
            } else {
                decision(DecisionKind::Answer, Reason::Matched)
            }
        } else if *top >= self.params.clarify_threshold {
            decision(DecisionKind::Clarify, Reason::Unsure)
        } else {
            decision(DecisionKind::Handoff, Reason::NoMatch)
        }
    }
}
