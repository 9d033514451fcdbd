//! What the methods with behaviour do once a call has passed validation and fault injection.
//! Every other method of the contract answers `true`.

use super::SentMessage;
use super::html;
use super::server::Reply;
use super::state::{Shared, State, Webhook, chat_object, unix_now};
use super::updates;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Instant;

const QUERY_INVALID: &str =
    "Bad Request: query is too old and response timeout expired or query ID is invalid";
const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content and \
     reply markup are exactly the same as a current content and reply markup of the message";

pub(crate) async fn dispatch(shared: &Arc<Shared>, method: &str, p: &Map<String, Value>) -> Reply {
    match method {
        "getMe" => Reply::ok(shared.lock().bot.clone()),
        "getUpdates" => updates::get_updates(shared, p).await,
        "sendMessage" => send_message(shared, p),
        "answerCallbackQuery" => answer_callback_query(shared, p),
        "editMessageReplyMarkup" => edit_message_reply_markup(shared, p),
        "setWebhook" => set_webhook(shared, p),
        "deleteWebhook" => delete_webhook(shared, p),
        "getWebhookInfo" => webhook_info(&shared.lock()),
        _ => Reply::ok(json!(true)),
    }
}

/// A chat id given as an Integer or as a String of digits; `@username`s are not known here.
pub(crate) fn chat_id(p: &Map<String, Value>) -> Option<i64> {
    match p.get("chat_id")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn int(p: &Map<String, Value>, name: &str) -> Option<i64> {
    p.get(name).and_then(Value::as_i64)
}

fn flag(p: &Map<String, Value>, name: &str) -> bool {
    p.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn send_message(shared: &Arc<Shared>, p: &Map<String, Value>) -> Reply {
    let Some(chat) = chat_id(p) else {
        return Reply::error(400, "Bad Request: chat not found");
    };
    let mut st = shared.lock();
    if let Err(wait) = st.admit(chat, Instant::now()) {
        return Reply::too_many_requests(wait);
    }
    let raw = p
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let parse_mode = p
        .get("parse_mode")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(String::from);
    let (text, entities) = match parse_mode.as_deref().map(str::to_lowercase).as_deref() {
        Some("html") => html::parse(&raw)
            .map(|h| (h.text, h.entities))
            .unwrap_or_else(|_| (raw.clone(), vec![])),
        _ => (
            raw.clone(),
            p.get("entities")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        ),
    };
    let message_id = st.next_message_id(chat);
    let mut message = json!({
        "message_id": message_id,
        "from": st.bot_user(),
        "chat": chat_object(chat, st.first_names.get(&chat)),
        "date": unix_now(),
        "text": text,
    });
    if !entities.is_empty() {
        message["entities"] = Value::Array(entities);
    }
    if let Some(options) = p.get("link_preview_options").filter(|v| !v.is_null()) {
        message["link_preview_options"] = options.clone();
    }
    let reply_markup = p.get("reply_markup").filter(|v| !v.is_null()).cloned();
    // Message.reply_markup can only be an inline keyboard; other keyboards are not echoed.
    if let Some(markup) = reply_markup
        .as_ref()
        .filter(|m| m.get("inline_keyboard").is_some())
    {
        message["reply_markup"] = markup.clone();
    }
    st.messages.insert((chat, message_id), message.clone());
    let at = Instant::now();
    st.sent.push(SentMessage {
        chat_id: chat,
        message_id,
        text: raw,
        parse_mode,
        reply_markup,
        at,
    });
    drop(st);
    shared.notify();
    Reply::ok(message)
}

fn answer_callback_query(shared: &Arc<Shared>, p: &Map<String, Value>) -> Reply {
    let id = p
        .get("callback_query_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut st = shared.lock();
    if !st.open_callbacks.remove(id) {
        return Reply::error(400, QUERY_INVALID);
    }
    st.callback_answers.push(Value::Object(p.clone()));
    Reply::ok(json!(true))
}

/// An empty inline keyboard removes the keyboard, as no keyboard does.
fn keyboard(markup: Option<&Value>) -> Option<Value> {
    let markup = markup.filter(|m| !m.is_null())?;
    let empty = markup["inline_keyboard"]
        .as_array()
        .is_some_and(|rows| rows.iter().all(|r| r.as_array().is_none_or(Vec::is_empty)));
    (!empty).then(|| markup.clone())
}

fn edit_message_reply_markup(shared: &Arc<Shared>, p: &Map<String, Value>) -> Reply {
    let mut st = shared.lock();
    if p.get("inline_message_id").is_some_and(|v| !v.is_null()) {
        st.markup_edits.push(Value::Object(p.clone()));
        return Reply::ok(json!(true));
    }
    let (Some(chat), Some(message_id)) = (chat_id(p), int(p, "message_id")) else {
        return Reply::error(400, "Bad Request: message to edit not found");
    };
    let bot_id = st.bot["id"].clone();
    let Some(message) = st.messages.get_mut(&(chat, message_id)) else {
        return Reply::error(400, "Bad Request: message to edit not found");
    };
    if message["from"]["id"] != bot_id {
        return Reply::error(400, "Bad Request: message can't be edited");
    }
    let new = keyboard(p.get("reply_markup"));
    if new == keyboard(message.get("reply_markup")) {
        return Reply::error(400, NOT_MODIFIED);
    }
    match new {
        Some(markup) => message["reply_markup"] = markup,
        None => _ = message.as_object_mut().map(|m| m.remove("reply_markup")),
    }
    message["edit_date"] = json!(unix_now());
    let edited = message.clone();
    st.markup_edits.push(Value::Object(p.clone()));
    Reply::ok(edited)
}

fn set_webhook(shared: &Arc<Shared>, p: &Map<String, Value>) -> Reply {
    let mut st = shared.lock();
    let url = p.get("url").and_then(Value::as_str).unwrap_or_default();
    st.webhook = (!url.is_empty()).then(|| Webhook {
        url: url.to_string(),
        secret: p
            .get("secret_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from),
        max_connections: int(p, "max_connections"),
        allowed_updates: p.get("allowed_updates").filter(|v| !v.is_null()).cloned(),
    });
    if flag(p, "drop_pending_updates") {
        st.updates.clear();
    }
    drop(st);
    shared.notify();
    Reply::ok(json!(true))
}

fn delete_webhook(shared: &Arc<Shared>, p: &Map<String, Value>) -> Reply {
    let mut st = shared.lock();
    st.webhook = None;
    if flag(p, "drop_pending_updates") {
        st.updates.clear();
    }
    Reply::ok(json!(true))
}

fn webhook_info(st: &State) -> Reply {
    let mut info = json!({
        "url": st.webhook.as_ref().map_or("", |w| w.url.as_str()),
        "has_custom_certificate": false,
        "pending_update_count": st.updates.len(),
    });
    if let Some(w) = &st.webhook {
        if let Some(n) = w.max_connections {
            info["max_connections"] = json!(n);
        }
        if let Some(kinds) = &w.allowed_updates {
            info["allowed_updates"] = kinds.clone();
        }
    }
    Reply::ok(info)
}
