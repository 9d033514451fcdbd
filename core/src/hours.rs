//! Office hours in words, written from `[office]`: the `{hours}` of the texts and of the
//! desk's sheets, and when a closed office reopens. One source, so the welcome, the handoff
//! notices and the URP hours sheet cannot disagree.

use crate::calendar::{Calendar, civil, weekday};
use crate::config::Texts;

const DAY_MS: i64 = 86_400_000;

/// `9:00`, `17:30`.
fn clock(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

fn day_name(texts: &Texts, day: u8) -> &str {
    texts
        .weekdays
        .get(usize::from(day.saturating_sub(1)))
        .map(String::as_str)
        .unwrap_or_default()
}

/// The working days in words: a run of three or more as `day_range` ("dal lunedì al
/// venerdì"), otherwise a list ("lunedì, mercoledì e venerdì").
fn days(calendar: &Calendar, texts: &Texts) -> String {
    let days = calendar.working_days();
    let contiguous = days.windows(2).all(|w| w[1] == w[0] + 1);
    match days.as_slice() {
        [] => String::new(),
        [one] => day_name(texts, *one).to_string(),
        [first, .., last] if contiguous && days.len() >= 3 => texts
            .day_range
            .replace("{first}", day_name(texts, *first))
            .replace("{last}", day_name(texts, *last)),
        [init @ .., last] => texts
            .day_list
            .replace(
                "{days}",
                &init
                    .iter()
                    .map(|d| day_name(texts, *d))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
            .replace("{last}", day_name(texts, *last)),
    }
}

/// The `hours` template of `texts` with `{days}`, `{opening}` and `{closing}` from the
/// calendar (a template without them is kept as written).
pub fn describe(calendar: &Calendar, texts: &Texts) -> String {
    let (opening, closing) = calendar.opening_minutes();
    texts
        .hours
        .replace("{days}", &days(calendar, texts))
        .replace("{opening}", &clock(opening))
        .replace("{closing}", &clock(closing))
}

/// When the office opens next after `now`, in words ("lunedì 30/11 alle 9:00"), or `None`
/// when it is open now (or never opens).
pub fn reopening(calendar: &Calendar, texts: &Texts, now: i64) -> Option<String> {
    if calendar.is_open(now) {
        return None;
    }
    let open = calendar.next_opening(now)?;
    let day = calendar.local_day(open);
    let (_, month, date) = civil(day);
    let minutes = (open - day * DAY_MS + calendar.zone().offset_ms(day)) / 60_000;
    Some(
        texts
            .reopening_time
            .replace("{weekday}", day_name(texts, weekday(day)))
            .replace("{date}", &format!("{date}/{month}"))
            .replace("{time}", &clock(minutes)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{OfficeConfig, days_from_civil};

    fn calendar(days: &[u8]) -> Calendar {
        OfficeConfig {
            working_days: days.to_vec(),
            opening: "08:30".into(),
            closing: "13:00".into(),
            ..OfficeConfig::default()
        }
        .calendar()
        .unwrap()
    }

    #[test]
    fn the_hours_are_written_from_the_office_calendar() {
        let texts = Texts {
            hours: "{days}, dalle {opening} alle {closing}".into(),
            ..Texts::default()
        };
        assert_eq!(
            describe(&calendar(&[1, 2, 3, 4, 5]), &texts),
            "dal lunedì al venerdì, dalle 8:30 alle 13:00"
        );
        assert_eq!(
            describe(&calendar(&[1, 3, 5]), &texts),
            "lunedì, mercoledì e venerdì, dalle 8:30 alle 13:00"
        );
    }

    #[test]
    fn a_closed_office_says_when_it_reopens_and_an_open_one_says_nothing() {
        let texts = Texts::default();
        let cal = calendar(&[1, 2, 3, 4, 5]);
        // Saturday 2026-11-28, 10:00 in Rome (UTC+1).
        let saturday = days_from_civil(2026, 11, 28) * DAY_MS + 9 * 3_600_000;
        assert_eq!(
            reopening(&cal, &texts, saturday).as_deref(),
            Some("lunedì 30/11 alle 8:30")
        );
        let monday = days_from_civil(2026, 11, 30) * DAY_MS + 9 * 3_600_000;
        assert_eq!(reopening(&cal, &texts, monday), None);
    }
}
