//! Encoder speed on one core: a 20-token question, a sheet-sized passage and
//! the tokeniser alone. The reference engine is timed on the same texts by
//! `scripts/bench-reference-encoder`.
//!
//! `nice -n 10 taskset -c 0 cargo bench -p sportello-encoder --bench encode`

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sportello_encoder::{Encoder, Kind};

/// 20 tokens with the `query: ` prefix, `<s>` and `</s>` (as the reference counts).
const QUESTION: &str = "Come si richiede la carta rosa per le famiglie con tre figli a Milano?";
const PASSAGE: &str = "Lo sportello URP di Via Vivaio 1 a Milano è aperto al pubblico dal lunedì al giovedì dalle 9:00 alle 12:30 e dalle 14:00 alle 16:00, il venerdì solo la mattina dalle 9:00 alle 12:30. Il numero verde risponde negli stessi orari.";

fn encode(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/e5-small-it-en.spe5");
    let encoder = Encoder::load(path).expect("model");
    assert_eq!(encoder.token_ids(QUESTION, Kind::Query).len() + 2, 20);
    c.bench_function("query_20_tokens", |b| {
        b.iter(|| encoder.query(black_box(QUESTION)))
    });
    c.bench_function("passage_52_tokens", |b| {
        b.iter(|| encoder.passage(black_box(PASSAGE)))
    });
    c.bench_function("tokenize_query", |b| {
        b.iter(|| encoder.token_ids(black_box(QUESTION), Kind::Query))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60);
    targets = encode
}
criterion_main!(benches);
