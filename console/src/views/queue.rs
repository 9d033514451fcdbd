//! The queue page and its live table.

use std::collections::HashMap;
use std::sync::Arc;

use maud::{Markup, html};
use sportello_core::calendar::Calendar;
use sportello_core::model::ConversationStatus;
use sportello_core::store::{ConversationRow, QueueCounts, Triage};
use sportello_faq::Office;

use super::{channel_label, csrf_field, duration, page as layout, time};
use crate::queue::{PAGE, QueueQuery};
use crate::session::Actor;

/// What the table shows.
pub struct Rows {
    /// The conversations, oldest wait first.
    pub conversations: Vec<ConversationRow>,
    /// What each is about: first question, why it was handed over.
    pub triage: HashMap<i64, Triage>,
    /// The handoff reason of each, in Italian.
    pub labels: HashMap<i64, &'static str>,
    /// The office of the sheet each was handed over from, for those not tagged with one.
    pub sheet_offices: HashMap<i64, String>,
    /// The sizes of the three views.
    pub counts: QueueCounts,
    /// Now, unix ms.
    pub now: i64,
    /// The waiting-time target, ms.
    pub target_ms: i64,
    /// The offices, to name them.
    pub offices: Vec<Office>,
    /// The office calendar, for waiting time in office hours.
    pub calendar: Arc<Calendar>,
}

/// The views: query value, label, and how many it holds.
fn views(counts: &QueueCounts) -> [(&'static str, &'static str, i64); 3] {
    [
        ("mine", "Mie", counts.mine),
        ("unassigned", "Da assegnare", counts.unassigned),
        ("", "Tutte", counts.all),
    ]
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
            nav aria-label="Viste della coda" class="inline views" id="queue-views" {
                @for (v, label, n) in views(&rows.counts) {
                    @let href = format!("/queue?{}", QueueQuery { view: v.into(), ..QueueQuery::default() }.query_string());
                    a href=(href) id=(format!("view-{}", if v.is_empty() { "all" } else { v }))
                        class=(if q.view == v { "btn" } else { "btn btn-outline" })
                        aria-current=[(q.view == v).then_some("page")] {
                        (label) " " span class="badge" { (n) }
                    }
                }
                a href="/queue/next" class="btn btn-outline" id="next-in-queue" accesskey="n"
                    aria-keyshortcuts="Alt+Shift+N" { "Prossima in coda" }
            }
            form method="get" action="/queue" class="card inline" aria-label="Filtri della coda" role="search" {
                input type="hidden" name="view" value=(q.view);
                div class="field" {
                    label for="f-q" { "Cerca" }
                    input type="search" id="f-q" name="q" value=(q.q)
                        placeholder="n. di riferimento, cittadino o testo";
                }
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
                    th scope="col" { "Domanda e motivo" }
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
    let office_wait = rows.calendar.working_ms(since, rows.now);
    let late = wait > rows.target_ms;
    let triage = rows.triage.get(&c.id);
    let office = c
        .office
        .as_deref()
        .or_else(|| rows.sheet_offices.get(&c.id).map(String::as_str));
    html! {
        tr id=(format!("conversation-{}", c.id)) {
            td { a href=(format!("/conversations/{}", c.id)) { "n. " (c.id) } }
            td { (channel_label(&c.channel)) }
            td { (c.contact_name) }
            td class="preview" {
                @if let Some(s) = &c.subject { strong { (s) } " — " }
                span class="first-question" {
                    (triage.and_then(|t| t.first_question.as_deref()).unwrap_or(""))
                }
                @if let Some(l) = rows.labels.get(&c.id) {
                    br; span class="badge reason" { "Motivo: " (l) }
                }
            }
            td class="office" { (super::office_name(office, &rows.offices)) }
            td class="wait" {
                span class=[late.then_some("late")] title="dal passaggio agli operatori" { (duration(wait)) }
                br; span class="muted office-hours" { (duration(office_wait)) " in orario d'ufficio" }
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
                            input type="hidden" name="view" value=(q.view);
                            input type="hidden" name="q" value=(q.q);
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
