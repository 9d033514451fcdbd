//! The office calendar: working days, opening hours, holidays and the office's time zone, so
//! that response and resolution times count only the hours the office is open.
//!
//! Time zones are either a fixed offset (`"+01:00"`, `"UTC"`) or `"Europe/Rome"`, which is
//! +01:00 with the EU summer time (+02:00 from the last Sunday of March to the last Sunday of
//! October). That one rule covers the offices this project serves without a time-zone database.

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// `[office]`: the calendar response times are measured in.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfficeConfig {
    /// Working days, ISO numbers: 1 Monday … 7 Sunday.
    pub working_days: Vec<u8>,
    /// Opening time, local `HH:MM`.
    pub opening: String,
    /// Closing time, local `HH:MM`.
    pub closing: String,
    /// `Europe/Rome`, `UTC`, or a fixed offset such as `+01:00`.
    pub timezone: String,
    /// Days the office is closed, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
}

impl Default for OfficeConfig {
    fn default() -> Self {
        Self {
            working_days: vec![1, 2, 3, 4, 5],
            opening: "09:00".into(),
            closing: "17:00".into(),
            timezone: "Europe/Rome".into(),
            holidays: Vec::new(),
        }
    }
}

/// The office's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset from UTC, in minutes.
    Fixed(i64),
    /// Central European Time with EU summer time.
    EuropeRome,
}

/// A parsed, checked [`OfficeConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    days: [bool; 8],
    opening_ms: i64,
    closing_ms: i64,
    zone: Zone,
    holidays: Vec<i64>,
}

fn parse_clock(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 24 * 60)
        .then_some((h * 60 + m) * 60_000)
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y, m, d))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day number.
pub fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A day number as `YYYY-MM-DD`.
pub fn date_label(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn year_of(days: i64) -> i64 {
    civil(days).0
}

/// ISO weekday of a day number: 1 Monday … 7 Sunday.
pub fn weekday(days: i64) -> u8 {
    ((days + 3).rem_euclid(7) + 1) as u8
}

fn last_sunday(year: i64, month: i64) -> i64 {
    let next = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    let last = next - 1;
    last - i64::from(weekday(last) % 7)
}

impl Zone {
    /// The offset from UTC, in ms, on a local date (daytime hours; changes happen at night).
    pub fn offset_ms(self, day: i64) -> i64 {
        match self {
            Zone::Fixed(minutes) => minutes * 60_000,
            Zone::EuropeRome => {
                let y = year_of(day);
                if day >= last_sunday(y, 3) && day < last_sunday(y, 10) {
                    2 * HOUR_MS
                } else {
                    HOUR_MS
                }
            }
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "Europe/Rome" => Some(Zone::EuropeRome),
            "UTC" | "Z" => Some(Zone::Fixed(0)),
            _ => {
                let sign = match s.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                Some(Zone::Fixed(sign * parse_clock(&s[1..])? / 60_000))
            }
        }
    }
}

impl OfficeConfig {
    /// Check the keys and build the calendar; the error names the key.
    pub fn calendar(&self) -> Result<Calendar, ConfigError> {
        let bad = |k: &str, m: &str| ConfigError::new(&format!("office.{k}"), None, m);
        let mut days = [false; 8];
        for d in &self.working_days {
            if !(1..=7).contains(d) {
                return Err(bad("working_days", "days are 1 (Monday) to 7 (Sunday)"));
            }
            days[*d as usize] = true;
        }
        let opening = parse_clock(&self.opening).ok_or_else(|| bad("opening", "expected HH:MM"))?;
        let closing = parse_clock(&self.closing).ok_or_else(|| bad("closing", "expected HH:MM"))?;
        if closing <= opening {
            return Err(bad("closing", "must be after the opening time"));
        }
        let zone = Zone::parse(&self.timezone).ok_or_else(|| {
            bad(
                "timezone",
                "expected Europe/Rome, UTC or an offset like +01:00",
            )
        })?;
        let holidays = self
            .holidays
            .iter()
            .map(|h| parse_date(h).ok_or_else(|| bad("holidays", "dates are YYYY-MM-DD")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Calendar {
            days,
            opening_ms: opening,
            closing_ms: closing,
            zone,
            holidays,
        })
    }
}

impl Calendar {
    /// The office's time zone.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// Whether the office works on a local date.
    pub fn is_working_day(&self, day: i64) -> bool {
        self.days[weekday(day) as usize] && !self.holidays.contains(&day)
    }

    /// The local date of an instant.
    pub fn local_day(&self, ms: i64) -> i64 {
        let guess = ms.div_euclid(DAY_MS);
        (ms + self.zone.offset_ms(guess)).div_euclid(DAY_MS)
    }

    /// The working weekdays in order, 1 Monday … 7 Sunday.
    pub fn working_days(&self) -> Vec<u8> {
        (1..=7u8).filter(|d| self.days[usize::from(*d)]).collect()
    }

    /// Opening and closing time, in minutes after local midnight.
    pub fn opening_minutes(&self) -> (i64, i64) {
        (self.opening_ms / 60_000, self.closing_ms / 60_000)
    }

    fn midnight(&self, day: i64) -> i64 {
        day * DAY_MS - self.zone.offset_ms(day)
    }

    /// Whether the office is open at an instant.
    pub fn is_open(&self, ms: i64) -> bool {
        let day = self.local_day(ms);
        let midnight = self.midnight(day);
        self.is_working_day(day)
            && ms >= midnight + self.opening_ms
            && ms < midnight + self.closing_ms
    }

    /// The first opening at or after an instant, within a year (`None`: never open).
    pub fn next_opening(&self, ms: i64) -> Option<i64> {
        let first = self.local_day(ms);
        (first..first + 370)
            .filter(|day| self.is_working_day(*day))
            .map(|day| self.midnight(day) + self.opening_ms)
            .find(|open| *open >= ms)
    }

    /// Milliseconds of opening hours between two instants (0 when `to` is not after `from`).
    pub fn working_ms(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let mut day = self.local_day(from);
        loop {
            let midnight = day * DAY_MS - self.zone.offset_ms(day);
            let (open, close) = (midnight + self.opening_ms, midnight + self.closing_ms);
            if open >= to {
                break;
            }
            if self.is_working_day(day) {
                total += (close.min(to) - open.max(from)).max(0);
            }
            day += 1;
        }
        total
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
