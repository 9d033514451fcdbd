//! The office's figures over a period: volumes, the bot's outcomes, operators' response and
//! resolution times in working hours, citizens' feedback, sheets, delivery failures.
//!
//! Definitions, as the statistics page states them:
//! - *messages* are citizens' inbound messages; the bot's *rates* are shares of the messages
//!   the bot decided on (those written while an operator held the conversation are counted
//!   apart, as `with_operator`);
//! - *times* run from the moment a conversation went to the queue to the first operator reply
//!   and to its resolution, counted in the office's opening hours; median and p90 are
//!   nearest-rank;
//! - *feedback response rate* is answers that got a 👍 or 👎 ÷ answers given; *share positive*
//!   is 👍 ÷ (👍 + 👎).

mod report;

pub use report::{
    ChannelRow, Counts, Feedback, PeriodRow, Ratings, Report, SheetCount, Times, compute,
};

use serde::{Deserialize, Serialize};

/// How the period is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// One row per local day.
    #[default]
    Day,
    /// One row per week, Monday to Sunday.
    Week,
}

/// What the statistics cover.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsQuery {
    /// First local day included (days since 1970-01-01).
    pub from_day: i64,
    /// Last local day included.
    pub to_day: i64,
    /// By day or by week.
    pub bucket: Bucket,
    /// One channel, or all.
    pub channel: Option<String>,
}

/// The nearest-rank quantile `p` (0–1) of sorted values.
pub fn quantile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// `a ÷ b`, none when `b` is 0.
pub fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_lower_middle_value() {
        assert_eq!(quantile(&[1, 2, 3, 4], 0.5), Some(2));
        assert_eq!(quantile(&[1, 2, 3], 0.5), Some(2));
    }

    #[test]
    fn the_p90_of_ten_values_is_the_ninth() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(quantile(&v, 0.9), Some(9));
        assert_eq!(quantile(&[7], 0.9), Some(7));
        assert_eq!(quantile(&[], 0.9), None);
    }

    #[test]
    fn a_ratio_over_nothing_is_none() {
        assert_eq!(ratio(3, 0), None);
        assert_eq!(ratio(3, 4), Some(0.75));
    }
}
