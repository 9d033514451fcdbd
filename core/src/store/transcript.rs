//! A contact's transcript as the citizen sees it: every message of every conversation of one
//! contact on a channel, with the buttons the bot offered. The web chat shows it when its page
//! (re)loads, so it is the source of truth for what the citizen has been told.

use serde::Serialize;
use sqlx::Row;

use super::Store;
use crate::error::{Error, Result};
use crate::model::Button;

/// One message of a thread, as the citizen sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TranscriptEntry {
    /// The message id.
    pub id: i64,
    /// The outbox row that delivers it (outgoing messages), the id live deliveries carry.
    pub outbox_id: Option<i64>,
    /// `citizen`, `bot` or `operator`.
    pub author: String,
    /// The text, as stored.
    pub text: String,
    /// Buttons offered with it.
    pub buttons: Vec<Button>,
    /// Stored, unix ms.
    pub created_at: i64,
    /// For an operator's message, the name the operator chose to show citizens ("Giulia
    /// dell'URP"), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Store {
    /// The last `limit` messages of a contact (by its external id on `channel`), across its
    /// conversations, oldest first.
    pub async fn transcript(
        &self,
        channel: &str,
        contact: &str,
        limit: i64,
    ) -> Result<Vec<TranscriptEntry>> {
        // Every join follows an index: contacts (channel, external_id), conversations
        // (contact_id), messages (conversation_id, id), outbox (conversation_id).
        let rows = sqlx::query(
            "select m.id, o.id as outbox_id, m.author, m.text, o.buttons, m.created_at, \
             u.display_name \
             from contacts k join conversations c on c.contact_id = k.id \
             join messages m on m.conversation_id = c.id \
             left join users u on u.id = m.author_user_id \
             left join outbox o on o.conversation_id = m.conversation_id and o.message_id = m.id \
             and o.channel = m.channel \
             where k.channel = $1 and k.external_id = $2 order by m.id desc limit $3",
        )
        .bind(channel)
        .bind(contact)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut entries =
            rows.iter()
                .map(|row| {
                    let buttons: Option<String> = row.try_get("buttons")?;
                    Ok(TranscriptEntry {
                        id: row.try_get("id")?,
                        outbox_id: row.try_get("outbox_id")?,
                        author: row.try_get("author")?,
                        text: row.try_get("text")?,
                        buttons: match buttons {
                            Some(b) => serde_json::from_str(&b)
                                .map_err(|e| Error::Corrupt(e.to_string()))?,
                            None => Vec::new(),
                        },
                        created_at: row.try_get("created_at")?,
                        signature: row.try_get("display_name")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        entries.reverse();
        Ok(entries)
    }
}
