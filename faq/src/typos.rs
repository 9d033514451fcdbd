//! Typo tolerance: an unknown query stem is replaced by the closest stem of the index.
//!
//! Lookup is a symmetric-delete search (SymSpell): every index stem is stored under each
//! variant with up to two characters deleted, so a query stem needs only its own deletion
//! variants looked up, then each candidate is checked with a real edit distance. Built once
//! with the index; a query costs a few dozen hash lookups whatever the vocabulary size.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// How many edits a word of this many characters may carry: none up to 4 characters
/// (too many short Italian words are one letter apart), one up to 8, two beyond.
pub fn max_edits(word_chars: usize) -> usize {
    match word_chars {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// The deletion index over a vocabulary of stems.
pub struct Typos {
    hasher: RandomState,
    by_delete: HashMap<u64, Vec<u32>>,
}

fn deletes(word: &[char], depth: usize, out: &mut Vec<Vec<char>>) {
    if depth == 0 || word.len() <= 1 {
        return;
    }
    for i in 0..word.len() {
        let mut shorter = word.to_vec();
        shorter.remove(i);
        if !out.contains(&shorter) {
            deletes(&shorter, depth - 1, out);
            out.push(shorter);
        }
    }
}

fn variants(word: &[char], edits: usize) -> Vec<Vec<char>> {
    let mut out = vec![word.to_vec()];
    deletes(word, edits, &mut out);
    out
}

impl Typos {
    /// Index `stems` (position = term id) for lookups of up to two edits.
    pub fn new<'a>(stems: impl Iterator<Item = &'a str>) -> Self {
        let mut this = Self {
            hasher: RandomState::new(),
            by_delete: HashMap::new(),
        };
        for (id, stem) in stems.enumerate() {
            let chars: Vec<char> = stem.chars().collect();
            if chars.len() < 4
                || chars.iter().any(char::is_ascii_digit)
                || stem.starts_with(['^', '~'])
                || stem.contains('_')
            {
                continue;
            }
            for v in variants(&chars, 2) {
                let key = this.hasher.hash_one(&v);
                this.by_delete.entry(key).or_default().push(id as u32);
            }
        }
        this
    }

    /// The id of the closest stem within `max` edits (ties go to the most frequent, by
    /// `df`), with its distance; `None` when nothing is that close.
    pub fn correct(
        &self,
        stem: &str,
        max: usize,
        vocab: &[String],
        df: &[u32],
    ) -> Option<(u32, usize)> {
        let chars: Vec<char> = stem.chars().collect();
        if max == 0 || chars.len() < 4 {
            return None;
        }
        let mut best: Option<(usize, u32, u32)> = None;
        for v in variants(&chars, max) {
            let Some(ids) = self.by_delete.get(&self.hasher.hash_one(&v)) else {
                continue;
            };
            for &id in ids {
                let cand: Vec<char> = vocab[id as usize].chars().collect();
                let Some(d) = bounded_distance(&chars, &cand, max) else {
                    continue;
                };
                let key = (d, u32::MAX - df[id as usize], id);
                if best.is_none_or(|b| key < b) {
                    best = Some(key);
                }
            }
        }
        best.map(|(d, _, id)| (id, d))
    }
}

/// Optimal-string-alignment distance (insertions, deletions, substitutions and adjacent
/// transpositions), or `None` when it exceeds `max`.
pub fn bounded_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut rows = vec![vec![0usize; w]; 3];
    for (j, cell) in rows[1].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let (cur, prev, prev2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        rows[cur][0] = i;
        let mut row_min = i;
        for j in 1..w {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev][j] + 1)
                .min(rows[cur][j - 1] + 1)
                .min(rows[prev][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2][j - 2] + 1);
            }
            rows[cur][j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
    }
    let d = rows[a.len() % 3][b.len()];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn a_transposition_counts_as_one_edit() {
        assert_eq!(
            bounded_distance(&chars("certifcato"), &chars("certificato"), 2),
            Some(1)
        );
        assert_eq!(
            bounded_distance(&chars("resdienza"), &chars("residenza"), 2),
            Some(1)
        );
    }

    #[test]
    fn distances_beyond_the_bound_are_none() {
        assert_eq!(
            bounded_distance(&chars("anagrafe"), &chars("patente"), 2),
            None
        );
    }

    #[test]
    fn a_misspelt_stem_is_corrected_to_the_closest_known_one() {
        let vocab: Vec<String> = ["resident", "rinnov", "certific"]
            .map(String::from)
            .to_vec();
        let typos = Typos::new(vocab.iter().map(String::as_str));
        let df = [1, 1, 1];
        assert_eq!(typos.correct("residnt", 1, &vocab, &df), Some((0, 1)));
        assert_eq!(typos.correct("rinov", 1, &vocab, &df), Some((1, 1)));
        assert_eq!(typos.correct("zzzzzz", 2, &vocab, &df), None);
    }

    #[test]
    fn short_words_are_never_corrected() {
        assert_eq!(max_edits(4), 0);
        assert_eq!(max_edits(6), 1);
        assert_eq!(max_edits(10), 2);
    }
}
