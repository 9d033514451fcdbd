//! Domain types shared by the store, intake, channels and console.

use serde::{Deserialize, Serialize};

use crate::protocol::ButtonData;

/// Where a conversation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    /// The bot is talking with the citizen.
    Bot,
    /// Waiting in the operators' queue.
    Queued,
    /// An operator holds it.
    Assigned,
    /// Closed; a new message opens a new conversation.
    Resolved,
}

impl ConversationStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Queued => "queued",
            Self::Assigned => "assigned",
            Self::Resolved => "resolved",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "bot" => Self::Bot,
            "queued" => Self::Queued,
            "assigned" => Self::Assigned,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    /// The citizen.
    Citizen,
    /// The bot.
    Bot,
    /// An operator.
    Operator,
}

impl Author {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Bot => "bot",
            Self::Operator => "operator",
        }
    }
}

/// Console and API roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works the queue and conversations.
    Operator,
    /// Maintains the sheets.
    Editor,
    /// Users, tokens and settings, plus everything else.
    Admin,
}

impl Role {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    /// Parse a role name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "operator" => Self::Operator,
            "editor" => Self::Editor,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

/// A file, photo or other attachment, kept as metadata only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Kind as the platform names it: `photo`, `document`, `voice`, …
    pub kind: String,
    /// The platform's reference (e.g. Telegram `file_id`).
    pub reference: String,
    /// File name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// MIME type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// Size in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// The person behind an inbound message, as the platform identifies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Stable id on the channel: Telegram chat id, X user id, email address, web session.
    pub external_id: String,
    /// Name to show to operators.
    pub display_name: String,
}

/// What the citizen did, beyond writing text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Action {
    /// A free-text message.
    #[default]
    Message,
    /// Picked a sheet offered by a clarification.
    ChooseSheet(String),
    /// Asked for a person (a command or a button).
    RequestOperator,
    /// Started the conversation (Telegram `/start`): the welcome text.
    Start,
    /// Asked what the bot can do (`/help`).
    Help,
    /// Said whether an answer helped (👍/👎 on the answer to the citizen's message `message`).
    Feedback {
        /// The citizen's message the answer replied to.
        message: i64,
        /// 👍 or 👎.
        useful: bool,
    },
    /// Rated a resolved conversation.
    Rate {
        /// The conversation rated.
        conversation: i64,
        /// From 1 to 5.
        score: u8,
    },
    /// Sent a file or photo: it goes to an operator with its metadata.
    Attachment,
    /// Sent something the bot cannot read (voice, sticker, location, …).
    Unsupported,
    /// Edited an earlier message: recorded for operators, not answered.
    Edited,
    /// Must never be answered automatically (an auto-reply, list mail, a bounce, a PEC
    /// receipt, a sender over the daily cap): stored and queued for operators in silence.
    Quiet,
}

/// One message received from a platform, as an adapter hands it to intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Channel name: `telegram`, `x`, `email`, `webchat`, …
    pub channel: String,
    /// The platform's id for this message, unique within the channel.
    pub platform_id: String,
    /// Who wrote it.
    pub sender: Sender,
    /// The thread it belongs to (a chat, a mention thread, an email thread).
    pub thread: String,
    /// Subject line, for channels that have one.
    pub subject: Option<String>,
    /// The text, as valid UTF-8.
    pub text: String,
    /// The platform's original bytes, when they differ from `text` (invalid UTF-8).
    pub raw: Option<Vec<u8>>,
    /// Attachments, as metadata.
    pub attachments: Vec<Attachment>,
    /// What the citizen did.
    pub action: Action,
    /// The channel's cursor after this message (offset, since_id, UID), stored with it.
    pub cursor: Option<String>,
}

impl Inbound {
    /// A plain text message; the other fields can be set afterwards.
    pub fn text(
        channel: &str,
        platform_id: impl Into<String>,
        sender: &str,
        thread: &str,
        text: impl Into<String>,
    ) -> Self {
        Self {
            channel: channel.to_string(),
            platform_id: platform_id.into(),
            sender: Sender {
                external_id: sender.to_string(),
                display_name: sender.to_string(),
            },
            thread: thread.to_string(),
            subject: None,
            text: text.into(),
            raw: None,
            attachments: Vec::new(),
            action: Action::Message,
            cursor: None,
        }
    }

    /// The same message with no NUL in its names, ids, subject and attachments' metadata:
    /// PostgreSQL text cannot hold U+0000, so each becomes U+2400 (`␀`), on both backends.
    /// (`text` keeps its NUL: intake stores it the same way and keeps the original in `raw`.)
    pub fn without_nul(mut self) -> Self {
        fn fix(s: &mut String) {
            if s.contains('\0') {
                *s = s.replace('\0', "\u{2400}");
            }
        }
        fix(&mut self.platform_id);
        fix(&mut self.sender.external_id);
        fix(&mut self.sender.display_name);
        fix(&mut self.thread);
        if let Some(s) = self.subject.as_mut() {
            fix(s);
        }
        if let Some(c) = self.cursor.as_mut() {
            fix(c);
        }
        if let Action::ChooseSheet(s) = &mut self.action {
            fix(s);
        }
        for a in &mut self.attachments {
            fix(&mut a.kind);
            fix(&mut a.reference);
            for s in [a.name.as_mut(), a.mime.as_mut()].into_iter().flatten() {
                fix(s);
            }
        }
        self
    }

    /// Set text from a platform's bytes: invalid UTF-8 is replaced in `text` and the original
    /// bytes are kept in `raw`, so nothing is lost.
    pub fn with_bytes(mut self, bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                self.text = s.to_string();
                self.raw = None;
            }
            Err(_) => {
                self.text = String::from_utf8_lossy(bytes).into_owned();
                self.raw = Some(bytes.to_vec());
            }
        }
        self
    }
}

/// A button offered with a message (Telegram inline keyboard, web chat button).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// The label.
    pub label: String,
    /// What pressing it sends back.
    pub data: ButtonData,
}

impl Button {
    /// A button with its label and data.
    pub fn new(label: impl Into<String>, data: ButtonData) -> Self {
        Self {
            label: label.into(),
            data,
        }
    }
}

/// A message to deliver, as the dispatcher hands it to a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Outbox row id: stable across retries, usable as an idempotency key.
    pub id: i64,
    /// The conversation it belongs to.
    pub conversation_id: i64,
    /// Channel name.
    pub channel: String,
    /// The contact's external id on the channel.
    pub recipient: String,
    /// The thread to post in.
    pub thread: String,
    /// Subject, for channels that have one.
    pub subject: Option<String>,
    /// Platform id of the message this replies to, when known.
    pub reply_to: Option<String>,
    /// The text, already fitted to the channel's limit.
    pub text: String,
    /// Buttons, for channels that show them.
    pub buttons: Vec<Button>,
    /// Delivery attempts so far, this one included.
    pub attempt: i64,
    /// The lease number of this claim: every claim of the row takes a new one, and only the
    /// holder of the current number may record the row's outcome (a fencing token).
    pub lease: i64,
    /// Parts of a split message already delivered by earlier attempts (Telegram splits at
    /// 4,096 characters); a retry sends only the rest.
    pub parts_sent: i64,
}
