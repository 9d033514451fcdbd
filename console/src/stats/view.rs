//! The statistics page: the period form, the headline figures, charts with their tables,
//! response times, feedback, sheets, delivery failures and channel health.

use maud::{Markup, html};
use serde::Serialize;
use sportello_core::health::ChannelState;
use sportello_core::stats::{Bucket, Counts, Report, Times};
use sportello_core::store::Satisfaction;

use super::svg;
use crate::session::Actor;
use crate::views::{channel_label, duration, iso_date, page as layout, time};

/// One channel's state and backlog.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelHealth {
    /// Channel name.
    pub channel: String,
    /// Last poll, last error.
    #[serde(flatten)]
    pub state: ChannelState,
    /// Outgoing messages waiting for delivery.
    pub backlog: i64,
}

/// A share as `42,5%` ("—" when there is none).
pub fn percent(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{:.1}%", v * 100.0).replace('.', ","),
        None => "—".into(),
    }
}

fn hours(ms: Option<i64>) -> String {
    ms.map(duration).unwrap_or_else(|| "—".into())
}

fn form(r: &Report, channels: &[String]) -> Markup {
    let chosen = r.channel.as_deref().unwrap_or("");
    html! {
        form method="get" action="/stats" class="card filters" {
            label for="from" { "Dal" } input id="from" name="from" type="date" value=(r.from);
            label for="to" { "Al" } input id="to" name="to" type="date" value=(r.to);
            label for="by" { "Per" }
            select id="by" name="by" {
                option value="day" selected[r.bucket == Bucket::Day] { "giorno" }
                option value="week" selected[r.bucket == Bucket::Week] { "settimana" }
            }
            label for="channel" { "Canale" }
            select id="channel" name="channel" {
                option value="" selected[chosen.is_empty()] { "tutti" }
                @for c in channels {
                    option value=(c) selected[chosen == c] { (channel_label(c)) }
                }
            }
            button type="submit" class="btn" { "Mostra" }
        }
    }
}

fn counts_cells(c: &Counts) -> Markup {
    html! {
        td { (c.messages) } td { (c.conversations) }
        td { (c.answer) } td { (c.clarify) } td { (c.handoff) } td { (c.with_operator) }
        td { (percent(c.auto_answer_rate)) } td { (percent(c.clarify_rate)) } td { (percent(c.handoff_rate)) }
        td { (c.delivery_failures) }
    }
}

fn counts_head(first: &str) -> Markup {
    html! {
        thead { tr {
            th scope="col" { (first) } th scope="col" { "Messaggi" } th scope="col" { "Conversazioni" }
            th scope="col" { "Risposte automatiche" } th scope="col" { "Richieste di scelta" }
            th scope="col" { "Passate agli operatori" } th scope="col" { "Con un operatore" }
            th scope="col" { "Tasso risposta automatica" } th scope="col" { "Tasso scelta" }
            th scope="col" { "Tasso passaggio" } th scope="col" { "Consegne fallite" }
        } }
    }
}

fn times_row(label: &str, t: &Times) -> Markup {
    html! {
        tr { th scope="row" { (label) } td { (hours(t.median_ms)) } td { (hours(t.p90_ms)) } td { (t.count) } td { (t.waiting) } }
    }
}

fn headline(r: &Report) -> Markup {
    let t = &r.totals;
    let figures = [
        ("Messaggi", t.messages.to_string()),
        ("Conversazioni", t.conversations.to_string()),
        ("Risposte automatiche", percent(t.auto_answer_rate)),
        ("Passate agli operatori", percent(t.handoff_rate)),
        (
            "Prima risposta (mediana)",
            hours(r.first_response.median_ms),
        ),
        (
            "Risposte con un giudizio",
            percent(r.feedback.response_rate),
        ),
        ("Giudizi positivi", percent(r.feedback.share_positive)),
        ("Consegne fallite", t.delivery_failures.to_string()),
    ];
    html! {
        dl id="headline" class="figures" {
            @for (k, v) in figures { div class="card" { dt { (k) } dd { (v) } } }
        }
    }
}

/// Sheets' titles by id, for the tables that name sheets.
pub struct SheetTitles(std::collections::HashMap<String, String>);

impl SheetTitles {
    /// From `(id, title)` pairs.
    pub fn new(pairs: std::collections::HashMap<String, String>) -> Self {
        Self(pairs)
    }

    fn link(&self, id: &str) -> Markup {
        let title = self.0.get(id).map(String::as_str).unwrap_or(id);
        html! { a href=(format!("/sheets/{id}")) { (title) } }
    }
}

/// The whole page; `link` is the query string of the CSV and JSON links.
pub fn page(
    actor: &Actor,
    r: &Report,
    health: &[ChannelHealth],
    channels: &[String],
    link: &str,
    titles: &SheetTitles,
) -> Markup {
    let auto: Vec<(String, Option<f64>)> = r
        .periods
        .iter()
        .map(|p| (p.start.clone(), p.counts.auto_answer_rate))
        .collect();
    let unit = if r.bucket == Bucket::Week {
        "Settimana dal"
    } else {
        "Giorno"
    };
    layout(
        "Statistiche",
        Some(actor),
        html! {
            h1 { "Statistiche dell'ufficio" }
            p class="muted" {
                "Dal " (iso_date(&r.from)) " al " (iso_date(&r.to)) ". Tempi in ore di apertura dell'ufficio. "
                a href=(format!("/stats.csv?{link}")) { "Scarica CSV" } " · "
                a href=(format!("/api/v1/stats?{link}")) { "JSON" }
            }
            (form(r, channels))
            (headline(r))
            section aria-labelledby="h-volumes" {
                h2 id="h-volumes" { "Messaggi per esito" }
                (svg::messages(&r.periods))
                (svg::legend())
                (svg::share("chart-auto", "Tasso di risposta automatica per periodo", &auto, "#0066cc"))
                div class="scroll" tabindex="0" role="region" aria-label="Messaggi per periodo, tabella" { table id="periods" {
                    (counts_head(unit))
                    tbody { @for p in &r.periods { tr { th scope="row" { (iso_date(&p.start)) } (counts_cells(&p.counts)) } } }
                    tfoot { tr { th scope="row" { "Totale" } (counts_cells(&r.totals)) } }
                } }
            }
            section aria-labelledby="h-channels" {
                h2 id="h-channels" { "Per canale" }
                div class="scroll" tabindex="0" role="region" aria-label="Messaggi per canale, tabella" { table id="channels" {
                    (counts_head("Canale"))
                    tbody { @for c in &r.channels { tr { th scope="row" { (channel_label(&c.channel)) } (counts_cells(&c.counts)) } } }
                } }
            }
            section aria-labelledby="h-times" {
                h2 id="h-times" { "Tempi degli operatori (ore di apertura)" }
                table id="times" {
                    thead { tr { th scope="col" { "Dal passaggio in coda" } th scope="col" { "Mediana" } th scope="col" { "90° percentile" } th scope="col" { "Misurate" } th scope="col" { "Ancora in attesa" } } }
                    tbody { (times_row("alla prima risposta", &r.first_response)) (times_row("alla risoluzione", &r.resolution)) }
                }
            }
            (feedback(r))
            (satisfaction(r))
            (sheets_and_failures(r, titles))
            (health_table(health))
        },
    )
}

fn feedback(r: &Report) -> Markup {
    let f = &r.feedback;
    let g = &r.ratings;
    html! {
        section aria-labelledby="h-feedback" {
            h2 id="h-feedback" { "Giudizi dei cittadini" }
            table id="feedback" { tbody {
                tr { th scope="row" { "Risposte automatiche date" } td { (f.answers) } }
                tr { th scope="row" { "Risposte con 👍 o 👎" } td { (f.answers_rated) " (" (percent(f.response_rate)) ")" } }
                tr { th scope="row" { "👍 utili" } td { (f.useful) } }
                tr { th scope="row" { "👎 non utili" } td { (f.not_useful) } }
                tr { th scope="row" { "Quota positiva" } td { (percent(f.share_positive)) } }
                tr { th scope="row" { "Valutazioni (1–5)" } td { (g.count) } }
                tr { th scope="row" { "Media" } td { (g.mean.map(|m| format!("{m:.2}").replace('.', ",")).unwrap_or_else(|| "—".into())) } }
                @for (i, n) in g.distribution.iter().enumerate() {
                    tr { th scope="row" { (i + 1) " " @if i == 0 { "stella" } @else { "stelle" } } td { (n) } }
                }
            } }
        }
    }
}

/// Satisfaction per operator and per office: ratings and 👍/👎 of their conversations.
fn satisfaction(r: &Report) -> Markup {
    let mean = |s: &Satisfaction| {
        if s.ratings == 0 {
            "—".to_string()
        } else {
            format!("{:.2}", s.mean).replace('.', ",")
        }
    };
    let table = |id: &str, first: &str, rows: &[Satisfaction], none: &str| {
        html! {
            @if rows.is_empty() {
                p class="muted" id=(id) { "Nessun giudizio nel periodo." }
            } @else {
                table id=(id) {
                    thead { tr {
                        th scope="col" { (first) }
                        th scope="col" { "Valutazioni" }
                        th scope="col" { "Media (1–5)" }
                        th scope="col" { "👍 utili" }
                        th scope="col" { "👎 non utili" }
                    } }
                    tbody {
                        @for s in rows {
                            tr {
                                th scope="row" { (s.key.clone().unwrap_or_else(|| none.to_string())) }
                                td { (s.ratings) } td { (mean(s)) } td { (s.useful) } td { (s.not_useful) }
                            }
                        }
                    }
                }
            }
        }
    };
    html! {
        section aria-labelledby="h-satisfaction" {
            h2 id="h-satisfaction" { "Soddisfazione per operatore e per ufficio" }
            div class="columns" {
                div { h3 { "Per operatore" } (table("by-operator", "Operatore", &r.by_operator, "—")) }
                div { h3 { "Per ufficio" } (table("by-office", "Ufficio", &r.by_office, "nessun ufficio")) }
            }
        }
    }
}

fn sheets_and_failures(r: &Report, titles: &SheetTitles) -> Markup {
    html! {
        section aria-labelledby="h-sheets" {
            h2 id="h-sheets" { "Schede" }
            div class="columns" {
                table id="top-sheets" {
                    caption { "Più usate" }
                    thead { tr { th scope="col" { "Scheda" } th scope="col" { "Risposte" } } }
                    tbody { @for s in &r.top_sheets { tr { td { (titles.link(&s.sheet_id)) } td { (s.count) } } } }
                }
                table id="rejected-sheets" {
                    caption { "Più respinte (👎)" }
                    thead { tr { th scope="col" { "Scheda" } th scope="col" { "👎" } } }
                    tbody { @for s in &r.rejected_sheets { tr { td { (titles.link(&s.sheet_id)) } td { (s.count) } } } }
                }
            }
        }
        section aria-labelledby="h-failures" {
            h2 id="h-failures" { "Consegne fallite" }
            table id="failures" {
                thead { tr { th scope="col" { "Motivo" } th scope="col" { "Quante" } } }
                tbody { @for (why, n) in &r.failure_reasons { tr { td { (why) } td { (n) } } } }
            }
        }
    }
}

/// One direction of a channel: in error (how many in a row) or working, with the last success.
fn side(s: &sportello_core::health::Side) -> Markup {
    html! {
        @if s.failing() {
            "in errore (" (s.consecutive_errors) " di seguito)"
        } @else if s.last_ok_ms.is_some() {
            "attivo"
        } @else {
            "nessun contatto"
        }
        @if let Some(t) = s.last_ok_ms { br; "ultimo riuscito: " (time(t)) }
    }
}

fn health_table(health: &[ChannelHealth]) -> Markup {
    html! {
        section aria-labelledby="h-health" {
            h2 id="h-health" { "Stato dei canali" }
            table id="health" {
                thead { tr {
                    th scope="col" { "Canale" }
                    th scope="col" { "Ricezione" }
                    th scope="col" { "Invio" }
                    th scope="col" { "Ultimo errore" }
                    th scope="col" { "Da consegnare" }
                } }
                tbody { @for h in health { tr {
                    th scope="row" { (channel_label(&h.channel)) }
                    td class="receive" {
                        @if !h.state.running { "fermo" } @else { (side(&h.state.receive)) }
                    }
                    td class="send" { (side(&h.state.send)) }
                    td { (h.state.last_error.as_deref().unwrap_or("—")) }
                    td { (h.backlog) }
                } } }
            }
        }
    }
}
