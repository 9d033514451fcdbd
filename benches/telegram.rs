//! Telegram updates per second through the whole path: the Bot API double → long polling →
//! intake (SQLite) → policy over the sample sheets → outbox → dispatcher → `sendMessage` on
//! the double. The sending limiter is set high so that it does not pace the run; every update
//! comes from a different chat.
//!
//! `cargo bench --bench telegram`

#![allow(missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sportello::app::{App, Options, Running};
use sportello_core::config::Config;
use sportello_core::store::Store;
use sportello_doubles::telegram::TelegramDouble;

/// Updates per measured batch.
const BATCH: u64 = 500;

const TOKEN: &str = "42:bench";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn queries() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("faq/eval/sample-queries.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains('\t'))
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

struct Rig {
    double: TelegramDouble,
    store: Store,
    _running: Running,
    _dir: tempfile::TempDir,
}

/// The service as `serve` builds it, on SQLite, with its Telegram channel on the double and
/// the sending limiter set high.
async fn rig() -> Rig {
    let double = TelegramDouble::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let api = double.api_url();
    let table: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("config/sportello.toml")).unwrap())
            .unwrap();
    let config = Config::from_table(
        table,
        [
            ("SPORTELLO_DATABASE__URL", url.as_str()),
            ("SPORTELLO_WEBCHAT__ENABLED", "false"),
            ("SPORTELLO_TELEGRAM__ENABLED", "true"),
            ("SPORTELLO_TELEGRAM__TOKEN", TOKEN),
            ("SPORTELLO_TELEGRAM__API_URL", api.as_str()),
            ("SPORTELLO_TELEGRAM__POLL_TIMEOUT_SECS", "1"),
            ("SPORTELLO_TELEGRAM__RATE_GLOBAL", "1000000"),
            ("SPORTELLO_TELEGRAM__RATE_PER_CHAT", "1000000"),
            ("SPORTELLO_DISPATCHER__BATCH", "64"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = Options {
        admin_password: Some("bench-admin-password".into()),
    };
    let running = App::build_with(config, listener, options)
        .await
        .unwrap()
        .spawn();
    Rig {
        double,
        store: running.store().clone(),
        _running: running,
        _dir: dir,
    }
}

async fn sent(store: &Store) -> i64 {
    sqlx::query_scalar("select count(*) from outbox where state = 'sent'")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rig = rt.block_on(rig());
    let queries = queries();
    let mut chat = 1_000_000i64;
    let mut group = c.benchmark_group("telegram");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("updates_end_to_end_sqlite", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let before = sent(&rig.store).await;
                    let start = Instant::now();
                    for i in 0..BATCH as usize {
                        chat += 1;
                        rig.double
                            .push_text(chat, "Bench", &queries[i % queries.len()]);
                    }
                    while sent(&rig.store).await < before + BATCH as i64 {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    total += start.elapsed();
                }
                total
            })
        })
    });
    group.finish();
    assert!(rig.double.violations().is_empty());
}

criterion_group!(benches, bench);
criterion_main!(benches);
