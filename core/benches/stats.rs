//! `/stats` over a year of history: one million citizens' messages (333,334 conversations, a
//! quarter handed to operators, 👍/👎 on 60% of answers, ratings, 1% failed deliveries),
//! generated in SQL, then the report computed for the whole year by week and for the last 30
//! days by day, on SQLite and PostgreSQL. Prints the median and the spread of 11 runs, and
//! the first run apart (on the rolled-up store it writes the rollup), once with every day
//! counted from the messages (a store whose "today" is the year's first day) and once with
//! the closed days read from the daily rollup (today is the year's last day).
//!
//! `cargo bench -p sportello-core --bench stats`. `SPORTELLO_BENCH_MESSAGES` changes the size;
//! PostgreSQL is `SPORTELLO_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! where a database is created for the run and dropped after.

#![allow(missing_docs)]

use std::time::{Duration, Instant};

use sportello_core::calendar::{OfficeConfig, days_from_civil};
use sportello_core::clock::Clock;
use sportello_core::stats::{Bucket, StatsQuery, compute};
use sportello_core::store::{Backend, Store};
use sqlx::Connection;

const DAY_MS: i64 = 86_400_000;

fn generate(backend: Backend, messages: i64, start: i64) -> Vec<String> {
    let conversations = (messages + 2) / 3;
    let step = 365 * DAY_MS / conversations;
    let series = |n: i64| match backend {
        Backend::Sqlite => format!(
            "with recursive s(i) as (select 0 union all select i + 1 from s where i < {}) ",
            n - 1
        ),
        Backend::Postgres => String::new(),
    };
    let from = |n: i64| match backend {
        Backend::Sqlite => "from s".to_string(),
        Backend::Postgres => format!("from generate_series(0::bigint, {}) as s(i)", n - 1),
    };
    vec![
        format!(
            "insert into contacts (channel, external_id, created_at) {} select 'telegram', 'c' || i, 0 {}",
            series(1000),
            from(1000)
        ),
        format!(
            "insert into conversations (contact_id, channel, thread, status, opened_at, escalated_at, \
             first_response_at, resolved_at, last_message_at) {} \
             select i % 1000 + 1, case i % 3 when 0 then 'telegram' when 1 then 'email' else 'x' end, \
             't' || i, 'resolved', {start} + i * {step}, \
             case when i % 4 = 0 then {start} + i * {step} + 60000 end, \
             case when i % 4 = 0 then {start} + i * {step} + 60000 + (i % 120) * 3600000 end, \
             {start} + i * {step} + 60000 + (i % 600) * 3600000, {start} + i * {step} {}",
            series(conversations),
            from(conversations)
        ),
        format!(
            "insert into messages (conversation_id, channel, direction, author, platform_id, text, \
             decision, reason, sheet_id, created_at) {} \
             select i / 3 + 1, case (i / 3) % 3 when 0 then 'telegram' when 1 then 'email' else 'x' end, \
             'in', 'citizen', 'p' || i, 'domanda', \
             case when (i * 7) % 10 < 5 then 'answer' when (i * 7) % 10 = 5 then 'clarify' \
                  when (i * 7) % 10 = 6 then 'smalltalk' else 'handoff' end, \
             case when (i * 7) % 10 = 9 then 'with_operator' when (i * 7) % 10 < 5 then 'matched' else 'no_match' end, \
             case when (i * 7) % 10 < 5 then 'sheet-' || (i % 50) end, \
             {start} + (i / 3) * {step} + (i % 3) * 60000 {}",
            series(messages),
            from(messages)
        ),
        "insert into feedback (channel, platform_id, conversation_id, message_id, sheet_id, kind, created_at) \
         select channel, 'f' || id, conversation_id, id, sheet_id, \
         case when id % 5 = 0 then 'not_useful' else 'useful' end, created_at + 1000 \
         from messages where decision = 'answer' and id % 5 < 3"
            .into(),
        "insert into feedback (channel, platform_id, conversation_id, kind, score, created_at) \
         select channel, 'r' || id, id, 'rating', id % 5 + 1, resolved_at \
         from conversations where id % 8 = 1"
            .into(),
        "insert into outbox (message_id, conversation_id, channel, recipient, thread, text, state, \
         due_at, last_error, created_at) \
         select id, conversation_id, channel, 'c', 't', 'risposta', \
         case when id % 100 = 0 then 'failed' else 'sent' end, created_at, \
         case when id % 100 = 0 then 'blocked by the user' end, created_at \
         from messages where id % 20 = 0"
            .into(),
        "analyze".into(),
    ]
}

async fn load(store: &Store, messages: i64, start: i64) {
    let t = Instant::now();
    for sql in generate(store.backend(), messages, start) {
        sqlx::raw_sql(&sql).execute(store.pool()).await.unwrap();
    }
    println!(
        "  generated {messages} messages in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

async fn measure(store: &Store, label: &str, q: &StatsQuery) {
    let calendar = OfficeConfig::default().calendar().unwrap();
    let mut times: Vec<Duration> = Vec::new();
    let mut messages = 0;
    for _ in 0..11 {
        let t = Instant::now();
        let r = compute(store, &calendar, q).await.unwrap();
        times.push(t.elapsed());
        messages = r.totals.messages;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let first = times[0];
    times.sort();
    println!(
        "  {label}: median {:.0} ms (min {:.0}, max {:.0}; first run {:.0}) over {messages} messages",
        ms(times[5]),
        ms(times[0]),
        ms(times[10]),
        ms(first)
    );
}

async fn run(url: &str, name: &str, messages: i64) {
    println!("{name}");
    let first = days_from_civil(2025, 11, 29);
    let start = first * DAY_MS;
    let connect = |now_ms: i64| async move {
        Store::connect_with_clock(url, 4, Duration::from_secs(60), Clock::starting_at(now_ms))
            .await
            .unwrap()
    };
    // "Today" is the year's last day, at noon: every earlier day is closed and rolled up on
    // the first request; the baseline lives on the year's first day, when no day is closed,
    // and counts everything from the messages as before the rollup.
    let store = connect((first + 364) * DAY_MS + 12 * 3_600_000).await;
    let baseline = connect(start).await;
    store.migrate().await.unwrap();
    load(&store, messages, start).await;
    let year = StatsQuery {
        from_day: first,
        to_day: first + 364,
        bucket: Bucket::Week,
        channel: None,
    };
    let month = StatsQuery {
        from_day: first + 335,
        to_day: first + 364,
        bucket: Bucket::Day,
        channel: None,
    };
    let email = StatsQuery {
        channel: Some("email".into()),
        ..year.clone()
    };
    for (label, q) in [
        ("one year by week, all channels", &year),
        ("last 30 days by day", &month),
        ("one year by week, email only", &email),
    ] {
        measure(&baseline, &format!("{label}, all counted live"), q).await;
        measure(&store, &format!("{label}, closed days rolled up"), q).await;
    }
    baseline.close().await;
    store.close().await;
}

fn main() {
    let messages: i64 = std::env::var("SPORTELLO_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("stats.db").display());
        run(&url, "SQLite", messages).await;

        let admin = std::env::var("SPORTELLO_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("sportello_bench_stats_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        run(&format!("{base}/{name}"), "PostgreSQL", messages).await;
        sqlx::query(&format!("drop database {name} with (force)"))
            .execute(&mut conn)
            .await
            .unwrap();
    });
}
