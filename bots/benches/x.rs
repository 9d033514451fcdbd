//! X mentions per second from the double to the committed outbox: the X API double → mentions
//! polling (pages of 100, oldest first) → intake (SQLite) → policy over the sample sheets →
//! outbox row committed. The clock starts when the poll that finds the batch reaches the
//! double, so the wait for the next poll (`x.poll_secs`) is not counted; every mention comes
//! from a different citizen. Sending is not part of the figure (X allows far fewer posts).
//!
//! `cargo bench -p sportello-bots --bench x`

#![allow(missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sportello_bots::x::X;
use sportello_core::channel::Channel;
use sportello_core::config::{Secret, Texts, XConfig};
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_doubles::x::{ACCOUNT_ID, Endpoint, XDouble};
use sportello_faq::{Matcher, MatcherParams};
use tokio_util::sync::CancellationToken;

/// Mentions per measured batch.
const BATCH: u64 = 1000;

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
    double: XDouble,
    store: Store,
    _dir: tempfile::TempDir,
    _stop: CancellationToken,
}

async fn rig() -> Rig {
    let double = XDouble::start("bench-app", None).await;
    double.set_rate_limit(Endpoint::Mentions, 1_000_000, 900);
    double.set_rate_limit(Endpoint::DmEvents, 1_000_000, 900);
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
    let intake = Arc::new(Intake::new(store.clone(), policy, health));
    let config = XConfig {
        enabled: true,
        api_url: double.api_url(),
        user_id: ACCOUNT_ID.into(),
        poll_secs: 1,
        client_id: "bench-app".into(),
        refresh_token: Some(Secret::new(double.issue_refresh_token())),
        ..XConfig::default()
    };
    let x = Arc::new(X::new(&config).unwrap());
    intake.register("x", x.caps());
    let stop = CancellationToken::new();
    tokio::spawn(x.run(intake.clone(), stop.clone()));
    // Wait for the start point: only mentions after it are read.
    while !store
        .cursor("x")
        .await
        .unwrap()
        .is_some_and(|c| c.contains("d:"))
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Rig {
        double,
        store,
        _dir: dir,
        _stop: stop,
    }
}

async fn committed(store: &Store) -> i64 {
    sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

fn mention_polls(double: &XDouble) -> usize {
    double
        .requests()
        .iter()
        .filter(|r| r.endpoint == Endpoint::Mentions)
        .count()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rig = rt.block_on(rig());
    let queries = queries();
    let mut citizen = 5_000_000u64;
    let mut group = c.benchmark_group("x");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("mentions_to_committed_outbox_sqlite", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let before = committed(&rig.store).await;
                    for i in 0..BATCH as usize {
                        citizen += 1;
                        let id = citizen.to_string();
                        rig.double
                            .add_user(&id, &format!("c{citizen}"), "Bench", false);
                        rig.double.mention(&id, &queries[i % queries.len()]);
                    }
                    let polls = mention_polls(&rig.double);
                    while mention_polls(&rig.double) == polls {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let start = Instant::now();
                    while committed(&rig.store).await < before + BATCH as i64 {
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
