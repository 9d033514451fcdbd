//! Reading what the page posts into the `Inbound` message intake stores.

use serde::Deserialize;
use sportello_core::model::{Action, Inbound, Sender};
use sportello_core::protocol::{ButtonData, Command};

use super::{NAME, WebChat};

/// What the page posts: a text, or a button's data (with its label for the transcript).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Post {
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    label: Option<String>,
    /// The page's id for this message, so that a retried or double submission is stored once.
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    pub(super) csrf: Option<String>,
}

pub(super) enum Refused {
    /// A button whose data is unknown or forged: answered politely, not stored.
    Stale,
    /// Empty or too long, with the citizen-facing reason.
    Invalid(String),
}

/// The inbound message a post stands for.
pub(super) fn read(chat: &WebChat, thread: &str, post: Post) -> Result<Inbound, Refused> {
    // The page's id, when it is a plausible one; scoped to the session so that one
    // citizen's ids can never collide with another's.
    let client_id = post.id.filter(|id| {
        (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    let id = client_id.unwrap_or_else(|| {
        let n: u128 = rand::random();
        format!("s{n:032x}")
    });
    let (text, action) = match post.data {
        Some(data) => {
            let action: Action = data
                .parse::<ButtonData>()
                .map_err(|_| Refused::Stale)?
                .into();
            let label: String = post
                .label
                .filter(|l| !l.trim().is_empty())
                .unwrap_or(data)
                .chars()
                .take(200)
                .collect();
            (label, action)
        }
        None => {
            let text = post.text.unwrap_or_default();
            if text.trim().is_empty() {
                return Err(Refused::Invalid(chat.texts.empty.clone()));
            }
            if text.chars().count() > chat.config.text_limit {
                return Err(Refused::Invalid(chat.config.too_long.clone()));
            }
            let action = Command::parse(&text)
                .map(Command::action)
                .unwrap_or(Action::Message);
            (text, action)
        }
    };
    Ok(Inbound {
        channel: NAME.into(),
        platform_id: format!("{thread}:{id}"),
        sender: Sender {
            external_id: thread.to_string(),
            display_name: format!("Visitatore web {}", &thread[1..7]),
        },
        thread: thread.to_string(),
        subject: None,
        text,
        raw: None,
        attachments: Vec::new(),
        action,
        cursor: None,
    })
}
