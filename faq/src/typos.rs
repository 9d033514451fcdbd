//! Typo tolerance: an unknown query stem is replaced by the closest stem of the index.
//!
//! Lookup is a symmetric-delete search (SymSpell): every index stem is stored under the
//! hash of each variant with up to two characters deleted, so a query stem needs only its
//! own deletion variants looked up, then each candidate is checked with a real edit
//! distance. Variants are hashed in place, never built as strings, and the table is one
//! sorted array of (hash, stem id) pairs: compact, and a query costs a few dozen binary
//! searches whatever the vocabulary size.

/// How many edits a word of this many characters may carry: none up to 4 characters
/// (too many short Italian words are one letter apart), one up to 8, two beyond.
pub fn max_edits(word_chars: usize) -> usize {
    match word_chars {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Longest stem considered, in characters; longer ones are left alone.
const MAX_CHARS: usize = 32;

/// The deletion index over a vocabulary of stems.
pub struct Typos {
    /// (low half of the variant hash, stem id), sorted by the whole hash.
    table: Vec<(u32, u32)>,
    /// Where each bucket of [`Typos::table`] starts: bucket `b` holds the hashes whose top
    /// [`Typos::bits`] bits are `b`, at `dir[b]..dir[b + 1]`. A lookup reads one bucket
    /// (about four entries) instead of binary-searching the whole table.
    dir: Vec<u32>,
    bits: u32,
}

const NONE: usize = usize::MAX;

/// FNV-1a over the characters of `chars` except positions `a` and `b`, then mixed.
fn variant_hash(chars: &[char], a: usize, b: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, &c) in chars.iter().enumerate() {
        if i != a && i != b {
            h = (h ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h ^= h >> 33;
    h.wrapping_mul(0xff51_afd7_ed55_8ccd)
}

/// Call `f` with the hash of `chars` and of each variant with up to `edits` (≤ 2)
/// characters deleted. Repeats are harmless: they find the same ids.
fn for_each_variant(chars: &[char], edits: usize, mut f: impl FnMut(u64)) {
    f(variant_hash(chars, NONE, NONE));
    if edits == 0 || chars.len() <= 1 {
        return;
    }
    for i in 0..chars.len() {
        if i > 0 && chars[i] == chars[i - 1] {
            continue; // deleting either of two equal neighbours gives the same word
        }
        f(variant_hash(chars, i, NONE));
        if edits >= 2 && chars.len() > 2 {
            for j in i + 1..chars.len() {
                f(variant_hash(chars, i, j));
            }
        }
    }
}

impl Typos {
    /// Index `stems` (term id, stem) for lookups of up to two edits.
    pub fn new<'a>(stems: impl Iterator<Item = (u32, &'a str)>) -> Self {
        let mut table = Vec::new();
        for (id, stem) in stems {
            let chars: Vec<char> = stem.chars().collect();
            if chars.len() < 4
                || chars.len() > MAX_CHARS
                || chars.iter().any(char::is_ascii_digit)
                || stem.starts_with(['^', '~'])
            {
                continue;
            }
            for_each_variant(&chars, 2, |h| table.push((h, id)));
        }
        table.sort_unstable();
        table.dedup();
        // About four entries a bucket.
        let bits = (usize::BITS - (table.len() / 4).leading_zeros()).clamp(1, 30);
        let mut dir = vec![0u32; (1usize << bits) + 1];
        for &(h, _) in &table {
            dir[(h >> (64 - bits)) as usize + 1] += 1;
        }
        for b in 1..dir.len() {
            dir[b] += dir[b - 1];
        }
        let table = table.into_iter().map(|(h, id)| (h as u32, id)).collect();
        Self { table, dir, bits }
    }

    /// The ids stored under the variant hash `h` (rarely, a few more: the caller checks
    /// every candidate's real distance).
    fn lookup(&self, h: u64) -> impl Iterator<Item = u32> + '_ {
        let b = (h >> (64 - self.bits)) as usize;
        let (from, to) = (self.dir[b] as usize, self.dir[b + 1] as usize);
        self.table[from..to]
            .iter()
            .filter(move |&&(k, _)| k == h as u32)
            .map(|&(_, id)| id)
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
        if max == 0 || chars.len() < 4 || chars.len() > MAX_CHARS {
            return None;
        }
        let mut best: Option<(usize, u32, u32)> = None;
        let mut cand: Vec<char> = Vec::with_capacity(MAX_CHARS + 2);
        // Many variants lead to the same stem: measure each one once.
        let mut seen: Vec<u32> = Vec::new();
        for_each_variant(&chars, max, |h| {
            for id in self.lookup(h) {
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                cand.clear();
                cand.extend(vocab[id as usize].chars());
                let Some(d) = bounded_distance(&chars, &cand, max) else {
                    continue;
                };
                let key = (d, u32::MAX - df[id as usize], id);
                if best.is_none_or(|b| key < b) {
                    best = Some(key);
                }
            }
        });
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
    // Three rows, on the stack for stems up to the longest indexed, else on the heap.
    let mut stack = [0usize; 3 * (MAX_CHARS + 3)];
    let mut heap = Vec::new();
    let rows: &mut [usize] = if 3 * w <= stack.len() {
        &mut stack
    } else {
        heap.resize(3 * w, 0);
        &mut heap
    };
    for (j, cell) in rows[w..2 * w].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let (cur, prev, prev2) = ((i % 3) * w, ((i + 2) % 3) * w, ((i + 1) % 3) * w);
        rows[cur] = i;
        let mut row_min = i;
        for j in 1..w {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev + j] + 1)
                .min(rows[cur + j - 1] + 1)
                .min(rows[prev + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2 + j - 2] + 1);
            }
            rows[cur + j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
    }
    let d = rows[(a.len() % 3) * w + b.len()];
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
    fn words_longer_than_the_stack_rows_are_measured_too() {
        let long = "precipitevolissimevolmente".repeat(2);
        let typo = long.replacen("vol", "lov", 1);
        assert_eq!(bounded_distance(&chars(&long), &chars(&typo), 2), Some(2));
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
        let typos = Typos::new(
            vocab
                .iter()
                .enumerate()
                .map(|(i, s)| (i as u32, s.as_str())),
        );
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
