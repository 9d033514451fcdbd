use crate::telegram::{Contract, Problem};
use serde_json::{Value, json};

fn check(method: &str, params: Value) -> Vec<Problem> {
    let contract = Contract::shared();
    let spec = contract.method(method).unwrap();
    contract.validate_params(spec, params.as_object().unwrap())
}

fn single(method: &str, params: Value) -> Problem {
    let problems = check(method, params);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    problems.into_iter().next().unwrap()
}

fn keyboard(button: Value) -> Value {
    json!({ "inline_keyboard": [[button]] })
}

#[test]
fn a_full_send_message_is_well_formed() {
    let params = json!({
        "chat_id": 42, "text": "<b>Ciao</b> &amp; benvenuto", "parse_mode": "HTML",
        "reply_markup": { "inline_keyboard": [
            [{ "text": "Sì", "callback_data": "yes" }, { "text": "Sito", "url": "https://example.org" }],
        ]},
        "reply_parameters": { "message_id": 3, "allow_sending_without_reply": true },
        "link_preview_options": { "is_disabled": true },
        "disable_notification": false, "message_thread_id": null,
    });
    assert_eq!(check("sendMessage", params), []);
    let entities = json!({ "chat_id": "@channel", "text": "x", "entities": [{ "type": "bold", "offset": 0, "length": 1 }] });
    assert_eq!(check("sendMessage", entities), []);
}

#[test]
fn a_missing_chat_id_is_named() {
    let problem = single("sendMessage", json!({ "text": "x" }));
    assert_eq!(problem.path, "chat_id");
    assert_eq!(problem.description, "Bad Request: chat_id is empty");
    let problem = single("sendMessage", json!({ "chat_id": 1 }));
    assert_eq!(problem.description, "Bad Request: message text is empty");
}

#[test]
fn unknown_parameters_and_fields_are_refused() {
    assert_eq!(
        single(
            "sendMessage",
            json!({ "chat_id": 1, "text": "x", "colour": "red" })
        )
        .path,
        "colour"
    );
    let typo = keyboard(json!({ "text": "a", "callback_data": "a", "callback_date": "b" }));
    let problem = single(
        "sendMessage",
        json!({ "chat_id": 1, "text": "x", "reply_markup": typo }),
    );
    assert_eq!(
        problem.path,
        "reply_markup.inline_keyboard[0][0].callback_date"
    );
}

#[test]
fn wrong_types_are_refused() {
    let problem = single("sendMessage", json!({ "chat_id": true, "text": "x" }));
    assert!(problem.detail.contains("Integer or String"), "{problem:?}");
    let problem = single("sendMessage", json!({ "chat_id": 1, "text": 5 }));
    assert!(problem.detail.contains("String"), "{problem:?}");
    let problem = single("getUpdates", json!({ "allowed_updates": "message" }));
    assert_eq!(problem.path, "allowed_updates");
    let problem = single("getUpdates", json!({ "timeout": 1.5 }));
    assert_eq!(problem.path, "timeout");
    assert_eq!(
        check(
            "sendLocation",
            json!({ "chat_id": 1, "latitude": 45, "longitude": 9.19 })
        ),
        []
    );
}

#[test]
fn text_is_limited_to_4096_characters_after_entities_parsing() {
    let long = "é".repeat(4096);
    assert_eq!(
        check("sendMessage", json!({ "chat_id": 1, "text": long })),
        []
    );
    let problem = single(
        "sendMessage",
        json!({ "chat_id": 1, "text": format!("{long}x") }),
    );
    assert_eq!(problem.description, "Bad Request: message is too long");
    let html = format!("<b>{}</b>&amp;", "a".repeat(4095));
    assert_eq!(
        check(
            "sendMessage",
            json!({ "chat_id": 1, "text": html, "parse_mode": "HTML" })
        ),
        []
    );
    let blank = single(
        "sendMessage",
        json!({ "chat_id": 1, "text": "<b> </b>", "parse_mode": "html" }),
    );
    assert_eq!(blank.description, "Bad Request: message text is empty");
}

#[test]
fn broken_html_is_refused_when_parse_mode_is_html() {
    let problem = single(
        "sendMessage",
        json!({ "chat_id": 1, "text": "<b>x", "parse_mode": "HTML" }),
    );
    assert!(
        problem
            .description
            .starts_with("Bad Request: can't parse entities: "),
        "{problem:?}"
    );
    assert_eq!(
        check("sendMessage", json!({ "chat_id": 1, "text": "<b>x" })),
        []
    );
    let problem = single(
        "sendMessage",
        json!({ "chat_id": 1, "text": "x", "parse_mode": "XML" }),
    );
    assert_eq!(problem.description, "Bad Request: unsupported parse_mode");
}

#[test]
fn callback_data_is_limited_to_64_bytes() {
    let send = |data: String| json!({ "chat_id": 1, "text": "x", "reply_markup": keyboard(json!({ "text": "a", "callback_data": data })) });
    assert_eq!(check("sendMessage", send("é".repeat(32))), []);
    let problem = single("sendMessage", send(format!("{}x", "é".repeat(32))));
    assert_eq!(problem.description, "Bad Request: BUTTON_DATA_INVALID");
    assert!(!check("sendMessage", send(String::new())).is_empty());
}

#[test]
fn an_inline_button_needs_exactly_one_action() {
    let send =
        |button: Value| json!({ "chat_id": 1, "text": "x", "reply_markup": keyboard(button) });
    let none = single("sendMessage", send(json!({ "text": "a" })));
    assert!(
        none.description
            .ends_with("Text buttons are unallowed in the inline keyboard")
    );
    let two = single(
        "sendMessage",
        send(json!({ "text": "a", "callback_data": "a", "url": "https://e.org" })),
    );
    assert!(
        two.description
            .starts_with("Bad Request: can't parse inline keyboard button")
    );
}

#[test]
fn callback_answers_are_limited_to_200_characters() {
    let answer = |text: String| json!({ "callback_query_id": "1", "text": text });
    assert_eq!(check("answerCallbackQuery", answer("x".repeat(200))), []);
    assert_eq!(
        single("answerCallbackQuery", answer("x".repeat(201))).path,
        "text"
    );
}

#[test]
fn an_edit_names_its_message_one_way_or_the_other() {
    assert_eq!(
        check(
            "editMessageReplyMarkup",
            json!({ "chat_id": 1, "message_id": 2 })
        ),
        []
    );
    assert_eq!(
        check(
            "editMessageReplyMarkup",
            json!({ "inline_message_id": "abc" })
        ),
        []
    );
    let paths: Vec<String> = check("editMessageReplyMarkup", json!({}))
        .into_iter()
        .map(|p| p.path)
        .collect();
    assert_eq!(paths, ["chat_id", "message_id", "inline_message_id"]);
}

#[test]
fn union_members_are_told_apart_by_their_tag() {
    let scope = |scope: Value| json!({ "commands": [{ "command": "start", "description": "Start" }], "scope": scope });
    assert_eq!(
        check(
            "setMyCommands",
            scope(json!({ "type": "chat", "chat_id": 5 }))
        ),
        []
    );
    assert_eq!(
        check("setMyCommands", scope(json!({ "type": "default" }))),
        []
    );
    assert!(!check("setMyCommands", scope(json!({ "type": "galaxy" }))).is_empty());
}

#[test]
fn prose_rules_of_single_methods_are_kept() {
    assert_eq!(
        check(
            "sendChatAction",
            json!({ "chat_id": 1, "action": "typing" })
        ),
        []
    );
    let problem = single(
        "sendChatAction",
        json!({ "chat_id": 1, "action": "dancing" }),
    );
    assert_eq!(
        problem.description,
        "Bad Request: wrong parameter action in request"
    );
    let problem = single(
        "setWebhook",
        json!({ "url": "https://e.org/hook", "secret_token": "a b" }),
    );
    assert_eq!(problem.path, "secret_token");
}

#[test]
fn a_keyboard_with_many_bad_buttons_is_still_read_as_an_inline_keyboard() {
    let bad = |n: usize| json!({ "text": "a", "callback_data": "x".repeat(65 + n) });
    let markup = json!({ "inline_keyboard": [[bad(0), bad(1), bad(2)]] });
    let problems = check(
        "sendMessage",
        json!({ "chat_id": 1, "text": "x", "reply_markup": markup }),
    );
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems
            .iter()
            .all(|p| p.description == "Bad Request: BUTTON_DATA_INVALID")
    );
}
