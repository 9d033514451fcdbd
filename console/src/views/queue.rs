//! The queue page and its live table.

use std::collections::HashMap;

use maud::{Markup, html};
use sportello_core::model::ConversationStatus;
use sportello_core::store::ConversationRow;
use sportello_faq::Office;

use super::{channel_label, csrf_field, duration, page as layout, time};
use crate::queue::{PAGE, QueueQuery};
use crate::session::Actor;

/// What the table shows.
pub struct Rows {
    /// The conversations, oldest wait first.
    pub conversations: Vec<ConversationRow>,
    /// The citizen's last text of each.
    pub texts: HashMap<i64, String>,
    /// Now, unix ms.
    pub now: i64,
    /// The waiting-time target, ms.
    pub target_ms: i64,
    /// The offices, to name them.
    pub offices: Vec<Office>,
}

const CHANNELS: &[&str] = &["telegram", "x", "email", "webchat"];
const AGES: &[(&str, &str)] = &[
    ("", "qualsiasi"),
    ("30", "oltre 30 min"),
    ("60", "oltre 1 ora"),
    ("240", "oltre 4 ore"),
    ("1440", "oltre 1 giorno"),
];

/// The queue page.
pub fn page(actor: &Actor, q: &QueueQuery, rows: &Rows) -> Markup {
    page_with_notice(actor, q, rows, None)
}

/// The queue page with a notice (e.g. "già presa da X").
pub fn page_with_notice(
    actor: &Actor,
    q: &QueueQuery,
    rows: &Rows,
    notice: Option<&str>,
) -> Markup {
    let selected = |a: &str, b: &str| a == b;
    layout(
        "Coda",
        Some(actor),
        html! {
            h1 { "Coda delle conversazioni" }
            @if let Some(n) = notice {
                p class="alert alert-warning" role="alert" id="notice" { (n) }
            }
            form method="get" action="/queue" class="card inline" aria-label="Filtri della coda" {
                div class="field" {
                    label for="f-status" { "Stato" }
                    select id="f-status" name="status" {
                        option value="" selected[selected(&q.status, "")] { "in attesa e prese in carico" }
                        option value="queued" selected[selected(&q.status, "queued")] { "in attesa" }
                        option value="assigned" selected[selected(&q.status, "assigned")] { "prese in carico" }
                    }
                }
                div class="field" {
                    label for="f-channel" { "Canale" }
                    select id="f-channel" name="channel" {
                        option value="" { "tutti" }
                        @for c in CHANNELS {
                            option value=(c) selected[selected(&q.channel, c)] { (channel_label(c)) }
                        }
                    }
                }
                div class="field" {
                    label for="f-office" { "Ufficio" }
                    select id="f-office" name="office" {
                        option value="" { "tutti" }
                        @for o in &rows.offices {
                            option value=(o.id) selected[selected(&q.office, &o.id)] { (o.name) }
                        }
                    }
                }
                div class="field" {
                    label for="f-age" { "Attesa" }
                    select id="f-age" name="age" {
                        @for (v, l) in AGES {
                            option value=(v) selected[selected(&q.age, v)] { (l) }
                        }
                    }
                }
                button type="submit" class="btn btn-outline" { "Filtra" }
            }
            p class="muted" {
                "Obiettivo di attesa: " (duration(rows.target_ms)) ". La coda si aggiorna da sola."
            }
            p id="queue-status" class="visually-hidden" aria-live="polite" {}
            div id="queue-table" hx-get=(format!("/queue/table?{}", q.query_string()))
                hx-trigger="queue-changed, every 60s" hx-swap="innerHTML" {
                (table_with(actor, rows, q))
            }
        },
    )
}

/// The table alone (the live refresh).
pub fn table(actor: &Actor, rows: &Rows, q: &QueueQuery) -> Markup {
    table_with(actor, rows, q)
}

fn table_with(actor: &Actor, rows: &Rows, q: &QueueQuery) -> Markup {
    let page = q.page_number();
    let first = page * PAGE;
    let more = rows.conversations.len() as i64 == PAGE;
    html! {
        @if page > 0 || more {
            nav class="inline pages" aria-label="Pagine della coda" {
                @if page > 0 {
                    a href=(format!("/queue?{}", q.on_page(page - 1).query_string())) { "← Più vecchie" }
                }
                @if more {
                    a href=(format!("/queue?{}", q.on_page(page + 1).query_string())) { "Più recenti →" }
                }
            }
        }
        @if rows.conversations.is_empty() {
            p class="alert" id="queue-empty" { "Nessuna conversazione in attesa." }
        } @else {
            table {
                caption class="muted" {
                    "Conversazioni " (first + 1) "–" (first + rows.conversations.len() as i64) ", dalla più vecchia"
                }
                thead { tr {
                    th scope="col" { "Rif." }
                    th scope="col" { "Canale" }
                    th scope="col" { "Cittadino" }
                    th scope="col" { "Ultimo messaggio" }
                    th scope="col" { "Ufficio" }
                    th scope="col" { "In attesa da" }
                    th scope="col" { "Stato" }
                } }
                tbody {
                    @for c in &rows.conversations {
                        (row(actor, rows, c, q))
                    }
                }
            }
        }
    }
}

fn row(actor: &Actor, rows: &Rows, c: &ConversationRow, q: &QueueQuery) -> Markup {
    let since = c.escalated_at.unwrap_or(c.opened_at);
    let wait = rows.now - since;
    let late = wait > rows.target_ms;
    html! {
        tr id=(format!("conversation-{}", c.id)) {
            td { a href=(format!("/conversations/{}", c.id)) { "n. " (c.id) } }
            td { (channel_label(&c.channel)) }
            td { (c.contact_name) }
            td class="preview" {
                @if let Some(s) = &c.subject { strong { (s) } " — " }
                (rows.texts.get(&c.id).map(String::as_str).unwrap_or(""))
            }
            td { (super::office_name(c.office.as_deref(), &rows.offices)) }
            td {
                span class=[late.then_some("late")] title="dal passaggio agli operatori" { (duration(wait)) }
                br; span class="muted" { (time(since)) }
                @if late { span class="visually-hidden" { " (oltre l'obiettivo)" } }
            }
            td {
                @match (&c.status, &c.assignee) {
                    (ConversationStatus::Assigned, Some(who)) => {
                        span class="badge badge-taken" { "già presa da " (who) }
                    }
                    _ => {
                        form method="post" action=(format!("/queue/{}/claim", c.id)) {
                            (csrf_field(Some(actor)))
                            input type="hidden" name="status" value=(q.status);
                            input type="hidden" name="channel" value=(q.channel);
                            input type="hidden" name="office" value=(q.office);
                            input type="hidden" name="age" value=(q.age);
                            input type="hidden" name="page" value=(q.page);
                            button type="submit" class="btn" aria-label=(format!("Prendi in carico la conversazione n. {}", c.id)) {
                                "Prendi in carico"
                            }
                        }
                    }
                }
            }
        }
    }
}
