//! Load time, time per question (wall and CPU, one thread) and resident
//! memory with the model loaded, on Linux.
//!
//! `cargo run --release -p sportello-encoder --example footprint [-- "question"]`

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| {
            v.split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
        })
        .unwrap_or(0.0);
    kib / 1024.0
}

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/e5-small-it-en.spe5");
    let before = rss_mib();
    let start = std::time::Instant::now();
    let encoder = sportello_encoder::Encoder::load(path).expect("model");
    println!(
        "load {:.0} ms, model {}",
        start.elapsed().as_secs_f64() * 1e3,
        encoder.id()
    );
    let default =
        "Come si richiede la carta rosa per le famiglie con tre figli a Milano?".to_string();
    let question = std::env::args().nth(1).unwrap_or(default);
    let tokens = encoder
        .token_ids(&question, sportello_encoder::Kind::Query)
        .len()
        + 2;
    let n = if tokens > 100 { 10 } else { 200 };
    let mut walls = Vec::with_capacity(n);
    let cpu = cpu_ns();
    for _ in 0..n {
        let t = std::time::Instant::now();
        std::hint::black_box(encoder.query(std::hint::black_box(&question)));
        walls.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let cpu = (cpu_ns() - cpu) as f64 / 1e6 / n as f64;
    walls.sort_by(f64::total_cmp);
    println!(
        "{tokens} tokens: median {:.2} ms wall, {cpu:.2} ms CPU per query",
        walls[n / 2]
    );
    println!(
        "resident memory: {before:.1} MiB before loading, {:.1} MiB idle with the model loaded",
        rss_mib()
    );
}
