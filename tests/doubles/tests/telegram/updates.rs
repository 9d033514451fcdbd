//! getUpdates: offsets, long polling, conflicts; webhooks.

use crate::support::{Bot, conforms, error_of};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn ids(body: &Value) -> Vec<i64> {
    body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update_id"].as_i64().unwrap())
        .collect()
}

async fn poll(bot: &Bot, params: Value) -> Vec<i64> {
    let (status, body) = bot.call("getUpdates", params).await;
    assert_eq!(status, 200, "{body}");
    conforms("Array of Update", &body["result"]);
    ids(&body)
}

#[tokio::test]
async fn updates_come_again_until_confirmed() {
    let bot = Bot::start().await;
    let first = bot.double.push_text(10, "Anna", "ciao");
    let second = bot.double.push_text(10, "Anna", "ci sei?");
    assert_eq!(second, first + 1);
    assert_eq!(poll(&bot, json!({})).await, [first, second]);
    assert_eq!(
        poll(&bot, json!({ "offset": first })).await,
        [first, second]
    );
    assert_eq!(bot.double.pending_updates(), 2);
}

#[tokio::test]
async fn confirming_an_offset_forgets_earlier_updates_for_good() {
    let bot = Bot::start().await;
    let first = bot.double.push_text(10, "Anna", "uno");
    let second = bot.double.push_text(10, "Anna", "due");
    assert_eq!(poll(&bot, json!({ "offset": first + 1 })).await, [second]);
    assert_eq!(bot.double.confirmed_offset(), first + 1);
    assert_eq!(poll(&bot, json!({ "offset": 0 })).await, [second]);
    assert_eq!(
        poll(&bot, json!({ "offset": second + 1 })).await,
        Vec::<i64>::new()
    );
    assert_eq!(bot.double.pending_updates(), 0);
}

#[tokio::test]
async fn limit_and_negative_offsets_work_as_telegram_says() {
    let bot = Bot::start().await;
    let ids: Vec<i64> = (0..5)
        .map(|i| bot.double.push_text(10, "Anna", &i.to_string()))
        .collect();
    assert_eq!(poll(&bot, json!({ "limit": 2 })).await, ids[..2]);
    assert_eq!(poll(&bot, json!({ "offset": -2 })).await, ids[3..]);
    assert_eq!(
        bot.double.pending_updates(),
        2,
        "a negative offset forgets what comes before"
    );
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_an_update_is_pushed() {
    let bot = Arc::new(Bot::start().await);
    let polling = tokio::spawn({
        let bot = Arc::clone(&bot);
        async move { poll(&bot, json!({ "timeout": 30 })).await }
    });
    // The update is pushed once the long poll is under way, with nothing to give yet.
    began(&bot, 1).await;
    let id = bot.double.push_text(10, "Anna", "eccomi");
    // Well before the poll's own timeout (30 s), so the push, not the timeout, ended it.
    let got = tokio::time::timeout(Duration::from_secs(15), polling)
        .await
        .expect("the long poll still waits after the push")
        .unwrap();
    assert_eq!(got, [id]);
}

/// Wait until `n` `getUpdates` calls have begun.
async fn began(bot: &Bot, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while bot.double.polls_begun() < n {
        assert!(Instant::now() < deadline, "getUpdates call {n} never began");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_long_poll_with_nothing_to_give_waits_its_timeout() {
    let bot = Bot::start().await;
    let started = Instant::now();
    assert_eq!(poll(&bot, json!({ "timeout": 1 })).await, Vec::<i64>::new());
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_second_get_updates_ends_the_first_with_409() {
    let bot = Arc::new(Bot::start().await);
    let first = tokio::spawn({
        let bot = Arc::clone(&bot);
        async move { bot.call("getUpdates", json!({ "timeout": 20 })).await }
    });
    // The second begins once the first is under way.
    began(&bot, 1).await;
    let second = tokio::spawn({
        let bot = Arc::clone(&bot);
        async move { bot.call("getUpdates", json!({ "timeout": 1 })).await }
    });
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .unwrap()
        .unwrap();
    let description = error_of(status, &body, 409);
    assert_eq!(
        description,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    );
    assert_eq!(second.await.unwrap().0, 200);
}

#[tokio::test]
async fn updates_of_kinds_not_allowed_are_not_given() {
    let bot = Bot::start().await;
    bot.double.push_text(10, "Anna", "testo");
    let (_, callback) = bot.double.push_callback(10, 1, "tasto");
    let got = poll(&bot, json!({ "allowed_updates": ["callback_query"] })).await;
    assert_eq!(got.len(), 1);
    assert!(callback.len() > 1);
}

/// A webhook receiver: records each delivery's secret header and answers 200.
async fn receiver() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let record = Arc::clone(&record);
            async move {
                let secret = headers
                    .get("X-Telegram-Bot-Api-Secret-Token")
                    .map(|v| v.to_str().unwrap().to_string());
                assert!(serde_json::from_str::<Value>(&body).unwrap()["update_id"].is_i64());
                record.lock().unwrap().push(secret);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn a_webhook_makes_get_updates_answer_409_until_deleted() {
    let bot = Bot::start().await;
    let (status, _) = bot
        .call(
            "setWebhook",
            json!({ "url": "https://bot.example.org/hook", "secret_token": "s3cr3t" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        bot.double.webhook(),
        Some(("https://bot.example.org/hook".into(), Some("s3cr3t".into())))
    );
    let (status, body) = bot.call("getUpdates", json!({})).await;
    assert!(
        error_of(status, &body, 409)
            .starts_with("Conflict: can't use getUpdates method while webhook is active")
    );
    let (_, info) = bot.call("getWebhookInfo", json!({})).await;
    conforms("WebhookInfo", &info["result"]);
    assert_eq!(info["result"]["url"], "https://bot.example.org/hook");
    bot.double.push_text(1, "Anna", "x");
    bot.call("deleteWebhook", json!({ "drop_pending_updates": true }))
        .await;
    assert_eq!(bot.double.webhook(), None);
    assert_eq!(poll(&bot, json!({})).await, Vec::<i64>::new());
}

#[tokio::test]
async fn webhook_delivery_carries_the_secret() {
    let bot = Bot::start().await;
    let (url, seen) = receiver().await;
    bot.call(
        "setWebhook",
        json!({ "url": url, "secret_token": "s3cr3t" }),
    )
    .await;
    let update = json!({ "message": { "message_id": 1, "date": 0, "chat": { "id": 1, "type": "private" }, "text": "x" } });
    assert_eq!(bot.double.deliver_webhook(update.clone()).await, Ok(200));
    assert_eq!(
        bot.double
            .deliver_webhook_with_secret(update.clone(), Some("wrong"))
            .await,
        Ok(200)
    );
    assert_eq!(
        bot.double.deliver_webhook_with_secret(update, None).await,
        Ok(200)
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [Some("s3cr3t".to_string()), Some("wrong".to_string()), None]
    );
}

#[tokio::test]
async fn delivery_without_a_webhook_is_an_error() {
    let bot = Bot::start().await;
    assert!(bot.double.deliver_webhook(json!({})).await.is_err());
}
