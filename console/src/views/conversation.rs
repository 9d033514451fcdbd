//! The conversation page: header and actions, transcript with what the bot tried, deliveries;
//! the side tools (reply, notes, transfer, teach) are in [`super::tools`].

use maud::{Markup, html};
use sportello_core::model::{ConversationStatus, Role};
use sportello_core::store::{ConversationRow, MessageRow, OutboxRow, Reach};
use sportello_faq::Sheet;

use super::{channel_label, csrf_field, labels, page as layout, time, tools};
use crate::conversations::Loaded;
use crate::session::Actor;
use sportello_core::store::FeedbackRow;

/// The whole page. `draft` fills the reply box; `notice` and `error` report the last action.
pub fn page(
    actor: &Actor,
    l: &Loaded,
    draft: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let c = &l.conversation;
    let mine = c.status == ConversationStatus::Assigned
        && c.assignee.as_deref() == Some(actor.name.as_str());
    layout(
        &format!("Conversazione n. {}", c.id),
        Some(actor),
        html! {
            p class="inline" {
                a href="/queue" { "← Torna alla coda" }
                a href="/queue/next" id="next-in-queue" aria-keyshortcuts="N" { "Prossima in coda →" }
            }
            h1 { "Conversazione n. " (c.id) }
            // Sticky, so that an action's outcome shows wherever the page returned to.
            @if let Some(n) = notice { p class="alert alert-success toast" role="status" id="notice" { (n) } }
            @if let Some(e) = error { p class="alert alert-danger toast" role="alert" id="error" { (e) } }
            div class="grid" {
                div {
                    (summary(l))
                    (action_bar(actor, c, mine))
                    h2 { "Messaggi" }
                    ol class="transcript" id="transcript" {
                        @for m in &l.messages {
                            (message(m, &l.sheets, l.conversation.id, &l.feedback))
                        }
                    }
                    // Where claiming and replying return to: the latest message.
                    div id="latest" class="anchor" {}
                    (deliveries(actor, c.id, &l.outbox))
                    @if mine {
                        (tools::reply(actor, l, draft))
                    } @else if c.status != ConversationStatus::Resolved {
                        p class="alert" { "Per rispondere, prendi in carico la conversazione (tasto C)." }
                    }
                }
                div {
                    (tools::notes(actor, l))
                    (tools::transfer(actor, l))
                    (tools::teach(actor, l))
                    (tools::others(l))
                }
            }
        },
    )
}

fn status_label(c: &ConversationRow) -> String {
    match (&c.status, &c.assignee) {
        (ConversationStatus::Assigned, Some(who)) => format!("presa in carico da {who}"),
        (s, _) => labels::status(*s).to_string(),
    }
}

/// Whether the citizen is on the chat now, and how else they can be reached.
fn reachability(c: &ConversationRow, reach: &Reach) -> Markup {
    html! {
        @if c.channel == "webchat" {
            dt { "Collegato" }
            dd id="citizen-online" {
                @if reach.online { "sì, ha la chat aperta" } @else { "no: la risposta resta nella chat finché non torna" }
            }
        }
        dt { "Contatti lasciati" }
        dd id="citizen-reach" {
            @match (&reach.email, &reach.phone) {
                (None, None) => { "nessuno: solo su questo canale" }
                (Some(e), None) => { "email " a href=(format!("mailto:{e}")) { (e) } }
                (None, Some(p)) => { "telefono " (p) }
                (Some(e), Some(p)) => { "email " a href=(format!("mailto:{e}")) { (e) } ", telefono " (p) }
            }
        }
    }
}

fn summary(l: &Loaded) -> Markup {
    let c = &l.conversation;
    let reach = &l.reach;
    let office = super::office_name(c.office.as_deref(), &l.offices);
    let rating = l
        .feedback
        .iter()
        .rev()
        .find_map(|f| (f.kind == "rating").then_some(f.score).flatten());
    html! {
        section class="card" aria-label="Dati della conversazione" {
            dl class="meta" {
                dt { "Cittadino" } dd id="contact" { (c.contact_name) " " span class="muted" { "(" (c.contact) ")" } }
                dt { "Canale" } dd { (channel_label(&c.channel)) }
                (reachability(c, reach))
                @if let Some(s) = &c.subject { dt { "Oggetto" } dd id="subject" { (s) } }
                dt { "Stato" } dd id="status" { (status_label(c)) }
                dt { "Ufficio" } dd id="office-name" { (office) }
                @if let Some(r) = l.reason_label { dt { "Motivo del passaggio" } dd id="handoff-reason" { (r) } }
                @if let Some(q) = l.triage.as_ref().and_then(|t| t.first_question.as_deref()) {
                    dt { "Prima domanda" } dd id="first-question" { (q) }
                }
                dt { "Aperta" } dd { (time(c.opened_at)) }
                @if let Some(t) = c.escalated_at { dt { "Passata agli operatori" } dd { (time(t)) } }
                @if let Some(score) = rating {
                    dt { "Valutazione del cittadino" }
                    dd id="rating" {
                        span aria-hidden="true" { (stars(score)) } " " (labels::rating(score))
                    }
                }
                @if c.unreachable {
                    dt { "Raggiungibilità" } dd class="late" { "il cittadino non è più raggiungibile su questo canale" }
                }
            }
        }
    }
}

/// ★★★☆☆ for a score out of 5.
fn stars(score: i64) -> String {
    let n = score.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

fn post_button(actor: &Actor, id: i64, action: &str, label: &str, class: &str) -> Markup {
    // The claim button answers the page's "C" shortcut (console.js).
    let key = (action == "claim").then_some("C");
    html! {
        form method="post" action=(format!("/conversations/{id}/{action}")) {
            (csrf_field(Some(actor)))
            button type="submit" class=(class) id=(format!("{action}-button")) aria-keyshortcuts=[key] { (label) }
        }
    }
}

fn action_bar(actor: &Actor, c: &ConversationRow, mine: bool) -> Markup {
    let admin = actor.role == Role::Admin;
    html! {
        div class="inline" aria-label="Azioni" {
            @match c.status {
                ConversationStatus::Bot | ConversationStatus::Queued => {
                    (post_button(actor, c.id, "claim", "Prendi in carico", "btn"))
                }
                ConversationStatus::Assigned if !mine => {
                    span class="badge badge-taken" { "già presa da " (c.assignee.as_deref().unwrap_or("?")) }
                }
                _ => {}
            }
            @if c.status == ConversationStatus::Assigned && (mine || admin) {
                (post_button(actor, c.id, "release", "Rimetti in coda", "btn btn-outline"))
            }
            @if c.status != ConversationStatus::Resolved && (mine || admin || c.status != ConversationStatus::Assigned) {
                (post_button(actor, c.id, "resolve", "Segna come risolta", "btn btn-outline"))
            }
        }
    }
}

fn author(m: &MessageRow) -> String {
    match (m.author.as_str(), &m.operator) {
        ("citizen", _) => "Cittadino".into(),
        ("bot", _) => "Assistente automatico".into(),
        (_, Some(op)) => format!("Operatore {op}"),
        _ => "Operatore".into(),
    }
}

fn message(
    m: &MessageRow,
    sheets: &[Sheet],
    conversation: i64,
    feedback: &[FeedbackRow],
) -> Markup {
    let judged: Vec<&FeedbackRow> = feedback
        .iter()
        .filter(|f| f.message_id == Some(m.id))
        .collect();
    let title = |id: &str| {
        sheets
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.title.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let candidates: Vec<(String, f64)> = m
        .candidates
        .as_ref()
        .and_then(|c| c.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    Some((
                        c.get("sheet_id")?.as_str()?.to_string(),
                        c.get("confidence")?.as_f64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    html! {
        li class=(format!("msg msg-{}", m.author)) id=(format!("message-{}", m.id)) {
            header { strong { (author(m)) } " · " (time(m.created_at)) }
            p class="text" { (m.text) }
            @for f in &judged {
                p class="feedback" {
                    @match f.kind.as_str() {
                        "useful" => { span aria-hidden="true" { "👍" } " Il cittadino ha trovato utile la risposta" }
                        _ => { span aria-hidden="true" { "👎" } " Il cittadino non ha trovato utile la risposta" }
                    }
                    " · " (time(f.created_at))
                }
            }
            // The whole email (quoted history, signature), folded: `raw` holds it when it
            // differs from the text the bot read.
            @if let Some(raw) = &m.raw {
                details class="full-text" {
                    summary { "Testo completo (con la parte citata)" }
                    pre { (String::from_utf8_lossy(raw)) }
                }
            }
            @for a in &m.attachments {
                p class="muted attachment" {
                    "Allegato: " (a.kind)
                    @if let Some(n) = &a.name { " «" (n) "»" }
                    @if let Some(t) = &a.mime { " · " (t) }
                    @if let Some(s) = a.size { " · " (s) " byte" }
                    @if let Some(aid) = a.reference.strip_prefix("email-attachment:")
                        && a.kind == "file"
                    {
                        " · " a href=(format!("/conversations/{conversation}/attachments/{aid}")) download { "scarica" }
                    }
                }
            }
            @if let Some(d) = &m.decision {
                details class="bot-tried" {
                    summary { "Cosa ha provato il bot: " (decision_label(d)) @if let Some(r) = &m.reason { " (" (labels::message_reason(r)) ")" } }
                    @if candidates.is_empty() {
                        p class="muted" { "Nessuna scheda considerata." }
                    } @else {
                        ul {
                            @for (id, conf) in &candidates {
                                li { (title(id)) " — fiducia " (format!("{:.0}%", conf * 100.0)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn decision_label(d: &str) -> &str {
    match d {
        "answer" => "ha risposto con una scheda",
        "clarify" => "ha proposto di scegliere tra schede",
        "smalltalk" => "ha risposto a un saluto o ringraziamento",
        "handoff" => "ha passato la conversazione agli operatori",
        _ => "altro",
    }
}

fn delivery_state(s: &str) -> &str {
    labels::delivery(s)
}

fn deliveries(actor: &Actor, id: i64, outbox: &[OutboxRow]) -> Markup {
    let open: Vec<&OutboxRow> = outbox.iter().filter(|o| o.state != "sent").collect();
    html! {
        @if !open.is_empty() {
            h2 { "Consegne in corso o non riuscite" }
            ul class="card" id="deliveries" {
                @for o in open {
                    li {
                        @if o.state == "failed" {
                            strong class="late" { "Consegna non riuscita" }
                            ": " (o.last_error.as_deref().unwrap_or("motivo sconosciuto"))
                            form method="post" action=(format!("/conversations/{id}/outbox/{}/retry", o.id)) {
                                (csrf_field(Some(actor)))
                                button type="submit" class="btn btn-outline" { "Riprova l'invio" }
                            }
                        } @else {
                            "In consegna (" (delivery_state(&o.state)) ", tentativi: " (o.attempts) ")"
                            @if let Some(e) = &o.last_error { " — ultimo errore: " (e) }
                        }
                        p class="muted preview" { (o.text) }
                    }
                }
            }
        }
    }
}
