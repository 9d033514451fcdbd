use super::*;

const MIN: i64 = 60_000;

fn rome() -> Calendar {
    OfficeConfig {
        holidays: vec!["2026-12-08".into(), "2026-12-25".into()],
        ..OfficeConfig::default()
    }
    .calendar()
    .unwrap()
}

/// Local time in Rome → unix ms.
fn at(cal: &Calendar, y: i64, m: i64, d: i64, h: i64, min: i64) -> i64 {
    let day = days_from_civil(y, m, d);
    day * DAY_MS + (h * 60 + min) * MIN - cal.zone().offset_ms(day)
}

#[test]
fn the_weekdays_of_known_dates_are_right() {
    assert_eq!(weekday(0), 4); // 1970-01-01, a Thursday
    assert_eq!(weekday(days_from_civil(2026, 11, 28)), 6);
    assert_eq!(weekday(days_from_civil(2026, 11, 29)), 7);
}

#[test]
fn a_question_answered_within_the_same_morning_counts_its_real_duration() {
    let c = rome();
    let from = at(&c, 2026, 11, 24, 10, 0);
    assert_eq!(c.working_ms(from, at(&c, 2026, 11, 24, 10, 45)), 45 * MIN);
}

#[test]
fn a_question_sent_at_night_starts_counting_at_opening_time() {
    let c = rome();
    let from = at(&c, 2026, 11, 23, 22, 0);
    assert_eq!(c.working_ms(from, at(&c, 2026, 11, 24, 9, 30)), 30 * MIN);
}

#[test]
fn a_friday_evening_question_answered_on_monday_counts_one_hour_and_a_half() {
    let c = rome();
    let from = at(&c, 2026, 11, 27, 16, 0); // Friday
    let to = at(&c, 2026, 11, 30, 9, 30); // Monday
    assert_eq!(c.working_ms(from, to), 90 * MIN);
}

#[test]
fn holidays_do_not_count() {
    let c = rome();
    // Monday 7 December 16:00 to Wednesday 9 December 10:00, with the 8th a holiday.
    let from = at(&c, 2026, 12, 7, 16, 0);
    let to = at(&c, 2026, 12, 9, 10, 0);
    assert_eq!(c.working_ms(from, to), 2 * 60 * MIN);
}

#[test]
fn a_whole_working_week_is_forty_hours() {
    let c = rome();
    let from = at(&c, 2026, 11, 22, 12, 0); // Sunday
    let to = at(&c, 2026, 11, 29, 12, 0); // next Sunday
    assert_eq!(c.working_ms(from, to), 40 * 60 * MIN);
}

#[test]
fn summer_time_moves_opening_hours_an_hour_earlier_in_utc() {
    let c = rome();
    let day = days_from_civil(2026, 7, 1);
    assert_eq!(c.zone().offset_ms(day), 2 * HOUR_MS);
    let opening_utc = day * DAY_MS + 7 * HOUR_MS;
    assert_eq!(
        c.working_ms(opening_utc - HOUR_MS, opening_utc + HOUR_MS),
        HOUR_MS
    );
    // the changes happen on the last Sundays of March and October
    assert_eq!(
        c.zone().offset_ms(days_from_civil(2026, 3, 29)),
        2 * HOUR_MS
    );
    assert_eq!(c.zone().offset_ms(days_from_civil(2026, 3, 28)), HOUR_MS);
    assert_eq!(c.zone().offset_ms(days_from_civil(2026, 10, 25)), HOUR_MS);
    assert_eq!(
        c.zone().offset_ms(days_from_civil(2026, 10, 24)),
        2 * HOUR_MS
    );
}

#[test]
fn an_end_before_the_start_counts_nothing() {
    let c = rome();
    let t = at(&c, 2026, 11, 24, 10, 0);
    assert_eq!(c.working_ms(t, t - MIN), 0);
}

#[test]
fn wrong_calendar_keys_are_named() {
    let bad = |cfg: OfficeConfig| cfg.calendar().unwrap_err().key;
    let base = OfficeConfig::default();
    assert_eq!(
        bad(OfficeConfig {
            closing: "08:00".into(),
            ..base.clone()
        }),
        "office.closing"
    );
    assert_eq!(
        bad(OfficeConfig {
            working_days: vec![0],
            ..base.clone()
        }),
        "office.working_days"
    );
    assert_eq!(
        bad(OfficeConfig {
            holidays: vec!["25/12".into()],
            ..base.clone()
        }),
        "office.holidays"
    );
    assert_eq!(
        bad(OfficeConfig {
            timezone: "Mars".into(),
            ..base
        }),
        "office.timezone"
    );
    let fixed = OfficeConfig {
        timezone: "+05:30".into(),
        ..OfficeConfig::default()
    };
    assert_eq!(fixed.calendar().unwrap().zone(), Zone::Fixed(330));
}

#[test]
fn day_numbers_and_dates_convert_both_ways() {
    for d in [-1, 0, 59, 365, 20_000, days_from_civil(2028, 2, 29)] {
        let (y, m, dd) = civil(d);
        assert_eq!(days_from_civil(y, m, dd), d);
    }
    assert_eq!(date_label(days_from_civil(2026, 3, 1)), "2026-03-01");
    assert_eq!(
        parse_date("2026-12-25"),
        Some(days_from_civil(2026, 12, 25))
    );
}

#[test]
fn the_office_is_open_only_in_its_hours_and_a_friday_evening_reopens_on_monday_morning() {
    let cal = rome();
    // 2026-11-27 is a Friday.
    assert!(cal.is_open(at(&cal, 2026, 11, 27, 10, 0)));
    assert!(!cal.is_open(at(&cal, 2026, 11, 27, 18, 0)));
    assert!(!cal.is_open(at(&cal, 2026, 11, 28, 10, 0)), "Saturday");
    assert_eq!(
        cal.next_opening(at(&cal, 2026, 11, 27, 18, 0)),
        Some(at(&cal, 2026, 11, 30, 9, 0))
    );
    assert_eq!(
        cal.next_opening(at(&cal, 2026, 11, 30, 7, 30)),
        Some(at(&cal, 2026, 11, 30, 9, 0)),
        "early on a working day: the same morning"
    );
    assert_eq!(cal.working_days(), vec![1, 2, 3, 4, 5]);
}
