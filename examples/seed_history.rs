//! Fill a database with a large history for the console benchmark: CONVERSATIONS queued
//! conversations of as many Telegram contacts, each with MESSAGES_EACH messages alternating
//! citizen and bot, spread over the last 30 days.
//!
//! `cargo run --release --example seed_history -- DATABASE_URL [CONVERSATIONS] [MESSAGES_EACH]`
//! (defaults 10,000 and 20: 200,000 messages). The schema is migrated first.

#![allow(missing_docs)]

use std::time::Duration;

use sportello_core::store::{Backend, Store};

/// One INSERT … SELECT per table over a numbers source, written for each backend.
fn numbers(backend: Backend, n: i64) -> String {
    match backend {
        Backend::Sqlite => {
            format!("with recursive n(i) as (select 1 union all select i + 1 from n where i < {n})")
        }
        Backend::Postgres => format!("with n(i) as (select generate_series(1, {n})::bigint)"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| {
        anyhow::anyhow!("usage: seed_history DATABASE_URL [CONVERSATIONS] [MESSAGES_EACH]")
    })?;
    let conversations: i64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let each: i64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(20);
    let store = Store::connect(&url, 2, Duration::from_secs(60)).await?;
    store.migrate().await?;
    let backend = store.backend();
    let now = store.now_ms();
    let month = 30 * 24 * 3600 * 1000_i64;
    let start = std::time::Instant::now();
    let mut w = store.begin_write().await?;
    let steps = [
        format!(
            "{} insert into contacts (channel, external_id, display_name, created_at) \
             select 'telegram', 'bench-' || i, 'Cittadino ' || i, {now} - {month} from n",
            numbers(backend, conversations)
        ),
        format!(
            "{} insert into conversations (contact_id, channel, thread, status, opened_at, escalated_at, last_message_at) \
             select k.id, 'telegram', k.external_id, 'queued', {now} - {month} + n.i * 1000, \
             {now} - {month} + n.i * 1000 + 60000, {now} - {month} + n.i * 1000 + 60000 \
             from n join contacts k on k.external_id = 'bench-' || n.i",
            numbers(backend, conversations)
        ),
        format!(
            "{} insert into messages (conversation_id, channel, direction, author, platform_id, text, decision, reason, created_at) \
             select c.id, 'telegram', case when n.i % 2 = 1 then 'in' else 'out' end, \
             case when n.i % 2 = 1 then 'citizen' else 'bot' end, \
             case when n.i % 2 = 1 then 'bench-' || c.id || '-' || n.i end, \
             'Messaggio ' || n.i || ' della conversazione ' || c.id, \
             case when n.i % 2 = 1 then 'handoff' end, case when n.i % 2 = 1 then 'no_match' end, \
             c.opened_at + n.i * 1000 \
             from conversations c cross join n where c.thread like 'bench-%'",
            numbers(backend, each)
        ),
    ];
    for sql in &steps {
        sqlx::query(sql).execute(&mut *w.tx).await?;
    }
    w.commit().await?;
    // The history went into past days: the statistics count them again.
    store.clear_stats_rollup().await?;
    if backend == Backend::Postgres {
        sqlx::query("analyze").execute(store.pool()).await?;
    }
    let messages: i64 = sqlx::query_scalar("select count(*) from messages")
        .fetch_one(store.pool())
        .await?;
    println!(
        "seeded {conversations} queued conversations and {messages} messages in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
