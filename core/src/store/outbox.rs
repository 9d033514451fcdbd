//! Outbox rows: claimed atomically by dispatchers, delivered in order per conversation.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Store};
use crate::error::Result;
use crate::model::{Button, Outgoing};

/// An outbox row as operators and `/healthz` see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// Conversation.
    pub conversation_id: i64,
    /// Channel name.
    pub channel: String,
    /// `pending`, `sending`, `sent` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The platform's reason for the last failure.
    pub last_error: Option<String>,
    /// The text.
    pub text: String,
    /// When it is (or was) due, unix ms.
    pub due_at: i64,
}

/// Backlog and failures, for `/healthz` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutboxStats {
    /// Rows waiting to be delivered (pending or being sent).
    pub backlog: i64,
    /// Rows that failed for good.
    pub failed: i64,
    /// Age in ms of the oldest undelivered row.
    pub oldest_backlog_ms: Option<i64>,
}

const COLUMNS: &str = "id, conversation_id, channel, recipient, thread, subject, reply_to, text, buttons, \
     attempts, lease, parts_sent";

fn outgoing(row: &AnyRow) -> Result<Outgoing> {
    let buttons: Option<String> = row.try_get("buttons")?;
    let buttons: Vec<Button> = match buttons {
        Some(b) => serde_json::from_str(&b).map_err(|e| crate::Error::Corrupt(e.to_string()))?,
        None => Vec::new(),
    };
    Ok(Outgoing {
        id: row.try_get("id")?,
        conversation_id: row.try_get("conversation_id")?,
        channel: row.try_get("channel")?,
        recipient: row.try_get("recipient")?,
        thread: row.try_get("thread")?,
        subject: row.try_get("subject")?,
        reply_to: row.try_get("reply_to")?,
        text: row.try_get("text")?,
        buttons,
        attempt: row.try_get("attempts")?,
        lease: row.try_get("lease")?,
        parts_sent: row.try_get("parts_sent")?,
    })
}

impl Store {
    /// Claim up to `batch` due rows of the given channels, at most one per conversation (the
    /// oldest undelivered), leasing them for `lease_ms`. Rows whose lease ran out (a crashed
    /// or stalled worker) are due again. Each claim takes a new lease number
    /// ([`Outgoing::lease`]): the outcome of a send is recorded only under the lease it was
    /// claimed with, so a worker that outlived its lease cannot overwrite the outcome of the
    /// worker that took the row back.
    pub async fn claim_outbox(
        &self,
        channels: &[String],
        batch: i64,
        lease_ms: i64,
    ) -> Result<Vec<Outgoing>> {
        self.claim_outbox_except(channels, batch, lease_ms, &[])
            .await
    }

    /// [`Store::claim_outbox`], never taking the rows in `busy`: those the caller is still
    /// sending or recording itself. A dispatcher whose record is slow (a busy database) must
    /// not take its own row back when the lease runs out and send it a second time.
    pub async fn claim_outbox_except(
        &self,
        channels: &[String],
        batch: i64,
        lease_ms: i64,
        busy: &[i64],
    ) -> Result<Vec<Outgoing>> {
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now_ms();
        let list: Vec<String> = (0..channels.len()).map(|i| format!("${}", i + 4)).collect();
        let busy_list: Vec<String> = (0..busy.len())
            .map(|i| format!("${}", i + 4 + channels.len()))
            .collect();
        let except = if busy.is_empty() {
            String::new()
        } else {
            format!("and o.id not in ({})", busy_list.join(", "))
        };
        let lock = match self.backend {
            Backend::Postgres => "for update skip locked",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "update outbox set state = 'sending', attempts = attempts + 1, locked_until = $2, \
               lease = lease + 1 \
             where id in (select o.id from outbox o \
               where ((o.state = 'pending' and o.due_at <= $1) or (o.state = 'sending' and o.locked_until < $1)) \
               and o.channel in ({}) {except} \
               and not exists (select 1 from outbox p where p.conversation_id = o.conversation_id \
                               and p.id < o.id and p.state in ('pending', 'sending')) \
               order by o.due_at, o.id limit $3 {lock}) \
             returning {COLUMNS}",
            list.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now).bind(now + lease_ms).bind(batch);
        for c in channels {
            query = query.bind(c);
        }
        for id in busy {
            query = query.bind(id);
        }
        let mut w = self.begin_write().await?;
        let rows = query.fetch_all(&mut *w.tx).await?;
        w.commit().await?;
        let mut out: Vec<Outgoing> = rows.iter().map(outgoing).collect::<Result<_>>()?;
        out.sort_by_key(|o| o.id);
        Ok(out)
    }

    /// Mark a row delivered, with the platform's id for it, if `lease` is still the row's
    /// lease. `false` when another claim took the row since (the outcome belongs to it).
    pub async fn outbox_sent(
        &self,
        id: i64,
        lease: i64,
        platform_ref: Option<&str>,
    ) -> Result<bool> {
        self.fenced(
            sqlx::query(
                "update outbox set state = 'sent', sent_at = $2, platform_ref = $3, locked_until = null \
                 where id = $1 and lease = $4 and state = 'sending'",
            )
            .bind(id)
            .bind(self.now_ms())
            .bind(platform_ref)
            .bind(lease),
        )
        .await
    }

    /// Put a row back to be tried again at `due_at`, remembering why it failed, if `lease` is
    /// still the row's lease. `false` when another claim took the row since.
    pub async fn outbox_retry(
        &self,
        id: i64,
        lease: i64,
        due_at: i64,
        reason: &str,
    ) -> Result<bool> {
        self.fenced(
            sqlx::query(
                "update outbox set state = 'pending', due_at = $2, last_error = $3, locked_until = null \
                 where id = $1 and lease = $4 and state = 'sending'",
            )
            .bind(id)
            .bind(due_at)
            .bind(reason)
            .bind(lease),
        )
        .await
    }

    /// Mark a row failed for good with the platform's reason; when the citizen cannot be
    /// reached any more (e.g. they blocked the bot), mark the contact too.
    ///
    /// With `Some(lease)` (a dispatcher's outcome) the row changes only while the lease is its
    /// own; `None` is for a failure learnt later, such as an email's bounce. `false` when
    /// nothing changed.
    pub async fn outbox_failed(
        &self,
        id: i64,
        lease: Option<i64>,
        reason: &str,
        unreachable: bool,
    ) -> Result<bool> {
        let mut w = self.begin_write().await?;
        let done = match lease {
            Some(lease) => sqlx::query(
                "update outbox set state = 'failed', last_error = $2, locked_until = null \
                 where id = $1 and lease = $3 and state = 'sending'",
            )
            .bind(id)
            .bind(reason)
            .bind(lease),
            None => sqlx::query(
                "update outbox set state = 'failed', last_error = $2, locked_until = null where id = $1",
            )
            .bind(id)
            .bind(reason),
        }
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if done == 1 && unreachable {
            sqlx::query(
                "update contacts set unreachable = 1, unreachable_reason = $2 where id = \
                 (select c.contact_id from conversations c join outbox o on o.conversation_id = c.id where o.id = $1)",
            )
            .bind(id)
            .bind(reason)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await?;
        Ok(done == 1)
    }

    /// Remember that the first `parts` parts of a split message were delivered, if `lease` is
    /// still the row's lease (`false` otherwise: the sender should stop).
    pub async fn outbox_parts_sent(&self, id: i64, lease: i64, parts: i64) -> Result<bool> {
        self.fenced(
            sqlx::query(
                "update outbox set parts_sent = $3 where id = $1 and lease = $2 and state = 'sending'",
            )
            .bind(id)
            .bind(lease)
            .bind(parts),
        )
        .await
    }

    /// Run one update conditional on a row's lease in a write transaction; whether it
    /// changed the row (`false`: the lease is no longer the caller's).
    async fn fenced<'q>(
        &self,
        update: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<bool> {
        let mut w = self.begin_write().await?;
        let done = update.execute(&mut *w.tx).await?.rows_affected();
        w.commit().await?;
        Ok(done == 1)
    }

    /// Put a failed row back in the queue, now (the console's "retry" action).
    pub async fn outbox_requeue(&self, id: i64) -> Result<bool> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "update outbox set state = 'pending', due_at = $2, attempts = 0 where id = $1 and state = 'failed'",
        )
        .bind(id)
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.commit().await?;
        Ok(done == 1)
    }

    /// The earliest time a pending row is due, if any.
    pub async fn outbox_next_due(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "select min(case when state = 'pending' then due_at else locked_until end) from outbox \
             where state in ('pending', 'sending')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Backlog and failures.
    pub async fn outbox_stats(&self) -> Result<OutboxStats> {
        let row = sqlx::query(
            "select \
               coalesce(sum(case when state in ('pending', 'sending') then 1 else 0 end), 0) as backlog, \
               coalesce(sum(case when state = 'failed' then 1 else 0 end), 0) as failed, \
               min(case when state in ('pending', 'sending') then created_at end) as oldest \
             from outbox where state <> 'sent'",
        )
        .fetch_one(&self.pool)
        .await?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        Ok(OutboxStats {
            backlog: row.try_get("backlog")?,
            failed: row.try_get("failed")?,
            oldest_backlog_ms: oldest.map(|t| self.now_ms() - t),
        })
    }

    /// Outbox rows of a conversation, oldest first.
    pub async fn outbox_of(&self, conversation_id: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "select id, conversation_id, channel, state, attempts, last_error, text, due_at from outbox \
             where conversation_id = $1 order by id",
        )
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// Rows that failed for good, newest first.
    pub async fn outbox_failures(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "select id, conversation_id, channel, state, attempts, last_error, text, due_at from outbox \
             where state = 'failed' order by id desc limit $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_row).collect()
    }
}

fn outbox_row(row: &AnyRow) -> Result<OutboxRow> {
    Ok(OutboxRow {
        id: row.try_get("id")?,
        conversation_id: row.try_get("conversation_id")?,
        channel: row.try_get("channel")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        text: row.try_get("text")?,
        due_at: row.try_get("due_at")?,
    })
}
