//! Intake: every inbound message is stored, decided and answered in one transaction.
//!
//! `receive` dedupes on (channel, platform id), finds or opens the conversation of the
//! thread, stores the message with its outcome and the channel's cursor, and writes any reply
//! to the outbox, all in one transaction. A conversation held by operators is never answered
//! by the bot: the citizen gets at most one short acknowledgement.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sqlx::{Any, Row, Transaction};
use tokio::sync::Notify;

use crate::channel::ChannelCaps;
use crate::error::{Error, Refusal, Result};
use crate::health::{Health, Metric};
use crate::model::{Action, Author, Button, ConversationStatus, Inbound};
use crate::policy::{Outcome, Policy, Reply};
use crate::store::{Backend, Store, audit, set_cursor};
use sportello_faq::DecisionKind;

mod feedback;
mod transfer;

pub use transfer::{OfficeEmail, Transferred};

/// What happened to an inbound message.
#[derive(Debug, Clone, PartialEq)]
pub enum Receipt {
    /// Stored, with its outcome.
    Stored {
        /// The conversation it joined or opened.
        conversation_id: i64,
        /// The stored message.
        message_id: i64,
        /// The outcome.
        decision: DecisionKind,
        /// Replies written to the outbox.
        replies: usize,
    },
    /// Already stored earlier (a redelivery); nothing was done but advancing the cursor.
    Duplicate {
        /// The message stored the first time.
        message_id: i64,
    },
    /// A 👍/👎 or a rating.
    Feedback {
        /// Recorded now; `false` for a redelivery, a second rating, or a stale or forged
        /// button (one that is not this citizen's).
        recorded: bool,
        /// The button was not this citizen's or no longer applies.
        stale: bool,
        /// Replies written to the outbox (the alternatives after a 👎).
        replies: usize,
    },
}

/// Stores inbound messages and answers them.
pub struct Intake {
    store: Store,
    policy: Arc<Policy>,
    caps: RwLock<HashMap<String, ChannelCaps>>,
    /// The channels that run in this deployment (not only known to this build).
    active: RwLock<std::collections::HashSet<String>>,
    outbox_ready: Arc<Notify>,
    health: Arc<Health>,
    /// The web chat's resume links, when the web chat runs: the email copy of an operator's
    /// reply carries one.
    resume: Option<crate::resume::ResumeLinks>,
}

/// Text safe for both backends: PostgreSQL text cannot hold NUL, so NUL becomes U+2400 (␀)
/// and the original bytes are kept in `raw`.
fn storable(text: &str, raw: Option<&[u8]>) -> (String, Option<Vec<u8>>) {
    if text.contains('\0') {
        (
            text.replace('\0', "\u{2400}"),
            Some(
                raw.map(<[u8]>::to_vec)
                    .unwrap_or_else(|| text.as_bytes().to_vec()),
            ),
        )
    } else {
        (text.to_string(), raw.map(<[u8]>::to_vec))
    }
}

impl Intake {
    /// Intake over a store and a policy.
    pub fn new(store: Store, policy: Arc<Policy>, health: Arc<Health>) -> Self {
        Self {
            store,
            policy,
            caps: RwLock::new(HashMap::new()),
            active: RwLock::new(Default::default()),
            outbox_ready: Arc::new(Notify::new()),
            health,
            resume: None,
        }
    }

    /// The same intake, making the web chat's resume links with `links`.
    pub fn with_resume_links(mut self, links: crate::resume::ResumeLinks) -> Self {
        self.resume = Some(links);
        self
    }

    /// The web chat's resume links, when configured.
    pub fn resume_links(&self) -> Option<&crate::resume::ResumeLinks> {
        self.resume.as_ref()
    }

    /// Tell intake what a channel can show, so replies fit it.
    pub fn register(&self, channel: &str, caps: ChannelCaps) {
        self.caps
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(channel.to_string(), caps);
    }

    /// Mark a channel as running here, so other channels may hand messages to it (an
    /// operator's reply to a web chat citizen who left, by email).
    pub fn activate(&self, channel: &str) {
        self.active
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(channel.to_string());
    }

    /// Whether a channel runs here.
    pub fn is_active(&self, channel: &str) -> bool {
        self.active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(channel)
    }

    /// Every registered channel with what it can show, by name.
    pub fn registered(&self) -> Vec<(String, ChannelCaps)> {
        let mut all: Vec<(String, ChannelCaps)> = self
            .caps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The capabilities of a channel (defaults for unknown ones).
    pub fn caps(&self, channel: &str) -> ChannelCaps {
        self.caps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(channel)
            .copied()
            .unwrap_or_default()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The policy.
    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// Channel health and counters.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Notified whenever rows are added to the outbox.
    pub fn outbox_ready(&self) -> Arc<Notify> {
        self.outbox_ready.clone()
    }

    /// Store one inbound message and answer it.
    pub async fn receive(&self, inbound: Inbound) -> Result<Receipt> {
        let inbound = inbound.without_nul();
        if matches!(
            inbound.action,
            Action::Feedback { .. } | Action::Rate { .. }
        ) {
            let receipt = self.feedback(&inbound).await?;
            if let Receipt::Feedback { replies, .. } = receipt
                && replies > 0
            {
                self.outbox_ready.notify_one();
            }
            self.health.count(Metric::Feedback, &inbound.channel);
            return Ok(receipt);
        }
        let caps = self.caps(&inbound.channel);
        // Deciding before the transaction keeps the write lock short. The decision is used
        // only if the bot still holds the conversation. With the sentence encoder a new
        // question costs milliseconds of CPU: off the async threads.
        let outcome = {
            let policy = Arc::clone(&self.policy);
            let (text, action) = (inbound.text.clone(), inbound.action.clone());
            tokio::task::spawn_blocking(move || policy.decide(&text, &action, caps))
                .await
                .map_err(|e| Error::Corrupt(format!("deciding failed: {e}")))?
        };
        // A concurrent delivery of the same message can win the race on PostgreSQL between
        // our duplicate check and our insert; the second pass then sees it as a duplicate.
        for _ in 0..3 {
            if let Some(receipt) = self.try_receive(&inbound, &outcome).await? {
                match &receipt {
                    Receipt::Stored {
                        decision, replies, ..
                    } => {
                        self.health.count(Metric::MessagesIn, &inbound.channel);
                        self.health.count(Metric::Decisions, decision.as_str());
                        if *replies > 0 {
                            self.outbox_ready.notify_one();
                        }
                    }
                    Receipt::Duplicate { .. } => {
                        self.health.count(Metric::Duplicates, &inbound.channel)
                    }
                    Receipt::Feedback { .. } => {}
                }
                return Ok(receipt);
            }
        }
        Err(Error::Conflict(format!(
            "message {} on {} kept racing",
            inbound.platform_id, inbound.channel
        )))
    }

    async fn try_receive(&self, inbound: &Inbound, outcome: &Outcome) -> Result<Option<Receipt>> {
        let now = self.store.now_ms();
        let mut w = self.store.begin_write().await?;
        // Redeliveries are rare: rather than look for the message first, insert it and let
        // the unique (channel, platform id) index say when it is a duplicate.
        let Opened {
            id: conversation_id,
            status,
            acknowledged,
            queue_told,
        } = open_conversation(&mut w.tx, inbound, now).await?;
        let (text, raw) = storable(&inbound.text, inbound.raw.as_deref());
        let attachments = (!inbound.attachments.is_empty())
            .then(|| serde_json::to_string(&inbound.attachments).unwrap_or_default());

        let bot_holds = status == ConversationStatus::Bot;
        // While waiting in the queue, a question that clearly matches a sheet still gets the
        // sheet's answer, marked as automatic; the conversation stays in the queue.
        let waiting = status == ConversationStatus::Queued && inbound.action != Action::Quiet;
        let auto_answer = waiting && outcome.decision == DecisionKind::Answer;
        // the sheet an answer used, counted by the statistics
        let sheet_id = ((bot_holds || auto_answer) && outcome.decision == DecisionKind::Answer)
            .then(|| outcome.candidates.first().map(|c| c.sheet_id.clone()))
            .flatten();
        let (decision, reason, confidence, candidates) = if auto_answer {
            (
                DecisionKind::Answer,
                "answered_while_queued".to_string(),
                outcome.confidence.map(f64::from),
                Some(serde_json::to_string(&outcome.candidates).unwrap_or_default()),
            )
        } else if bot_holds {
            (
                outcome.decision,
                outcome.reason.clone(),
                outcome.confidence.map(f64::from),
                Some(serde_json::to_string(&outcome.candidates).unwrap_or_default()),
            )
        } else {
            (
                DecisionKind::Handoff,
                "with_operator".to_string(),
                None,
                None,
            )
        };
        let message_id: Option<i64> = sqlx::query_scalar(
            "insert into messages (conversation_id, channel, direction, author, platform_id, text, raw, attachments, \
             decision, reason, confidence, candidates, created_at, sheet_id) \
             values ($1, $2, 'in', 'citizen', $3, $4, $5, $6, $7, $8, nullif($9, -1.0), $10, $11, $12) \
             on conflict (channel, platform_id) do nothing returning id",
        )
        .bind(conversation_id)
        .bind(&inbound.channel)
        .bind(&inbound.platform_id)
        .bind(&text)
        .bind(raw)
        .bind(attachments)
        .bind(decision.as_str())
        .bind(&reason)
        // sqlx 0.8's Any driver sends a NULL double to PostgreSQL typed as float4, which breaks
        // the cached statement for later non-NULL values; so NULL travels as -1 (`nullif`).
        .bind(confidence.unwrap_or(-1.0))
        .bind(candidates)
        .bind(now)
        .bind(sheet_id)
        .fetch_optional(&mut *w.tx)
        .await?;
        let Some(message_id) = message_id else {
            // Release the write gate before the duplicate path takes it again.
            w.rollback().await?;
            return self.duplicate(inbound).await;
        };
        if let Some(cursor) = &inbound.cursor {
            set_cursor(&mut w.tx, &inbound.channel, cursor, now).await?;
        }

        let (ack, handoff);
        let reply: Option<&Reply> = if bot_holds {
            if outcome.escalate {
                let office = self
                    .handoff_office(&mut w.tx, conversation_id, outcome)
                    .await?;
                sqlx::query(
                    "update conversations set status = 'queued', escalated_at = $2, acknowledged = 1, \
                     queue_told = 0, last_message_at = $2, office_id = coalesce(office_id, $3) where id = $1",
                )
                .bind(conversation_id)
                .bind(now)
                .bind(office)
                .execute(&mut *w.tx)
                .await?;
                // Out of hours, the handoff notice says when the office reopens.
                handoff = outcome.reply.clone().map(|mut r| {
                    if let Some(closed) = self.policy.closed_notice(now) {
                        r.text = format!("{} {closed}", r.text);
                    }
                    r
                });
                handoff.as_ref()
            } else {
                outcome.reply.as_ref()
            }
        } else if waiting && (auto_answer || !queue_told) {
            ack = self
                .while_queued(
                    &mut w.tx,
                    conversation_id,
                    outcome,
                    auto_answer,
                    queue_told,
                    now,
                )
                .await?;
            Some(&ack)
        } else if status == ConversationStatus::Assigned
            && !acknowledged
            && inbound.action != Action::Quiet
        {
            // Operators hold the conversation: the citizen hears from the bot once, no more.
            sqlx::query("update conversations set acknowledged = 1 where id = $1")
                .bind(conversation_id)
                .execute(&mut *w.tx)
                .await?;
            ack = Reply::text(self.policy.texts().queued_ack.clone());
            Some(&ack)
        } else {
            None
        };
        let mut replies = 0;
        if let Some(reply) = reply {
            let target = Target {
                channel: &inbound.channel,
                recipient: &inbound.sender.external_id,
                thread: &inbound.thread,
                subject: inbound.subject.as_deref(),
            };
            insert_outgoing(
                &mut w.tx,
                self.store.backend(),
                &target,
                Some(&inbound.platform_id),
                conversation_id,
                Author::Bot,
                None,
                &reply.text_for(&conversation_id.to_string()),
                &self.policy.buttons_for(reply, message_id),
                now,
            )
            .await?;
            replies = 1;
        }
        crate::failpoint::hit("intake.before_commit");
        w.commit().await?;
        crate::failpoint::hit("intake.after_commit");
        Ok(Some(Receipt::Stored {
            conversation_id,
            message_id,
            decision,
            replies,
        }))
    }

    /// The office whose queue a handoff goes to: that of the sheet that needs an operator,
    /// or else of the last sheet the bot answered with in this conversation (the citizen
    /// asked for a person after it); `None` for the general queue.
    async fn handoff_office(
        &self,
        tx: &mut Transaction<'static, Any>,
        conversation_id: i64,
        outcome: &Outcome,
    ) -> Result<Option<String>> {
        let sheet = match outcome.reason.as_str() {
            "sheet_requires_operator" => outcome.candidates.first().map(|c| c.sheet_id.clone()),
            _ => sqlx::query_scalar(
                "select sheet_id from messages where conversation_id = $1 and sheet_id is not null \
                 order by id desc limit 1",
            )
            .bind(conversation_id)
            .fetch_optional(&mut **tx)
            .await?
            .flatten(),
        };
        Ok(sheet.and_then(|s| self.policy.sheet_office(&s)))
    }

    /// The reply to a message written while waiting in the queue: a clear match's answer,
    /// marked as automatic, and, the first time, where the citizen stands.
    async fn while_queued(
        &self,
        tx: &mut Transaction<'static, Any>,
        conversation_id: i64,
        outcome: &Outcome,
        auto_answer: bool,
        queue_told: bool,
        now: i64,
    ) -> Result<Reply> {
        let mut parts = Vec::new();
        let mut reply = Reply::default();
        if let Some(answer) = outcome.reply.as_ref().filter(|_| auto_answer) {
            parts.push(self.policy.texts().automatic_answer.clone());
            parts.push(answer.text.clone());
            reply.feedback = answer.feedback;
        }
        if !queue_told {
            let position: i64 = sqlx::query_scalar(
                "select count(*) from conversations where status = 'queued' and escalated_at <= \
                 (select escalated_at from conversations where id = $1)",
            )
            .bind(conversation_id)
            .fetch_one(&mut **tx)
            .await?;
            sqlx::query("update conversations set queue_told = 1 where id = $1")
                .bind(conversation_id)
                .execute(&mut **tx)
                .await?;
            parts.push(self.policy.queue_status(position.max(1), now));
        }
        reply.text = parts.join("\n\n");
        Ok(reply)
    }

    /// A web chat citizen who is not connected and left an email address gets the operator's
    /// reply `message` by email too: a second delivery of the same message.
    async fn copy_by_email(
        &self,
        tx: &mut Transaction<'static, Any>,
        conversation_id: i64,
        message: i64,
        text: &str,
        now: i64,
    ) -> Result<()> {
        let row = sqlx::query(
            "select k.email, k.online_until, k.external_id from conversations c \
             join contacts k on k.id = c.contact_id where c.id = $1",
        )
        .bind(conversation_id)
        .fetch_one(&mut **tx)
        .await?;
        let email: Option<String> = row.try_get("email")?;
        let online = row.try_get::<i64, _>("online_until")? > now;
        let Some(email) = email.filter(|_| !online) else {
            return Ok(());
        };
        let reference = conversation_id.to_string();
        let texts = self.policy.texts();
        let mut body = format!(
            "{}\n\n{text}",
            texts.reply_email_intro.replace("{ref}", &reference)
        );
        let thread: String = row.try_get("external_id")?;
        if let Some(links) = &self.resume
            && let Some(link) = links.public_link(&thread, now)
        {
            body.push_str("\n\n");
            body.push_str(
                &texts
                    .reply_email_resume
                    .replace("{days}", &links.days().to_string())
                    .replace("{link}", &link),
            );
        }
        sqlx::query(
            "insert into outbox (message_id, conversation_id, channel, recipient, thread, subject, text, \
             state, attempts, due_at, created_at) \
             values ($1, $2, 'email', $3, $4, $5, $6, 'pending', 0, $7, $7)",
        )
        .bind(message)
        .bind(conversation_id)
        .bind(&email)
        .bind(format!("webchat-{conversation_id}"))
        .bind(texts.reply_email_subject.replace("{ref}", &reference))
        .bind(body)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// A message stored before: only advance the cursor. `None` when the earlier copy has
    /// vanished (its transaction rolled back), so the caller tries again.
    async fn duplicate(&self, inbound: &Inbound) -> Result<Option<Receipt>> {
        let mut w = self.store.begin_write().await?;
        let existing: Option<i64> =
            sqlx::query_scalar("select id from messages where channel = $1 and platform_id = $2")
                .bind(&inbound.channel)
                .bind(&inbound.platform_id)
                .fetch_optional(&mut *w.tx)
                .await?;
        let Some(message_id) = existing else {
            return Ok(None);
        };
        if let Some(cursor) = &inbound.cursor {
            set_cursor(&mut w.tx, &inbound.channel, cursor, self.store.now_ms()).await?;
        }
        w.commit().await?;
        Ok(Some(Receipt::Duplicate { message_id }))
    }

    /// An operator's reply: stored, sent through the citizen's channel, and the first
    /// response time recorded. The operator must hold the conversation.
    pub async fn operator_reply(
        &self,
        conversation_id: i64,
        user_id: i64,
        actor: &str,
        text: &str,
    ) -> Result<i64> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Refusal::EmptyReply.into());
        }
        let now = self.store.now_ms();
        let mut w = self.store.begin_write().await?;
        let held = conversation_in(&mut w.tx, conversation_id)
            .await?
            .ok_or(Refusal::NoConversation(conversation_id))?;
        if held.status != "assigned" || held.assignee != Some(user_id) {
            return Err(Refusal::NotAssignedTo {
                conversation: conversation_id,
                actor: actor.to_string(),
            }
            .into());
        }
        let target = held.target();
        let reply_to: Option<String> = sqlx::query_scalar(
            "select platform_id from messages where conversation_id = $1 and direction = 'in' order by id desc limit 1",
        )
        .bind(conversation_id)
        .fetch_optional(&mut *w.tx)
        .await?
        .flatten();
        let id = insert_outgoing(
            &mut w.tx,
            self.store.backend(),
            &target,
            reply_to.as_deref(),
            conversation_id,
            Author::Operator,
            Some(user_id),
            text,
            &[],
            now,
        )
        .await?;
        if held.channel == "webchat" && self.is_active("email") {
            self.copy_by_email(&mut w.tx, conversation_id, id, text, now)
                .await?;
        }
        sqlx::query(
            "update conversations set first_response_at = coalesce(first_response_at, $2), last_message_at = $2 where id = $1",
        )
        .bind(conversation_id)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        audit(
            &mut w.tx,
            now,
            actor,
            "reply",
            &format!("conversation:{conversation_id}"),
            &serde_json::json!({ "message": id }),
        )
        .await?;
        w.commit().await?;
        self.outbox_ready.notify_one();
        Ok(id)
    }
}

/// The conversation a message joins, as intake needs it.
struct Opened {
    id: i64,
    status: ConversationStatus,
    /// The citizen has had the one acknowledgement an operator's conversation gives.
    acknowledged: bool,
    /// The citizen has been told where they stand in the queue.
    queue_told: bool,
}

/// Find the open conversation of the thread, or open one (with its contact).
async fn open_conversation(
    tx: &mut Transaction<'static, Any>,
    inbound: &Inbound,
    now: i64,
) -> Result<Opened> {
    // Finding the conversation also stamps its last message time: one statement, not two.
    let find = "update conversations set last_message_at = $3 \
                where channel = $1 and thread = $2 and status <> 'resolved' \
                returning id, status, acknowledged, queue_told";
    for _ in 0..2 {
        if let Some(row) = sqlx::query(find)
            .bind(&inbound.channel)
            .bind(&inbound.thread)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?
        {
            let status: String = row.try_get("status")?;
            return Ok(Opened {
                id: row.try_get("id")?,
                status: ConversationStatus::parse(&status)
                    .ok_or_else(|| Error::Corrupt(format!("status {status:?}")))?,
                acknowledged: row.try_get::<i64, _>("acknowledged")? != 0,
                queue_told: row.try_get::<i64, _>("queue_told")? != 0,
            });
        }
        let contact_id: i64 = sqlx::query_scalar(
            "insert into contacts (channel, external_id, display_name, created_at) values ($1, $2, $3, $4) \
             on conflict (channel, external_id) do update set display_name = excluded.display_name returning id",
        )
        .bind(&inbound.channel)
        .bind(&inbound.sender.external_id)
        .bind(&inbound.sender.display_name)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        let id: Option<i64> = sqlx::query_scalar(
            "insert into conversations (contact_id, channel, thread, subject, status, opened_at, last_message_at) \
             values ($1, $2, $3, $4, 'bot', $5, $5) \
             on conflict (channel, thread) where status <> 'resolved' do nothing returning id",
        )
        .bind(contact_id)
        .bind(&inbound.channel)
        .bind(&inbound.thread)
        .bind(&inbound.subject)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(id) = id {
            return Ok(Opened {
                id,
                status: ConversationStatus::Bot,
                acknowledged: false,
                queue_told: false,
            });
        }
    }
    Err(Error::Conflict(format!(
        "cannot open a conversation for thread {}",
        inbound.thread
    )))
}

struct Target<'a> {
    channel: &'a str,
    recipient: &'a str,
    thread: &'a str,
    subject: Option<&'a str>,
}

/// A stored conversation as replies to it need it: where they go, and who holds it.
struct Held {
    channel: String,
    thread: String,
    subject: Option<String>,
    recipient: String,
    status: String,
    assignee: Option<i64>,
    unreachable: bool,
}

impl Held {
    fn target(&self) -> Target<'_> {
        Target {
            channel: &self.channel,
            recipient: &self.recipient,
            thread: &self.thread,
            subject: self.subject.as_deref(),
        }
    }
}

/// The conversation `id`, with its contact.
async fn conversation_in(tx: &mut Transaction<'static, Any>, id: i64) -> Result<Option<Held>> {
    let row = sqlx::query(
        "select c.channel, c.thread, c.subject, c.status, c.assignee_id, k.external_id, k.unreachable \
         from conversations c join contacts k on k.id = c.contact_id where c.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Held {
        channel: row.try_get("channel")?,
        thread: row.try_get("thread")?,
        subject: row.try_get("subject")?,
        recipient: row.try_get("external_id")?,
        status: row.try_get("status")?,
        assignee: row.try_get("assignee_id")?,
        unreachable: row.try_get::<i64, _>("unreachable")? != 0,
    }))
}

const OUTGOING_POSTGRES: &str = "with m as (\
    insert into messages (conversation_id, channel, direction, author, author_user_id, text, created_at) \
    values ($1, $2, 'out', $3, $4, $5, $6) returning id) \
    insert into outbox (message_id, conversation_id, channel, recipient, thread, subject, reply_to, text, buttons, \
    state, attempts, due_at, created_at) \
    select id, $1, $2, $7, $8, $9, $10, $5, $11, 'pending', 0, $6, $6 from m returning message_id";

/// SQLite has no INSERT in a WITH clause; two statements in one call, the second taking the
/// first's row id (sqlx binds `$N` by absolute number across the statements).
const OUTGOING_SQLITE: &str = "\
    insert into messages (conversation_id, channel, direction, author, author_user_id, text, created_at) \
    values ($1, $2, 'out', $3, $4, $5, $6); \
    insert into outbox (message_id, conversation_id, channel, recipient, thread, subject, reply_to, text, buttons, \
    state, attempts, due_at, created_at) \
    values (last_insert_rowid(), $1, $2, $7, $8, $9, $10, $5, $11, 'pending', 0, $6, $6) returning message_id";

/// Store an outbound message and its outbox row.
#[allow(clippy::too_many_arguments)]
async fn insert_outgoing(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    target: &Target<'_>,
    reply_to: Option<&str>,
    conversation_id: i64,
    author: Author,
    user_id: Option<i64>,
    text: &str,
    buttons: &[Button],
    now: i64,
) -> Result<i64> {
    // One round trip for the message and its outbox row: each statement costs a hop to the
    // database thread (SQLite) or server, and intake is bound by those hops, not by SQL.
    let sql = match backend {
        Backend::Postgres => OUTGOING_POSTGRES,
        Backend::Sqlite => OUTGOING_SQLITE,
    };
    let buttons = (!buttons.is_empty()).then(|| serde_json::to_string(buttons).unwrap_or_default());
    let message_id: i64 = sqlx::query_scalar(sql)
        .bind(conversation_id)
        .bind(target.channel)
        .bind(author.as_str())
        .bind(user_id)
        .bind(text)
        .bind(now)
        .bind(target.recipient)
        .bind(target.thread)
        .bind(target.subject)
        .bind(reply_to)
        .bind(buttons)
        // `fetch_all`: SQLite's `fetch_one` would stop at the first statement, which returns
        // no row.
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Corrupt("outbox insert returned no id".into()))?;
    Ok(message_id)
}
