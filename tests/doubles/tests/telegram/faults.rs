//! Injected faults and the rate limiter.

use crate::support::{Bot, error_of};
use serde_json::json;
use sportello_doubles::telegram::Fault;
use std::time::{Duration, Instant};

fn hello(chat_id: i64) -> serde_json::Value {
    json!({ "chat_id": chat_id, "text": "hello" })
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() {
    let bot = Bot::start().await;
    bot.double
        .inject("sendMessage", Fault::TooManyRequests { retry_after: 7 }, 1);
    let (status, body) = bot.call("sendMessage", hello(1)).await;
    assert_eq!(
        error_of(status, &body, 429),
        "Too Many Requests: retry after 7"
    );
    assert_eq!(body["parameters"], json!({ "retry_after": 7 }));
    assert!(bot.double.sent().is_empty());
    assert_eq!(
        bot.double.throttled(),
        0,
        "injected 429s are not the limiter's"
    );
}

#[tokio::test]
async fn a_fault_lasts_for_the_calls_it_was_given() {
    let bot = Bot::start().await;
    bot.double.inject("SENDMESSAGE", Fault::ServerError(502), 2);
    for _ in 0..2 {
        let (status, body) = bot.call("sendMessage", hello(1)).await;
        assert_eq!(error_of(status, &body, 502), "Bad Gateway");
    }
    assert_eq!(bot.call("sendMessage", hello(1)).await.0, 200);
}

#[tokio::test]
async fn a_malformed_request_does_not_use_up_a_fault() {
    let bot = Bot::start().await;
    bot.double.inject("sendMessage", Fault::Forbidden, 1);
    assert_eq!(
        bot.call("sendMessage", json!({ "chat_id": 1 })).await.0,
        400
    );
    let (status, body) = bot.call("sendMessage", hello(1)).await;
    assert_eq!(
        error_of(status, &body, 403),
        "Forbidden: bot was blocked by the user"
    );
}

#[tokio::test]
async fn a_fault_for_one_chat_leaves_the_others_alone() {
    let bot = Bot::start().await;
    bot.double
        .inject_for_chat("sendMessage", 2, Fault::Forbidden, 1);
    assert_eq!(bot.call("sendMessage", hello(1)).await.0, 200);
    assert_eq!(bot.call("sendMessage", hello(2)).await.0, 403);
    assert_eq!(bot.call("sendMessage", hello(2)).await.0, 200);
}

#[tokio::test]
async fn slow_delays_then_answers_normally() {
    let bot = Bot::start().await;
    bot.double
        .inject("getMe", Fault::Slow(Duration::from_millis(400)), 1);
    let started = Instant::now();
    let (status, body) = bot.call("getMe", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn drop_gives_a_connection_error_not_a_status() {
    let bot = Bot::start().await;
    assert_eq!(
        bot.call("getMe", json!({})).await.0,
        200,
        "a pooled connection is reused next"
    );
    bot.double.inject("sendMessage", Fault::Drop, 1);
    let result = bot
        .client
        .post(bot.url("sendMessage"))
        .json(&hello(1))
        .send()
        .await;
    let error = result.expect_err("a dropped connection answers nothing");
    assert!(error.status().is_none() && !error.is_timeout(), "{error:?}");
    assert_eq!(
        bot.double.calls("sendMessage").len(),
        1,
        "reqwest did not retry it"
    );
    assert_eq!(bot.double.calls("sendMessage")[0].status, 0);
    assert!(bot.double.sent().is_empty());
    assert_eq!(
        bot.call("sendMessage", hello(1)).await.0,
        200,
        "the next connection is served"
    );
}

#[tokio::test]
async fn malformed_json_is_a_200_that_does_not_parse() {
    let bot = Bot::start().await;
    bot.double.inject("getUpdates", Fault::MalformedJson, 1);
    let response = bot
        .client
        .post(bot.url("getUpdates"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
}

#[tokio::test]
async fn the_rate_limiter_answers_429_with_the_rest_of_the_window() {
    let bot = Bot::start().await;
    bot.double.rate_limit(30, 1);
    assert_eq!(bot.call("sendMessage", hello(1)).await.0, 200);
    let (status, body) = bot.call("sendMessage", hello(1)).await;
    assert_eq!(
        error_of(status, &body, 429),
        "Too Many Requests: retry after 1"
    );
    assert_eq!(body["parameters"]["retry_after"], json!(1));
    assert_eq!(
        bot.call("sendMessage", hello(2)).await.0,
        200,
        "another chat has its own window"
    );
    assert_eq!(bot.double.throttled(), 1);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(bot.call("sendMessage", hello(1)).await.0, 200);
}

#[tokio::test]
async fn the_rate_limiter_has_a_global_limit_too() {
    let bot = Bot::start().await;
    bot.double.rate_limit(3, 0);
    let statuses = [
        bot.call("sendMessage", hello(1)).await.0,
        bot.call("sendMessage", hello(2)).await.0,
        bot.call("sendMessage", hello(3)).await.0,
        bot.call("sendMessage", hello(4)).await.0,
    ];
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(bot.double.throttled(), 1);
}

#[tokio::test]
async fn cleared_faults_end_a_window_and_sent_since_gives_only_the_new_messages() {
    let bot = Bot::start().await;
    bot.double
        .inject("sendMessage", Fault::ServerError(502), usize::MAX / 2);
    assert_eq!(bot.call("sendMessage", hello(1)).await.0, 502);
    bot.double.clear_faults();
    assert_eq!(bot.call("sendMessage", hello(1)).await.0, 200);
    assert_eq!(bot.call("sendMessage", hello(2)).await.0, 200);
    let all = bot.double.sent();
    assert_eq!(all.len(), 2);
    assert_eq!(bot.double.sent_since(1), all[1..].to_vec());
    assert!(bot.double.sent_since(2).is_empty());
    assert!(bot.double.sent_since(9).is_empty());
}
