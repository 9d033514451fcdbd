//! A process killed at each step of intake loses nothing and stores nothing twice.
//!
//! The child (`examples/intake_child.rs`) plays a platform that redelivers what it has not
//! seen acknowledged; it is aborted at a failpoint, then run again to the end.

use std::path::PathBuf;
use std::process::Command;

use sportello_core::testing::TestDb;
use sqlx::Row;

fn child() -> PathBuf {
    // Integration tests live in target/<profile>/deps; examples in target/<profile>/examples.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join("intake_child");
    assert!(path.exists(), "build the example first: {}", path.display());
    path
}

fn run(url: &str, ack: &std::path::Path, n: u64, crash: Option<(&str, &str)>) -> bool {
    let mut cmd = Command::new(child());
    cmd.arg(url)
        .arg(ack)
        .arg(n.to_string())
        .env_remove("SPORTELLO_FAILPOINT");
    if let Some((key, value)) = crash {
        cmd.env(key, value);
    }
    cmd.status().unwrap().success()
}

#[tokio::test]
async fn a_crash_at_any_step_of_intake_loses_nothing_and_answers_nothing_twice() {
    const N: u64 = 6;
    let crashes = [
        ("SPORTELLO_FAILPOINT", "intake.before_commit:3"),
        ("SPORTELLO_FAILPOINT", "intake.after_commit:3"),
        ("SPORTELLO_CHILD_CRASH_AFTER_ACK", "3"),
    ];
    for (key, value) in crashes {
        // A database of its own for each kind of crash: nothing a kind stored (messages,
        // replies, the channel's cursor) can make a later kind pass.
        for db in TestDb::both().await {
            let store = db.store().await;
            assert_eq!(
                store.cursor("crash").await.unwrap(),
                None,
                "a new database has no cursor on {}",
                db.backend
            );
            store.close().await;
            let dir = tempfile::tempdir().unwrap();
            let ack = dir.path().join("ack");
            assert!(
                !run(&db.url, &ack, N, Some((key, value))),
                "{key}={value} must kill the child"
            );
            let store = db.store().await;
            let at_crash = store.cursor("crash").await.unwrap();
            assert_ne!(
                at_crash.as_deref(),
                Some("5"),
                "{key}={value} killed the child before the last message on {}",
                db.backend
            );
            store.close().await;
            assert!(run(&db.url, &ack, N, None), "the restarted child finishes");

            let store = db.store().await;
            let rows = sqlx::query("select platform_id, count(*) as n from messages where direction = 'in' group by platform_id order by platform_id")
                .fetch_all(store.pool())
                .await
                .unwrap();
            let ids: Vec<(String, i64)> = rows
                .iter()
                .map(|r| (r.get("platform_id"), r.get("n")))
                .collect();
            let expected: Vec<(String, i64)> = (0..N).map(|i| (format!("u{i}"), 1)).collect();
            assert_eq!(
                ids, expected,
                "every message exactly once after {key}={value} on {}",
                db.backend
            );
            let undecided: i64 = sqlx::query_scalar(
                "select count(*) from messages where direction = 'in' and decision is null",
            )
            .fetch_one(store.pool())
            .await
            .unwrap();
            assert_eq!(undecided, 0, "every message has an outcome");
            let replies: i64 = sqlx::query_scalar("select count(*) from outbox")
                .fetch_one(store.pool())
                .await
                .unwrap();
            let bot: i64 = sqlx::query_scalar("select count(*) from messages where author = 'bot'")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(replies, bot, "one outbox row per bot message");
            let answered_twice: i64 = sqlx::query_scalar(
                "select count(*) from (select reply_to from outbox where reply_to is not null group by reply_to having count(*) > 1) t",
            )
            .fetch_one(store.pool())
            .await
            .unwrap();
            assert_eq!(
                answered_twice, 0,
                "no message answered twice after {key}={value} on {}",
                db.backend
            );
            let cursor = store.cursor("crash").await.unwrap();
            assert_eq!(
                cursor.as_deref(),
                Some("5"),
                "the restarted child moved the cursor from {at_crash:?} to the last message after {key}={value} on {}",
                db.backend
            );
            store.close().await;
        }
    }
}
