//! Scoring: every sheet that shares a term with the query, from the posting lists.
//!
//! Two stages. BM25F and coverage are accumulated from the posting lists into dense
//! arrays indexed by sheet, kept per thread. A query that walks few postings against the
//! index's size lists the sheets it touches and clears only those, so it costs what its
//! posting lists cost, not what the index's size costs; one that walks many (at least half
//! as many as there are sheets) scans and clears the whole array instead, which is cheaper
//! than a mispredicted branch per newly touched sheet. Then the best-phrasing cosine is
//! computed only for the [`SHORTLIST`] sheets best on that first part, from each
//! phrasing's own term list.
//!
//! Posting lists are ordered by impact (a sheet's BM25F contribution), and a query walks
//! at most [`WALK_LIMIT`] entries of each ([`PREFIX_WALK_LIMIT`] for a stem prefix): in a
//! very large index a common term only reaches the sheets where it weighs most
//! (impact-ordered early termination). Up to that many sheets, scores are exact.

use std::cell::RefCell;
use std::cmp::Ordering;

use super::{BM25_SHARE, COVERAGE_BONUS, Index, Query, Scored};

/// Most postings walked per term.
const WALK_LIMIT: usize = 4096;

/// Most postings walked per stem prefix: a prefix only supports the sheets where it
/// weighs most. Measured: a quarter off decision time at 10,000 generated sheets; exact
/// up to 256 sheets.
const PREFIX_WALK_LIMIT: usize = 256;

/// How many sheets, best by BM25F and coverage, get their phrasings compared. Measured
/// on UnlockPA: from 16 up, rankings are the same as comparing every sheet.
const SHORTLIST: usize = 24;

/// Candidates gathered before compacting them to the shortlist.
const BUFFER: usize = 4 * SHORTLIST;

/// A shortlist entry: first-stage key and sheet. Ordered so that a better entry is less
/// (higher key, then lower sheet: a total order), so that selecting the least selects the best.
#[derive(Clone, Copy, Debug)]
struct Entry(f32, u32);

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

#[derive(Clone, Copy, Default)]
struct Acc {
    bm25: f32,
    cover: f32,
    direct: f32,
}

#[derive(Default)]
struct Scratch {
    /// Per sheet: BM25F, coverage and direct coverage, side by side for locality.
    acc: Vec<Acc>,
    /// The sheets with a non-zero accumulator, unless `dense`.
    touched: Vec<u32>,
    /// Whether this query walks so many postings that listing the touched sheets would
    /// cost more than scanning every accumulator (a mispredicted branch per new sheet).
    dense: bool,
    /// Query weight (idf × weight) by term id; zero for terms not in the query.
    weight_of: Vec<f32>,
    /// A 256-bit filter of the query's term ids (bit `id % 256`): a phrasing's term is
    /// looked up in `weight_of` only when its bit is set.
    mask: [u64; 4],
}

fn mask_bit(term: u32) -> (usize, u64) {
    (((term >> 6) & 3) as usize, 1u64 << (term & 63))
}

impl Scratch {
    fn fit(&mut self, sheets: usize, terms: usize) {
        if self.weight_of.len() < terms {
            self.weight_of.resize(terms, 0.0);
        }
        if self.acc.len() < sheets {
            self.acc.resize(sheets, Acc::default());
        }
    }

    /// Leave every accumulator at zero for the next query.
    fn clear(&mut self, sheets: usize) {
        if self.dense {
            self.acc[..sheets].fill(Acc::default());
        } else {
            for &s in &self.touched {
                let s = s as usize;
                self.acc[s] = Acc::default();
            }
        }
        self.touched.clear();
        self.mask = [0; 4];
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Index {
    /// Score every sheet that shares a term with the query; best first, at most `k`.
    pub fn search(&self, query: &Query, k: usize) -> Vec<Scored> {
        if query.terms.is_empty() || query.mass <= 0.0 {
            return Vec::new();
        }
        let order =
            |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.sheet.cmp(&b.sheet));
        let (mut scored, by_bm25) = SCRATCH.with(|scratch| {
            let x = &mut *scratch.borrow_mut();
            x.fit(self.n_sheets, self.idf.len());
            self.accumulate(query, x);
            let (shortlist, by_bm25) = self.shortlist(query, x);
            for qt in &query.terms {
                x.weight_of[qt.term as usize] = self.idf[qt.term as usize] * qt.weight;
                let (word, bit) = mask_bit(qt.term);
                x.mask[word] |= bit;
            }
            let scored: Vec<Scored> = shortlist
                .into_iter()
                .map(|sheet| {
                    let mut s = self.first_stage(sheet, query, x);
                    s.phrasing = self.best_phrasing(sheet, x, query.mass);
                    s.score += (1.0 - BM25_SHARE) * s.phrasing;
                    s
                })
                .collect();
            for qt in &query.terms {
                x.weight_of[qt.term as usize] = 0.0;
            }
            x.clear(self.n_sheets);
            (scored, by_bm25)
        });
        let by_phrasing = first_by(&scored, |s| s.phrasing);
        for s in &mut scored {
            s.firsts = u8::from(Some(s.sheet) == by_bm25) + u8::from(Some(s.sheet) == by_phrasing);
        }
        top(&mut scored, k, order);
        scored
    }

    /// First stage: BM25F, coverage and direct coverage of every touched sheet.
    fn accumulate(&self, query: &Query, x: &mut Scratch) {
        let limit = |qt: &super::query::QueryTerm| {
            if qt.prefix {
                PREFIX_WALK_LIMIT
            } else {
                WALK_LIMIT
            }
        };
        let walk: usize = query
            .terms
            .iter()
            .map(|qt| self.postings[qt.term as usize].len().min(limit(qt)))
            .sum();
        x.dense = walk >= self.n_sheets / 2;
        #[cfg(test)]
        if let Some(dense) = tests::FORCE_DENSE.with(std::cell::Cell::get) {
            x.dense = dense;
        }
        for qt in &query.terms {
            let t = qt.term as usize;
            let w = self.idf[t] * qt.weight;
            let w_direct = if qt.direct { w } else { 0.0 };
            let postings = &self.postings[t][..self.postings[t].len().min(limit(qt))];
            if x.dense {
                for &(sheet, contrib) in postings {
                    let acc = &mut x.acc[sheet as usize];
                    acc.bm25 += w * contrib;
                    acc.cover += w;
                    acc.direct += w_direct;
                }
            } else {
                for &(sheet, contrib) in postings {
                    let acc = &mut x.acc[sheet as usize];
                    if acc.cover == 0.0 {
                        x.touched.push(sheet);
                    }
                    acc.bm25 += w * contrib;
                    acc.cover += w;
                    acc.direct += w_direct;
                }
            }
        }
    }

    /// The [`SHORTLIST`] touched sheets best on the first stage, and the sheet best on
    /// BM25F alone.
    fn shortlist(&self, query: &Query, x: &Scratch) -> (Vec<u32>, Option<u32>) {
        if x.dense {
            self.shortlist_of(query, x, 0..self.n_sheets as u32)
        } else {
            self.shortlist_of(query, x, x.touched.iter().copied())
        }
    }

    fn shortlist_of(
        &self,
        query: &Query,
        x: &Scratch,
        sheets: impl Iterator<Item = u32>,
    ) -> (Vec<u32>, Option<u32>) {
        // Best first: key descending, then sheet ascending, the entries' order. Keys are
        // finite and non-negative, so plain float comparisons agree with `total_cmp` and
        // cost less on this path, run once per touched sheet (measured: 3 % of decision time).
        let before = |a: &(f32, u32), b: &(f32, u32)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
        let mut by_bm25: (f32, u32) = (f32::NEG_INFINITY, u32::MAX);
        // Candidates at or above the floor, compacted to the best SHORTLIST whenever the
        // buffer fills; the floor is then the worst of those.
        let mut best: Vec<Entry> = Vec::with_capacity(BUFFER);
        let mut floor = f32::NEG_INFINITY;
        for sheet in sheets {
            let acc = x.acc[sheet as usize];
            if acc.cover == 0.0 {
                continue; // not touched (dense scan)
            }
            if before(&(acc.bm25, sheet), &by_bm25) {
                by_bm25 = (acc.bm25, sheet);
            }
            let key = BM25_SHARE * acc.bm25 + COVERAGE_BONUS * acc.cover.min(query.mass);
            if key < floor {
                continue;
            }
            best.push(Entry(key, sheet));
            if best.len() == BUFFER {
                best.select_nth_unstable(SHORTLIST - 1);
                best.truncate(SHORTLIST);
                floor = best[SHORTLIST - 1].0;
            }
        }
        if best.len() > SHORTLIST {
            best.select_nth_unstable(SHORTLIST - 1);
            best.truncate(SHORTLIST);
        }
        let by_bm25 = (by_bm25.1 != u32::MAX).then_some(by_bm25.1);
        (best.into_iter().map(|e| e.1).collect(), by_bm25)
    }

    /// One sheet's first-stage scores; `score` holds the part of the final score they make.
    fn first_stage(&self, sheet: u32, query: &Query, x: &Scratch) -> Scored {
        let s = sheet as usize;
        let acc = x.acc[s];
        let bm25 = (acc.bm25 / query.mass).min(1.0);
        let coverage = (acc.cover / query.mass).min(1.0);
        Scored {
            sheet,
            bm25,
            phrasing: 0.0,
            coverage,
            direct: if query.direct_mass > 0.0 {
                (acc.direct / query.direct_mass).min(1.0)
            } else {
                0.0
            },
            firsts: 0,
            score: BM25_SHARE * bm25 + COVERAGE_BONUS * coverage,
        }
    }

    /// The best idf-weighted cosine between the query and one of the sheet's phrasings.
    fn best_phrasing(&self, sheet: u32, x: &Scratch, mass: f32) -> f32 {
        let (start, end) = self.sheet_phrasings[sheet as usize];
        let mut best = 0f32;
        for p in start as usize..end as usize {
            let terms = &self.phrasing_terms
                [self.phrasing_starts[p] as usize..self.phrasing_starts[p + 1] as usize];
            let mut overlap = 0f32;
            for &t in terms {
                let (word, bit) = mask_bit(t);
                if x.mask[word] & bit != 0 {
                    overlap += x.weight_of[t as usize];
                }
            }
            if overlap > 0.0 {
                // Weighted cosine: measured better than Dice or query coverage alone.
                let cosine = overlap / (mass * self.phrasing_mass[p]).sqrt().max(1e-6);
                best = best.max(cosine.min(1.0));
            }
        }
        best
    }
}

/// The sheet that one signal alone ranks first.
fn first_by(scored: &[Scored], key: fn(&Scored) -> f32) -> Option<u32> {
    scored
        .iter()
        .max_by(|a, b| key(a).total_cmp(&key(b)).then(b.sheet.cmp(&a.sheet)))
        .map(|s| s.sheet)
}

/// Keep the best `k` by `order`, sorted.
fn top(scored: &mut Vec<Scored>, k: usize, order: impl Fn(&Scored, &Scored) -> std::cmp::Ordering) {
    if k < scored.len() {
        // Only the best k need sorting: in a large index most sheets are touched.
        scored.select_nth_unstable_by(k, &order);
        scored.truncate(k);
    }
    scored.sort_by(order);
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use crate::analysis::{Analyzer, words};
    use crate::index::{FIELD_WEIGHTS, Index};
    use crate::sheet::{Sheet, Synonyms};

    thread_local! {
        /// Forces the dense (`Some(true)`) or sparse (`Some(false)`) accumulation.
        pub(super) static FORCE_DENSE: Cell<Option<bool>> = const { Cell::new(None) };
    }

    fn sheet(i: usize, title: &str, questions: &[&str]) -> Sheet {
        Sheet {
            id: format!("s{i}"),
            title: title.into(),
            summary: format!("{title}: risposta di prova numero {i}."),
            questions: questions.iter().map(|q| q.to_string()).collect(),
            ..Sheet::default()
        }
    }

    #[test]
    fn dense_and_sparse_accumulation_rank_alike() {
        let topics = [
            (
                "Rinnovo della carta d'identità",
                "come rinnovo la carta d'identità",
            ),
            (
                "Cambio di residenza",
                "mi sono trasferito, come cambio residenza",
            ),
            ("Licenza di pesca", "dove chiedo la licenza di pesca"),
            ("Accesso agli atti", "come chiedo copia di un documento"),
            ("Passo carrabile", "autorizzazione per un passo carrabile"),
            ("Orari dell'ufficio", "a che ora apre l'ufficio"),
        ];
        let sheets: Vec<Sheet> = (0..60)
            .map(|i| {
                let (title, question) = topics[i % topics.len()];
                sheet(i, &format!("{title} {i}"), &[question])
            })
            .collect();
        let refs: Vec<&Sheet> = sheets.iter().collect();
        let analyzer = Analyzer::new(&Synonyms::default(), true);
        let index = Index::with_field_weights(&refs, &analyzer, FIELD_WEIGHTS);
        for text in [
            "rinnovo carta identita",
            "licenza pesca 17",
            "orari ufficio",
            "residenza",
        ] {
            let query = index.query(&words(text), &analyzer);
            let run = |dense| {
                FORCE_DENSE.with(|f| f.set(Some(dense)));
                let r = index.search(&query, 10);
                FORCE_DENSE.with(|f| f.set(None));
                r.iter()
                    .map(|s| (s.sheet, s.score, s.bm25, s.coverage, s.direct, s.firsts))
                    .collect::<Vec<_>>()
            };
            let (dense, sparse) = (run(true), run(false));
            assert!(!dense.is_empty(), "{text}");
            assert_eq!(dense, sparse, "{text}");
        }
    }

    #[test]
    fn shortlist_holds_the_best_by_first_stage() {
        // Many sheets sharing words in varied amounts, so that the candidate buffer is
        // compacted several times, and ties are broken by sheet.
        let vocab = [
            "carta",
            "identita",
            "rinnovo",
            "residenza",
            "pesca",
            "licenza",
            "ufficio",
        ];
        let sheets: Vec<Sheet> = (0..600)
            .map(|i| {
                let title: Vec<&str> = (0..1 + i % 5)
                    .map(|j| vocab[(i * 7 + j * 3) % vocab.len()])
                    .collect();
                sheet(i, &format!("{} {}", title.join(" "), i % 11), &[])
            })
            .collect();
        let refs: Vec<&Sheet> = sheets.iter().collect();
        let analyzer = Analyzer::new(&Synonyms::default(), true);
        let index = Index::with_field_weights(&refs, &analyzer, FIELD_WEIGHTS);
        for text in [
            "carta identita rinnovo",
            "licenza pesca ufficio 3",
            "residenza",
        ] {
            let query = index.query(&words(text), &analyzer);
            super::SCRATCH.with(|scratch| {
                let x = &mut *scratch.borrow_mut();
                x.fit(index.n_sheets, index.idf.len());
                index.accumulate(&query, x);
                let (mut got, _) = index.shortlist(&query, x);
                let mut all: Vec<(f32, u32)> = (0..index.n_sheets as u32)
                    .filter(|&s| x.acc[s as usize].cover > 0.0)
                    .map(|s| {
                        let a = x.acc[s as usize];
                        (
                            super::BM25_SHARE * a.bm25
                                + super::COVERAGE_BONUS * a.cover.min(query.mass),
                            s,
                        )
                    })
                    .collect();
                all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let mut want: Vec<u32> = all.iter().take(super::SHORTLIST).map(|k| k.1).collect();
                assert!(
                    all.len() > 2 * super::BUFFER,
                    "{text}: {} touched",
                    all.len()
                );
                got.sort_unstable();
                want.sort_unstable();
                assert_eq!(got, want, "{text}");
                x.clear(index.n_sheets);
            });
        }
    }
}
