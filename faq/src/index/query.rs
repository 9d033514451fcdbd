//! From a message to weighted index terms.
//!
//! A message's content words are stemmed; a stem the index does not know is corrected
//! to the closest one within the edit budget of its word's length; synonym groups and
//! five-character prefixes are added as weaker or broader terms. Unknown words still
//! count in the query's mass, so a message about something no sheet mentions matches
//! weakly everywhere.

use super::Index;
use crate::analysis::{Analyzer, is_stopword, prefix_term};
use crate::typos::max_edits;

/// A built-in lexicon group counts this much of a word typed in the message. High because
/// a group stands for several words and its idf is low; measured on UnlockPA (0.6 → 2.5:
/// P@1 +5 points on `sheets.csv`, +2 on `sheets-fewshot.csv`).
const LEXICON_WEIGHT: f32 = 2.5;

/// A stem prefix counts this much of a whole stem.
const PREFIX_WEIGHT: f32 = 0.5;

/// A corrected (misspelt) query term counts this much of a term typed right.
const CORRECTED_WEIGHT: f32 = 0.5;

/// A query term found in the index, with its weight in the query.
#[derive(Debug, Clone, Copy)]
pub(super) struct QueryTerm {
    pub(super) term: u32,
    pub(super) weight: f32,
    /// A stem of the message itself, not a synonym group or a prefix.
    pub(super) direct: bool,
    /// A stem prefix: weak evidence, walked less far in long posting lists.
    pub(super) prefix: bool,
}

/// A message turned into index terms.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub(super) terms: Vec<QueryTerm>,
    /// idf mass of the query: known terms plus unknown ones at the highest idf.
    pub(super) mass: f32,
    /// idf mass of the terms the index knows.
    pub(super) known_mass: f32,
    /// idf mass of the message's own stems (known or not).
    pub(super) direct_mass: f32,
    /// How many content terms the message had.
    pub len: usize,
}

impl Index {
    /// Turn a message's words ([`crate::analysis::words`]) into index terms: stems of the
    /// content words, typo correction against the index's own stems, synonym groups and
    /// prefixes.
    pub fn query(&self, words: &[String], analyzer: &Analyzer) -> Query {
        let words: Vec<&str> = words
            .iter()
            .map(String::as_str)
            .filter(|w| !is_stopword(w))
            .collect();
        let mut stems: Vec<(String, f32)> = Vec::with_capacity(words.len());
        for &word in &words {
            let stem = match self.stems.get(word) {
                Some(s) => s.clone(),
                None => analyzer.stem(word).into_owned(),
            };
            if self.term_ids.contains_key(&stem) || analyzer.is_synonym_word(word) {
                stems.push((stem, 1.0));
                continue;
            }
            let max = max_edits(word.chars().count());
            match self.typos.correct(&stem, max, &self.vocab, &self.df) {
                Some((id, _)) => stems.push((self.vocab[id as usize].clone(), CORRECTED_WEIGHT)),
                None => stems.push((stem, 1.0)),
            }
        }
        let mut plain: Vec<String> = stems.iter().map(|(s, _)| s.clone()).collect();
        analyzer.add_synonym_groups(&mut plain);
        let mut weighted: Vec<(String, f32)> = stems.clone();
        let lexicon_weight = LEXICON_WEIGHT;
        weighted.extend(plain.drain(stems.len()..).map(|g| {
            let w = if g.starts_with("~b") {
                lexicon_weight
            } else {
                1.0
            };
            (g, w)
        }));
        let prefixes: Vec<(String, f32)> = weighted
            .iter()
            .filter_map(|(s, w)| prefix_term(s).map(|p| (p, w * PREFIX_WEIGHT)))
            .collect();
        weighted.extend(prefixes);
        let mut query = Query {
            len: words.len(),
            ..Query::default()
        };
        // A term counts once, with its first weight: known terms by id, unknown by text.
        let mut unknown: Vec<&str> = Vec::new();
        for (term, weight) in &weighted {
            let weight = *weight;
            match self.term_ids.get(term) {
                Some(&id) if query.terms.iter().any(|t| t.term == id) => {}
                Some(&id) => {
                    let idf = self.idf[id as usize];
                    query.mass += idf * weight;
                    query.known_mass += idf * weight;
                    let direct = !term.starts_with(['~', '^']);
                    if direct {
                        query.direct_mass += idf * weight;
                    }
                    query.terms.push(QueryTerm {
                        term: id,
                        weight,
                        direct,
                        prefix: term.starts_with('^'),
                    });
                }
                // A synonym group or prefix absent from the sheets adds nothing either way.
                None if term.starts_with(['~', '^']) || unknown.contains(&term.as_str()) => {}
                None => {
                    unknown.push(term);
                    query.mass += self.unknown_idf * weight;
                    query.direct_mass += self.unknown_idf * weight;
                }
            }
        }
        query
    }
}
