//! A conversation: the user writes, the bot answers with buttons, the user presses one.

use crate::support::{Bot, conforms, error_of};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn get_me_tells_the_bot_it_is_a_bot() {
    let bot = Bot::start().await;
    bot.double.set_bot_username("urp_comune_bot");
    let (status, body) = bot.call("getMe", json!({})).await;
    assert_eq!(status, 200);
    conforms("User", &body["result"]);
    assert_eq!(body["result"]["is_bot"], json!(true));
    assert_eq!(body["result"]["id"], json!(123456));
    assert_eq!(body["result"]["username"], "urp_comune_bot");
}

#[tokio::test]
async fn pushed_updates_follow_the_contract() {
    let bot = Bot::start().await;
    bot.double.push_text(42, "Anna", "/start ciao");
    let message_id = bot.say(42, "Benvenuta").await;
    bot.double.push_callback(42, message_id, "orari");
    bot.double.push_callback(42, 999, "ignoto");
    let (_, body) = bot.call("getUpdates", json!({})).await;
    conforms("Array of Update", &body["result"]);
    let updates = body["result"].as_array().unwrap();
    assert_eq!(
        updates[0]["message"]["entities"][0],
        json!({ "type": "bot_command", "offset": 0, "length": 6 })
    );
    assert_eq!(updates[0]["message"]["message_id"], json!(1));
    assert_eq!(
        message_id, 2,
        "message ids grow per chat, the user's and the bot's alike"
    );
    assert_eq!(updates[1]["callback_query"]["message"]["text"], "Benvenuta");
}

#[tokio::test]
async fn a_callback_query_can_be_answered_once() {
    let bot = Bot::start().await;
    let (_, id) = bot.double.push_callback(42, 1, "orari");
    let answer = json!({ "callback_query_id": id, "text": "Ecco gli orari" });
    assert_eq!(bot.call("answerCallbackQuery", answer.clone()).await.0, 200);
    let (status, body) = bot.call("answerCallbackQuery", answer.clone()).await;
    let description = error_of(status, &body, 400);
    assert_eq!(
        description,
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    );
    let (status, body) = bot
        .call(
            "answerCallbackQuery",
            json!({ "callback_query_id": "nope" }),
        )
        .await;
    error_of(status, &body, 400);
    assert_eq!(bot.double.callback_answers(), [answer]);
    assert!(
        bot.double.violations().is_empty(),
        "answering twice is an error, not a breach of contract"
    );
}

#[tokio::test]
async fn the_keyboard_of_a_sent_message_can_be_edited() {
    let bot = Bot::start().await;
    let markup = json!({ "inline_keyboard": [[{ "text": "Sì", "callback_data": "yes" }]] });
    let (_, sent) = bot
        .call(
            "sendMessage",
            json!({ "chat_id": 5, "text": "Ok?", "reply_markup": markup }),
        )
        .await;
    let message_id = sent["result"]["message_id"].clone();
    let edit = json!({ "chat_id": 5, "message_id": message_id });
    let (status, body) = bot.call("editMessageReplyMarkup", edit.clone()).await;
    assert_eq!(status, 200, "{body}");
    conforms("Message", &body["result"]);
    assert!(body["result"].get("reply_markup").is_none());
    let (status, body) = bot.call("editMessageReplyMarkup", edit.clone()).await;
    assert!(error_of(status, &body, 400).starts_with("Bad Request: message is not modified"));
    let (status, body) = bot
        .call(
            "editMessageReplyMarkup",
            json!({ "chat_id": 5, "message_id": 77 }),
        )
        .await;
    assert_eq!(
        error_of(status, &body, 400),
        "Bad Request: message to edit not found"
    );
    let (status, _) = bot
        .call(
            "editMessageReplyMarkup",
            json!({ "inline_message_id": "AbC" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        bot.double.markup_edits(),
        [edit, json!({ "inline_message_id": "AbC" })]
    );
}

#[tokio::test]
async fn wait_sent_returns_once_enough_messages_arrived() {
    let bot = std::sync::Arc::new(Bot::start().await);
    let sender = std::sync::Arc::clone(&bot);
    tokio::spawn(async move {
        for text in ["uno", "due"] {
            tokio::time::sleep(Duration::from_millis(100)).await;
            sender.say(8, text).await;
        }
    });
    let sent = bot.double.wait_sent(8, 2, Duration::from_secs(5)).await;
    assert_eq!(
        sent.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["uno", "due"]
    );
    let none = bot.double.wait_sent(9, 1, Duration::from_millis(100)).await;
    assert!(none.is_empty());
}
