//! Telegram updates per second through the whole path: the Bot API double → long polling →
//! intake (SQLite) → policy over the sample sheets → outbox → dispatcher → `sendMessage` on
//! the double. The sending limiter is set high so that it does not pace the run; every update
//! comes from a different chat.
//!
//! `cargo bench -p sportello-bots --bench telegram`

#![allow(missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sportello_bots::telegram::Telegram;
use sportello_core::channel::Channel;
use sportello_core::config::{DispatcherConfig, Secret, TelegramConfig, Texts};
use sportello_core::dispatcher::Dispatcher;
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_doubles::telegram::TelegramDouble;
use sportello_faq::{Matcher, MatcherParams};
use tokio_util::sync::CancellationToken;

/// Updates per measured batch.
const BATCH: u64 = 500;

const TOKEN: &str = "42:bench";

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
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
    _dir: tempfile::TempDir,
    _stop: CancellationToken,
}

async fn rig() -> Rig {
    let double = TelegramDouble::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::connect(&url, 8, Duration::from_secs(30))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let offices = sportello_faq::load_offices(&root().join("config/offices.toml")).unwrap();
    let sheets = sportello_faq::load_sheets(&root().join("config/sheets"), &offices)
        .unwrap()
        .sheets;
    let synonyms = sportello_faq::load_synonyms(&root().join("config/synonyms.toml")).unwrap();
    store.sync_offices(&offices).await.unwrap();
    let matcher = Matcher::new(&sheets, &synonyms, MatcherParams::default());
    let policy = Arc::new(Policy::new(matcher, &offices, Texts::default()));
    let health = Arc::new(Health::new(store.clock()));
    let intake = Arc::new(Intake::new(store.clone(), policy, health.clone()));
    let config = TelegramConfig {
        enabled: true,
        api_url: double.api_url(),
        token: Some(Secret::new(TOKEN.into())),
        poll_timeout_secs: 1,
        rate_global: 1_000_000,
        rate_per_chat: 1_000_000,
        ..TelegramConfig::default()
    };
    let telegram = Arc::new(Telegram::new(&config, &Texts::default()).unwrap());
    intake.register("telegram", telegram.caps());
    let stop = CancellationToken::new();
    tokio::spawn(telegram.clone().run(intake.clone(), stop.clone()));
    let dispatcher = Dispatcher::new(
        store.clone(),
        vec![telegram as Arc<dyn Channel>],
        DispatcherConfig {
            batch: 64,
            ..DispatcherConfig::default()
        },
        intake.outbox_ready(),
        health,
    );
    tokio::spawn(dispatcher.run(stop.clone()));
    Rig {
        double,
        store,
        _dir: dir,
        _stop: stop,
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
