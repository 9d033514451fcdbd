//! Every request is held to the contract: breaches are refused with 400 and recorded.

use crate::support::{Bot, conforms, error_of, read};
use serde_json::{Value, json};

/// Sends a malformed message: it must be refused, recorded as one violation, and not sent.
async fn refused(bot: &Bot, params: Value) -> String {
    let sent_before = bot.double.sent().len();
    let (status, body) = bot.call("sendMessage", params).await;
    let description = error_of(status, &body, 400);
    assert_eq!(
        bot.double.violations().len(),
        1,
        "{:?}",
        bot.double.violations()
    );
    assert_eq!(bot.double.sent().len(), sent_before);
    description
}

#[tokio::test]
async fn a_well_formed_message_is_accepted_with_no_violation() {
    let bot = Bot::start().await;
    let markup = json!({ "inline_keyboard": [[{ "text": "Sì", "callback_data": "yes" }]] });
    let params = json!({ "chat_id": 42, "text": "<b>Ciao</b> &amp; benvenuto", "parse_mode": "HTML", "reply_markup": markup });
    let (status, body) = bot.call("sendMessage", params).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], json!(true));
    let message = &body["result"];
    conforms("Message", message);
    assert_eq!(message["text"], "Ciao & benvenuto");
    assert_eq!(
        message["entities"],
        json!([{ "type": "bold", "offset": 0, "length": 4 }])
    );
    assert_eq!(message["chat"], json!({ "id": 42, "type": "private" }));
    assert_eq!(message["reply_markup"], markup);
    let sent = bot.double.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].chat_id, sent[0].message_id),
        (42, message["message_id"].as_i64().unwrap())
    );
    assert_eq!(sent[0].text, "<b>Ciao</b> &amp; benvenuto");
    assert_eq!(sent[0].parse_mode.as_deref(), Some("HTML"));
    assert_eq!(sent[0].reply_markup, Some(markup));
    assert_eq!(bot.double.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_message_without_chat_id_is_refused_and_recorded() {
    let bot = Bot::start().await;
    assert_eq!(
        refused(&bot, json!({ "text": "hi" })).await,
        "Bad Request: chat_id is empty"
    );
    assert!(bot.double.violations()[0].starts_with("sendMessage: chat_id:"));
}

#[tokio::test]
async fn a_text_of_4097_characters_is_refused_and_one_of_4096_accepted() {
    let bot = Bot::start().await;
    assert_eq!(bot.say(1, &"à".repeat(4096)).await, 1);
    let long = json!({ "chat_id": 1, "text": "à".repeat(4097) });
    assert_eq!(
        refused(&bot, long).await,
        "Bad Request: message is too long"
    );
}

#[tokio::test]
async fn callback_data_of_65_bytes_is_refused() {
    let bot = Bot::start().await;
    let markup = json!({ "inline_keyboard": [[{ "text": "a", "callback_data": "x".repeat(65) }]] });
    let description = refused(
        &bot,
        json!({ "chat_id": 1, "text": "hi", "reply_markup": markup }),
    )
    .await;
    assert_eq!(description, "Bad Request: BUTTON_DATA_INVALID");
}

#[tokio::test]
async fn unbalanced_html_is_refused_as_unparsable_entities() {
    let bot = Bot::start().await;
    let description = refused(
        &bot,
        json!({ "chat_id": 1, "text": "<b>hi<i>!</b>", "parse_mode": "HTML" }),
    )
    .await;
    assert!(
        description.starts_with("Bad Request: can't parse entities: Unmatched end tag"),
        "{description}"
    );
}

#[tokio::test]
async fn an_unescaped_ampersand_in_html_is_refused() {
    let bot = Bot::start().await;
    let description = refused(
        &bot,
        json!({ "chat_id": 1, "text": "Q&A", "parse_mode": "HTML" }),
    )
    .await;
    assert!(
        description.starts_with("Bad Request: can't parse entities:"),
        "{description}"
    );
}

#[tokio::test]
async fn an_unknown_parameter_is_refused() {
    let bot = Bot::start().await;
    refused(
        &bot,
        json!({ "chat_id": 1, "text": "hi", "parse_mod": "HTML" }),
    )
    .await;
    assert!(bot.double.violations()[0].contains("parse_mod"));
}

#[tokio::test]
async fn method_names_are_matched_whatever_their_case() {
    let bot = Bot::start().await;
    let (status, body) = bot
        .call("SendMessage", json!({ "chat_id": 1, "text": "hi" }))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = read(bot.client.get(bot.url("GETME")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(bot.double.calls("sendmessage")[0].method, "sendMessage");
    assert_eq!(bot.double.calls("getMe").len(), 1);
}

#[tokio::test]
async fn form_json_and_query_string_parameters_all_work() {
    let bot = Bot::start().await;
    let markup =
        json!({ "inline_keyboard": [[{ "text": "a", "callback_data": "a" }]] }).to_string();
    let form = [
        ("chat_id", "7"),
        ("text", "by form"),
        ("reply_markup", markup.as_str()),
        ("disable_notification", "true"),
    ];
    let (status, body) = read(
        bot.client
            .post(bot.url("sendMessage"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["reply_markup"]["inline_keyboard"][0][0]["text"],
        "a"
    );
    let query = [("chat_id", "7"), ("text", "by query")];
    let (status, body) = read(
        bot.client
            .get(bot.url("sendMessage"))
            .query(&query)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    bot.say(7, "by JSON").await;
    let texts: Vec<String> = bot.double.sent_to(7).into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["by form", "by query", "by JSON"]);
    assert_eq!(
        bot.double.calls("sendMessage")[0].params["disable_notification"],
        json!(true)
    );
    assert!(bot.double.violations().is_empty());
}

#[tokio::test]
async fn a_multipart_body_works() {
    let bot = Bot::start().await;
    let body = "--b0undary\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n9\r\n\
        --b0undary\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nmultipart\r\n--b0undary--\r\n";
    let request = bot
        .client
        .post(bot.url("sendMessage"))
        .header("Content-Type", "multipart/form-data; boundary=b0undary");
    let (status, body) = read(request.body(body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(bot.double.sent_to(9)[0].text, "multipart");
}

#[tokio::test]
async fn a_wrong_token_gets_401_and_an_unknown_method_404() {
    let bot = Bot::start().await;
    let url = format!("{}/bot999:wrong/getMe", bot.double.api_url());
    let (status, body) = read(bot.client.get(url).send().await.unwrap()).await;
    assert_eq!(error_of(status, &body, 401), "Unauthorized");
    let (status, body) = bot.call("sendTelepathy", json!({})).await;
    assert_eq!(error_of(status, &body, 404), "Not Found: method not found");
    assert_eq!(
        bot.double.violations(),
        ["sendTelepathy: no such method in the Bot API contract"]
    );
    assert_eq!(bot.double.calls("getMe")[0].status, 401);
}

#[tokio::test]
async fn every_call_is_recorded_with_its_parameters_and_status() {
    let bot = Bot::start().await;
    bot.say(3, "one").await;
    bot.call("sendMessage", json!({ "chat_id": 3 })).await;
    let calls = bot.double.calls("sendMessage");
    let seen: Vec<(u16, Value)> = calls
        .iter()
        .map(|c| (c.status, c.params["chat_id"].clone()))
        .collect();
    assert_eq!(seen, [(200, json!(3)), (400, json!(3))]);
    assert!(calls[0].at <= calls[1].at);
}

#[tokio::test]
async fn other_methods_of_the_contract_are_validated_and_answer_true() {
    let bot = Bot::start().await;
    let (status, body) = bot
        .call(
            "sendChatAction",
            json!({ "chat_id": 1, "action": "typing" }),
        )
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let commands = json!({ "commands": [{ "command": "start", "description": "Inizia" }] });
    let (status, body) = bot.call("setMyCommands", commands).await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let (status, body) = bot
        .call(
            "sendChatAction",
            json!({ "chat_id": 1, "action": "dancing" }),
        )
        .await;
    assert_eq!(
        error_of(status, &body, 400),
        "Bad Request: wrong parameter action in request"
    );
    let (status, body) = bot.call("deleteMessage", json!({ "chat_id": 1 })).await;
    error_of(status, &body, 400);
    assert_eq!(bot.double.violations().len(), 2);
}
