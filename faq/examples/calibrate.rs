//! Fit the confidence model (`calibration.rs`) by cross-validation.
//!
//! `cargo run --release -p sportello-faq --example calibrate -- QUERIES.tsv SHEETS…`
//!
//! For every labelled query and every sheet set, the first candidate's features are the
//! input and "the first candidate is right" the label (`-` queries are never right). A
//! logistic regression is fitted with plain gradient descent on standardised-free
//! features (all lie in [0, 1] except `length`). Folds group queries by their expected
//! sheet (queries of one sheet are all in one fold; `-` queries by text), so held-out
//! figures measure sheets the model never saw. The tool prints held-out precision,
//! wrong-answer rate and right-answer share by threshold, then the coefficients fitted
//! on everything, to paste into `COEFFICIENTS`.

use std::path::Path;

use sportello_faq::eval::parse_queries;
use sportello_faq::{Matcher, MatcherParams, Synonyms, load_sheets};

const FOLDS: u64 = 5;
const N: usize = sportello_faq::calibration::N_FEATURES;
const ITERATIONS: usize = 20_000;

struct Row {
    x: [f32; N],
    y: f32,
    fold: u64,
    set: usize,
    answerable: bool,
}

fn fit(rows: &[&Row]) -> [f32; N + 1] {
    let mut w = [0f32; N + 1];
    let lr = 0.5;
    let l2 = 1e-4;
    for _ in 0..ITERATIONS {
        let mut grad = [0f32; N + 1];
        for r in rows {
            let z = w[0] + w[1..].iter().zip(r.x).map(|(a, b)| a * b).sum::<f32>();
            let p = 1.0 / (1.0 + (-z).exp());
            let e = p - r.y;
            grad[0] += e;
            for j in 0..N {
                grad[j + 1] += e * r.x[j];
            }
        }
        let n = rows.len() as f32;
        for j in 0..=N {
            let reg = if j == 0 { 0.0 } else { l2 * w[j] };
            w[j] -= lr * (grad[j] / n + reg);
        }
    }
    w
}

fn predict(w: &[f32; N + 1], x: &[f32; N]) -> f32 {
    let z = w[0] + w[1..].iter().zip(x).map(|(a, b)| a * b).sum::<f32>();
    1.0 / (1.0 + (-z).exp())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [queries, sheets @ ..] = args.as_slice() else {
        return Err("usage: calibrate QUERIES.tsv SHEETS…".into());
    };
    let queries = parse_queries(&std::fs::read_to_string(queries)?)?;
    // Another fold assignment (`CALIBRATE_SEED=n`), to see how much held-out figures move
    // with it; features left out (`CALIBRATE_DROP=i,j`, positions in `Features::to_vec`),
    // to measure what one feature adds.
    let env_u64 = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    let seed: Option<u64> = env_u64("CALIBRATE_SEED");
    let drop: Vec<usize> = std::env::var("CALIBRATE_DROP")
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let mut rows = Vec::new();
    for (set, path) in sheets.iter().enumerate() {
        let loaded = load_sheets(Path::new(path), &[])?;
        let matcher = Matcher::new(
            &loaded.sheets,
            &Synonyms::default(),
            MatcherParams::default(),
        );
        for q in &queries {
            let top = matcher.explain(&q.query, 1);
            let (mut x, right) = match top.first() {
                Some((id, f)) => (f.to_vec(), q.expected.contains(id)),
                None => ([0.0; N], false),
            };
            for &i in &drop {
                x[i] = 0.0;
            }
            rows.push(Row {
                x,
                y: if right { 1.0 } else { 0.0 },
                fold: q.fold(FOLDS, seed),
                set,
                answerable: !q.expected.is_empty(),
            });
        }
    }
    let mut held_out = vec![0f32; rows.len()];
    for fold in 0..FOLDS {
        let train: Vec<&Row> = rows.iter().filter(|r| r.fold != fold).collect();
        let w = fit(&train);
        for (i, r) in rows.iter().enumerate() {
            if r.fold == fold {
                held_out[i] = predict(&w, &r.x);
            }
        }
    }
    println!(
        "held-out, by threshold: per sheet set: precision / wrong over all / right share of answerable"
    );
    for t in [0.5, 0.6, 0.7, 0.75, 0.8, 0.82, 0.83, 0.84, 0.85, 0.9, 0.95] {
        let mut line = format!("t={t:.2}");
        for set in 0..sheets.len() {
            let idx: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].set == set).collect();
            let answered: Vec<usize> = idx.iter().copied().filter(|&i| held_out[i] >= t).collect();
            let right = answered.iter().filter(|&&i| rows[i].y > 0.5).count();
            let answerable = idx.iter().filter(|&&i| rows[i].answerable).count();
            line += &format!(
                " | {:.3} / {:.3} / {:.3}",
                right as f64 / answered.len().max(1) as f64,
                (answered.len() - right) as f64 / idx.len() as f64,
                right as f64 / answerable as f64
            );
        }
        println!("{line}");
    }
    let all: Vec<&Row> = rows.iter().collect();
    let w = fit(&all);
    println!("coefficients fitted on all: {w:?}");
    Ok(())
}
