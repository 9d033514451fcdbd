//! Telegram updates as intake's inbound messages.
//!
//! Each update becomes at most one [`Inbound`]; updates Sportello does not serve (group chats
//! unless enabled, channel posts, unknown kinds, messages with no sender) become `None`, but
//! their offset is still confirmed so that the poller never sticks on them.

use sportello_core::model::{Action, Attachment, Inbound, Sender};
use sportello_core::protocol::{ButtonData, Command};
use teloxide::types::{CallbackQuery, Message, Update, UpdateKind, User};

/// A button press to acknowledge once intake has committed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    /// The callback query's id, for `answerCallbackQuery`.
    pub id: String,
    /// The chat and message carrying the buttons, for `editMessageReplyMarkup`.
    pub message: Option<(i64, i32)>,
    /// The action the button's data stands for; `None` when stale or forged.
    pub action: Option<Action>,
}

/// What one update asks of Sportello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The message for intake, if there is one.
    pub inbound: Option<Inbound>,
    /// The button press to answer, if the update is one.
    pub press: Option<Press>,
}

/// The offset that confirms `update` and everything before it.
pub fn next_offset(update: &Update) -> i64 {
    i64::from(update.id.0) + 1
}

/// The chat an update belongs to (0 for updates with none), to keep each chat's order.
pub fn chat_of(update: &Update) -> i64 {
    update.chat().map(|c| c.id.0).unwrap_or_default()
}

/// Read one update; `groups` allows non-private chats. The poller stores the offset once a
/// whole batch is committed, so the inbound messages carry no cursor of their own.
pub fn read(update: &Update, groups: bool) -> Incoming {
    let cursor = None;
    let none = Incoming {
        inbound: None,
        press: None,
    };
    match &update.kind {
        UpdateKind::Message(msg) => Incoming {
            inbound: message(msg, groups, false).map(|i| Inbound { cursor, ..i }),
            press: None,
        },
        UpdateKind::EditedMessage(msg) => Incoming {
            inbound: message(msg, groups, true).map(|i| Inbound { cursor, ..i }),
            press: None,
        },
        UpdateKind::CallbackQuery(q) => callback(q, groups, cursor),
        _ => none,
    }
}

fn sender(user: &User, chat_id: i64) -> Sender {
    let mut name = user.full_name();
    if let Some(username) = &user.username {
        name.push_str(&format!(" (@{username})"));
    }
    Sender {
        external_id: chat_id.to_string(),
        display_name: name,
    }
}

fn message(msg: &Message, groups: bool, edited: bool) -> Option<Inbound> {
    if !msg.chat.is_private() && !groups {
        return None;
    }
    // Channel posts and anonymous admins have no `from`: nobody to answer.
    let user = msg.from.as_ref()?;
    if user.is_bot {
        return None;
    }
    let chat_id = msg.chat.id.0;
    let mut platform_id = format!("{chat_id}:{}", msg.id.0);
    let text = msg.text().or(msg.caption()).unwrap_or_default().to_string();
    let mut attachments = Vec::new();
    let action = if edited {
        let at = msg.edit_date().map(|d| d.timestamp()).unwrap_or_default();
        platform_id.push_str(&format!(":edit:{at}"));
        Action::Edited
    } else if let Some(photo) = msg.photo().and_then(|sizes| sizes.last()) {
        attachments.push(Attachment {
            kind: "photo".into(),
            reference: photo.file.id.0.clone(),
            name: None,
            mime: Some("image/jpeg".into()),
            size: Some(u64::from(photo.file.size)),
        });
        Action::Attachment
    } else if let Some(doc) = msg.document() {
        attachments.push(Attachment {
            kind: "document".into(),
            reference: doc.file.id.0.clone(),
            name: doc.file_name.clone(),
            mime: doc.mime_type.as_ref().map(|m| m.to_string()),
            size: Some(u64::from(doc.file.size)),
        });
        Action::Attachment
    } else if let Some(cmd) = msg.text().and_then(Command::parse).map(Command::action) {
        cmd
    } else if msg.text().is_some() {
        Action::Message
    } else {
        // Voice, stickers, locations, video notes, polls…: a polite reply.
        attachments.extend(unsupported_kind(msg));
        Action::Unsupported
    };
    Some(Inbound {
        channel: "telegram".into(),
        platform_id,
        sender: sender(user, chat_id),
        thread: chat_id.to_string(),
        subject: None,
        text,
        raw: None,
        attachments,
        action,
        cursor: None,
    })
}

fn unsupported_kind(msg: &Message) -> Option<Attachment> {
    let (kind, reference) = if let Some(v) = msg.voice() {
        ("voice", v.file.id.0.clone())
    } else if let Some(s) = msg.sticker() {
        ("sticker", s.file.id.0.clone())
    } else if let Some(l) = msg.location() {
        ("location", format!("{},{}", l.latitude, l.longitude))
    } else if let Some(v) = msg.video() {
        ("video", v.file.id.0.clone())
    } else if let Some(a) = msg.audio() {
        ("audio", a.file.id.0.clone())
    } else {
        return None;
    };
    Some(Attachment {
        kind: kind.into(),
        reference,
        name: None,
        mime: None,
        size: None,
    })
}

fn callback(q: &CallbackQuery, groups: bool, cursor: Option<String>) -> Incoming {
    let carrier = q.message.as_ref().map(|m| (m.chat().id.0, m.id().0));
    let action = q
        .data
        .as_deref()
        .and_then(|d| d.parse::<ButtonData>().ok())
        .map(Action::from);
    let press = Press {
        id: q.id.0.clone(),
        message: carrier,
        action: action.clone(),
    };
    let private = q.message.as_ref().is_none_or(|m| m.chat().is_private());
    let inbound = match (carrier, action) {
        (Some((chat_id, _)), Some(action)) if private || groups => {
            let label = q
                .message
                .as_ref()
                .and_then(|m| m.regular_message())
                .and_then(|m| button_label(m, q.data.as_deref().unwrap_or_default()));
            Some(Inbound {
                channel: "telegram".into(),
                platform_id: format!("cb:{}", q.id.0),
                sender: sender(&q.from, chat_id),
                thread: chat_id.to_string(),
                subject: None,
                text: label.unwrap_or_else(|| q.data.clone().unwrap_or_default()),
                raw: None,
                attachments: Vec::new(),
                action,
                cursor,
            })
        }
        _ => None,
    };
    Incoming {
        inbound,
        press: Some(press),
    }
}

/// The label of the pressed button, so the transcript shows what the citizen chose.
fn button_label(msg: &Message, data: &str) -> Option<String> {
    use teloxide::types::InlineKeyboardButtonKind;
    msg.reply_markup()?
        .inline_keyboard
        .iter()
        .flatten()
        .find(|b| matches!(&b.kind, InlineKeyboardButtonKind::CallbackData(d) if d == data))
        .map(|b| b.text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parsed from text, as both the poller and the webhook receive it.
    fn update(json: serde_json::Value) -> Update {
        serde_json::from_str(&json.to_string()).unwrap()
    }

    fn text_update(id: u32, chat: i64, text: &str) -> Update {
        update(serde_json::json!({
            "update_id": id,
            "message": {"message_id": 5, "date": 1_700_000_000, "text": text,
                "chat": {"id": chat, "type": "private", "first_name": "Anna"},
                "from": {"id": chat, "is_bot": false, "first_name": "Anna", "last_name": "Rossi"}}
        }))
    }

    #[test]
    fn a_private_text_becomes_a_message_of_its_chat() {
        let incoming = read(&text_update(41, 7, "carta rosa"), false);
        let inbound = incoming.inbound.unwrap();
        assert_eq!(inbound.platform_id, "7:5");
        assert_eq!(inbound.thread, "7");
        assert_eq!(inbound.sender.display_name, "Anna Rossi");
        assert_eq!(inbound.action, Action::Message);
        assert_eq!(next_offset(&text_update(41, 7, "x")), 42);
    }

    #[test]
    fn commands_are_recognised_with_or_without_the_bot_name() {
        let read_action = |t: &str| read(&text_update(1, 7, t), false).inbound.unwrap().action;
        assert_eq!(read_action("/start"), Action::Start);
        assert_eq!(read_action("/help"), Action::Help);
        assert_eq!(read_action("/operatore@UrpBot"), Action::RequestOperator);
        assert_eq!(read_action("/sconosciuto"), Action::Message);
    }

    #[test]
    fn group_chats_are_ignored_unless_enabled() {
        let u = update(serde_json::json!({
            "update_id": 3,
            "message": {"message_id": 1, "date": 1, "text": "ciao",
                "chat": {"id": -100, "type": "group", "title": "Condominio"},
                "from": {"id": 9, "is_bot": false, "first_name": "Ugo"}}
        }));
        assert!(read(&u, false).inbound.is_none());
        assert!(read(&u, true).inbound.is_some());
    }

    #[test]
    fn a_message_without_a_sender_is_skipped() {
        let u = update(serde_json::json!({
            "update_id": 3,
            "message": {"message_id": 1, "date": 1, "text": "ciao",
                "chat": {"id": 5, "type": "private", "first_name": "X"}}
        }));
        assert_eq!(next_offset(&u), 4);
        assert!(read(&u, false).inbound.is_none());
    }

    #[test]
    fn unknown_update_kinds_are_skipped_but_keep_their_offset() {
        let u = update(serde_json::json!({"update_id": 9, "something_new": {"x": 1}}));
        assert_eq!(next_offset(&u), 10);
        assert_eq!(
            read(&u, false),
            Incoming {
                inbound: None,
                press: None
            }
        );
    }

    #[test]
    fn a_document_goes_to_an_operator_with_its_metadata() {
        let u = update(serde_json::json!({
            "update_id": 3,
            "message": {"message_id": 2, "date": 1, "caption": "il modulo",
                "document": {"file_id": "DOC1", "file_unique_id": "u1", "file_name": "modulo.pdf",
                    "mime_type": "application/pdf", "file_size": 1234},
                "chat": {"id": 5, "type": "private", "first_name": "X"},
                "from": {"id": 5, "is_bot": false, "first_name": "X"}}
        }));
        let inbound = read(&u, false).inbound.unwrap();
        assert_eq!(inbound.action, Action::Attachment);
        assert_eq!(inbound.text, "il modulo");
        assert_eq!(inbound.attachments[0].reference, "DOC1");
        assert_eq!(inbound.attachments[0].name.as_deref(), Some("modulo.pdf"));
        assert_eq!(inbound.attachments[0].size, Some(1234));
    }

    #[test]
    fn a_button_press_carries_its_action_and_label() {
        let u = update(serde_json::json!({
            "update_id": 4,
            "callback_query": {"id": "cb1", "chat_instance": "ci", "data": "sheet:pink-card",
                "from": {"id": 5, "is_bot": false, "first_name": "X"},
                "message": {"message_id": 30, "date": 1, "text": "Scegli",
                    "chat": {"id": 5, "type": "private", "first_name": "X"},
                    "reply_markup": {"inline_keyboard": [[{"text": "Pink Card", "callback_data": "sheet:pink-card"}]]}}}
        }));
        let incoming = read(&u, false);
        let press = incoming.press.unwrap();
        assert_eq!(press.id, "cb1");
        assert_eq!(press.message, Some((5, 30)));
        let inbound = incoming.inbound.unwrap();
        assert_eq!(inbound.action, Action::ChooseSheet("pink-card".into()));
        assert_eq!(inbound.text, "Pink Card");
        assert_eq!(inbound.platform_id, "cb:cb1");
    }

    #[test]
    fn forged_button_data_is_answered_but_not_stored() {
        let u = update(serde_json::json!({
            "update_id": 4,
            "callback_query": {"id": "cb2", "chat_instance": "ci", "data": "<script>",
                "from": {"id": 5, "is_bot": false, "first_name": "X"},
                "message": {"message_id": 30, "date": 1, "text": "x",
                    "chat": {"id": 5, "type": "private", "first_name": "X"}}}
        }));
        let incoming = read(&u, false);
        assert!(incoming.inbound.is_none());
        assert_eq!(incoming.press.unwrap().action, None);
    }
}
