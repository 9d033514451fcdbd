//! What the email channel keeps beyond messages: attachment bytes, and the look-ups that
//! thread replies, route bounces and cap automatic replies.

use sqlx::Row;

use super::Store;
use crate::error::Result;

/// An attachment of an email, as the channel hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmailAttachment {
    /// File name, when the mail gives one (already sanitised by the channel).
    pub name: Option<String>,
    /// MIME type.
    pub mime: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// The bytes; `None` when over the limit.
    pub data: Option<Vec<u8>>,
    /// Why the bytes are missing, for operators.
    pub note: Option<String>,
}

/// A stored email attachment, for the console's download route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAttachmentRow {
    /// Row id.
    pub id: i64,
    /// The email's platform id.
    pub platform_id: String,
    /// File name.
    pub name: Option<String>,
    /// MIME type.
    pub mime: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// The bytes, when stored.
    pub data: Option<Vec<u8>>,
    /// Why the bytes are missing.
    pub note: Option<String>,
}

impl Store {
    /// Store the attachments of the email `platform_id`, numbered in order; returns their row
    /// ids. Storing the same email again (a redelivery) keeps the first copy.
    pub async fn email_save_attachments(
        &self,
        platform_id: &str,
        attachments: &[NewEmailAttachment],
    ) -> Result<Vec<i64>> {
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        let mut ids = Vec::with_capacity(attachments.len());
        for (position, a) in attachments.iter().enumerate() {
            sqlx::query(
                "insert into email_attachments (platform_id, position, name, mime, size, data, note, created_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (platform_id, position) do nothing",
            )
            .bind(platform_id)
            .bind(position as i64)
            .bind(a.name.as_deref())
            .bind(a.mime.as_deref())
            .bind(i64::try_from(a.size).unwrap_or(i64::MAX))
            .bind(a.data.as_deref())
            .bind(a.note.as_deref())
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
            let id: i64 = sqlx::query_scalar(
                "select id from email_attachments where platform_id = $1 and position = $2",
            )
            .bind(platform_id)
            .bind(position as i64)
            .fetch_one(&mut *w.tx)
            .await?;
            ids.push(id);
        }
        w.commit().await?;
        Ok(ids)
    }

    /// One stored attachment.
    pub async fn email_attachment(&self, id: i64) -> Result<Option<EmailAttachmentRow>> {
        let row = sqlx::query(
            "select id, platform_id, name, mime, size, data, note from email_attachments where id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(EmailAttachmentRow {
                id: r.try_get("id")?,
                platform_id: r.try_get("platform_id")?,
                name: r.try_get("name")?,
                mime: r.try_get("mime")?,
                size: r.try_get("size")?,
                data: r.try_get("data")?,
                note: r.try_get("note")?,
            })
        })
        .transpose()
    }

    /// The thread of the conversation a reply belongs to: the first of `message_ids` (its
    /// In-Reply-To, then References from the newest) that Sportello received or sent.
    pub async fn email_thread_of(&self, message_ids: &[String]) -> Result<Option<String>> {
        for id in message_ids {
            let received: Option<String> = sqlx::query_scalar(
                "select c.thread from messages m join conversations c on c.id = m.conversation_id \
                 where m.channel = 'email' and m.platform_id = $1",
            )
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
            if received.is_some() {
                return Ok(received);
            }
            let sent: Option<String> = sqlx::query_scalar(
                "select thread from outbox where channel = 'email' and platform_ref = $1",
            )
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
            if sent.is_some() {
                return Ok(sent);
            }
        }
        Ok(None)
    }

    /// The outbox row that sent the email `message_id`.
    pub async fn email_outbox_of(&self, message_id: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "select id from outbox where channel = 'email' and platform_ref = $1",
        )
        .bind(message_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The thread an outbox row was sent in.
    pub async fn email_outbox_thread(&self, outbox_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("select thread from outbox where id = $1")
                .bind(outbox_id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Whether an outbox row carries the bot's answer (rather than an operator's reply).
    pub async fn email_outbox_is_bot(&self, outbox_id: i64) -> Result<bool> {
        let author: Option<String> = sqlx::query_scalar(
            "select m.author from outbox o join messages m on m.id = o.message_id where o.id = $1",
        )
        .bind(outbox_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(author.as_deref() != Some("operator"))
    }

    /// The feedback token of the answer to the citizen's email `platform_id`, made on first
    /// use; `None` when that message was not answered with a sheet.
    pub async fn email_feedback_token(&self, platform_id: &str) -> Result<Option<String>> {
        let answered: Option<i64> = sqlx::query_scalar(
            "select id from messages where channel = 'email' and platform_id = $1 and decision = 'answer'",
        )
        .bind(platform_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(message_id) = answered else {
            return Ok(None);
        };
        let token: String = (0..32)
            .map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0'))
            .collect();
        let mut w = self.begin_write().await?;
        sqlx::query(
            "insert into email_feedback (token, message_id, created_at) values ($1, $2, $3) \
             on conflict (message_id) do nothing",
        )
        .bind(&token)
        .bind(message_id)
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?;
        let token: String =
            sqlx::query_scalar("select token from email_feedback where message_id = $1")
                .bind(message_id)
                .fetch_one(&mut *w.tx)
                .await?;
        w.commit().await?;
        Ok(Some(token))
    }

    /// What a feedback token judges: the citizen's message, the citizen's address and the
    /// conversation's thread.
    pub async fn email_feedback_target(
        &self,
        token: &str,
    ) -> Result<Option<(i64, String, String)>> {
        let row = sqlx::query(
            "select f.message_id, k.external_id, c.thread from email_feedback f \
             join messages m on m.id = f.message_id join conversations c on c.id = m.conversation_id \
             join contacts k on k.id = c.contact_id where f.token = $1",
        )
        .bind(token)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok((
                r.try_get("message_id")?,
                r.try_get("external_id")?,
                r.try_get("thread")?,
            ))
        })
        .transpose()
    }

    /// How many automatic replies went to `recipient` by email since `since_ms`.
    pub async fn email_auto_replies_since(&self, recipient: &str, since_ms: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "select count(*) from outbox o join messages m on m.id = o.message_id \
             where o.channel = 'email' and o.recipient = $1 and o.created_at >= $2 and m.author = 'bot'",
        )
        .bind(recipient)
        .bind(since_ms)
        .fetch_one(self.pool())
        .await?)
    }
}
