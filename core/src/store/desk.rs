//! What operators leave on a conversation besides replies: internal notes, the email to the
//! office a conversation was transferred to, and phrasings proposed to editors ("teach the
//! bot").

use serde::Serialize;
use sqlx::Row;

use super::{Store, audit};
use crate::error::{Refusal, Result};

/// An internal note; citizens never see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteRow {
    /// Id.
    pub id: i64,
    /// The operator who wrote it.
    pub author: String,
    /// The text.
    pub text: String,
    /// Written, unix ms.
    pub created_at: i64,
}

/// The email telling an office about a transferred conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfficeNotificationRow {
    /// Id.
    pub id: i64,
    /// The conversation.
    pub conversation_id: i64,
    /// The office.
    pub office: String,
    /// The office's address (empty when the office has none).
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Body: the transcript.
    pub body: String,
    /// `pending` (no sender yet), `sent` or `failed`.
    pub state: String,
    /// Who transferred.
    pub created_by: String,
    /// Queued, unix ms.
    pub created_at: i64,
}

/// A citizen's question proposed as a new phrasing of a sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhrasingRow {
    /// Id.
    pub id: i64,
    /// The sheet.
    pub sheet_id: String,
    /// The proposed phrasing.
    pub text: String,
    /// The conversation it came from.
    pub conversation_id: Option<i64>,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    /// The operator who proposed it.
    pub proposed_by: String,
    /// Proposed, unix ms.
    pub created_at: i64,
}

impl Store {
    /// Add an internal note to a conversation.
    pub async fn add_note(&self, conversation_id: i64, author: &str, text: &str) -> Result<i64> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Refusal::EmptyNote.into());
        }
        self.conversation(conversation_id).await?;
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "insert into notes (conversation_id, author, text, created_at) values ($1, $2, $3, $4) returning id",
        )
        .bind(conversation_id)
        .bind(author)
        .bind(text)
        .bind(now)
        .fetch_one(&mut *w.tx)
        .await?;
        let subject = format!("conversation:{conversation_id}");
        audit(
            &mut w.tx,
            now,
            author,
            "note",
            &subject,
            &serde_json::json!({ "note": id }),
        )
        .await?;
        w.commit().await?;
        Ok(id)
    }

    /// The notes of a conversation, oldest first.
    pub async fn notes(&self, conversation_id: i64) -> Result<Vec<NoteRow>> {
        let rows = sqlx::query(
            "select id, author, text, created_at from notes where conversation_id = $1 order by id",
        )
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NoteRow {
                    id: r.try_get("id")?,
                    author: r.try_get("author")?,
                    text: r.try_get("text")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Transfer a conversation to an office and queue the office's email, in one
    /// transaction: either both happen or neither.
    pub async fn transfer_and_notify(
        &self,
        conversation_id: i64,
        office: &str,
        subject: &str,
        body: &str,
        actor: &str,
    ) -> Result<i64> {
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        let mail = OfficeMail {
            conversation_id,
            office,
            subject,
            body,
            actor,
        };
        let done = async {
            super::conversations::transfer_in(&mut w.tx, conversation_id, office, actor, now)
                .await?;
            notify_in(&mut w.tx, &mail, now).await
        }
        .await;
        match done {
            Ok(id) => {
                w.commit().await?;
                Ok(id)
            }
            Err(e) => {
                w.rollback().await?;
                Err(e)
            }
        }
    }

    /// The office emails of a conversation, oldest first.
    pub async fn office_notifications(
        &self,
        conversation_id: i64,
    ) -> Result<Vec<OfficeNotificationRow>> {
        let rows = sqlx::query(
            "select id, conversation_id, office_id, recipient, subject, body, state, created_by, created_at \
             from office_notifications where conversation_id = $1 order by id",
        )
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OfficeNotificationRow {
                    id: r.try_get("id")?,
                    conversation_id: r.try_get("conversation_id")?,
                    office: r.try_get("office_id")?,
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    state: r.try_get("state")?,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Propose a citizen's question as a phrasing of a sheet, for an editor to approve.
    pub async fn propose_phrasing(
        &self,
        sheet_id: &str,
        text: &str,
        conversation_id: i64,
        message_id: Option<i64>,
        actor: &str,
    ) -> Result<i64> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Refusal::EmptyPhrasing.into());
        }
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        let known: Option<String> = sqlx::query_scalar("select id from sheets where id = $1")
            .bind(sheet_id)
            .fetch_optional(&mut *w.tx)
            .await?;
        if known.is_none() {
            return Err(Refusal::UnknownSheet(sheet_id.to_string()).into());
        }
        let id: i64 = sqlx::query_scalar(
            "insert into proposed_phrasings (sheet_id, text, conversation_id, message_id, state, proposed_by, created_at) \
             values ($1, $2, $3, $4, 'pending', $5, $6) returning id",
        )
        .bind(sheet_id)
        .bind(text)
        .bind(conversation_id)
        .bind(message_id)
        .bind(actor)
        .bind(now)
        .fetch_one(&mut *w.tx)
        .await?;
        let detail = serde_json::json!({ "phrasing": id, "conversation": conversation_id });
        audit(
            &mut w.tx,
            now,
            actor,
            "teach",
            &format!("sheet:{sheet_id}"),
            &detail,
        )
        .await?;
        w.commit().await?;
        Ok(id)
    }

    /// Proposed phrasings of a conversation, oldest first.
    pub async fn proposed_phrasings(&self, conversation_id: i64) -> Result<Vec<PhrasingRow>> {
        let rows = sqlx::query(&format!(
            "select {PHRASING_COLUMNS} from proposed_phrasings where conversation_id = $1 order by id"
        ))
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(phrasing_row).collect()
    }
}

/// The email to an office about a transferred conversation.
pub(crate) struct OfficeMail<'a> {
    pub(crate) conversation_id: i64,
    pub(crate) office: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) body: &'a str,
    pub(crate) actor: &'a str,
}

/// Queue an office email inside a transaction.
pub(crate) async fn notify_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    mail: &OfficeMail<'_>,
    now: i64,
) -> Result<i64> {
    let recipient: Option<String> = sqlx::query_scalar("select email from offices where id = $1")
        .bind(mail.office)
        .fetch_optional(&mut **tx)
        .await?;
    let recipient = recipient.ok_or_else(|| Refusal::UnknownOffice(mail.office.to_string()))?;
    Ok(sqlx::query_scalar(
        "insert into office_notifications (conversation_id, office_id, recipient, subject, body, state, \
         created_by, created_at) values ($1, $2, $3, $4, $5, 'pending', $6, $7) returning id",
    )
    .bind(mail.conversation_id)
    .bind(mail.office)
    .bind(&recipient)
    .bind(mail.subject)
    .bind(mail.body)
    .bind(mail.actor)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// Columns read by [`phrasing_row`].
pub(crate) const PHRASING_COLUMNS: &str =
    "id, sheet_id, text, conversation_id, state, proposed_by, created_at";

/// A proposed phrasing from a row of [`PHRASING_COLUMNS`].
pub(crate) fn phrasing_row(r: &sqlx::any::AnyRow) -> Result<PhrasingRow> {
    Ok(PhrasingRow {
        id: r.try_get("id")?,
        sheet_id: r.try_get("sheet_id")?,
        text: r.try_get("text")?,
        conversation_id: r.try_get("conversation_id")?,
        state: r.try_get("state")?,
        proposed_by: r.try_get("proposed_by")?,
        created_at: r.try_get("created_at")?,
    })
}
