//! Intake throughput: messages per second from `Inbound` to a committed outbox row, with the
//! real policy over the sample sheets, on SQLite and PostgreSQL, with 1 and 16 senders.
//!
//! `cargo bench -p sportello-core --bench intake` (`BENCH_SEMANTIC=1`: with the sentence
//! encoder; the 451 sample questions repeat, so after the first round their embeddings come
//! from the cache, as a question asked again does). PostgreSQL is `SPORTELLO_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`); a database is created for the run.

#![allow(missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sportello_core::config::Texts;
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::model::Inbound;
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_faq::{Matcher, MatcherParams};
use sqlx::Connection;

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

async fn intake(url: &str) -> Arc<Intake> {
    let store = Store::connect(url, 16, Duration::from_secs(30))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let offices = sportello_faq::load_offices(&root().join("config/offices.toml")).unwrap();
    let sheets = sportello_faq::load_sheets(&root().join("config/sheets"), &offices)
        .unwrap()
        .sheets;
    let synonyms = sportello_faq::load_synonyms(&root().join("config/synonyms.toml")).unwrap();
    store.sync_offices(&offices).await.unwrap();
    // `BENCH_SEMANTIC=1`: with the sentence encoder, as `serve` runs by default.
    let matcher = if std::env::var("BENCH_SEMANTIC").is_ok_and(|v| v == "1") {
        let model = root().join("models/e5-small-it-en.spe5");
        let encoder = sportello_encoder::CachedEncoder::shared(&model).unwrap();
        Matcher::with_semantic(
            &sheets,
            &synonyms,
            MatcherParams::default(),
            encoder,
            &Default::default(),
        )
    } else {
        Matcher::new(&sheets, &synonyms, MatcherParams::default())
    };
    let policy = Arc::new(Policy::new(matcher, &offices, Texts::default()));
    Arc::new(Intake::new(
        store.clone(),
        policy,
        Arc::new(Health::new(store.clock())),
    ))
}

async fn postgres_url() -> (String, String) {
    let admin = std::env::var("SPORTELLO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("sportello_bench_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    (
        format!("{}/{name}", admin.rsplit_once('/').unwrap().0),
        admin,
    )
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pg_url, admin) = rt.block_on(postgres_url());
    let backends = [
        (
            "sqlite",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
        ),
        ("postgres", pg_url),
    ];
    let queries = Arc::new(queries());
    let next = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group("intake");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for (backend, url) in &backends {
        let intake = rt.block_on(intake(url));
        for senders in [1u64, 16] {
            let (intake, queries, next) = (intake.clone(), queries.clone(), next.clone());
            group.bench_function(format!("{backend}/{senders}-senders"), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let (intake, queries, next) = (intake.clone(), queries.clone(), next.clone());
                    async move {
                        let start = Instant::now();
                        let mut tasks = Vec::new();
                        for s in 0..senders {
                            let (intake, queries, next) =
                                (intake.clone(), queries.clone(), next.clone());
                            let share = iters / senders + u64::from(s < iters % senders);
                            tasks.push(tokio::spawn(async move {
                                for _ in 0..share {
                                    let n = next.fetch_add(1, Ordering::Relaxed);
                                    let citizen = format!("c{}", n % 5_000);
                                    let q = &queries[(n as usize) % queries.len()];
                                    intake
                                        .receive(Inbound::text(
                                            "bench",
                                            format!("m{n}"),
                                            &citizen,
                                            &citizen,
                                            q.as_str(),
                                        ))
                                        .await
                                        .unwrap();
                                }
                            }));
                        }
                        for t in tasks {
                            t.await.unwrap();
                        }
                        start.elapsed()
                    }
                });
            });
        }
        rt.block_on(intake.store().close());
    }
    group.finish();
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        let name = format!("sportello_bench_{}", std::process::id());
        sqlx::query(&format!("drop database if exists {name} with (force)"))
            .execute(&mut conn)
            .await
            .unwrap();
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
