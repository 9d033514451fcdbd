//! Several `serve` instances on one PostgreSQL: one Telegram poller at a time, also when the
//! poller's lock dies with its database connection (what a PostgreSQL restart does).

use std::time::{Duration, Instant};

use sportello_core::testing::TestDb;
use sportello_doubles::telegram::TelegramDouble;
use sportello_testkit::served::Runs;
use sqlx::Connection;

const TOKEN: &str = "123456:TEST-token-never-logged";
const PATIENCE: Duration = Duration::from_secs(60);

/// Wait until `check` holds, polling.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start(runs: &mut Runs, double: &TelegramDouble) {
    runs.start(
        env!("CARGO_BIN_EXE_sportello"),
        &[
            ("SPORTELLO_TELEGRAM__ENABLED", "true".into()),
            ("SPORTELLO_TELEGRAM__TOKEN", TOKEN.into()),
            ("SPORTELLO_TELEGRAM__API_URL", double.api_url()),
            ("SPORTELLO_TELEGRAM__POLL_TIMEOUT_SECS", "2".into()),
        ],
    )
    .await;
}

/// Inbound Telegram messages stored, per chat.
async fn inbound_per_chat(db: &TestDb) -> Vec<(String, i64)> {
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query_as(
        "select c.thread, count(*) from messages m join conversations c on c.id = m.conversation_id \
         where m.channel = 'telegram' and m.direction = 'in' group by c.thread order by c.thread",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_poller_whose_lock_died_with_its_connection_stops_before_another_polls() {
    let db = TestDb::postgres().await;
    let double = TelegramDouble::start(TOKEN).await;
    let mut a = Runs::on(tempfile::tempdir().unwrap(), db.url.clone());
    let mut b = Runs::on(tempfile::tempdir().unwrap(), db.url.clone());
    start(&mut a, &double).await;
    eventually("the first instance polls", || async {
        a.logs().contains("telegram long polling")
    })
    .await;
    start(&mut b, &double).await;

    let chats: Vec<i64> = (1..=20).map(|n| 7000 + n).collect();
    for &chat in &chats[..10] {
        double.push_text(chat, "Anna", "come richiedo la pink card");
    }
    for &chat in &chats[..10] {
        assert!(
            !double.wait_sent(chat, 1, PATIENCE).await.is_empty(),
            "answered"
        );
    }

    // The session holding the poller's lock ends, as in a PostgreSQL restart: the lock goes
    // with it, server-side, and the other instance can take it.
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted \
         and database = (select oid from pg_database where datname = current_database())",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(ended, vec![true], "one session held the poller lock");

    for &chat in &chats[10..] {
        double.push_text(chat, "Bruno", "come richiedo la pink card");
    }
    eventually(
        "the first instance notices, and polling resumes",
        || async {
            let logs = a.logs() + &b.logs();
            a.logs().contains("lost the poller lock")
                && logs.matches("telegram long polling").count() >= 2
        },
    )
    .await;
    for &chat in &chats[10..] {
        assert!(
            !double.wait_sent(chat, 1, PATIENCE).await.is_empty(),
            "answered"
        );
    }
    // Several long polls after the takeover: two pollers would have overlapped by now.
    let polls = double.calls("getUpdates").len();
    eventually("more polls after the takeover", || async {
        double.calls("getUpdates").len() >= polls + 6
    })
    .await;

    assert_eq!(
        (double.overlapping_polls(), double.conflicts()),
        (0, 0),
        "two getUpdates at once (Telegram answers 409)\nfirst:\n{}\nsecond:\n{}",
        a.logs(),
        b.logs()
    );
    let stored = inbound_per_chat(&db).await;
    assert_eq!(stored.len(), chats.len(), "no update lost: {stored:?}");
    assert!(
        stored.iter().all(|(_, n)| *n == 1),
        "none stored twice: {stored:?}"
    );
    assert!(double.violations().is_empty(), "{:?}", double.violations());
}
