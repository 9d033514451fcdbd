//! The conversation page's tools: reply box (with sheet answers and canned replies), internal
//! notes, transfer to an office, "teach the bot", the citizen's other conversations.

use maud::{Markup, html};
use sportello_core::model::ConversationStatus;

use super::{channel_label, csrf_field, time};
use crate::conversations::Loaded;
use crate::session::Actor;

/// The reply box, with the channel's length guide and the two ways to fill it.
pub fn reply(actor: &Actor, l: &Loaded, draft: &str) -> Markup {
    let id = l.conversation.id;
    let channel = channel_label(&l.conversation.channel);
    html! {
        section class="card" aria-labelledby="reply-title" {
            h2 id="reply-title" { "Rispondi su " (channel) }
            div class="inline" {
                form method="get" action=(format!("/conversations/{id}")) {
                    div class="field" {
                        label for="insert" { "Inserisci la risposta di una scheda" }
                        select id="insert" name="insert" {
                            @for s in &l.sheets { option value=(s.id) { (s.title) } }
                        }
                    }
                    button type="submit" class="btn btn-outline" { "Inserisci" }
                }
                @if !l.canned.is_empty() {
                    form method="get" action=(format!("/conversations/{id}")) {
                        div class="field" {
                            label for="canned" { "Risposta predefinita" }
                            select id="canned" name="canned" {
                                @for (i, c) in l.canned.iter().enumerate() {
                                    option value=(i) { (c.chars().take(70).collect::<String>()) }
                                }
                            }
                        }
                        button type="submit" class="btn btn-outline" { "Inserisci" }
                    }
                }
            }
            form method="post" action=(format!("/conversations/{id}/reply")) {
                (csrf_field(Some(actor)))
                div class="field" {
                    label for="reply-text" { "Testo della risposta" }
                    textarea id="reply-text" name="text" data-limit=(l.limit) data-count=(if l.weighted { "x" } else { "chars" }) aria-describedby="reply-guide reply-count" required { (draft) }
                    p class="muted" id="reply-guide" {
                        (channel) " accetta al massimo " (l.limit) " caratteri per messaggio."
                        @if l.weighted { " I link contano 23 caratteri, emoji e alcuni alfabeti 2." }
                    }
                    @if l.public {
                        p class="warning" id="reply-public" role="note" {
                            strong { "Risposta pubblica: " }
                            "il cittadino non riceve messaggi diretti su X, quindi la risposta sarà pubblicata sotto il suo post e visibile a tutti. Non scrivere dati personali."
                        }
                    }
                    p class="count" id="reply-count" aria-live="polite" {}
                }
                button type="submit" class="btn" id="send-reply" { "Invia risposta" }
            }
        }
    }
}

/// Internal notes, never sent to the citizen.
pub fn notes(actor: &Actor, l: &Loaded) -> Markup {
    html! {
        section class="card note" aria-labelledby="notes-title" {
            h2 id="notes-title" { "Note interne" }
            p class="muted" { "Visibili solo agli operatori, mai inviate al cittadino." }
            ul id="notes" {
                @for n in &l.notes {
                    li { strong { (n.author) } " · " (time(n.created_at)) br; span class="text" { (n.text) } }
                }
            }
            form method="post" action=(format!("/conversations/{}/note", l.conversation.id)) {
                (csrf_field(Some(actor)))
                div class="field" {
                    label for="note-text" { "Nuova nota" }
                    textarea id="note-text" name="text" rows="3" required {}
                }
                button type="submit" class="btn btn-outline" { "Aggiungi nota" }
            }
        }
    }
}

/// Transfer to an office, and the office emails already queued.
pub fn transfer(actor: &Actor, l: &Loaded) -> Markup {
    let c = &l.conversation;
    html! {
        section class="card" aria-labelledby="transfer-title" {
            h2 id="transfer-title" { "Trasferisci a un ufficio" }
            @if c.status != ConversationStatus::Resolved {
                form method="post" action=(format!("/conversations/{}/transfer", c.id)) {
                    (csrf_field(Some(actor)))
                    div class="field" {
                        label for="office" { "Ufficio" }
                        select id="office" name="office" {
                            @for o in &l.offices {
                                option value=(o.id) selected[c.office.as_deref() == Some(o.id.as_str())] { (o.name) }
                            }
                        }
                    }
                    button type="submit" class="btn btn-outline" { "Trasferisci" }
                }
            }
            @for n in &l.notifications {
                p class="muted notification" {
                    "Email a " (n.office)
                    @if !n.recipient.is_empty() { " <" (n.recipient) ">" }
                    ": " strong { @match n.state.as_str() { "pending" => "in attesa di invio", "sent" => "inviata", _ => "non riuscita" } }
                    " (" (n.created_by) ", " (time(n.created_at)) ")"
                }
            }
        }
    }
}

/// "Insegna al bot": which sheet answered the citizen's question.
pub fn teach(actor: &Actor, l: &Loaded) -> Markup {
    let last = l.messages.iter().rev().find(|m| m.author == "citizen");
    html! {
        section class="card" aria-labelledby="teach-title" {
            h2 id="teach-title" { "Insegna al bot" }
            @if let Some(m) = last {
                p class="muted" { "La domanda «" (m.text.chars().take(120).collect::<String>()) "» sarà proposta ai redattori come nuova formulazione della scheda scelta." }
                form method="post" action=(format!("/conversations/{}/teach", l.conversation.id)) {
                    (csrf_field(Some(actor)))
                    input type="hidden" name="message" value=(m.id);
                    div class="field" {
                        label for="teach-sheet" { "Scheda che risponde" }
                        select id="teach-sheet" name="sheet" {
                            @for s in &l.sheets { option value=(s.id) { (s.title) } }
                        }
                    }
                    button type="submit" class="btn btn-outline" { "Proponi" }
                }
            }
            @for p in &l.phrasings {
                @let title = l.sheets.iter().find(|s| s.id == p.sheet_id).map_or(p.sheet_id.as_str(), |s| s.title.as_str());
                p class="muted" { "Proposta per «" (title) "»: «" (p.text) "» (" (p.state) ")" }
            }
        }
    }
}

/// The citizen's other conversations.
pub fn others(l: &Loaded) -> Markup {
    html! {
        section class="card" aria-labelledby="others-title" {
            h2 id="others-title" { "Altre conversazioni del cittadino" }
            @if l.others.is_empty() {
                p class="muted" { "Nessuna." }
            } @else {
                ul {
                    @for o in &l.others {
                        li { a href=(format!("/conversations/{}", o.id)) { "n. " (o.id) } " · " (o.status.as_str()) " · " (time(o.last_message_at)) }
                    }
                }
            }
        }
    }
}
