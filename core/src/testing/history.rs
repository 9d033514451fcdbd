//! Writing a history straight into the store, row by row: conversations with their times,
//! citizens' messages with the bot's decision, feedback and deliveries.

use crate::calendar::days_from_civil;
use crate::store::Store;

/// Unix ms of a local time in Rome in November (UTC+1).
pub fn rome_nov(day: i64, h: i64, m: i64) -> i64 {
    let d = days_from_civil(2026, 11, 1) + day - 1;
    d * 86_400_000 + (h * 60 + m) * 60_000 - 3_600_000
}

/// Rows written one statement at a time.
pub struct History<'a> {
    /// Where.
    pub store: &'a Store,
}

impl History<'_> {
    /// A contact on `channel`.
    pub async fn contact(&self, channel: &str, who: &str) -> i64 {
        sqlx::query_scalar(
            "insert into contacts (channel, external_id, created_at) values ($1, $2, 0) returning id",
        )
        .bind(channel)
        .bind(who)
        .fetch_one(self.store.pool())
        .await
        .unwrap()
    }

    /// A conversation opened at `opened`; `times` are escalated, first response, resolved.
    pub async fn conversation(
        &self,
        contact: i64,
        channel: &str,
        opened: i64,
        times: [Option<i64>; 3],
    ) -> i64 {
        let [esc, first, resolved] = times;
        let status = match (esc, resolved) {
            (_, Some(_)) => "resolved",
            (Some(_), None) if first.is_some() => "assigned",
            (Some(_), None) => "queued",
            _ => "bot",
        };
        sqlx::query_scalar(
            "insert into conversations (contact_id, channel, thread, status, opened_at, \
             escalated_at, first_response_at, resolved_at, last_message_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $5) returning id",
        )
        .bind(contact)
        .bind(channel)
        .bind(format!("t{opened}-{contact}"))
        .bind(status)
        .bind(opened)
        .bind(esc)
        .bind(first)
        .bind(resolved)
        .fetch_one(self.store.pool())
        .await
        .unwrap()
    }

    /// A citizen's message with the bot's decision and reason (and the sheet it answered with).
    pub async fn message(
        &self,
        conversation: i64,
        channel: &str,
        at: i64,
        decision: &str,
        reason: &str,
        sheet: Option<&str>,
    ) -> i64 {
        sqlx::query_scalar(
            "insert into messages (conversation_id, channel, direction, author, platform_id, text, \
             decision, reason, sheet_id, created_at) \
             values ($1, $2, 'in', 'citizen', $3, 'domanda', $4, $5, $6, $7) returning id",
        )
        .bind(conversation)
        .bind(channel)
        .bind(format!("p{at}-{conversation}-{decision}"))
        .bind(decision)
        .bind(reason)
        .bind(sheet)
        .bind(at)
        .fetch_one(self.store.pool())
        .await
        .unwrap()
    }

    /// A 👍/👎 (`useful`, `not_useful`) on an answer, or a `rating` with a score.
    #[allow(clippy::too_many_arguments)]
    pub async fn feedback(
        &self,
        conversation: i64,
        channel: &str,
        message: Option<i64>,
        sheet: Option<&str>,
        kind: &str,
        score: Option<i64>,
        at: i64,
    ) {
        sqlx::query(
            "insert into feedback (channel, platform_id, conversation_id, message_id, sheet_id, \
             kind, score, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(channel)
        .bind(format!("f{at}-{conversation}-{kind}"))
        .bind(conversation)
        .bind(message)
        .bind(sheet)
        .bind(kind)
        .bind(score)
        .bind(at)
        .execute(self.store.pool())
        .await
        .unwrap();
    }

    /// An outgoing message in `state` (`sent` or `failed` with `error`).
    pub async fn delivery(
        &self,
        message: i64,
        conversation: i64,
        channel: &str,
        at: i64,
        state: &str,
        error: Option<&str>,
    ) {
        sqlx::query(
            "insert into outbox (message_id, conversation_id, channel, recipient, thread, text, \
             state, due_at, last_error, created_at) \
             values ($1, $2, $3, 'someone', 'thread', 'risposta', $4, $5, $6, $5)",
        )
        .bind(message)
        .bind(conversation)
        .bind(channel)
        .bind(state)
        .bind(at)
        .bind(error)
        .execute(self.store.pool())
        .await
        .unwrap();
    }
}
