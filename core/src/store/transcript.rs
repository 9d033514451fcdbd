//! A thread's transcript as the citizen sees it: every message of every conversation in one
//! channel thread, with the buttons the bot offered. The web chat shows it when its page
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
}

impl Store {
    /// The last `limit` messages of a channel thread, across its conversations, oldest first.
    pub async fn transcript(
        &self,
        channel: &str,
        thread: &str,
        limit: i64,
    ) -> Result<Vec<TranscriptEntry>> {
        let rows = sqlx::query(
            "select m.id, o.id as outbox_id, m.author, m.text, o.buttons, m.created_at \
             from messages m join conversations c on c.id = m.conversation_id \
             left join outbox o on o.message_id = m.id \
             where c.channel = $1 and c.thread = $2 order by m.id desc limit $3",
        )
        .bind(channel)
        .bind(thread)
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
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        entries.reverse();
        Ok(entries)
    }
}
