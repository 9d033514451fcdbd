//! Embeds one 20-token question many times, for a profiler, and prints the
//! wall and CPU time per query (CPU time from /proc/self/schedstat, Linux).

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/e5-small-it-en.spe5");
    let encoder = sportello_encoder::Encoder::load(path).expect("model");
    let default =
        "Come si richiede la carta rosa per le famiglie con tre figli a Milano?".to_string();
    let question = std::env::args().nth(1).unwrap_or(default);
    let question = question.as_str();
    println!(
        "{} tokens",
        encoder
            .token_ids(question, sportello_encoder::Kind::Query)
            .len()
            + 2
    );
    let n = 200;
    let (wall, cpu) = (std::time::Instant::now(), cpu_ns());
    for _ in 0..n {
        std::hint::black_box(encoder.query(std::hint::black_box(question)));
    }
    let cpu = (cpu_ns() - cpu) as f64 / 1e6 / f64::from(n);
    println!(
        "wall {:.2} ms, cpu {cpu:.2} ms per query",
        wall.elapsed().as_secs_f64() * 1e3 / f64::from(n)
    );
}
