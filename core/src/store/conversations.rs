//! Conversations and their messages: reading them, and the operators' actions on them.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, audit};
use crate::error::{Error, Refusal, Result};
use crate::model::{Attachment, ConversationStatus};

/// A conversation as the console and API show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationRow {
    /// Id, also the citizen's reference number.
    pub id: i64,
    /// Channel name.
    pub channel: String,
    /// The channel thread.
    pub thread: String,
    /// The contact's external id.
    pub contact: String,
    /// The contact's name.
    pub contact_name: String,
    /// Whether the citizen can no longer be reached on the channel.
    pub unreachable: bool,
    /// Subject, when the channel has one.
    pub subject: Option<String>,
    /// Status.
    pub status: ConversationStatus,
    /// The operator holding it.
    pub assignee: Option<String>,
    /// The office it was transferred to.
    pub office: Option<String>,
    /// Opened, unix ms.
    pub opened_at: i64,
    /// Handed to operators, unix ms.
    pub escalated_at: Option<i64>,
    /// First operator reply, unix ms.
    pub first_response_at: Option<i64>,
    /// Resolved, unix ms.
    pub resolved_at: Option<i64>,
    /// Last message, unix ms.
    pub last_message_at: i64,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRow {
    /// Id.
    pub id: i64,
    /// `in` or `out`.
    pub direction: String,
    /// `citizen`, `bot` or `operator`.
    pub author: String,
    /// The operator's username, for operator messages.
    pub operator: Option<String>,
    /// The platform's id (inbound).
    pub platform_id: Option<String>,
    /// The text.
    pub text: String,
    /// The platform's original bytes, when they were not plain UTF-8.
    #[serde(skip)]
    pub raw: Option<Vec<u8>>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// The matcher's decision (inbound).
    pub decision: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Its confidence.
    pub confidence: Option<f64>,
    /// The sheets it considered, as JSON `[{"sheet_id","confidence"}]`.
    pub candidates: Option<serde_json::Value>,
    /// Stored, unix ms.
    pub created_at: i64,
}

const CONVERSATION_COLUMNS: &str = "c.id, c.channel, c.thread, k.external_id, k.display_name, k.unreachable, \
    c.subject, c.status, u.username, c.office_id, c.opened_at, c.escalated_at, c.first_response_at, \
    c.resolved_at, c.last_message_at";
const CONVERSATION_FROM: &str = "from conversations c join contacts k on k.id = c.contact_id left join users u on u.id = c.assignee_id";

fn conversation(row: &AnyRow) -> Result<ConversationRow> {
    let status: String = row.try_get("status")?;
    Ok(ConversationRow {
        id: row.try_get("id")?,
        channel: row.try_get("channel")?,
        thread: row.try_get("thread")?,
        contact: row.try_get("external_id")?,
        contact_name: row.try_get("display_name")?,
        unreachable: row.try_get::<i64, _>("unreachable")? != 0,
        subject: row.try_get("subject")?,
        status: ConversationStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("status {status:?}")))?,
        assignee: row.try_get("username")?,
        office: row.try_get("office_id")?,
        opened_at: row.try_get("opened_at")?,
        escalated_at: row.try_get("escalated_at")?,
        first_response_at: row.try_get("first_response_at")?,
        resolved_at: row.try_get("resolved_at")?,
        last_message_at: row.try_get("last_message_at")?,
    })
}

fn message(row: &AnyRow) -> Result<MessageRow> {
    let attachments: Option<String> = row.try_get("attachments")?;
    let candidates: Option<String> = row.try_get("candidates")?;
    Ok(MessageRow {
        id: row.try_get("id")?,
        direction: row.try_get("direction")?,
        author: row.try_get("author")?,
        operator: row.try_get("username")?,
        platform_id: row.try_get("platform_id")?,
        text: row.try_get("text")?,
        raw: row.try_get("raw")?,
        attachments: attachments
            .map(|a| serde_json::from_str(&a))
            .transpose()
            .map_err(|e| Error::Corrupt(e.to_string()))?
            .unwrap_or_default(),
        decision: row.try_get("decision")?,
        reason: row.try_get("reason")?,
        confidence: row.try_get("confidence")?,
        candidates: candidates
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// One conversation.
    pub async fn conversation(&self, id: i64) -> Result<ConversationRow> {
        let row = sqlx::query(&format!(
            "select {CONVERSATION_COLUMNS} {CONVERSATION_FROM} where c.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Refusal::NoConversation(id))?;
        conversation(&row)
    }

    /// Conversations with a status (all when `None`), waiting longest first for the queue
    /// statuses and newest first otherwise.
    pub async fn conversations(
        &self,
        status: Option<ConversationStatus>,
        limit: i64,
    ) -> Result<Vec<ConversationRow>> {
        let rows = match status {
            Some(s) => {
                let order = match s {
                    ConversationStatus::Queued | ConversationStatus::Assigned => "c.escalated_at, c.id",
                    _ => "c.last_message_at desc, c.id desc",
                };
                sqlx::query(&format!(
                    "select {CONVERSATION_COLUMNS} {CONVERSATION_FROM} where c.status = $1 order by {order} limit $2"
                ))
                .bind(s.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "select {CONVERSATION_COLUMNS} {CONVERSATION_FROM} order by c.last_message_at desc, c.id desc limit $1"
                ))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(conversation).collect()
    }

    /// The messages of a conversation, oldest first.
    pub async fn messages(&self, conversation_id: i64) -> Result<Vec<MessageRow>> {
        let rows = sqlx::query(
            "select m.id, m.direction, m.author, u.username, m.platform_id, m.text, m.raw, m.attachments, \
             m.decision, m.reason, m.confidence, m.candidates, m.created_at \
             from messages m left join users u on u.id = m.author_user_id \
             where m.conversation_id = $1 order by m.id",
        )
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message).collect()
    }

    /// Count of stored messages (all channels).
    pub async fn message_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("select count(*) from messages")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Conversations per status.
    pub async fn conversation_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "select status, count(*) as n from conversations group by status order by status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
            .collect()
    }

    /// Give a queued conversation to an operator. Atomic: of two operators claiming at once,
    /// exactly one succeeds; the other gets [`Error::Conflict`].
    pub async fn claim(&self, conversation_id: i64, user_id: i64, actor: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "update conversations set status = 'assigned', assignee_id = $2, \
             escalated_at = coalesce(escalated_at, $3) \
             where id = $1 and status in ('queued', 'bot')",
        )
        .bind(conversation_id)
        .bind(user_id)
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if done == 0 {
            w.rollback().await?;
            let c = self.conversation(conversation_id).await?;
            return Err(Refusal::NotWaiting {
                conversation: conversation_id,
                status: c.status,
                holder: c.assignee,
            }
            .into());
        }
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            "claim",
            &format!("conversation:{conversation_id}"),
            &serde_json::Value::Null,
        )
        .await?;
        w.commit().await
    }

    /// Put an assigned conversation back in the queue.
    pub async fn release(&self, conversation_id: i64, actor: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "update conversations set status = 'queued', assignee_id = null where id = $1 and status = 'assigned'",
        )
        .bind(conversation_id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(Refusal::NotAssigned(conversation_id).into());
        }
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            "release",
            &format!("conversation:{conversation_id}"),
            &serde_json::Value::Null,
        )
        .await?;
        w.commit().await
    }

    /// Close a conversation; the citizen's next message opens a new one.
    pub async fn resolve(&self, conversation_id: i64, actor: &str) -> Result<()> {
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        if !resolve_in(&mut w.tx, conversation_id, actor, now).await? {
            w.rollback().await?;
            self.conversation(conversation_id).await?;
            return Err(Refusal::AlreadyResolved(conversation_id).into());
        }
        w.commit().await
    }

    /// Tag a conversation with the office competent for it.
    pub async fn transfer(&self, conversation_id: i64, office: &str, actor: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        match transfer_in(&mut w.tx, conversation_id, office, actor, self.now_ms()).await {
            Ok(()) => w.commit().await,
            Err(e) => {
                w.rollback().await?;
                Err(e)
            }
        }
    }
}

/// Close a conversation inside a transaction, with its audit entry; `false` when it was
/// already closed.
pub(crate) async fn resolve_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    conversation_id: i64,
    actor: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "update conversations set status = 'resolved', resolved_at = $2 where id = $1 and status <> 'resolved'",
    )
    .bind(conversation_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Ok(false);
    }
    audit(
        tx,
        now,
        actor,
        "resolve",
        &format!("conversation:{conversation_id}"),
        &serde_json::Value::Null,
    )
    .await?;
    Ok(true)
}

/// Move an open conversation to an office's queue inside a transaction, with its audit
/// entry: whoever held it lets it go, and the office's members claim it from their queue.
pub(crate) async fn transfer_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    conversation_id: i64,
    office: &str,
    actor: &str,
    now: i64,
) -> Result<()> {
    let known: Option<String> = sqlx::query_scalar("select id from offices where id = $1")
        .bind(office)
        .fetch_optional(&mut **tx)
        .await?;
    if known.is_none() {
        return Err(Refusal::UnknownOffice(office.to_string()).into());
    }
    let done = sqlx::query(
        "update conversations set office_id = $2, status = 'queued', assignee_id = null, \
         escalated_at = coalesce(escalated_at, $3) where id = $1 and status <> 'resolved'",
    )
    .bind(conversation_id)
    .bind(office)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(Refusal::NoOpenConversation(conversation_id).into());
    }
    audit(
        tx,
        now,
        actor,
        "transfer",
        &format!("conversation:{conversation_id}"),
        &serde_json::json!({ "office": office }),
    )
    .await
}
