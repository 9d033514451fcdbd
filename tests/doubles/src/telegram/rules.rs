//! The rules the contract states in prose rather than in types: lengths of texts ("1-4096
//! characters after entities parsing", "1-64 bytes"), parse modes and HTML, "exactly one of the
//! optional fields", and the values a few single parameters allow.

use super::contract::{FieldSpec, LengthRule};
use super::html;
use super::validate::{Problem, display};
use serde_json::{Map, Value};

/// The parse modes Telegram knows, compared case-insensitively.
const PARSE_MODES: [&str; 3] = ["html", "markdownv2", "markdown"];

/// The actions `sendChatAction` lists.
const CHAT_ACTIONS: [&str; 11] = [
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
];

/// Rules of single methods' parameters, stated in their descriptions.
pub(crate) fn method_rules(method: &str, params: &Map<String, Value>, out: &mut Vec<Problem>) {
    let text = |name: &str| params.get(name).and_then(Value::as_str);
    if method == "sendChatAction"
        && let Some(action) = text("action")
        && !CHAT_ACTIONS.contains(&action)
    {
        let detail = format!("unknown action {action:?}");
        out.push(Problem::worded(
            "action",
            detail,
            "Bad Request: wrong parameter action in request",
        ));
    }
    if method == "setWebhook"
        && let Some(secret) = text("secret_token")
        && !secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        let detail = "only A-Z, a-z, 0-9, _ and - are allowed";
        out.push(Problem::worded(
            "secret_token",
            detail,
            "Bad Request: secret token contains unallowed characters",
        ));
    }
}

/// A `parse_mode` must be one Telegram knows (or empty).
pub(crate) fn check_parse_mode(here: &str, value: &Value, out: &mut Vec<Problem>) {
    let mode = value.as_str().unwrap_or_default();
    if !mode.is_empty() && !PARSE_MODES.contains(&mode.to_lowercase().as_str()) {
        let detail = format!("unsupported parse mode {mode:?}");
        out.push(Problem::worded(
            here,
            detail,
            "Bad Request: unsupported parse_mode",
        ));
    }
}

/// A required parameter or field that is absent.
pub(crate) fn missing(path: &str) -> Problem {
    let description = match path {
        "text" => "Bad Request: message text is empty".to_string(),
        _ => format!("Bad Request: {path} is empty"),
    };
    Problem::worded(path, "required but missing", &description)
}

/// "Exactly one of the optional fields must be used" (InlineKeyboardButton and the like).
pub(crate) fn check_exactly_one(
    type_name: &str,
    fields: &[FieldSpec],
    obj: &Map<String, Value>,
    path: &str,
    out: &mut Vec<Problem>,
) {
    let used: Vec<&str> = fields
        .iter()
        .filter(|f| !f.required && obj.get(&f.name).is_some_and(|v| !v.is_null()))
        .map(|f| f.name.as_str())
        .collect();
    if used.len() == 1 {
        return;
    }
    let detail =
        format!("exactly one of the optional fields of {type_name} must be used, found {used:?}");
    let description = match (type_name, used.len()) {
        ("InlineKeyboardButton", 0) => "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard".to_string(),
        ("InlineKeyboardButton", _) => format!("Bad Request: can't parse inline keyboard button: {detail}"),
        _ => format!("Bad Request: {}: {detail}", display(path)),
    };
    out.push(Problem::worded(path, detail, &description));
}

/// A length rule, counted on the text the parse mode leaves when it says "after entities parsing".
pub(crate) fn check_length(
    path: &str,
    name: &str,
    rule: LengthRule,
    text: &str,
    parse_mode: Option<&str>,
    out: &mut Vec<Problem>,
) {
    let html_mode = parse_mode.is_some_and(|m| m.eq_ignore_ascii_case("html"));
    let text = if rule.after_entities && html_mode {
        match html::parse(text) {
            Ok(parsed) => parsed.text,
            Err(e) => {
                let description = format!("Bad Request: can't parse entities: {e}");
                return out.push(Problem::worded(path, format!("HTML: {e}"), &description));
            }
        }
    } else {
        text.to_string()
    };
    let (len, unit) = if rule.bytes {
        (text.len(), "bytes")
    } else {
        (text.chars().count(), "characters")
    };
    let empty = rule.min > 0 && rule.after_entities && text.trim().is_empty();
    if !empty && (rule.min..=rule.max).contains(&len) {
        return;
    }
    let after = if rule.after_entities {
        " after entities parsing"
    } else {
        ""
    };
    let detail = format!("{len} {unit}{after}, allowed {}-{}", rule.min, rule.max);
    let is_message_text = matches!(name, "text" | "message_text") && rule.max == 4096;
    let description = match () {
        _ if name == "callback_data" => "Bad Request: BUTTON_DATA_INVALID".to_string(),
        _ if empty && is_message_text => "Bad Request: message text is empty".to_string(),
        _ if is_message_text => "Bad Request: message is too long".to_string(),
        _ => format!("Bad Request: {path}: {detail}"),
    };
    out.push(Problem::worded(path, detail, &description));
}
