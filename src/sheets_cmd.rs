//! `ask`, `eval` and `sheets check|import|export`.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use sportello_core::channel::ChannelCaps;
use sportello_core::config::Config;
use sportello_core::policy::Policy;
use sportello_faq::eval::{Metrics, QueryResult, parse_queries};
use sportello_faq::semantic::Vectors;
use sportello_faq::{Matcher, Office, Sheet};

use crate::setup;

/// The matcher `ask` and `eval` use, over `--sheets PATH` in memory, else the store's
/// published sheets (with the embeddings the store holds), else (a store never served)
/// those of `sheets.path`, read without writing them.
async fn matcher_for(
    config: &Config,
    path: Option<&Path>,
    offices: &[Office],
) -> anyhow::Result<Matcher> {
    let encoder = setup::encoder(config)?;
    let mut known = Vectors::new();
    let sheets = match path {
        Some(path) => setup::load_sheets(path, offices)?,
        None => {
            let store = setup::open_store(config).await?;
            let sheets = store.published_sheets().await?;
            if let Some(e) = &encoder {
                known = store
                    .embeddings(e.encoder().id())
                    .await?
                    .into_iter()
                    .map(|(k, v)| (k, v.into()))
                    .collect();
            }
            store.close().await;
            if sheets.is_empty() {
                setup::load_sheets(&config.sheets.path, offices).with_context(|| {
                    format!(
                        "the store has no sheets and {} cannot be read",
                        config.sheets.path.display()
                    )
                })?
            } else {
                sheets
            }
        }
    };
    setup::matcher(config, &sheets, encoder, &known)
}

/// `sportello ask`.
pub async fn ask(
    config: &Config,
    sheets: Option<&Path>,
    json: bool,
    text: &str,
) -> anyhow::Result<u8> {
    let offices = setup::offices(config)?;
    let matcher = matcher_for(config, sheets, &offices).await?;
    let start = Instant::now();
    let decision = matcher.decide(text);
    let micros = start.elapsed().as_micros() as u64;
    let policy = Policy::new(matcher, &offices, config.texts.clone());
    let outcome = policy.respond(decision.clone(), ChannelCaps::default());
    let reply = outcome.reply.map(|r| r.text_for("—"));
    let result = QueryResult {
        query: text.to_string(),
        expected: Vec::new(),
        decision,
        micros,
    };
    if json {
        let mut value = result.to_json();
        value["reason"] = json!(outcome.reason);
        value["confidences"] = json!(
            result
                .decision
                .candidates
                .iter()
                .map(|c| c.confidence)
                .collect::<Vec<_>>()
        );
        value["reply"] = json!(reply);
        println!("{value}");
    } else {
        println!(
            "decision:   {} ({})",
            result.decision.kind.as_str(),
            outcome.reason
        );
        println!("confidence: {:.3}", result.decision.confidence);
        for c in result.decision.candidates.iter().take(5) {
            println!("  {:.3}  {}", c.confidence, c.sheet_id);
        }
        if let Some(reply) = reply {
            println!("\n{reply}");
        }
    }
    Ok(0)
}

/// `sportello eval`.
pub async fn eval(
    config: &Config,
    sheets: Option<&Path>,
    queries: &Path,
    output: Option<&Path>,
    json: bool,
) -> anyhow::Result<u8> {
    let text = std::fs::read_to_string(queries)
        .with_context(|| format!("cannot read {}", queries.display()))?;
    let queries = parse_queries(&text).with_context(|| format!("in {}", queries.display()))?;
    let matcher = matcher_for(config, sheets, &setup::offices(config)?).await?;
    let mut results = Vec::with_capacity(queries.len());
    for q in queries {
        let start = Instant::now();
        let decision = matcher.decide(&q.query);
        let micros = start.elapsed().as_micros() as u64;
        results.push(QueryResult {
            query: q.query,
            expected: q.expected,
            decision,
            micros,
        });
    }
    if let Some(path) = output {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        );
        for r in &results {
            writeln!(out, "{}", r.to_json())?;
        }
        out.flush()?;
    }
    let m = Metrics::compute(&results);
    if json {
        println!("{}", metrics_json(&m));
    } else {
        println!("{m}");
    }
    Ok(0)
}

fn metrics_json(m: &Metrics) -> serde_json::Value {
    json!({
        "n": m.n,
        "answerable": m.answerable,
        "p_at_1": m.p_at_1,
        "mrr": m.mrr,
        "c_at_1": m.c_at_1,
        "answered": m.answered,
        "answer_precision": m.answer_precision,
        "wrong_answer_rate": m.wrong_answer_rate,
        "abstention": m.abstention,
        "correct_answer_share": m.correct_answer_share,
        "clarify_hit_share": m.clarify_hit_share,
        "latency_median_us": m.latency_median_us,
        "latency_p99_us": m.latency_p99_us,
    })
}

/// `sportello sheets check`: every problem with file and line; exit 1 when there is any.
pub fn check(config: &Config, path: &Path) -> anyhow::Result<u8> {
    let offices = setup::offices(config)?;
    match sportello_faq::load_sheets(path, &offices) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                println!("warning: {w}");
            }
            println!("{} sheet(s) OK in {}", loaded.sheets.len(), path.display());
            Ok(0)
        }
        Err(problems) => {
            for p in &problems.0 {
                println!("{p}");
            }
            println!("{} problem(s) in {}", problems.0.len(), path.display());
            Ok(1)
        }
    }
}

/// `sportello sheets import`.
pub async fn import(config: &Config, path: &Path) -> anyhow::Result<u8> {
    let offices = setup::offices(config)?;
    let sheets = setup::load_sheets(path, &offices)?;
    let store = setup::open_store(config).await?;
    store.sync_offices(&offices).await?;
    let written = store.save_sheets(&sheets, "import").await?;
    store.close().await;
    println!(
        "{} sheet(s) read, {written} new or changed saved",
        sheets.len()
    );
    Ok(0)
}

/// `sportello sheets export`: a `.csv` path gets CSV, anything else a folder of TOML files.
pub async fn export(config: &Config, path: &Path) -> anyhow::Result<u8> {
    let store = setup::open_store(config).await?;
    let sheets: Vec<Sheet> = store.sheets().await?.into_iter().map(|s| s.sheet).collect();
    store.close().await;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        sportello_faq::export_csv(&sheets, file)?;
    } else {
        sportello_faq::write_toml_dir(&sheets, path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{} sheet(s) exported to {}", sheets.len(), path.display());
    Ok(0)
}
