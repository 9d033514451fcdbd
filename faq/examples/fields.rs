//! Choose the BM25F field weights by cross-validation instead of by eye.
//!
//! `cargo run --release -p sportello-faq --example fields -- QUERIES.tsv SHEETS…`
//!
//! Coordinate ascent on P@1 (pooled over the sheet sets), from the shipped weights, each
//! weight in turn multiplied by 0, ½, ¾, 4⁄3 or 2 and kept when training P@1 rises, two
//! rounds. Five folds grouped by expected sheet, as in `calibrate.rs`: for each fold the
//! weights are chosen on the other four and P@1 is measured on it, so the held-out figure
//! says what choosing weights this way is worth on questions about unseen sheets. Set
//! `FIELDS_SAMPLE=SHEETS_DIR,QUERIES.tsv,SYNONYMS.toml` to also measure the weights chosen
//! on everything on an independent set (its offices are read beside its sheets).

use std::collections::HashMap;
use std::path::Path;

use sportello_faq::eval::{LabelledQuery, parse_queries};
use sportello_faq::{
    FIELD_WEIGHTS as SHIPPED, Matcher, MatcherParams, Sheet, Synonyms, load_offices, load_sheets,
    load_synonyms,
};

const FOLDS: u64 = 5;
const STEPS: [f32; 5] = [0.0, 0.5, 0.75, 4.0 / 3.0, 2.0];

struct Set {
    sheets: Vec<Sheet>,
    synonyms: Synonyms,
    queries: Vec<LabelledQuery>,
    folds: Vec<u64>,
}

/// Whether each answerable query's first candidate is right, per set.
fn hits(
    sets: &[Set],
    w: [f32; 6],
    cache: &mut HashMap<[u32; 6], Vec<Vec<bool>>>,
) -> Vec<Vec<bool>> {
    let key = w.map(f32::to_bits);
    if let Some(h) = cache.get(&key) {
        return h.clone();
    }
    let h: Vec<Vec<bool>> = sets
        .iter()
        .map(|set| {
            let m = Matcher::with_field_weights(
                &set.sheets,
                &set.synonyms,
                MatcherParams::default(),
                w,
            );
            set.queries
                .iter()
                .map(|q| {
                    m.rank(&q.query, 1)
                        .first()
                        .is_some_and(|c| q.expected.contains(&c.sheet_id))
                })
                .collect()
        })
        .collect();
    cache.insert(key, h.clone());
    h
}

/// P@1 over the answerable queries whose fold passes `keep`, pooled and per set.
fn p_at_1(sets: &[Set], hits: &[Vec<bool>], keep: impl Fn(u64) -> bool) -> (f64, Vec<f64>) {
    let (mut right, mut all) = (0usize, 0usize);
    let mut per = Vec::new();
    for (set, h) in sets.iter().zip(hits) {
        let (mut r, mut a) = (0usize, 0usize);
        for (i, q) in set.queries.iter().enumerate() {
            if !q.expected.is_empty() && keep(set.folds[i]) {
                a += 1;
                r += usize::from(h[i]);
            }
        }
        per.push(r as f64 / a.max(1) as f64);
        right += r;
        all += a;
    }
    (right as f64 / all.max(1) as f64, per)
}

fn ascend(
    sets: &[Set],
    keep: &dyn Fn(u64) -> bool,
    cache: &mut HashMap<[u32; 6], Vec<Vec<bool>>>,
) -> [f32; 6] {
    let mut best = SHIPPED;
    let mut best_p = p_at_1(sets, &hits(sets, best, cache), keep).0;
    for _ in 0..2 {
        for f in 0..6 {
            for step in STEPS {
                let mut w = best;
                w[f] = best[f] * step;
                if w == best {
                    continue;
                }
                let p = p_at_1(sets, &hits(sets, w, cache), keep).0;
                if p > best_p + 1e-9 {
                    best_p = p;
                    best = w;
                }
            }
        }
    }
    best
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [queries, sheets @ ..] = args.as_slice() else {
        return Err("usage: fields QUERIES.tsv SHEETS…".into());
    };
    let queries = parse_queries(&std::fs::read_to_string(queries)?)?;
    let folds: Vec<u64> = queries.iter().map(|q| q.fold(FOLDS, None)).collect();
    let mut sets = Vec::new();
    for path in sheets {
        sets.push(Set {
            sheets: load_sheets(Path::new(path), &[])?.sheets,
            synonyms: Synonyms::default(),
            queries: queries.clone(),
            folds: folds.clone(),
        });
    }
    let mut cache = HashMap::new();
    let shipped = hits(&sets, SHIPPED, &mut cache);
    let mut held_right = vec![vec![false; queries.len()]; sets.len()];
    for fold in 0..FOLDS {
        let w = ascend(&sets, &|f| f != fold, &mut cache);
        println!("fold {fold}: weights {w:?}");
        let h = hits(&sets, w, &mut cache);
        for (s, hs) in h.iter().enumerate() {
            for (i, &hit) in hs.iter().enumerate() {
                if folds[i] == fold {
                    held_right[s][i] = hit;
                }
            }
        }
    }
    let (_, before) = p_at_1(&sets, &shipped, |_| true);
    let (_, after) = p_at_1(&sets, &held_right, |_| true);
    println!("P@1 per set, shipped weights: {before:.3?}");
    println!("P@1 per set, weights chosen on the other folds (held-out): {after:.3?}");
    let all = ascend(&sets, &|_| true, &mut cache);
    let (_, fit) = p_at_1(&sets, &hits(&sets, all, &mut cache), |_| true);
    println!("weights chosen on everything: {all:?} (P@1 in-sample {fit:.3?})");
    if let Ok(spec) = std::env::var("FIELDS_SAMPLE") {
        let parts: Vec<&str> = spec.split(',').collect();
        let [dir, q, syn] = parts.as_slice() else {
            return Err("FIELDS_SAMPLE=SHEETS_DIR,QUERIES.tsv,SYNONYMS.toml".into());
        };
        let offices = load_offices(&Path::new(dir).with_file_name("offices.toml"))?;
        let queries = parse_queries(&std::fs::read_to_string(q)?)?;
        let sample = [Set {
            sheets: load_sheets(Path::new(dir), &offices)?.sheets,
            synonyms: load_synonyms(Path::new(syn))?,
            folds: vec![0; queries.len()],
            queries,
        }];
        let mut c = HashMap::new();
        let (a, _) = p_at_1(&sample, &hits(&sample, SHIPPED, &mut c), |_| true);
        let (b, _) = p_at_1(&sample, &hits(&sample, all, &mut c), |_| true);
        println!("independent set P@1: shipped {a:.3}, chosen {b:.3}");
    }
    Ok(())
}
