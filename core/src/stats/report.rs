//! The report: the store's grouped counts folded into periods, channels and totals.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Bucket, StatsQuery, quantile, ratio};
use crate::calendar::{Calendar, date_label, weekday};
use crate::error::Result;
use crate::store::{StatsRange, Store};

const DAY_MS: i64 = 86_400_000;

/// Counts of one period, one channel, or the whole range.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Citizens' inbound messages.
    pub messages: i64,
    /// Conversations opened.
    pub conversations: i64,
    /// Messages the bot answered from a sheet.
    pub answer: i64,
    /// Messages where the bot asked the citizen to choose among sheets.
    pub clarify: i64,
    /// Greetings, thanks and the like.
    pub smalltalk: i64,
    /// Messages the bot handed to operators.
    pub handoff: i64,
    /// Messages written while an operator held the conversation.
    pub with_operator: i64,
    /// `answer` ÷ messages the bot decided on.
    pub auto_answer_rate: Option<f64>,
    /// `clarify` ÷ messages the bot decided on.
    pub clarify_rate: Option<f64>,
    /// `handoff` ÷ messages the bot decided on.
    pub handoff_rate: Option<f64>,
    /// Outgoing messages that could not be delivered.
    pub delivery_failures: i64,
}

impl Counts {
    fn add_outcome(&mut self, outcome: &str, n: i64) {
        self.messages += n;
        match outcome {
            "answer" => self.answer += n,
            "clarify" => self.clarify += n,
            "smalltalk" => self.smalltalk += n,
            "handoff" => self.handoff += n,
            _ => self.with_operator += n,
        }
    }

    fn finish(&mut self) {
        let decided = self.answer + self.clarify + self.smalltalk + self.handoff;
        self.auto_answer_rate = ratio(self.answer, decided);
        self.clarify_rate = ratio(self.clarify, decided);
        self.handoff_rate = ratio(self.handoff, decided);
    }
}

/// One day or week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodRow {
    /// Its first day, `YYYY-MM-DD`.
    pub start: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// One channel over the whole range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelRow {
    /// Channel name.
    pub channel: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// Durations in working hours.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Times {
    /// Conversations measured.
    pub count: i64,
    /// Conversations still waiting (not measured).
    pub waiting: i64,
    /// Median, ms of opening hours.
    pub median_ms: Option<i64>,
    /// 90th percentile, ms of opening hours.
    pub p90_ms: Option<i64>,
}

impl Times {
    fn of(mut values: Vec<i64>, waiting: i64) -> Self {
        values.sort_unstable();
        Self {
            count: values.len() as i64,
            waiting,
            median_ms: quantile(&values, 0.5),
            p90_ms: quantile(&values, 0.9),
        }
    }
}

/// 👍/👎 on the bot's answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Feedback {
    /// Answers the bot gave.
    pub answers: i64,
    /// Answers that got a 👍 or 👎.
    pub answers_rated: i64,
    /// `answers_rated` ÷ `answers`.
    pub response_rate: Option<f64>,
    /// 👍
    pub useful: i64,
    /// 👎
    pub not_useful: i64,
    /// 👍 ÷ (👍 + 👎).
    pub share_positive: Option<f64>,
}

/// Satisfaction ratings of resolved conversations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ratings {
    /// Ratings given.
    pub count: i64,
    /// Their mean, 1 to 5.
    pub mean: Option<f64>,
    /// How many of each score, 1 star first.
    pub distribution: [i64; 5],
}

/// A sheet and a count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SheetCount {
    /// Sheet id.
    pub sheet_id: String,
    /// How many.
    pub count: i64,
}

/// Everything `/stats` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
    /// By day or by week.
    pub bucket: Bucket,
    /// The channel asked for, if one.
    pub channel: Option<String>,
    /// The whole range.
    pub totals: Counts,
    /// Day by day or week by week, empty periods included.
    pub periods: Vec<PeriodRow>,
    /// Channel by channel.
    pub channels: Vec<ChannelRow>,
    /// From the queue to the first operator reply.
    pub first_response: Times,
    /// From the queue to resolution.
    pub resolution: Times,
    /// 👍/👎.
    pub feedback: Feedback,
    /// 1–5 ratings.
    pub ratings: Ratings,
    /// Sheets that answered most.
    pub top_sheets: Vec<SheetCount>,
    /// Sheets with the most 👎.
    pub rejected_sheets: Vec<SheetCount>,
    /// Why deliveries failed, most frequent first.
    pub failure_reasons: Vec<(String, i64)>,
    /// Satisfaction of the conversations each operator held.
    pub by_operator: Vec<crate::store::Satisfaction>,
    /// Satisfaction of each office's conversations.
    pub by_office: Vec<crate::store::Satisfaction>,
}

fn sheets(rows: Vec<(String, i64)>) -> Vec<SheetCount> {
    rows.into_iter()
        .map(|(sheet_id, count)| SheetCount { sheet_id, count })
        .collect()
}

/// Compute the report from the store.
pub async fn compute(store: &Store, calendar: &Calendar, q: &StatsQuery) -> Result<Report> {
    let zone = calendar.zone();
    let offset_ms = zone.offset_ms(q.from_day);
    let range = StatsRange {
        from_ms: q.from_day * DAY_MS - offset_ms,
        to_ms: (q.to_day + 1) * DAY_MS - zone.offset_ms(q.to_day),
        channel: q.channel.clone().unwrap_or_default(),
        offset_ms,
    };
    let bucket_of = |day: i64| match q.bucket {
        Bucket::Day => day,
        Bucket::Week => day - i64::from(weekday(day)) + 1,
    };
    let mut periods: BTreeMap<i64, Counts> = BTreeMap::new();
    let mut day = bucket_of(q.from_day);
    while day <= q.to_day {
        periods.insert(day, Counts::default());
        day += if q.bucket == Bucket::Day { 1 } else { 7 };
    }
    // Closed days come from the daily rollup, written first if need be; the queries are
    // then independent: run them at once, each on its own connection.
    let plan = store.stats_plan(&range).await?;
    let (messages, conversations, failures, handled, f, top, rejected, reasons) = tokio::try_join!(
        store.stats_messages(&plan),
        store.stats_conversations(&plan),
        store.stats_failures(&range),
        store.stats_handled(&range),
        store.stats_feedback(&plan),
        store.stats_sheets(&plan, true),
        store.stats_sheets(&plan, false),
        store.stats_failure_reasons(&range),
    )?;
    let mut channels: BTreeMap<String, Counts> = BTreeMap::new();
    let mut totals = Counts::default();
    for m in messages {
        let b = bucket_of(m.day.clamp(q.from_day, q.to_day));
        periods
            .entry(b)
            .or_default()
            .add_outcome(&m.outcome, m.count);
        channels
            .entry(m.channel)
            .or_default()
            .add_outcome(&m.outcome, m.count);
        totals.add_outcome(&m.outcome, m.count);
    }
    for (d, channel, n) in conversations {
        periods
            .entry(bucket_of(d.clamp(q.from_day, q.to_day)))
            .or_default()
            .conversations += n;
        channels.entry(channel).or_default().conversations += n;
        totals.conversations += n;
    }
    for (d, channel, n) in failures {
        let b = bucket_of(d.clamp(q.from_day, q.to_day));
        periods.entry(b).or_default().delivery_failures += n;
        channels.entry(channel).or_default().delivery_failures += n;
        totals.delivery_failures += n;
    }
    totals.finish();
    let periods = periods
        .into_iter()
        .map(|(d, mut counts)| {
            counts.finish();
            PeriodRow {
                start: date_label(d),
                counts,
            }
        })
        .collect();
    let channels = channels
        .into_iter()
        .map(|(channel, mut counts)| {
            counts.finish();
            ChannelRow { channel, counts }
        })
        .collect();

    let first: Vec<i64> = handled
        .iter()
        .filter_map(|h| Some(calendar.working_ms(h.escalated_at, h.first_response_at?)))
        .collect();
    let resolved: Vec<i64> = handled
        .iter()
        .filter_map(|h| Some(calendar.working_ms(h.escalated_at, h.resolved_at?)))
        .collect();
    let first_response = Times::of(first.clone(), handled.len() as i64 - first.len() as i64);
    let resolution = Times::of(
        resolved.clone(),
        handled.len() as i64 - resolved.len() as i64,
    );

    let feedback = Feedback {
        answers: totals.answer,
        answers_rated: f.answers_rated,
        response_rate: ratio(f.answers_rated, totals.answer),
        useful: f.useful,
        not_useful: f.not_useful,
        share_positive: ratio(f.useful, f.useful + f.not_useful),
    };
    let count: i64 = f.ratings.iter().sum();
    let sum: i64 = f.ratings.iter().zip(1..).map(|(n, s)| n * s).sum();
    let ratings = Ratings {
        count,
        mean: (count > 0).then(|| sum as f64 / count as f64),
        distribution: f.ratings,
    };
    Ok(Report {
        from: date_label(q.from_day),
        to: date_label(q.to_day),
        bucket: q.bucket,
        channel: q.channel.clone(),
        totals,
        periods,
        channels,
        first_response,
        resolution,
        feedback,
        ratings,
        top_sheets: sheets(top),
        rejected_sheets: sheets(rejected),
        failure_reasons: reasons,
        by_operator: store.satisfaction_by_operator(&range).await?,
        by_office: store.satisfaction_by_office(&range).await?,
    })
}
