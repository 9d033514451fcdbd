//! Emails to offices about transferred conversations, sent by the email channel: a row is
//! leased before sending, so that with several processes each email leaves once, and a
//! process that dies mid-send leaves it to another after the lease.

use sqlx::Row;

use super::{OfficeNotificationRow, Store};
use crate::error::Result;

/// How long a lease on an office email lasts.
const LEASE_MS: i64 = 120_000;

/// Attempts after which an email that keeps failing is given up as failed.
pub const MAX_ATTEMPTS: i64 = 8;

impl Store {
    /// Lease the oldest office email waiting to be sent, if any.
    pub async fn lease_office_notification(&self) -> Result<Option<OfficeNotificationRow>> {
        let now = self.now_ms();
        // A plain read first: the sender polls, and most polls find nothing to write.
        let next: Option<i64> = sqlx::query_scalar(
            "select id from office_notifications where state = 'pending' \
             and (locked_until is null or locked_until < $1) order by id limit 1",
        )
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(id) = next else {
            return Ok(None);
        };
        let mut w = self.begin_write().await?;
        // The condition again: another process may have leased it since the select.
        let row = sqlx::query(
            "update office_notifications set locked_until = $2, attempts = attempts + 1 \
             where id = $1 and state = 'pending' and (locked_until is null or locked_until < $3) \
             returning id, conversation_id, office_id, recipient, subject, body, state, created_by, created_at",
        )
        .bind(id)
        .bind(now + LEASE_MS)
        .bind(now)
        .fetch_optional(&mut *w.tx)
        .await?;
        w.commit().await?;
        row.map(|r| {
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
        .transpose()
    }

    /// Record the outcome of sending office email `id`: sent, failed for good, or (a
    /// transient error) left for a later attempt after `retry_ms`.
    pub async fn finish_office_notification(
        &self,
        id: i64,
        outcome: OfficeMailOutcome<'_>,
    ) -> Result<()> {
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        let q = match outcome {
            OfficeMailOutcome::Sent => sqlx::query(
                "update office_notifications set state = 'sent', sent_at = $2, locked_until = null, \
                 last_error = null where id = $1",
            )
            .bind(id)
            .bind(now),
            OfficeMailOutcome::Failed(reason) => sqlx::query(
                "update office_notifications set state = 'failed', locked_until = null, last_error = $2 \
                 where id = $1",
            )
            .bind(id)
            .bind(reason.to_string()),
            OfficeMailOutcome::Retry { reason, retry_ms } => sqlx::query(
                "update office_notifications set state = case when attempts >= $4 then 'failed' else state end, \
                 locked_until = $3, last_error = $2 where id = $1",
            )
            .bind(id)
            .bind(reason.to_string())
            .bind(now + retry_ms)
            .bind(MAX_ATTEMPTS),
        };
        q.execute(&mut *w.tx).await?;
        w.commit().await
    }

    /// The last failure of each office email of a conversation, by id.
    pub async fn office_notification_errors(
        &self,
        conversation_id: i64,
    ) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "select id, last_error from office_notifications where conversation_id = $1 \
             and last_error is not null order by id",
        )
        .bind(conversation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("last_error")?)))
            .collect()
    }
}

/// How sending an office email ended.
#[derive(Debug, Clone, Copy)]
pub enum OfficeMailOutcome<'a> {
    /// The server accepted it.
    Sent,
    /// It can never be sent (a bad address).
    Failed(&'a str),
    /// Try again later.
    Retry {
        /// Why it failed this time.
        reason: &'a str,
        /// How long to wait.
        retry_ms: i64,
    },
}
