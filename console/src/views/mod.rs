//! HTML, written with maud: every value spliced into markup is escaped, so nothing a citizen
//! wrote can become markup. `PreEscaped` is used only for our own constant strings.
//!
//! The look follows Bootstrap Italia (the design system of Italian public administrations):
//! a #0066CC header with the office's name, a sans-serif type, clear focus outlines.

pub mod conversation;
pub mod labels;
pub mod login;
pub mod queue;
pub mod tools;
pub mod users;

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

use crate::session::Actor;

/// The office's name in the header.
pub const OFFICE: &str = "URP — Sportello";

/// A whole page: header with navigation for the actor's role, main content.
pub fn page(title: &str, actor: Option<&Actor>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="it" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                @if let Some(csrf) = actor.and_then(|a| a.csrf.as_deref()) {
                    meta name="csrf-token" content=(csrf);
                }
                title { (title) " · " (OFFICE) }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/htmx.min.js" defer {}
                script src="/assets/console.js" defer {}
            }
            body {
                a class="skip" href="#main" { "Vai al contenuto" }
                header class="it-header" {
                    div class="wrap" {
                        a class="brand" href="/" { (OFFICE) }
                        @if let Some(a) = actor {
                            nav aria-label="Menu principale" {
                                ul {
                                    @if a.require(&[sportello_core::model::Role::Operator]).is_ok() {
                                        li { a href="/queue" { "Coda" } }
                                    }
                                    @if a.require(crate::api::sheets::EDITORS).is_ok() {
                                        li { a href="/sheets" { "Schede" } }
                                    }
                                    @if a.require(crate::stats::READERS).is_ok() {
                                        li { a href="/stats" { "Statistiche" } }
                                    }
                                    @if a.role == sportello_core::model::Role::Admin {
                                        li { a href="/users" { "Utenti e token" } }
                                        li { a href="/offices" { "Uffici" } }
                                        li { a href="/audit" { "Registro" } }
                                    }
                                }
                            }
                            div class="who" {
                                span { (a.name) " (" (role_label(a.role)) ")" }
                                form method="post" action="/logout" {
                                    (csrf_field(actor))
                                    button type="submit" class="btn btn-link" { "Esci" }
                                }
                            }
                        }
                    }
                }
                main id="main" class="wrap" tabindex="-1" {
                    (body)
                }
            }
        }
    }
}

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

/// A time as `<time>`: UTC on the server, turned into local time by the browser's script.
pub fn time(ms: i64) -> Markup {
    let (date, clock) = utc(ms);
    html! { time datetime=(format!("{date}T{clock}Z")) { (date) " " (clock) " UTC" } }
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
    fn durations_read_in_minutes_hours_and_days() {
        assert_eq!(duration(59_000), "0 min");
        assert_eq!(duration(125 * 60_000), "2 h 05 min");
        assert_eq!(duration(27 * 3_600_000), "1 g 3 h");
    }
}
