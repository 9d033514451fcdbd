//! Two bot instances polling at once: Telegram ends the earlier long poll with 409, and the
//! double counts both the overlaps and the 409s so that a test can assert there were none.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::support::{Bot, error_of};

/// Wait until `check` holds (a bounded loop on the double's state, not a fixed sleep).
async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..2000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_get_updates_during_another_is_a_counted_409_conflict() {
    let bot = Arc::new(Bot::start().await);
    assert_eq!(
        (bot.double.conflicts(), bot.double.overlapping_polls()),
        (0, 0)
    );
    let first = tokio::spawn({
        let bot = Arc::clone(&bot);
        async move { bot.call("getUpdates", json!({ "timeout": 20 })).await }
    });
    until("the first long poll to be waiting", || {
        bot.double.polls_in_progress() == 1
    })
    .await;
    let (status, body) = bot.call("getUpdates", json!({ "timeout": 0 })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = first.await.unwrap();
    let description = error_of(status, &body, 409);
    assert_eq!(
        description,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        3,
        "ok, error_code, description: {body}"
    );
    assert_eq!(bot.double.conflicts(), 1);
    assert_eq!(bot.double.overlapping_polls(), 1);
    let statuses: Vec<u16> = bot
        .double
        .calls("getUpdates")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![409, 200]);
}

#[tokio::test]
async fn a_long_poll_whose_client_went_away_is_no_conflict() {
    let bot = Arc::new(Bot::start().await);
    let first = tokio::spawn({
        let bot = Arc::clone(&bot);
        async move { bot.call("getUpdates", json!({ "timeout": 20 })).await }
    });
    until("the first long poll to be waiting", || {
        bot.double.polls_in_progress() == 1
    })
    .await;
    // The bot gives up its long poll (the connection closes): the double stops counting it.
    first.abort();
    until("the abandoned long poll to end", || {
        bot.double.polls_in_progress() == 0
    })
    .await;
    let (status, _) = bot.call("getUpdates", json!({ "timeout": 0 })).await;
    assert_eq!(status, 200);
    assert_eq!(bot.double.conflicts(), 0);
    assert_eq!(bot.double.overlapping_polls(), 0);
}

#[tokio::test]
async fn polls_one_after_another_are_no_conflict() {
    let bot = Bot::start().await;
    for _ in 0..3 {
        assert_eq!(bot.call("getUpdates", json!({ "timeout": 0 })).await.0, 200);
    }
    assert_eq!(bot.double.polls_in_progress(), 0);
    assert_eq!(
        (bot.double.conflicts(), bot.double.overlapping_polls()),
        (0, 0)
    );
}
