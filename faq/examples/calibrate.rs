//! Fit the confidence model (`calibration.rs`) by cross-validation, for the lexical
//! matcher or, with `--model`, for the matcher with the sentence encoder.
//!
//! ```text
//! cargo run --release -p sportello-faq --example calibrate -- [--model MODEL] \
//!     OFFICE=QUERIES.tsv=SHEETS [OFFICE=QUERIES.tsv=SHEETS …]
//! ```
//!
//! Each argument is one labelled set: an office's name, its queries and its sheets (a
//! TOML folder, whose `offices.toml` beside it is read when there is one, or a CSV file).
//! Two sets may share an office (UnlockPA's `sheets.csv` and `sheets-fewshot.csv`).
//!
//! For every query of every set, the first candidate's features are the input and "the
//! first candidate is right" the label (`-` queries are never right). A logistic
//! regression is fitted with plain gradient descent. The tool prints:
//! - with `--model`, P@1 per set for several lexical shares of the ranking (nothing
//!   fitted: the share is one number, chosen by reading this table);
//! - held-out figures by threshold, five folds grouped by expected sheet (queries of one
//!   sheet are all in one fold; `-` queries by text): precision / wrong answers over all
//!   queries / right answers over answerable queries, per set;
//! - leave-one-office-out: fitted on the other offices, the same figures on each office
//!   at the thresholds around the shipped one;
//! - the coefficients fitted on everything, to paste into the source.
//!
//! `CALIBRATE_SHARE=s` sets the lexical share used for the fit (default: the shipped one).

use std::path::Path;
use std::sync::Arc;

use sportello_encoder::CachedEncoder;
use sportello_faq::eval::{LabelledQuery, parse_queries};
use sportello_faq::{Matcher, MatcherParams, Sheet, Synonyms, load_offices, load_sheets};

const FOLDS: u64 = 5;
const ITERATIONS: usize = 20_000;
const THRESHOLDS: [f32; 10] = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.95];

struct Set {
    office: String,
    name: String,
    queries: Vec<LabelledQuery>,
    sheets: Vec<Sheet>,
}

struct Row {
    x: Vec<f32>,
    y: f32,
    fold: u64,
    set: usize,
    office: usize,
    answerable: bool,
}

fn fit(rows: &[&Row], n: usize) -> Vec<f32> {
    let mut w = vec![0f32; n + 1];
    let lr = 0.5;
    let l2 = 1e-4;
    for _ in 0..ITERATIONS {
        let mut grad = vec![0f32; n + 1];
        for r in rows {
            let e = predict(&w, &r.x) - r.y;
            grad[0] += e;
            for j in 0..n {
                grad[j + 1] += e * r.x[j];
            }
        }
        let count = rows.len() as f32;
        for j in 0..=n {
            let reg = if j == 0 { 0.0 } else { l2 * w[j] };
            w[j] -= lr * (grad[j] / count + reg);
        }
    }
    w
}

fn predict(w: &[f32], x: &[f32]) -> f32 {
    let z = w[0] + w[1..].iter().zip(x).map(|(a, b)| a * b).sum::<f32>();
    1.0 / (1.0 + (-z).exp())
}

fn load_set(arg: &str) -> Result<Set, Box<dyn std::error::Error>> {
    let mut parts = arg.splitn(3, '=');
    let (Some(office), Some(queries), Some(sheets)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("expected OFFICE=QUERIES.tsv=SHEETS, got {arg}").into());
    };
    let path = Path::new(sheets);
    let offices_file = path.with_file_name("offices.toml");
    let offices = if path.is_dir() && offices_file.exists() {
        load_offices(&offices_file)?
    } else {
        Vec::new()
    };
    Ok(Set {
        office: office.to_string(),
        name: format!(
            "{office}/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ),
        queries: parse_queries(&std::fs::read_to_string(queries)?)?,
        sheets: load_sheets(path, &offices)?.sheets,
    })
}

/// precision / wrong over all / right over answerable, of `idx` at confidence ≥ t.
fn figures(rows: &[Row], scores: &[f32], idx: &[usize], t: f32) -> String {
    let answered: Vec<usize> = idx.iter().copied().filter(|&i| scores[i] >= t).collect();
    let right = answered.iter().filter(|&&i| rows[i].y > 0.5).count();
    let answerable = idx.iter().filter(|&&i| rows[i].answerable).count();
    format!(
        "{:.3} / {:.3} / {:.3}",
        right as f64 / answered.len().max(1) as f64,
        (answered.len() - right) as f64 / idx.len().max(1) as f64,
        right as f64 / answerable.max(1) as f64
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut encoder: Option<Arc<CachedEncoder>> = None;
    if let Some(i) = args.iter().position(|a| a == "--model") {
        let path = args.get(i + 1).ok_or("--model needs a path")?.clone();
        encoder = Some(CachedEncoder::shared(Path::new(&path))?);
        args.drain(i..=i + 1);
    }
    if args.is_empty() {
        return Err("usage: calibrate [--model MODEL] OFFICE=QUERIES.tsv=SHEETS …".into());
    }
    let sets: Vec<Set> = args.iter().map(|a| load_set(a)).collect::<Result<_, _>>()?;
    let mut offices: Vec<String> = Vec::new();
    for s in &sets {
        if !offices.contains(&s.office) {
            offices.push(s.office.clone());
        }
    }
    let share: f32 = std::env::var("CALIBRATE_SHARE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(sportello_faq::LEXICAL_SHARE);
    let synonyms = Synonyms::default();
    let mut matchers: Vec<Matcher> = sets
        .iter()
        .map(|s| match &encoder {
            Some(e) => Matcher::with_semantic(
                &s.sheets,
                &synonyms,
                MatcherParams::default(),
                Arc::clone(e),
                &Default::default(),
            ),
            None => Matcher::new(&s.sheets, &synonyms, MatcherParams::default()),
        })
        .collect();

    if encoder.is_some() {
        println!("P@1 by the ranking's lexical share (rows: share; columns: sets)");
        println!(
            "share | {}",
            sets.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        );
        for s in [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0] {
            let mut line = format!("{s:.1}");
            for (set, m) in sets.iter().zip(matchers.iter_mut()) {
                m.set_lexical_share(s);
                line += &format!(" | {:.3}", p_at_1(set, m));
            }
            println!("{line}");
        }
        println!();
    }
    for m in &mut matchers {
        m.set_lexical_share(share);
    }

    // `CALIBRATE_DUMP=file`: every query's ranked pool, one JSON object per line, for
    // trying ranking models outside this tool.
    if let Ok(path) = std::env::var("CALIBRATE_DUMP") {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for (si, (set, matcher)) in sets.iter().zip(&matchers).enumerate() {
            for (qi, q) in set.queries.iter().enumerate() {
                for (rank, (id, f)) in matcher.explain(&q.query, 64).into_iter().enumerate() {
                    let line = serde_json::json!({
                        "set": si, "office": set.office, "query": qi, "fold": q.fold(FOLDS, None),
                        "rank": rank, "right": q.expected.contains(&id),
                        "answerable": !q.expected.is_empty(), "f": f,
                    });
                    writeln!(out, "{line}")?;
                }
            }
        }
    }
    let mut rows = Vec::new();
    for (si, (set, matcher)) in sets.iter().zip(&matchers).enumerate() {
        let office = offices
            .iter()
            .position(|o| *o == set.office)
            .expect("listed");
        for q in &set.queries {
            let top = matcher.explain(&q.query, 1);
            let (x, right) = match top.first() {
                Some((id, f)) => (
                    if encoder.is_some() {
                        f.to_semantic_vec().to_vec()
                    } else {
                        f.to_vec().to_vec()
                    },
                    q.expected.contains(id),
                ),
                None => (
                    vec![
                        0.0;
                        if encoder.is_some() {
                            sportello_faq::calibration::N_SEMANTIC
                        } else {
                            sportello_faq::calibration::N_FEATURES
                        }
                    ],
                    false,
                ),
            };
            rows.push(Row {
                x,
                y: if right { 1.0 } else { 0.0 },
                fold: q.fold(FOLDS, None),
                set: si,
                office,
                answerable: !q.expected.is_empty(),
            });
        }
    }
    let n = rows[0].x.len();
    let by_set: Vec<Vec<usize>> = (0..sets.len())
        .map(|s| (0..rows.len()).filter(|&i| rows[i].set == s).collect())
        .collect();

    let mut held_out = vec![0f32; rows.len()];
    for fold in 0..FOLDS {
        let train: Vec<&Row> = rows.iter().filter(|r| r.fold != fold).collect();
        let w = fit(&train, n);
        for (i, r) in rows.iter().enumerate() {
            if r.fold == fold {
                held_out[i] = predict(&w, &r.x);
            }
        }
    }
    println!(
        "held-out (5 folds grouped by sheet), by threshold: precision / wrong over all / right over answerable"
    );
    println!(
        "t | {}",
        sets.iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for t in THRESHOLDS {
        let line: Vec<String> = by_set
            .iter()
            .map(|idx| figures(&rows, &held_out, idx, t))
            .collect();
        println!("{t:.2} | {}", line.join(" | "));
    }

    if offices.len() > 1 {
        let mut looo = vec![0f32; rows.len()];
        for (o, _) in offices.iter().enumerate() {
            let train: Vec<&Row> = rows.iter().filter(|r| r.office != o).collect();
            let w = fit(&train, n);
            for (i, r) in rows.iter().enumerate() {
                if r.office == o {
                    looo[i] = predict(&w, &r.x);
                }
            }
        }
        println!();
        println!("leave one office out (fitted on the other offices), same figures");
        println!(
            "t | {}",
            sets.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        );
        for t in THRESHOLDS {
            let line: Vec<String> = by_set
                .iter()
                .map(|idx| figures(&rows, &looo, idx, t))
                .collect();
            println!("{t:.2} | {}", line.join(" | "));
        }
    }

    let all: Vec<&Row> = rows.iter().collect();
    let w = fit(&all, n);
    println!();
    println!("coefficients fitted on all ({} rows):", rows.len());
    println!(
        "[\n{}\n]",
        w.iter()
            .map(|c| format!("    {c:?},"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}

/// P@1 of one set's ranking: the share of answerable queries whose first sheet is right.
fn p_at_1(set: &Set, m: &Matcher) -> f64 {
    let answerable: Vec<&LabelledQuery> = set
        .queries
        .iter()
        .filter(|q| !q.expected.is_empty())
        .collect();
    let right = answerable
        .iter()
        .filter(|q| {
            m.rank(&q.query, 1)
                .first()
                .is_some_and(|c| q.expected.contains(&c.sheet_id))
        })
        .count();
    right as f64 / answerable.len().max(1) as f64
}
