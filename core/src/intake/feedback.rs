//! Citizens' 👍/👎 on answers and ratings of resolved conversations, and closing a
//! conversation with its one rating request.
//!
//! A button press names what it judges (`fb:<message>:y`, `rate:<conversation>:<n>`); the
//! press is accepted only when that message or conversation belongs to the same citizen on the
//! same channel, so a forged button cannot rate someone else's conversation.

use sqlx::Row;

use super::{Intake, Receipt, Target, conversation_in, insert_outgoing};
use crate::error::{Refusal, Result};
use crate::model::{Action, Author, Inbound};
use crate::store::{resolve_in, set_cursor};
use sportello_faq::Candidate;

/// What a press judges, once checked against its sender.
struct Judged {
    conversation_id: i64,
    message_id: Option<i64>,
    sheet_id: Option<String>,
    kind: &'static str,
    score: Option<i64>,
    /// The other sheets to offer after a 👎, while the bot holds the conversation.
    alternatives: Option<Vec<Candidate>>,
}

impl Intake {
    /// Record a 👍/👎 or a rating; after a 👎 offer the other sheets and a person.
    pub(super) async fn feedback(&self, inbound: &Inbound) -> Result<Receipt> {
        let now = self.store.now_ms();
        let mut w = self.store.begin_write().await?;
        if let Some(cursor) = &inbound.cursor {
            set_cursor(&mut w.tx, &inbound.channel, cursor, now).await?;
        }
        let Some(judged) = judge(&mut w.tx, inbound).await? else {
            w.commit().await?;
            return Ok(Receipt::Feedback {
                recorded: false,
                stale: true,
                replies: 0,
            });
        };
        let id: Option<i64> = sqlx::query_scalar(
            "insert into feedback (channel, platform_id, conversation_id, message_id, sheet_id, kind, score, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (channel, platform_id) do nothing returning id",
        )
        .bind(&inbound.channel)
        .bind(&inbound.platform_id)
        .bind(judged.conversation_id)
        .bind(judged.message_id)
        .bind(&judged.sheet_id)
        .bind(judged.kind)
        .bind(judged.score)
        .bind(now)
        .fetch_optional(&mut *w.tx)
        .await?;
        if id.is_none() {
            w.commit().await?;
            return Ok(Receipt::Feedback {
                recorded: false,
                stale: false,
                replies: 0,
            });
        }
        let mut replies = 0;
        if let Some(candidates) = &judged.alternatives {
            let reply = self
                .policy
                .alternatives(candidates, judged.sheet_id.as_deref());
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
                None,
                judged.conversation_id,
                Author::Bot,
                None,
                &reply.text_for(&judged.conversation_id.to_string()),
                &reply.buttons,
                now,
            )
            .await?;
            replies = 1;
        }
        w.commit().await?;
        Ok(Receipt::Feedback {
            recorded: true,
            stale: false,
            replies,
        })
    }

    /// Close a conversation for an operator and, where the channel shows buttons, ask the
    /// citizen once for a rating.
    pub async fn resolve(&self, conversation_id: i64, actor: &str) -> Result<()> {
        let now = self.store.now_ms();
        let mut w = self.store.begin_write().await?;
        let Some(held) = conversation_in(&mut w.tx, conversation_id).await? else {
            w.rollback().await?;
            return Err(Refusal::NoConversation(conversation_id).into());
        };
        if !resolve_in(&mut w.tx, conversation_id, actor, now).await? {
            w.rollback().await?;
            return Err(Refusal::AlreadyResolved(conversation_id).into());
        }
        let mut asked = false;
        if self.caps(&held.channel).buttons && !held.unreachable {
            let target = held.target();
            let reply = self.policy.rating_request(conversation_id);
            insert_outgoing(
                &mut w.tx,
                self.store.backend(),
                &target,
                None,
                conversation_id,
                Author::Bot,
                None,
                &reply.text_for(&conversation_id.to_string()),
                &reply.buttons,
                now,
            )
            .await?;
            asked = true;
        }
        w.commit().await?;
        if asked {
            self.outbox_ready.notify_one();
        }
        Ok(())
    }
}

/// What the press judges, if it is this citizen's to judge.
/// The sheets of the last list offered before `message` in the conversation.
async fn offered_before(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    conversation_id: i64,
    message: i64,
) -> Result<Option<Vec<Candidate>>> {
    let candidates: Option<Option<String>> = sqlx::query_scalar(
        "select candidates from messages where conversation_id = $1 and direction = 'in' \
         and decision = 'clarify' and id < $2 order by id desc limit 1",
    )
    .bind(conversation_id)
    .bind(message)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(candidates
        .flatten()
        .and_then(|c| serde_json::from_str(&c).ok()))
}

async fn judge(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    inbound: &Inbound,
) -> Result<Option<Judged>> {
    match inbound.action {
        Action::Feedback { message, useful } => {
            let row = sqlx::query(
                "select m.conversation_id, m.decision, m.reason, m.candidates, c.status from messages m \
                 join conversations c on c.id = m.conversation_id join contacts k on k.id = c.contact_id \
                 where m.id = $1 and m.direction = 'in' and m.channel = $2 and k.external_id = $3",
            )
            .bind(message)
            .bind(&inbound.channel)
            .bind(&inbound.sender.external_id)
            .fetch_optional(&mut **tx)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let decision: Option<String> = row.try_get("decision")?;
            let candidates: Vec<Candidate> = row
                .try_get::<Option<String>, _>("candidates")?
                .and_then(|c| serde_json::from_str(&c).ok())
                .unwrap_or_default();
            if decision.as_deref() != Some("answer") {
                return Ok(None);
            }
            let status: String = row.try_get("status")?;
            let conversation_id: i64 = row.try_get("conversation_id")?;
            let sheet_id = candidates.first().map(|c| c.sheet_id.clone());
            // An answer chosen from a list: after a 👎 the other choices of that list are
            // offered again, not only a person.
            let chosen = row.try_get::<Option<String>, _>("reason")?.as_deref() == Some("chosen");
            let alternatives = if !useful && status == "bot" {
                Some(if chosen {
                    offered_before(tx, conversation_id, message)
                        .await?
                        .unwrap_or(candidates)
                } else {
                    candidates
                })
            } else {
                None
            };
            Ok(Some(Judged {
                conversation_id,
                message_id: Some(message),
                sheet_id,
                kind: if useful { "useful" } else { "not_useful" },
                score: None,
                alternatives,
            }))
        }
        Action::Rate {
            conversation,
            score,
        } => {
            let owned: Option<i64> = sqlx::query_scalar(
                "select c.id from conversations c join contacts k on k.id = c.contact_id \
                 where c.id = $1 and c.channel = $2 and k.external_id = $3 and c.status = 'resolved' \
                 and not exists (select 1 from feedback f where f.conversation_id = c.id and f.kind = 'rating')",
            )
            .bind(conversation)
            .bind(&inbound.channel)
            .bind(&inbound.sender.external_id)
            .fetch_optional(&mut **tx)
            .await?;
            Ok(owned.map(|conversation_id| Judged {
                conversation_id,
                message_id: None,
                sheet_id: None,
                kind: "rating",
                score: Some(i64::from(score)),
                alternatives: None,
            }))
        }
        _ => Ok(None),
    }
}
