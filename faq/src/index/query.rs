//! From a message to weighted index terms.
//!
//! A message's content words are stemmed; a stem the index does not know is corrected
//! to the closest one within the edit budget of its word's length; synonym groups and
//! five-character prefixes are added as weaker or broader terms. Unknown words still
//! count in the query's mass, so a message about something no sheet mentions matches
//! weakly everywhere.

use std::borrow::Cow;

use super::Index;
use crate::analysis::{Analyzer, is_stopword, prefix_of};
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
        // Stems borrow from the index's vocabulary when the word is known, so a message
        // made of the sheets' own words allocates nothing here.
        let mut stems: Vec<(Cow<'_, str>, f32)> = Vec::with_capacity(words.len());
        for &word in &words {
            if let Some(&id) = self.word_stems.get(word) {
                stems.push((Cow::Borrowed(self.vocab[id as usize].as_str()), 1.0));
                continue;
            }
            let stem = analyzer.stem(word);
            if self.term_ids.contains_key(stem.as_ref()) || analyzer.is_synonym_word(word) {
                stems.push((stem, 1.0));
                continue;
            }
            let max = max_edits(word.chars().count());
            match self.typos.correct(&stem, max, &self.vocab, &self.df) {
                Some((id, _)) => stems.push((
                    Cow::Borrowed(self.vocab[id as usize].as_str()),
                    CORRECTED_WEIGHT,
                )),
                None => stems.push((stem, 1.0)),
            }
        }
        let mut groups: Vec<&str> = Vec::new();
        let plain: Vec<&str> = stems.iter().map(|(s, _)| s.as_ref()).collect();
        analyzer.synonym_groups(&plain, &mut groups);
        let mut query = Query {
            len: words.len(),
            ..Query::default()
        };
        // A term counts once, with its first weight: known terms by id, unknown by text.
        // Order: the message's stems, synonym groups, then the stems' prefixes.
        let mut unknown: Vec<&str> = Vec::new();
        for (stem, weight) in &stems {
            let stem: &str = stem;
            if !self.add_term(&mut query, stem, *weight, true) && !unknown.contains(&stem) {
                unknown.push(stem);
                query.mass += self.unknown_idf * weight;
                query.direct_mass += self.unknown_idf * weight;
            }
        }
        for group in &groups {
            let weight = if group.starts_with("~b") {
                LEXICON_WEIGHT
            } else {
                1.0
            };
            // A synonym group or prefix absent from the sheets adds nothing either way.
            self.add_term(&mut query, group, weight, false);
        }
        let mut key = String::with_capacity(16);
        for (stem, weight) in &stems {
            if let Some(p) = prefix_of(stem) {
                key.clear();
                key.push('^');
                key.push_str(p);
                self.add_term(&mut query, &key, weight * PREFIX_WEIGHT, false);
            }
        }
        query
    }

    /// Add one term the index knows to the query unless it is there already; false when
    /// the index does not know it.
    fn add_term(&self, query: &mut Query, term: &str, weight: f32, direct: bool) -> bool {
        let Some(&id) = self.term_ids.get(term) else {
            return false;
        };
        if query.terms.iter().any(|t| t.term == id) {
            return true;
        }
        let idf = self.idf[id as usize];
        query.mass += idf * weight;
        query.known_mass += idf * weight;
        if direct {
            query.direct_mass += idf * weight;
        }
        query.terms.push(QueryTerm {
            term: id,
            weight,
            direct,
            prefix: term.starts_with('^'),
        });
        true
    }
}
