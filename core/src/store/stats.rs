//! The raw counts behind the statistics, grouped in SQL by local day and channel so that a
//! year of messages comes back as a few thousand rows. [`crate::stats`] turns them into
//! figures.
//!
//! Days are cut at the office's local midnight with the offset in force on the period's first
//! day (`offset_ms`): a few night-time messages around a summer-time change may land on the
//! neighbouring day, which no daily figure of an office that opens at 9 notices.
//!
//! Closed days are read from a rollup: once a day is over (and [`SETTLE_MS`] more, so that
//! every write begun before midnight has committed) its inbound messages, conversations,
//! answers per sheet and feedback never change, so their counts are written once into
//! `stats_daily` (per day cut, channel, metric and key) and a year is read from a few
//! thousand rows; only the days not yet closed are counted from the messages. A day is
//! rolled up the first time a period that holds it is asked for (and by
//! [`Store::warm_stats`]), at most [`FILL_DAYS`] days per write transaction. Operators'
//! response times and delivery failures change after the fact (a late reply, a retried
//! delivery) and are always counted live; their queries read the few rows concerned.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use crate::error::{Error, Result};

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

const DAY_MS: i64 = 86_400_000;

/// How long after a day's end it is rolled up.
const SETTLE_MS: i64 = 10 * 60_000;

/// The most days rolled up in one write transaction, so that a first fill of a long history
/// never holds SQLite's write lock for long.
const FILL_DAYS: i64 = 31;

/// The feedback's kind, with the score for ratings: `useful`, `not_useful`, `rating:4`.
const FEEDBACK_KEY: &str =
    "case when kind = 'rating' then 'rating:' || cast(coalesce(score, 0) as text) else kind end";

/// A citizen's first 👍 or 👎 on an answer (a later press on the same answer is not counted
/// again in `answers_rated`), for `feedback f`.
const FIRST_PRESS: &str = "f.kind in ('useful', 'not_useful') and f.message_id is not null \
     and not exists (select 1 from feedback e where e.message_id = f.message_id \
     and e.kind in ('useful', 'not_useful') \
     and (e.created_at < f.created_at or (e.created_at = f.created_at and e.id < f.id)))";

/// The rollup's statements, one per metric: `$1` offset, `[$2, $3)` the days' span.
fn fill_statements() -> [String; 6] {
    let insert = "insert into stats_daily (offset_ms, metric, day, channel, key, n) select $1,";
    [
        format!(
            "{insert} 'message', (created_at + $1) / 86400000, channel, {MSG_OUTCOME}, count(*) \
             from messages where created_at >= $2 and created_at < $3 and direction = 'in' \
             and decision is not null group by 3, 4, 5 on conflict do nothing"
        ),
        format!(
            "{insert} 'conversation', (opened_at + $1) / 86400000, channel, '', count(*) \
             from conversations where opened_at >= $2 and opened_at < $3 \
             group by 3, 4 on conflict do nothing"
        ),
        format!(
            "{insert} 'answer_sheet', (created_at + $1) / 86400000, channel, sheet_id, count(*) \
             from messages where created_at >= $2 and created_at < $3 and direction = 'in' \
             and decision = 'answer' and sheet_id is not null group by 3, 4, 5 \
             on conflict do nothing"
        ),
        format!(
            "{insert} 'rejected_sheet', (created_at + $1) / 86400000, channel, sheet_id, count(*) \
             from feedback where created_at >= $2 and created_at < $3 and kind = 'not_useful' \
             and sheet_id is not null group by 3, 4, 5 on conflict do nothing"
        ),
        format!(
            "{insert} 'feedback', (created_at + $1) / 86400000, channel, {FEEDBACK_KEY}, count(*) \
             from feedback where created_at >= $2 and created_at < $3 \
             group by 3, 4, 5 on conflict do nothing"
        ),
        format!(
            "{insert} 'rated', (f.created_at + $1) / 86400000, f.channel, '', count(*) \
             from feedback f where f.created_at >= $2 and f.created_at < $3 and {FIRST_PRESS} \
             group by 3, 4 on conflict do nothing"
        ),
    ]
}

/// A range ready to count: its closed days read from the rollup (written by
/// [`Store::stats_plan`] first), the rest counted live. Made once per report, so that every
/// query of the report splits the range at the same day.
#[derive(Debug, Clone)]
pub struct StatsPlan {
    /// The whole range.
    pub range: StatsRange,
    /// First and last rolled-up day, if any.
    rolled: Option<(i64, i64)>,
    /// What is counted from the messages.
    live: StatsRange,
}

/// `(key, n)` pairs of rows.
fn pairs(rows: &[AnyRow], key: &str) -> Result<Vec<(String, i64)>> {
    rows.iter()
        .map(|row| Ok((row.try_get(key)?, row.try_get("n")?)))
        .collect()
}

/// Merge `(key, n)` pairs, most first (then by key), at most `limit`.
fn top(rows: impl IntoIterator<Item = (String, i64)>, limit: usize) -> Vec<(String, i64)> {
    let mut sums: std::collections::BTreeMap<String, i64> = Default::default();
    for (k, n) in rows {
        *sums.entry(k).or_default() += n;
    }
    let mut out: Vec<(String, i64)> = sums.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(limit);
    out
}

impl Store {
    /// Plan a range: closed days read from the rollup, written first if they are not yet,
    /// and the rest counted live. Only days that lie wholly inside the range, cut with the
    /// range's offset, are read from the rollup (the range's end may follow another offset:
    /// its last hours are then counted live).
    pub async fn stats_plan(&self, r: &StatsRange) -> Result<StatsPlan> {
        let whole = StatsPlan {
            range: r.clone(),
            rolled: None,
            live: r.clone(),
        };
        if (r.from_ms + r.offset_ms).rem_euclid(DAY_MS) != 0 {
            return Ok(whole);
        }
        let first = (r.from_ms + r.offset_ms).div_euclid(DAY_MS);
        let last_closed = (self.now_ms() - SETTLE_MS + r.offset_ms).div_euclid(DAY_MS) - 1;
        let last_inside = (r.to_ms + r.offset_ms).div_euclid(DAY_MS) - 1;
        let last = last_closed.min(last_inside);
        if last < first {
            return Ok(whole);
        }
        self.ensure_rollup(r.offset_ms, first, last).await?;
        Ok(StatsPlan {
            rolled: Some((first, last)),
            live: StatsRange {
                from_ms: (last + 1) * DAY_MS - r.offset_ms,
                ..r.clone()
            },
            ..whole
        })
    }

    /// Roll up the closed days `first..=last` of the day cut `offset_ms` that are not yet.
    async fn ensure_rollup(&self, offset_ms: i64, first: i64, last: i64) -> Result<()> {
        if self.rolled_days(offset_ms, first, last).await?.len() as i64 == last - first + 1 {
            return Ok(());
        }
        // Reports asked for at once (and the hourly warm-up): one fills, the others wait and
        // find the days done.
        let _one = self.rollup.lock().await;
        let done = self.rolled_days(offset_ms, first, last).await?;
        if done.len() as i64 == last - first + 1 {
            return Ok(());
        }
        let done: std::collections::HashSet<i64> = done.into_iter().collect();
        let mut day = first;
        while day <= last {
            if done.contains(&day) {
                day += 1;
                continue;
            }
            let mut end = day;
            while end < last && end - day + 1 < FILL_DAYS && !done.contains(&(end + 1)) {
                end += 1;
            }
            self.fill_rollup(offset_ms, day, end).await?;
            day = end + 1;
        }
        Ok(())
    }

    /// The days of `first..=last` already rolled up for the day cut `offset_ms`.
    async fn rolled_days(&self, offset_ms: i64, first: i64, last: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "select day from stats_days where offset_ms = $1 and day >= $2 and day <= $3 order by day",
        )
        .bind(offset_ms)
        .bind(first)
        .bind(last)
        .fetch_all(self.pool())
        .await?)
    }

    /// Count the days `first..=last` into the rollup, in one write transaction. Another
    /// instance filling the same days at once writes the same rows; the second is ignored.
    async fn fill_rollup(&self, offset_ms: i64, first: i64, last: i64) -> Result<()> {
        let from_ms = first * DAY_MS - offset_ms;
        let to_ms = (last + 1) * DAY_MS - offset_ms;
        let mut w = self.begin_write().await?;
        for sql in fill_statements() {
            sqlx::query(&sql)
                .bind(offset_ms)
                .bind(from_ms)
                .bind(to_ms)
                .execute(&mut *w.tx)
                .await?;
        }
        for day in first..=last {
            sqlx::query(
                "insert into stats_days (offset_ms, day) values ($1, $2) on conflict do nothing",
            )
            .bind(offset_ms)
            .bind(day)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await?;
        tracing::debug!(offset_ms, first, last, "statistics rolled up");
        Ok(())
    }

    /// Roll up every closed day of the last `days` days for the day cut `offset_ms`, so that
    /// the first request of a long period finds them ready.
    pub async fn warm_stats(&self, offset_ms: i64, days: i64) -> Result<()> {
        let last = (self.now_ms() - SETTLE_MS + offset_ms).div_euclid(DAY_MS) - 1;
        self.ensure_rollup(offset_ms, last - days + 1, last).await
    }

    /// Forget the rollup, so that every day is counted again from the messages (after
    /// history was written into past days, e.g. by an import of old conversations).
    pub async fn clear_stats_rollup(&self) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("delete from stats_days")
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("delete from stats_daily")
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// One metric's rolled-up counts over the plan's closed days, summed by `columns`.
    async fn rolled(
        &self,
        plan: &StatsPlan,
        metric: &str,
        (first, last): (i64, i64),
        columns: &str,
    ) -> Result<Vec<AnyRow>> {
        let r = &plan.range;
        Ok(sqlx::query(&format!(
            "select {columns}, cast(sum(n) as bigint) as n from stats_daily \
             where offset_ms = $1 and metric = $2 and day >= $3 and day <= $4 \
             and ($5 = '' or channel = $5) group by {columns}"
        ))
        .bind(r.offset_ms)
        .bind(metric)
        .bind(first)
        .bind(last)
        .bind(&r.channel)
        .fetch_all(self.pool())
        .await?)
    }

    /// `(day, channel, key, n)` of one metric over the plan's closed days.
    async fn rolled_by_day(
        &self,
        plan: &StatsPlan,
        metric: &str,
        days: (i64, i64),
    ) -> Result<Vec<(i64, String, String, i64)>> {
        let rows = self.rolled(plan, metric, days, "day, channel, key").await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("day")?,
                    row.try_get("channel")?,
                    row.try_get("key")?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }

    /// `(key, n)` of one metric over the plan's closed days, summed over days and channels.
    async fn rolled_keys(
        &self,
        plan: &StatsPlan,
        metric: &str,
        days: (i64, i64),
    ) -> Result<Vec<(String, i64)>> {
        pairs(&self.rolled(plan, metric, days, "key").await?, "key")
    }

    /// Inbound messages by day, channel and outcome.
    pub async fn stats_messages(&self, plan: &StatsPlan) -> Result<Vec<MessageCount>> {
        let sql = format!(
            "select (created_at + $3) / 86400000 as day, channel, {MSG_OUTCOME} as outcome, \
             count(*) as n from messages \
             where created_at >= $1 and created_at < $2 and direction = 'in' \
             and ($4 = '' or channel = $4) and decision is not null \
             group by 1, 2, 3"
        );
        let l = &plan.live;
        let rows = sqlx::query(&sql)
            .bind(l.from_ms)
            .bind(l.to_ms)
            .bind(l.offset_ms)
            .bind(&l.channel)
            .fetch_all(self.pool())
            .await?;
        let mut out = rows
            .iter()
            .map(|row| {
                Ok(MessageCount {
                    day: row.try_get("day")?,
                    channel: row.try_get("channel")?,
                    outcome: row.try_get("outcome")?,
                    count: row.try_get("n")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(days) = plan.rolled {
            for (day, channel, outcome, count) in self.rolled_by_day(plan, "message", days).await? {
                out.push(MessageCount {
                    day,
                    channel,
                    outcome,
                    count,
                });
            }
        }
        Ok(out)
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
    pub async fn stats_conversations(&self, plan: &StatsPlan) -> Result<Vec<(i64, String, i64)>> {
        let mut out = self
            .stats_by_day(&plan.live, "conversations", "opened_at", "")
            .await?;
        if let Some(days) = plan.rolled {
            for (day, channel, _, n) in self.rolled_by_day(plan, "conversation", days).await? {
                out.push((day, channel, n));
            }
        }
        Ok(out)
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
        pairs(&rows, "reason")
    }

    /// Conversations that went to the queue in the range, with their times. They come back
    /// as one text (`escalated:first:resolved` joined by `,`): decoding a hundred thousand
    /// rows one by one cost more than the query itself.
    pub async fn stats_handled(&self, r: &StatsRange) -> Result<Vec<Handled>> {
        let joined: Option<String> = sqlx::query_scalar(
            "select string_agg(cast(escalated_at as text) || ':' || \
             coalesce(cast(first_response_at as text), '') || ':' || \
             coalesce(cast(resolved_at as text), ''), ',') from conversations \
             where escalated_at >= $1 and escalated_at < $2 and ($3 = '' or channel = $3)",
        )
        .bind(r.from_ms)
        .bind(r.to_ms)
        .bind(&r.channel)
        .fetch_one(self.pool())
        .await?;
        let corrupt = |t: &str| Error::Corrupt(format!("conversation times {t:?}"));
        let time = |t: &str| -> Result<Option<i64>> {
            if t.is_empty() {
                Ok(None)
            } else {
                t.parse().map(Some).map_err(|_| corrupt(t))
            }
        };
        let mut out = Vec::new();
        // `string_agg` over no rows is null.
        for item in joined.iter().flat_map(|j| j.split(',')) {
            let mut parts = item.split(':');
            let (Some(e), Some(f), Some(res), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(corrupt(item));
            };
            out.push(Handled {
                escalated_at: time(e)?.ok_or_else(|| corrupt(item))?,
                first_response_at: time(f)?,
                resolved_at: time(res)?,
            });
        }
        Ok(out)
    }

    /// Sheets by the answers they gave (`answers` true) or by the 👎 they got, most first.
    pub async fn stats_sheets(
        &self,
        plan: &StatsPlan,
        answers: bool,
    ) -> Result<Vec<(String, i64)>> {
        let sql = if answers {
            "select sheet_id, count(*) as n from messages \
             where created_at >= $1 and created_at < $2 and direction = 'in' \
             and ($3 = '' or channel = $3) and decision = 'answer' and sheet_id is not null \
             group by 1"
        } else {
            "select sheet_id, count(*) as n from feedback \
             where created_at >= $1 and created_at < $2 and ($3 = '' or channel = $3) \
             and kind = 'not_useful' and sheet_id is not null \
             group by 1"
        };
        let l = &plan.live;
        let rows = sqlx::query(sql)
            .bind(l.from_ms)
            .bind(l.to_ms)
            .bind(&l.channel)
            .fetch_all(self.pool())
            .await?;
        let mut counts = pairs(&rows, "sheet_id")?;
        if let Some(days) = plan.rolled {
            let metric = if answers {
                "answer_sheet"
            } else {
                "rejected_sheet"
            };
            counts.extend(self.rolled_keys(plan, metric, days).await?);
        }
        Ok(top(counts, 10))
    }

    /// 👍/👎 and ratings given in the range.
    pub async fn stats_feedback(&self, plan: &StatsPlan) -> Result<FeedbackCounts> {
        let l = &plan.live;
        let rows = sqlx::query(&format!(
            "select {FEEDBACK_KEY} as key, count(*) as n from feedback \
             where created_at >= $1 and created_at < $2 and ($3 = '' or channel = $3) \
             group by 1"
        ))
        .bind(l.from_ms)
        .bind(l.to_ms)
        .bind(&l.channel)
        .fetch_all(self.pool())
        .await?;
        let mut keys = pairs(&rows, "key")?;
        let mut out = FeedbackCounts {
            answers_rated: sqlx::query_scalar(&format!(
                "select count(*) from feedback f \
                 where f.created_at >= $1 and f.created_at < $2 and ($3 = '' or f.channel = $3) \
                 and {FIRST_PRESS}"
            ))
            .bind(l.from_ms)
            .bind(l.to_ms)
            .bind(&l.channel)
            .fetch_one(self.pool())
            .await?,
            ..FeedbackCounts::default()
        };
        if let Some(days) = plan.rolled {
            keys.extend(self.rolled_keys(plan, "feedback", days).await?);
            for (_, n) in self.rolled_keys(plan, "rated", days).await? {
                out.answers_rated += n;
            }
        }
        for (key, n) in keys {
            match key.as_str() {
                "useful" => out.useful += n,
                "not_useful" => out.not_useful += n,
                _ => {
                    let score = key
                        .strip_prefix("rating:")
                        .and_then(|s| s.parse::<usize>().ok());
                    if let Some(score @ 1..=5) = score {
                        out.ratings[score - 1] += n;
                    }
                }
            }
        }
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
        pairs(&rows, "channel")
    }
}
