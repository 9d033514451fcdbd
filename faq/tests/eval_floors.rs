//! The matcher's figures on labelled query sets must not fall below measured floors.
//!
//! Floors sit a little below the figures measured when they were set (default
//! `MatcherParams`, answer threshold 0.85), recorded beside each. They are floors, not
//! aspirations: raise them when the matcher improves. Latency is measured by the bench,
//! not here.

use std::path::{Path, PathBuf};

use sportello_faq::eval::{Metrics, QueryResult, parse_queries};
use sportello_faq::{Matcher, MatcherParams, Synonyms, load_offices, load_sheets, load_synonyms};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn unlockpa() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/eval/unlockpa"
    ))
}

fn run(sheets: &Path, queries: &Path, offices: Option<&Path>, synonyms: Option<&Path>) -> Metrics {
    let offices = offices
        .map(|p| load_offices(p).unwrap())
        .unwrap_or_default();
    let sheets = load_sheets(sheets, &offices).unwrap().sheets;
    let synonyms = synonyms.map_or_else(Synonyms::default, |p| load_synonyms(p).unwrap());
    let matcher = Matcher::new(&sheets, &synonyms, MatcherParams::default());
    let queries = parse_queries(&std::fs::read_to_string(queries).unwrap()).unwrap();
    let results: Vec<QueryResult> = queries
        .into_iter()
        .map(|q| QueryResult {
            decision: matcher.decide(&q.query),
            query: q.query,
            expected: q.expected,
            micros: 0,
        })
        .collect();
    let metrics = Metrics::compute(&results);
    println!("{metrics}");
    metrics
}

struct Floors {
    p_at_1: f64,
    mrr: f64,
    answer_precision: f64,
    max_wrong_answer_rate: f64,
    correct_answer_share: f64,
}

fn assert_floors(m: &Metrics, f: Floors) {
    assert!(m.p_at_1 >= f.p_at_1, "P@1 {:.3} < {}", m.p_at_1, f.p_at_1);
    assert!(m.mrr >= f.mrr, "MRR {:.3} < {}", m.mrr, f.mrr);
    assert!(
        m.answer_precision >= f.answer_precision,
        "auto-answer precision {:.3} < {}",
        m.answer_precision,
        f.answer_precision
    );
    assert!(
        m.wrong_answer_rate <= f.max_wrong_answer_rate,
        "wrong-answer rate {:.3} > {}",
        m.wrong_answer_rate,
        f.max_wrong_answer_rate
    );
    assert!(
        m.correct_answer_share >= f.correct_answer_share,
        "right auto-answers {:.3} < {}",
        m.correct_answer_share,
        f.correct_answer_share
    );
}

#[test]
fn unlockpa_without_phrasings_stays_above_its_floors() {
    let m = run(
        &unlockpa().join("sheets.csv"),
        &unlockpa().join("queries.tsv"),
        None,
        None,
    );
    // Measured: P@1 0.625, MRR 0.706, precision 0.919, wrong 0.010, right share 0.150.
    assert_floors(
        &m,
        Floors {
            p_at_1: 0.61,
            mrr: 0.69,
            answer_precision: 0.90,
            max_wrong_answer_rate: 0.02,
            correct_answer_share: 0.14,
        },
    );
}

#[test]
fn unlockpa_with_phrasings_stays_above_its_floors() {
    let m = run(
        &unlockpa().join("sheets-fewshot.csv"),
        &unlockpa().join("queries.tsv"),
        None,
        None,
    );
    // Measured: P@1 0.820, MRR 0.870, precision 0.973, wrong 0.009, right share 0.430.
    assert_floors(
        &m,
        Floors {
            p_at_1: 0.80,
            mrr: 0.85,
            answer_precision: 0.955,
            max_wrong_answer_rate: 0.02,
            correct_answer_share: 0.41,
        },
    );
}

#[test]
fn the_sample_sheets_stay_above_their_floors() {
    let config = workspace().join("config");
    let m = run(
        &config.join("sheets"),
        &workspace().join("faq/eval/sample-queries.tsv"),
        Some(&config.join("offices.toml")),
        Some(&config.join("synonyms.toml")),
    );
    // Measured: P@1 0.877, MRR 0.915, precision 0.962, wrong 0.011, right share 0.349.
    assert_floors(
        &m,
        Floors {
            p_at_1: 0.85,
            mrr: 0.89,
            answer_precision: 0.94,
            max_wrong_answer_rate: 0.025,
            correct_answer_share: 0.33,
        },
    );
}
