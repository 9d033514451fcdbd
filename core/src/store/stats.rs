//! The raw counts behind the statistics, grouped in SQL by local day and channel so that a
//! year of messages comes back as a few thousand rows. [`crate::stats`] turns them into
//! figures.
//!
//! Days are cut at the office's local midnight with the offset in force on the period's first
//! day (`offset_ms`): a few night-time messages around a summer-time change may land on the
//! neighbouring day, which no daily figure of an office that opens at 9 notices.

use sqlx::Row;

use super::Store;
use crate::error::Result;

/// What to count: `[from_ms, to_ms)`, one channel or all (empty).
#[derive(Debug, Clone)]
pub struct StatsRange {
    /// Start, unix ms, inclusive.
    pub from_ms: i64,
    /// End, unix ms, exclusive.
    pub to_ms: i64,
    /// A channel, or empty for all.
    pub channel: String,
    /// The office's UTC offset used to cut days.
    pub offset_ms: i64,
}

/// Inbound messages of one day, channel and outcome.
#[derive(Debug, Clone)]
pub struct MessageCount {
    /// Local day number (days since 1970-01-01).
    pub day: i64,
    /// Channel.
    pub channel: String,
    /// `answer`, `clarify`, `smalltalk`, `handoff`, or `operator` for messages written while
    /// an operator held the conversation (the bot did not decide on them).
    pub outcome: String,
    /// How many.
    pub count: i64,
}

/// A conversation handed to operators, with its times.
#[derive(Debug, Clone, Copy)]
pub struct Handled {
    /// When it went to the queue.
    pub escalated_at: i64,
    /// The first operator reply.
    pub first_response_at: Option<i64>,
    /// When it was resolved.
    pub resolved_at: Option<i64>,
}

/// Feedback counts of one channel.
#[derive(Debug, Clone, Default)]
pub struct FeedbackCounts {
    /// Distinct answers that got a 👍 or 👎.
    pub answers_rated: i64,
    /// 👍 presses.
    pub useful: i64,
    /// 👎 presses.
    pub not_useful: i64,
    /// Ratings 1 to 5: how many of each (index 0 is 1 star).
    pub ratings: [i64; 5],
}

const MSG_OUTCOME: &str = "case when reason = 'with_operator' then 'operator' else decision end";

impl Store {
    /// Inbound messages by day, channel and outcome.
    pub async fn stats_messages(&self, r: &StatsRange) -> Result<Vec<MessageCount>> {
        let sql = format!(
            "select (created_at + $3) / 86400000 as day, channel, {MSG_OUTCOME} as outcome, \
             count(*) as n from messages \
             where created_at >= $1 and created_at < $2 and direction = 'in' \
             and ($4 = '' or channel = $4) and decision is not null \
             group by 1, 2, 3"
        );
        let rows = sqlx::query(&sql)
            .bind(r.from_ms)
            .bind(r.to_ms)
            .bind(r.offset_ms)
            .bind(&r.channel)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(MessageCount {
                    day: row.try_get("day")?,
                    channel: row.try_get("channel")?,
                    outcome: row.try_get("outcome")?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    /// `(day, channel, count)` of rows of `table` whose `column` falls in the range, with an
    /// extra condition.
    async fn stats_by_day(
        &self,
        r: &StatsRange,
        table: &str,
        column: &str,
        extra: &str,
    ) -> Result<Vec<(i64, String, i64)>> {
        let sql = format!(
            "select ({column} + $3) / 86400000 as day, channel, count(*) as n from {table} \
             where {column} >= $1 and {column} < $2 and ($4 = '' or channel = $4) {extra} \
             group by 1, 2"
        );
        let rows = sqlx::query(&sql)
            .bind(r.from_ms)
            .bind(r.to_ms)
            .bind(r.offset_ms)
            .bind(&r.channel)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("day")?,
                    row.try_get("channel")?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }

    /// Conversations opened, by day and channel.
    pub async fn stats_conversations(&self, r: &StatsRange) -> Result<Vec<(i64, String, i64)>> {
        self.stats_by_day(r, "conversations", "opened_at", "").await
    }

    /// Deliveries that failed for good, by the day they were written and channel.
    pub async fn stats_failures(&self, r: &StatsRange) -> Result<Vec<(i64, String, i64)>> {
        self.stats_by_day(r, "outbox", "created_at", "and state = 'failed'")
            .await
    }

    /// The most frequent reasons of failed deliveries.
    pub async fn stats_failure_reasons(&self, r: &StatsRange) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "select coalesce(last_error, '') as reason, count(*) as n from outbox \
             where state = 'failed' and created_at >= $1 and created_at < $2 \
             and ($3 = '' or channel = $3) group by 1 order by 2 desc, 1 limit 10",
        )
        .bind(r.from_ms)
        .bind(r.to_ms)
        .bind(&r.channel)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("reason")?, row.try_get("n")?)))
            .collect()
    }

    /// Conversations that went to the queue in the range, with their times.
    pub async fn stats_handled(&self, r: &StatsRange) -> Result<Vec<Handled>> {
        let rows = sqlx::query(
            "select escalated_at, first_response_at, resolved_at from conversations \
             where escalated_at >= $1 and escalated_at < $2 and ($3 = '' or channel = $3)",
        )
        .bind(r.from_ms)
        .bind(r.to_ms)
        .bind(&r.channel)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Handled {
                    escalated_at: row.try_get("escalated_at")?,
                    first_response_at: row.try_get("first_response_at")?,
                    resolved_at: row.try_get("resolved_at")?,
                })
            })
            .collect()
    }

    /// Sheets by the answers they gave (`answers` true) or by the 👎 they got, most first.
    pub async fn stats_sheets(&self, r: &StatsRange, answers: bool) -> Result<Vec<(String, i64)>> {
        let sql = if answers {
            "select sheet_id, count(*) as n from messages \
             where created_at >= $1 and created_at < $2 and direction = 'in' \
             and ($3 = '' or channel = $3) and decision = 'answer' and sheet_id is not null \
             group by 1 order by 2 desc, 1 limit 10"
        } else {
            "select sheet_id, count(*) as n from feedback \
             where created_at >= $1 and created_at < $2 and ($3 = '' or channel = $3) \
             and kind = 'not_useful' and sheet_id is not null \
             group by 1 order by 2 desc, 1 limit 10"
        };
        let rows = sqlx::query(sql)
            .bind(r.from_ms)
            .bind(r.to_ms)
            .bind(&r.channel)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("sheet_id")?, row.try_get("n")?)))
            .collect()
    }

    /// 👍/👎 and ratings given in the range.
    pub async fn stats_feedback(&self, r: &StatsRange) -> Result<FeedbackCounts> {
        let rows = sqlx::query(
            "select kind, cast(coalesce(score, 0) as bigint) as score, count(*) as n from feedback \
             where created_at >= $1 and created_at < $2 and ($3 = '' or channel = $3) \
             group by 1, 2",
        )
        .bind(r.from_ms)
        .bind(r.to_ms)
        .bind(&r.channel)
        .fetch_all(self.pool())
        .await?;
        let mut out = FeedbackCounts::default();
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let n: i64 = row.try_get("n")?;
            let score: i64 = row.try_get::<i64, _>("score")?;
            match kind.as_str() {
                "useful" => out.useful += n,
                "not_useful" => out.not_useful += n,
                _ if (1..=5).contains(&score) => out.ratings[(score - 1) as usize] += n,
                _ => {}
            }
        }
        out.answers_rated = sqlx::query_scalar(
            "select count(distinct message_id) from feedback \
             where created_at >= $1 and created_at < $2 and ($3 = '' or channel = $3) \
             and kind in ('useful', 'not_useful')",
        )
        .bind(r.from_ms)
        .bind(r.to_ms)
        .bind(&r.channel)
        .fetch_one(self.pool())
        .await?;
        Ok(out)
    }

    /// Outgoing messages waiting for delivery, per channel.
    pub async fn stats_backlog(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "select channel, count(*) as n from outbox where state in ('pending', 'sending') \
             group by 1 order by 1",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("channel")?, row.try_get("n")?)))
            .collect()
    }
}
