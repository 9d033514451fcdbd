//! Run the matcher over labelled queries and print the figures.
//!
//! `cargo run --release -p sportello-faq --example eval -- SHEETS QUERIES.tsv [SYNONYMS.toml]`
//!
//! SHEETS is a folder of TOML sheets or a CSV file. Set `EVAL_ERRORS=1` to list the
//! wrong auto-answers, `EVAL_MISSES=1` the answerable queries ranked wrong, `EVAL_DUMP=1` every decision
//! (as `eval --output` writes it, without timings), and
//! `EVAL_ANSWER` / `EVAL_CLARIFY` to try other thresholds, `EVAL_NO_LEXICON=1` to measure
//! without the built-in lexicon.

use std::path::Path;
use std::time::Instant;

use sportello_faq::eval::{Metrics, QueryResult, parse_queries};
use sportello_faq::{Matcher, MatcherParams, Synonyms, load_sheets, load_synonyms};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [sheets, queries, rest @ ..] = args.as_slice() else {
        return Err("usage: eval SHEETS QUERIES.tsv [SYNONYMS.toml]".into());
    };
    let loaded = load_sheets(Path::new(sheets), &[]).or_else(|_| {
        // Sample sheets name offices: load them with every office they use.
        let offices = Path::new(sheets).with_file_name("offices.toml");
        let offices = sportello_faq::load_offices(&offices)?;
        load_sheets(Path::new(sheets), &offices)
    })?;
    let synonyms = match rest.first() {
        Some(p) => load_synonyms(Path::new(p))?,
        None => Synonyms::default(),
    };
    let started = Instant::now();
    let mut params = MatcherParams::default();
    if let Some(t) = std::env::var("EVAL_ANSWER")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        params.answer_threshold = t;
    }
    if std::env::var("EVAL_NO_LEXICON").is_ok() {
        params.builtin_lexicon = false;
    }
    if let Some(t) = std::env::var("EVAL_CLARIFY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        params.clarify_threshold = t;
    }
    let matcher = Matcher::new(&loaded.sheets, &synonyms, params);
    eprintln!(
        "{} sheets indexed in {:?}",
        matcher.len(),
        started.elapsed()
    );
    let queries = parse_queries(&std::fs::read_to_string(queries)?)?;
    let show_errors = std::env::var("EVAL_ERRORS").is_ok();
    let mut results = Vec::new();
    for q in queries {
        let t = Instant::now();
        let decision = matcher.decide(&q.query);
        let micros = t.elapsed().as_micros() as u64;
        let result = QueryResult {
            query: q.query,
            expected: q.expected,
            decision,
            micros,
        };
        if std::env::var("EVAL_MISSES").is_ok()
            && !result.expected.is_empty()
            && !result.top_is_right()
        {
            println!(
                "MISS {:?} -> {:?} (expected {:?})",
                result.query,
                result.top(),
                result.expected
            );
        }
        if show_errors && result.auto_answered() && !result.top_is_right() {
            println!(
                "WRONG {:.2} {:?} -> {:?} (expected {:?})",
                result.decision.confidence,
                result.query,
                result.top(),
                result.expected
            );
        }
        if std::env::var("EVAL_DUMP").is_ok() {
            let mut line = result.to_json();
            line["micros"] = serde_json::Value::Null;
            println!("{line}");
        }
        results.push(result);
    }
    print!("{}", Metrics::compute(&results));
    Ok(())
}
