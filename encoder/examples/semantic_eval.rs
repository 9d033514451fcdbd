//! P@1 of the encoder on labelled queries, alone and fused with the lexical
//! matcher, beside the lexical matcher as `eval` measures it.
//!
//! `cargo run --release -p sportello-encoder --example semantic_eval -- SHEETS QUERIES.tsv`
//!
//! - lexical: the shipped matcher's decision (P@1 as `sportello eval` computes it);
//! - e5 phrasings / answer / both: a sheet's score is the best cosine between the
//!   question and its title and phrasings (embedded as queries) and/or its answer
//!   (summary and body, embedded as a passage);
//! - fusion: per question, the e5 score (both) and the lexical ranking score
//!   min-max normalised over the sheets (0 for a sheet the lexical index does not
//!   retrieve) and averaged with equal weights. Nothing is fitted to the queries.

use std::path::Path;

use sportello_encoder::{Encoder, cosine};
use sportello_faq::eval::{Metrics, QueryResult, parse_queries};
use sportello_faq::{Matcher, MatcherParams, Synonyms, load_sheets};

/// Share of answerable queries whose best-scored sheet is right.
fn p_at_1(scores: &[Vec<f32>], expected: &[Vec<String>], ids: &[String]) -> f64 {
    let mut right = 0;
    let mut answerable = 0;
    for (s, e) in scores.iter().zip(expected) {
        if e.is_empty() {
            continue;
        }
        answerable += 1;
        let best = (0..s.len())
            .max_by(|&a, &b| s[a].total_cmp(&s[b]))
            .unwrap_or(0);
        if e.contains(&ids[best]) {
            right += 1;
        }
    }
    right as f64 / answerable.max(1) as f64
}

fn min_max(v: &[f32]) -> Vec<f32> {
    let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = (hi - lo).max(1e-9);
    v.iter().map(|x| (x - lo) / span).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [sheets, queries] = args.as_slice() else {
        return Err("usage: semantic_eval SHEETS QUERIES.tsv".into());
    };
    let sheets = load_sheets(Path::new(sheets), &[])?.sheets;
    let queries = parse_queries(&std::fs::read_to_string(queries)?)?;
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/e5-small-it-en.spe5");
    let encoder = Encoder::load(model)?;
    let matcher = Matcher::new(&sheets, &Synonyms::default(), MatcherParams::default());
    let ids: Vec<String> = sheets.iter().map(|s| s.id.clone()).collect();

    let phrasings: Vec<Vec<Vec<f32>>> = sheets
        .iter()
        .map(|s| {
            std::iter::once(&s.title)
                .chain(&s.questions)
                .map(|p| encoder.query(p))
                .collect()
        })
        .collect();
    let answers: Vec<Vec<f32>> = sheets
        .iter()
        .map(|s| encoder.passage(format!("{}\n{}", s.summary, s.body).trim()))
        .collect();

    let (mut by_phrasing, mut by_answer, mut by_both, mut fused) = (vec![], vec![], vec![], vec![]);
    let mut lexical = Vec::new();
    let mut expected = Vec::new();
    for q in &queries {
        let e = encoder.query(&q.query);
        let phr: Vec<f32> = phrasings
            .iter()
            .map(|ps| ps.iter().map(|p| cosine(&e, p)).fold(f32::MIN, f32::max))
            .collect();
        let ans: Vec<f32> = answers.iter().map(|a| cosine(&e, a)).collect();
        let both: Vec<f32> = phr.iter().zip(&ans).map(|(a, b)| a.max(*b)).collect();
        let mut lex = vec![0f32; sheets.len()];
        for (id, features) in matcher.explain(&q.query, sheets.len()) {
            if let Some(i) = ids.iter().position(|x| *x == id) {
                lex[i] = features.score;
            }
        }
        let fuse: Vec<f32> = min_max(&both)
            .iter()
            .zip(min_max(&lex))
            .map(|(a, b)| 0.5 * a + 0.5 * b)
            .collect();
        by_phrasing.push(phr);
        by_answer.push(ans);
        by_both.push(both);
        fused.push(fuse);
        expected.push(q.expected.clone());
        lexical.push(QueryResult {
            query: q.query.clone(),
            expected: q.expected.clone(),
            decision: matcher.decide(&q.query),
            micros: 0,
        });
    }
    let lex = Metrics::compute(&lexical);
    println!(
        "{} sheets, {} queries ({} answerable)",
        sheets.len(),
        queries.len(),
        lex.answerable
    );
    println!("lexical matcher      P@1 {:.3}", lex.p_at_1);
    println!(
        "e5 phrasings         P@1 {:.3}",
        p_at_1(&by_phrasing, &expected, &ids)
    );
    println!(
        "e5 answer            P@1 {:.3}",
        p_at_1(&by_answer, &expected, &ids)
    );
    println!(
        "e5 phrasings+answer  P@1 {:.3}",
        p_at_1(&by_both, &expected, &ids)
    );
    println!(
        "fusion (0.5 / 0.5)   P@1 {:.3}",
        p_at_1(&fused, &expected, &ids)
    );
    Ok(())
}
