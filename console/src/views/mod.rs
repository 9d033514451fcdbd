//! HTML, written with maud: every value spliced into markup is escaped, so nothing a citizen
//! wrote can become markup. `PreEscaped` is used only for our own constant strings.
//!
//! The look follows Bootstrap Italia (the design system of Italian public administrations):
//! see [`layout`] for the header, footer and type. Dates and times are shown the Italian way
//! (`28/11/2026 17:45`), in the office's time zone.

pub mod account;
pub mod conversation;
pub mod labels;
pub mod layout;
pub mod login;
pub mod queue;
pub mod tools;
pub mod users;

use axum::http::StatusCode;
use maud::{Markup, html};

use crate::session::Actor;

pub use layout::{footer, header, page};

/// The hidden CSRF field every form carries.
pub fn csrf_field(actor: Option<&Actor>) -> Markup {
    html! {
        @if let Some(csrf) = actor.and_then(|a| a.csrf.as_deref()) {
            input type="hidden" name="csrf" value=(csrf);
        }
    }
}

/// The role's Italian name.
pub fn role_label(role: sportello_core::model::Role) -> &'static str {
    match role {
        sportello_core::model::Role::Operator => "operatore",
        sportello_core::model::Role::Editor => "redattore",
        sportello_core::model::Role::Admin => "amministratore",
    }
}

/// A small page for an error.
pub fn error_page(status: StatusCode, message: &str) -> Markup {
    page(
        "Errore",
        None,
        html! {
            h1 { "Errore " (status.as_u16()) }
            p class="alert alert-danger" role="alert" { (message) }
            p { a href="/" { "Torna alla pagina iniziale" } }
        },
    )
}

/// A time as `<time>`: the date and time in the office's zone, Italian style
/// (`28/11/2026 17:45`), with the exact UTC instant in `datetime`.
pub fn time(ms: i64) -> Markup {
    let (date, clock) = utc(ms);
    html! { time datetime=(format!("{date}T{clock}Z")) { (local(ms, layout::context().zone)) } }
}

/// `dd/mm/yyyy HH:MM` of a unix-ms instant in a time zone.
pub fn local(ms: i64, zone: sportello_core::calendar::Zone) -> String {
    let offset = zone.offset_ms(ms.div_euclid(86_400_000));
    let secs = (ms + offset).div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    format!("{} {:02}:{:02}", date(days), rem / 3600, rem % 3600 / 60)
}

/// A day (days since 1970-01-01) as `dd/mm/yyyy`.
pub fn date(days: i64) -> String {
    let (y, m, d) = sportello_core::calendar::civil(days);
    format!("{d:02}/{m:02}/{y}")
}

/// An ISO date (`2026-11-28`) as `28/11/2026`; anything else unchanged.
pub fn iso_date(iso: &str) -> String {
    match sportello_core::calendar::parse_date(iso) {
        Some(days) => date(days),
        None => iso.to_string(),
    }
}

/// `YYYY-MM-DD` and `HH:MM:SS` of a unix-ms instant, in UTC.
pub fn utc(ms: i64) -> (String, String) {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    (
        sportello_core::calendar::date_label(days),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// A duration in Italian: `3 min`, `2 h 05 min`, `4 g 3 h`.
pub fn duration(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => format!("{} h {:02} min", m / 60, m % 60),
        m => format!("{} g {} h", m / (24 * 60), m % (24 * 60) / 60),
    }
}

/// An office's name from its id ("—" for none).
pub fn office_name(id: Option<&str>, offices: &[sportello_faq::Office]) -> String {
    match id {
        None => "—".into(),
        Some(id) => offices
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| id.to_string()),
    }
}

/// The channel's name as operators know it.
pub fn channel_label(channel: &str) -> &str {
    match channel {
        "telegram" => "Telegram",
        "x" => "X",
        "email" => "Email",
        "webchat" => "Web chat",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_milliseconds_become_a_utc_date_and_time() {
        assert_eq!(utc(0), ("1970-01-01".into(), "00:00:00".into()));
        assert_eq!(
            utc(1_795_884_353_000),
            ("2026-11-28".into(), "16:45:53".into())
        );
    }

    #[test]
    fn times_read_the_italian_way_in_the_office_zone() {
        use sportello_core::calendar::Zone;
        // 28 November 2026, 16:45:53 UTC is 17:45 in Rome (winter time).
        assert_eq!(
            local(1_795_884_353_000, Zone::EuropeRome),
            "28/11/2026 17:45"
        );
        assert_eq!(local(0, Zone::Fixed(0)), "01/01/1970 00:00");
        assert_eq!(iso_date("2026-03-05"), "05/03/2026");
    }

    #[test]
    fn durations_read_in_minutes_hours_and_days() {
        assert_eq!(duration(59_000), "0 min");
        assert_eq!(duration(125 * 60_000), "2 h 05 min");
        assert_eq!(duration(27 * 3_600_000), "1 g 3 h");
    }
}
