//! Encoder speed on one core: a 20-token question, a 52-token passage and the
//! tokeniser alone, in wall time and in the thread's CPU time (which a busy
//! machine does not inflate). The reference engine is timed on the same texts
//! by `scripts/bench-reference-encoder`.
//!
//! `nice -n 10 taskset -c 0 cargo bench -p sportello-encoder --bench encode`

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sportello_encoder::{Encoder, Kind};

/// 20 tokens with the `query: ` prefix, `<s>` and `</s>` (as the reference counts).
const QUESTION: &str = "Come si richiede la carta rosa per le famiglie con tre figli a Milano?";
const PASSAGE: &str = "Lo sportello URP di Via Vivaio 1 a Milano è aperto al pubblico dal lunedì al giovedì dalle 9:00 alle 12:30 e dalle 14:00 alle 16:00, il venerdì solo la mattina dalle 9:00 alle 12:30. Il numero verde risponde negli stessi orari.";

/// CPU time of the benchmarking thread.
struct CpuTime;

impl Measurement for CpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Milliseconds
    }
}

/// Shows nanoseconds as milliseconds.
struct Milliseconds;

impl ValueFormatter for Milliseconds {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v /= 1e6);
        "ms (CPU)"
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        _throughput: &Throughput,
        _values: &mut [f64],
    ) -> &'static str {
        "ns (CPU)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn model() -> Encoder {
    let encoder = Encoder::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/e5-small-it-en.spe5"
    ))
    .expect("model");
    assert_eq!(encoder.token_ids(QUESTION, Kind::Query).len() + 2, 20);
    encoder
}

fn wall(c: &mut Criterion) {
    let encoder = model();
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

fn cpu(c: &mut Criterion<CpuTime>) {
    let encoder = model();
    c.bench_function("cpu_query_20_tokens", |b| {
        b.iter(|| encoder.query(black_box(QUESTION)))
    });
    c.bench_function("cpu_passage_52_tokens", |b| {
        b.iter(|| encoder.passage(black_box(PASSAGE)))
    });
}

criterion_group! {
    name = wall_time;
    config = Criterion::default().sample_size(60);
    targets = wall
}
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(CpuTime).sample_size(60);
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
